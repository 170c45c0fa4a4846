"""The analytic Wheelbot model (``ampc_envs.wheelbot.dynamics``) against physics and MuJoCo.

Tolerances (stated here and in docs/wheelbot.md):

* linearisation at upright: the 10 ms transition matrices ``expm(A dt)``, ``B_d`` of
  the analytic model and the central finite differences of MuJoCo rollouts agree to
  1 % (relative Frobenius norm of the difference); the unstable pitch and roll
  eigenvalues to 1 %;
* unforced fall over 0.3 s (to tilts of 0.2-0.6 rad): angles within 0.01 rad, body
  rates within 0.1 rad/s, wheel rates within 0.2 rad/s (largest measured: 0.009 rad,
  0.084 rad/s, 0.12 rad/s, with the reaction wheel at 300 rad/s; the differences are
  MuJoCo's first-order 0.5 ms integration and its soft contact).
"""

from __future__ import annotations

import math

import casadi as ca
import mujoco
import numpy as np
import pytest
import scipy.linalg

from ampc_envs.wheelbot import dynamics
from ampc_envs.wheelbot import model as wheelbot_model
from ampc_envs.wheelbot.lqr import discretize
from ampc_envs.wheelbot.params import ADAPTABLE, CONTROL_DT, GRAVITY, WheelbotParams

NOMINAL = WheelbotParams()
HARDWARE = WheelbotParams.named("hardware-like")


# ------------------------------------------------------------------- structure
def test_function_has_the_acados_signature_and_works_on_mx_symbols():
    f = dynamics.dynamics_function()
    assert f.name_in() == ["x", "u", "p"] and f.name_out() == ["xdot"]
    assert [f.size_in(i) for i in range(3)] == [(10, 1), (2, 1), (11, 1)]
    assert len(ADAPTABLE) == 11
    x, u, p = ca.MX.sym("x", 10), ca.MX.sym("u", 2), ca.MX.sym("p", 11)
    f_mx = ca.Function("f", [x, u, p], [dynamics.wheelbot_ode(x, u, p)])
    rng = np.random.default_rng(0)
    xv, uv = rng.uniform(-0.5, 0.5, 10), rng.uniform(-0.5, 0.5, 2)
    pv = dynamics.param_vector(HARDWARE)
    np.testing.assert_allclose(f_mx(xv, uv, pv).full(), f(xv, uv, pv).full(), rtol=1e-12)


def test_param_vector_is_the_adaptable_parameters_in_order():
    np.testing.assert_array_equal(
        dynamics.param_vector(HARDWARE), [getattr(HARDWARE, n) for n in ADAPTABLE]
    )
    assert [getattr(HARDWARE, n) for n in ADAPTABLE] == list(dynamics.param_vector(HARDWARE))


def test_parameter_sensitivities_match_finite_differences():
    """df/dp, what a parameter-adaptive MPC differentiates, is exact."""
    x, u, p = ca.SX.sym("x", 10), ca.SX.sym("u", 2), ca.SX.sym("p", 11)
    jac = ca.Function("J", [x, u, p], [ca.jacobian(dynamics.wheelbot_ode(x, u, p), p)])
    xv = np.array([0.3, 0.1, -0.2, 0.5, -0.3, 0.4, 1.0, 2.0, 20.0, -40.0])
    uv, pv = np.array([0.1, -0.2]), dynamics.param_vector()
    analytic = jac(xv, uv, pv).full()
    f = dynamics.dynamics_function()
    for i in range(11):
        h = 1e-6 * pv[i]
        dp = np.zeros(11)
        dp[i] = h
        fd = (f(xv, uv, pv + dp).full() - f(xv, uv, pv - dp).full()).ravel() / (2 * h)
        np.testing.assert_allclose(analytic[:, i], fd, rtol=1e-5, atol=1e-6 * np.abs(fd).max())


# ------------------------------------------------------------------ mechanics
def test_upright_and_rolling_straight_are_equilibria():
    for x in [np.zeros(10), [1.0, 0, 0, 0, 0, 0, 3.0, -2.0, 20.0, -50.0]]:
        xdot = dynamics.state_derivative(x, [0, 0])
        np.testing.assert_allclose(xdot[[3, 4, 5, 8, 9]], 0, atol=1e-12)


def test_energy_is_conserved_without_yaw_friction():
    p = NOMINAL.replace(fric_magn=0.0)
    x0 = [0.0, 0.05, 0.1, 0.3, 0.2, -0.5, 0.0, 0.0, 20.0, -30.0]
    traj = dynamics.simulate(x0, np.zeros((30, 2)), 0.01, p, substeps=20)
    energy = dynamics.energy_function()
    totals = [float(np.sum(energy(x, dynamics.param_vector(p)).full())) for x in traj]
    assert np.ptp(totals) < 1e-9 * totals[0]
    assert abs(traj[-1, 2] - x0[2]) > 0.5  # it did fall


def test_yaw_friction_dissipates_energy():
    x0 = [0.0, 0.0, 0.0, 1.0, 0, 0, 0, 0, 0, 0]
    traj = dynamics.simulate(x0, np.zeros((10, 2)), 0.01, NOMINAL, substeps=20)
    energy = dynamics.energy_function()
    kinetic = [energy(x, dynamics.param_vector()).full()[0, 0] for x in traj]
    assert np.all(np.diff(kinetic) < 0) and kinetic[-1] < 1e-3 * kinetic[0]


@pytest.mark.parametrize("params", [NOMINAL, HARDWARE], ids=["nominal", "hardware-like"])
def test_linearisation_matches_the_planar_closed_forms(params):
    """Pitch and roll decouple at upright; each is a textbook planar system.

    Pitch, with the wheel's absolute angle ``a = theta + q_W`` (rolling: x = r a):
    ``M [theta'', a''] = [G theta - tau_W, tau_W]``. Roll pivots about the contact:
    ``M_phi phi'' = G_phi phi - tau_R``, the reaction wheel ``I_Rx (phi + q_R)'' = tau_R``.
    """
    p = params
    r, l, m_w, m_b = p.r_W, p.l_WB, p.m_WR, p.m_WR
    m_b = p.m_B
    mass = np.array(
        [
            [m_b * l**2 + p.I_By + m_w * (2 * l) ** 2 + p.I_Wxz_Ryz, (m_b * l + 2 * m_w * l) * r],
            [(m_b * l + 2 * m_w * l) * r, (2 * m_w + m_b) * r**2 + p.I_Wy_Rx],
        ]
    )
    g_pitch = GRAVITY * (m_b * l + 2 * m_w * l)
    theta_dd, a_dd = np.linalg.solve(mass, [g_pitch, 0.0])  # per rad of pitch
    theta_dd_u, a_dd_u = np.linalg.solve(mass, [-1.0, 1.0])  # per N m of tau_W
    m_phi = m_w * r**2 + p.I_Wxz_Ryz + m_b * (r + l) ** 2 + p.I_Bx + m_w * (r + 2 * l) ** 2
    g_roll = GRAVITY * (m_w * r + m_b * (r + l) + m_w * (r + 2 * l))

    a, b = dynamics.linearize(p)
    np.testing.assert_allclose(a[5, 2], theta_dd, rtol=1e-12)
    np.testing.assert_allclose(a[8, 2], a_dd - theta_dd, rtol=1e-12)
    np.testing.assert_allclose(b[5, 0], theta_dd_u, rtol=1e-12)
    np.testing.assert_allclose(b[8, 0], a_dd_u - theta_dd_u, rtol=1e-12)
    np.testing.assert_allclose(a[4, 1], g_roll / m_phi, rtol=1e-12)
    np.testing.assert_allclose(a[9, 1], -g_roll / m_phi, rtol=1e-12)
    np.testing.assert_allclose(b[4, 1], -1 / m_phi, rtol=1e-12)
    np.testing.assert_allclose(b[9, 1], 1 / m_phi + 1 / p.I_Wy_Rx, rtol=1e-12)
    # Yaw: only its friction, linearised: -fric_magn fric_slope / I_z.
    i_z = p.I_Bz + 2 * p.I_Wxz_Ryz
    np.testing.assert_allclose(a[3, 3], -p.fric_magn * p.fric_slope / i_z, rtol=1e-12)
    assert np.count_nonzero(np.abs(a[3]) > 1e-12) == 1 and np.all(b[3] == 0)


# ----------------------------------------------------------- controllability
def controllability_rank(a: np.ndarray, b: np.ndarray) -> tuple[int, np.ndarray]:
    """Rank of [B, AB, ..., A^9 B] (block columns normalised) and its singular values."""
    blocks, block = [], b
    for _ in range(a.shape[0]):
        blocks.append(block / np.linalg.norm(block))
        block = a @ block
    s = np.linalg.svd(np.hstack(blocks), compute_uv=False)
    return int(np.sum(s > 1e-9 * s[0])), s


@pytest.mark.parametrize("params", [NOMINAL, HARDWARE], ids=["nominal", "hardware-like"])
def test_yaw_is_not_controllable_through_the_linearisation_at_upright(params):
    a, b = dynamics.linearize(params)
    rank, s = controllability_rank(a, b)
    assert rank == 8  # 10 states, yaw and yaw rate missing
    assert s[7] > 1e-4 * s[0] and s[8] < 1e-12 * s[0]  # a clear gap, not a near-miss
    # The two uncontrollable directions are exactly yaw and yaw rate (PBH: rank
    # [A - lambda I, B] drops for the yaw integrator lambda = 0).
    blocks = [b]
    for _ in range(9):
        blocks.append(a @ blocks[-1])
    reachable = np.hstack(blocks)
    np.testing.assert_array_equal(reachable[[0, 3]], 0)
    assert np.linalg.matrix_rank(np.hstack([a, b]), tol=1e-9) == 9
    # With the driving wheel spinning, gyroscopic coupling makes a roll rate turn the
    # robot (psi_ddot ~ I_Wy omega_W phi_dot / I_z), and yaw becomes reachable.
    a_spin, b_spin = dynamics.linearize(params, x=[0, 0.1, 0, 0.5, 0, 0, 0, 0, 30, 0])
    assert a[3, 4] == 0 and abs(a_spin[3, 4]) > 5  # rad/s^2 per rad/s
    blocks = [b_spin]
    for _ in range(9):
        blocks.append(a_spin @ blocks[-1])
    assert np.linalg.norm(np.hstack(blocks)[3]) > 1.0


# --------------------------------------------------------------- vs MuJoCo
def mujoco_transition(params: WheelbotParams, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Central finite differences of MuJoCo rollouts of ``dt`` s around upright."""
    model = wheelbot_model.build_model(params)
    data = mujoco.MjData(model)
    nstep = round(dt / model.opt.timestep)

    def rollout(x, u):
        mujoco.mj_resetData(model, data)
        wheelbot_model.set_state(model, data, params, x)
        mujoco.mj_forward(model, data)
        data.ctrl[:] = u
        wheelbot_model.step(model, data, params, nstep)
        return wheelbot_model.get_state(model, data)

    eps_x = np.array([1e-4] * 3 + [1e-3] * 3 + [1e-3] * 2 + [1e-2] * 2)
    ad, bd = np.zeros((10, 10)), np.zeros((10, 2))
    for i in range(10):
        e = np.zeros(10)
        e[i] = eps_x[i]
        ad[:, i] = (rollout(e, [0, 0]) - rollout(-e, [0, 0])) / (2 * eps_x[i])
    for j in range(2):
        e = np.zeros(2)
        e[j] = 1e-3
        bd[:, j] = (rollout(np.zeros(10), e) - rollout(np.zeros(10), -e)) / 2e-3
    return ad, bd


@pytest.mark.parametrize("params", [NOMINAL, HARDWARE], ids=["nominal", "hardware-like"])
def test_linearisation_matches_finite_differences_of_mujoco(params):
    dt = 2 * CONTROL_DT  # 10 ms: long enough for the contact, short for linearity
    ad_mj, bd_mj = mujoco_transition(params, dt)
    a, b = dynamics.linearize(params)
    ad, bd = discretize(a, b, dt)
    eye = np.eye(10)
    assert np.linalg.norm(ad_mj - ad) < 0.01 * np.linalg.norm(ad - eye)
    bd = bd * params.actuator_gain  # the analytic model's u are the applied torques
    assert np.linalg.norm(bd_mj - bd) < 0.01 * np.linalg.norm(bd)
    # The unstable pitch and roll modes: growth rates from the largest eigenvalues.
    rates_mj = np.sort(np.log(np.abs(np.linalg.eigvals(ad_mj))) / dt)[-2:]
    rates = np.sort(np.real(scipy.linalg.eigvals(a)))[-2:]
    np.testing.assert_allclose(rates_mj, rates, rtol=0.01)
    assert rates[0] > 5  # both modes really unstable (about 9 and 14 1/s)


FALLS = {
    "small tilt": [0.0, 0.02, 0.02, 0, 0, 0, 0, 0, 0, 0],
    "turning with spinning wheels": [0.5, -0.03, 0.02, 1.0, 0.1, -0.2, 1, 2, 15, -30.0],
    "fast reaction wheel": [0.0, 0.02, 0.02, 0, 0, 0, 0, 0, 100, 300.0],
}


@pytest.mark.parametrize("params", [NOMINAL, HARDWARE], ids=["nominal", "hardware-like"])
@pytest.mark.parametrize("start", FALLS.values(), ids=FALLS.keys())
def test_unforced_fall_agrees_with_mujoco_over_the_first_300_ms(params, start):
    model = wheelbot_model.build_model(params)
    data = mujoco.MjData(model)
    wheelbot_model.set_state(model, data, params, start)
    mujoco.mj_forward(model, data)
    frame_skip = round(CONTROL_DT / model.opt.timestep)
    simulated = [wheelbot_model.get_state(model, data)]
    for _ in range(60):
        wheelbot_model.step(model, data, params, frame_skip)
        simulated.append(wheelbot_model.get_state(model, data))
    simulated = np.array(simulated)
    predicted = dynamics.simulate(start, np.zeros((60, 2)), CONTROL_DT, params, substeps=20)
    error = np.abs(simulated - predicted)
    error[:, 0] = np.abs(
        [math.remainder(e, 2 * math.pi) for e in simulated[:, 0] - predicted[:, 0]]
    )
    assert np.max(np.abs(predicted[:, 1:3])) > 0.15  # a real fall, far from linear
    assert error[:, [0, 1, 2, 6, 7]].max() < 0.01  # rad
    assert error[:, [3, 4, 5]].max() < 0.1  # rad/s
    assert error[:, [8, 9]].max() < 0.2  # rad/s
