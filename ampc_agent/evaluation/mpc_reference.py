"""The acados MPC as the reference action at any theta, on the branch of the nominal solution."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["MPCReference"]


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
