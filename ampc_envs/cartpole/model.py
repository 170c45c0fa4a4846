"""MuJoCo model of the cart-pole, built from :class:`CartpoleParams`.

The model is generated once from the nominal parameters; :func:`apply_params` writes
another parameter instance into an existing model, always from the full parameter
set (never relative to the current model), so instances never compound.
"""

from __future__ import annotations

import math

import mujoco
import numpy as np

from ampc_envs.cartpole.params import FORCE_LIMIT, GRAVITY, PHYSICS_DT, RAIL_LIMIT, CartpoleParams

__all__ = ["build_model", "apply_params", "mechanical_energy", "POLE_RADIUS"]

#: Radius of the pole in m (only for its spin inertia and rendering).
POLE_RADIUS = 0.012
_CART_SIZE = (0.08, 0.05, 0.04)  # half-sizes in m, visual only


def build_model(params: CartpoleParams) -> mujoco.MjModel:
    """Compile the MuJoCo model for a parameter instance.

    The pole's mass properties are given explicitly (``<inertial>``) so that MuJoCo
    and the analytic model use exactly the same uniform-rod inertia; geoms are
    visual only (no contacts). Hinge ``qpos = 0`` is upright.
    """
    rail = RAIL_LIMIT + _CART_SIZE[0]
    xml = f"""
<mujoco model="cartpole">
  <compiler angle="radian" inertiafromgeom="false"/>
  <option timestep="{PHYSICS_DT}" integrator="RK4" gravity="0 0 {-GRAVITY}">
    <flag contact="disable" energy="enable"/>
  </option>
  <visual><global offwidth="640" offheight="480"/></visual>
  <asset>
    <texture name="grid" type="2d" builtin="checker" rgb1=".2 .3 .4" rgb2=".1 .2 .3"
             width="300" height="300"/>
    <material name="grid" texture="grid" texrepeat="8 8" reflectance=".1"/>
  </asset>
  <worldbody>
    <light pos="0 -1 3" dir="0 0.3 -1"/>
    <geom name="floor" type="plane" pos="0 0 -0.75" size="3 3 .1" material="grid"
          contype="0" conaffinity="0"/>
    <geom name="rail" type="capsule" fromto="{-rail} 0 0 {rail} 0 0" size="0.01"
          rgba=".6 .6 .6 1" contype="0" conaffinity="0"/>
    <geom name="stop_left" type="box" pos="{-rail} 0 0" size="0.01 0.06 0.06"
          rgba=".8 .2 .2 1" contype="0" conaffinity="0"/>
    <geom name="stop_right" type="box" pos="{rail} 0 0" size="0.01 0.06 0.06"
          rgba=".8 .2 .2 1" contype="0" conaffinity="0"/>
    <camera name="fixed" pos="0 -3.0 0.1" xyaxes="1 0 0 0 0.05 1"/>
    <body name="cart">
      <joint name="slider" type="slide" axis="1 0 0"/>
      <inertial pos="0 0 0" mass="{params.cart_mass}" diaginertia="1e-3 1e-3 1e-3"/>
      <geom name="cart" type="box" size="{_CART_SIZE[0]} {_CART_SIZE[1]} {_CART_SIZE[2]}"
            rgba=".9 .6 .2 1" contype="0" conaffinity="0"/>
      <body name="pole">
        <joint name="hinge" type="hinge" axis="0 1 0"/>
        <inertial pos="0 0 0" mass="1" diaginertia="1 1 1"/>
        <geom name="pole" type="capsule" size="{POLE_RADIUS} 0.1" rgba=".3 .7 .9 1"
              contype="0" conaffinity="0"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="force" joint="slider" gear="1" ctrllimited="true"
           ctrlrange="{-FORCE_LIMIT} {FORCE_LIMIT}"/>
  </actuator>
</mujoco>
"""
    model = mujoco.MjModel.from_xml_string(xml)
    data = mujoco.MjData(model)
    apply_params(model, data, params)
    return model


def apply_params(model: mujoco.MjModel, data: mujoco.MjData, params: CartpoleParams) -> None:
    """Write every physical parameter of ``params`` into ``model`` and update constants.

    Sets masses, the rod's inertia and centre of mass, the pole geom, the joint
    damping and the actuator gain, then calls ``mj_setConst`` because masses and
    inertias changed.
    """
    m, length = params.pole_mass, params.pole_length
    cart = model.body("cart").id
    pole = model.body("pole").id
    model.body_mass[cart] = params.cart_mass
    model.body_mass[pole] = m
    model.body_ipos[pole] = (0.0, 0.0, length / 2)
    i_perp = m * length**2 / 12.0
    model.body_inertia[pole] = (i_perp, i_perp, 0.5 * m * POLE_RADIUS**2)
    geom = model.geom("pole").id
    model.geom_pos[geom] = (0.0, 0.0, length / 2)
    model.geom_size[geom, 1] = length / 2
    model.dof_damping[model.joint("slider").dofadr[0]] = params.cart_friction
    model.dof_damping[model.joint("hinge").dofadr[0]] = params.pivot_damping
    model.actuator_gear[model.actuator("force").id, 0] = params.actuator_gain
    mujoco.mj_setConst(model, data)


def mechanical_energy(params: CartpoleParams, state: np.ndarray) -> float:
    """Kinetic plus potential energy in J of the cart-pole (rail height = 0).

    Args:
        params: Physical parameters.
        state: ``[x, theta, x_dot, theta_dot]`` with theta = 0 upright.
    """
    _, th, xd, thd = (float(s) for s in state)
    big_m, m, length = params.cart_mass, params.pole_mass, params.pole_length
    lc = length / 2
    vx = xd + lc * thd * math.cos(th)
    vz = -lc * thd * math.sin(th)
    kinetic = 0.5 * big_m * xd**2 + 0.5 * m * (vx**2 + vz**2) + 0.5 * (m * length**2 / 12) * thd**2
    return kinetic + m * GRAVITY * lc * math.cos(th)
