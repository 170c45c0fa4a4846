"""GIBO: schedule, batch-then-step cycle, virtual data points, reset after a failed step."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ampc_agent.tuners import GiboTuner
from ampc_agent.tuners.crashes import virtual_value
from ampc_agent.tuners.gibo import cosine_step_size, normalized_step, reference_lengthscale
from ampc_agent.tuners.models import fixed_gp, posterior_mean_std

FAST = {"num_restarts": 2, "raw_samples": 32}
OPTIMUM = np.array([0.8, 0.3])


def quadratic(theta: np.ndarray) -> float:
    return float(-np.sum((np.asarray(theta) - OPTIMUM) ** 2))


def test_step_size_decays_from_0_25_to_0_125_along_a_cosine():
    assert cosine_step_size(0, 0.25, 0.125, 10) == 0.25
    assert cosine_step_size(5, 0.25, 0.125, 10) == pytest.approx(0.1875)
    assert cosine_step_size(10, 0.25, 0.125, 10) == pytest.approx(0.125)
    assert cosine_step_size(50, 0.25, 0.125, 10) == pytest.approx(0.125)
    sizes = [cosine_step_size(t, 0.25, 0.125, 10) for t in range(11)]
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False))


def test_normalized_step_has_length_eta_times_lengthscale():
    g = np.array([3.0, -4.0])
    step = normalized_step(g, np.array([0.25, 0.25]), 0.25)
    np.testing.assert_allclose(step, 0.0625 * g / 5.0)
    np.testing.assert_array_equal(normalized_step(np.zeros(2), np.ones(2), 0.25), [0.0, 0.0])


def test_defaults_are_the_chosen_ones():
    tuner = GiboTuner([0.0] * 4, [1.0] * 4)
    o = tuner.options
    assert o["batch_size"] == 5  # d + 1
    # The reference's lengthscale, growing with the dimension: 0.2 at d = 2.
    assert (
        o["lengthscale"]
        == pytest.approx(reference_lengthscale(4))
        == pytest.approx(0.2917, abs=1e-4)
    )
    assert reference_lengthscale(2) == pytest.approx(0.2)
    assert reference_lengthscale(10) == pytest.approx(0.4689, abs=1e-4)
    assert (o["outputscale"], o["kernel"]) == (0.5, "rbf")
    assert (o["step_size_start"], o["step_size_end"], o["beta"]) == (0.25, 0.125, 3.0)
    np.testing.assert_array_equal(tuner.ask(), [0.5] * 4)  # no x0: the centre


def test_cycle_is_iterate_then_d_plus_1_local_queries_then_a_normalised_step():
    tuner = GiboTuner(  # unit iterate 0.3
        [0.0, 0.0], [2.0, 2.0], x0=[0.6, 0.6], lengthscale=0.25, **FAST
    )
    first = tuner.ask()
    np.testing.assert_array_equal(first, [0.6, 0.6])
    tuner.tell(first, quadratic(first / 2.0))
    for _ in range(3):
        np.testing.assert_array_equal(tuner.iterate, [0.6, 0.6])
        q = tuner.ask()
        assert np.max(np.abs(q / 2.0 - 0.3)) <= 0.2 + 1e-12  # query_radius in the unit cube
        tuner.tell(q, quadratic(q / 2.0))
    new = tuner.iterate
    step_unit = (new - [0.6, 0.6]) / 2.0
    assert np.linalg.norm(step_unit) == pytest.approx(0.25 * 0.25)
    to_optimum = OPTIMUM - 0.3
    assert np.dot(step_unit, to_optimum) / (np.linalg.norm(step_unit) * 0.5) > 0.9
    np.testing.assert_array_equal(tuner.ask(), new)  # the step is evaluated next
    info = tuner.internals()
    assert info["gibo_steps"] == 1.0 and info["gibo_last_step_size"] == 0.25
    assert info["gp_lengthscale_0"] == pytest.approx(0.25) and info["gibo_gradient_norm"] > 0.0


def test_iterate_climbs_a_quadratic():
    tuner = GiboTuner([0.0, 0.0], [1.0, 1.0], x0=[0.2, 0.8], **FAST)
    for _ in range(4 * 4 + 1):
        theta = tuner.ask()
        tuner.tell(theta, quadratic(theta))
    assert tuner.internals()["gibo_steps"] == 4.0
    start = np.linalg.norm(np.array([0.2, 0.8]) - OPTIMUM)
    assert np.linalg.norm(tuner.iterate - OPTIMUM) < start - 3 * 0.0625 * 0.8


def test_crashed_query_gets_the_virtual_value_of_the_gp_before_it():
    tuner = GiboTuner([0.0, 0.0], [1.0, 1.0], x0=[0.5, 0.5], lengthscale=0.25, **FAST)
    data = [([0.5, 0.5], 1.0), ([0.6, 0.5], 1.5), ([0.5, 0.65], 0.8)]
    for x, v in data:
        tuner.tell(x, v)
    crash = np.array([0.62, 0.6])
    tuner.tell(crash, float("nan"), crashed=True)
    X = torch.tensor([x for x, _ in data], dtype=torch.float64)
    y = torch.tensor([v for _, v in data], dtype=torch.float64)
    model = fixed_gp(X, y)
    mean, std = posterior_mean_std(model, torch.from_numpy(np.stack([crash, [0.5, 0.5]])))
    expected = min(float(mean[0]), float(mean[1])) - 3.0 * float(std[0])
    assert tuner.state_dict()["state"]["virtual"][3] == pytest.approx(expected, rel=1e-12)
    assert expected == virtual_value(float(mean[0]), float(std[0]), float(mean[1]))
    assert expected < min(float(mean[0]), float(mean[1]))  # pessimistic w.r.t. the model


def test_failed_update_step_resets_to_the_evaluated_point_with_best_posterior_mean():
    tuner = GiboTuner([0.0, 0.0], [1.0, 1.0], x0=[0.3, 0.3], **FAST)
    for _ in range(4):  # x0 and the batch of d + 1 = 3
        theta = tuner.ask()
        tuner.tell(theta, quadratic(theta))
    step = tuner.ask()
    assert not np.array_equal(step, [0.3, 0.3])
    tuner.tell(step, float("nan"), crashed=True)

    X, values, crashed = tuner.history
    virtual = tuner.state_dict()["state"]["virtual"]
    y = np.where(crashed, [v if v is not None else math.nan for v in virtual], values)
    model = fixed_gp(torch.from_numpy(X), torch.from_numpy(y), lengthscale=reference_lengthscale(2))
    mean, _ = posterior_mean_std(model, torch.from_numpy(X[~crashed]))
    expected = X[~crashed][int(torch.argmax(mean))]
    np.testing.assert_array_equal(tuner.iterate, expected)
    assert tuner.internals()["gibo_resets"] == 1.0
    # and exploration continues around the reset iterate
    q = tuner.ask()
    assert np.max(np.abs(q - expected)) <= 0.2 + 1e-12


def test_crash_of_x0_without_anything_feasible_keeps_exploring_around_it():
    tuner = GiboTuner([0.0, 0.0], [1.0, 1.0], x0=[0.5, 0.5], **FAST)
    tuner.tell([0.5, 0.5], float("nan"), crashed=True)
    q = tuner.ask()
    assert np.max(np.abs(q - 0.5)) <= 0.2 and not np.array_equal(q, [0.5, 0.5])
    assert tuner.state_dict()["state"]["virtual"] == [None]  # nothing to model it with yet
    tuner.tell(q, 1.0)
    assert tuner.state_dict()["state"]["virtual"][0] < 1.0  # assigned once data exists


def test_refit_and_matern_variants_run():
    for options in ({"refit_hyperparameters": True}, {"kernel": "matern52"}):
        tuner = GiboTuner([0.0, 0.0], [1.0, 1.0], x0=[0.2, 0.8], **FAST, **options)
        for _ in range(5):
            theta = tuner.ask()
            tuner.tell(theta, quadratic(theta))
        assert tuner.internals()["gibo_steps"] == 1.0


def test_from_a_crashing_start_gibo_never_reruns_a_crash_and_reaches_the_feasible_region():
    # A hidden crash region: the disc of radius 0.35 around x0 (x0 crashes).
    center = np.array([0.5, 0.5])

    def episode(theta):
        if np.linalg.norm(theta - center) < 0.35:
            return float("nan"), True
        return quadratic(theta), False

    tuner = GiboTuner([0.0, 0.0], [1.0, 1.0], x0=center, seed=3, **FAST)
    crashed_thetas, first_feasible = [], None
    for episode_index in range(30):
        theta = tuner.ask()
        assert not any(np.array_equal(theta, c) for c in crashed_thetas), episode_index
        value, crashed = episode(theta)
        tuner.tell(theta, value, crashed=crashed)
        if crashed:
            crashed_thetas.append(theta)
        elif first_feasible is None:
            first_feasible = episode_index
    assert first_feasible is not None and first_feasible <= 12
    # Then the gradient phase climbs from the first feasible point.
    assert tuner.internals()["gibo_steps"] >= 3
    _, best = tuner.best()
    X, values, crashed = tuner.history
    assert best > values[first_feasible]


def test_while_everything_crashed_the_queries_widen_around_x0():
    tuner = GiboTuner([0.0] * 3, [1.0] * 3, x0=[0.5] * 3, seed=0, **FAST)
    spread = []
    for _ in range(12):
        theta = tuner.ask()
        spread.append(np.max(np.abs(theta - 0.5)))
        tuner.tell(theta, float("nan"), crashed=True)
    for k, half in enumerate(spread[1:], start=1):
        assert half <= min(0.5, 0.2 * 2 ** (k / 4)) + 1e-12
    assert max(spread[:4]) < 0.35 < max(spread[8:])  # the box doubles every 4 crashes
