"""The systems a sweep can run, read from the one registry :data:`ampc_agent.systems.SYSTEMS`.

Each registered system with shipped weights is offered under its own name (its AMPC
is tuned); a system with a classical baseline controller that has a theta is also
offered as ``<system>-<baseline>`` (for example ``cartpole-pump``): a cheap stand-in
for tests and smoke sweeps, with no networks and no solver. Nothing here lists a
system by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ampc_agent.systems import SYSTEMS, SystemSpec, load_object

__all__ = ["SYSTEMS_OFFERED", "SweepSystem", "get_system", "sweep_systems"]


@dataclass(frozen=True)
class SweepSystem:
    """One system of the benchmark: a registry entry and the controller whose theta is tuned.

    Args:
        name: Name on the command line and in records (``cartpole``, ``cartpole-pump``).
        spec: The registry entry.
        controller: ``"ampc"`` (the shipped AMPC) or ``"module:callable"`` of a baseline.
        description: One line for ``--help`` and the report.
    """

    name: str
    spec: SystemSpec
    controller: str
    description: str

    @property
    def env_id(self) -> str:
        """Gym id of the system env."""
        return self.spec.env_id

    def make_policy(self) -> Any:
        """Build the controller (in the process that runs the trial)."""
        if self.controller == "ampc":
            return self.spec.load_policy()
        return load_object(self.controller)()

    def make_mpc(self) -> Any:
        """The system's parametric MPC, or ``None`` if it has none."""
        return self.spec.make_mpc() if self.spec.has_mpc else None


def sweep_systems() -> dict[str, SweepSystem]:
    """The systems that can run now (weights present), and the baseline stand-ins."""
    out: dict[str, SweepSystem] = {}
    for spec in SYSTEMS.values():
        if spec.has_weights:
            out[spec.name] = SweepSystem(
                spec.name, spec, "ampc", f"{spec.description}, shipped parameter-adaptive AMPC"
            )
        if spec.baseline is not None:
            label, path = spec.baseline
            if hasattr(load_object(path), "theta_names"):
                out[f"{spec.name}-{label}"] = SweepSystem(
                    f"{spec.name}-{label}",
                    spec,
                    path,
                    f"{spec.description}, classical {label} controller (tests, smoke sweeps)",
                )
    return out


SYSTEMS_OFFERED = sweep_systems()


def get_system(name: str) -> SweepSystem:
    """The sweep system ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    try:
        return SYSTEMS_OFFERED[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown system {name!r}; valid: {sorted(SYSTEMS_OFFERED)}") from None
