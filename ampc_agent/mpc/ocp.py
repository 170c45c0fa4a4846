"""A parametric optimal control problem, described once and handed to acados and casadi.

:class:`ParametricOCP` is the single description of an OCP: discrete dynamics, stage and
terminal cost, input bounds, soft state bounds, and theta as runtime parameters. Two
consumers read it: :func:`acados_ocp` (the solver) and
:mod:`ampc_agent.mpc.sensitivity` (the KKT system for du0*/dtheta). Because both are
built from the same casadi expressions, the NLP acados solves and the NLP whose KKT
system is differentiated are the same:

    min_{x, u, s}  sum_{k<N} dt [ l(x_k, u_k, theta) + z s_k + Z s_k^2 / 2 ]
                   + l_N(x_N, theta) + z s_N + Z s_N^2 / 2
    s.t.  x_0 = xbar,  x_{k+1} = F(x_k, u_k, theta),  u_lo <= u_k <= u_hi,
          lo - s^l_k <= x_k[i] <= hi + s^u_k,  s >= 0   (k = 1..N, soft indices i)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import casadi as cs
import numpy as np

from ampc_agent.theta import ThetaSpec

__all__ = ["InitialGuess", "ParametricOCP", "acados_ocp", "SOLVER_VARIANTS"]


class InitialGuess(NamedTuple):
    """A primal initial guess: ``states`` (N+1, nx) and ``inputs`` (N, nu)."""

    name: str
    states: np.ndarray
    inputs: np.ndarray


@dataclass(frozen=True)
class ParametricOCP:
    """Description of a parametric OCP in casadi expressions (see the module docstring).

    Attributes:
        name: System name (used in solver names and the cache folder).
        x, u, theta: casadi symbols of state (nx), input (nu) and parameters (p).
        x_next: Discrete dynamics F(x, u, theta) over one interval of ``dt`` s.
        stage_cost: l(x, u, theta), cost per second (multiplied by ``dt``).
        terminal_cost: l_N(x, theta).
        dt: Shooting interval in s; ``steps`` intervals N.
        u_lower, u_upper: Hard input bounds (nu,).
        soft_x_index: State indices with soft bounds ``soft_x_lower/upper`` (stages 1..N).
        slack_l1, slack_l2: Linear and quadratic slack weights (per second on stages < N).
        theta_spec: Names, nominal values and bounds of theta.
        initial_guesses: ``f(x0, theta) -> [InitialGuess, ...]`` problem-specific cold starts.
        control_dt: Control period of the closed loop in s.
        periodic_states: Indices of states in which the OCP is 2 pi periodic (angles).
        settings: JSON-serialisable description of the fixed settings (for metadata/hash).
    """

    name: str
    x: cs.SX
    u: cs.SX
    theta: cs.SX
    x_next: cs.SX
    stage_cost: cs.SX
    terminal_cost: cs.SX
    dt: float
    steps: int
    u_lower: np.ndarray
    u_upper: np.ndarray
    soft_x_index: tuple[int, ...]
    soft_x_lower: np.ndarray
    soft_x_upper: np.ndarray
    slack_l1: float
    slack_l2: float
    theta_spec: ThetaSpec
    state_names: tuple[str, ...]
    input_names: tuple[str, ...]
    initial_guesses: Callable[[np.ndarray, np.ndarray], list[InitialGuess]]
    control_dt: float
    periodic_states: tuple[int, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def nx(self) -> int:
        """State dimension."""
        return self.x.shape[0]

    @property
    def nu(self) -> int:
        """Input dimension."""
        return self.u.shape[0]

    @property
    def horizon(self) -> float:
        """Prediction horizon in s."""
        return self.dt * self.steps


#: The two acados solvers built for every OCP (see ParametricMPC for why two):
#: "globalize": exact Hessian with eigenvalue mirroring, robust far from a solution but
#: only linearly convergent; "newton": exact Hessian without regularization (classical
#: Riccati, which needs only the reduced Hessian to be positive definite), quadratic
#: convergence near a strict local minimum.
SOLVER_VARIANTS = ("globalize", "newton")


def acados_ocp(ocp: ParametricOCP, variant: str) -> Any:
    """The ``AcadosOcp`` of ``ocp`` for solver ``variant`` (one of SOLVER_VARIANTS)."""
    from ampc_agent.mpc.acados_setup import acados_install

    acados_install()  # acados_template reads the environment this sets
    from acados.acados_template import AcadosModel, AcadosOcp

    if variant not in SOLVER_VARIANTS:
        raise ValueError(f"unknown solver variant {variant!r}; valid: {SOLVER_VARIANTS}")
    model = AcadosModel()
    model.name = f"{ocp.name}_{variant}"
    model.x, model.u, model.p = ocp.x, ocp.u, ocp.theta
    model.disc_dyn_expr = ocp.x_next
    model.cost_expr_ext_cost = ocp.stage_cost
    model.cost_expr_ext_cost_e = ocp.terminal_cost

    aocp = AcadosOcp()
    aocp.model = model
    aocp.dims.N = ocp.steps
    aocp.cost.cost_type = "EXTERNAL"
    aocp.cost.cost_type_e = "EXTERNAL"
    aocp.parameter_values = ocp.theta_spec.nominal_array

    con = aocp.constraints
    con.x0 = np.zeros(ocp.nx)
    con.idxbu = np.arange(ocp.nu)
    con.lbu = np.asarray(ocp.u_lower, dtype=float)
    con.ubu = np.asarray(ocp.u_upper, dtype=float)
    ns = len(ocp.soft_x_index)
    if ns:
        idx = np.asarray(ocp.soft_x_index)
        con.idxbx = con.idxbx_e = idx
        con.lbx = con.lbx_e = np.asarray(ocp.soft_x_lower, dtype=float)
        con.ubx = con.ubx_e = np.asarray(ocp.soft_x_upper, dtype=float)
        con.idxsbx = con.idxsbx_e = np.arange(ns)
        cost = aocp.cost
        cost.zl = cost.zu = cost.zl_e = cost.zu_e = np.full(ns, ocp.slack_l1)
        cost.Zl = cost.Zu = cost.Zl_e = cost.Zu_e = np.full(ns, ocp.slack_l2)

    opts = aocp.solver_options
    opts.tf = ocp.horizon
    opts.integrator_type = "DISCRETE"
    opts.nlp_solver_type = "SQP"
    opts.hessian_approx = "EXACT"
    opts.globalization = "FIXED_STEP"
    opts.qp_solver = "PARTIAL_CONDENSING_HPIPM"
    opts.qp_solver_iter_max = 100
    opts.print_level = 0
    # Partial condensing to blocks of ~10 stages: 2x faster QPs than the sparse N-stage
    # Riccati for this small nx, nu (measured on the cart-pole).
    opts.qp_solver_cond_N = max(1, ocp.steps // 10)
    if variant == "globalize":
        opts.regularize_method = "MIRROR"
        opts.hpipm_mode = "SPEED"  # inexact QPs are fine far from the solution
        opts.nlp_solver_max_iter = 150
        opts.tol = 1e-1
    else:
        opts.regularize_method = "NO_REGULARIZE"
        # Classical Riccati: needs R + B'PB > 0 only, not every Hessian block PSD.
        opts.qp_solver_ric_alg = 0
        opts.qp_solver_cond_ric_alg = 0
        opts.nlp_solver_max_iter = 40
        opts.tol = 1e-9
        opts.qp_tol = 1e-11
    return aocp
