"""MuJoCo model of the Mini Wheelbot, built from :class:`WheelbotParams`.

The robot is a free-floating body (MuJoCo free joint) whose frame origin is the
driving wheel's axle centre. It carries the driving wheel (hinge about the body y
axis) and, ``2 l_WB`` higher, the reaction wheel (hinge about the body x axis), each
driven by a torque motor between wheel and body. Only the driving wheel touches
anything while it balances: its tyre is a thin ellipsoid (semi-axes ``r_W``, 0.5 mm,
``r_W``) whose lowest point is the knife-edge disc contact of the analytic model to
within 1e-5 relative for the roll angles before a crash. The frame plates and the
reaction wheel collide with the floor only (so a fallen robot lies on it); every other
geom is visual and massless.

Contact (wheel on floor): ``condim=3`` (normal force and Coulomb friction, no
torsional or rolling friction), elliptic friction cone with ``friction=1.5`` and
``impratio=20``, and a stiff, critically damped contact (``solref`` time constant
2 ms = 4 physics steps, ``solimp`` 0.99). The wheel then rolls without slipping: the
tyre's material point at the contact moves at below 0.1 mm/s while driving at
1.7 m/s (tested), and the wheel sinks about 1 um into the floor at rest; the start state is
placed at that depth. The soft friction constraint makes rolling lag the analytic
constraint by about the contact time constant, a sub-percent effect on a fall.

Yaw ground friction is not MuJoCo's torsional contact friction (a stiff Coulomb
model with no slope parameter) but exactly the analytic model's generalized torque
``-fric_magn * tanh(fric_slope * psi_dot)`` on the yaw coordinate, applied before every
physics step by :func:`step` as a body torque ``tau A e_z / cos(phi)`` (the torque
that does work on yaw only). Its viscous slope, ``fric_magn * fric_slope / I_z``
of order 1000 1/s, is stiff even for the 0.5 ms step, so the torque is applied with an
exponential-Euler factor ``(1 - exp(-h k)) / (h k)`` that makes the decoupled yaw
mode at upright decay exactly as the ODE's (explicit Euler would overshoot through
zero at the high end of the randomization ranges). The friction acts only while the tyre
touches the floor.

:func:`apply_params` writes a parameter instance into an existing model, always from
the full parameter set (never relative to the current model), so instances never
compound.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from ampc_envs.wheelbot.params import GRAVITY, PHYSICS_DT, TORQUE_LIMIT, WheelbotParams

__all__ = [
    "build_model",
    "apply_params",
    "get_state",
    "set_state",
    "step",
    "yaw_inertia",
    "TYRE_HALF_WIDTH",
    "REST_DEPTH",
]

#: Half-width in m of the tyre ellipsoid along the axle (a near knife-edge disc).
TYRE_HALF_WIDTH = 0.0005
#: Contact stiffness: time constant and damping ratio of MuJoCo's soft contact.
CONTACT_SOLREF = (0.002, 1.0)
CONTACT_SOLIMP = (0.99, 0.99, 0.001, 0.5, 2.0)
#: Sliding friction coefficient of the tyre on the floor.
CONTACT_FRICTION = 1.5
#: Penetration in m of the tyre into the floor at rest (measured, nominal robot); the
#: start state is placed at this depth so that the contact starts in equilibrium.
REST_DEPTH = 8.5e-7

#: Bound on cos(roll)^2 in the yaw-friction torque: the yaw-only torque grows as
#: 1/cos(roll) towards the Euler singularity at |roll| = pi/2; beyond 1.2 rad (the
#: robot has crashed at 0.9 rad and lies on the floor) it is kept finite.
_MIN_COS2_PHI = math.cos(1.2) ** 2

_VISUAL_WHEEL_HALF_WIDTH = 0.008
_REACTION_HALF_WIDTH = 0.005


def build_model(params: WheelbotParams) -> mujoco.MjModel:
    """Compile the MuJoCo model for a parameter instance.

    Mass properties are given explicitly (``<inertial>``), so that MuJoCo and the
    analytic model use exactly the same masses and inertias; geoms other than the
    tyre are visual only.
    """
    r, half = params.r_W, TYRE_HALF_WIDTH
    solref = " ".join(str(v) for v in CONTACT_SOLREF)
    solimp = " ".join(str(v) for v in CONTACT_SOLIMP)
    xml = f"""
<mujoco model="wheelbot">
  <compiler angle="radian" inertiafromgeom="false" autolimits="true"/>
  <option timestep="{PHYSICS_DT}" integrator="implicitfast" gravity="0 0 {-GRAVITY}"
          cone="elliptic" impratio="20">
    <flag energy="enable"/>
  </option>
  <visual>
    <global offwidth="640" offheight="480"/>
    <headlight ambient=".4 .4 .4" diffuse=".6 .6 .6"/>
  </visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1=".2 .3 .4" rgb2=".1 .2 .3"
             width="300" height="300"/>
    <material name="grid" texture="grid" texrepeat="20 20" reflectance=".1"/>
  </asset>
  <default>
    <geom contype="0" conaffinity="0" density="0"/>
  </default>
  <worldbody>
    <light pos="0 -1 2" dir="0 0.5 -1"/>
    <geom name="floor" type="plane" size="5 5 .1" material="grid" contype="1"
          conaffinity="3" condim="3" friction="{CONTACT_FRICTION} 0 0"
          solref="{solref}" solimp="{solimp}"/>
    <body name="body" pos="0 0 {r}">
      <freejoint name="root"/>
      <inertial pos="0 0 {params.l_WB}" mass="1" diaginertia="1 1 1"/>
      <camera name="side" mode="trackcom" pos="0.22 -0.38 0.18"
              xyaxes="0.865 0.501 0 -0.132 0.228 0.965"/>
      <geom name="frame_left" type="box" pos="0 0.012 0.0525" size="0.012 0.002 0.0575"
            rgba=".9 .6 .2 1" contype="2"/>
      <geom name="frame_right" type="box" pos="0 -0.012 0.0525" size="0.012 0.002 0.0575"
            rgba=".9 .6 .2 1" contype="2"/>
      <geom name="battery" type="box" pos="0 0 0.06" size="0.01 0.01 0.025"
            rgba=".3 .3 .3 1"/>
      <geom name="motor_mount" type="box" pos="-0.013 0 0.13" size="0.006 0.014 0.022"
            rgba=".9 .6 .2 1"/>
      <body name="wheel">
        <joint name="wheel" type="hinge" axis="0 1 0"/>
        <inertial pos="0 0 0" mass="1" diaginertia="1 1 1"/>
        <geom name="tyre" type="ellipsoid" size="{r} {half} {r}" contype="1" conaffinity="1"
              condim="3" friction="{CONTACT_FRICTION} 0 0" solref="{solref}"
              solimp="{solimp}" group="3" rgba="0 0 0 0"/>
        <geom name="wheel_visual" type="cylinder" size="{r} {_VISUAL_WHEEL_HALF_WIDTH}"
              zaxis="0 1 0" rgba=".15 .15 .15 1"/>
        <geom name="wheel_spoke" type="box" size="{0.8 * r} {_VISUAL_WHEEL_HALF_WIDTH + 0.001}
              0.004" rgba=".8 .8 .8 1"/>
      </body>
      <body name="reaction_wheel" pos="0 0 {2 * params.l_WB}">
        <joint name="reaction_wheel" type="hinge" axis="1 0 0"/>
        <inertial pos="0 0 0" mass="1" diaginertia="1 1 1"/>
        <geom name="reaction_visual" type="cylinder" size="{r} {_REACTION_HALF_WIDTH}"
              zaxis="1 0 0" rgba=".3 .7 .9 1" contype="2"/>
        <geom name="reaction_spoke" type="box" size="{_REACTION_HALF_WIDTH + 0.001}
              {0.8 * r} 0.004" rgba=".8 .8 .8 1"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="wheel" joint="wheel" gear="1" ctrlrange="{-TORQUE_LIMIT} {TORQUE_LIMIT}"/>
    <motor name="reaction_wheel" joint="reaction_wheel" gear="1"
           ctrlrange="{-TORQUE_LIMIT} {TORQUE_LIMIT}"/>
  </actuator>
</mujoco>
"""
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    apply_params(model, data, params)
    return model


def apply_params(model: mujoco.MjModel, data: mujoco.MjData, params: WheelbotParams) -> None:
    """Write every physical parameter of ``params`` into ``model`` and update constants.

    Sets the three masses, inertias and centres of mass, the reaction wheel's position,
    the wheel radius of the tyre and the visual wheels, and the actuator gains, then
    calls ``mj_setConst`` because masses and inertias changed. The yaw friction and
    the sensor noise are read from ``params`` by :func:`step` and the env.
    """
    body, wheel, react = (model.body(n).id for n in ("body", "wheel", "reaction_wheel"))
    i_wxz, i_wy = params.I_Wxz_Ryz, params.I_Wy_Rx
    model.body_mass[body] = params.m_B
    model.body_ipos[body] = (0.0, 0.0, params.l_WB)
    model.body_inertia[body] = (params.I_Bx, params.I_By, params.I_Bz)
    model.body_mass[wheel] = params.m_WR
    model.body_inertia[wheel] = (i_wxz, i_wy, i_wxz)
    model.body_mass[react] = params.m_WR
    model.body_inertia[react] = (i_wy, i_wxz, i_wxz)
    model.body_pos[react] = (0.0, 0.0, 2 * params.l_WB)
    r = params.r_W
    model.geom_size[model.geom("tyre").id] = (r, TYRE_HALF_WIDTH, r)
    # The broad phase uses the bounding sphere and box: keep them consistent.
    model.geom_rbound[model.geom("tyre").id] = r
    model.geom_aabb[model.geom("tyre").id, 3:] = (r, TYRE_HALF_WIDTH, r)
    model.geom_size[model.geom("wheel_visual").id, 0] = r
    react_geom = model.geom("reaction_visual").id  # collides with the floor after a fall
    model.geom_size[react_geom, 0] = r
    model.geom_rbound[react_geom] = math.hypot(r, _REACTION_HALF_WIDTH)
    model.geom_aabb[react_geom, 3:] = (r, r, _REACTION_HALF_WIDTH)
    for name in ("wheel", "reaction_wheel"):
        model.actuator_gear[model.actuator(name).id, 0] = params.actuator_gain
    mujoco.mj_setConst(model, data)


def yaw_inertia(params: WheelbotParams) -> float:
    """Moment of inertia in kg m^2 of the upright robot about the vertical axis."""
    return params.I_Bz + 2 * params.I_Wxz_Ryz


def get_state(model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
    """The 10-state vector of :mod:`ampc_envs.wheelbot.params` from MuJoCo's state.

    Yaw, roll, pitch are the z-x-y Euler angles of the body's quaternion
    (``R = Rz(psi) Rx(phi) Ry(theta)``; ``psi`` in (-pi, pi], ``phi`` in [-pi/2, pi/2],
    ``theta`` in (-pi, pi]); their rates follow from the body's angular velocity;
    wheel angles and rates are the hinge joints' (relative to the body).
    """
    qw, qx, qy, qz, wheel, react = data.qpos[3:9].tolist()
    wx, wy, wz, wheel_rate, react_rate = data.qvel[3:8].tolist()  # body-frame angular velocity
    r01 = 2 * (qx * qy - qw * qz)
    r11 = 1 - 2 * (qx * qx + qz * qz)
    r20 = 2 * (qx * qz - qw * qy)
    r21 = 2 * (qy * qz + qw * qx)
    r22 = 1 - 2 * (qx * qx + qy * qy)
    phi = math.asin(max(-1.0, min(1.0, r21)))
    theta = math.atan2(-r20, r22)
    psi = math.atan2(-r01, r11)
    # Angular velocity in the frame A = Rz Rx: w_A = Ry(theta) w_B = [phi_dot,
    # theta_dot + sin(phi) psi_dot, cos(phi) psi_dot]. Lying on its side (|phi| = pi/2,
    # long after a crash) the yaw rate is undefined; it is kept finite.
    ct, st = math.cos(theta), math.sin(theta)
    psi_dot = (-st * wx + ct * wz) / max(math.cos(phi), 1e-9)
    phi_dot = ct * wx + st * wz
    theta_dot = wy - math.sin(phi) * psi_dot
    return np.array(
        [psi, phi, theta, psi_dot, phi_dot, theta_dot, wheel, react, wheel_rate, react_rate]
    )


def set_state(
    model: mujoco.MjModel,
    data: mujoco.MjData,
    params: WheelbotParams,
    x: np.ndarray,
    contact_xy: tuple[float, float] = (0.0, 0.0),
) -> None:
    """Put the robot in state ``x`` (10), rolling on the floor, contact at ``contact_xy``.

    The body's position follows from the contact point and the roll angle (the axle
    centre is ``r_W - REST_DEPTH`` from the floor along ``A e_z``) and its linear
    velocity from rolling without slipping, so the state is consistent with the
    contact; ``mj_forward`` is not called.
    """
    psi, phi, theta, dpsi, dphi, dtheta, q_w, q_r, w_w, w_r = (float(v) for v in x)
    a = _rot_z(psi) @ _rot_x(phi)
    b = a @ _rot_y(theta)
    ez = a[:, 2]
    radius = params.r_W - REST_DEPTH
    data.qpos[0:3] = (contact_xy[0], contact_xy[1], 0.0) + radius * ez
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, b.ravel())
    data.qpos[3:7] = quat
    data.qpos[7] = q_w
    data.qpos[8] = q_r
    w_body = dpsi * np.array([0.0, 0.0, 1.0]) + dphi * _rot_z(psi)[:, 0] + dtheta * a[:, 1]
    w_wheel = w_body + w_w * b[:, 1]
    data.qvel[0:3] = np.cross(w_wheel, radius * ez)
    data.qvel[3:6] = b.T @ w_body
    data.qvel[6] = w_w
    data.qvel[7] = w_r


def step(model: mujoco.MjModel, data: mujoco.MjData, params: WheelbotParams, nstep: int) -> None:
    """Advance ``nstep`` physics steps, applying the yaw friction before each.

    The friction acts only while the tyre touches the floor (in the air the motors'
    torques are internal and the angular momentum is conserved).

    The friction ``tau = -fric_magn tanh(fric_slope psi_dot)`` is a generalized force on
    yaw alone; as a torque on the body it is ``tau A e_z / cos(phi)``, which in body
    coordinates is ``tau (r20, 0, r22) / cos(phi)^2`` with ``r2j`` the bottom row of
    the body's rotation matrix (``A e_z`` is the only direction orthogonal to the
    roll and pitch axes).
    """
    magn, slope = params.fric_magn, params.fric_slope
    # h k at sech^2 = 1, for the exponential-Euler factor (see the module docstring).
    stiffness = model.opt.timestep * magn * slope / yaw_inertia(params)
    qpos, qvel, qfrc = data.qpos, data.qvel, data.qfrc_applied
    mj_step, tanh, exp = mujoco.mj_step, math.tanh, math.exp
    for _ in range(nstep):
        if data.ncon:  # ground friction needs ground contact (previous step's collision)
            qw, qx, qy, qz = qpos[3:7].tolist()
            wx, _, wz = qvel[3:6].tolist()
            r20 = 2.0 * (qx * qz - qw * qy)
            r21 = 2.0 * (qy * qz + qw * qx)
            r22 = 1.0 - 2.0 * (qx * qx + qy * qy)
            cos2_phi = max(1.0 - r21 * r21, _MIN_COS2_PHI)
            t = tanh(slope * (r20 * wx + r22 * wz) / cos2_phi)
            hk = stiffness * (1.0 - t * t)
            tau = -magn * t / cos2_phi
            if hk > 1e-9:
                tau *= (1.0 - exp(-hk)) / hk
            qfrc[3] = tau * r20
            qfrc[5] = tau * r22
        else:
            qfrc[3] = qfrc[5] = 0.0
        mj_step(model, data)


def _rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
