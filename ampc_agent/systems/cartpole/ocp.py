"""The cart-pole swing-up OCP with theta as runtime parameters."""

from __future__ import annotations

from dataclasses import dataclass

import casadi as cs
import numpy as np

from ampc_agent.mpc.ocp import InitialGuess, ParametricOCP
from ampc_agent.systems.cartpole import CARTPOLE
from ampc_agent.systems.cartpole.guesses import swing_up_guess
from ampc_agent.systems.cartpole.model import (
    INPUT_NAMES,
    STATE_NAMES,
    cartpole_rk4,
    model_parameters,
)
from ampc_agent.systems.cartpole.theta import CARTPOLE_THETA
from ampc_envs.cartpole.params import CONTROL_DT, FORCE_LIMIT, RAIL_LIMIT

__all__ = ["CartpoleOCPConfig", "cartpole_ocp"]


@dataclass(frozen=True)
class CartpoleOCPConfig:
    """Fixed (non-theta) settings of the cart-pole swing-up OCP.

    Stage cost per second (theta entries marked)::

        l = cost_position x^2 + w_angle 2 (1 - cos th) + w_velocity x'^2
            + w_angular_velocity th'^2 + cost_input u^2

    and terminal cost ``terminal_factor * l(x, u=0)``. The rail ``|x| <= RAIL_LIMIT -
    rail_margin`` is soft with slack penalty ``rail_l1 s + rail_l2 s^2 / 2`` per second
    (per stage at the end). Input bounds ``|u| <= FORCE_LIMIT`` are hard.
    """

    horizon: float = 2.0  # s
    steps: int = 50  # shooting intervals (dt = horizon / steps)
    rk4_substeps: int = 2
    w_angle: float = 10.0
    w_velocity: float = 0.1
    w_angular_velocity: float = 0.1
    terminal_factor: float = 10.0
    # A soft rail at 0.65 m with a stiff penalty keeps the closed loop within 0.75 m of
    # the centre (0.8 m is a crash), on the nominal system and across the randomization
    # range; 0.7 m with (100, 1000) let the swing-up reach 0.79 m (docs/mpc.md).
    rail_margin: float = 0.15  # m
    rail_l1: float = 1000.0
    rail_l2: float = 10000.0

    @property
    def dt(self) -> float:
        """Shooting interval in s."""
        return self.horizon / self.steps


def cartpole_ocp(config: CartpoleOCPConfig | None = None) -> ParametricOCP:
    """The swing-up OCP with theta = :data:`CARTPOLE_THETA` as runtime parameters."""
    cfg = config or CartpoleOCPConfig()
    spec = CARTPOLE_THETA
    x = cs.SX.sym("x", 4)
    u = cs.SX.sym("u", 1)
    p = cs.SX.sym("theta", spec.dim)
    th = {name: p[i] for i, name in enumerate(spec.names)}
    params = model_parameters(th)
    x_next = cartpole_rk4(x, u, params, cfg.dt, cfg.rk4_substeps)
    state_cost = (
        th["cost_position"] * x[0] ** 2
        + cfg.w_angle * 2 * (1 - cs.cos(x[1]))
        + cfg.w_velocity * x[2] ** 2
        + cfg.w_angular_velocity * x[3] ** 2
    )
    stage_cost = state_cost + th["cost_input"] * u[0] ** 2
    rail = RAIL_LIMIT - cfg.rail_margin

    def guesses(x0: np.ndarray, theta: np.ndarray) -> list[InitialGuess]:
        model = model_parameters(dict(zip(spec.names, theta, strict=True)))
        return [
            swing_up_guess(x0, model, direction, cfg.steps, cfg.dt, cfg.rk4_substeps)
            for direction in (+1, -1, 0)
        ]

    return ParametricOCP(
        name="cartpole",
        x=x,
        u=u,
        theta=p,
        x_next=x_next,
        stage_cost=stage_cost,
        terminal_cost=cfg.terminal_factor * state_cost,
        dt=cfg.dt,
        steps=cfg.steps,
        u_lower=np.array([-FORCE_LIMIT]),
        u_upper=np.array([FORCE_LIMIT]),
        soft_x_index=(0,),
        soft_x_lower=np.array([-rail]),
        soft_x_upper=np.array([rail]),
        slack_l1=cfg.rail_l1,
        slack_l2=cfg.rail_l2,
        theta_spec=spec,
        state_names=STATE_NAMES,
        input_names=INPUT_NAMES,
        initial_guesses=guesses,
        control_dt=CONTROL_DT,
        periodic_states=CARTPOLE.angle_states,
        settings={
            "config": cfg.__dict__,
            "state_cost": "cost_position x^2 + w_angle 2(1-cos th) "
            "+ w_velocity xd^2 + w_angular_velocity thd^2",
            "version": 2,
        },
    )
