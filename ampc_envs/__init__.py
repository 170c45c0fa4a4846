"""MuJoCo environments with randomizable physics for tuning approximate MPC.

Importing the package registers the environments with Gymnasium (Gymnasium 1.x
ignores entry-point plugins)::

    import gymnasium as gym
    import ampc_envs  # noqa: F401

    env = gym.make("ampc_envs/CartpoleSwingUp-v0", randomize=True)
"""

import os

# Headless rendering by default: EGL needs no display. A user's own choice wins.
if "MUJOCO_GL" not in os.environ and not os.environ.get("DISPLAY"):
    os.environ["MUJOCO_GL"] = "egl"

from gymnasium.envs.registration import register, registry  # noqa: E402

from ampc_envs.cartpole.params import CartpoleParams  # noqa: E402

__all__ = ["CartpoleParams"]

_ENVS = {
    "ampc_envs/CartpoleSwingUp-v0": "ampc_envs.cartpole.env:CartpoleSwingUpEnv",
    "ampc_envs/WheelbotYaw-v0": "ampc_envs.wheelbot.env:WheelbotYawEnv",
}

for _id, _entry_point in _ENVS.items():
    if _id not in registry:
        register(id=_id, entry_point=_entry_point)

# Tuning envs: one step = one closed-loop episode of the system's shipped AMPC at
# theta. The controller lives in ampc_agent; the entry point is a string, imported by
# gym.make only, so importing ampc_envs loads nothing of ampc_agent, torch or acados.
_TUNING_ENVS = {
    "ampc_envs/CartpoleSwingUpTuning-v0": "ampc_envs/CartpoleSwingUp-v0",
    "ampc_envs/WheelbotYawTuning-v0": "ampc_envs/WheelbotYaw-v0",
}

for _id, _system_id in _TUNING_ENVS.items():
    if _id not in registry:
        register(
            id=_id,
            entry_point="ampc_agent.tuning.env:make_tuning_env",
            kwargs={"env_id": _system_id},
            disable_env_checker=True,
        )
