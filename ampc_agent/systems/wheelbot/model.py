"""The wheelbot model the MPC plans with: the analytic model under the robot's LQR.

As on the real robot, the MPC plans a residual torque ``v`` on top of the balancing LQR,
``u = -K x + v`` with ``K = robot_gain()`` (N m per rad, rad/s), so its dynamics are
the analytic model (``ampc_envs/wheelbot/dynamics.py``, the one source of truth) in
closed loop with the LQR:

    x_dot = f(x, -K x + v, theta)

with the yaw friction carrying the env's exponential-Euler factor for the integrator's
step (:func:`~ampc_envs.wheelbot.dynamics.stabilized_dynamics_function`). The MPC's
state has the yaw replaced by the yaw error ``wrap(psi - psi_ref)``: the model does not
depend on the yaw angle (only on its rate), so yaw is substituted by 0 in the expression
and the OCP regulates the error to 0.
"""

from __future__ import annotations

import casadi as cs
import numpy as np

from ampc_envs.wheelbot.dynamics import stabilized_dynamics_function
from ampc_envs.wheelbot.lqr import robot_gain
from ampc_envs.wheelbot.params import STATE_NAMES as ENV_STATE_NAMES

__all__ = [
    "INPUT_NAMES",
    "LQR_GAIN",
    "REFLECTIONS",
    "RESIDUAL_LIMIT",
    "STATE_NAMES",
    "TOTAL_TORQUE_LIMIT",
    "closed_loop_ode",
]

#: The robot's balancing gain ``K`` (2, 10) of ``u = -K x``.
LQR_GAIN = robot_gain()
#: Limit of each residual torque ``v`` in N m (the robot clips its AMPC's output to it).
RESIDUAL_LIMIT = 0.1
#: Limit of each total torque ``-K x + v`` in N m (the robot clips its command to it).
TOTAL_TORQUE_LIMIT = 0.35
#: The MPC's states: the env's 10 states with the yaw replaced by the yaw error.
STATE_NAMES = ("psi_error", *ENV_STATE_NAMES[1:])
#: The MPC's inputs: residual torques on the driving and the reaction wheel, N m.
INPUT_NAMES = ("v_W", "v_R")

#: The robot's three reflections ``(S, R)``: the model under the LQR satisfies
#: ``f(S x, R v) = S f(x, v)`` with the parameters unchanged, and the yaw OCP's cost and
#: constraints are even in each, so the MPC's residual is equivariant,
#: ``v*(S x) = R v*(x)``. Signs of ``[psi_error, phi, theta, psi_dot, phi_dot,
#: theta_dot, q_W, q_R, omega_W, omega_R]`` and of ``[v_W, v_R]``: the three sign
#: patterns other than the identity that leave the model invariant (each is the product
#: of the other two). The first is the mirror through the driving wheel's plane (yaw,
#: roll and the reaction wheel change sign, pitch and the driving wheel do not). Checked in
#: ``tests/ampc_agent/systems/wheelbot/test_wheelbot_symmetry.py``.
REFLECTIONS = (
    ((-1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0), (1.0, -1.0)),
    ((-1.0, 1.0, -1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0), (-1.0, 1.0)),
    ((1.0, -1.0, -1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0), (-1.0, -1.0)),
)


def closed_loop_ode(x, v, theta, friction_step: float):
    """``x_dot`` of the robot under ``u = -K x + v`` (casadi expression).

    Args:
        x: The MPC's 10 states (yaw error first; it does not enter the dynamics), rad
            and rad/s.
        v: Residual torques (2,) in N m.
        theta: The 11 adaptable parameters (``ADAPTABLE`` order, SI units).
        friction_step: Step in s of the explicit integrator (for the friction factor).
    """
    f = stabilized_dynamics_function(float(friction_step))
    u = -cs.DM(LQR_GAIN) @ x + v
    yaw_free = cs.vertcat(0, x[1:])
    return f(yaw_free, u, theta)


def total_torque(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``-K x + v`` in N m (before the robot's clip), numpy."""
    return -np.asarray(x, dtype=float) @ LQR_GAIN.T + np.asarray(v, dtype=float)
