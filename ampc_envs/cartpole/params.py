"""Cart-pole physical parameters: the one source of truth for model, MPC and randomizer.

Conventions used everywhere in the project:

* state ``[x, theta, x_dot, theta_dot]``; ``x`` is the cart position on the rail in m
  (positive to the right), ``theta`` the pole angle in rad, **0 upright**, positive
  when the pole leans towards +x, ``pi`` hanging down;
* input ``u``: force command in N on the cart; the force applied is
  ``actuator_gain * u`` after ``actuation_delay`` control steps;
* the pole is a uniform rod of length ``pole_length`` hinged at its end on the cart,
  so its centre of mass is at ``pole_length / 2`` and its inertia about the centre
  is ``pole_mass * pole_length**2 / 12``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ampc_envs.core.params import PhysicalParams, param

__all__ = [
    "CartpoleParams",
    "STATE_NAMES",
    "CONTROL_DT",
    "PHYSICS_DT",
    "FORCE_LIMIT",
    "RAIL_LIMIT",
    "GRAVITY",
    "EPISODE_SECONDS",
]

#: Control period in s (50 Hz).
CONTROL_DT = 0.02
#: MuJoCo integration step in s (10 physics steps per control step).
PHYSICS_DT = 0.002
#: Limit of the force command in N (the actuator saturates beyond it).
FORCE_LIMIT = 10.0
#: Half-length of the rail in m: the episode ends (crash) when ``|x|`` exceeds it.
RAIL_LIMIT = 0.8
#: Gravitational acceleration in m/s^2.
GRAVITY = 9.81
#: Episode length of the swing-up task in s.
EPISODE_SECONDS = 6.0
#: Names of the 4 states, in order.
STATE_NAMES = ("x", "theta", "x_dot", "theta_dot")


@dataclass(frozen=True)
class CartpoleParams(PhysicalParams):
    """Physical parameters of a lab-sized cart-pole (nominal values are the defaults)."""

    cart_mass: float = param(0.5, "kg", "mass of the cart")
    pole_mass: float = param(0.15, "kg", "mass of the pole (uniform rod)")
    pole_length: float = param(0.6, "m", "full length of the pole, pivot to tip")
    cart_friction: float = param(
        0.1, "N s/m", "viscous friction of the cart on the rail", domain="nonnegative"
    )
    pivot_damping: float = param(
        0.001, "N m s/rad", "viscous damping of the pole pivot", domain="nonnegative"
    )
    actuator_gain: float = param(1.0, "-", "applied force per unit of force command")
    actuation_delay: int = param(
        0,
        "steps",
        "delay of the command in whole control steps",
        domain="nonnegative",
        integer=True,
    )
    position_noise: float = param(
        0.0,
        "m, rad",
        "std of the Gaussian noise on the measured x and theta",
        domain="nonnegative",
    )
    velocity_noise: float = param(
        0.0,
        "m/s, rad/s",
        "std of the Gaussian noise on the measured velocities",
        domain="nonnegative",
    )

    #: The "real systems" the tuner is tested on. ``hardware-like`` is what a lab
    #: cart-pole looks like next to its textbook model: a heavier cart (motor and belt
    #: inertia), a slightly longer and lighter pole, belt friction three times the
    #: catalogue value, a weaker motor, one control step (20 ms) of latency from the
    #: amplifier and bus, and encoder/differentiation noise.
    instances: ClassVar[dict[str, dict[str, float]]] = {
        "hardware-like": {
            "cart_mass": 0.6,
            "pole_mass": 0.13,
            "pole_length": 0.64,
            "cart_friction": 0.3,
            "pivot_damping": 0.003,
            "actuator_gain": 0.85,
            "actuation_delay": 1,
            "position_noise": 0.002,
            "velocity_noise": 0.02,
        },
    }

    #: ``randomize=True`` draws uniformly from these ranges around the nominal values.
    default_ranges: ClassVar[dict[str, tuple[float, float]]] = {
        "cart_mass": (0.4, 0.7),
        "pole_mass": (0.1, 0.2),
        "pole_length": (0.5, 0.7),
        "cart_friction": (0.0, 0.4),
        "pivot_damping": (0.0, 0.005),
        "actuator_gain": (0.8, 1.2),
        "actuation_delay": (0, 1),
        "position_noise": (0.0, 0.003),
        "velocity_noise": (0.0, 0.03),
    }
