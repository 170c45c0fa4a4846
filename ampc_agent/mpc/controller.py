"""The MPC as a closed-loop controller: the one "hold the last command on a failed solve"."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MPCController"]


class MPCController:
    """Warm-started MPC in closed loop at a fixed theta: ``controller(obs) -> u``.

    Each call solves from the previous solution (the MPC shifts angle states of the
    warm start to the branch of the new state); when a solve fails, the failure is
    counted and the previous command is held, as a real-time controller would.

    Args:
        mpc: A :class:`~ampc_agent.mpc.parametric.ParametricMPC`.
        theta: Parameters (``None``: theta_nom).
        keep_solutions: Keep every call's :class:`~ampc_agent.mpc.parametric.MPCSolution`
            in :attr:`solutions` (``None`` for a failed call), for example to reuse
            them as labels.

    Attributes:
        failures: Calls whose solve failed in this episode and the earlier ones.
        solutions: One entry per call since the last :meth:`reset` (with ``keep_solutions``).
    """

    def __init__(self, mpc: Any, theta: Any = None, keep_solutions: bool = False) -> None:
        self.mpc, self.theta = mpc, theta
        self.keep_solutions = keep_solutions
        self.failures = 0
        self.solutions: list[Any] = []
        self._u = np.zeros(mpc.nu)

    def reset(self) -> None:
        """Forget the warm start and the held command (start of an episode)."""
        self.mpc.reset()
        self._u = np.zeros(self.mpc.nu)
        self.solutions = []

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float64)[: self.mpc.nx]
        sol = self.mpc.solve(x, self.theta, init="warm", raise_on_failure=False)
        if sol.ok:
            self._u = np.asarray(sol.u0, dtype=np.float64)
        else:
            self.failures += 1
        if self.keep_solutions:
            self.solutions.append(sol if sol.ok else None)
        return self._u
