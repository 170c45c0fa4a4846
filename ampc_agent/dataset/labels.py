"""One label: the best-of-several-starts MPC action at a state, with its exact sensitivity."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["label_state"]


def label_state(
    mpc: Any, x: np.ndarray, extra_inits: list[Any] | None = None, include_still: bool = True
) -> tuple[dict[str, Any] | None, str]:
    """Best-of-several-starts label of state ``x`` at theta_nom, with du0*/dtheta.

    Args:
        mpc: A :class:`~ampc_agent.mpc.ParametricMPC`.
        x: The state.
        extra_inits: More initialisations tried first (e.g. the closed-loop solution).
        include_still: Also try the state held still (a cheap, dynamically infeasible
            guess that sometimes finds a better local minimum).

    Returns:
        ``(sample, outcome)``: the sample fields (``u``, ``du_dtheta``, ``cost``,
        ``sqp_iter``, ``solve_time``, ``weakly_active``) or ``None``, and ``"ok"``,
        ``"no_convergence"`` or ``"sensitivity_failed"``.
    """
    from ampc_agent.mpc import SensitivityError

    theta = mpc.theta_spec.nominal_array
    inits = [*(extra_inits or []), *mpc.ocp.initial_guesses(np.asarray(x, float), theta)]
    if include_still:
        inits.append("still")
    time_before = mpc.stats.time
    best = mpc.solve_best(x, theta, inits, raise_on_failure=False)
    solve_time = mpc.stats.time - time_before
    if not best.ok:
        return None, "no_convergence"
    try:
        sens = mpc.sensitivity(best)
    except SensitivityError:
        return None, "sensitivity_failed"
    return {
        "u": best.u0.copy(),
        "du_dtheta": sens.du0_dtheta.copy(),
        "cost": best.cost,
        "sqp_iter": best.sqp_iter,
        "solve_time": solve_time,
        "weakly_active": sens.weakly_active,
    }, "ok"
