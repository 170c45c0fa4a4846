"""Cart-pole swing-up: physical parameters, MuJoCo model, and the swing-up task."""

from ampc_envs.cartpole.params import (
    CONTROL_DT,
    EPISODE_SECONDS,
    FORCE_LIMIT,
    GRAVITY,
    PHYSICS_DT,
    RAIL_LIMIT,
    CartpoleParams,
)

__all__ = [
    "CONTROL_DT",
    "EPISODE_SECONDS",
    "FORCE_LIMIT",
    "GRAVITY",
    "PHYSICS_DT",
    "RAIL_LIMIT",
    "CartpoleParams",
]
