"""TuRBO: the trust-region state machine on values, the TR box, restarts, crashes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from ampc_agent.tuners import TurboTuner
from ampc_agent.tuners.trust_region import (
    TrustRegionState,
    default_failure_tolerance,
    is_improvement,
    perturbation_candidates,
    trust_region_bounds,
    update_trust_region,
)


def test_defaults_are_the_published_ones():
    state = TrustRegionState(dim=6)
    assert state.length == 0.8 and state.length_min == 0.5**7 and state.length_max == 1.6
    assert state.success_tolerance == 3
    assert state.failure_tolerance == 6  # ceil(max(4, d)) for batch size 1
    assert TrustRegionState(dim=2).failure_tolerance == 4
    assert default_failure_tolerance(11) == 11


def test_length_halves_after_failure_tolerance_consecutive_failures():
    state = TrustRegionState(dim=5, best_value=10.0)
    for i in range(4):
        state = update_trust_region(state, 9.0)
        assert state.length == 0.8 and state.failure_counter == i + 1
    state = update_trust_region(state, None)  # a crash is a failure too
    assert state.length == 0.4
    assert state.failure_counter == 0
    assert state.best_value == 10.0


def test_length_doubles_after_success_tolerance_consecutive_successes_up_to_max():
    state = TrustRegionState(dim=2, best_value=1.0)
    for value in (2.0, 3.0):
        state = update_trust_region(state, value)
        assert state.length == 0.8
    state = update_trust_region(state, 4.0)
    assert state.length == 1.6 and state.success_counter == 0 and state.best_value == 4.0
    for value in (5.0, 6.0, 7.0):
        state = update_trust_region(state, value)
    assert state.length == 1.6  # capped at length_max


def test_a_failure_resets_the_success_streak_and_vice_versa():
    state = TrustRegionState(dim=2, best_value=1.0)
    state = update_trust_region(state, 2.0)
    state = update_trust_region(state, 2.0)  # not better than 2.0: failure
    assert state.success_counter == 0 and state.failure_counter == 1
    state = update_trust_region(state, 3.0)
    assert state.success_counter == 1 and state.failure_counter == 0


def test_success_needs_a_relative_improvement_of_1e_minus_3():
    assert not is_improvement(100.05, 100.0)
    assert is_improvement(100.2, 100.0)
    assert is_improvement(-99.0, -100.0)
    assert is_improvement(-5.0, -math.inf)


def test_collapse_below_length_min_triggers_restart():
    state = TrustRegionState(dim=2, length=0.5**6, best_value=0.0)
    assert not state.restart_triggered
    for _ in range(4):
        state = update_trust_region(state, -1.0)
    assert state.length == 0.5**7 and not state.restart_triggered
    for _ in range(4):
        state = update_trust_region(state, -1.0)
    assert state.restart_triggered


def test_trust_region_box_is_centered_scaled_by_lengthscales_and_clipped():
    center = torch.tensor([0.5, 0.5, 0.95], dtype=torch.float64)
    ls = torch.tensor([0.1, 0.4, 0.2], dtype=torch.float64)
    lower, upper = trust_region_bounds(center, ls, 0.4)
    side = upper - lower
    # Unclipped sides keep the ratios of the lengthscales and volume length**d.
    assert side[1] / side[0] == pytest.approx(4.0)
    w = ls / torch.prod(ls) ** (1 / 3)
    torch.testing.assert_close(side[:2], 0.4 * w[:2])
    assert upper[2] == 1.0 and lower[2] == pytest.approx(0.95 - 0.2 * w[2])


def test_perturbation_candidates_stay_in_the_box_and_copy_the_center_elsewhere():
    d = 40  # perturbation probability 20 / d = 0.5
    center = torch.full((d,), 0.5, dtype=torch.float64)
    lower, upper = center - 0.1, center + 0.1
    cand = perturbation_candidates(center, lower, upper, 500, seed=3)
    assert cand.shape == (500, d)
    assert torch.all(cand >= lower) and torch.all(cand <= upper)
    changed = cand != center
    assert torch.all(changed.any(-1))
    assert changed.double().mean() == pytest.approx(0.5, abs=0.03)
    torch.testing.assert_close(cand, perturbation_candidates(center, lower, upper, 500, seed=3))


def test_tuner_state_machine_follows_its_tells_and_restarts_with_a_new_design():
    tuner = TurboTuner(
        [0.0, 0.0], [1.0, 1.0], x0=[0.5, 0.5], n_init=2, failure_tolerance=1, length_min=0.3
    )
    tuner.tell([0.5, 0.5], 1.0)
    assert tuner.internals()["design_phase"] == 1.0
    tuner.tell([0.1, 0.1], 0.0)
    assert tuner.internals()["design_phase"] == 0.0
    assert tuner.trust_region.best_value == 1.0
    tuner.tell([0.2, 0.2], 0.5)  # failure: 0.8 -> 0.4
    assert tuner.trust_region.length == 0.4
    tuner.tell([0.3, 0.3], 0.5)  # failure: 0.4 -> 0.2 < length_min: restart
    info = tuner.internals()
    assert info["tr_restarts"] == 1.0 and info["tr_length"] == 0.8
    assert info["design_phase"] == 1.0
    restart_design = tuner.ask()
    assert not np.array_equal(restart_design, [0.5, 0.5])
    assert tuner.best() == (pytest.approx(np.array([0.5, 0.5])), 1.0)


def test_crashes_get_pessimistic_virtual_values_below_the_model():
    tuner = TurboTuner([0.0, 0.0], [1.0, 1.0], n_init=4)
    for x, v in (([0.2, 0.2], 1.0), ([0.4, 0.3], 2.0), ([0.6, 0.4], 3.0)):
        tuner.tell(x, v)
    tuner.tell([0.9, 0.9], float("nan"), crashed=True)
    virtual = tuner.state_dict()["state"]["virtual"]
    assert virtual[:3] == [None, None, None]
    assert virtual[3] < 1.0  # below min(mu(x_c), mu(x_*)) by 3 sigma


def test_worst_value_crash_handling_uses_the_worst_feasible_return():
    tuner = TurboTuner([0.0, 0.0], [1.0, 1.0], n_init=4, crash_handling="worst")
    tuner.tell([0.1, 0.1], float("nan"), crashed=True)  # nothing feasible yet: deferred
    assert tuner.state_dict()["state"]["virtual"] == [None]
    tuner.tell([0.2, 0.2], 1.0)
    tuner.tell([0.4, 0.3], -2.0)
    tuner.tell([0.9, 0.9], float("nan"), crashed=True)
    assert tuner.state_dict()["state"]["virtual"] == [1.0, None, None, -2.0]


def test_trust_region_state_round_trips_through_the_study(tmp_path):
    tuner = TurboTuner([0.0, 0.0], [1.0, 1.0], n_init=2, failure_tolerance=2, study_dir=tmp_path)
    for x, v in (([0.5, 0.5], 1.0), ([0.1, 0.1], 0.0), ([0.2, 0.2], 0.5), ([0.3, 0.3], 0.5)):
        tuner.tell(x, v)
    resumed = TurboTuner([0.0, 0.0], [1.0, 1.0], n_init=2, failure_tolerance=2, study_dir=tmp_path)
    assert dataclasses.asdict(resumed.trust_region) == dataclasses.asdict(tuner.trust_region)
    assert resumed.trust_region.length == 0.4


def test_turbo_gp_fit_takes_the_reference_steps_of_gpytorch_marginal_likelihood():
    from ampc_agent.tuners.models import fit_turbo_gp
    from benchmarks.tuner_overhead import autograd_fit

    gen = torch.Generator().manual_seed(0)
    X = torch.rand(30, 3, generator=gen, dtype=torch.float64)
    y = torch.sin(5.0 * X).sum(-1) + 0.1 * torch.randn(30, generator=gen, dtype=torch.float64)
    ours = fit_turbo_gp(X, y)
    # The same 50 Adam steps by autograd through gpytorch's ExactMarginalLogLikelihood.
    model = autograd_fit(X, y, steps=50)
    for get in (
        lambda m: m.covar_module.base_kernel.lengthscale,
        lambda m: m.covar_module.outputscale,
        lambda m: m.likelihood.noise,
        lambda m: m.mean_module.constant,
    ):
        torch.testing.assert_close(get(ours).detach(), get(model).detach(), rtol=1e-6, atol=1e-9)
    noise = float(ours.likelihood.noise)
    assert 5e-4 <= noise <= 0.2  # the reference's box: never an exact interpolation


def test_turbo_gp_likelihood_gradient_matches_central_differences():
    from ampc_agent.tuners.models import _nll_and_gradient

    gen = torch.Generator().manual_seed(1)
    X = torch.rand(25, 4, generator=gen, dtype=torch.float64)
    y = torch.cos(4.0 * X).sum(-1)
    y = (y - y.mean()) / y.std()
    params = [
        torch.tensor([-0.3, 0.2, 0.5, -1.0], dtype=torch.float64),
        torch.tensor(-1.5, dtype=torch.float64),
        torch.tensor(-2.0, dtype=torch.float64),
        torch.tensor(0.1, dtype=torch.float64),
    ]
    _, grads = _nll_and_gradient(X, y, params)
    h = 1e-6
    for k, p in enumerate(params):
        for j in range(p.numel()):
            step = torch.zeros_like(p).reshape(-1)
            step[j] = h
            step = step.reshape(p.shape)
            up = [q + step if i == k else q for i, q in enumerate(params)]
            down = [q - step if i == k else q for i, q in enumerate(params)]
            fd = (_nll_and_gradient(X, y, up)[0] - _nll_and_gradient(X, y, down)[0]) / (2 * h)
            assert abs(float(grads[k].reshape(-1)[j]) - float(fd)) < 1e-7 * max(1.0, abs(float(fd)))
