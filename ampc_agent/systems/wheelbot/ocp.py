"""The wheelbot yaw OCP: a residual torque on the robot's LQR, theta as runtime parameters.

Why these choices (measured; details in ``docs/wheelbot.md``):

* RK4 (acados ERK) with 8 steps of 2.5 ms per 20 ms interval on the continuous model
  whose yaw friction carries the env's exponential-Euler factor: fewer steps (2, 1)
  or an implicit Gauss-Radau integrator and SQP stops converging, and without the
  factor RK4 steps of 5 ms or more have a spurious steady yaw rate;
* Gauss-Newton Hessian with merit backtracking: the exact Hessian of this model costs
  minutes of compilation and ~250 ms per iteration, and a fixed Gauss-Newton step
  oscillates;
* 25 intervals of 20 ms (0.5 s): a pi/2 turn takes about 0.4 s; horizons of 0.7 s and
  1 s control as well, 2-3x slower and with more failed solves;
* cost: yaw error dominant, small weights on rates, tilt and residual torque; larger
  yaw-rate (>= 0.05) or input (5) weights stopped the solver converging.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import casadi as cs
import numpy as np

from ampc_agent.mpc.ocp import InitialGuess, ParametricOCP, SolverSettings
from ampc_agent.systems.wheelbot.guesses import yaw_guesses
from ampc_agent.systems.wheelbot.model import (
    INPUT_NAMES,
    LQR_GAIN,
    RESIDUAL_LIMIT,
    STATE_NAMES,
    TOTAL_TORQUE_LIMIT,
    closed_loop_ode,
)
from ampc_agent.systems.wheelbot.theta import WHEELBOT_THETA
from ampc_envs.wheelbot.params import CONTROL_DT

__all__ = ["WheelbotOCPConfig", "wheelbot_ocp"]


@dataclass(frozen=True)
class WheelbotOCPConfig:
    """Fixed (non-theta) settings of the wheelbot yaw OCP.

    Stage cost per second, on the MPC state (yaw error ``psi_error``)::

        l = w_yaw psi_error^2 + w_yaw_rate psi_dot^2 + w_tilt (phi^2 + theta^2)
            + w_tilt_rate (phi_dot^2 + theta_dot^2) + w_v |v|^2

    (1/(rad^2 s), s/rad^2, 1/(N^2 m^2 s)), terminal cost ``terminal_factor * l(x, v=0)``.
    Hard bounds ``|v| <= RESIDUAL_LIMIT`` and ``|-K x + v| <= TOTAL_TORQUE_LIMIT`` (N m);
    roll and pitch ``|phi|, |theta| <= tilt_limit`` rad, soft with slack penalty
    ``tilt_l1 s + tilt_l2 s^2 / 2`` per second (per stage at the end), well inside the
    crash angle 0.9 rad.
    """

    dt: float = 0.02  # s
    steps: int = 25
    substeps: int = 8  # RK4 steps per interval
    w_yaw: float = 1.0
    w_yaw_rate: float = 1e-3
    w_tilt: float = 0.1
    w_tilt_rate: float = 1e-3
    w_v: float = 1.0
    terminal_factor: float = 1.0
    tilt_limit: float = 0.5  # rad
    tilt_l1: float = 100.0
    tilt_l2: float = 1000.0
    #: A yaw-error jump beyond this (rad) between two closed-loop calls is a new
    #: reference: the closed loop re-plans from all starts (a turn needs a turning guess).
    replan_yaw_jump: float = 0.5


def wheelbot_ocp(config: WheelbotOCPConfig | None = None) -> ParametricOCP:
    """The yaw OCP with theta = :data:`WHEELBOT_THETA` (the 11 physical parameters)."""
    cfg = config or WheelbotOCPConfig()
    spec = WHEELBOT_THETA
    x = cs.SX.sym("x", 10)
    v = cs.SX.sym("v", 2)
    p = cs.SX.sym("theta", spec.dim)
    f_expl = closed_loop_ode(x, v, p, cfg.dt / cfg.substeps)
    state_cost = (
        cfg.w_yaw * x[0] ** 2
        + cfg.w_yaw_rate * x[3] ** 2
        + cfg.w_tilt * (x[1] ** 2 + x[2] ** 2)
        + cfg.w_tilt_rate * (x[4] ** 2 + x[5] ** 2)
    )
    domain = (np.full(10, -np.inf), np.full(10, np.inf))
    domain[0][1], domain[1][1] = -math.pi / 2, math.pi / 2  # cos(phi) = 0: no model there
    ocp_ref: list[ParametricOCP] = []

    def guesses(x0: np.ndarray, theta: np.ndarray) -> list[InitialGuess]:
        return yaw_guesses(ocp_ref[0].step_function, x0, theta, cfg.steps, cfg.dt, domain)

    at_rest = np.zeros(10)
    jump = np.full(10, np.inf)
    jump[0] = cfg.replan_yaw_jump
    ocp = ParametricOCP(
        name="wheelbot",
        x=x,
        u=v,
        theta=p,
        x_next=None,
        stage_cost=state_cost + cfg.w_v * cs.sumsqr(v),
        terminal_cost=cfg.terminal_factor * state_cost,
        dt=cfg.dt,
        steps=cfg.steps,
        u_lower=np.full(2, -RESIDUAL_LIMIT),
        u_upper=np.full(2, RESIDUAL_LIMIT),
        soft_x_index=(1, 2),
        soft_x_lower=np.full(2, -cfg.tilt_limit),
        soft_x_upper=np.full(2, cfg.tilt_limit),
        slack_l1=cfg.tilt_l1,
        slack_l2=cfg.tilt_l2,
        theta_spec=spec,
        state_names=STATE_NAMES,
        input_names=INPUT_NAMES,
        initial_guesses=guesses,
        control_dt=CONTROL_DT,
        # Not periodic in the yaw error: psi_error^2 is not; the interface wraps it.
        periodic_states=(),
        settings={
            "config": asdict(cfg),
            "model": "closed_loop_ode: dynamics.py under u = -K x + v, yaw-free, "
            "stabilized yaw friction",
            "version": 1,
        },
        f_expl=f_expl,
        integrator="ERK",
        substeps=cfg.substeps,
        g_matrix_x=-LQR_GAIN,
        g_matrix_u=np.eye(2),
        g_lower=np.full(2, -TOTAL_TORQUE_LIMIT),
        g_upper=np.full(2, TOTAL_TORQUE_LIMIT),
        state_domain=domain,
        library_states=(
            ("turn+", np.concatenate([[-math.pi / 2], at_rest[1:]])),
            ("turn-", np.concatenate([[math.pi / 2], at_rest[1:]])),
        ),
        solver=SolverSettings(
            method="gauss_newton",
            tol=1e-6,
            iterations=30,
            cold_calls=4,
            condensing_blocks=5,
            realtime=True,
            warm_calls=1,
            inexact_eq=1e-4,
            inexact_stat=1e-2,
            replan_jump=tuple(jump.tolist()),
        ),
    )
    ocp_ref.append(ocp)
    return ocp
