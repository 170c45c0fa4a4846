"""One label: the best-of-several-starts MPC action at a state, with its exact sensitivity."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["closed_loop_label", "label_state", "perturbation_thetas", "secant_label"]


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
        ``sqp_iter``, ``solve_time``, ``weakly_active``, ``solution``: the best
        :class:`~ampc_agent.mpc.MPCSolution`) or ``None``, and ``"ok"``,
        ``"no_convergence"`` or ``"sensitivity_failed"``.
    """
    theta = mpc.theta_spec.nominal_array
    inits = [*(extra_inits or []), *mpc.initial_guesses(np.asarray(x, float), theta)]
    if include_still:
        inits.append("still")
    time_before = mpc.stats.time
    best = mpc.solve_best(x, theta, inits, raise_on_failure=False)
    solve_time = mpc.stats.time - time_before
    if not best.ok:
        return None, "no_convergence"
    return _with_sensitivity(mpc, best, solve_time)


def closed_loop_label(mpc: Any, x: np.ndarray, solution: Any) -> tuple[dict[str, Any] | None, str]:
    """The closed-loop MPC's own action at ``x``: its solution re-solved to the full
    tolerance from its primal-dual iterate (theta_nom), with du0*/dtheta.

    Args:
        mpc: The :class:`~ampc_agent.mpc.ParametricMPC`.
        x: The state the closed loop solved for.
        solution: The closed-loop :class:`~ampc_agent.mpc.MPCSolution` at ``x``.

    Returns:
        As :func:`label_state`; ``(None, "no_convergence")`` when the re-solve fails.
    """
    theta = mpc.theta_spec.nominal_array
    time_before = mpc.stats.time
    sol = mpc.solve(np.asarray(x, float), theta, init=solution, raise_on_failure=False)
    solve_time = mpc.stats.time - time_before
    if not sol.ok:
        return None, "no_convergence"
    return _with_sensitivity(mpc, sol, solve_time)


def _with_sensitivity(mpc: Any, sol: Any, solve_time: float) -> tuple[dict[str, Any] | None, str]:
    """The sample fields of a converged solution, with its KKT sensitivity."""
    from ampc_agent.mpc import SensitivityError

    try:
        sens = mpc.sensitivity(sol)
    except SensitivityError:
        return None, "sensitivity_failed"
    return {
        "u": sol.u0.copy(),
        "du_dtheta": sens.du0_dtheta.copy(),
        "cost": sol.cost,
        "sqp_iter": sol.sqp_iter,
        "solve_time": solve_time,
        "weakly_active": sens.weakly_active,
        "solution": sol,
    }, "ok"


def perturbation_thetas(spec: Any, k: int, scale: float, rng: np.random.Generator) -> np.ndarray:
    """``k`` parameter vectors around theta_nom for secant labels, inside the bounds.

    ``theta = nominal + scale * s * (v - nominal)`` with ``v`` uniform in the bounds and
    ``s`` uniform in [0, 1]: the changes spread over all distances from nominal, out to
    the bounds (``scale = 1``), as a tuner's or a user's changes do.
    """
    nominal, lower, upper = spec.nominal_array, spec.lower_array, spec.upper_array
    v = rng.uniform(lower, upper, size=(k, len(nominal)))
    s = rng.uniform(0.0, 1.0, size=(k, 1))
    return np.clip(nominal + scale * s * (v - nominal), lower, upper)


def secant_label(
    mpc: Any, nominal: Any, thetas: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Changes of the first action under finite changes of theta, and their secant slope.

    Each ``u*(x, theta_k)`` is solved from the nominal solution (Newton from its
    primal-dual iterate), so that it follows the same local optimum: the change that
    the first-order adaptation ``J(x) (theta - theta_nom)`` is meant to reproduce.

    Args:
        mpc: The :class:`~ampc_agent.mpc.ParametricMPC`.
        nominal: The converged nominal solution at the state.
        thetas: ``(k, p)`` parameter vectors.

    Returns:
        ``dtheta`` ``(k, p)``, ``du`` ``(k, nu)`` (``u*(theta_k) - u*(theta_nom)``, NaN
        where the re-solve failed) and the secant ``(nu, p)``: the least-squares slope
        of ``du`` on ``dtheta`` over the converged re-solves (NaN if fewer than ``p``).
    """
    dtheta = np.asarray(thetas, dtype=np.float64) - nominal.theta
    du = np.full((len(thetas), mpc.nu), np.nan)
    for i, theta in enumerate(thetas):
        sol = mpc.solve(nominal.x0, theta, init=nominal, raise_on_failure=False)
        if sol.ok:
            du[i] = sol.u0 - nominal.u0
    ok = np.all(np.isfinite(du), axis=1)
    secant = np.full((mpc.nu, dtheta.shape[1]), np.nan)
    if ok.sum() >= dtheta.shape[1]:
        fit, *_ = np.linalg.lstsq(dtheta[ok], du[ok], rcond=None)
        secant = fit.T
    return dtheta, du, secant
