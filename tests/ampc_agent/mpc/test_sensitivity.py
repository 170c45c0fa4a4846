"""du0*/dtheta from the KKT system equals central differences of full re-solves."""

from __future__ import annotations

import numpy as np
import pytest

from ampc_agent.mpc import SensitivityError
from ampc_agent.mpc.parametric import MPCSolution
from ampc_agent.systems.cartpole import CARTPOLE_THETA

TIGHT = 1e-12  # KKT tolerance of the reference re-solves


def central_differences(mpc, sol: MPCSolution, rel_step: float = 1e-5) -> np.ndarray:
    """du0/dtheta by central differences, each re-solve warm-started from ``sol``."""
    theta = sol.theta
    fd = np.zeros((mpc.nu, theta.size))
    for j in range(theta.size):
        h = rel_step * max(1e-2, abs(theta[j]))
        step = np.zeros_like(theta)
        step[j] = h
        plus = mpc.solve(sol.x0, theta + step, init=sol)
        minus = mpc.solve(sol.x0, theta - step, init=sol)
        fd[:, j] = (plus.u0 - minus.u0) / (2 * h)
    return fd


@pytest.fixture
def tight(mpc):
    mpc.tol = TIGHT
    yield mpc
    mpc.tol = 1e-10


@pytest.mark.parametrize(
    "state, what",
    [
        ([0.3, -0.2, 0.5, 1.0], "balancing, no active bound in the plan's first input"),
        ([-0.3, 2.0, 1.0, -2.0], "mid swing, input bounds active later in the plan"),
        ([0.707, -0.155, 1.007, -1.902], "near the rail: soft rail constraint violated"),
    ],
)
def test_kkt_sensitivity_matches_finite_differences(tight, state, what) -> None:
    mpc = tight
    sol = mpc.solve(state, init="best")
    assert abs(sol.u0[0]) < 9.9, what  # the first input is inside its bounds
    sens = mpc.sensitivity(sol)
    assert sens.weakly_active == 0 and sens.stationarity < 1e-6
    fd = central_differences(mpc, sol)
    scale = np.abs(fd).max()
    assert scale > 1.0  # a non-trivial derivative
    rel = np.abs(sens.du0_dtheta - fd).max() / scale
    assert rel < 1e-3, (what, sens.du0_dtheta, fd)


def test_soft_rail_case_really_uses_the_slack(tight) -> None:
    sol = tight.solve([0.707, -0.155, 1.007, -1.902], init="best")
    assert sol.slack_upper.max() > 1e-2


def test_sensitivity_is_zero_when_the_first_input_is_at_its_bound(tight) -> None:
    sol = tight.solve([0.1, 0.3, 0.2, -0.5], init="best")
    assert sol.u0[0] == pytest.approx(10.0, abs=1e-8)
    sens = tight.sensitivity(sol)
    np.testing.assert_array_equal(sens.du0_dtheta, 0.0)
    # Differences of re-solves at KKT tolerance 1e-12 over steps of 1e-7 resolve 1e-5.
    np.testing.assert_allclose(central_differences(tight, sol), 0.0, atol=1e-5)


def test_sensitivity_columns_follow_theta_order(mpc) -> None:
    sol = mpc.solve([0.3, -0.2, 0.5, 1.0], init="best")
    sens = mpc.sensitivity(sol)
    assert sens.du0_dtheta.shape == (1, CARTPOLE_THETA.dim)
    # A larger input weight shrinks the (positive) force: negative derivative.
    assert sol.u0[0] > 0 and sens.du0_dtheta[0, CARTPOLE_THETA.index("cost_input")] < 0


def test_failed_solution_cannot_be_differentiated(mpc) -> None:
    sol = mpc.solve([0.3, -0.2, 0.5, 1.0], init="best")
    failed = MPCSolution(**{**sol.__dict__, "status": 4})
    with pytest.raises(ValueError, match=r"cannot differentiate a failed solve"):
        mpc.sensitivity(failed)


def test_a_point_that_is_not_a_minimum_is_rejected(mpc) -> None:
    sol = mpc.solve([0.3, -0.2, 0.5, 1.0], init="best")
    # Push every input onto its upper bound: those bounds are now "active" with
    # multipliers of the wrong sign (the cost wants smaller forces).
    u = np.full_like(sol.u_traj, 10.0)
    bogus = MPCSolution(**{**sol.__dict__, "u_traj": u})
    with pytest.raises(SensitivityError, match=r"multipliers of the wrong sign"):
        mpc.sensitivity(bogus)
