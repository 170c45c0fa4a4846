"""The balancing LQR baseline of the Mini Wheelbot (``ampc_envs.wheelbot.lqr``)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import ampc_envs  # noqa: F401  (registers the envs)
from ampc_envs.wheelbot import dynamics
from ampc_envs.wheelbot.lqr import (
    ROBOT_PITCH_GAINS,
    ROBOT_ROLL_GAINS,
    BalancingLQR,
    discretize,
    model_lqr_gain,
    robot_gain,
)
from ampc_envs.wheelbot.params import CONTROL_DT, WheelbotParams

BALANCE = [1, 2, 4, 5, 6, 7, 8, 9]  # all states but yaw and yaw rate


def closed_loop_spectral_radius(gain: np.ndarray, params: WheelbotParams) -> float:
    a, b = dynamics.linearize(params)
    ad, bd = discretize(a, b * params.actuator_gain, CONTROL_DT)
    closed = (ad - bd @ gain)[np.ix_(BALANCE, BALANCE)]
    return float(np.max(np.abs(np.linalg.eigvals(closed))))


def test_robot_gains_are_the_published_per_axis_gains():
    k = robot_gain()
    np.testing.assert_array_equal(k[0, [2, 5, 6, 8]], ROBOT_PITCH_GAINS)
    np.testing.assert_array_equal(k[1, [1, 4, 7, 9]], ROBOT_ROLL_GAINS)
    assert np.count_nonzero(k) == 8  # nothing on yaw, nothing across axes


@pytest.mark.parametrize("gain", [robot_gain(), model_lqr_gain()], ids=["robot", "model"])
@pytest.mark.parametrize(
    "params", [WheelbotParams(), WheelbotParams.named("hardware-like")], ids=["nominal", "hw"]
)
def test_gains_stabilise_the_discretised_analytic_model(gain, params):
    assert closed_loop_spectral_radius(gain, params) < 0.999


def test_model_lqr_gain_solves_the_riccati_equation_and_ignores_yaw():
    k = model_lqr_gain()
    assert np.all(k[:, [0, 3]] == 0)
    # Heavier torque weights give smaller gains (a sanity check on the design).
    assert np.all(np.abs(model_lqr_gain(torque_weights=(100.0, 100.0))) <= np.abs(k) + 1e-12)
    # Same signs as the robot's gains on the entries the robot uses.
    robot = robot_gain()
    used = robot != 0
    assert np.all(np.sign(k[used]) == np.sign(robot[used]))


def test_policy_clips_and_accepts_observations_states_and_batches():
    policy = BalancingLQR()
    obs = np.zeros(11)
    obs[2] = 10.0  # a huge pitch
    u = policy(obs)
    assert u.dtype == np.float32 and u.shape == (2,) and u[0] == 0.5
    np.testing.assert_array_equal(policy(obs[:10]), u)
    batch = np.stack([obs, -obs, np.zeros(11)])
    np.testing.assert_array_equal(policy(batch), [[0.5, 0], [-0.5, 0], [0, 0]])


@pytest.mark.parametrize("gain", [robot_gain(), model_lqr_gain()], ids=["robot", "model"])
def test_lqr_keeps_the_nominal_robot_upright_for_25_s(gain):
    env = gym.make("ampc_envs/WheelbotYaw-v0", yaw_schedule=())
    policy = BalancingLQR(gain)
    obs, _ = env.reset(seed=0)
    start_yaw = obs[0]
    tilts, steps, done = [], 0, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy(obs))
        tilts.append(np.max(np.abs(env.unwrapped.state[1:3])))
        steps, done = steps + 1, terminated or truncated
    assert steps == 5000 and not info["crashed"]
    assert max(tilts) < 0.05 and max(tilts[-200:]) < 1e-3  # settles upright
    assert abs(obs[0] - start_yaw) < 0.05  # the yaw friction holds the heading
    assert np.all(np.abs(obs[[6, 8]]) < 0.05)  # wheel returns to its start position


def test_lqr_survives_the_hardware_like_and_randomized_robots():
    env = gym.make("ampc_envs/WheelbotYaw-v0", randomize=True, yaw_schedule=(), episode_seconds=5)
    policy = BalancingLQR()
    for seed, params in [(0, "hardware-like"), (1, None), (2, None), (3, None)]:
        obs, _ = env.reset(seed=seed, options={"params": params} if params else None)
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs))
            done = terminated or truncated
        assert truncated and not info["crashed"], seed
