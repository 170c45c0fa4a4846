"""Cart-pole swing-up: theta, analytic model, OCP, guesses, success rule, registry entry.

Files: ``theta.py`` (theta), ``model.py`` (equations of motion), ``ocp.py`` (the
swing-up OCP), ``guesses.py`` (its initial guesses), ``success.py`` (when a swing-up
counts), ``sysid.py`` (the one-step model system identification fits), ``pump.py``
(a classical two-gain controller) and ``weights/`` (the shipped AMPC).
"""

from __future__ import annotations

import math
from pathlib import Path

from ampc_agent.systems.cartpole.success import swing_up_success
from ampc_agent.systems.cartpole.theta import CARTPOLE_THETA
from ampc_agent.systems.spec import DatasetSampling, SystemSpec
from ampc_envs.cartpole.params import STATE_NAMES, CartpoleParams

__all__ = ["CARTPOLE", "CARTPOLE_THETA"]

CARTPOLE = SystemSpec(
    name="cartpole",
    description="cart-pole swing-up (force on a cart, pole hanging at the start)",
    env_id="ampc_envs/CartpoleSwingUp-v0",
    tuning_env_id="ampc_envs/CartpoleSwingUpTuning-v0",
    params_cls=CartpoleParams,
    theta=CARTPOLE_THETA,
    state_names=STATE_NAMES,
    angle_states=(1,),
    success=swing_up_success,
    ocp="ampc_agent.systems.cartpole.ocp:cartpole_ocp",
    # The uniform box covers the whole swing-up region (rail, every angle, velocities
    # somewhat beyond those of the closed-loop swing-up); randomized episodes draw the
    # physics from the env's own ranges (delay and noise included), so that the closed
    # loop visits the states an MPC on a mismatched system visits.
    sampling=DatasetSampling(
        uniform_low=(-0.75, -math.pi, -3.0, -10.0),
        uniform_high=(0.75, math.pi, 3.0, 10.0),
        randomize_ranges=dict(CartpoleParams.default_ranges),
    ),
    # Odd: x -> -x (cart, angle, velocities) gives u -> -u.
    symmetries=(((-1.0, -1.0, -1.0, -1.0), (-1.0,)),),
    sysid_model="ampc_agent.systems.cartpole.sysid",
    weights=Path(__file__).resolve().parent / "weights",
    baseline=("pump", "ampc_agent.systems.cartpole.pump:PumpAndCentre"),
)
