"""Baselines: the identification model is the env's physics, and least squares finds it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import ampc_envs  # noqa: F401
from ampc_agent.systems.cartpole import sysid as cartpole_model
from ampc_agent.systems.cartpole.pump import PumpAndCentre
from ampc_envs.cartpole import CartpoleParams
from ampc_envs.core.angles import wrap_angle
from ampc_envs.core.episode import run_episode
from benchmarks.baselines.sysid import identify

MISMATCHED = CartpoleParams().replace(
    cart_mass=0.6, pole_mass=0.12, pole_length=0.66, cart_friction=0.3, pivot_damping=0.003,
    actuator_gain=0.85,
)  # fmt: skip


def test_cartpole_model_matches_mujoco():
    env = gym.make("ampc_envs/CartpoleSwingUp-v0").unwrapped
    rng = np.random.default_rng(0)
    states = rng.uniform([-0.5, -np.pi, -1.5, -8.0], [0.5, np.pi, 1.5, 8.0], size=(20, 4))
    commands = rng.uniform(-14.0, 14.0, size=20).astype(np.float32)  # some saturate at 10 N
    observed = []
    for s, u in zip(states, commands, strict=True):
        env.reset(seed=0, options={"params": MISMATCHED, "state": s})
        observed.append(env.step(np.array([u]))[0])
    predicted = cartpole_model.predict(states, commands, MISMATCHED.to_dict())
    error = predicted - np.array(observed)
    error[:, 1] = wrap_angle(error[:, 1])
    assert np.abs(error).max() < 1e-6


@pytest.mark.parametrize("delay", [0, 1])
def test_least_squares_recovers_the_parameters_and_the_delay(delay):
    true = MISMATCHED.replace(actuation_delay=delay)
    env = gym.make("ampc_envs/CartpoleSwingUp-v0")
    policy = PumpAndCentre()
    trajectories = []
    for seed, theta in ((0, [3.0, 4.0]), (1, [5.0, 8.0])):
        policy.theta = np.array(theta)
        result = run_episode(env, policy, seed=seed, params=true)
        trajectories.append((result["observations"], result["actions"]))
    fit = identify(cartpole_model, trajectories, CartpoleParams().to_dict())
    p = fit["params"]
    assert fit["delay"] == delay
    assert p["pole_length"] == pytest.approx(true.pole_length, rel=1e-3)
    # Masses, damping and gain are identifiable only up to one common scale.
    for name in ("cart_mass", "pole_mass", "cart_friction"):
        ratio, true_ratio = p[name] / p["actuator_gain"], getattr(true, name) / true.actuator_gain
        assert ratio == pytest.approx(true_ratio, rel=1e-2), name


def test_oracle_starts_at_the_true_parameters_and_runs_the_true_mpc():
    from ampc_agent.systems.cartpole import CARTPOLE_THETA
    from benchmarks.sweep import TrialConfig
    from benchmarks.sweep.runner import run_trial

    # The pump controller has no physical theta (true-theta = nominal), but the system
    # has the acados MPC, which the oracle runs at the true parameters.
    trial = TrialConfig("cartpole-pump", "oracle", "hardware-like", 0, 5, options={"episodes": 6})
    record = run_trial(trial.to_dict())
    assert record["status"] == "done", record.get("traceback")
    assert len(record["episodes"]) == 6  # the oracle's own episode count, not the budget
    assert record["episodes"][0]["theta"] == [3.0, 4.0]  # no physical entries to set
    mpc = record["extra"]["mpc_true"]
    hardware = CartpoleParams.named("hardware-like").to_dict()
    physical = {
        n: v for n, v in zip(CARTPOLE_THETA.names, mpc["theta"], strict=True) if n in hardware
    }
    assert physical == {n: hardware[n] for n in physical} and len(physical) >= 4
    # The MPC that knows the system swings the pole up and keeps it: far above the pump.
    assert not mpc["crashed"] and mpc["return"] > 150 > record["totals"]["best_return"]
