"""theta of the cart-pole AMPC: five physical parameters and two cost weights.

Nominal physical values come from :class:`~ampc_envs.cartpole.params.CartpoleParams`
(the one source of truth shared with the MuJoCo model).
"""

from __future__ import annotations

from ampc_agent.theta import ThetaSpec
from ampc_envs.cartpole.params import CartpoleParams

__all__ = ["CARTPOLE_THETA"]

_NOMINAL = CartpoleParams()

#: theta of the cart-pole MPC: the six physical parameters of its model (nominal
#: values from CartpoleParams) and two cost weights. Bounds cover
#: ``CartpoleParams.default_ranges`` and the ``hardware-like`` instance with room to
#: spare. (Delay and sensor noise are not in the model, so not in theta.)
CARTPOLE_THETA = ThetaSpec(
    names=(
        "cart_mass",
        "pole_mass",
        "pole_length",
        "cart_friction",
        "pivot_damping",
        "actuator_gain",
        "cost_position",
        "cost_input",
    ),
    nominal=(
        _NOMINAL.cart_mass,
        _NOMINAL.pole_mass,
        _NOMINAL.pole_length,
        _NOMINAL.cart_friction,
        _NOMINAL.pivot_damping,
        _NOMINAL.actuator_gain,
        1.0,
        0.01,
    ),
    lower=(0.3, 0.05, 0.4, 0.0, 0.0, 0.6, 0.1, 0.002),
    upper=(1.0, 0.3, 0.8, 0.6, 0.01, 1.4, 10.0, 0.05),
    units=("kg", "kg", "m", "N s/m", "N m s/rad", "-", "1/(m^2 s)", "1/(N^2 s)"),
    descriptions=(
        "cart mass in the MPC model",
        "pole mass in the MPC model",
        "pole length (pivot to tip) in the MPC model",
        "viscous cart friction in the MPC model",
        "viscous pivot damping in the MPC model",
        "force per unit command in the MPC model",
        "weight of x^2 in the stage cost",
        "weight of u^2 in the stage cost",
    ),
)
