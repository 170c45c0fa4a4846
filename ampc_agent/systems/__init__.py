"""The one list of systems: ``SYSTEMS``, name -> :class:`SystemSpec`.

A system is its env folder (``ampc_envs/<name>/``), its folder here
(``ampc_agent/systems/<name>/``) and one line below; every command, sweep and
benchmark reads this registry (see ``docs/adding_a_system.md``).

>>> from ampc_agent.systems import get_system
>>> get_system("cartpole").theta.names[:2]
('cart_mass', 'pole_mass')
"""

from __future__ import annotations

from ampc_agent.systems.cartpole import CARTPOLE
from ampc_agent.systems.spec import DatasetSampling, SystemSpec, load_object
from ampc_agent.systems.wheelbot import WHEELBOT

__all__ = [
    "SYSTEMS",
    "DatasetSampling",
    "SystemSpec",
    "get_system",
    "load_object",
    "system_for_env",
    "systems_with",
]

SYSTEMS: dict[str, SystemSpec] = {spec.name: spec for spec in (CARTPOLE, WHEELBOT)}


def get_system(name: str) -> SystemSpec:
    """The registry entry ``name``; an unknown name raises ``ValueError`` listing the valid ones."""
    try:
        return SYSTEMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown system {name!r}; valid: {sorted(SYSTEMS)}") from None


def systems_with(what: str) -> list[str]:
    """Names of the systems that can run a step: ``"mpc"`` (dataset, eval) or ``"weights"``
    (tune, sweeps)."""
    checks = {"mpc": lambda s: s.has_mpc, "weights": lambda s: s.has_weights}
    if what not in checks:
        raise ValueError(f"unknown capability {what!r}; valid: {sorted(checks)}")
    return [name for name, spec in SYSTEMS.items() if checks[what](spec)]


def system_for_env(env_id: str) -> SystemSpec:
    """The system whose env (or tuning env) has the Gymnasium id ``env_id``."""
    for spec in SYSTEMS.values():
        if env_id in (spec.env_id, spec.tuning_env_id):
            return spec
    raise ValueError(f"no registered system has the env {env_id!r}")
