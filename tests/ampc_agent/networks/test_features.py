"""StateFeatures: angles as sin/cos, ignored states left out, limited states clipped."""

from __future__ import annotations

import numpy as np
import pytest

from ampc_agent.networks import StateFeatures


def test_layout_of_fed_clipped_and_angle_states() -> None:
    f = StateFeatures(nx=5, angle_indices=(1,), ignored_indices=(3,), limits=((4, -2.0, 2.0),))
    x = np.array([[0.5, np.pi / 2, 1.5, 99.0, -7.0], [0.1, 0.0, -1.0, -5.0, 1.0]])
    assert f.n_features == 5
    np.testing.assert_allclose(
        f(x), [[0.5, 1.5, -2.0, 1.0, np.cos(np.pi / 2)], [0.1, -1.0, 1.0, 0.0, 1.0]]
    )
    # An ignored state never changes the features; a limited one beyond its limit
    # gives the features at the limit.
    y = x.copy()
    y[:, 3] = [-1e6, 1e6]
    np.testing.assert_array_equal(f(y), f(x))
    z = x[0].copy()
    z[4] = -2.0
    np.testing.assert_array_equal(f(x[0]), f(z))


def test_metadata_round_trip_and_weights_without_the_new_fields() -> None:
    f = StateFeatures(nx=4, angle_indices=(0,), ignored_indices=(2,), limits=((3, -1.0, 3.0),))
    assert StateFeatures.from_metadata(f.to_metadata()) == f
    old = {"nx": 4, "angle_indices": [1], "layout": "non-angle states, then sin, then cos"}
    assert StateFeatures.from_metadata(old) == StateFeatures(nx=4, angle_indices=(1,))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"ignored_indices": (4,)},
            r"ignored_indices must be distinct indices in \[0, 4\), got \[4\]",
        ),
        ({"angle_indices": (1,), "ignored_indices": (1,)}, r"states \[1\] are both angle"),
        ({"ignored_indices": (2,), "limits": ((2, 0.0, 1.0),)}, r"limits name state 2, which is"),
        ({"limits": ((0, 1.0, 1.0),)}, r"limits of state 0 must have lower < upper, got 1.0, 1.0"),
    ],
)
def test_bad_feature_maps_are_refused_by_name(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StateFeatures(nx=4, **kwargs)
