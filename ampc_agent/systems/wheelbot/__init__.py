"""Mini Wheelbot yaw control: theta, success rule, registry entry.

The env, the analytic model (``ampc_envs/wheelbot/dynamics.py``) and the robot's
balancing LQR live in ``ampc_envs/wheelbot/``. Files here: ``theta.py`` (the 11
adaptable parameters), ``success.py`` (when a yaw test counts as completed).
"""

from __future__ import annotations

from ampc_agent.systems.spec import SystemSpec
from ampc_agent.systems.wheelbot.success import stays_upright
from ampc_agent.systems.wheelbot.theta import WHEELBOT_THETA
from ampc_envs.wheelbot.params import STATE_NAMES, WheelbotParams

__all__ = ["WHEELBOT", "WHEELBOT_THETA"]

WHEELBOT = SystemSpec(
    name="wheelbot",
    description="Mini Wheelbot yaw test (reaction-wheel unicycle, yaw by gyroscopic coupling)",
    env_id="ampc_envs/WheelbotYaw-v0",
    tuning_env_id="ampc_envs/WheelbotYawTuning-v0",
    params_cls=WheelbotParams,
    theta=WHEELBOT_THETA,
    state_names=STATE_NAMES,
    angle_states=(0,),
    success=stays_upright,
    baseline=("lqr", "ampc_envs.wheelbot.lqr:BalancingLQR"),
)
