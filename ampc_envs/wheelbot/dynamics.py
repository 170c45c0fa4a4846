"""Analytic model of the Mini Wheelbot: 10-state equations of motion with rolling.

Derivation (Kane's method, evaluated symbolically with casadi's exact differentiation):

* generalized coordinates ``q = [psi, phi, theta, q_W, q_R]`` and speeds
  ``s = q_dot = [psi_dot, phi_dot, theta_dot, omega_W, omega_R]``; frames
  ``A = Rz(psi) Rx(phi)`` (yawed and rolled, the wheel's plane) and
  ``B = A Ry(theta)`` (the body); conventions in :mod:`ampc_envs.wheelbot.params`;
* angular velocities ``w_B = psi_dot e_z + phi_dot Rz e_x + theta_dot A e_y``,
  ``w_W = w_B + omega_W B e_y`` (driving wheel), ``w_R = w_B + omega_R B e_x``;
* rolling without slipping: the wheel's material point at the contact, ``-r_W A e_z``
  from the axle centre, has zero velocity, so the axle centre moves with
  ``v_W = w_W x (r_W A e_z)``; the body's centre of mass and the reaction wheel's
  centre follow as ``v_B = v_W + w_B x (l_WB B e_z)``, ``v_R = v_W + w_B x (2 l_WB B e_z)``.
  The floor position of the contact is not a state: nothing depends on it (flat,
  uniform floor), and the two non-holonomic constraints are built into ``v_W``;
* Kane's equations ``sum_i V_i^T (F_i - m_i a_i) + W_i^T (T_i - I_i alpha_i -
  w_i x I_i w_i) = 0`` with partial velocities ``V_i = dv_i/ds``, ``W_i = dw_i/ds``,
  accelerations ``a_i = V_i s_dot + (dv_i/dq) s`` (likewise ``alpha_i``), world-frame
  inertias ``R I R^T`` (the wheels are axisymmetric, so their inertia in the world
  frame follows the body). The contact force does no work and drops out; gravity
  acts at each centre of mass; each motor torque acts between its wheel and the body
  and enters only its own wheel's equation; the yaw friction is a generalized force
  ``-fric_magn tanh(fric_slope psi_dot)`` on the yaw coordinate.

This gives ``M(q) s_dot = f(q, s, u)`` with a 5x5 symmetric positive definite mass
matrix; ``x_dot = [s, M^-1 f]``. The ODE is a casadi expression of ``(x, u, p)``
with ``p`` the 11 adaptable parameters (:data:`ADAPTABLE`), ready to be an acados
model's ``f_expl_expr``. Building it takes about 40 ms (once per process, cached in
memory), so nothing is cached on disk.

Note for integrators: at the nominal values the yaw friction's slope
``fric_magn * fric_slope / I_zz`` is about 845 1/s (a 1.2 ms time constant), a stiff
mode; use an implicit integrator, steps below 1 ms, or
:func:`stabilized_dynamics_function` (the env's exponential-Euler factor on the
friction, which the MPC integrates with explicit RK4 steps of 2.5 ms).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import casadi as ca
import numpy as np

from ampc_envs.wheelbot.params import ADAPTABLE, GRAVITY, WheelbotParams

__all__ = [
    "wheelbot_ode",
    "dynamics_function",
    "stabilized_dynamics_function",
    "energy_function",
    "state_derivative",
    "linearize",
    "simulate",
    "param_vector",
]

NX, NU, NP = 10, 2, len(ADAPTABLE)


def _rot_x(a):
    c, s = ca.cos(a), ca.sin(a)
    return ca.vertcat(ca.horzcat(1, 0, 0), ca.horzcat(0, c, -s), ca.horzcat(0, s, c))


def _rot_y(a):
    c, s = ca.cos(a), ca.sin(a)
    return ca.vertcat(ca.horzcat(c, 0, s), ca.horzcat(0, 1, 0), ca.horzcat(-s, 0, c))


def _rot_z(a):
    c, s = ca.cos(a), ca.sin(a)
    return ca.vertcat(ca.horzcat(c, -s, 0), ca.horzcat(s, c, 0), ca.horzcat(0, 0, 1))


def _kinematics(x, p):
    """Centre-of-mass velocities, angular velocities, heights, masses and world inertias.

    Returns a list of ``(mass, world inertia, v, w, height)`` for body, wheel, reaction
    wheel, all expressions of the state ``x`` and parameters ``p``.
    """
    m_wr, m_b, i_wxz, i_wy, i_bx, i_by, i_bz, r_w, l_wb = (p[i] for i in range(9))
    psi, phi, theta = x[0], x[1], x[2]
    dpsi, dphi, dtheta, w_w, w_r = x[3], x[4], x[5], x[8], x[9]
    ex, ey, ez = ca.DM([1, 0, 0]), ca.DM([0, 1, 0]), ca.DM([0, 0, 1])
    rz = _rot_z(psi)
    a = rz @ _rot_x(phi)
    b = a @ _rot_y(theta)

    w_b = dpsi * ez + dphi * (rz @ ex) + dtheta * (a @ ey)
    w_wheel = w_b + w_w * (b @ ey)
    w_react = w_b + w_r * (b @ ex)
    v_wheel = ca.cross(w_wheel, r_w * (a @ ez))  # rolling: contact point at rest
    v_body = v_wheel + ca.cross(w_b, l_wb * (b @ ez))
    v_react = v_wheel + ca.cross(w_b, 2 * l_wb * (b @ ez))

    z_wheel = r_w * ca.cos(phi)
    up = ca.cos(phi) * ca.cos(theta)  # z component of the body z axis
    return [
        (m_b, b @ ca.diag(ca.vertcat(i_bx, i_by, i_bz)) @ b.T, v_body, w_b, z_wheel + l_wb * up),
        (m_wr, b @ ca.diag(ca.vertcat(i_wxz, i_wy, i_wxz)) @ b.T, v_wheel, w_wheel, z_wheel),
        (
            m_wr,
            b @ ca.diag(ca.vertcat(i_wy, i_wxz, i_wxz)) @ b.T,
            v_react,
            w_react,
            z_wheel + 2 * l_wb * up,
        ),
    ]


def wheelbot_ode(x, u, p):
    """Right-hand side ``x_dot = f(x, u, p)`` as a casadi expression.

    Args:
        x: 10 states ``[psi, phi, theta, psi_dot, phi_dot, theta_dot, q_W, q_R, omega_W,
            omega_R]`` in rad and rad/s (casadi SX or MX column, for example an acados
            model's ``x``).
        u: Applied torques ``[tau_W, tau_R]`` in N m (wheel on body, positive spins the
            wheel positively).
        p: The 11 adaptable parameters in :data:`ADAPTABLE` order (SI units).

    Returns:
        ``x_dot``, a 10x1 expression of the same symbolic type (SX arguments give an
        inlined SX expression).
    """
    return dynamics_function()(x, u, p)


def _derive_ode(x: ca.SX, u: ca.SX, p: ca.SX) -> ca.SX:
    """Kane's equations for purely symbolic SX ``x``, ``u``, ``p`` (see the module doc)."""
    q = ca.vertcat(x[0], x[1], x[2], x[6], x[7])
    s = ca.vertcat(x[3], x[4], x[5], x[8], x[9])
    fric_magn, fric_slope = p[9], p[10]
    gravity = ca.DM([0, 0, -GRAVITY])

    mass = ca.SX.zeros(5, 5)
    force = ca.vertcat(-fric_magn * ca.tanh(fric_slope * x[3]), 0, 0, u[0], u[1])
    for m, inertia, v, w, _ in _kinematics(x, p):
        jv, jw = ca.jacobian(v, s), ca.jacobian(w, s)
        # Velocity-dependent part of the accelerations: d(J s)/dq * q_dot with q_dot = s.
        a_rest = ca.jacobian(v, q) @ s
        alpha_rest = ca.jacobian(w, q) @ s
        mass += m * (jv.T @ jv) + jw.T @ inertia @ jw
        force += jv.T @ (m * gravity - m * a_rest)
        force -= jw.T @ (inertia @ alpha_rest + ca.cross(w, inertia @ w))
    s_dot = ca.solve(mass, force)
    return ca.vertcat(
        x[3], x[4], x[5], s_dot[0], s_dot[1], s_dot[2], x[8], x[9], s_dot[3], s_dot[4]
    )


@functools.cache
def dynamics_function() -> ca.Function:
    """The casadi function ``f(x[10], u[2], p[11]) -> x_dot[10]`` (SX, built once)."""
    x, u, p = ca.SX.sym("x", NX), ca.SX.sym("u", NU), ca.SX.sym("p", NP)
    return ca.Function("wheelbot_f", [x, u, p], [_derive_ode(x, u, p)], ["x", "u", "p"], ["xdot"])


@functools.cache
def stabilized_dynamics_function(step: float) -> ca.Function:
    """``f(x, u, p)`` with the exponential-Euler factor of the MuJoCo env on the friction.

    The yaw friction torque is multiplied by ``(1 - exp(-h k)) / (h k)``, with ``h =
    step`` in s and ``k = fric_magn fric_slope sech^2(fric_slope psi_dot) / (I_Bz + 2
    I_Wxz_Ryz)`` the local slope of the friction deceleration in 1/s (the factor the env
    applies before every 0.5 ms physics step, ``ampc_envs.wheelbot.model.step``). An
    explicit integrator with steps of ``h`` is then stable in the stiff friction mode for
    any parameters (the effective ``h k`` is ``1 - exp(-h k) < 1``, inside the stability
    region of RK4 and explicit Euler) and has no spurious yaw-rate equilibrium (plain RK4
    with ``h >= 5`` ms has one near 4.5e-3 rad/s); the factor tends to 1 as ``h k -> 0``.
    Everything else is :func:`dynamics_function`.
    """
    x, u, p = ca.SX.sym("x", NX), ca.SX.sym("u", NU), ca.SX.sym("p", NP)
    t = ca.tanh(p[10] * x[3])
    hk = step * p[9] * p[10] * (1 - t * t) / (p[6] + 2 * p[2])
    # Smooth at h k = 0 (fric_magn = 0 is inside the MPC's parameter bounds).
    factor = ca.if_else(hk > 1e-6, (1 - ca.exp(-hk)) / ca.fmax(hk, 1e-6), 1 - hk / 2)
    p_eff = ca.vertcat(p[:9], p[9] * factor, p[10])
    return ca.Function(
        "wheelbot_f_stabilized", [x, u, p], [_derive_ode(x, u, p_eff)], ["x", "u", "p"], ["xdot"]
    )


@functools.cache
def energy_function() -> ca.Function:
    """``E(x[10], p[11]) -> [kinetic, potential]`` in J (potential zero at the floor)."""
    x, p = ca.SX.sym("x", NX), ca.SX.sym("p", NP)
    kinetic, potential = 0, 0
    for m, inertia, v, w, z in _kinematics(x, p):
        kinetic += 0.5 * m * ca.dot(v, v) + 0.5 * ca.dot(w, inertia @ w)
        potential += m * GRAVITY * z
    return ca.Function("wheelbot_energy", [x, p], [ca.vertcat(kinetic, potential)])


@functools.cache
def _jacobian_function() -> ca.Function:
    x, u, p = ca.SX.sym("x", NX), ca.SX.sym("u", NU), ca.SX.sym("p", NP)
    f = _derive_ode(x, u, p)
    return ca.Function("wheelbot_AB", [x, u, p], [ca.jacobian(f, x), ca.jacobian(f, u)])


def param_vector(params: WheelbotParams | None = None) -> np.ndarray:
    """The model's ``p``: the 11 adaptable parameters of ``params`` (nominal if None)."""
    params = params if params is not None else WheelbotParams()
    return np.array([getattr(params, name) for name in ADAPTABLE], dtype=float)


def state_derivative(
    x: Sequence[float], u: Sequence[float], params: WheelbotParams | None = None
) -> np.ndarray:
    """``x_dot`` (numpy) of the analytic model; ``u`` are the applied torques in N m."""
    return dynamics_function()(x, u, param_vector(params)).full().ravel()


def linearize(
    params: WheelbotParams | None = None,
    x: Sequence[float] | None = None,
    u: Sequence[float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Continuous-time Jacobians ``A = df/dx`` (10x10), ``B = df/du`` (10x2).

    Defaults to the upright equilibrium at rest (``x = 0``, ``u = 0``).
    """
    x = np.zeros(NX) if x is None else x
    u = np.zeros(NU) if u is None else u
    a, b = _jacobian_function()(x, u, param_vector(params))
    return a.full(), b.full()


def simulate(
    x0: Sequence[float],
    torques: np.ndarray,
    dt: float,
    params: WheelbotParams | None = None,
    substeps: int = 10,
) -> np.ndarray:
    """Integrate the analytic model with RK4 under piecewise-constant torques.

    Args:
        x0: Start state (10).
        torques: ``(N, 2)`` applied torques in N m, one row per interval of ``dt``.
        dt: Interval length in s; each interval takes ``substeps`` RK4 steps.
        params: Physical parameters (nominal if None).

    Returns:
        ``(N + 1, 10)`` states at the interval ends, ``x0`` first.
    """
    f = dynamics_function()
    p = param_vector(params)
    h = dt / substeps
    x = np.asarray(x0, dtype=float)
    out = [x]
    for u in np.asarray(torques, dtype=float):
        for _ in range(substeps):
            k1 = f(x, u, p).full().ravel()
            k2 = f(x + 0.5 * h * k1, u, p).full().ravel()
            k3 = f(x + 0.5 * h * k2, u, p).full().ravel()
            k4 = f(x + h * k3, u, p).full().ravel()
            x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(x)
    return np.array(out)
