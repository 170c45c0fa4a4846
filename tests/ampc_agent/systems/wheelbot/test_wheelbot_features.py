"""What the wheelbot's networks see: not the reaction-wheel angle q_R, which the MPC's
action does not depend on, and the driving-wheel angle q_W held to the data's range,
which it does feed back (``SystemSpec.ignored_states``, ``clipped_states``)."""

from __future__ import annotations

import numpy as np
import pytest

from ampc_agent.systems import get_system

SYSTEM = get_system("wheelbot")
Q_W, Q_R = SYSTEM.state_names.index("q_W"), SYSTEM.state_names.index("q_R")


def test_registry_ignores_q_r_and_clips_q_w() -> None:
    assert SYSTEM.ignored_states == (Q_R,)
    assert SYSTEM.clipped_states == (Q_W,)


@pytest.fixture(scope="module")
def mpc():
    return SYSTEM.make_mpc()


MID_TURN = [0.8, 0.03, -0.05, -2.0, 0.1, 0.3, 0.5, -1.0, 4.0, -30.0]  # saturated residual
NEAR_REST = [0.02, 0.01, 0.02, 0.1, -0.05, 0.1, -0.3, 5.0, 8.0, 40.0]  # both wheels spinning


@pytest.mark.parametrize("x", [MID_TURN, NEAR_REST])
def test_mpc_residual_does_not_move_with_q_r(mpc, x) -> None:
    """Shifting q_R by 20 rad (about the dataset's spread) changes the best-of-starts
    residual by less than 1e-3 N m (measured: 1.3e-4 rms over 25 dataset states)."""
    theta = SYSTEM.theta.nominal_array
    x = np.array(x)
    shifted = x.copy()
    shifted[Q_R] += 20.0
    base = mpc.solve_best(x, theta).u0
    assert np.max(np.abs(mpc.solve_best(shifted, theta).u0 - base)) < 1e-3


def test_mpc_residual_moves_with_q_w(mpc) -> None:
    """Near rest, shifting q_W by 5 rad moves the residual by more than 2e-3 N m: the MPC
    drives the robot back to where it started, so q_W cannot be left out."""
    theta = SYSTEM.theta.nominal_array
    x = np.array(NEAR_REST)
    shifted = x.copy()
    shifted[Q_W] += 5.0
    base = mpc.solve_best(x, theta).u0
    assert np.max(np.abs(mpc.solve_best(shifted, theta).u0 - base)) > 2e-3
