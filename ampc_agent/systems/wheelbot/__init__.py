"""Mini Wheelbot yaw control: theta, model, OCP, guesses, interface, success rule, registry entry.

The env, the analytic model (``ampc_envs/wheelbot/dynamics.py``) and the robot's
balancing LQR live in ``ampc_envs/wheelbot/``. Files here: ``theta.py`` (the 11
adaptable parameters), ``model.py`` (the analytic model under the LQR, as the MPC plans
with it), ``ocp.py`` (the yaw OCP), ``guesses.py`` (its initial guesses),
``interface.py`` (the residual on the robot's LQR and the yaw-error state),
``sampling.py`` (where the dataset generator samples), ``success.py`` (when a yaw test
counts as completed).
"""

from __future__ import annotations

from pathlib import Path

from ampc_agent.systems.spec import SystemSpec
from ampc_agent.systems.wheelbot.model import REFLECTIONS, STATE_NAMES
from ampc_agent.systems.wheelbot.sampling import WHEELBOT_SAMPLING
from ampc_agent.systems.wheelbot.success import stays_upright
from ampc_agent.systems.wheelbot.theta import WHEELBOT_THETA
from ampc_envs.wheelbot.params import WheelbotParams

__all__ = ["WHEELBOT", "WHEELBOT_THETA"]

WHEELBOT = SystemSpec(
    name="wheelbot",
    description="Mini Wheelbot yaw test (reaction-wheel unicycle, yaw by gyroscopic coupling)",
    env_id="ampc_envs/WheelbotYaw-v0",
    tuning_env_id="ampc_envs/WheelbotYawTuning-v0",
    params_cls=WheelbotParams,
    theta=WHEELBOT_THETA,
    # The controllers' state: the env's with the yaw replaced by the wrapped yaw error.
    state_names=STATE_NAMES,
    # No state is 2 pi periodic for the controllers: the OCP's cost psi_error^2 is not
    # (its action jumps where the error passes +-pi), so the networks see the wrapped
    # error itself, not its sine and cosine.
    angle_states=(),
    success=stays_upright,
    # Training mirrors by the first reflection only (through the driving wheel's plane):
    # the other two map a robot at rest with a yaw error onto itself or onto the
    # opposite error with the other turn, where the MPC has two optimal turns and its
    # labels pick one consistently; their mirror images would teach the network the
    # average there, no turn at all (measured in docs/wheelbot.md).
    symmetries=REFLECTIONS[:1],
    # The networks do not see the reaction-wheel angle (the MPC's residual moves by
    # 1e-4 N m for 20 rad of it) and see the driving-wheel angle held to the training
    # data's range: imitations fed both drifted them beyond the data and stopped
    # turning there (docs/wheelbot.md, "The AMPC").
    ignored_states=(7,),
    clipped_states=(6,),
    ocp="ampc_agent.systems.wheelbot.ocp:wheelbot_ocp",
    sampling=WHEELBOT_SAMPLING,
    interface="ampc_agent.systems.wheelbot.interface:ResidualOnLQR",
    input_unit="N m",
    weights=Path(__file__).resolve().parent / "weights",
    baseline=("lqr", "ampc_envs.wheelbot.lqr:BalancingLQR"),
)
