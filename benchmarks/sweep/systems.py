"""Registry of the systems a sweep can run: a system env plus the controller to tune.

A system is one :class:`SystemEntry`: the gym id of the "real system" env and the
controller whose theta is tuned, given by import path so that worker processes
(spawned locally or on a Ray cluster) build it themselves. Adding a system is adding
one entry here (and, for the identification baseline, a one-step model in
:mod:`benchmarks.baselines.sysid`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["SYSTEMS", "SystemEntry", "PumpAndCentre", "get_system", "load_object"]


@dataclass(frozen=True)
class SystemEntry:
    """One system of the benchmark.

    Args:
        name: Name used on the command line and in records (``"cartpole"``).
        env_id: Gym id of the system env (``reset(options={"params": ...})``).
        policy: ``"module:callable"`` returning a fresh controller with ``theta_names``,
            ``theta_nominal``, ``tuning_lower``/``tuning_upper`` and settable ``theta``.
        policy_args: Positional arguments of the callable.
        mpc: ``"module:callable"`` returning the system's parametric MPC (``mpc(x, theta)``,
            ``reset()``, ``theta_spec``), run by the oracle as a reference; ``None``: none.
        description: One line for ``--help`` and the report.
    """

    name: str
    env_id: str
    policy: str
    policy_args: tuple[Any, ...] = field(default_factory=tuple)
    mpc: str | None = None
    description: str = ""

    def make_policy(self) -> Any:
        """Import and build the controller (in the process that runs the trial)."""
        return load_object(self.policy)(*self.policy_args)

    def make_mpc(self) -> Any:
        """Import and build the system's MPC, or ``None`` if it has none."""
        return load_object(self.mpc)() if self.mpc else None


def load_object(path: str) -> Any:
    """The object at ``"package.module:Name.attr"``."""
    module, _, attrs = path.partition(":")
    obj: Any = importlib.import_module(module)
    for attr in attrs.split("."):
        obj = getattr(obj, attr)
    return obj


class PumpAndCentre:
    """A real (if crude) cart-pole swing-up controller with two tunable gains.

    ``u = -k_pump * sign(cos(theta) * theta_dot) - k_centre * x`` (N): pumps energy
    into the pole and pulls the cart back to the centre. It never balances, but its
    return depends smoothly on the gains and large pump gains crash, so it is a cheap
    stand-in for the AMPC in tests and smoke sweeps (no weights, no torch).
    """

    theta_names = ("k_pump", "k_centre")
    theta_nominal = np.array([3.0, 4.0])
    tuning_lower = theta_lower = np.array([0.0, 0.0])
    tuning_upper = theta_upper = np.array([10.0, 20.0])

    def __init__(self) -> None:
        self.theta = self.theta_nominal.copy()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        k_pump, k_centre = self.theta
        u = -k_pump * np.sign(np.cos(x[1]) * x[3] + 1e-9) - k_centre * x[0]
        return np.array([u])


SYSTEMS: dict[str, SystemEntry] = {
    entry.name: entry
    for entry in (
        SystemEntry(
            "cartpole",
            "ampc_envs/CartpoleSwingUp-v0",
            "ampc_agent.policy:load_shipped_policy",
            ("cartpole",),
            "ampc_agent.mpc:ParametricMPC.cartpole",
            "cart-pole swing-up, shipped parameter-adaptive AMPC",
        ),
        SystemEntry(
            "cartpole-pump",
            "ampc_envs/CartpoleSwingUp-v0",
            "benchmarks.sweep.systems:PumpAndCentre",
            (),
            None,
            "cart-pole swing-up, two-gain energy-pump controller (tests, smoke sweeps)",
        ),
        SystemEntry(
            "wheelbot",
            "ampc_envs/WheelbotYaw-v0",
            "ampc_agent.policy:load_shipped_policy",
            ("wheelbot",),
            None,
            "Mini Wheelbot yaw, shipped AMPC (needs its env and weights)",
        ),
    )
}


def get_system(name: str) -> SystemEntry:
    """The registry entry ``name``; unknown names raise ``ValueError`` listing the valid ones."""
    try:
        return SYSTEMS[name]
    except KeyError:
        raise ValueError(f"unknown system {name!r}; valid: {sorted(SYSTEMS)}") from None
