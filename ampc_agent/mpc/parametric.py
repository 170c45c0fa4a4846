"""``ParametricMPC``: an acados NMPC whose parameters theta change at run time.

Solving the swing-up OCP needs two things acados does not give in one solver here:

* far from a solution the exact Hessian is indefinite (the cost ``1 - cos(theta)`` and
  the pendulum dynamics are nonconvex), so the Hessian must be regularized; with
  regularization (eigenvalue mirroring) SQP converges only linearly, taking hundreds of
  iterations to a tight tolerance;
* near a strict local minimum the unregularized exact Hessian gives quadratic
  convergence, and only there is the solution accurate enough for exact sensitivities.

So every solve runs the ``globalize`` solver (mirrored Hessian) to a loose tolerance and
hands the primal-dual iterate to the ``newton`` solver (exact Hessian, classical Riccati),
which converges in a few iterations to ``tol``. A warm start from the previous solution
goes to the ``newton`` solver directly. Both are built from one
:class:`~ampc_agent.mpc.ocp.ParametricOCP` and cached on disk.

The OCP is nonconvex: different initialisations reach different local minima.
:meth:`ParametricMPC.solve_best` tries several (warm start, problem-specific swing-up
guesses, the state held still) and keeps the lowest cost among the converged ones.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ampc_agent.mpc.ocp import SOLVER_VARIANTS, InitialGuess, ParametricOCP, acados_ocp
from ampc_agent.mpc.sensitivity import KKTSensitivity, SensitivityResult
from ampc_agent.mpc.solver_cache import build_solver
from ampc_agent.mpc.solver_io import SolverIO

__all__ = ["MPCSolution", "MPCStats", "MPCSolveError", "ParametricMPC", "ACADOS_STATUS"]

#: Meaning of acados' status codes.
ACADOS_STATUS = {
    0: "success",
    1: "NaN in the iterate",
    2: "maximum number of iterations reached",
    3: "minimum step size reached",
    4: "QP solver failed",
}


@dataclass(frozen=True)
class MPCSolution:
    """One solve of the OCP.

    Attributes:
        u0: First input u0* (nu,), e.g. force in N.
        cost: Optimal cost (sum of dt-weighted stage costs, terminal cost, slack penalties).
        status: 0 on success, else the acados status of the last phase (see ACADOS_STATUS).
        sqp_iter: SQP iterations of both phases.
        time: Wall time of the solve in s (including moving iterates between solvers).
        x_traj: Predicted states (N+1, nx).
        u_traj: Predicted inputs (N, nu).
        slack_lower, slack_upper: Slacks of the soft state bounds at stages 1..N (N, ns).
        init: Name of the initialisation that produced this solution.
        x0: The initial state the OCP was solved for.
        theta: The parameter vector the OCP was solved for.
        phases: ``(solver, status, iterations)`` of each phase run, in order.
        iterate: The full primal-dual iterate (for warm starts).
    """

    u0: np.ndarray
    cost: float
    status: int
    sqp_iter: int
    time: float
    x_traj: np.ndarray
    u_traj: np.ndarray
    slack_lower: np.ndarray
    slack_upper: np.ndarray
    init: str
    x0: np.ndarray
    theta: np.ndarray
    phases: tuple[tuple[str, int, int], ...] = ()
    iterate: dict[str, list] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """The solver converged to its tolerance."""
        return self.status == 0

    @property
    def message(self) -> str:
        """Human-readable status."""
        return ACADOS_STATUS.get(self.status, f"acados status {self.status}")


class MPCSolveError(RuntimeError):
    """A solve did not converge; ``solution`` holds the last (unusable) iterate."""

    def __init__(self, solution: MPCSolution, tried: str = "1 initialisation") -> None:
        self.solution = solution
        super().__init__(
            f"MPC solve failed at x0={np.round(solution.x0, 4).tolist()} after {tried}: "
            f"{solution.message} (status {solution.status}, {solution.sqp_iter} SQP iterations)"
        )


@dataclass
class MPCStats:
    """Counters of one :class:`ParametricMPC`; every solve is counted.

    Attributes:
        calls: Calls of :meth:`ParametricMPC.solve`, :meth:`~ParametricMPC.solve_best` and
            ``mpc(x)``.
        call_failures: Calls that ended without a converged solution (raised, or returned
            a solution with ``ok == False``).
        solves: Single solves from one initialisation (a call may run several).
        failures: Single solves that did not converge (e.g. one start of a best-of-starts
            call; the call can still succeed from another start).
        sqp_iter: SQP iterations of all solves.
        time: Wall time of all solves in s.
        failures_by_status: ``{acados status: count}`` of the failed solves.
    """

    calls: int = 0
    call_failures: int = 0
    solves: int = 0
    failures: int = 0
    sqp_iter: int = 0
    time: float = 0.0
    failures_by_status: Counter = field(default_factory=Counter)

    def record(self, sol: MPCSolution) -> None:
        """Count one single solve."""
        self.solves += 1
        self.sqp_iter += sol.sqp_iter
        self.time += sol.time
        if not sol.ok:
            self.failures += 1
            self.failures_by_status[sol.status] += 1

    def record_call(self, sol: MPCSolution) -> None:
        """Count one call and whether it produced a converged solution."""
        self.calls += 1
        self.call_failures += int(not sol.ok)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "calls": self.calls,
            "call_failures": self.call_failures,
            "solves": self.solves,
            "failures": self.failures,
            "sqp_iter": self.sqp_iter,
            "time": self.time,
            "failures_by_status": {str(k): v for k, v in self.failures_by_status.items()},
        }


class ParametricMPC:
    """A nonlinear MPC with runtime parameters theta, solved by acados.

    Args:
        ocp: The OCP description.
        tol: KKT tolerance of the final (Newton) phase.
        switch_tol: Tolerance at which the globalization phase hands over.
        verbose: Print the compiler output when a solver is built.

    Example:
        >>> mpc = ParametricMPC(cartpole_ocp())
        >>> sol = mpc.solve([0.0, np.pi, 0.0, 0.0], init="best")   # swing-up plan
        >>> u = mpc([0.0, np.pi, 0.0, 0.0])                      # first force in N
        >>> J = mpc.sensitivity(sol).du0_dtheta                  # (1, 7)
    """

    def __init__(
        self,
        ocp: ParametricOCP,
        *,
        tol: float = 1e-10,
        switch_tol: float = 1e-1,
        verbose: bool = False,
    ) -> None:
        self.ocp = ocp
        self.theta_spec = ocp.theta_spec
        self._tol = float(tol)
        self.switch_tol = float(switch_tol)
        self.stats = MPCStats()
        self.cache_folders = {}
        self._io: dict[str, SolverIO] = {}
        self._solvers = {}
        for variant in SOLVER_VARIANTS:
            solver, folder = build_solver(
                acados_ocp(ocp, variant),
                system=ocp.name,
                extra={"variant": variant, "settings": ocp.settings},
                verbose=verbose,
            )
            self._solvers[variant] = solver
            self._io[variant] = SolverIO(solver)
            self.cache_folders[variant] = folder
        glob, newton = self._solvers["globalize"], self._solvers["newton"]
        glob.options_set("initialize_t_slacks", 1)
        self._set_tol(newton, self.tol)
        self._switch_tols = (self.switch_tol, self.switch_tol * 1e-2)
        self._theta_loaded: np.ndarray | None = None
        self._last: MPCSolution | None = None
        self._sensitivity: KKTSensitivity | None = None

    # ---------------------------------------------------------------- properties
    @property
    def nx(self) -> int:
        """State dimension."""
        return self.ocp.nx

    @property
    def nu(self) -> int:
        """Input dimension."""
        return self.ocp.nu

    @property
    def steps(self) -> int:
        """Number of shooting intervals N."""
        return self.ocp.steps

    @property
    def tol(self) -> float:
        """KKT tolerance of the final (Newton) phase; can be changed at run time."""
        return self._tol

    @tol.setter
    def tol(self, value: float) -> None:
        self._tol = float(value)
        self._set_tol(self._solvers["newton"], self._tol)

    @property
    def last_solution(self) -> MPCSolution | None:
        """The last converged solution (the warm start of the next solve)."""
        return self._last

    def reset(self) -> None:
        """Forget the warm start (call between episodes)."""
        self._last = None

    # ---------------------------------------------------------------- solving
    def __call__(self, x: Sequence[float], theta: Any = None) -> np.ndarray:
        """First input u0*(x; theta), warm-started from the previous call.

        Raises:
            MPCSolveError: no initialisation converged.
        """
        return self.solve(x, theta, init="warm").u0

    def solve(
        self,
        x: Sequence[float],
        theta: Any = None,
        init: Any = "warm",
        *,
        raise_on_failure: bool = True,
    ) -> MPCSolution:
        """Solve the OCP at state ``x`` with parameters ``theta`` (theta_nom if ``None``).

        Args:
            x: Initial state (nx,).
            theta: Parameter vector, ``{name: value}`` overrides, or ``None``.
            init: ``"warm"`` (previous solution; ``"best"`` when there is none or it fails),
                ``"best"`` (see :meth:`solve_best`), ``"still"`` (state held, zero input),
                the name of a problem guess (e.g. ``"swing+"``), an :class:`InitialGuess`
                or an :class:`MPCSolution` to start from.
            raise_on_failure: Raise :class:`MPCSolveError` instead of returning a failed
                solution (failed solutions are always counted in :attr:`stats`).

        Raises:
            ValueError: theta out of bounds or non-finite, or x of wrong size/non-finite.
            MPCSolveError: the solve failed and ``raise_on_failure``.
        """
        x0, th = self._check(x, theta)
        if isinstance(init, str) and init == "best":
            return self.solve_best(x0, th, raise_on_failure=raise_on_failure)
        if isinstance(init, str) and init == "warm":
            if self._last is None:
                return self.solve_best(x0, th, raise_on_failure=raise_on_failure)
            sol = self._solve_from(x0, th, self._last)
            tried = "the warm start"
            if not sol.ok:
                sol = self._best(x0, th, None)
                tried = "the warm start and all cold starts"
        else:
            sol = self._solve_from(x0, th, init)
            tried = f"initialisation {sol.init!r}"
        return self._finish(sol, tried, raise_on_failure)

    def solve_best(
        self,
        x: Sequence[float],
        theta: Any = None,
        inits: Sequence[Any] | None = None,
        *,
        raise_on_failure: bool = True,
    ) -> MPCSolution:
        """The lowest-cost converged solution over several initialisations.

        Args:
            x: Initial state (nx,).
            theta: Parameter vector (theta_nom if ``None``).
            inits: Initialisations (see :meth:`solve`); default: the problem's guesses
                (for the cart-pole a swing to each side) and ``"still"``. Prepend a
                previous solution to include a warm start.
            raise_on_failure: Raise :class:`MPCSolveError` when none converged.
        """
        x0, th = self._check(x, theta)
        inits = list(inits) if inits is not None else None
        sol = self._best(x0, th, inits)
        n = len(inits) if inits is not None else "all"
        return self._finish(sol, f"{n} initialisations", raise_on_failure)

    def _best(self, x0: np.ndarray, th: np.ndarray, inits: list[Any] | None) -> MPCSolution:
        """Lowest-cost converged solution over ``inits``, or the first failure."""
        if inits is None:
            inits = [*self.ocp.initial_guesses(x0, th), "still"]
        best: MPCSolution | None = None
        first_failure: MPCSolution | None = None
        tried: list[InitialGuess] = []
        for init in inits:
            if isinstance(init, InitialGuess):
                # Guesses of different names can coincide (a swing direction only matters
                # when the pole is at rest): solving twice would give the same result.
                if any(_same_guess(init, g) for g in tried):
                    continue
                tried.append(init)
            sol = self._solve_from(x0, th, init)
            if sol.ok and (best is None or sol.cost < best.cost):
                best = sol
            elif not sol.ok and first_failure is None:
                first_failure = sol
        if best is None:
            assert first_failure is not None, "no initialisation given"
            return first_failure
        return best

    def _finish(self, sol: MPCSolution, tried: str, raise_on_failure: bool) -> MPCSolution:
        """Count the call; keep a converged solution as the next warm start, else raise."""
        self.stats.record_call(sol)
        if sol.ok:
            self._last = sol
        elif raise_on_failure:
            raise MPCSolveError(sol, tried)
        return sol

    def sensitivity(self, solution: MPCSolution) -> SensitivityResult:
        """Exact du0*/dtheta at a converged ``solution`` (implicit-function theorem on KKT).

        Raises:
            ValueError: the solution did not converge.
            SensitivityError: the solution is not a regular local minimum.
        """
        if not solution.ok:
            raise ValueError(f"cannot differentiate a failed solve ({solution.message})")
        if self._sensitivity is None:
            self._sensitivity = KKTSensitivity(self.ocp)
        kkt = self._sensitivity
        w = kkt.pack(solution.x_traj, solution.u_traj, solution.slack_lower, solution.slack_upper)
        return kkt.solve(w, solution.theta, solution.x0)

    # ---------------------------------------------------------------- internals
    def _check(self, x: Sequence[float], theta: Any) -> tuple[np.ndarray, np.ndarray]:
        x0 = np.asarray(x, dtype=float).reshape(-1)
        if x0.shape != (self.nx,):
            raise ValueError(
                f"x must have {self.nx} entries {self.ocp.state_names}, got {x0.shape}"
            )
        if not np.all(np.isfinite(x0)):
            raise ValueError(f"x must be finite, got {x0.tolist()}")
        if isinstance(theta, np.ndarray) and theta is not None:
            th = self.theta_spec.check(theta)
        elif isinstance(theta, Mapping) or theta is None:
            th = self.theta_spec.check(theta)
        else:
            th = self.theta_spec.check(np.asarray(theta, dtype=float))
        return x0, th

    def _load_theta(self, theta: np.ndarray) -> None:
        if self._theta_loaded is None or not np.array_equal(theta, self._theta_loaded):
            for io in self._io.values():
                io.set_params(theta)
            self._theta_loaded = theta.copy()

    def _guess(self, x0: np.ndarray, theta: np.ndarray, init: Any) -> InitialGuess:
        n = self.steps
        if isinstance(init, InitialGuess):
            return init
        if isinstance(init, MPCSolution):
            return InitialGuess(f"from:{init.init}", init.x_traj, init.u_traj)
        if init == "still":
            return InitialGuess("still", np.tile(x0, (n + 1, 1)), np.zeros((n, self.nu)))
        if isinstance(init, str):
            for guess in self.ocp.initial_guesses(x0, theta):
                if guess.name == init:
                    return guess
            names = [g.name for g in self.ocp.initial_guesses(x0, theta)]
            raise ValueError(
                f"unknown init {init!r}; valid: 'warm', 'best', 'still', {names}, an "
                "InitialGuess or an MPCSolution"
            )
        raise ValueError(f"unknown init {init!r}")

    def _solve_from(self, x0: np.ndarray, theta: np.ndarray, init: Any) -> MPCSolution:
        """Solve once from one initialisation; counts the solve in :attr:`stats`."""
        start = time.perf_counter()
        self._load_theta(theta)
        glob, newton = self._io["globalize"], self._io["newton"]
        iters = 0
        status = -1
        name = "warm"
        trace: list[tuple[str, int, int]] = []
        if isinstance(init, MPCSolution):
            init = self._on_branch(init, x0)
        if isinstance(init, MPCSolution) and init.iterate is not None:
            # Newton directly from the previous primal-dual solution.
            name = f"warm:{init.init}"
            newton.load_iterate(init.iterate)
            newton.set(0, "x", x0)
            newton.set_initial_state(x0)
            status = newton.solve()
            iters += self._iterations("newton")
            trace.append(("newton", status, self._iterations("newton")))
        if status != 0:
            guess = self._guess(x0, theta, init)
            name = name if status != -1 else guess.name
            glob.reset()
            glob.set_initial_state(x0)
            for k in range(self.steps + 1):
                glob.set(k, "x", guess.states[k])
            glob.set(0, "x", x0)
            for k in range(self.steps):
                glob.set(k, "u", guess.inputs[k])
            # Hand over to Newton at the loose tolerance; if Newton fails (the reduced
            # Hessian is not yet positive definite), continue the globalization to a
            # tighter tolerance and try again.
            for switch_tol in self._switch_tols:
                self._set_tol(self._solvers["globalize"], switch_tol)
                status = glob.solve()
                iters += self._iterations("globalize")
                trace.append(("glob", status, self._iterations("globalize")))
                if status not in (0, 2):
                    break
                newton.load_iterate(glob.iterate())
                newton.set_initial_state(x0)
                status = newton.solve()
                iters += self._iterations("newton")
                trace.append(("newton", status, self._iterations("newton")))
                if status == 0:
                    break
        sol = self._read(newton, x0, theta, status, iters, name, start, tuple(trace))
        self.stats.record(sol)
        return sol

    def _on_branch(self, sol: MPCSolution, x0: np.ndarray) -> MPCSolution:
        """``sol`` with periodic states (angles) shifted by 2 pi k towards ``x0``.

        The OCP is 2 pi periodic in these states, so the shifted solution is a solution
        too; a warm start on another branch than x0 would be far from it.
        """
        shift = np.zeros(self.nx)
        for i in self.ocp.periodic_states:
            period = 2 * np.pi
            shift[i] = period * np.round((x0[i] - sol.x_traj[0, i]) / period)
        if not np.any(shift):
            return sol
        iterate = None
        if sol.iterate is not None:
            iterate = dict(sol.iterate)
            iterate["x"] = [x + shift for x in sol.iterate["x"]]
        return replace(sol, x_traj=sol.x_traj + shift, iterate=iterate)

    @staticmethod
    def _set_tol(solver: Any, tol: float) -> None:
        for name in ("tol_stat", "tol_eq", "tol_ineq", "tol_comp"):
            solver.options_set(name, float(tol))

    def _iterations(self, variant: str) -> int:
        return int(self._solvers[variant].get_stats("sqp_iter")[0])

    def _read(
        self,
        io: SolverIO,
        x0: np.ndarray,
        theta: np.ndarray,
        status: int,
        iters: int,
        name: str,
        start: float,
        phases: tuple[tuple[str, int, int], ...],
    ) -> MPCSolution:
        n, ns = self.steps, len(self.ocp.soft_x_index)
        it = io.iterate()
        xs = np.array(it["x"])
        us = np.array(it["u"][:n])
        sl = np.array([it["sl"][k] if ns else np.zeros(0) for k in range(1, n + 1)]).reshape(n, ns)
        su = np.array([it["su"][k] if ns else np.zeros(0) for k in range(1, n + 1)]).reshape(n, ns)
        finite = np.all(np.isfinite(xs)) and np.all(np.isfinite(us))
        if status == 0 and not finite:
            status = 1
        cost = float(self._solvers["newton"].get_cost()) if finite else float("nan")
        return MPCSolution(
            u0=us[0].copy(),
            cost=cost,
            status=int(status),
            sqp_iter=iters,
            time=time.perf_counter() - start,
            x_traj=xs,
            u_traj=us,
            slack_lower=sl,
            slack_upper=su,
            init=name,
            x0=x0.copy(),
            theta=theta.copy(),
            phases=phases,
            iterate=it,
        )


def _same_guess(a: InitialGuess, b: InitialGuess) -> bool:
    return np.array_equal(a.states, b.states) and np.array_equal(a.inputs, b.inputs)
