"""Analytic cart-pole model in numpy, vectorised over many transitions.

The identification baseline regresses one-step predictions of this model onto
recorded transitions. It is the same rigid-body model as the MuJoCo env
(:mod:`ampc_envs.cartpole.model`: uniform rod hinged at its end, viscous cart
friction and pivot damping, force ``actuator_gain * clip(u, +-10 N)``) integrated
with the env's own scheme (RK4, 10 steps of 2 ms per 20 ms control period). It
duplicates the equations of the MPC's casadi model on purpose: the baseline needs a
vectorised numpy model (thousands of transitions per residual evaluation), and the
test ``test_cartpole_model_matches_mujoco`` pins it to the env's physics.

Equations (theta = 0 upright, ``h = l/2``, pivot inertia ``m l^2 / 3``)::

    (M + m) x_dd + m h cos(th) th_dd - m h sin(th) th_d^2 = F - b_c x_d
    m h cos(th) x_dd + (m l^2/3) th_dd - m g h sin(th)    = -b_p th_d
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ampc_envs.cartpole.params import CONTROL_DT, FORCE_LIMIT, GRAVITY, PHYSICS_DT

__all__ = ["FITTED", "SCALE_FREE", "ANGLE_DIMS", "derivatives", "predict"]

#: Parameters of the model that identification fits (the rest of the params class,
#: delay and noise, is not part of the equations).
FITTED = (
    "cart_mass",
    "pole_mass",
    "pole_length",
    "cart_friction",
    "pivot_damping",
    "actuator_gain",
)
#: Parameters that can all be multiplied by one factor without changing the motion
#: (divide both equations by it): data fix their ratios, not their scale.
SCALE_FREE = ("cart_mass", "pole_mass", "cart_friction", "pivot_damping", "actuator_gain")
#: State entries that are angles (residuals wrapped to (-pi, pi]).
ANGLE_DIMS = (1,)


def derivatives(state: np.ndarray, force: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    """Time derivative of ``[x, th, x_d, th_d]`` (shape ``(N, 4)``) under force ``(N,)`` in N."""
    big_m, m, length = p["cart_mass"], p["pole_mass"], p["pole_length"]
    h = 0.5 * length
    _, th, xd, thd = state.T
    s, c = np.sin(th), np.cos(th)
    a11, a12, a22 = big_m + m, m * h * c, m * length**2 / 3.0
    b1 = force - p["cart_friction"] * xd + m * h * s * thd**2
    b2 = m * GRAVITY * h * s - p["pivot_damping"] * thd
    det = a11 * a22 - a12 * a12
    xdd = (a22 * b1 - a12 * b2) / det
    thdd = (a11 * b2 - a12 * b1) / det
    return np.stack([xd, thd, xdd, thdd], axis=1)


def predict(
    state: np.ndarray,
    command: np.ndarray,
    p: Mapping[str, float],
    dt: float = CONTROL_DT,
    step: float = PHYSICS_DT,
) -> np.ndarray:
    """States one control period later, from states ``(N, 4)`` and commands ``(N,)``.

    The command is held over the period (zero-order hold) and saturates at the
    actuator's ±10 N before the gain.
    """
    force = p["actuator_gain"] * np.clip(command, -FORCE_LIMIT, FORCE_LIMIT)
    x = np.array(state, dtype=np.float64)
    for _ in range(round(dt / step)):
        k1 = derivatives(x, force, p)
        k2 = derivatives(x + 0.5 * step * k1, force, p)
        k3 = derivatives(x + 0.5 * step * k2, force, p)
        k4 = derivatives(x + step * k3, force, p)
        x = x + step / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x
