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


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": 1.5}, "seed must be a non-negative integer, got 1.5"),
        ({"render_mode": "human"}, "render_mode must be one of ['rgb_array'] or None, got 'human'"),
        ({"env_kwargs": [1]}, "env_kwargs must be a dict, got [1]"),
        (
            {"env_kwargs": {"render_mode": "rgb_array"}},
            "pass render_mode to the tuning env itself, not in env_kwargs",
        ),
        (
            {"instance": {"actuation_delay": 10**7}},
            "CartpoleParams.actuation_delay must be <= 10 control steps, got 10000000",
        ),
        (
            {"instance": {"cart_mass": "0.6"}},
            "CartpoleParams.cart_mass must be a real number, got '0.6'",
        ),
        ({"policy": object()}, "policy must be a controller with a theta_spec"),
    ],
)
def test_constructor_arguments_are_checked_before_any_episode(kwargs, message):
    with pytest.raises(ValueError) as err:
        make(**kwargs)
    assert str(err.value).startswith(message)


def test_an_unknown_env_id_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match=r"^cannot make 'ampc_envs/Segway-v0': "):
        EpisodeTuningEnv("ampc_envs/Segway-v0", PumpAndCentre())


def test_gym_make_passes_render_mode_and_render_shows_the_end_of_the_last_episode():
    env = gym.make("ampc_envs/CartpoleSwingUpTuning-v0", render_mode="rgb_array")
    assert gym.make("ampc_envs/CartpoleSwingUpTuning-v0").render_mode is None
    env.reset(seed=0)
    env.step(env.unwrapped.policy.theta_nominal)
    frame = env.render()
    assert frame.shape == (360, 480, 3) and frame.dtype == np.uint8 and frame.std() > 0
    env.close()


def test_the_ampc_refuses_a_non_finite_state():
    from ampc_agent.systems import get_system

    policy = get_system("cartpole").load_policy()
    with pytest.raises(ValueError) as err:
        policy(np.array([0.0, np.nan, 0.0, 0.0]))
    assert str(err.value) == "x must be finite, got [0.0, nan, 0.0, 0.0]"
    with pytest.raises(ValueError, match=r"^X must be finite, got row 1: \[inf, 0.0, 0.0, 0.0\]$"):
        policy.batch(np.array([[0.0, 0.0, 0.0, 0.0], [np.inf, 0.0, 0.0, 0.0]]))
    assert np.isfinite(policy(np.array([0.0, 3.0, 0.0, 0.0]))).all()
