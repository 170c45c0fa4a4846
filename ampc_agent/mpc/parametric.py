"""``ParametricMPC``: an acados NMPC whose parameters theta change at run time.

The OCP (:class:`~ampc_agent.mpc.ocp.ParametricOCP`) says how it is solved
(:attr:`~ampc_agent.mpc.ocp.ParametricOCP.solver`); the solvers of that method live in
:mod:`ampc_agent.mpc.strategies` (the cart-pole's mirrored-Hessian globalization
followed by unregularized Newton, the wheelbot's repeated Gauss-Newton calls). They are
built from the one OCP description and cached on disk.

The OCP is nonconvex: different initialisations reach different local minima.
:meth:`ParametricMPC.solve_best` tries several (warm start, problem-specific guesses,
solutions of the OCP's library states re-simulated from the state, the state held
still) and keeps the lowest cost among the converged ones; ``fallback`` guesses are
tried only when none of the others converged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ampc_agent.mpc.ocp import InitialGuess, ParametricOCP
from ampc_agent.mpc.rollout import guess_of
from ampc_agent.mpc.sensitivity import KKTSensitivity, SensitivityResult
from ampc_agent.mpc.solution import (
    ACADOS_STATUS,
    MPCSolution,
    MPCSolveError,
    MPCStats,
    on_branch,
)
from ampc_agent.mpc.solver_io import SolverIO
from ampc_agent.mpc.strategies import make_strategy

__all__ = ["MPCSolution", "MPCStats", "MPCSolveError", "ParametricMPC", "ACADOS_STATUS"]


class ParametricMPC:
    """A nonlinear MPC with runtime parameters theta, solved by acados.

    Args:
        ocp: The OCP description.
        tol: KKT tolerance of the final phase (``None``: ``ocp.solver.tol``).
        switch_tol: Tolerance at which the globalization phase hands over (method
            ``"globalize_newton"``).
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
        tol: float | None = None,
        switch_tol: float = 1e-1,
        verbose: bool = False,
    ) -> None:
        self.ocp = ocp
        self.theta_spec = ocp.theta_spec
        self.switch_tol = float(switch_tol)
        self.stats = MPCStats()
        self._strategy = make_strategy(ocp, verbose, self.switch_tol)
        self.cache_folders = self._strategy.cache_folders
        self._io: dict[str, SolverIO] = self._strategy.io
        self.tol = ocp.solver.tol if tol is None else tol
        self._theta_loaded: np.ndarray | None = None
        self._last: MPCSolution | None = None
        self._sensitivity: KKTSensitivity | None = None
        self._library: list[tuple[str, np.ndarray]] | None = None

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
        self._strategy.set_tol(self._tol)

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
        max_calls: int | None = None,
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
            max_calls: Solver calls of a single start (method ``"gauss_newton"``;
                ``None``: ``ocp.solver.cold_calls``), e.g. 1 in a real-time loop.

        Raises:
            ValueError: theta out of bounds or non-finite, or x of wrong size, non-finite
                or outside the model's domain.
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
            sol = self._solve_from(x0, th, init, max_calls)
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
        """Lowest-cost converged solution over ``inits``, or the first failure.

        Fallback guesses (``InitialGuess.fallback``) are solved only when none of the
        other initialisations converged.
        """
        if inits is None:
            inits = [*self.initial_guesses(x0, th), "still"]
        primary = [i for i in inits if not (isinstance(i, InitialGuess) and i.fallback)]
        fallback = [i for i in inits if isinstance(i, InitialGuess) and i.fallback]
        best: MPCSolution | None = None
        first_failure: MPCSolution | None = None
        tried: list[InitialGuess] = []
        for group in (primary, fallback):
            if best is not None:
                break
            for init in group:
                if isinstance(init, InitialGuess):
                    # Guesses of different names can coincide (a swing direction only
                    # matters when the pole is at rest): solving twice would give the
                    # same result.
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

    def initial_guesses(self, x: Sequence[float], theta: Any = None) -> list[InitialGuess]:
        """The cold starts at ``x``: the library solutions (``ocp.library_states``,
        solved once at theta_nom, their inputs re-simulated from ``x`` at ``theta``),
        then the OCP's own guesses."""
        x0, th = np.asarray(x, dtype=float), self.theta_spec.check(theta)
        library = [
            self.ocp.rollout_guess(name, x0, inputs, th) for name, inputs in self._library_inputs()
        ]
        return [*library, *self.ocp.initial_guesses(x0, th)]

    def _library_inputs(self) -> list[tuple[str, np.ndarray]]:
        if self._library is None:
            nominal = self.theta_spec.nominal_array
            self._library = []
            for name, state in self.ocp.library_states:
                state = np.asarray(state, dtype=float)
                # Every guess of the OCP counts here, fallback or not: a library entry is
                # the best solution from its state, not the first that converges.
                guesses = self.ocp.initial_guesses(state, nominal)
                inits = [g._replace(fallback=False) for g in guesses]
                sol = self._best(state, nominal, inits)
                if sol.ok:
                    self._library.append((name, sol.u_traj.copy()))
        return self._library

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
        self.ocp.check_state(x0)
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
        return guess_of(init, x0, self.steps, self.nu, lambda: self.initial_guesses(x0, theta))

    def _solve_from(
        self, x0: np.ndarray, theta: np.ndarray, init: Any, max_calls: int | None = None
    ) -> MPCSolution:
        """Solve once from one initialisation; counts the solve in :attr:`stats`."""
        start = time.perf_counter()
        self._load_theta(theta)
        if isinstance(init, MPCSolution):
            init = on_branch(init, x0, self.ocp.periodic_states)
        iterate = init.iterate if isinstance(init, MPCSolution) else None
        # A warm start needs its primal guess only if continuing from its iterate fails.
        first = None if iterate is not None else self._guess(x0, theta, init)
        if first is not None:
            name = first.name
        else:  # "warm:<the cold start the chain of warm starts began with>"
            name = init.init if init.init.startswith("warm:") else f"warm:{init.init}"

        def guess() -> InitialGuess:
            return first if first is not None else self._guess(x0, theta, init)

        status, iters, trace = self._strategy.run(x0, iterate, guess, max_calls)
        sol = self._strategy.read(x0, theta, status, iters, name, trace)
        sol = replace(sol, time=time.perf_counter() - start)  # with moving the iterates
        self.stats.record(sol)
        return sol


def _same_guess(a: InitialGuess, b: InitialGuess) -> bool:
    return np.array_equal(a.states, b.states) and np.array_equal(a.inputs, b.inputs)
