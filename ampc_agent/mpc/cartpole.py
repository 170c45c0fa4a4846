"""Cart-pole swing-up: analytic model, parameter vector theta, OCP and initial guesses.

The model reads :class:`~ampc_envs.cartpole.params.CartpoleParams` (the one source of
truth shared with the MuJoCo model): a cart on a rail with viscous friction, a uniform
rod hinged at its end with viscous pivot damping, and the force ``actuator_gain * u``.

State ``[x, theta, x_dot, theta_dot]`` (m, rad, m/s, rad/s), ``theta = 0`` upright and
positive leaning towards +x; input ``u`` the force command in N.

Equations of motion (Lagrange; ``l = L/2``, ``J = m_p L^2 / 3`` about the pivot)::

    (m_c + m_p) x''  + m_p l cos(th) th''  = g_a u - b_c x' + m_p l sin(th) th'^2
    m_p l cos(th) x'' + J th''             = m_p g l sin(th) - b_p th'
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import casadi as cs
import numpy as np
import scipy.linalg

from ampc_agent.mpc.ocp import InitialGuess, ParametricOCP
from ampc_agent.mpc.theta import ThetaSpec
from ampc_envs.cartpole.params import (
    CONTROL_DT,
    FORCE_LIMIT,
    GRAVITY,
    RAIL_LIMIT,
    CartpoleParams,
)

__all__ = [
    "CARTPOLE_THETA",
    "CartpoleOCPConfig",
    "MODEL_PARAMETERS",
    "STATE_NAMES",
    "INPUT_NAMES",
    "cartpole_dynamics",
    "cartpole_ocp",
    "cartpole_rk4",
    "pole_energy",
    "swing_up_guess",
    "wrap_angle",
]

STATE_NAMES = ("x", "theta", "x_dot", "theta_dot")
INPUT_NAMES = ("force",)
#: Fields of CartpoleParams the analytic model uses (the rest: delay and noise).
MODEL_PARAMETERS = (
    "cart_mass",
    "pole_mass",
    "pole_length",
    "cart_friction",
    "pivot_damping",
    "actuator_gain",
)

_NOMINAL = CartpoleParams()

#: theta of the cart-pole MPC: five physical parameters (nominal values from
#: CartpoleParams) and two cost weights. Bounds cover ``CartpoleParams.default_ranges``
#: and the ``hardware-like`` instance with room to spare.
CARTPOLE_THETA = ThetaSpec(
    names=(
        "cart_mass",
        "pole_mass",
        "pole_length",
        "cart_friction",
        "actuator_gain",
        "cost_position",
        "cost_input",
    ),
    nominal=(
        _NOMINAL.cart_mass,
        _NOMINAL.pole_mass,
        _NOMINAL.pole_length,
        _NOMINAL.cart_friction,
        _NOMINAL.actuator_gain,
        1.0,
        0.01,
    ),
    lower=(0.3, 0.05, 0.4, 0.0, 0.6, 0.1, 0.002),
    upper=(1.0, 0.3, 0.8, 0.6, 1.4, 10.0, 0.05),
    units=("kg", "kg", "m", "N s/m", "-", "1/(m^2 s)", "1/(N^2 s)"),
    descriptions=(
        "cart mass in the MPC model",
        "pole mass in the MPC model",
        "pole length (pivot to tip) in the MPC model",
        "viscous cart friction in the MPC model",
        "force per unit command in the MPC model",
        "weight of x^2 in the stage cost",
        "weight of u^2 in the stage cost",
    ),
)


def wrap_angle(theta: Any) -> Any:
    """Angle wrapped to ``[-pi, pi)`` in rad (numpy arrays or floats)."""
    return (np.asarray(theta) + np.pi) % (2 * np.pi) - np.pi


def _value(params: Any, name: str) -> Any:
    if isinstance(params, Mapping):
        return params[name]
    return getattr(params, name)


def cartpole_dynamics(state: Any, u: Any, params: Any) -> Any:
    """Time derivative of the state, ``[x', th', x'', th'']`` in SI units.

    Pure function; works on numpy arrays (returns an array) and on casadi symbols
    (returns a column expression).

    Args:
        state: ``[x, theta, x_dot, theta_dot]``.
        u: Force command ``[u]`` in N (or a scalar).
        params: A ``CartpoleParams`` or a mapping with the :data:`MODEL_PARAMETERS`
            names (values may be casadi symbols).
    """
    mc, mp, length, bc, bp, gain = (_value(params, n) for n in MODEL_PARAMETERS)
    symbolic = any(isinstance(v, (cs.SX, cs.MX)) for v in (state, u, mc, mp, length, bc, gain))
    sin, cos = (cs.sin, cs.cos) if symbolic else (np.sin, np.cos)
    force_cmd = u[0] if (symbolic or np.ndim(u) > 0) else u
    th, xd, thd = state[1], state[2], state[3]
    half = length / 2
    inertia = mp * length**2 / 3  # uniform rod about its end
    s, c = sin(th), cos(th)
    rhs_x = gain * force_cmd - bc * xd + mp * half * s * thd**2
    rhs_th = mp * GRAVITY * half * s - bp * thd
    m11, m12, m22 = mc + mp, mp * half * c, inertia
    det = m11 * m22 - m12 * m12
    xdd = (m22 * rhs_x - m12 * rhs_th) / det
    thdd = (m11 * rhs_th - m12 * rhs_x) / det
    if symbolic:
        return cs.vertcat(xd, thd, xdd, thdd)
    return np.array([xd, thd, xdd, thdd], dtype=float)


def cartpole_rk4(state: Any, u: Any, params: Any, dt: float, substeps: int = 1) -> Any:
    """State after ``dt`` s with the input held, by ``substeps`` classic RK4 steps.

    Pure function on numpy arrays or casadi symbols (see :func:`cartpole_dynamics`).
    """
    h = dt / substeps
    x = state
    for _ in range(substeps):
        k1 = cartpole_dynamics(x, u, params)
        k2 = cartpole_dynamics(x + h / 2 * k1, u, params)
        k3 = cartpole_dynamics(x + h / 2 * k2, u, params)
        k4 = cartpole_dynamics(x + h * k3, u, params)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def pole_energy(state: np.ndarray, params: Any) -> np.ndarray:
    """Mechanical energy of the pole about its pivot in J, 0 when upright at rest.

    ``E = J th'^2 / 2 + m_p g l (cos th - 1)``; hanging at rest gives ``-2 m_p g l``.
    """
    state = np.asarray(state, dtype=float)
    mp, length = _value(params, "pole_mass"), _value(params, "pole_length")
    inertia = mp * length**2 / 3
    return 0.5 * inertia * state[..., 3] ** 2 + mp * GRAVITY * length / 2 * (
        np.cos(state[..., 1]) - 1.0
    )


@dataclass(frozen=True)
class CartpoleOCPConfig:
    """Fixed (non-theta) settings of the cart-pole swing-up OCP.

    Stage cost per second (theta entries marked)::

        l = cost_position x^2 + w_angle 2 (1 - cos th) + w_velocity x'^2
            + w_angular_velocity th'^2 + cost_input u^2

    and terminal cost ``terminal_factor * l(x, u=0)``. The rail ``|x| <= RAIL_LIMIT -
    rail_margin`` is soft with slack penalty ``rail_l1 s + rail_l2 s^2 / 2`` per second
    (per stage at the end). Input bounds ``|u| <= FORCE_LIMIT`` are hard.
    """

    horizon: float = 2.0  # s
    steps: int = 50  # shooting intervals (dt = horizon / steps)
    rk4_substeps: int = 2
    w_angle: float = 10.0
    w_velocity: float = 0.1
    w_angular_velocity: float = 0.1
    terminal_factor: float = 10.0
    rail_margin: float = 0.1  # m
    rail_l1: float = 100.0
    rail_l2: float = 1000.0

    @property
    def dt(self) -> float:
        """Shooting interval in s."""
        return self.horizon / self.steps


def model_parameters(theta: Mapping[str, Any]) -> dict[str, Any]:
    """Model parameters for :func:`cartpole_dynamics`: theta entries over CartpoleParams()."""
    nominal = CartpoleParams()
    return {n: theta[n] if n in theta else getattr(nominal, n) for n in MODEL_PARAMETERS}


def cartpole_ocp(config: CartpoleOCPConfig | None = None) -> ParametricOCP:
    """The swing-up OCP with theta = :data:`CARTPOLE_THETA` as runtime parameters."""
    cfg = config or CartpoleOCPConfig()
    spec = CARTPOLE_THETA
    x = cs.SX.sym("x", 4)
    u = cs.SX.sym("u", 1)
    p = cs.SX.sym("theta", spec.dim)
    th = {name: p[i] for i, name in enumerate(spec.names)}
    params = model_parameters(th)
    x_next = cartpole_rk4(x, u, params, cfg.dt, cfg.rk4_substeps)
    state_cost = (
        th["cost_position"] * x[0] ** 2
        + cfg.w_angle * 2 * (1 - cs.cos(x[1]))
        + cfg.w_velocity * x[2] ** 2
        + cfg.w_angular_velocity * x[3] ** 2
    )
    stage_cost = state_cost + th["cost_input"] * u[0] ** 2
    rail = RAIL_LIMIT - cfg.rail_margin

    def guesses(x0: np.ndarray, theta: np.ndarray) -> list[InitialGuess]:
        model = model_parameters(dict(zip(spec.names, theta, strict=True)))
        return [
            swing_up_guess(x0, model, direction, cfg.steps, cfg.dt, cfg.rk4_substeps)
            for direction in (+1, -1, 0)
        ]

    return ParametricOCP(
        name="cartpole",
        x=x,
        u=u,
        theta=p,
        x_next=x_next,
        stage_cost=stage_cost,
        terminal_cost=cfg.terminal_factor * state_cost,
        dt=cfg.dt,
        steps=cfg.steps,
        u_lower=np.array([-FORCE_LIMIT]),
        u_upper=np.array([FORCE_LIMIT]),
        soft_x_index=(0,),
        soft_x_lower=np.array([-rail]),
        soft_x_upper=np.array([rail]),
        slack_l1=cfg.rail_l1,
        slack_l2=cfg.rail_l2,
        theta_spec=spec,
        state_names=STATE_NAMES,
        input_names=INPUT_NAMES,
        initial_guesses=guesses,
        control_dt=CONTROL_DT,
        periodic_states=(1,),
        settings={
            "config": cfg.__dict__,
            "state_cost": "cost_position x^2 + w_angle 2(1-cos th) "
            "+ w_velocity xd^2 + w_angular_velocity thd^2",
            "version": 1,
        },
    )


# ---------------------------------------------------------------- initial guesses
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
        th = (th + math.pi) % (2 * math.pi) - math.pi
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


def _step_scalar(
    state: list[float], u: float, p: tuple[float, ...], dt: float, substeps: int
) -> list[float]:
    """:func:`cartpole_rk4` on plain floats (about 20x faster than numpy for one state)."""
    mc, mp, length, bc, bp, gain = p
    half, inertia = length / 2, mp * length**2 / 3
    m11 = mc + mp

    def deriv(s: list[float]) -> list[float]:
        sn, c = math.sin(s[1]), math.cos(s[1])
        rx = gain * u - bc * s[2] + mp * half * sn * s[3] ** 2
        rt = mp * GRAVITY * half * sn - bp * s[3]
        m12 = mp * half * c
        det = m11 * inertia - m12 * m12
        return [s[2], s[3], (inertia * rx - m12 * rt) / det, (m11 * rt - m12 * rx) / det]

    h = dt / substeps
    x = list(state)
    for _ in range(substeps):
        k1 = deriv(x)
        k2 = deriv([a + h / 2 * b for a, b in zip(x, k1, strict=True)])
        k3 = deriv([a + h / 2 * b for a, b in zip(x, k2, strict=True)])
        k4 = deriv([a + h * b for a, b in zip(x, k3, strict=True)])
        x = [
            a + h / 6 * (b + 2 * c + 2 * d + e)
            for a, b, c, d, e in zip(x, k1, k2, k3, k4, strict=True)
        ]
    return x


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
        xs.append(_step_scalar(xs[-1], us[-1], p, dt, substeps))
    name = {1: "swing+", -1: "swing-", 0: "coast"}[direction]
    return InitialGuess(name, np.array(xs), np.array(us).reshape(steps, 1))
