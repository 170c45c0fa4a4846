"""Specification of ``ampc_envs/WheelbotYaw-v0``: interface, task, randomization, bad input.

Real MuJoCo, no mocks. Physics laws are in ``test_wheelbot_physics.py``, the analytic
model in ``test_wheelbot_dynamics.py``, the balancing LQR in ``test_wheelbot_lqr.py``.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import ampc_envs  # noqa: F401  (registers the envs)
from ampc_envs.core.angles import wrap_angle
from ampc_envs.wheelbot import model as wheelbot_model
from ampc_envs.wheelbot.env import DEFAULT_YAW_SCHEDULE, yaw_reward
from ampc_envs.wheelbot.lqr import BalancingLQR
from ampc_envs.wheelbot.params import CONTROL_DT, TORQUE_LIMIT, WheelbotParams

ENV_ID = "ampc_envs/WheelbotYaw-v0"
LQR = BalancingLQR()


def make(**kwargs):
    return gym.make(ENV_ID, **kwargs)


def upright_at_rest(env, params=None):
    options = {"state": np.zeros(10)}
    if params is not None:
        options["params"] = params
    return env.reset(seed=0, options=options)


# --------------------------------------------------------------------- interface
def test_passes_gymnasium_env_checker():
    env = make(render_mode="rgb_array", randomize=True)
    check_env(env.unwrapped, skip_render_check=False)


def test_spaces_are_two_torques_and_ten_states_plus_reference():
    env = make()
    assert env.action_space.shape == (2,) and env.action_space.dtype == np.float32
    np.testing.assert_array_equal(env.action_space.high, [TORQUE_LIMIT, TORQUE_LIMIT])
    assert env.observation_space.shape == (11,)
    assert env.unwrapped.dt == pytest.approx(CONTROL_DT) and 1 / CONTROL_DT >= 100


def test_rgb_array_rendering_is_headless():
    env = make(render_mode="rgb_array", width=160, height=120)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # not a blank image
    env.close()


def rollout(seed, steps=100, **kwargs):
    """LQR plus random torques on a randomized robot (noise and delay included)."""
    env = make(randomize=True, **kwargs)
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(123)
    traj = [obs]
    for _ in range(steps):
        action = LQR(obs) + rng.uniform(-0.05, 0.05, 2).astype(np.float32)
        obs, *_ = env.step(action)
        traj.append(obs)
    return np.array(traj), info["params"]


def test_same_seed_gives_bit_identical_trajectory():
    a, pa = rollout(seed=5)
    b, pb = rollout(seed=5)
    assert pa == pb
    assert np.array_equal(a, b)


def test_different_seeds_give_different_trajectories():
    a, pa = rollout(seed=5)
    b, pb = rollout(seed=6)
    assert pa != pb
    assert not np.allclose(a, b)


def test_observation_is_the_set_state_with_yaw_wrapped_plus_reference():
    env = make()
    x = np.array([3 * math.pi / 2, 0.1, -0.2, 0.3, -0.4, 0.5, 7.0, -8.0, 9.0, -10.0])
    obs, _ = env.reset(seed=0, options={"state": x})
    expected = x.copy()
    expected[0] = -math.pi / 2
    np.testing.assert_allclose(obs[:10], expected, atol=1e-12)
    assert obs[10] == 0.0
    assert wrap_angle(math.pi) == math.pi and wrap_angle(-math.pi) == math.pi


def test_state_round_trips_through_mujoco_for_random_states():
    env = make().unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(200):
        x = rng.uniform(-1, 1, 10) * [3.1, 1.5, 3.1, 5, 5, 5, 50, 50, 100, 300]
        wheelbot_model.set_state(env.model, env.data, env.params, x)
        np.testing.assert_allclose(wheelbot_model.get_state(env.model, env.data), x, atol=1e-9)


def test_euler_convention_positive_pitch_leans_forward_positive_roll_falls_to_minus_y():
    env = make().unwrapped
    p = WheelbotParams()
    body = env.model.body("body").id
    axle_height = p.r_W - wheelbot_model.REST_DEPTH  # above the contact point
    for x, expected_com_xy in [
        ([0, 0, 0.3, 0, 0, 0, 0, 0, 0, 0], (p.l_WB * math.sin(0.3), 0.0)),
        ([0, 0.3, 0, 0, 0, 0, 0, 0, 0, 0], (0.0, -(axle_height + p.l_WB) * math.sin(0.3))),
    ]:
        env.reset(seed=0, options={"state": x})
        np.testing.assert_allclose(env.data.xipos[body][:2], expected_com_xy, atol=1e-12)
    # Yaw turns the wheel axle (body y) about the vertical: psi = 0.5 points it at
    # (-sin 0.5, cos 0.5, 0).
    env.reset(seed=0, options={"state": [0.5, 0, 0, 0, 0, 0, 0, 0, 0, 0]})
    axle = env.data.xmat[body].reshape(3, 3)[:, 1]
    np.testing.assert_allclose(axle, [-math.sin(0.5), math.cos(0.5), 0], atol=1e-12)


def test_start_state_is_upright_with_small_perturbation():
    env = make()
    starts = np.array([env.reset(seed=s)[0] for s in range(50)])
    assert np.all(np.abs(starts[:, 0]) <= 0.05 + 1e-9)
    assert np.all(np.abs(starts[:, 1:3]) <= 0.03 + 1e-9)
    assert np.all(np.abs(starts[:, 3:6]) <= 0.05 + 1e-9)
    assert np.all(starts[:, 6:8] == 0) and np.all(np.abs(starts[:, 8:10]) <= 0.2 + 1e-9)
    assert np.all(starts[:, 10] == 0)
    assert starts[:, 1:3].std() > 0.01  # actually perturbed


# ------------------------------------------------------------------ task/reward
def test_reward_is_one_on_the_reference_zero_facing_away_and_wraps():
    assert yaw_reward(0.0, np.zeros(2))[0] == 1.0
    assert yaw_reward(math.pi, np.zeros(2))[0] == pytest.approx(0.0)
    assert yaw_reward(math.pi / 2, np.zeros(2))[0] == pytest.approx(0.5)
    assert yaw_reward(2 * math.pi - 0.1, np.zeros(2))[0] == pytest.approx(
        yaw_reward(-0.1, np.zeros(2))[0]
    )
    assert yaw_reward(0.0, np.array([0.5, 0.5]))[0] == pytest.approx(0.9)
    assert yaw_reward(0.0, np.array([5.0, -5.0]))[0] == pytest.approx(0.9)  # clipped
    rng = np.random.default_rng(0)
    for _ in range(1000):
        r = yaw_reward(rng.uniform(-20, 20), rng.uniform(-2, 2, 2))[0]
        assert 0.0 <= r <= 1.0


def test_default_yaw_reference_is_the_robots_yaw_test():
    env = make().unwrapped
    assert DEFAULT_YAW_SCHEDULE == (
        (5.0, math.pi / 2),
        (10.0, 0.0),
        (15.0, -math.pi / 2),
        (20.0, 0.0),
    )
    refs = env._references  # reference at the end of each control step
    steps_per_s = round(1 / CONTROL_DT)
    for t, value in [
        (0, 0),
        (4.995, 0),
        (5, math.pi / 2),
        (9.995, math.pi / 2),
        (10, 0),
        (15, -math.pi / 2),
        (19.995, -math.pi / 2),
        (20, 0),
        (25, 0),
    ]:
        assert refs[round(t * steps_per_s)] == value, t


def test_yaw_reference_is_observed_and_rewarded_from_its_switch_time():
    env = make(yaw_schedule=[(0.02, 1.0), (0.04, -1.0)], episode_seconds=0.1)
    obs, _ = upright_at_rest(env)
    refs, tracking = [obs[10]], []
    for _ in range(20):
        obs, reward, terminated, truncated, info = env.step(np.zeros(2, np.float32))
        assert obs[10] == info["yaw_reference"]
        refs.append(obs[10])
        tracking.append(info["reward_components"]["tracking"])
    assert refs[:4] == [0.0] * 4 and refs[4:8] == [1.0] * 4 and refs[8:] == [-1.0] * 13
    assert tracking[3] == pytest.approx(1 - 1 / math.pi, abs=1e-3)  # yaw stays ~0
    assert truncated and not info["crashed"]


def test_falling_robot_terminates_with_a_crash():
    env = make()
    env.reset(seed=0, options={"state": [0, 0.05, -0.05, 0, 0, 0, 0, 0, 0, 0]})
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        obs, r, terminated, truncated, info = env.step(np.zeros(2, np.float32))
        steps += 1
    assert terminated and info["crashed"] and not truncated
    assert max(abs(obs[1]), abs(obs[2])) > 0.9 and steps < 200


def test_lqr_episode_truncates_after_25_seconds_without_crash():
    env = make(yaw_schedule=())
    obs, _ = env.reset(seed=0)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        obs, reward, terminated, truncated, info = env.step(LQR(obs))
        steps += 1
    assert steps == 5000 and truncated and not info["crashed"]


# ------------------------------------------------------------ actuation/sensing
def test_actuation_delay_holds_the_commands_back_whole_steps():
    env = make()
    upright_at_rest(env, {"actuation_delay": 2})
    rates = [env.step(np.array([0.2, 0.2], np.float32))[0][8:10] for _ in range(3)]
    assert np.all(np.abs(rates[0]) < 1e-9) and np.all(np.abs(rates[1]) < 1e-9)
    assert np.all(rates[2] > 0.1)


def test_commands_beyond_the_limit_saturate_at_the_motors():
    env = make()
    upright_at_rest(env)
    at_limit = env.step(np.array([TORQUE_LIMIT, -TORQUE_LIMIT], np.float32))[0]
    upright_at_rest(env)
    beyond = env.step(np.array([3 * TORQUE_LIMIT, -3 * TORQUE_LIMIT], np.float32))[0]
    assert np.array_equal(beyond, at_limit)


def test_observation_noise_has_the_declared_std():
    env = make(params={"angle_noise": 0.01, "rate_noise": 0.1})
    errors = []
    for seed in range(400):
        obs, _ = env.reset(seed=seed)
        errors.append(obs[:10] - env.unwrapped.state)
    errors = np.array(errors)
    errors[:, 0] = wrap_angle(errors[:, 0])
    std = errors.std(axis=0)
    np.testing.assert_allclose(std[[0, 1, 2]], 0.01, rtol=0.15)
    np.testing.assert_allclose(std[[3, 4, 5, 8, 9]], 0.1, rtol=0.15)
    assert np.all(std[[6, 7]] == 0)  # wheel encoders are exact


# ---------------------------------------------------------------- randomization
def model_values(env):
    m = env.unwrapped.model
    body, wheel, react = (m.body(n).id for n in ("body", "wheel", "reaction_wheel"))
    return {
        "m_B": m.body_mass[body],
        "m_WR": m.body_mass[wheel],
        "m_WR (reaction)": m.body_mass[react],
        "I_Bx": m.body_inertia[body][0],
        "I_By": m.body_inertia[body][1],
        "I_Bz": m.body_inertia[body][2],
        "I_Wxz_Ryz": m.body_inertia[wheel][0],
        "I_Wxz_Ryz (wheel z)": m.body_inertia[wheel][2],
        "I_Wxz_Ryz (reaction y)": m.body_inertia[react][1],
        "I_Wy_Rx": m.body_inertia[wheel][1],
        "I_Wy_Rx (reaction x)": m.body_inertia[react][0],
        "l_WB": m.body_ipos[body][2],
        "l_WB (reaction at 2 l_WB)": m.body_pos[react][2] / 2,
        "r_W": m.geom_size[m.geom("tyre").id][0],
        "actuator_gain": m.actuator_gear[0, 0],
        "actuator_gain (reaction)": m.actuator_gear[1, 0],
    }


def test_randomized_resets_never_compound():
    env = make(randomize=True)
    ranges = WheelbotParams.default_ranges
    samples = []
    for seed in range(100):
        _, info = env.reset(seed=seed)
        p = info["params"]
        samples.append(p)
        for name, (low, high) in ranges.items():
            assert low <= p[name] <= high, name
        for name, value in model_values(env).items():
            assert value == pytest.approx(p[name.split(" ")[0]], rel=1e-12), name
        # mj_setConst ran: the subtree mass follows the sampled masses.
        m = env.unwrapped.model
        assert m.body_subtreemass[m.body("body").id] == pytest.approx(
            p["m_B"] + 2 * p["m_WR"], rel=1e-12
        )
    # The sampled distribution stays centred on the ranges (no drift over resets).
    for name in ("m_B", "l_WB", "I_By", "actuator_gain"):
        values = np.array([s[name] for s in samples])
        low, high = ranges[name]
        assert abs(values[50:].mean() - (low + high) / 2) < 0.15 * (high - low)
        assert abs(values[:50].mean() - values[50:].mean()) < 0.2 * (high - low)
    # After 100 resets the nominal instance is exactly the nominal model.
    env.reset(seed=0, options={"params": "nominal"})
    fresh = make()
    fresh.reset(seed=0)
    assert model_values(env) == model_values(fresh)
    assert np.array_equal(
        env.unwrapped.model.body_subtreemass, fresh.unwrapped.model.body_subtreemass
    )


def test_fixed_instance_round_trips_through_info():
    env = make(randomize=True)
    wanted = {"m_B": 0.3, "l_WB": 0.068, "fric_magn": 0.004, "actuation_delay": 1}
    _, info = env.reset(seed=3, options={"params": wanted})
    for name, value in wanted.items():
        assert info["params"][name] == value
    assert info["params"]["m_WR"] == WheelbotParams().m_WR
    _, info2 = env.reset(seed=4, options={"params": info["params"]})
    assert info2["params"] == info["params"]
    _, hw = env.reset(options={"params": "hardware-like"})
    assert hw["params"] == WheelbotParams.named("hardware-like").to_dict()


def test_hardware_like_instance_differs_from_nominal_in_every_parameter():
    hw, nominal = WheelbotParams.named("hardware-like"), WheelbotParams()
    same = [n for n in WheelbotParams.names() if getattr(hw, n) == getattr(nominal, n)]
    assert same == []


def test_default_ranges_cover_the_nominal_robot_and_stay_physical():
    nominal = WheelbotParams()
    for name, (low, high) in WheelbotParams.default_ranges.items():
        assert low <= getattr(nominal, name) <= high, name
    # Every corner of the inertia box satisfies the triangle inequality.
    r = WheelbotParams.default_ranges
    WheelbotParams(I_Wxz_Ryz=r["I_Wxz_Ryz"][0], I_Wy_Rx=r["I_Wy_Rx"][1])
    WheelbotParams(I_Bx=r["I_Bx"][0], I_By=r["I_By"][1], I_Bz=r["I_Bz"][0])
    WheelbotParams(I_Bx=r["I_Bx"][1], I_By=r["I_By"][0], I_Bz=r["I_Bz"][0])


# ------------------------------------------------------------------- bad input
BAD_ACTIONS = [
    (np.array([np.nan, 0.0], np.float32), "action must be finite"),
    (np.array([0.0, np.inf], np.float32), "action must be finite"),
    (np.array([0.1], np.float32), r"action must have shape \(2,\), got shape \(1,\)"),
    (np.zeros(3, np.float32), r"action must have shape \(2,\), got shape \(3,\)"),
    (0.1, r"action must have shape \(2,\), got shape \(\)"),
]


@pytest.mark.parametrize("action,message", BAD_ACTIONS)
def test_bad_action_raises_and_leaves_state_untouched(action, message):
    env = make().unwrapped
    env.reset(seed=0)
    env.step(np.array([0.1, 0.1], np.float32))
    before = (env.data.qpos.copy(), env.data.qvel.copy(), env.data.time)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    assert np.array_equal(env.data.qpos, before[0]) and env.data.time == before[2]


BAD_PARAMS = [
    ({"m_b": 0.3}, r"unknown WheelbotParams parameter\(s\) \['m_b'\]"),
    ({"m_B": 0.0}, r"WheelbotParams.m_B must be > 0 kg, got 0.0"),
    ({"r_W": -0.03}, r"WheelbotParams.r_W must be > 0 m, got -0.03"),
    ({"I_By": -1e-4}, r"WheelbotParams.I_By must be > 0 kg m\^2, got -0.0001"),
    ({"fric_magn": -0.001}, r"WheelbotParams.fric_magn must be >= 0 N m, got -0.001"),
    ({"actuation_delay": 0.5}, r"WheelbotParams.actuation_delay must be a whole number"),
    ({"l_WB": float("nan")}, r"WheelbotParams.l_WB must be finite, got nan"),
    ({"I_Wy_Rx": 120e-6}, r"wheel inertia .* violates the triangle inequality"),
    ({"I_By": 500e-6}, r"body inertia .* violates the triangle inequality"),
]


@pytest.mark.parametrize("params,message", BAD_PARAMS)
def test_bad_reset_params_raise_and_leave_env_untouched(params, message):
    env = make().unwrapped
    env.reset(seed=0)
    env.step(np.array([0.1, 0.1], np.float32))
    before = (env.data.qpos.copy(), env.params, model_values(env))
    with pytest.raises(ValueError, match=message):
        env.reset(seed=1, options={"params": params})
    assert np.array_equal(env.data.qpos, before[0])
    assert env.params == before[1] and model_values(env) == before[2]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"params": {"m_WR": -1}}, r"WheelbotParams.m_WR must be > 0 kg, got -1"),
        ({"params": "lab"}, r"unknown WheelbotParams instance 'lab'"),
        ({"randomize": {"m_B": (0.4, 0.3)}}, r"range for 'm_B' has low > high"),
        ({"randomize": {"r_W": (0.0, 0.03)}}, r"range low of 'r_W' must be > 0"),
        ({"randomize": {"mass": (0.1, 0.4)}}, r"unknown WheelbotParams parameter\(s\) \['mass'\]"),
        ({"episode_seconds": 0}, r"episode_seconds must be a positive number, got 0"),
        (
            {"yaw_schedule": [(5.0, 1.0), (4.0, 0.0)]},
            r"yaw_schedule times must be >= 0 and "
            r"strictly increasing",
        ),
        ({"yaw_schedule": [(5.0, float("nan"))]}, r"yaw_schedule entries must be finite"),
        ({"yaw_schedule": [5.0, 1.0]}, r"yaw_schedule must be a sequence of \(time_s, yaw_rad\)"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


@pytest.mark.parametrize(
    "state",
    [np.zeros(9), [0, np.nan, 0, 0, 0, 0, 0, 0, 0, 0], [0, 1.6, 0, 0, 0, 0, 0, 0, 0, 0]],
)
def test_bad_start_state_raises(state):
    env = make()
    with pytest.raises(
        ValueError, match=r"start state must be 10 finite numbers .* \|phi\| < pi/2"
    ):
        env.reset(options={"state": state})


def test_unknown_reset_option_raises():
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['sate'\]"):
        make().reset(options={"sate": np.zeros(10)})


@pytest.mark.parametrize(
    "params,message",
    [
        ({"m_B": "0.3"}, r"^WheelbotParams.m_B must be a real number, got '0.3'$"),
        ({"r_W": False}, r"^WheelbotParams.r_W must be a real number, got False$"),
        (
            {"actuation_delay": 11},
            r"^WheelbotParams.actuation_delay must be <= 10 control steps, got 11$",
        ),
    ],
)
def test_strings_bools_and_long_delays_are_refused_and_leave_env_untouched(params, message):
    env = make().unwrapped
    env.reset(seed=0)
    before = (env.params, model_values(env))
    with pytest.raises(ValueError, match=message):
        env.reset(seed=1, options={"params": params})
    assert (env.params, model_values(env)) == before
