"""The tuning env runs one whole closed-loop episode per step (real MuJoCo)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import ampc_envs  # noqa: F401
from ampc_agent.systems.cartpole.pump import PumpAndCentre
from ampc_agent.tuning.env import EpisodeTuningEnv
from ampc_envs.core.episode import run_episode


def make(**kwargs):
    kwargs.setdefault("policy", PumpAndCentre())
    return EpisodeTuningEnv("ampc_envs/CartpoleSwingUp-v0", **kwargs)


def test_one_step_is_one_whole_episode_on_the_chosen_instance():
    env = make(instance="hardware-like", seed=3)
    obs, _ = env.reset()
    theta = np.array([3.0, 4.0])
    _, reward, terminated, truncated, info = env.step(theta)
    assert terminated and not truncated and obs.shape == (1,)
    assert info["params"]["actuation_delay"] == 1  # hardware-like
    # The same episode run by hand gives the same return.
    system = gym.make("ampc_envs/CartpoleSwingUp-v0")
    policy = PumpAndCentre()
    policy.theta = theta
    manual = run_episode(system, policy, seed=3, params="hardware-like")
    assert reward == manual["return"]
    assert info["length"] == manual["length"] and info["crashed"] == manual["crashed"]
    assert sum(info["components"].values()) > 0


def test_fixed_seed_episodes_repeat_and_fresh_seed_episodes_vary():
    fixed = make(episode_seed="fixed")
    theta = np.array([3.0, 4.0])
    r1, r2 = fixed.step(theta)[1], fixed.step(theta)[1]
    assert r1 == r2
    fresh = make(episode_seed="fresh")
    r3, r4 = fresh.step(theta)[1], fresh.step(theta)[1]
    assert r3 != r4


def test_return_depends_on_theta_and_crashes_are_flagged():
    env = make(instance="nominal")
    _, calm, *_, info_calm = env.step(np.array([3.0, 4.0]))
    _, wild, *_, info_wild = env.step(np.array([10.0, 0.0]))
    assert not info_calm["crashed"]
    assert info_wild["crashed"] and info_wild["length"] < 300
    assert calm != wild


def test_action_space_is_the_policys_tuning_box():
    env = make()
    assert env.action_space.shape == (2,)
    np.testing.assert_array_equal(env.action_space.high, [10.0, 20.0])


@pytest.mark.parametrize(
    "theta,message",
    [
        ([3.0, np.nan], r"theta\[1\] \(k_centre\) must be finite"),
        (
            [3.0],
            r"theta must have shape \(2,\) for parameters \['k_pump', 'k_centre'\], got shape \(1,\)",
        ),
        ([11.0, 4.0], r"theta\[0\] \(k_pump\) = 11.0 N is outside its tuning bounds \[0.0, 10.0\]"),
    ],
)
def test_bad_theta_raises(theta, message):
    env = make()
    with pytest.raises(ValueError, match=message):
        env.step(theta)
    assert env.episodes == 0


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match=r"episode_seed must be one of"):
        make(episode_seed="random")
    with pytest.raises(ValueError, match=r"unknown CartpoleParams instance 'lab'"):
        make(instance="lab")
