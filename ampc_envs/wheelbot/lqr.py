"""Balancing LQR for the Mini Wheelbot: the robot's own gains, or gains from the model.

The Mini Wheelbot balances with two decoupled LQRs, ``u = -K x`` per axis (gains from
the robot's public firmware, see ``docs/wheelbot.md``):

* pitch: ``tau_W = -K_pitch [theta, theta_dot, q_W, omega_W]``,
  ``K_pitch = [-0.4, -0.04, -0.004, -0.003]``;
* roll: ``tau_R = -K_roll [phi, phi_dot, q_R, omega_R]``,
  ``K_roll = [-1.3, -0.16, -8e-5, -4e-4]``.

With the conventions of :mod:`ampc_envs.wheelbot.params` these stabilise the analytic
model at upright (closed-loop continuous-time poles from -0.22 to -33 1/s, yaw
excepted: it is not controllable at upright). :func:`model_lqr_gain` designs a discrete
LQR on the analytic model instead. Neither controls yaw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from ampc_envs.wheelbot.dynamics import linearize
from ampc_envs.wheelbot.params import CONTROL_DT, TORQUE_LIMIT, WheelbotParams

__all__ = [
    "ROBOT_PITCH_GAINS",
    "ROBOT_ROLL_GAINS",
    "robot_gain",
    "model_lqr_gain",
    "discretize",
    "BalancingLQR",
]

#: Pitch gains of the robot on ``[theta, theta_dot, q_W, omega_W]`` (N m per rad, rad/s).
ROBOT_PITCH_GAINS = (-0.4, -0.04, -0.004, -0.003)
#: Roll gains of the robot on ``[phi, phi_dot, q_R, omega_R]`` (N m per rad, rad/s).
ROBOT_ROLL_GAINS = (-1.3, -0.16, -8e-5, -4e-4)

_PITCH = [2, 5, 6, 8]  # theta, theta_dot, q_W, omega_W in the 10-state vector
_ROLL = [1, 4, 7, 9]  # phi, phi_dot, q_R, omega_R
_BALANCE = [1, 2, 4, 5, 6, 7, 8, 9]  # every state but yaw and yaw rate


def robot_gain() -> np.ndarray:
    """The robot's gains as one ``(2, 10)`` matrix ``K`` for ``u = -K x``."""
    k = np.zeros((2, 10))
    k[0, _PITCH] = ROBOT_PITCH_GAINS
    k[1, _ROLL] = ROBOT_ROLL_GAINS
    return k


def discretize(a: np.ndarray, b: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact zero-order-hold discretization of ``x_dot = A x + B u`` over ``dt`` s."""
    n, m = b.shape
    big = np.zeros((n + m, n + m))
    big[:n, :n], big[:n, n:] = a, b
    e = scipy.linalg.expm(big * dt)
    return e[:n, :n], e[:n, n:]


def model_lqr_gain(
    params: WheelbotParams | None = None,
    state_weights: Sequence[float] = (1.0, 1.0, 0.01, 0.01, 1e-4, 1e-6, 1e-4, 1e-6),
    torque_weights: Sequence[float] = (10.0, 10.0),
    dt: float = CONTROL_DT,
) -> np.ndarray:
    """Discrete LQR gain ``(2, 10)`` from the analytic model linearised at upright.

    Yaw and yaw rate are left out of the design (they are not controllable at upright,
    and the yaw integrator makes the full Riccati equation unsolvable); their gains are
    zero.

    Args:
        params: Model parameters (nominal if None).
        state_weights: Diagonal of Q on ``[phi, theta, phi_dot, theta_dot, q_W, q_R,
            omega_W, omega_R]`` (per rad^2, (rad/s)^2).
        torque_weights: Diagonal of R on ``[tau_W, tau_R]`` (per (N m)^2).
        dt: Control period in s (zero-order hold).
    """
    a, b = linearize(params)
    ad, bd = discretize(a[np.ix_(_BALANCE, _BALANCE)], b[_BALANCE], dt)
    q = np.diag(np.asarray(state_weights, dtype=float))
    r = np.diag(np.asarray(torque_weights, dtype=float))
    p = scipy.linalg.solve_discrete_are(ad, bd, q, r)
    k_small = np.linalg.solve(r + bd.T @ p @ bd, bd.T @ p @ ad)
    k = np.zeros((2, 10))
    k[:, _BALANCE] = k_small
    return k


@dataclass
class BalancingLQR:
    """State feedback ``u = clip(-K x, -0.5, 0.5)`` N m; ``policy(obs) -> torques``.

    Accepts the env's 11-entry observation (the yaw reference is ignored) or a bare
    10-state vector, and batches of either.
    """

    gain: np.ndarray = field(default_factory=robot_gain)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=float)[..., :10]
        u = -x @ self.gain.T
        return np.clip(u, -TORQUE_LIMIT, TORQUE_LIMIT).astype(np.float32)
