"""The ``AcadosOcp`` of a :class:`~ampc_agent.mpc.ocp.ParametricOCP`, one per solver variant.

The variants of each solving method (:data:`~ampc_agent.mpc.ocp.SOLVER_METHODS`):

* ``"globalize"``: exact Hessian with eigenvalue mirroring, robust far from a solution
  but only linearly convergent;
* ``"newton"``: exact Hessian without regularization (classical Riccati, which needs
  only the reduced Hessian to be positive definite), quadratic convergence near a
  strict local minimum;
* ``"gauss_newton"``: the Hessian of the (external) cost alone, merit-function
  backtracking, ``SolverSettings.iterations`` SQP iterations per call.
"""

from __future__ import annotations

from typing import Any

import casadi as cs
import numpy as np

from ampc_agent.mpc.ocp import SOLVER_METHODS, ParametricOCP

__all__ = ["acados_ocp"]


def acados_ocp(ocp: ParametricOCP, variant: str) -> Any:
    """The ``AcadosOcp`` of ``ocp`` for solver ``variant`` (one of its method's variants)."""
    from ampc_agent.mpc.acados_setup import acados_install

    acados_install()  # acados_template reads the environment this sets
    from acados.acados_template import AcadosModel, AcadosOcp

    valid = ocp.solver.variants
    if variant not in valid:
        known = sorted({v for vs in SOLVER_METHODS.values() for v in vs})
        if variant in known:
            raise ValueError(
                f"solver variant {variant!r} is not one of method {ocp.solver.method!r}: {valid}"
            )
        raise ValueError(f"unknown solver variant {variant!r}; valid: {valid}")
    model = AcadosModel()
    model.name = f"{ocp.name}_{variant}"
    model.x, model.u, model.p = ocp.x, ocp.u, ocp.theta
    if ocp.integrator == "ERK":
        model.xdot = cs.SX.sym("xdot", ocp.nx)
        model.f_expl_expr = ocp.f_expl
        model.f_impl_expr = model.xdot - ocp.f_expl
    else:
        model.disc_dyn_expr = ocp.x_next
    model.cost_expr_ext_cost = ocp.stage_cost
    model.cost_expr_ext_cost_e = ocp.terminal_cost

    aocp = AcadosOcp()
    aocp.model = model
    aocp.dims.N = ocp.steps
    aocp.cost.cost_type = "EXTERNAL"
    aocp.cost.cost_type_e = "EXTERNAL"
    aocp.parameter_values = ocp.theta_spec.nominal_array
    _constraints(aocp, ocp)

    opts = aocp.solver_options
    opts.tf = ocp.horizon
    if ocp.integrator == "ERK":
        opts.integrator_type = "ERK"
        opts.sim_method_num_stages = 4  # classic RK4, the map of ParametricOCP.step_function
        opts.sim_method_num_steps = ocp.substeps
    else:
        opts.integrator_type = "DISCRETE"
    opts.nlp_solver_type = "SQP"
    opts.hessian_approx = "EXACT"
    opts.globalization = "FIXED_STEP"
    opts.qp_solver = "PARTIAL_CONDENSING_HPIPM"
    opts.qp_solver_iter_max = 100
    opts.print_level = 0
    # Partial condensing to blocks of ~10 stages: 2x faster QPs than the sparse N-stage
    # Riccati for this small nx, nu (measured on the cart-pole).
    blocks = ocp.solver.condensing_blocks
    opts.qp_solver_cond_N = blocks if blocks is not None else max(1, ocp.steps // 10)
    if variant == "globalize":
        opts.regularize_method = "MIRROR"
        opts.hpipm_mode = "SPEED"  # inexact QPs are fine far from the solution
        opts.nlp_solver_max_iter = 150
        opts.tol = 1e-1
    elif variant == "newton":
        opts.regularize_method = "NO_REGULARIZE"
        # Classical Riccati: needs R + B'PB > 0 only, not every Hessian block PSD.
        opts.qp_solver_ric_alg = 0
        opts.qp_solver_cond_ric_alg = 0
        opts.nlp_solver_max_iter = 40
        opts.tol = 1e-9
        opts.qp_tol = 1e-11
    else:  # gauss_newton
        opts.hessian_approx = "GAUSS_NEWTON"
        opts.globalization = "MERIT_BACKTRACKING"
        opts.nlp_solver_max_iter = ocp.solver.iterations
        opts.tol = ocp.solver.tol
    return aocp


def _constraints(aocp: Any, ocp: ParametricOCP) -> None:
    """Initial state, input bounds, general linear constraints, soft state bounds."""
    con = aocp.constraints
    con.x0 = np.zeros(ocp.nx)
    con.idxbu = np.arange(ocp.nu)
    con.lbu = np.asarray(ocp.u_lower, dtype=float)
    con.ubu = np.asarray(ocp.u_upper, dtype=float)
    if ocp.ng:
        con.C = np.asarray(ocp.g_matrix_x, dtype=float)
        con.D = np.asarray(ocp.g_matrix_u, dtype=float)
        con.lg = np.asarray(ocp.g_lower, dtype=float)
        con.ug = np.asarray(ocp.g_upper, dtype=float)
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
