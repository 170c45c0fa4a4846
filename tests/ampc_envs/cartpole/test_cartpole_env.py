"""Specification of ``ampc_envs/CartpoleSwingUp-v0`` (real MuJoCo, no mocks)."""

from __future__ import annotations

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import ampc_envs  # noqa: F401  (registers the envs)
from ampc_envs.cartpole.env import swingup_reward
from ampc_envs.cartpole.model import mechanical_energy
from ampc_envs.cartpole.params import CONTROL_DT, FORCE_LIMIT, GRAVITY, CartpoleParams
from ampc_envs.core.angles import wrap_angle

ENV_ID = "ampc_envs/CartpoleSwingUp-v0"
FRICTIONLESS = {"cart_friction": 0.0, "pivot_damping": 0.0}


def make(**kwargs):
    return gym.make(ENV_ID, **kwargs)


def hanging_at_rest(env, params=None):
    options = {"state": [0.0, math.pi, 0.0, 0.0]}
    if params is not None:
        options["params"] = params
    return env.reset(seed=0, options=options)


# --------------------------------------------------------------------- interface
def test_passes_gymnasium_env_checker():
    env = make(render_mode="rgb_array", randomize=True)
    check_env(env.unwrapped)


def test_vector_envs_step_in_lockstep():
    vec = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="sync")
    obs, info = vec.reset(seed=[1, 2, 3])
    assert obs.shape == (3, 4)
    obs, rew, term, trunc, info = vec.step(np.zeros((3, 1), np.float32))
    assert obs.shape == (3, 4) and rew.shape == (3,)
    sync = gym.vector.SyncVectorEnv([lambda: make() for _ in range(2)])
    obs, _ = sync.reset(seed=7)
    assert not np.array_equal(obs[0], obs[1])  # seeds 7 and 8


def test_rgb_array_rendering_is_headless():
    env = make(render_mode="rgb_array", width=160, height=120)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 5  # not a blank image
    env.close()


def rollout(seed, steps=60, **kwargs):
    env = make(randomize=True, **kwargs)
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(123)
    traj = [obs]
    for _ in range(steps):
        obs, *_ = env.step(rng.uniform(-10, 10, 1).astype(np.float32))
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


def test_observation_is_wrapped_state_with_upright_zero():
    env = make()
    obs, _ = env.reset(seed=0, options={"state": [0.1, 3 * math.pi / 2, 0.2, -0.3]})
    np.testing.assert_allclose(obs, [0.1, -math.pi / 2, 0.2, -0.3], atol=1e-12)
    assert wrap_angle(math.pi) == math.pi and wrap_angle(-math.pi) == math.pi
    # theta > 0 leans to +x: the pole tip is right of the cart.
    env.reset(seed=0, options={"state": [0.0, 0.3, 0.0, 0.0]})
    data = env.unwrapped.data
    tip = data.xpos[env.unwrapped.model.body("pole").id] + data.xmat[
        env.unwrapped.model.body("pole").id
    ].reshape(3, 3) @ np.array([0, 0, 0.6])
    assert tip[0] == pytest.approx(0.6 * math.sin(0.3), rel=1e-9)


def test_start_state_hangs_down_with_small_perturbation():
    env = make()
    starts = np.array([env.reset(seed=s)[0] for s in range(50)])
    assert np.all(np.abs(starts[:, 0]) <= 0.05)
    assert np.all(np.abs(np.abs(starts[:, 1]) - math.pi) <= 0.1 + 1e-12)
    assert np.all(np.abs(starts[:, 2:]) <= 0.05)


# ------------------------------------------------------------------------ physics
@pytest.mark.parametrize("length", [0.5, 0.7])
def test_small_oscillation_period_matches_compound_pendulum(length):
    """Pivot on a free cart: omega^2 = m g l / (I_p - m^2 l^2/(M+m)), I_p = m L^2/3."""
    env = make(episode_seconds=30)
    p = CartpoleParams(pole_length=length, **FRICTIONLESS)
    env.reset(seed=0, options={"params": p.to_dict(), "state": [0, math.pi + 0.02, 0, 0]})
    model, data = env.unwrapped.model, env.unwrapped.data
    times, angles = [], []
    for _ in range(int(10.0 / model.opt.timestep)):
        mujoco.mj_step(model, data)
        times.append(data.time)
        angles.append(data.qpos[1] - math.pi)
    angles = np.array(angles)
    # Upward zero crossings, linearly interpolated.
    idx = np.where((angles[:-1] < 0) & (angles[1:] >= 0))[0]
    t = np.array(times)
    crossings = t[idx] - angles[idx] * (t[idx + 1] - t[idx]) / (angles[idx + 1] - angles[idx])
    measured = np.mean(np.diff(crossings))
    m, big_m, lc = p.pole_mass, p.cart_mass, length / 2
    i_pivot = m * length**2 / 3
    omega2 = m * GRAVITY * lc / (i_pivot - m**2 * lc**2 / (big_m + m))
    assert measured == pytest.approx(2 * math.pi / math.sqrt(omega2), rel=0.02)


def test_heavy_cart_gives_fixed_pivot_compound_pendulum_period():
    """With a cart 10^4 times heavier, T = 2 pi sqrt(2 L / (3 g)) (rod on a fixed pivot)."""
    env = make()
    p = CartpoleParams(cart_mass=1e4, pole_length=0.6, **FRICTIONLESS)
    env.reset(seed=0, options={"params": p.to_dict(), "state": [0, math.pi + 0.02, 0, 0]})
    model, data = env.unwrapped.model, env.unwrapped.data
    prev, crossings = data.qpos[1] - math.pi, []
    while data.time < 8.0:
        mujoco.mj_step(model, data)
        cur = data.qpos[1] - math.pi
        if prev < 0 <= cur:
            crossings.append(data.time - model.opt.timestep * cur / (cur - prev))
        prev = cur
    expected = 2 * math.pi * math.sqrt(2 * 0.6 / (3 * GRAVITY))
    assert np.mean(np.diff(crossings)) == pytest.approx(expected, rel=0.02)


def test_energy_is_conserved_without_friction():
    env = make()
    p = CartpoleParams(**FRICTIONLESS)
    start = [0.0, math.pi / 2, 0.5, 2.0]
    env.reset(seed=0, options={"params": p.to_dict(), "state": start})
    model, data = env.unwrapped.model, env.unwrapped.data
    # Potential measured from the hanging position, so the energy is positive.
    offset = p.pole_mass * GRAVITY * p.pole_length / 2
    e0 = mechanical_energy(p, np.array(start)) + offset
    worst = 0.0
    while data.time < 5.0:
        mujoco.mj_step(model, data)
        state = [data.qpos[0], data.qpos[1], data.qvel[0], data.qvel[1]]
        worst = max(worst, abs(mechanical_energy(p, np.array(state)) + offset - e0))
    assert worst / e0 < 0.01
    assert data.qpos[1] != pytest.approx(start[1])  # it did move


def test_friction_dissipates_energy():
    env = make()
    p = CartpoleParams()
    start = np.array([0.0, math.pi / 2, 0.5, 2.0])
    env.reset(seed=0, options={"params": p.to_dict(), "state": start})
    for _ in range(100):
        env.step(np.zeros(1, np.float32))
    assert mechanical_energy(p, env.unwrapped.state) < mechanical_energy(p, start) - 1e-3


@pytest.mark.parametrize("gain", [1.0, 0.8])
def test_constant_force_gives_newtons_initial_acceleration(gain):
    """Hanging at rest, a uniform rod lags the cart: a = g F / (M + m - m^2 l^2 / I_p).

    For a rod (l = L/2, I_p = m L^2 / 3) this is g F / (M + m/4): the textbook
    g F / (M + m) holds only for a pole rigidly fixed to the cart.
    """
    env = make()
    p = CartpoleParams(actuator_gain=gain)
    hanging_at_rest(env, p.to_dict())
    model, data = env.unwrapped.model, env.unwrapped.data
    force = 4.0
    data.ctrl[:] = force
    mujoco.mj_forward(model, data)
    m, big_m, lc = p.pole_mass, p.cart_mass, p.pole_length / 2
    expected = gain * force / (big_m + m - m**2 * lc**2 / (m * p.pole_length**2 / 3))
    assert data.qacc[0] == pytest.approx(expected, rel=1e-6)
    # Through the env: after one short control step, x = a t^2 / 2 to within 2 %.
    hanging_at_rest(env, p.to_dict())
    obs, *_ = env.step(np.array([force], np.float32))
    assert obs[0] == pytest.approx(0.5 * expected * CONTROL_DT**2, rel=0.02)


def test_actuation_delay_holds_the_command_back_whole_steps():
    env = make()
    hanging_at_rest(env, {"actuation_delay": 2, "cart_friction": 0.0})
    xs = [env.step(np.array([5.0], np.float32))[0][0] for _ in range(3)]
    assert abs(xs[0]) < 1e-12 and abs(xs[1]) < 1e-12
    assert xs[2] > 1e-4


def test_commands_beyond_the_limit_saturate_at_the_actuator():
    env = make()
    hanging_at_rest(env)
    x_limit = env.step(np.array([FORCE_LIMIT], np.float32))[0][0]
    hanging_at_rest(env)
    x_beyond = env.step(np.array([3 * FORCE_LIMIT], np.float32))[0][0]
    assert x_beyond == x_limit


def test_observation_noise_has_the_declared_std():
    env = make(params={"position_noise": 0.01, "velocity_noise": 0.1})
    errors = []
    for seed in range(400):
        obs, _ = env.reset(seed=seed)
        errors.append(obs - env.unwrapped.state)
    errors = np.array(errors)
    errors[:, 1] = wrap_angle(errors[:, 1])
    np.testing.assert_allclose(errors.std(axis=0), [0.01, 0.01, 0.1, 0.1], rtol=0.15)


# ------------------------------------------------------------------ task/reward
def test_reward_is_one_only_upright_centred_calm_and_zero_hanging():
    assert swingup_reward(np.zeros(4), 0.0)[0] == pytest.approx(1.0)
    assert swingup_reward(np.array([0, math.pi, 0, 0]), 0.0)[0] == pytest.approx(0.0)
    assert swingup_reward(np.array([0.5, 0, 0, 0]), 0.0)[0] < 0.6
    assert swingup_reward(np.array([0, 0, 0, 4.0]), 0.0)[0] < 0.6
    assert swingup_reward(np.array([0, 0.5, 0, 0]), 0.0)[0] < 0.9
    rng = np.random.default_rng(0)
    for _ in range(1000):
        s = rng.uniform([-1, -4, -5, -20], [1, 4, 5, 20])
        r = swingup_reward(s, rng.uniform(-20, 20))[0]
        assert 0.0 <= r <= 1.0


def test_leaving_the_rail_terminates_with_a_crash():
    env = make()
    hanging_at_rest(env)
    for step in range(300):  # noqa: B007  (step is read after the loop)
        obs, r, terminated, truncated, info = env.step(np.array([10.0], np.float32))
        if terminated:
            break
    assert terminated and info["crashed"] and not truncated
    assert obs[0] > 0.8 and step < 60


def test_episode_truncates_after_six_seconds():
    env = make()
    env.reset(seed=0)
    for step in range(1, 400):  # noqa: B007
        *_, terminated, truncated, info = env.step(np.zeros(1, np.float32))
        if terminated or truncated:
            break
    assert step == 300 and truncated and not info["crashed"]


# ---------------------------------------------------------------- randomization
def model_values(env):
    m = env.unwrapped.model
    return {
        "cart_mass": m.body_mass[m.body("cart").id],
        "pole_mass": m.body_mass[m.body("pole").id],
        "pole_length": 2 * m.body_ipos[m.body("pole").id][2],
        "cart_friction": m.dof_damping[0],
        "pivot_damping": m.dof_damping[1],
        "actuator_gain": m.actuator_gear[0, 0],
    }


def test_randomized_resets_never_compound():
    env = make(randomize=True)
    ranges = CartpoleParams.default_ranges
    samples = []
    for seed in range(100):
        _, info = env.reset(seed=seed)
        p = info["params"]
        samples.append(p)
        for name, (low, high) in ranges.items():
            assert low <= p[name] <= high, name
        for name, value in model_values(env).items():
            assert value == pytest.approx(p[name], rel=1e-12), name
        # mj_setConst ran: the subtree mass follows the sampled masses.
        m = env.unwrapped.model
        assert m.body_subtreemass[m.body("cart").id] == pytest.approx(
            p["cart_mass"] + p["pole_mass"], rel=1e-12
        )
    # The sampled distribution stays centred on the ranges (no drift over resets).
    for name in ("cart_mass", "pole_length", "actuator_gain"):
        values = np.array([s[name] for s in samples])
        low, high = ranges[name]
        assert abs(values[50:].mean() - (low + high) / 2) < 0.15 * (high - low)
        assert abs(values[:50].mean() - values[50:].mean()) < 0.2 * (high - low)
    # After 100 resets the nominal instance is exactly the nominal model.
    _, info = env.reset(seed=0, options={"params": "nominal"})
    fresh = make()
    fresh.reset(seed=0)
    assert model_values(env) == model_values(fresh)


def test_fixed_instance_round_trips_through_info():
    env = make(randomize=True)
    wanted = {"cart_mass": 0.55, "pole_length": 0.65, "actuation_delay": 1}
    _, info = env.reset(seed=3, options={"params": wanted})
    for name, value in wanted.items():
        assert info["params"][name] == value
    assert info["params"]["pole_mass"] == CartpoleParams().pole_mass
    _, info2 = env.reset(seed=4, options={"params": info["params"]})
    assert info2["params"] == info["params"]
    _, hw = env.reset(options={"params": "hardware-like"})
    assert hw["params"] == CartpoleParams.named("hardware-like").to_dict()


def test_hardware_like_instance_differs_from_nominal():
    hw, nominal = CartpoleParams.named("hardware-like"), CartpoleParams()
    different = [n for n in CartpoleParams.names() if getattr(hw, n) != getattr(nominal, n)]
    assert {"cart_mass", "actuator_gain", "actuation_delay", "cart_friction"} <= set(different)


# ------------------------------------------------------------------- bad input
BAD_ACTIONS = [
    (np.array([np.nan], np.float32), "action must be finite"),
    (np.array([np.inf], np.float32), "action must be finite"),
    (np.array([1.0, 2.0], np.float32), r"action must have shape \(1,\), got shape \(2,\)"),
    (3.0, r"action must have shape \(1,\), got shape \(\)"),
]


@pytest.mark.parametrize("action,message", BAD_ACTIONS)
def test_bad_action_raises_and_leaves_state_untouched(action, message):
    env = make().unwrapped
    env.reset(seed=0)
    env.step(np.array([2.0], np.float32))
    before = (env.data.qpos.copy(), env.data.qvel.copy(), env.data.time)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    assert np.array_equal(env.data.qpos, before[0]) and env.data.time == before[2]


BAD_PARAMS = [
    ({"cart_mas": 0.5}, r"unknown CartpoleParams parameter\(s\) \['cart_mas'\]"),
    ({"cart_mass": 0.0}, r"CartpoleParams.cart_mass must be > 0 kg, got 0.0"),
    ({"pole_length": -0.6}, r"CartpoleParams.pole_length must be > 0 m, got -0.6"),
    ({"cart_friction": -0.1}, r"CartpoleParams.cart_friction must be >= 0 N s/m, got -0.1"),
    ({"actuation_delay": -1}, r"CartpoleParams.actuation_delay must be >= 0 steps, got -1"),
    ({"pole_mass": float("nan")}, r"CartpoleParams.pole_mass must be finite, got nan"),
]


@pytest.mark.parametrize("params,message", BAD_PARAMS)
def test_bad_reset_params_raise_and_leave_env_untouched(params, message):
    env = make().unwrapped
    env.reset(seed=0)
    env.step(np.array([2.0], np.float32))
    before = (env.data.qpos.copy(), env.params, model_values(env))
    with pytest.raises(ValueError, match=message):
        env.reset(seed=1, options={"params": params})
    assert np.array_equal(env.data.qpos, before[0])
    assert env.params == before[1] and model_values(env) == before[2]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"params": {"pole_mass": -1}}, r"CartpoleParams.pole_mass must be > 0 kg, got -1"),
        ({"params": "lab"}, r"unknown CartpoleParams instance 'lab'"),
        ({"randomize": {"cart_mass": (0.7, 0.4)}}, r"range for 'cart_mass' has low > high"),
        ({"randomize": {"cart_mass": (0.0, 0.4)}}, r"range low of 'cart_mass' must be > 0"),
        ({"randomize": {"mass": (0.1, 0.4)}}, r"unknown CartpoleParams parameter\(s\) \['mass'\]"),
        ({"episode_seconds": -1.0}, r"episode_seconds must be a positive number, got -1.0"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


def test_bad_reset_options_raise():
    env = make()
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['sate'\]"):
        env.reset(options={"sate": [0, 0, 0, 0]})
    with pytest.raises(ValueError, match=r"start state must be 4 finite numbers"):
        env.reset(options={"state": [0, np.nan, 0, 0]})


STRICT_PARAMS = [
    ({"cart_mass": "0.4"}, r"^CartpoleParams.cart_mass must be a real number, got '0.4'$"),
    ({"cart_mass": True}, r"^CartpoleParams.cart_mass must be a real number, got True$"),
    ({"pole_length": None}, r"^CartpoleParams.pole_length must be a real number, got None$"),
    (
        {"actuation_delay": 10**7},
        r"^CartpoleParams.actuation_delay must be <= 10 control steps, got 10000000$",
    ),
]


@pytest.mark.parametrize("params,message", STRICT_PARAMS)
def test_strings_bools_and_huge_delays_are_refused_and_leave_env_untouched(params, message):
    env = make().unwrapped
    env.reset(seed=0)
    before = (env.params, model_values(env), len(env._delay_line))
    with pytest.raises(ValueError, match=message):
        env.reset(seed=1, options={"params": params})
    assert (env.params, model_values(env), len(env._delay_line)) == before


def test_the_longest_accepted_delay_holds_the_command_that_many_steps():
    env = make().unwrapped
    env.reset(seed=0, options={"params": {"actuation_delay": env.max_delay_steps}})
    applied = []
    for k in range(env.max_delay_steps + 1):
        env.step(np.array([1.0 + k], np.float32))
        applied.append(float(env.data.ctrl[0]))
    assert applied == [0.0] * env.max_delay_steps + [1.0]
