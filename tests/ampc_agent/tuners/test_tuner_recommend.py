"""recommend(): the theta to deploy, chosen by each tuner's documented rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tuner_helpers import FAST, LOWER, UPPER, X0, drive

from ampc_agent.tuners import make_tuner
from ampc_agent.tuners.gibo import reference_lengthscale
from ampc_agent.tuners.models import fit_turbo_gp, fixed_gp, posterior_mean_std

NOISE = np.random.default_rng(0)


def test_random_search_and_cmaes_recommend_the_best_observed_theta():
    for name in ("random", "cmaes"):
        tuner = make_tuner(name, LOWER, UPPER, x0=X0, seed=1)
        drive(tuner, 8)
        assert tuner.recommendation_rule == "best observed"
        np.testing.assert_array_equal(tuner.recommend(), tuner.best()[0])


@pytest.mark.parametrize("name", ["turbo", "gibo"])
def test_model_based_tuners_recommend_the_evaluated_point_of_best_posterior_mean(name):
    tuner = make_tuner(name, [0.0, 0.0], [1.0, 1.0], x0=[0.5, 0.5], seed=0, **FAST[name])
    # Noisy returns of a smooth function: the best single return is a lucky draw.
    for _ in range(10):
        theta = tuner.ask()
        value = -float(np.sum((theta - 0.7) ** 2)) + 0.05 * NOISE.standard_normal()
        tuner.tell(theta, value)
    X, values, _ = tuner.history
    Xt, yt = torch.from_numpy(X), torch.from_numpy(values)
    if name == "turbo":
        model = fit_turbo_gp(Xt, yt)
    else:
        model = fixed_gp(Xt, yt, lengthscale=reference_lengthscale(2))
    mean, _ = posterior_mean_std(model, Xt)
    expected = X[int(torch.argmax(mean))]
    assert tuner.recommendation_rule == "best posterior mean"
    np.testing.assert_array_equal(tuner.recommend(), expected)
    np.testing.assert_array_equal(tuner.recommend(), expected)  # deterministic


def test_a_recommendation_is_never_a_crash_and_is_x0_while_everything_crashed(tuner_name):
    tuner = make_tuner(tuner_name, LOWER, UPPER, x0=X0, seed=2, **FAST[tuner_name])
    tuner.tell(tuner.ask(), float("nan"), crashed=True)
    np.testing.assert_array_equal(tuner.recommend(), X0)
    drive(tuner, 9)
    X, _, crashed = tuner.history
    rec = tuner.recommend()
    assert any(np.array_equal(rec, x) for x in X[~crashed])
    without_x0 = make_tuner(tuner_name, LOWER, UPPER, seed=2, **FAST[tuner_name])
    without_x0.tell(without_x0.ask(), float("nan"), crashed=True)
    with pytest.raises(RuntimeError, match=r"recommend\(\): nothing feasible told and no x0"):
        without_x0.recommend()
