"""The cart-pole's one-step model, as the system-identification baseline fits it.

A thin adapter on the MPC's own model (:func:`ampc_agent.systems.cartpole.model.cartpole_rk4`,
the one source of the equations): vectorised over many transitions, with the env's
integration (RK4, 10 steps of 2 ms per 20 ms control period) and the actuator's
saturation at ±10 N before the gain. ``test_cartpole_model_matches_mujoco`` pins it to
the env's physics.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ampc_agent.systems.cartpole.model import MODEL_PARAMETERS, cartpole_rk4
from ampc_envs.cartpole.params import CONTROL_DT, FORCE_LIMIT, PHYSICS_DT

__all__ = ["FITTED", "SCALE_FREE", "ANGLE_DIMS", "predict"]

#: Parameters of the model that identification fits: all the analytic model uses (the
#: rest of CartpoleParams, delay and noise, is not part of the equations).
FITTED = MODEL_PARAMETERS
#: Parameters that can all be multiplied by one factor without changing the motion
#: (divide both equations of motion by it): data fix their ratios, not their scale.
SCALE_FREE = ("cart_mass", "pole_mass", "cart_friction", "pivot_damping", "actuator_gain")
#: State entries that are angles (residuals wrapped to (-pi, pi]).
ANGLE_DIMS = (1,)


def predict(
    state: np.ndarray,
    command: np.ndarray,
    p: Mapping[str, float],
    dt: float = CONTROL_DT,
    step: float = PHYSICS_DT,
) -> np.ndarray:
    """States one control period later, from states ``(N, 4)`` and commands ``(N,)``.

    The command is held over the period (zero-order hold) and saturates at ±10 N.
    """
    u = np.clip(np.asarray(command, dtype=np.float64), -FORCE_LIMIT, FORCE_LIMIT)[None]
    x = np.asarray(state, dtype=np.float64).T
    return np.asarray(cartpole_rk4(x, u, p, dt, substeps=round(dt / step))).T
