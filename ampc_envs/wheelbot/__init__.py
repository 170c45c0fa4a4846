"""Mini Wheelbot yaw: physical parameters, MuJoCo model, analytic model, yaw task, LQR."""

from ampc_envs.wheelbot.params import (
    ADAPTABLE,
    CONTROL_DT,
    CRASH_ANGLE,
    EPISODE_SECONDS,
    GRAVITY,
    PHYSICS_DT,
    STATE_NAMES,
    TORQUE_LIMIT,
    WheelbotParams,
)

__all__ = [
    "ADAPTABLE",
    "CONTROL_DT",
    "CRASH_ANGLE",
    "EPISODE_SECONDS",
    "GRAVITY",
    "PHYSICS_DT",
    "STATE_NAMES",
    "TORQUE_LIMIT",
    "WheelbotParams",
]
