"""Specification of the adaptation study and the tuning-range rule (synthetic law)."""

from __future__ import annotations

import numpy as np

from ampc_agent.evaluation.adaptation import (
    action_errors,
    adapted_is_faithful,
    error_by_distance,
    normalized_distance,
    parameter_sweeps,
    recommend_tuning_bounds,
    sample_thetas,
    trimmed_change_means,
)
from ampc_agent.systems.cartpole.success import swing_up_success
from ampc_agent.training.synthetic import synthetic_labels


def synthetic_mpc(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return synthetic_labels(x, theta)[0][0]


def test_sampled_thetas_lie_in_the_bounds_and_cover_small_distances() -> None:
    nom, lo, hi = np.array([1.0, 2.0]), np.array([0.0, 1.0]), np.array([3.0, 2.5])
    th = sample_thetas(nom, lo, hi, 2000, np.random.default_rng(0))
    assert np.all(th >= lo) and np.all(th <= hi)
    d = normalized_distance(th, nom, lo, hi)
    assert np.mean(d < 0.1) > 0.1 and d.max() > 0.5


def test_adaptation_beats_no_adaptation_on_a_law_linear_in_theta(trained) -> None:
    policy = trained.policy
    x = trained.test_set["x"][:40]
    thetas = sample_thetas(
        policy.theta_nominal, policy.theta_lower, policy.theta_upper, 30, np.random.default_rng(1)
    )
    err = action_errors(
        policy,
        synthetic_mpc,
        x,
        thetas,
        trained.test_set["u"][:40],
        trained.test_set["du_dtheta"][:40],
    )
    far = (
        normalized_distance(thetas, policy.theta_nominal, policy.theta_lower, policy.theta_upper)
        > 0.3
    )
    assert err["adapted"][far].mean() < 0.5 * err["unadapted"][far].mean()
    # The law is linear in theta wherever it is not saturated: the exact Taylor step is
    # exact there, so its error is far below that of not adapting.
    assert err["taylor"][far].mean() < 0.3 * err["unadapted"][far].mean()
    rows = error_by_distance(
        normalized_distance(thetas, policy.theta_nominal, policy.theta_lower, policy.theta_upper),
        err,
        np.linspace(0, 2, 5),
    )
    assert sum(r["n_theta"] for r in rows) == 30


def test_recommended_bounds_cover_the_range_where_the_law_is_linear(trained) -> None:
    policy = trained.policy
    x = trained.test_set["x"][:30]
    sweeps = parameter_sweeps(policy, synthetic_mpc, x, points_per_side=2)
    for rec in sweeps:  # the AMPC follows the law's change: error well below the change
        far = np.asarray(rec["mpc_change"]) > 0.2
        assert np.all(
            np.asarray(rec["adapted_change"])[far] < 0.3 * np.asarray(rec["mpc_change"])[far]
        )
    lower, upper = recommend_tuning_bounds(policy, sweeps)
    np.testing.assert_allclose(lower, policy.theta_lower)
    np.testing.assert_allclose(upper, policy.theta_upper)


def test_recommended_bounds_stop_where_adaptation_stops_working(trained) -> None:
    policy = trained.policy
    nom = policy.theta_nominal
    # Hand-made sweep of parameter 0: fine up to one step above nominal, then broken.
    values = [nom[0] - 0.4, nom[0] - 0.2, nom[0], nom[0] + 0.2, nom[0] + 0.4]
    sweeps = [
        {
            "name": n,
            "values": [nom[j]],
            "adapted_change_trimmed": [0.0],
            "mpc_change_trimmed": [0.0],
        }
        for j, n in enumerate(policy.theta_names)
    ]
    sweeps[0] = {
        "name": policy.theta_names[0],
        "values": values,
        "adapted_change_trimmed": [0.55, 0.2, 0.0, 0.4, 3.0],
        "mpc_change_trimmed": [0.6, 1.0, 0.0, 1.0, 3.5],
    }
    lower, upper = recommend_tuning_bounds(policy, sweeps)
    assert lower[0] == nom[0] - 0.2 and upper[0] == nom[0] + 0.2
    np.testing.assert_array_equal(lower[1:], nom[1:])


def test_trimmed_means_drop_the_states_where_the_mpc_jumped() -> None:
    mpc_change = np.full((2, 10), 0.2)
    mpc_change[0, 3] = 20.0  # a branch switch at one state
    adapted_change = np.full((2, 10), 0.1)
    adapted_change[0, 3] = 20.0
    mc, ac = trimmed_change_means(mpc_change, adapted_change, trim=0.1)
    np.testing.assert_allclose(mc, [0.2, 0.2])
    np.testing.assert_allclose(ac, [0.1, 0.1])


def test_faithfulness_rule() -> None:
    assert adapted_is_faithful(0.7, 1.0)  # recovers 30 % of the MPC's change
    assert not adapted_is_faithful(0.9, 1.0)
    assert adapted_is_faithful(0.09, 0.05)  # below the 0.1 N tolerance
    assert not adapted_is_faithful(0.12, 0.05)


def test_swing_up_success_needs_the_last_second_upright_and_no_crash() -> None:
    states = np.zeros((301, 4))
    states[:, 1] = np.linspace(np.pi, 2 * np.pi, 301)
    states[-60:, 1] = 2 * np.pi + 0.1  # upright (angle not wrapped) for the last 1.2 s
    assert swing_up_success(states, crashed=False, dt=0.02)
    assert not swing_up_success(states, crashed=True, dt=0.02)
    states[-10, 1] = 2 * np.pi + 0.5
    assert not swing_up_success(states, crashed=False, dt=0.02)


def test_evaluation_report_of_the_shipped_ampc_beside_the_real_mpc(tmp_path) -> None:
    """A small ``ampc eval``: the shipped AMPC beside the acados MPC, report on disk."""
    from ampc_agent.evaluation.report import write_report
    from ampc_agent.evaluation.study import evaluate_ampc
    from ampc_agent.policy import load_shipped_policy
    from ampc_agent.policy.shipped import load_test_set, shipped_policy_folder
    from ampc_agent.systems import get_system

    policy = load_shipped_policy("cartpole")
    test_set = load_test_set(shipped_policy_folder("cartpole"))
    system = get_system("cartpole")
    report = evaluate_ampc(
        system,
        policy,
        system.make_mpc(),
        test_set,
        n_starts=2,
        n_states=6,
        n_thetas=4,
        sweep_points=1,
        n_physical_states=3,
        n_instances=8,
        log=lambda m: None,
    )
    for name in ("AMPC", "MPC"):
        assert len(report["closed_loop"][name]["returns"]) == 2
    # Both swing up from the two starts: returns far above the hanging pole's 0.
    assert min(report["closed_loop"]["AMPC"]["returns"]) > 150
    assert min(report["closed_loop"]["MPC"]["returns"]) > 150
    # The reward is the product of its four components in [0, 1], so its mean per step
    # (return / 300 steps, no crash) is at most the mean of each; upright most of the time.
    for name in ("AMPC", "MPC"):
        parts = report["closed_loop"][name]["components_per_step"]
        assert set(parts) == {"upright", "centred", "calm", "effort"}
        assert all(0.0 <= v <= 1.0 for v in parts.values())
        per_step = np.mean(report["closed_loop"][name]["returns"]) / 300
        assert per_step <= min(parts.values()) + 1e-9 and parts["upright"] > 0.6
    lo, hi = np.array(report["tuning_lower"]), np.array(report["tuning_upper"])
    assert np.all(policy.theta_lower <= lo) and np.all(hi <= policy.theta_upper)
    assert np.all(lo <= policy.theta_nominal) and np.all(policy.theta_nominal <= hi)
    # The physical studies: both instances run under all three controllers, and the MPC
    # that knows the system swings the pole up.
    pcl = report["physical_closed_loop"]
    assert len(pcl["instances"]) == 8 and all(p["actuation_delay"] == 0 for p in pcl["instances"])
    assert pcl["mpc_true"]["success_rate"] == 1.0
    ph = report["physical"]
    assert ph["n_states"] >= 1 and ph["pooled"]["ampc"]["n"] == 8 * ph["n_states"]
    assert ph["pooled"]["ceiling"]["r2"] <= 1.0  # leave-one-out: 8 instances, 6 parameters
    paths = write_report(report, tmp_path)
    text = paths["md"].read_text()
    assert "| AMPC |" in text and "Recommended tuning range" in text
    assert "Closed loop at the true theta" in text
    assert paths["png"].stat().st_size > 10_000


def test_leave_one_out_predictions_equal_refits_without_the_row() -> None:
    from ampc_agent.evaluation.accuracy import loo_linear_predictions

    rng = np.random.default_rng(0)
    d = rng.normal(size=(12, 3))
    y = d @ rng.normal(size=(3, 2))
    np.testing.assert_allclose(loo_linear_predictions(d, y), y, atol=1e-12)  # exactly linear
    noisy = y + 0.1 * rng.normal(size=y.shape)
    noisy[4] = np.nan  # a failed re-solve: ignored, NaN out
    loo = loo_linear_predictions(d, noisy)
    keep = [i for i in range(12) if i != 4]
    for i in keep:
        others = [j for j in keep if j != i]
        fit, *_ = np.linalg.lstsq(d[others], noisy[others], rcond=None)
        np.testing.assert_allclose(loo[i], d[i] @ fit, atol=1e-12)
    assert np.all(np.isnan(loo[4]))
