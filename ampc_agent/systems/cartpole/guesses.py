"""Initial guesses of the cart-pole swing-up OCP: a heuristic swing-up rolled out on the model.

The OCP is nonconvex: a swing to each side is a different local optimum. The guesses
are dynamically feasible rollouts of an energy-pumping law with an LQR near upright,
one per swing direction, and the unforced motion.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping

import numpy as np
import scipy.linalg

from ampc_agent.mpc.ocp import InitialGuess
from ampc_agent.systems.cartpole.model import MODEL_PARAMETERS, cartpole_dynamics, step_scalar
from ampc_envs.cartpole.params import FORCE_LIMIT, GRAVITY
from ampc_envs.core.angles import wrap_angle

__all__ = ["swing_up_controller", "swing_up_guess"]


@functools.lru_cache(maxsize=64)
def _lqr_gain(key: tuple[float, ...]) -> np.ndarray:
    """LQR gain at upright for the model parameters ``key`` (MODEL_PARAMETERS order)."""
    params = dict(zip(MODEL_PARAMETERS, key, strict=True))
    eps = 1e-6
    a = np.zeros((4, 4))
    for i in range(4):
        d = np.zeros(4)
        d[i] = eps
        a[:, i] = (cartpole_dynamics(d, [0.0], params) - cartpole_dynamics(-d, [0.0], params)) / (
            2 * eps
        )
    b = (
        (
            cartpole_dynamics(np.zeros(4), [eps], params)
            - cartpole_dynamics(np.zeros(4), [-eps], params)
        )
        / (2 * eps)
    ).reshape(4, 1)
    q, r = np.diag([5.0, 20.0, 1.0, 1.0]), np.array([[0.05]])
    p = scipy.linalg.solve_continuous_are(a, b, q, r)
    return np.linalg.solve(r, b.T @ p)


def swing_up_controller(params: Mapping[str, float], direction: int) -> Callable:
    """A heuristic swing-up law ``u(state)``: energy pumping, then LQR near upright.

    Used only to make initial guesses for the OCP. ``direction`` (+1/-1) is the sign
    of the first push when the pole is nearly at rest, which selects the swing side.
    """
    gain = _lqr_gain(tuple(float(params[n]) for n in MODEL_PARAMETERS))
    mp, length = params["pole_mass"], params["pole_length"]
    total_mass = params["cart_mass"] + mp
    e_hang = 2 * mp * GRAVITY * length / 2

    k = [float(v) for v in gain.ravel()]
    inertia = mp * length**2 / 3
    act = params["actuator_gain"]

    def law(state: list[float]) -> float:
        x, th, xd, thd = state
        th = wrap_angle(th)
        c = math.cos(th)
        energy = 0.5 * inertia * thd**2 + mp * GRAVITY * length / 2 * (c - 1.0)
        if c > 0.85 and abs(energy) < 0.4 * e_hang:
            force = -(k[0] * x + k[1] * th + k[2] * xd + k[3] * thd)
        elif abs(thd) < 0.5 and c < -0.9:
            force = direction * FORCE_LIMIT
        else:
            # dE/dt = -m l cos(th) th' x'': push against th' cos(th) while E < 0.
            accel = 25.0 * energy / e_hang * math.copysign(1.0, thd * c)
            accel += -3.0 * x - 1.5 * xd
            force = total_mass * accel / act
        return min(max(force, -FORCE_LIMIT), FORCE_LIMIT)

    return law


def swing_up_guess(
    x0: np.ndarray,
    params: Mapping[str, float],
    direction: int,
    steps: int,
    dt: float,
    substeps: int,
) -> InitialGuess:
    """Roll the heuristic :func:`swing_up_controller` out on the discrete model.

    ``direction`` +1/-1 selects the swing side; 0 gives the unforced motion ("coast").
    Returns a dynamically feasible guess ``(X (steps+1, 4), U (steps, 1))``.
    """
    law = swing_up_controller(params, direction) if direction else (lambda state: 0.0)
    p = tuple(float(params[n]) for n in MODEL_PARAMETERS)
    xs = [list(map(float, x0))]
    us = []
    for _ in range(steps):
        us.append(law(xs[-1]))
        xs.append(step_scalar(xs[-1], us[-1], p, dt, substeps))
    name = {1: "swing+", -1: "swing-", 0: "coast"}[direction]
    return InitialGuess(name, np.array(xs), np.array(us).reshape(steps, 1))
