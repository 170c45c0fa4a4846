"""Mini Wheelbot physical parameters: the one source of truth for model, MPC and randomizer.

Conventions used everywhere in the project (MuJoCo model, analytic model, env, LQR):

* world frame: z up, gravity ``-GRAVITY`` along z;
* orientation of the body (chassis) ``R = Rz(psi) Rx(phi) Ry(theta)``, intrinsic
  z-x-y Euler angles: **yaw** ``psi`` about the world vertical, **roll** ``phi`` about
  the yawed x axis (tilts the wheel axle; ``phi > 0`` leans the robot towards -y of
  the yawed frame), **pitch** ``theta`` about the wheel axle (body y axis;
  ``theta > 0`` leans the body towards +x, the direction the wheel rolls for
  ``omega_W > 0``). Upright is ``phi = theta = 0``;
* the driving wheel spins about the body y axis, the reaction wheel about the body
  x axis; ``q_W``, ``q_R`` are their angles **relative to the body** (what the motor
  encoders read) and ``omega_W``, ``omega_R`` their rates. A positive motor torque
  accelerates its wheel positively and the body the other way;
* state ``x = [psi, phi, theta, psi_dot, phi_dot, theta_dot, q_W, q_R, omega_W,
  omega_R]`` (rad, rad/s); input ``u = [tau_W, tau_R]`` (N m);
* geometry: the wheel axle centre is the body frame origin; the body's centre of mass
  is ``l_WB`` above it along the body z axis and the reaction wheel's centre
  ``2 l_WB`` above it; the driving wheel is a thin disc of radius ``r_W`` rolling
  without slipping on the floor;
* yaw ground friction: a generalized torque on the yaw coordinate,
  ``-fric_magn * tanh(fric_slope * psi_dot)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ampc_envs.core.params import PhysicalParams, param

__all__ = [
    "WheelbotParams",
    "ADAPTABLE",
    "CONTROL_DT",
    "PHYSICS_DT",
    "TORQUE_LIMIT",
    "CRASH_ANGLE",
    "GRAVITY",
    "EPISODE_SECONDS",
    "STATE_NAMES",
]

#: Control period in s (200 Hz; the robot's controller runs at about 167 Hz).
CONTROL_DT = 0.005
#: MuJoCo integration step in s (10 physics steps per control step). 0.5 ms resolves
#: the stiff wheel-floor contact (time constant 2 ms) and halves the first-order
#: integration error of 1 ms; it costs about 50 us of physics per control step.
PHYSICS_DT = 0.0005
#: Limit of each wheel-torque command in N m (the motor drivers saturate beyond it).
TORQUE_LIMIT = 0.5
#: The robot has fallen (crash) when |roll| or |pitch| exceeds this, in rad.
CRASH_ANGLE = 0.9
#: Gravitational acceleration in m/s^2.
GRAVITY = 9.81
#: Episode length of the yaw test in s.
EPISODE_SECONDS = 25.0

#: Names of the 10 states, in order.
STATE_NAMES = (
    "psi",
    "phi",
    "theta",
    "psi_dot",
    "phi_dot",
    "theta_dot",
    "q_W",
    "q_R",
    "omega_W",
    "omega_R",
)

#: The 11 parameters an MPC may adapt (the analytic model's parameter vector, in order).
ADAPTABLE = (
    "m_WR",
    "m_B",
    "I_Wxz_Ryz",
    "I_Wy_Rx",
    "I_Bx",
    "I_By",
    "I_Bz",
    "r_W",
    "l_WB",
    "fric_magn",
    "fric_slope",
)


@dataclass(frozen=True)
class WheelbotParams(PhysicalParams):
    """Physical parameters of the Mini Wheelbot (nominal values are the defaults).

    Inertias are principal moments about each part's own centre of mass, in the body
    frame (x forward, y along the wheel axle, z up the body). The driving wheel and
    the reaction wheel are identical parts mounted on orthogonal axes, hence the
    shared parameters ``m_WR``, ``I_Wxz_Ryz`` and ``I_Wy_Rx``.
    """

    m_WR: float = param(0.129, "kg", "mass of the driving wheel, and of the reaction wheel")
    m_B: float = param(0.312, "kg", "mass of the body (everything but the two wheels)")
    I_Wxz_Ryz: float = param(
        53e-6, "kg m^2", "wheel inertia about a diameter (driving wheel x, z; reaction wheel y, z)"
    )
    I_Wy_Rx: float = param(
        100e-6, "kg m^2", "wheel inertia about its spin axis (driving wheel y, reaction wheel x)"
    )
    I_Bx: float = param(220e-6, "kg m^2", "body inertia about its x axis (roll)")
    I_By: float = param(300e-6, "kg m^2", "body inertia about its y axis (pitch, wheel axle)")
    I_Bz: float = param(190e-6, "kg m^2", "body inertia about its z axis")
    r_W: float = param(0.032, "m", "radius of the driving wheel")
    l_WB: float = param(0.065, "m", "wheel axle to body centre of mass (reaction wheel at 2 l_WB)")
    fric_magn: float = param(
        0.005, "N m", "magnitude of the yaw ground friction torque", domain="nonnegative"
    )
    fric_slope: float = param(
        50.0, "s/rad", "slope of the yaw friction, tanh(fric_slope * psi_dot)", domain="nonnegative"
    )
    actuator_gain: float = param(1.0, "-", "applied torque per unit of torque command")
    actuation_delay: int = param(
        0,
        "steps",
        "delay of the commands in whole control steps",
        domain="nonnegative",
        integer=True,
    )
    angle_noise: float = param(
        0.0,
        "rad",
        "std of the Gaussian noise on the measured yaw, roll and pitch",
        domain="nonnegative",
    )
    rate_noise: float = param(
        0.0,
        "rad/s",
        "std of the Gaussian noise on the five measured rates",
        domain="nonnegative",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        # Principal moments of a real rigid body satisfy the triangle inequality; MuJoCo's
        # compiler rejects models that do not, and so do we, for randomized values too.
        checks = [
            ("wheel", (self.I_Wxz_Ryz, self.I_Wy_Rx, self.I_Wxz_Ryz), "I_Wxz_Ryz, I_Wy_Rx"),
            ("body", (self.I_Bx, self.I_By, self.I_Bz), "I_Bx, I_By, I_Bz"),
        ]
        for part, moments, names in checks:
            a, b, c = moments
            if a + b < c or b + c < a or a + c < b:
                raise ValueError(
                    f"WheelbotParams: {part} inertia ({names}) = {moments} kg m^2 violates "
                    "the triangle inequality (each principal moment <= sum of the other two)"
                )

    #: The "real system" the tuner is tested on. ``hardware-like`` is what the robot
    #: looks like next to its CAD model: cables, screws and the battery make the body
    #: 8 % heavier with its centre of mass 4 mm higher and larger inertias; a worn tyre
    #: rolls on a 0.5 mm smaller radius; the yaw friction on a rough floor is 60 % larger;
    #: motors deliver 10 % less torque than commanded (driver current limit and
    #: back-EMF), one control step (5 ms) of latency from the estimator and bus, and the
    #: IMU-based angle estimate and the gyro rates are noisy.
    instances: ClassVar[dict[str, dict[str, float]]] = {
        "hardware-like": {
            "m_WR": 0.133,
            "m_B": 0.337,
            "I_Wxz_Ryz": 55e-6,
            "I_Wy_Rx": 104e-6,
            "I_Bx": 250e-6,
            "I_By": 330e-6,
            "I_Bz": 205e-6,
            "r_W": 0.0315,
            "l_WB": 0.069,
            "fric_magn": 0.008,
            "fric_slope": 40.0,
            "actuator_gain": 0.9,
            "actuation_delay": 1,
            "angle_noise": 0.002,
            "rate_noise": 0.02,
        },
    }

    #: ``randomize=True`` draws uniformly from these ranges around the nominal values.
    #: The wheel-inertia ranges are chosen so that every draw satisfies the triangle
    #: inequality (I_Wy_Rx <= 2 I_Wxz_Ryz): the nominal wheel is close to a thin disc.
    default_ranges: ClassVar[dict[str, tuple[float, float]]] = {
        "m_WR": (0.116, 0.142),
        "m_B": (0.28, 0.345),
        "I_Wxz_Ryz": (50e-6, 60e-6),
        "I_Wy_Rx": (88e-6, 100e-6),
        "I_Bx": (190e-6, 250e-6),
        "I_By": (260e-6, 340e-6),
        "I_Bz": (165e-6, 215e-6),
        "r_W": (0.031, 0.033),
        "l_WB": (0.06, 0.07),
        "fric_magn": (0.003, 0.008),
        "fric_slope": (30.0, 70.0),
        "actuator_gain": (0.85, 1.15),
        "actuation_delay": (0, 1),
        "angle_noise": (0.0, 0.002),
        "rate_noise": (0.0, 0.02),
    }
