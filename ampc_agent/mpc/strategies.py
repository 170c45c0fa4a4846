"""How one start of a :class:`~ampc_agent.mpc.parametric.ParametricMPC` is solved in acados.

Each class owns the compiled solvers of one :data:`~ampc_agent.mpc.ocp.SOLVER_METHODS`
entry and runs one start (a primal-dual iterate to continue from, or a primal guess):

* :class:`GlobalizeNewton` (the cart-pole): far from a solution the exact Hessian is
  indefinite, so the ``globalize`` solver (mirrored Hessian) runs to a loose tolerance
  and hands the primal-dual iterate to the ``newton`` solver (exact Hessian, classical
  Riccati), which converges in a few iterations to ``tol``; if Newton fails (a saddle
  point nearby), the globalization continues to a tighter tolerance and Newton is tried
  again. A warm start goes to Newton directly.
* :class:`GaussNewtonCalls` (the wheelbot): one Gauss-Newton solver with merit
  backtracking, called again while it stops at its iteration limit (acados continues
  from its iterate; the limit cannot be changed at run time in this acados version).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ampc_agent.mpc.ocp import InitialGuess, ParametricOCP, acados_ocp
from ampc_agent.mpc.solution import MPCSolution
from ampc_agent.mpc.solver_cache import build_solver
from ampc_agent.mpc.solver_io import SolverIO

__all__ = ["GaussNewtonCalls", "GlobalizeNewton", "make_strategy"]

#: One run: ``(status, SQP iterations, ((solver, status, iterations), ...))``.
Run = tuple[int, int, tuple[tuple[str, int, int], ...]]


class _Strategy:
    """Builds (or loads from the cache) the solvers of ``ocp.solver.variants``."""

    final_variant: str

    def __init__(self, ocp: ParametricOCP, verbose: bool) -> None:
        self.ocp = ocp
        self.solvers: dict[str, Any] = {}
        self.io: dict[str, SolverIO] = {}
        self.cache_folders: dict[str, Any] = {}
        for variant in ocp.solver.variants:
            solver, folder = build_solver(
                acados_ocp(ocp, variant),
                system=ocp.name,
                extra={"variant": variant, "settings": ocp.settings},
                verbose=verbose,
            )
            self.solvers[variant] = solver
            self.io[variant] = SolverIO(solver)
            self.cache_folders[variant] = folder

    @property
    def final(self) -> SolverIO:
        """The solver that holds the solution after a run."""
        return self.io[self.final_variant]

    def cost(self) -> float:
        """Cost of the final solver's iterate."""
        return float(self.solvers[self.final_variant].get_cost())

    def residuals(self) -> tuple[float, float, float, float]:
        """``(stationarity, equality, inequality, complementarity)`` of the last run."""
        r = np.atleast_1d(self.solvers[self.final_variant].get_stats("residuals"))
        return tuple(float(v) for v in r[:4])

    def read(
        self,
        x0: np.ndarray,
        theta: np.ndarray,
        status: int,
        iters: int,
        name: str,
        phases: tuple[tuple[str, int, int], ...],
    ) -> MPCSolution:
        """The solution in the final solver after a run (status 1 if it is not finite)."""
        n, ns = self.ocp.steps, len(self.ocp.soft_x_index)
        it = self.final.iterate()
        xs = np.array(it["x"])
        us = np.array(it["u"][:n])
        sl = np.array([it["sl"][k] if ns else np.zeros(0) for k in range(1, n + 1)]).reshape(n, ns)
        su = np.array([it["su"][k] if ns else np.zeros(0) for k in range(1, n + 1)]).reshape(n, ns)
        finite = np.all(np.isfinite(xs)) and np.all(np.isfinite(us))
        if status == 0 and not finite:
            status = 1
        return MPCSolution(
            u0=us[0].copy(),
            cost=self.cost() if finite else float("nan"),
            status=int(status),
            sqp_iter=iters,
            time=0.0,  # set by the caller
            x_traj=xs,
            u_traj=us,
            slack_lower=sl,
            slack_upper=su,
            init=name,
            x0=x0.copy(),
            theta=theta.copy(),
            phases=phases,
            iterate=it,
            residuals=self.residuals() if status == 2 else None,
        )

    def set_tol(self, tol: float) -> None:
        """KKT tolerance of the final phase."""
        set_tol(self.solvers[self.final_variant], tol)

    def iterations(self, variant: str) -> int:
        return int(np.atleast_1d(self.solvers[variant].get_stats("sqp_iter"))[0])

    def run(
        self,
        x0: np.ndarray,
        iterate: dict[str, list] | None,
        guess: Callable[[], InitialGuess],
        max_calls: int | None = None,
    ) -> Run:
        """Solve from ``iterate`` (a warm start) or else from ``guess()``."""
        raise NotImplementedError


class GlobalizeNewton(_Strategy):
    """Mirrored-Hessian globalization, then unregularized Newton (see the module doc).

    Args:
        ocp: The OCP.
        verbose: Print the compiler output of a build.
        switch_tol: Tolerance at which the globalization hands over to Newton (then
            ``switch_tol * 1e-2`` for the second try).
    """

    final_variant = "newton"

    def __init__(self, ocp: ParametricOCP, verbose: bool, switch_tol: float = 1e-1) -> None:
        super().__init__(ocp, verbose)
        self.solvers["globalize"].options_set("initialize_t_slacks", 1)
        self.switch_tols = (switch_tol, switch_tol * 1e-2)

    def run(self, x0, iterate, guess, max_calls=None) -> Run:
        glob, newton = self.io["globalize"], self.io["newton"]
        iters, status = 0, -1
        trace: list[tuple[str, int, int]] = []
        if iterate is not None:
            # Newton directly from the previous primal-dual solution.
            newton.load_iterate(iterate)
            newton.set(0, "x", x0)
            newton.set_initial_state(x0)
            status = newton.solve()
            iters += self.iterations("newton")
            trace.append(("newton", status, self.iterations("newton")))
        if status != 0:
            start = guess()
            glob.reset()
            glob.set_initial_state(x0)
            for k in range(self.ocp.steps + 1):
                glob.set(k, "x", start.states[k])
            glob.set(0, "x", x0)
            for k in range(self.ocp.steps):
                glob.set(k, "u", start.inputs[k])
            # Hand over to Newton at the loose tolerance; if Newton fails (the reduced
            # Hessian is not yet positive definite), continue the globalization to a
            # tighter tolerance and try again.
            for switch_tol in self.switch_tols:
                set_tol(self.solvers["globalize"], switch_tol)
                status = glob.solve()
                iters += self.iterations("globalize")
                trace.append(("glob", status, self.iterations("globalize")))
                if status not in (0, 2):
                    break
                newton.load_iterate(glob.iterate())
                newton.set_initial_state(x0)
                status = newton.solve()
                iters += self.iterations("newton")
                trace.append(("newton", status, self.iterations("newton")))
                if status == 0:
                    break
        return status, iters, tuple(trace)


class GaussNewtonCalls(_Strategy):
    """One Gauss-Newton solver, called up to ``max_calls`` times (default
    ``ocp.solver.cold_calls``) while it stops at its iteration limit."""

    final_variant = "gauss_newton"

    def run(self, x0, iterate, guess, max_calls=None) -> Run:
        io = self.io["gauss_newton"]
        if iterate is not None:
            io.load_iterate(iterate)
        else:
            start = guess()
            io.reset()
            for k in range(self.ocp.steps + 1):
                io.set(k, "x", start.states[k])
            for k in range(self.ocp.steps):
                io.set(k, "u", start.inputs[k])
        io.set(0, "x", x0)
        io.set_initial_state(x0)
        iters, status = 0, -1
        trace: list[tuple[str, int, int]] = []
        for _ in range(max_calls or self.ocp.solver.cold_calls):
            status = io.solve()
            n = self.iterations("gauss_newton")
            iters += n
            trace.append(("gauss_newton", status, n))
            if status != 2:
                break
        return status, iters, tuple(trace)


def make_strategy(ocp: ParametricOCP, verbose: bool = False, switch_tol: float = 1e-1) -> _Strategy:
    """The solvers of ``ocp.solver.method``, built or loaded from the cache."""
    if ocp.solver.method == "globalize_newton":
        return GlobalizeNewton(ocp, verbose, switch_tol)
    return GaussNewtonCalls(ocp, verbose)


def set_tol(solver: Any, tol: float) -> None:
    """Set all four KKT tolerances of an acados solver."""
    for name in ("tol_stat", "tol_eq", "tol_ineq", "tol_comp"):
        solver.options_set(name, float(tol))
