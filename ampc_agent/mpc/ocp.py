"""A parametric optimal control problem, described once and handed to acados and casadi.

:class:`ParametricOCP` is the single description of an OCP: dynamics, stage and
terminal cost, input bounds, general linear constraints, soft state bounds, theta as
runtime parameters, and how it is solved (:class:`SolverSettings`). Two consumers
read it: :func:`~ampc_agent.mpc.acados_ocp.acados_ocp` (the solver) and
:mod:`ampc_agent.mpc.sensitivity` (the KKT system for du0*/dtheta). Because both are
built from the same casadi expressions, the NLP acados solves and the NLP whose KKT
system is differentiated are the same:

    min_{x, u, s}  sum_{k<N} dt [ l(x_k, u_k, theta) + z s_k + Z s_k^2 / 2 ]
                   + l_N(x_N, theta) + z s_N + Z s_N^2 / 2
    s.t.  x_0 = xbar,  x_{k+1} = F(x_k, u_k, theta),  u_lo <= u_k <= u_hi,
          g_lo <= C x_k + D u_k <= g_hi                   (k = 0..N-1, if C is given)
          lo - s^l_k <= x_k[i] <= hi + s^u_k,  s >= 0   (k = 1..N, soft indices i)

``F`` is either given as an expression (``integrator="DISCRETE"``) or is ``substeps``
classic RK4 steps of a continuous ODE ``f_expl`` (``integrator="ERK"``, acados' explicit
Runge-Kutta with 4 stages, which is the same map).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import casadi as cs
import numpy as np

from ampc_agent.theta import ThetaSpec

__all__ = [
    "InitialGuess",
    "ParametricOCP",
    "SOLVER_METHODS",
    "SOLVER_VARIANTS",
    "SolverSettings",
    "acados_ocp",
]

#: How an OCP can be solved (:attr:`SolverSettings.method`) and the acados solvers each
#: builds. "globalize_newton": an exact Hessian with eigenvalue mirroring to a loose
#: tolerance, then the unregularized exact Hessian (classical Riccati) to ``tol``
#: (quadratic convergence near a strict local minimum; the cart-pole). "gauss_newton":
#: one solver with the cost's own Hessian (no dynamics curvature) and merit-function
#: backtracking, called again while it stops at its iteration limit (acados continues
#: from its iterate); linear convergence, but one SQP iteration is cheap and robust for
#: models whose exact Hessian is large (the wheelbot).
SOLVER_METHODS = {"globalize_newton": ("globalize", "newton"), "gauss_newton": ("gauss_newton",)}
#: The solvers of the default method (kept for callers of the two-solver layout).
SOLVER_VARIANTS = SOLVER_METHODS["globalize_newton"]


class InitialGuess(NamedTuple):
    """A primal initial guess: ``states`` (N+1, nx) and ``inputs`` (N, nu).

    ``fallback`` guesses are tried only when no other initialisation converged.
    """

    name: str
    states: np.ndarray
    inputs: np.ndarray
    fallback: bool = False


@dataclass(frozen=True)
class SolverSettings:
    """How acados solves a :class:`ParametricOCP` and how a closed loop uses it.

    Attributes:
        method: A key of :data:`SOLVER_METHODS`.
        tol: KKT tolerance of the final phase (default of ``ParametricMPC.tol``).
        iterations: SQP iterations per solver call (``"gauss_newton"``).
        cold_calls: Solver calls of one solve to convergence (``"gauss_newton"``).
        condensing_blocks: HPIPM partial condensing horizon (``None``: N // 10).
        realtime: Closed-loop rules of :class:`~ampc_agent.mpc.controller.MPCController`.
            ``False``: a warm solve to convergence, all cold starts if it fails, the last
            command held if they fail too. ``True``: ``warm_calls`` solver calls per step
            from the previous iterate; a solve at the iteration limit is accepted when
            its residuals are below ``inexact_eq`` (equalities, inequalities) and
            ``inexact_stat`` (stationarity); a failed step plays the previous plan and
            the next step continues from the failed iterate; when the state moves by
            more than ``replan_jump`` (per state, in state units) between two calls (a
            new reference), the best of the previous solution and all cold starts is
            solved.
        warm_calls: Solver calls of one realtime closed-loop step.
        inexact_eq, inexact_stat: Residual limits of an accepted inexact solve.
        replan_jump: Per-state jump that triggers a re-plan (``None``: never).
    """

    method: str = "globalize_newton"
    tol: float = 1e-10
    iterations: int = 30
    cold_calls: int = 4
    condensing_blocks: int | None = None
    realtime: bool = False
    warm_calls: int = 1
    inexact_eq: float = 0.0
    inexact_stat: float = 0.0
    replan_jump: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.method not in SOLVER_METHODS:
            raise ValueError(
                f"unknown solver method {self.method!r}; valid: {list(SOLVER_METHODS)}"
            )

    @property
    def variants(self) -> tuple[str, ...]:
        """The acados solvers this method builds."""
        return SOLVER_METHODS[self.method]


@dataclass(frozen=True)
class ParametricOCP:
    """Description of a parametric OCP in casadi expressions (see the module docstring).

    Attributes:
        name: System name (used in solver names and the cache folder).
        x, u, theta: casadi symbols of state (nx), input (nu) and parameters (p).
        x_next: Discrete dynamics F(x, u, theta) over one interval of ``dt`` s
            (``integrator="DISCRETE"``; ``None`` with ``"ERK"``, where F is derived).
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
        f_expl: Continuous dynamics ``x_dot = f(x, u, theta)`` (``integrator="ERK"``).
        integrator: ``"DISCRETE"`` (``x_next``) or ``"ERK"`` (RK4 on ``f_expl``).
        substeps: RK4 steps per interval (``"ERK"``).
        g_matrix_x, g_matrix_u: ``C`` (ng, nx) and ``D`` (ng, nu) of the hard general
            constraints ``g_lower <= C x_k + D u_k <= g_upper`` at stages 0..N-1.
        state_domain: Open bounds ``(lower, upper)`` (nx,) of the states where the model
            is defined; a state outside raises ``ValueError``.
        library_states: ``(name, state)`` pairs whose solutions at theta_nom (best of
            the OCP's own guesses) become initial guesses at any state: their input
            sequences, re-simulated from there (e.g. a solved turn).
        solver: How it is solved.
    """

    name: str
    x: cs.SX
    u: cs.SX
    theta: cs.SX
    x_next: cs.SX | None
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
    f_expl: cs.SX | None = None
    integrator: str = "DISCRETE"
    substeps: int = 1
    g_matrix_x: np.ndarray | None = None
    g_matrix_u: np.ndarray | None = None
    g_lower: np.ndarray | None = None
    g_upper: np.ndarray | None = None
    state_domain: tuple[np.ndarray, np.ndarray] | None = None
    library_states: tuple[tuple[str, np.ndarray], ...] = ()
    solver: SolverSettings = field(default_factory=SolverSettings)

    def __post_init__(self) -> None:
        if self.integrator == "DISCRETE" and self.x_next is None:
            raise ValueError("integrator 'DISCRETE' needs x_next")
        if self.integrator == "ERK" and (self.f_expl is None or self.substeps < 1):
            raise ValueError("integrator 'ERK' needs f_expl and substeps >= 1")
        if self.integrator not in ("DISCRETE", "ERK"):
            raise ValueError(f"unknown integrator {self.integrator!r}; valid: DISCRETE, ERK")

    @property
    def nx(self) -> int:
        """State dimension."""
        return self.x.shape[0]

    @property
    def nu(self) -> int:
        """Input dimension."""
        return self.u.shape[0]

    @property
    def ng(self) -> int:
        """Number of general linear constraints per stage."""
        return 0 if self.g_matrix_x is None else int(np.shape(self.g_matrix_x)[0])

    @property
    def horizon(self) -> float:
        """Prediction horizon in s."""
        return self.dt * self.steps

    @functools.cached_property
    def step_function(self) -> cs.Function:
        """``F(x, u, theta) -> x_next`` over one interval (an MX graph of SX RK4 steps
        for ``"ERK"``, the map acados integrates)."""
        from ampc_agent.mpc.rollout import rk4_step_function

        if self.integrator == "ERK":
            return rk4_step_function(
                self.f_expl, self.x, self.u, self.theta, self.dt, self.substeps
            )
        return cs.Function("F", [self.x, self.u, self.theta], [self.x_next])

    def check_state(self, x: np.ndarray) -> None:
        """Raise ``ValueError`` naming the state if ``x`` is outside :attr:`state_domain`."""
        if self.state_domain is None:
            return
        lower, upper = self.state_domain
        for i in np.flatnonzero((x <= lower) | (x >= upper)):
            raise ValueError(
                f"x {self.state_names[i]} = {x[i]!r} is outside the model's domain "
                f"({lower[i]:.6g}, {upper[i]:.6g})"
            )

    def rollout_guess(
        self,
        name: str,
        x0: np.ndarray,
        inputs: np.ndarray,
        theta: np.ndarray,
        fallback: bool = False,
    ) -> InitialGuess:
        """An :class:`InitialGuess` of ``inputs`` simulated from ``x0`` (see
        :func:`~ampc_agent.mpc.rollout.rollout_guess`)."""
        from ampc_agent.mpc.rollout import rollout_guess

        return rollout_guess(
            self.step_function, name, x0, inputs, theta, self.state_domain, fallback
        )


def acados_ocp(ocp: ParametricOCP, variant: str) -> Any:
    """The ``AcadosOcp`` of ``ocp`` for solver ``variant`` (see :data:`SOLVER_METHODS`)."""
    from ampc_agent.mpc.acados_ocp import acados_ocp as build

    return build(ocp, variant)
