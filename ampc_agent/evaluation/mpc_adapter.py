"""The acados MPC as a closed-loop controller and as the reference action at any theta."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["MPCController", "MPCReference"]


class MPCController:
    """Warm-started MPC in closed loop, at a fixed theta.

    The observation's pole angle is wrapped to (-pi, pi]; the MPC's warm start is a
    trajectory that may have crossed pi. The angle is shifted by a multiple of 2 pi
    to the branch of the warm start (the model is 2 pi periodic in the angle), so the
    warm start stays valid. A failed solve is counted and the previous action reused.

    Args:
        mpc: A :class:`~ampc_agent.mpc.parametric.ParametricMPC`.
        theta: Parameters (``None``: theta_nom).
        angle_index: Index of the pole angle in the state.
    """

    def __init__(self, mpc: Any, theta: np.ndarray | None = None, angle_index: int = 1) -> None:
        self.mpc, self.theta, self.angle_index = mpc, theta, angle_index
        self.failures = 0
        self._u = np.zeros(mpc.nu)

    def reset(self) -> None:
        """Forget the warm start (start of an episode)."""
        self.mpc.reset()
        self._u = np.zeros(self.mpc.nu)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        x = np.array(obs, dtype=np.float64)
        last = self.mpc.last_solution
        if last is not None:
            ref = last.x_traj[min(1, len(last.x_traj) - 1), self.angle_index]
            x[self.angle_index] += 2 * math.pi * round((ref - x[self.angle_index]) / (2 * math.pi))
        try:
            self._u = np.asarray(self.mpc(x, self.theta), dtype=np.float64)
        except RuntimeError:  # MPCSolveError: keep the previous action
            self.failures += 1
        return self._u


class MPCReference:
    """The MPC's first action at ``(x, theta)``, on the branch of the nominal solution.

    For each state the nominal problem is solved once from several initialisations
    (the dataset's labels come from the same best-of-starts rule); at another theta
    the solve starts from that nominal solution, so the reference follows the same
    local optimum as the sensitivity does. When that fails, the best of the cold
    starts is used and counted in :attr:`branch_switches`.

    Args:
        mpc: A :class:`~ampc_agent.mpc.parametric.ParametricMPC`.
    """

    def __init__(self, mpc: Any) -> None:
        self.mpc = mpc
        self._nominal: dict[bytes, Any] = {}
        self.branch_switches = 0
        self.failures = 0

    def nominal_solution(self, x: np.ndarray) -> Any | None:
        """Best nominal solution at ``x`` (cached); ``None`` if no start converged."""
        key = np.asarray(x, dtype=np.float64).tobytes()
        if key not in self._nominal:
            sol = self.mpc.solve_best(x, None, raise_on_failure=False)
            self._nominal[key] = sol if sol.ok else None
        return self._nominal[key]

    def __call__(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        nominal = self.nominal_solution(x)
        if nominal is not None:
            sol = self.mpc.solve(x, theta, init=nominal, raise_on_failure=False)
            if sol.ok:
                return sol.u0
        self.branch_switches += 1
        sol = self.mpc.solve_best(x, theta, raise_on_failure=False)
        if not sol.ok:
            self.failures += 1
            return np.full(self.mpc.nu, np.nan)
        return sol.u0
