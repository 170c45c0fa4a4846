"""The shipped wheelbot AMPC: its formula through the robot's interface, the weights
and their accuracy on the shipped test set, the yaw test on MuJoCo, and ``ampc tune``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ampc_agent.cli import main
from ampc_agent.systems import get_system
from ampc_agent.systems.wheelbot.model import LQR_GAIN
from ampc_agent.systems.wheelbot.tracking import yaw_errors
from ampc_envs.core.episode import run_episode

SYSTEM = get_system("wheelbot")
pytestmark = pytest.mark.skipif(not SYSTEM.has_weights, reason="no shipped wheelbot weights")

#: Bounds on the shipped held-out test set (trained values in docs/wheelbot.md).
PI_RMSE_MAX = 0.03  # N m, on a +-0.1 N m residual (shipped: 0.0256)
PI_R2_MIN = 0.7  # shipped: 0.78 (the 0.85 is not reached; docs/wheelbot.md)


@pytest.fixture(scope="module")
def raw():
    return SYSTEM.load_policy(raw=True)


def test_policy_is_the_lqr_plus_the_clipped_adapted_residual(raw) -> None:
    """u = clip(-K x + clip(pi(x_e) + J(x_e) (theta - theta_nom), +-0.1), +-0.35) with
    x_e the state with the yaw error, for random observations and theta."""
    controller = SYSTEM.controller(raw)
    rng = np.random.default_rng(0)
    lo, hi = raw.tuning_lower, raw.tuning_upper
    try:
        for _ in range(20):
            obs = rng.normal(0.0, [1.0, 0.1, 0.1, 2.0, 0.5, 0.5, 1.0, 10.0, 5.0, 50.0, 1.0])
            theta = rng.uniform(lo, hi)
            raw.theta = theta
            x = obs[:10].copy()
            x[0] = math.remainder(obs[0] - obs[10], 2 * math.pi)
            v = raw.nominal_action(x[None])[0] + raw.jacobian(x[None])[0] @ (
                theta - raw.theta_nominal
            )
            expected = np.clip(-LQR_GAIN @ obs[:10] + np.clip(v, -0.1, 0.1), -0.35, 0.35)
            np.testing.assert_allclose(controller(obs), expected, rtol=1e-9, atol=1e-12)
        bad = raw.theta_nominal.copy()
        bad[0] = np.nan
        with pytest.raises(ValueError, match="m_WR"):
            raw.theta = bad
    finally:
        raw.theta = raw.theta_nominal


def test_shipped_weights_load_with_consistent_metadata(raw) -> None:
    assert raw.info["system"] == "wheelbot"
    assert (raw.nx, raw.nu) == (10, 2)
    np.testing.assert_array_equal(raw.input_upper, [0.1, 0.1])
    assert raw.theta_names == SYSTEM.theta.names
    assert np.all(raw.tuning_lower <= raw.theta_nominal)
    assert np.all(raw.theta_nominal <= raw.tuning_upper)


def test_shipped_weights_meet_the_accuracy_bound_on_the_shipped_test_set(raw) -> None:
    from ampc_agent.policy import load_test_set

    test = load_test_set(SYSTEM.weights)
    assert len(test["x"]) >= 300
    err = np.clip(raw.nominal_action(test["x"]), -0.1, 0.1) - test["u"]
    assert np.sqrt(np.mean(err**2)) < PI_RMSE_MAX
    assert 1 - np.mean(err**2) / np.var(test["u"]) > PI_R2_MIN


def test_shipped_ampc_keeps_the_robot_up_and_turns_it(raw) -> None:
    """A shortened yaw test (+pi/2 at 0.2 s, 2 s) on the nominal MuJoCo robot: no fall,
    the yaw error at the end below a quarter of the step (the LQR alone stays at it)."""
    step = math.pi / 2
    env = SYSTEM.make_env(episode_seconds=2.0, yaw_schedule=((0.2, step),))
    raw.theta = raw.theta_nominal
    ep = run_episode(env, SYSTEM.controller(raw), seed=0, record_states=True)
    env.close()
    errors = yaw_errors(ep["states"], ep["observations"])
    assert not ep["crashed"]
    assert errors[-1] < 0.25 * step, errors[-1]


def test_tune_wheelbot_runs_writes_its_study_and_resumes(tmp_path) -> None:
    def tune(episodes):
        argv = [
            "tune", "wheelbot", "--tuner", "random", "--episodes", str(episodes),
            "--study", str(tmp_path / "s"), "--logdir", str(tmp_path / "runs"),
            "--no-animation",
        ]  # fmt: skip
        assert main(argv) == 0
        return json.loads((tmp_path / "s" / "episodes.json").read_text())

    first = tune(2)
    records = tune(3)  # resumes: the first two episodes are not rerun
    assert len(records) == 3
    assert records[:2] == first
    # Each episode is a whole 25 s yaw test at 200 Hz, unless the robot fell.
    assert all(r["length"] == 5000 or (r["crashed"] and r["length"] < 5000) for r in records)
    best = json.loads((tmp_path / "s" / "best_theta.json").read_text())
    assert best["theta_names"] == list(SYSTEM.theta.names)
    assert (tmp_path / "s" / "returns.png").is_file()
