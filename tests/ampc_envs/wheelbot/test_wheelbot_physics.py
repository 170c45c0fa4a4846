"""Physics of the Mini Wheelbot MuJoCo model: parameters, conservation laws, contact.

Every check runs the real MuJoCo model the env uses (0.5 ms implicit steps).
"""

from __future__ import annotations

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import ampc_envs  # noqa: F401  (registers the envs)
from ampc_envs.wheelbot import dynamics
from ampc_envs.wheelbot import model as wheelbot_model
from ampc_envs.wheelbot.lqr import BalancingLQR
from ampc_envs.wheelbot.params import CONTROL_DT, GRAVITY, WheelbotParams

ENV_ID = "ampc_envs/WheelbotYaw-v0"
LQR = BalancingLQR()
INSTANCES = [
    WheelbotParams(),
    WheelbotParams.named("hardware-like"),
    WheelbotParams().sample(WheelbotParams.default_ranges, np.random.default_rng(1)),
]


def make_env(params=None):
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0, options={"params": params or "nominal", "state": np.zeros(10)})
    return env


def contact_point_velocity(model, data) -> np.ndarray:
    """World velocity in m/s of the wheel's material point at the contact."""
    mujoco.mj_forward(model, data)
    assert data.ncon == 1
    wheel = model.body("wheel").id
    vel = np.zeros(6)  # [angular, linear] at the wheel's centre of mass, world frame
    mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, wheel, vel, 0)
    return vel[3:] + np.cross(vel[:3], data.contact[0].pos - data.xipos[wheel])


# ------------------------------------------------------------- mass properties
@pytest.mark.parametrize("params", INSTANCES, ids=["nominal", "hardware-like", "sampled"])
def test_masses_inertias_and_geometry_in_mujoco_equal_the_params(params):
    env = make_env(params)
    m, d = env.model, env.data
    body, wheel, react = (m.body(n).id for n in ("body", "wheel", "reaction_wheel"))
    p = params
    assert m.body_mass[body] == p.m_B and m.body_mass[wheel] == m.body_mass[react] == p.m_WR
    np.testing.assert_array_equal(m.body_inertia[body], [p.I_Bx, p.I_By, p.I_Bz])
    np.testing.assert_array_equal(m.body_inertia[wheel], [p.I_Wxz_Ryz, p.I_Wy_Rx, p.I_Wxz_Ryz])
    np.testing.assert_array_equal(m.body_inertia[react], [p.I_Wy_Rx, p.I_Wxz_Ryz, p.I_Wxz_Ryz])
    for b in (body, wheel, react):  # principal axes are the body axes
        np.testing.assert_array_equal(m.body_iquat[b], [1, 0, 0, 0])
    np.testing.assert_array_equal(m.body_ipos[body], [0, 0, p.l_WB])
    np.testing.assert_array_equal(m.body_pos[react], [0, 0, 2 * p.l_WB])
    assert m.geom_size[m.geom("tyre").id][0] == m.geom_size[m.geom("tyre").id][2] == p.r_W
    # Whole robot upright: mass and height of the centre of mass.
    total = p.m_B + 2 * p.m_WR
    assert m.body_subtreemass[body] == pytest.approx(total, rel=1e-12)
    com_height = p.r_W + (p.m_B * p.l_WB + p.m_WR * 2 * p.l_WB) / total
    assert d.subtree_com[body][2] == pytest.approx(com_height, abs=2e-6)  # rest depth ~1 um


@pytest.mark.parametrize("params", INSTANCES[:2], ids=["nominal", "hardware-like"])
def test_mujoco_energy_equals_the_analytic_models_at_random_states(params):
    """Same energy = same masses, inertias, kinematics and rolling velocities.

    MuJoCo's tyre sits ``REST_DEPTH`` (about 1 um) deep in the floor, so it rolls on
    that much smaller a radius: the analytic model is evaluated with it.
    """
    env = make_env(params)
    energy = dynamics.energy_function()
    p = dynamics.param_vector(params.replace(r_W=params.r_W - wheelbot_model.REST_DEPTH))
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.uniform(-1, 1, 10) * [3, 0.8, 1.5, 3, 3, 3, 10, 10, 50, 100]
        wheelbot_model.set_state(env.model, env.data, params, x)
        mujoco.mj_forward(env.model, env.data)
        kinetic, potential = energy(x, p).full().ravel()
        potential_mj, kinetic_mj = env.data.energy
        assert kinetic_mj == pytest.approx(kinetic, rel=1e-12)
        assert potential_mj == pytest.approx(potential, rel=1e-12)


# ---------------------------------------------------------- conservation laws
def test_wheels_spun_up_in_the_air_conserve_angular_momentum():
    """Motor torques are internal: in free fall the total angular momentum stays 0."""
    env = make_env()
    m, d = env.model, env.data
    wheelbot_model.set_state(m, d, env.params, [0.3, 0.1, -0.2, 0, 0, 0, 0, 0, 0, 0])
    d.qpos[2] = 10.0  # far above the floor
    body = m.body("body").id
    for k in range(80):  # 0.4 s
        d.ctrl[:] = [0.05 * math.sin(20 * k * CONTROL_DT), 0.05]
        wheelbot_model.step(m, d, env.params, env.frame_skip)
        mujoco.mj_forward(m, d)
        mujoco.mj_subtreeVel(m, d)
        assert d.ncon == 0
        assert np.linalg.norm(d.subtree_angmom[body]) < 1e-12
        # The centre of mass falls freely: velocity -g t, whatever the motors do (to the
        # first-order integration error of a body tumbling at 10 rad/s, about 1 %).
        fall_speed = GRAVITY * (k + 1) * CONTROL_DT
        np.testing.assert_allclose(
            d.subtree_linvel[body], [0, 0, -fall_speed], atol=0.02 * fall_speed
        )
    # The wheels spun up and the body turned the other way.
    x = wheelbot_model.get_state(m, d)
    assert abs(x[9]) > 100 and abs(x[8]) > 10
    assert abs(x[4]) > 5  # body roll rate, reacting to the reaction wheel


def test_upright_robot_spinning_about_the_vertical_keeps_its_yaw_rate_without_friction():
    env = make_env()
    state = [0, 0, 0, 2.0, 0, 0, 0, 0, 0, 0]
    env.reset(seed=0, options={"state": state, "params": {"fric_magn": 0.0}})
    obs = env._get_obs()
    for _ in range(100):  # 0.5 s
        obs, *_ = env.step(LQR(obs))
    assert env.state[3] == pytest.approx(2.0, abs=1e-9)
    assert env.state[0] == pytest.approx(2.0 * 0.5, abs=1e-9)


@pytest.mark.parametrize("yaw_rate", [2.0, 0.01], ids=["sliding", "viscous"])
def test_yaw_friction_decelerates_the_yaw_as_the_analytic_tanh_law(yaw_rate):
    """Upright and spinning: psi_ddot = -fric_magn tanh(fric_slope psi_dot) / I_z."""
    env = make_env()
    x0 = np.array([0, 0, 0, yaw_rate, 0, 0, 0, 0, 0, 0])
    env.reset(seed=0, options={"state": x0})
    rates = [yaw_rate]
    for _ in range(30):  # 0.15 s
        env.step(np.zeros(2, np.float32))
        rates.append(env.state[3])
    expected = dynamics.simulate(x0, np.zeros((30, 2)), CONTROL_DT, substeps=50)[:, 3]
    np.testing.assert_allclose(rates, expected, atol=0.01 * yaw_rate)
    p = WheelbotParams()
    if yaw_rate == 2.0:  # saturated: constant deceleration fric_magn / I_z, then it sticks
        decel = (rates[0] - rates[4]) / (4 * CONTROL_DT)
        assert decel == pytest.approx(p.fric_magn / wheelbot_model.yaw_inertia(p), rel=0.01)
    assert abs(rates[-1]) < 1e-3 * yaw_rate


@pytest.mark.parametrize("gain", [1.0, 0.8])
def test_motor_torques_spin_up_the_wheels_as_the_analytic_model(gain):
    env = make_env({"actuator_gain": gain})
    command = np.array([0.1, -0.2], np.float32)
    obs, *_ = env.step(command)
    expected = dynamics.simulate(np.zeros(10), [gain * command], CONTROL_DT, substeps=50)[-1]
    np.testing.assert_allclose(obs[8:10], expected[8:10], rtol=0.01)
    assert abs(obs[9]) > 5  # the reaction wheel did spin up


# ------------------------------------------------------------------- contact
def test_wheel_rolls_without_slipping_while_driving():
    """Driving 2 m at up to about 1.7 m/s: the tyre's contact point stays at rest."""
    env = make_env()
    env.reset(seed=0, options={"state": [0, 0.02, 0.02, 0.5, 0, 0, 0, 0, 0, 0]})
    obs = env._get_obs()
    start_xy = env.data.qpos[:2].copy()
    target = np.zeros(11)
    slip, speed = [], []
    for k in range(600):  # 3 s; the LQR drives the wheel angle to -60 rad
        target[6] = -60.0 * min(1.0, k / 200)
        obs, *_ = env.step(LQR(obs - target))
        slip.append(np.linalg.norm(contact_point_velocity(env.model, env.data)))
        speed.append(np.linalg.norm(env.data.qvel[:3]))
    assert max(speed) > 1.0
    assert max(slip) < 1e-4  # m/s
    # Odometry: distance = r_W * absolute wheel rotation (heading stays near 0).
    x = env.state
    assert abs(x[0]) < 0.01  # heading
    travelled = env.data.qpos[0] - start_xy[0]
    wheel_turned = x[6] + x[2] - 0.02  # absolute wheel angle: relative angle + pitch
    assert travelled == pytest.approx(WheelbotParams().r_W * wheel_turned, rel=1e-3)


def test_wheel_rolls_without_slipping_while_falling_and_turning():
    env = make_env()
    env.reset(seed=0, options={"state": [0, -0.03, 0.02, 1.0, 0.1, -0.2, 0, 0, 15, -30]})
    slip, speed = [], []
    for _ in range(55):
        env.step(np.zeros(2, np.float32))
        slip.append(np.linalg.norm(contact_point_velocity(env.model, env.data)))
        speed.append(np.linalg.norm(env.data.qvel[:3]))
    assert max(speed) > 0.4 and max(slip) < 1e-3 * max(speed)


def test_wheel_sinks_less_than_two_micrometres_at_rest():
    env = make_env(WheelbotParams.named("hardware-like"))
    m, d = env.model, env.data
    wheelbot_model.step(m, d, env.params, 2000)  # 1 s at the upright equilibrium
    mujoco.mj_forward(m, d)
    assert d.ncon == 1 and -2e-6 < d.contact[0].dist < 0
    assert np.max(np.abs(env.state)) < 1e-6  # stayed at the equilibrium
