"""The wheelbot's reflections: the model under the LQR and the MPC are equivariant under
them; training mirrors its samples by the first only (``SystemSpec.symmetries``),
because at rest with a yaw error the MPC's two optimal turns break the others."""

from __future__ import annotations

import math

import casadi as cs
import numpy as np
import pytest

from ampc_agent.systems import get_system
from ampc_agent.systems.wheelbot.model import REFLECTIONS
from ampc_agent.systems.wheelbot.ocp import wheelbot_ocp

SYSTEM = get_system("wheelbot")
PATTERNS = [(np.array(s), np.array(r)) for s, r in REFLECTIONS]


def test_training_mirrors_by_the_plane_reflection_only() -> None:
    assert SYSTEM.symmetries == REFLECTIONS[:1]
    s, r = PATTERNS[0]
    # Yaw, roll and the reaction wheel change sign; pitch and the driving wheel do not.
    np.testing.assert_array_equal(s, [-1, -1, 1, -1, -1, 1, 1, -1, 1, -1])
    np.testing.assert_array_equal(r, [1, -1])


def test_the_wheelbot_has_three_reflections_forming_a_group() -> None:
    assert len(PATTERNS) == 3
    for s, r in PATTERNS:
        assert s.shape == (10,) and r.shape == (2,)
        assert set(np.unique(s)) <= {-1.0, 1.0} and set(np.unique(r)) <= {-1.0, 1.0}
    # Each is the product of the other two (a Klein four-group with the identity).
    (s1, r1), (s2, r2), (s3, r3) = PATTERNS
    np.testing.assert_array_equal(s1 * s2, s3)
    np.testing.assert_array_equal(r1 * r2, r3)


@pytest.mark.parametrize("k", range(3))
def test_model_under_the_lqr_is_equivariant(k: int) -> None:
    """f(S x, R v, theta) = S f(x, v, theta) at random states, inputs and parameters."""
    ocp = wheelbot_ocp()
    f = cs.Function("f", [ocp.x, ocp.u, ocp.theta], [ocp.f_expl])
    s, r = PATTERNS[k]
    rng = np.random.default_rng(k)
    lo, hi = SYSTEM.theta.lower_array, SYSTEM.theta.upper_array
    for _ in range(20):
        x = rng.normal(0.0, [1.0, 0.2, 0.2, 3.0, 1.0, 1.0, 2.0, 2.0, 20.0, 50.0])
        v = rng.uniform(-0.1, 0.1, 2)
        theta = rng.uniform(lo, hi)
        expected = s * f(x, v, theta).full().ravel()
        got = f(s * x, r * v, theta).full().ravel()
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # A sign pattern that is not a symmetry fails the same check (the test can fail).
    wrong = np.ones(10)
    wrong[1] = -1.0
    x, v = rng.normal(0.0, 0.2, 10), np.array([0.05, -0.03])
    theta = SYSTEM.theta.nominal_array
    got = f(wrong * x, v, theta).full().ravel()
    assert not np.allclose(got, wrong * f(x, v, theta).full().ravel(), atol=1e-6)


def test_mpc_residual_is_equivariant() -> None:
    """v*(S x) = R v*(x) for the best-of-several-starts MPC solution mid-turn, where the
    optimum is unique (acados solves each state from its own guesses)."""
    mpc = SYSTEM.make_mpc()
    theta = SYSTEM.theta.nominal_array
    x = np.array([0.8, 0.03, -0.05, -2.0, 0.1, 0.3, 0.5, -1.0, 4.0, -30.0])
    best = mpc.solve_best(x, theta)
    assert np.max(np.abs(best.u0)) > 1e-3  # the residual is not trivially zero
    for s, r in PATTERNS:
        image = mpc.solve_best(s * x, theta)
        np.testing.assert_allclose(image.u0, r * best.u0, atol=2e-4)
        assert image.cost == pytest.approx(best.cost, rel=1e-6)


def test_turn_from_rest_has_two_optimal_directions() -> None:
    """At rest with a yaw error the third pattern maps the state onto itself, so the MPC
    has two optimal turns there (v and R v, driving forward or backward): its action
    jumps across the rest state. A pitch of +-1 mrad picks one turn or the other. The
    best-of-starts labels pick one consistently: at the opposite error they are the
    first pattern's image (which training mirrors by), not the second's."""
    mpc = SYSTEM.make_mpc()
    theta = SYSTEM.theta.nominal_array
    x = np.r_[math.pi / 2, np.zeros(9)]
    s, r = PATTERNS[2]
    np.testing.assert_array_equal(s * x, x)
    tilted = x.copy()
    tilted[2] = 1e-3
    plus, minus = mpc.solve_best(tilted, theta), mpc.solve_best(s * tilted, theta)
    np.testing.assert_allclose(minus.u0, r * plus.u0, atol=2e-4)
    assert minus.cost == pytest.approx(plus.cost, rel=1e-6)
    assert np.max(np.abs(plus.u0 - minus.u0)) > 0.1  # 2 mrad apart, the turns differ
    at_rest = mpc.solve_best(x, theta).u0
    opposite = mpc.solve_best(PATTERNS[0][0] * x, theta).u0
    np.testing.assert_allclose(opposite, PATTERNS[0][1] * at_rest, atol=2e-4)
    assert np.max(np.abs(opposite - PATTERNS[1][1] * at_rest)) > 0.1
