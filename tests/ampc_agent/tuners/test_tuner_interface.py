"""The ask/tell contract, for every tuner: shapes, bounds, x0 first, determinism, resume."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from tuner_helpers import FAST, LOWER, UPPER, X0, drive, objective

from ampc_agent.tuners import TUNERS, Tuner, make_tuner
from ampc_agent.tuners.study import STATE_FILE

N_TELLS = 12  # covers TuRBO's BO phase (n_init 3), two GIBO steps, two CMA generations


def new(name: str, **kw) -> Tuner:
    kw.setdefault("x0", X0)
    return make_tuner(name, LOWER, UPPER, **{**FAST[name], **kw})


def test_first_ask_is_x0(tuner_name):
    tuner = new(tuner_name, seed=3)
    np.testing.assert_array_equal(tuner.ask(), X0)


def test_asks_are_inside_bounds_with_shape_d(tuner_name):
    tuner = new(tuner_name)
    for theta in drive(tuner, N_TELLS):
        assert theta.shape == (3,)
        assert np.all(theta >= LOWER) and np.all(theta <= UPPER)


def test_same_seed_same_asks_bit_for_bit(tuner_name):
    a = drive(new(tuner_name, seed=7), N_TELLS)
    b = drive(new(tuner_name, seed=7), N_TELLS)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_different_seeds_give_different_asks(tuner_name):
    a = np.array(drive(new(tuner_name, seed=0), N_TELLS))
    b = np.array(drive(new(tuner_name, seed=1), N_TELLS))
    np.testing.assert_array_equal(a[0], b[0])  # x0 does not depend on the seed
    assert not np.array_equal(a, b)


def test_ask_is_idempotent_without_tell(tuner_name):
    tuner = new(tuner_name, seed=2)
    for _ in range(N_TELLS):
        first = tuner.ask()
        np.testing.assert_array_equal(tuner.ask(), first)
        value, crashed = objective(first)
        tuner.tell(first, value, crashed=crashed)


def test_resumed_study_asks_exactly_like_an_uninterrupted_one(tuner_name, tmp_path):
    reference = drive(new(tuner_name, seed=5), N_TELLS + 4)

    first = new(tuner_name, seed=5, study_dir=tmp_path)
    asks = drive(first, N_TELLS)
    pending = first.ask()  # asked, then the session ends before the tell
    del first
    resumed = new(tuner_name, seed=5, study_dir=tmp_path)
    assert resumed.n_observations == N_TELLS
    np.testing.assert_array_equal(resumed.ask(), pending)
    asks += drive(resumed, 4)
    for x, y in zip(asks, reference, strict=True):
        np.testing.assert_array_equal(x, y)


def test_study_folder_holds_bounds_seed_options_history_as_json(tuner_name, tmp_path):
    tuner = new(tuner_name, seed=4, study_dir=tmp_path)
    drive(tuner, 5)
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state["tuner"] == tuner_name
    assert state["lower"] == LOWER.tolist() and state["upper"] == UPPER.tolist()
    assert state["seed"] == 4
    assert state["options"] == tuner.options
    assert len(state["history"]["X"]) == 5
    assert list(tmp_path.iterdir()) == [tmp_path / STATE_FILE]  # no temp files left


def test_history_returns_told_data(tuner_name):
    tuner = new(tuner_name)
    tuner.tell(X0, 1.5)
    tuner.tell(UPPER, float("nan"), crashed=True)
    X, values, crashed = tuner.history
    np.testing.assert_array_equal(X, np.stack([X0, UPPER]))
    assert values[0] == 1.5 and math.isnan(values[1])
    np.testing.assert_array_equal(crashed, [False, True])


def test_best_never_returns_a_crashed_theta(tuner_name):
    tuner = new(tuner_name)
    tuner.tell(X0, -3.0)
    tuner.tell(UPPER, 1e9, crashed=True)  # a huge "return" of a crash is ignored
    tuner.tell(LOWER, -5.0)
    theta, value = tuner.best()
    np.testing.assert_array_equal(theta, X0)
    assert value == -3.0


def test_best_raises_when_nothing_is_feasible(tuner_name):
    tuner = new(tuner_name)
    with pytest.raises(RuntimeError, match=r"no feasible \(non-crashed\) observation yet"):
        tuner.best()
    tuner.tell(X0, float("nan"), crashed=True)
    with pytest.raises(RuntimeError, match=r"\(1 told, all crashed\)"):
        tuner.best()


def test_tuner_keeps_asking_after_only_crashes(tuner_name):
    tuner = new(tuner_name)
    for _ in range(6):
        theta = tuner.ask()
        tuner.tell(theta, float("nan"), crashed=True)
    theta = tuner.ask()
    assert np.all(np.isfinite(theta)) and np.all(theta >= LOWER) and np.all(theta <= UPPER)


def test_internals_are_float_scalars(tuner_name):
    tuner = new(tuner_name)
    drive(tuner, N_TELLS)
    info = tuner.internals()
    assert info["n_observations"] == N_TELLS
    assert all(isinstance(v, float) and math.isfinite(v) for v in info.values())


def test_make_tuner_lists_valid_names_for_an_unknown_name():
    with pytest.raises(
        ValueError,
        match=r"unknown tuner 'bayes'; valid names are \['cmaes', 'gibo', 'random', 'turbo'\]",
    ):
        make_tuner("bayes", LOWER, UPPER)


def test_make_tuner_knows_the_four_tuners():
    assert sorted(TUNERS) == ["cmaes", "gibo", "random", "turbo"]
    for name, cls in TUNERS.items():
        assert type(make_tuner(name, LOWER, UPPER)) is cls


def test_random_search_is_uniform_in_the_bounds():
    tuner = make_tuner("random", LOWER, UPPER, seed=0)
    X = np.array(drive(tuner, 300))
    unit = (X - LOWER) / (UPPER - LOWER)
    np.testing.assert_allclose(unit.mean(axis=0), 0.5, atol=0.06)
    assert unit.min() < 0.02 and unit.max() > 0.98


def test_cmaes_starts_at_x0_with_step_size_sigma0():
    tuner = make_tuner("cmaes", [0.0] * 4, [10.0] * 4, seed=0, x0=[3.0] * 4, sigma0=0.1)
    first = tuner.ask()
    tuner.tell(first, 0.0)
    samples = []
    for _ in range(int(tuner.internals()["cma_popsize"]) - 1):
        theta = tuner.ask()
        samples.append(theta)
        tuner.tell(theta, 0.0)
    samples = np.array(samples) / 10.0  # unit cube
    np.testing.assert_allclose(samples.mean(axis=0), 0.3, atol=0.1)
    assert 0.05 < samples.std() < 0.2
