"""The MPC as a closed-loop controller, with the closed-loop rules of its OCP.

Two sets of rules (``ParametricOCP.solver.realtime``):

* solve to convergence (the cart-pole): each call solves from the previous solution
  (all cold starts if that fails); when no start converges the failure is counted and
  the previous command is held, as a real-time controller would;
* real time (the wheelbot, whose SQP iterations cost milliseconds): each call runs
  ``warm_calls`` solver calls from the previous iterate; a solve stopped at its
  iteration limit is used when its residuals are small (``inexact_eq``,
  ``inexact_stat``); a failed call plays the previous plan at the elapsed time and the
  next call continues from where the solver stopped; a jump of the state beyond
  ``replan_jump`` (a new reference) re-plans from the best of the previous solution and
  all cold starts.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MPCController", "acceptable"]


def acceptable(solution: Any, settings: Any) -> bool:
    """A converged solve, or (real time) one at its iteration limit with small residuals."""
    if solution.ok:
        return True
    r = solution.residuals
    return (
        settings.realtime
        and r is not None
        and r[0] < settings.inexact_stat
        and r[1] < settings.inexact_eq
        and r[2] < settings.inexact_eq
    )


class MPCController:
    """Warm-started MPC in closed loop at a fixed theta: ``controller(x) -> u``.

    Args:
        mpc: A :class:`~ampc_agent.mpc.parametric.ParametricMPC`.
        theta: Parameters (``None``: theta_nom).
        keep_solutions: Keep every call's :class:`~ampc_agent.mpc.parametric.MPCSolution`
            in :attr:`solutions` (``None`` for a failed call), for example to reuse
            them as labels.

    Attributes:
        failures: Calls whose solve failed (no converged or acceptable solution) in this
            episode and the earlier ones.
        inexact: Calls that used an acceptable solve at its iteration limit.
        replans: Calls that re-planned from all starts after a jump of the state.
        solutions: One entry per call since the last :meth:`reset` (with ``keep_solutions``).
        kinds: What each call since the last :meth:`reset` did (with ``keep_solutions``):
            ``"start"`` (first call: best of all starts), ``"replan"``, ``"warm"``,
            ``"inexact"`` (a warm solve accepted at its iteration limit) or ``"failed"``.
    """

    def __init__(self, mpc: Any, theta: Any = None, keep_solutions: bool = False) -> None:
        self.mpc, self.theta = mpc, theta
        self.keep_solutions = keep_solutions
        self.settings = mpc.ocp.solver
        self.failures = self.inexact = self.replans = 0
        self.solutions: list[Any] = []
        self.kinds: list[str] = []
        self._u = np.zeros(mpc.nu)
        self._forget()

    def _forget(self) -> None:
        self._good = None  # the last used solution (its plan is played on failures)
        self._start = None  # where the next real-time call starts from
        self._age = 0  # calls since the last used solution
        self._x = None  # the state of the previous call

    def reset(self) -> None:
        """Forget the warm start and the held command (start of an episode)."""
        self.mpc.reset()
        self._u = np.zeros(self.mpc.nu)
        self.solutions = []
        self.kinds = []
        self._forget()

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float64)[: self.mpc.nx]
        if self.settings.realtime:
            sol, kind = self._realtime(x)
        else:
            sol = self.mpc.solve(x, self.theta, init="warm", raise_on_failure=False)
            kind = "warm" if sol.ok else "failed"
            if sol.ok:
                self._u = np.asarray(sol.u0, dtype=np.float64)
        if kind == "failed":
            self.failures += 1
        if self.keep_solutions:
            self.solutions.append(None if kind == "failed" else sol)
            self.kinds.append(kind)
        return self._u

    def _realtime(self, x: np.ndarray) -> tuple[Any, str]:
        mpc, settings = self.mpc, self.settings
        jump = settings.replan_jump
        jumped = self._x is not None and jump is not None and np.any(np.abs(x - self._x) > jump)
        self._x = x
        if self._start is None or jumped:
            kind = "replan" if jumped else "start"
            self.replans += int(jumped)
            previous = [self._good] if self._good is not None else []
            inits = [*previous, *mpc.initial_guesses(x, self.theta)]
            sol = mpc.solve_best(x, self.theta, inits, raise_on_failure=False)
        else:
            kind = "warm"
            sol = mpc.solve(
                x,
                self.theta,
                init=self._start,
                raise_on_failure=False,
                max_calls=settings.warm_calls,
            )
        if acceptable(sol, settings):
            if not sol.ok:
                self.inexact += 1
                kind = "inexact"
            self._good = self._start = sol
            self._age = 0
            self._u = np.asarray(sol.u0, dtype=np.float64)
            return sol, kind
        # Play the last plan at the elapsed time; continue from where the solver stopped
        # if it only ran out of iterations, else from the last used solution.
        self._age += 1
        self._start = sol if sol.status == 2 else self._good
        if self._good is not None:
            k = min(int(self._age * mpc.ocp.control_dt / mpc.ocp.dt), mpc.steps - 1)
            self._u = np.asarray(self._good.u_traj[k], dtype=np.float64)
        return sol, "failed"
