"""Bad input raises ValueError naming the offending value; study mismatches are refused."""

from __future__ import annotations

import re

import numpy as np
import pytest
from tuner_helpers import LOWER, UPPER, X0, drive

from ampc_agent.tuners import make_tuner


def exact(message: str) -> str:
    return "^" + re.escape(message) + "$"


@pytest.mark.parametrize(
    ("lower", "upper", "message"),
    [
        (
            [0.0, 2.0],
            [1.0, 2.0],
            "lower must be strictly less than upper in every dimension; "
            "got lower[1]=2.0 >= upper[1]=2.0",
        ),
        ([0.0, 3.0], [1.0, 2.0], "got lower[1]=3.0 >= upper[1]=2.0"),
        ([0.0, -np.inf], [1.0, 2.0], "bounds must be finite; got lower[1]=-inf"),
        ([0.0, 0.0], [np.nan, 2.0], "bounds must be finite; got upper[0]=nan"),
        (
            [0.0, 0.0],
            [1.0, 1.0, 1.0],
            "lower and upper must be non-empty 1-D arrays of the same shape; "
            "got shapes (2,) and (3,)",
        ),
        ([[0.0, 0.0]], [[1.0, 1.0]], "got shapes (1, 2) and (1, 2)"),
        ([], [], "got shapes (0,) and (0,)"),
    ],
)
def test_bad_bounds_raise(tuner_name, lower, upper, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_tuner(tuner_name, lower, upper)


def test_x0_outside_bounds_raises(tuner_name):
    with pytest.raises(ValueError, match=exact("x0[2] = 5.5 is outside its bounds [2.0, 5.0]")):
        make_tuner(tuner_name, LOWER, UPPER, x0=[0.0, 1.0, 5.5])


def test_x0_of_wrong_shape_raises(tuner_name):
    with pytest.raises(ValueError, match=exact("x0 must have shape (3,), got shape (2,)")):
        make_tuner(tuner_name, LOWER, UPPER, x0=[0.0, 1.0])


@pytest.mark.parametrize(
    ("theta", "message"),
    [
        ([0.0, 1.0], "theta must have shape (3,), got shape (2,)"),
        ([[0.0, 1.0, 3.0]], "theta must have shape (3,), got shape (1, 3)"),
        ([0.0, np.nan, 3.0], "theta[1] must be finite, got nan"),
        ([0.0, 1.0, np.inf], "theta[2] must be finite, got inf"),
        ([-1.5, 1.0, 3.0], "theta[0] = -1.5 is outside its bounds [-1.0, 1.0]"),
        ([0.0, 3.0000001, 3.0], "theta[1] = 3.0000001 is outside its bounds [0.0, 3.0]"),
    ],
)
def test_bad_theta_in_tell_raises_and_is_not_recorded(tuner_name, theta, message):
    tuner = make_tuner(tuner_name, LOWER, UPPER)
    with pytest.raises(ValueError, match=exact(message)):
        tuner.tell(theta, 1.0)
    assert tuner.n_observations == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (float("nan"), "value must be finite for a non-crashed tell; got nan"),
        (float("inf"), "value must be finite for a non-crashed tell; got inf"),
        (None, "value must be a finite float for a non-crashed tell; got None"),
        ("good", "value must be a finite float for a non-crashed tell; got 'good'"),
    ],
)
def test_non_finite_value_of_a_non_crashed_tell_raises(tuner_name, value, message):
    tuner = make_tuner(tuner_name, LOWER, UPPER)
    with pytest.raises(ValueError, match=exact(message)):
        tuner.tell(X0, value)
    assert tuner.n_observations == 0


@pytest.mark.parametrize("value", [float("nan"), None, "boom", 1e300, -np.inf])
def test_any_value_is_accepted_for_a_crashed_tell(tuner_name, value):
    tuner = make_tuner(tuner_name, LOWER, UPPER)
    tuner.tell(X0, value, crashed=True)
    assert tuner.history[2].tolist() == [True]


def test_negative_seed_raises(tuner_name):
    with pytest.raises(ValueError, match=exact("seed must be a non-negative int; got -1")):
        make_tuner(tuner_name, LOWER, UPPER, seed=-1)


def test_unknown_option_raises_and_lists_valid_options():
    with pytest.raises(ValueError, match=r"unknown option\(s\) for GiboTuner: \['step'\]"):
        make_tuner("gibo", LOWER, UPPER, step=0.1)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("turbo", {"n_init": 0}, "option n_init must be an int >= 1; got 0"),
        ("turbo", {"crash_handling": "skip"}, "option crash_handling must be one of"),
        ("gibo", {"lengthscale": -0.1}, "option lengthscale must be a finite float > 0; got -0.1"),
        ("gibo", {"kernel": "linear"}, "option kernel must be one of ['rbf', 'matern52']"),
        ("cmaes", {"sigma0": 0.0}, "option sigma0 must be a finite float > 0; got 0.0"),
    ],
)
def test_bad_option_values_raise(name, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_tuner(name, LOWER, UPPER, **options)


def test_study_of_another_tuner_type_is_refused(tmp_path):
    drive(make_tuner("random", LOWER, UPPER, study_dir=tmp_path), 2)
    with pytest.raises(ValueError, match=r"was made by tuner 'random', not 'gibo'"):
        make_tuner("gibo", LOWER, UPPER, study_dir=tmp_path)


def test_study_with_other_bounds_is_refused(tmp_path):
    drive(make_tuner("gibo", LOWER, UPPER, study_dir=tmp_path), 2)
    upper = UPPER.copy()
    upper[2] = 6.0
    with pytest.raises(ValueError, match=r"has upper=\[1.0, 3.0, 5.0\], but the tuner was given "):
        make_tuner("gibo", LOWER, upper, study_dir=tmp_path)


def test_study_with_other_dimension_is_refused(tmp_path):
    drive(make_tuner("turbo", LOWER, UPPER, study_dir=tmp_path), 2)
    with pytest.raises(ValueError, match=r"has dimension 3, but the bounds have dimension 2"):
        make_tuner("turbo", LOWER[:2], UPPER[:2], study_dir=tmp_path)


def test_study_with_other_seed_is_refused(tmp_path):
    drive(make_tuner("cmaes", LOWER, UPPER, seed=1, study_dir=tmp_path), 2)
    with pytest.raises(ValueError, match=r"has seed=1, but the tuner was given seed=2"):
        make_tuner("cmaes", LOWER, UPPER, seed=2, study_dir=tmp_path)


def test_study_with_other_options_is_refused(tmp_path):
    drive(make_tuner("gibo", LOWER, UPPER, study_dir=tmp_path), 2)
    with pytest.raises(ValueError, match=r"has options=.*'noise': 0.01.*'noise': 0.1"):
        make_tuner("gibo", LOWER, UPPER, noise=0.1, study_dir=tmp_path)
