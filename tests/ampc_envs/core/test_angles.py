"""One angle convention everywhere: (-pi, pi], on floats and arrays alike."""

from __future__ import annotations

import math

import numpy as np

from ampc_envs.core.angles import wrap_angle


def test_pi_and_minus_pi_both_wrap_to_pi() -> None:
    assert wrap_angle(math.pi) == math.pi and wrap_angle(-math.pi) == math.pi
    np.testing.assert_array_equal(wrap_angle(np.array([math.pi, -math.pi])), [math.pi, math.pi])


def test_wrapped_angles_lie_in_the_half_open_interval_and_differ_by_whole_turns() -> None:
    angles = np.random.default_rng(0).uniform(-50.0, 50.0, 1000)
    wrapped = wrap_angle(angles)
    assert np.all(wrapped > -math.pi) and np.all(wrapped <= math.pi)
    turns = (angles - wrapped) / (2 * math.pi)
    np.testing.assert_allclose(turns, np.round(turns), atol=1e-9)


def test_float_path_equals_array_path() -> None:
    angles = np.random.default_rng(1).uniform(-20.0, 20.0, 200)
    assert [wrap_angle(float(a)) for a in angles] == wrap_angle(angles).tolist()
