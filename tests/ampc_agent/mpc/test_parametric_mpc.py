"""ParametricMPC on the cart-pole: converged plans, theta at run time, failures surfaced,
and the swing-up in closed loop on the MuJoCo plant."""

from __future__ import annotations

import numpy as np
import pytest

from ampc_agent.mpc import InitialGuess, MPCSolveError
from ampc_agent.systems.cartpole import CARTPOLE_THETA
from ampc_agent.systems.cartpole.model import cartpole_rk4, model_parameters
from ampc_envs.cartpole.env import CartpoleSwingUpEnv
from ampc_envs.cartpole.params import FORCE_LIMIT, RAIL_LIMIT

HANGING = np.array([0.02, np.pi - 0.05, 0.0, 0.0])


def test_swing_up_plan_converges_and_obeys_the_model_and_bounds(mpc) -> None:
    sol = mpc.solve(HANGING, init="best")
    assert sol.ok and np.isfinite(sol.cost)
    np.testing.assert_array_equal(sol.x_traj[0], HANGING)
    assert np.all(np.abs(sol.u_traj) <= FORCE_LIMIT + 1e-9)
    params = model_parameters(CARTPOLE_THETA.as_dict())
    for k in range(mpc.steps):  # the plan is a trajectory of the discrete model
        nxt = cartpole_rk4(sol.x_traj[k], sol.u_traj[k], params, mpc.ocp.dt, 2)
        np.testing.assert_allclose(sol.x_traj[k + 1], nxt, atol=1e-8)
    # Soft rail: |x| <= rail - margin up to the slack.
    rail = mpc.ocp.soft_x_upper[0]
    assert np.all(sol.x_traj[1:, 0] <= rail + sol.slack_upper[:, 0] + 1e-8)
    assert np.all(sol.x_traj[1:, 0] >= -rail - sol.slack_lower[:, 0] - 1e-8)
    # It swings the pole up: the plan ends near upright (cos theta ~ 1).
    assert np.cos(sol.x_traj[-1, 1]) > 0.99


def test_best_of_starts_is_the_lowest_cost_converged_start(mpc) -> None:
    x = np.array([-0.3, 2.0, 1.0, -2.0])
    inits = [*mpc.ocp.initial_guesses(x, CARTPOLE_THETA.nominal_array), "still"]
    costs = [s.cost for s in (mpc.solve(x, init=i, raise_on_failure=False) for i in inits) if s.ok]
    best = mpc.solve_best(x, inits=inits)
    assert best.cost == pytest.approx(min(costs), abs=1e-9)


def test_warm_start_needs_fewer_iterations_than_cold(mpc) -> None:
    x = np.array([0.1, 0.4, 0.2, -0.5])
    cold = mpc.solve(x, init="coast")
    nearby = x + np.array([0.002, -0.01, 0.01, 0.02])
    warm = mpc.solve(nearby, init=cold)
    assert warm.ok and warm.sqp_iter < cold.sqp_iter
    assert warm.init.startswith("warm")


def test_theta_changes_the_plan_at_run_time(mpc) -> None:
    x = np.array([0.3, -0.2, 0.5, 1.0])  # balancing, input inside its bounds
    nominal = mpc.solve(x, init="coast")
    expensive_input = mpc.solve(x, {"cost_input": 0.05}, init=nominal)
    heavy_cart = mpc.solve(x, {"cart_mass": 0.9}, init=nominal)
    assert abs(expensive_input.u0[0]) < abs(nominal.u0[0]) - 0.1
    assert abs(heavy_cart.u0[0] - nominal.u0[0]) > 0.1


def test_failed_solve_is_counted_and_raised_never_returned_as_ok(mpc) -> None:
    n = mpc.steps
    broken = InitialGuess("broken", np.full((n + 1, 4), np.nan), np.zeros((n, 1)))
    failures, calls = mpc.stats.failures, mpc.stats.call_failures
    with pytest.raises(MPCSolveError, match=r"MPC solve failed at x0=\[0.0, 3.0, 0.0, 0.0\]"):
        mpc.solve([0.0, 3.0, 0.0, 0.0], init=broken)
    assert mpc.stats.failures == failures + 1 and mpc.stats.call_failures == calls + 1
    sol = mpc.solve([0.0, 3.0, 0.0, 0.0], init=broken, raise_on_failure=False)
    assert not sol.ok and mpc.stats.failures == failures + 2


def test_unknown_init_and_bad_state_raise(mpc) -> None:
    with pytest.raises(ValueError, match=r"unknown init 'sideways'"):
        mpc.solve(HANGING, init="sideways")
    with pytest.raises(ValueError, match=r"x must have 4 entries"):
        mpc.solve([0.0, 1.0])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_loop_swings_up_and_balances_on_mujoco(mpc, seed: int) -> None:
    env = CartpoleSwingUpEnv()
    obs, _ = env.reset(seed=seed)  # the env's start distribution, nominal physics
    mpc.reset()
    call_failures = mpc.stats.call_failures
    angles, positions = [], []
    for _ in range(300):  # 6 s
        u = mpc(obs)
        obs, _, terminated, truncated, info = env.step(np.asarray(u, dtype=np.float32))
        assert not info["crashed"]
        angles.append(obs[1])
        positions.append(obs[0])
        if terminated or truncated:
            break
    env.close()
    angles, positions = np.array(angles), np.array(positions)
    assert len(angles) == 300
    assert np.all(np.abs(positions) < RAIL_LIMIT)
    assert np.all(np.abs(angles[-100:]) < 0.05)  # upright for the last 2 s
    assert np.all(np.abs(positions[-50:]) < 0.1)  # near the centre
    assert mpc.stats.call_failures == call_failures  # every step had a converged solve
