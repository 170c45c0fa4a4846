"""One solve of a :class:`~ampc_agent.mpc.parametric.ParametricMPC` and the counters of all."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

__all__ = ["ACADOS_STATUS", "MPCSolution", "MPCSolveError", "MPCStats", "on_branch"]

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
        sqp_iter: SQP iterations of all phases and solver calls.
        time: Wall time of the solve in s (including moving iterates between solvers).
        x_traj: Predicted states (N+1, nx).
        u_traj: Predicted inputs (N, nu).
        slack_lower, slack_upper: Slacks of the soft state bounds at stages 1..N (N, ns).
        init: Name of the initialisation that produced this solution.
        x0: The initial state the OCP was solved for.
        theta: The parameter vector the OCP was solved for.
        phases: ``(solver, status, iterations)`` of each phase run, in order.
        iterate: The full primal-dual iterate (for warm starts).
        residuals: acados' ``(stationarity, equality, inequality, complementarity)``
            residuals when the solve stopped at its iteration limit (status 2), else
            ``None`` (a converged solve is within ``tol``).
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
    residuals: tuple[float, float, float, float] | None = None

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


def on_branch(sol: MPCSolution, x0: np.ndarray, periodic_states: tuple[int, ...]) -> MPCSolution:
    """``sol`` with its periodic states (angles) shifted by 2 pi k towards ``x0``.

    The OCP is 2 pi periodic in these states, so the shifted solution is a solution
    too; a warm start on another branch than x0 would be far from it.
    """
    shift = np.zeros(len(x0))
    for i in periodic_states:
        period = 2 * np.pi
        shift[i] = period * np.round((x0[i] - sol.x_traj[0, i]) / period)
    if not np.any(shift):
        return sol
    iterate = None
    if sol.iterate is not None:
        iterate = dict(sol.iterate)
        iterate["x"] = [x + shift for x in sol.iterate["x"]]
    return replace(sol, x_traj=sol.x_traj + shift, iterate=iterate)
