"""The wheelbot yaw MPC: its model is the analytic model, it turns the MuJoCo robot, its
KKT sensitivities match finite differences, and bad input is refused by name."""

from __future__ import annotations

import math

import casadi as cs
import numpy as np
import pytest

from ampc_agent.mpc.controller import MPCController
from ampc_agent.systems import get_system
from ampc_agent.systems.wheelbot.interface import ResidualOnLQR, mpc_state
from ampc_agent.systems.wheelbot.model import LQR_GAIN
from ampc_agent.systems.wheelbot.ocp import WheelbotOCPConfig, wheelbot_ocp
from ampc_agent.systems.wheelbot.tracking import yaw_errors
from ampc_envs.core.episode import run_episode
from ampc_envs.wheelbot.dynamics import dynamics_function

SYSTEM = get_system("wheelbot")


@pytest.fixture(scope="module")
def mpc():
    return SYSTEM.make_mpc()


def _random_points(n: int, seed: int):
    rng = np.random.default_rng(seed)
    spec = SYSTEM.theta
    lo, hi = np.array(spec.tuning_lower), np.array(spec.tuning_upper)
    for _ in range(n):
        x = rng.normal(0.0, [1.0, 0.2, 0.2, 3.0, 1.0, 1.0, 2.0, 2.0, 20.0, 50.0])
        v = rng.uniform(-0.1, 0.1, 2)
        yield x, v, rng.uniform(lo, hi)


def test_ocp_model_is_the_analytic_model_under_the_lqr() -> None:
    """x_dot of the OCP = dynamics.py at u = -K x + v with the yaw friction scaled by the
    env's exponential-Euler factor (1 - exp(-h k)) / (h k), and independent of the yaw."""
    ocp = wheelbot_ocp()
    cfg = WheelbotOCPConfig()
    h = cfg.dt / cfg.substeps
    f_ocp = cs.Function("f", [ocp.x, ocp.u, ocp.theta], [ocp.f_expl])
    f_env = dynamics_function()
    for x, v, p in _random_points(20, 0):
        k = p[9] * p[10] / math.cosh(p[10] * x[3]) ** 2 / (p[6] + 2 * p[2])
        factor = -math.expm1(-h * k) / (h * k)
        p_eff = p.copy()
        p_eff[9] *= factor
        u = -LQR_GAIN @ x + v
        expected = f_env(np.r_[0.0, x[1:]], u, p_eff).full().ravel()
        got = f_ocp(x, v, p).full().ravel()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
        shifted = f_ocp(np.r_[x[0] + 1.0, x[1:]], v, p).full().ravel()
        np.testing.assert_array_equal(shifted, got)
    # At rest the friction is stiff (h k = 2.1 at 2.5 ms steps): the factor is 0.42.
    p = SYSTEM.theta.nominal_array
    hk = h * p[9] * p[10] / (p[6] + 2 * p[2])
    assert 0.4 < -math.expm1(-hk) / hk < 0.45


def test_the_mpc_turns_the_nominal_mujoco_robot_toward_the_reference(mpc) -> None:
    """A shortened yaw test (+pi/2 at 0.2 s, 2 s): the MPC ends within 10 % of the step
    without a fall; the LQR alone, from the same start, does not turn (error > 90 %)."""
    step = math.pi / 2
    kwargs = {"episode_seconds": 2.0, "yaw_schedule": ((0.2, step),)}
    env = SYSTEM.make_env(**kwargs)
    mpc.reset()
    ep = run_episode(env, SYSTEM.controller(MPCController(mpc)), seed=0, record_states=True)
    errors = yaw_errors(ep["states"], ep["observations"])
    assert not ep["crashed"]
    assert errors[-1] < 0.1 * step, errors[-1]
    assert np.abs(ep["states"][:, 1:3]).max() < 0.9  # roll and pitch off the crash limit
    env = SYSTEM.make_env(**kwargs)
    lqr = run_episode(env, SYSTEM.make_baseline(), seed=0, record_states=True)
    assert yaw_errors(lqr["states"], lqr["observations"])[-1] > 0.9 * step


def _central_differences(mpc, sol, rel_step: float) -> np.ndarray:
    theta = sol.theta
    fd = np.zeros((mpc.nu, theta.size))
    for j in range(theta.size):
        h = rel_step * abs(theta[j])
        d = np.zeros_like(theta)
        d[j] = h
        plus = mpc.solve(sol.x0, theta + d, init=sol)
        minus = mpc.solve(sol.x0, theta - d, init=sol)
        fd[:, j] = (plus.u0 - minus.u0) / (2 * h)
    return fd


def _richardson(mpc, sol, rel_step: float) -> np.ndarray:
    """Central differences at steps h and 2h, extrapolated: (4 D(h) - D(2h)) / 3, whose
    error is O(h^4)."""
    return (
        4 * _central_differences(mpc, sol, rel_step) - _central_differences(mpc, sol, 2 * rel_step)
    ) / 3


@pytest.mark.parametrize("stage, rel_step", [(20, 1e-3), (22, 3e-3)])
def test_kkt_sensitivity_matches_finite_differences(mpc, stage, rel_step) -> None:
    """dv0*/dtheta at states late in a pi/2 turn (both residuals inside +-0.1 N m) against
    Richardson-extrapolated central differences of re-solves warm-started from the
    solution (tolerance 1e-9): within 1e-3 of the largest derivative.

    The step matters: the inertias are ~1e-4 kg m^2, so a step of 1e-4 of the value is
    1e-8 absolute and the re-solves' tolerance shows (errors 1.4e-3-3.6e-3 of the
    largest derivative, flat in the step); at 1e-2 the curvature does (7e-2 at stage
    20). Measured (docs/wheelbot.md): 4.9e-4 at stage 20, 1.4e-4 at stage 22."""
    mpc.reset()
    turn = mpc.solve(np.r_[-math.pi / 2, np.zeros(9)], init="best")
    old = mpc.tol
    mpc.tol = 1e-9
    try:
        sol = mpc.solve(turn.x_traj[stage], init=turn)
        assert np.all(np.abs(sol.u0) < 0.095)  # inside the residual bound
        sens = mpc.sensitivity(sol)
        assert sens.weakly_active == 0 and sens.stationarity < 1e-6
        fd = _richardson(mpc, sol, rel_step)
    finally:
        mpc.tol = old
    scale = np.abs(fd).max()
    assert scale > 1.0  # theta moves the residual
    assert np.abs(sens.du0_dtheta - fd).max() / scale < 1e-3


def test_bad_input_is_refused_by_name(mpc) -> None:
    x = np.zeros(10)
    theta = SYSTEM.theta.nominal_array.copy()
    theta[0] = -1.0
    with pytest.raises(ValueError, match="m_WR"):
        mpc.solve(x, theta)
    theta[0] = np.nan
    with pytest.raises(ValueError, match="m_WR"):
        mpc.solve(x, theta)
    tilted = np.r_[0.0, math.pi / 2, np.zeros(8)]
    with pytest.raises(ValueError, match="phi"):
        mpc.solve(tilted)
    with pytest.raises(ValueError, match=r"psi_ref must be a number or one per state"):
        mpc_state(np.zeros((3, 10)), [0.0, 1.0])
    with pytest.raises(ValueError, match=r"psi_ref must be finite, got nan"):
        mpc_state(np.zeros(10), float("nan"))
    with pytest.raises(ValueError, match=r"observation has 11 entries .* got shape \(10,\)"):
        ResidualOnLQR().state(np.zeros(10))
