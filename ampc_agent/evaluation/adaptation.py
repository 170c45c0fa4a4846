"""How well the adapted AMPC follows the MPC when theta moves away from theta_nom.

For a set of states ``x`` and parameter vectors ``theta``, compare with the MPC's
action ``u*(x, theta)`` solved at that theta:

* the adapted AMPC ``clip(pi(x) + J(x) (theta - theta_nom))``,
* the unadapted AMPC ``clip(pi(x))`` (what one gets without the sensitivity network),
* the exact first-order step ``clip(u*(x, theta_nom) + du*/dtheta (theta - theta_nom))``
  from the MPC labels (the linearisation error alone, no network error).

Distances are measured in range-normalised units,
``d(theta) = || (theta - theta_nom) / (theta_upper - theta_lower) ||_2``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ampc_agent.policy import AMPCPolicy

__all__ = [
    "trimmed_change_means",
    "normalized_distance",
    "sample_thetas",
    "action_errors",
    "parameter_sweeps",
    "recommend_tuning_bounds",
    "error_by_distance",
    "adapted_is_faithful",
]

#: ``mpc_action(x (nx,), theta (p,)) -> u (nu,)``: the MPC's first action at theta.
MPCAction = Callable[[np.ndarray, np.ndarray], np.ndarray]


def normalized_distance(
    theta: np.ndarray, nominal: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> np.ndarray:
    """``||(theta - nominal) / (upper - lower)||_2`` for ``(p,)`` or ``(n, p)`` thetas."""
    z = (np.asarray(theta, dtype=np.float64) - nominal) / (upper - lower)
    return np.linalg.norm(z, axis=-1)


def sample_thetas(
    nominal: np.ndarray, lower: np.ndarray, upper: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` parameter vectors inside the bounds, spread over all distances from nominal.

    ``theta = nominal + s (v - nominal)`` with ``v`` uniform in the box and ``s``
    uniform in [0, 1]: a plain uniform draw in ``p`` dimensions would almost never
    come close to the nominal point.
    """
    v = rng.uniform(lower, upper, size=(n, len(nominal)))
    s = rng.uniform(0.0, 1.0, size=(n, 1))
    return np.clip(nominal + s * (v - nominal), lower, upper)


def action_errors(
    policy: AMPCPolicy,
    mpc_action: MPCAction,
    states: np.ndarray,
    thetas: np.ndarray,
    u_nominal: np.ndarray | None = None,
    du_dtheta: np.ndarray | None = None,
    u_mpc_nominal: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Absolute action errors against the MPC for every ``(theta, state)`` pair.

    Args:
        policy: The AMPC.
        mpc_action: The MPC's action at ``(x, theta)``.
        states: ``(m, nx)``.
        thetas: ``(n, p)`` inside the policy's theta bounds.
        u_nominal: MPC labels ``u*(x, theta_nom)`` ``(m, nu)``, for the exact Taylor step.
        du_dtheta: MPC labels ``(m, nu, p)``, for the exact Taylor step.
        u_mpc_nominal: ``u*(x, theta_nom)`` ``(m, nu)`` from the same solver as
            ``mpc_action``, for the change metrics.

    Returns:
        ``adapted``, ``unadapted`` and (with labels) ``taylor``: mean over inputs of
        ``|u - u_mpc|``, shape ``(n, m)``, in input units; ``u_mpc`` ``(n, m, nu)``.
        With ``u_mpc_nominal``: ``mpc_change`` ``|u*(x, theta) - u*(x, theta_nom)|`` (the
        change adaptation should make; also the change error of not adapting) and
        ``adapted_change`` ``|(u(x, theta) - u(x, theta_nom)) - (u*(x, theta) -
        u*(x, theta_nom))|``: how well the AMPC's change follows the MPC's, free of the
        imitation error at theta_nom.
    """
    n, m = len(thetas), len(states)
    u_mpc = np.array([[mpc_action(x, th) for x in states] for th in thetas]).reshape(n, m, -1)
    unadapted = policy.batch(states, theta=policy.theta_nominal)
    out = {
        "u_mpc": u_mpc,
        "unadapted": np.abs(unadapted[None] - u_mpc).mean(-1),
        "adapted": np.stack(
            [
                np.abs(policy.batch(states, theta=th) - u_mpc[k]).mean(-1)
                for k, th in enumerate(thetas)
            ]
        ),
    }
    if u_mpc_nominal is not None:
        mpc_delta = u_mpc - np.asarray(u_mpc_nominal)[None]
        ampc_delta = np.stack([policy.batch(states, theta=th) for th in thetas]) - unadapted[None]
        out["mpc_change"] = np.abs(mpc_delta).mean(-1)
        out["adapted_change"] = np.abs(ampc_delta - mpc_delta).mean(-1)
    if u_nominal is not None and du_dtheta is not None:
        dth = thetas - policy.theta_nominal  # (n, p)
        taylor = u_nominal[None] + np.einsum("mip,np->nmi", du_dtheta, dth)
        taylor = np.clip(taylor, policy.input_lower, policy.input_upper)
        out["taylor"] = np.abs(taylor - u_mpc).mean(-1)
    return out


def trimmed_change_means(
    mpc_change: np.ndarray, adapted_change: np.ndarray, trim: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """Means over states without the ``trim`` share of states where the MPC moved most.

    The swing-up OCP is nonconvex: at a few states a small change of theta makes the
    MPC's optimal action jump to another local optimum (for example from +10 N to
    -10 N). One such state among 60 adds 0.3 N to a mean change; no first-order
    adaptation follows it. Dropping, per theta, the states with the largest MPC change
    keeps the statistic about the smooth part of the MPC's response.

    Args:
        mpc_change: ``(n, m)`` MPC change per theta and state.
        adapted_change: ``(n, m)`` AMPC change error per theta and state.
        trim: Share of the states dropped per theta.

    Returns:
        ``(mpc_change_mean, adapted_change_mean)``, each ``(n,)``.
    """
    m = mpc_change.shape[1]
    keep = m - int(np.floor(trim * m))
    order = np.argsort(np.nan_to_num(mpc_change, nan=np.inf), axis=1)[:, :keep]
    mc = np.take_along_axis(mpc_change, order, axis=1)
    ac = np.take_along_axis(adapted_change, order, axis=1)
    return np.nanmean(mc, axis=1), np.nanmean(ac, axis=1)


def adapted_is_faithful(
    change_error: float, mpc_change: float, *, share: float = 0.8, tolerance: float = 0.1
) -> bool:
    """The acceptance rule of a theta for tuning.

    The adapted AMPC is faithful at theta when its change of action follows the
    MPC's: the error of the change is at most ``share`` times the MPC's change itself
    (the error of not adapting), or below ``tolerance`` (parameters that barely change
    the action, where either is fine). The default ``share = 0.8`` asks the adaptation
    to recover at least 20 % of the MPC's move on average: on the cart-pole the mean
    move is dominated by the few states where the MPC's optimal action jumps to
    another local optimum, which no first-order step follows (the exact Taylor step
    from the MPC's own sensitivities recovers 20-60 % of it).

    Args:
        change_error: Mean ``adapted_change`` at theta (see :func:`action_errors`), N.
        mpc_change: Mean ``mpc_change`` at theta, N.
        share: Largest accepted ratio ``change_error / mpc_change``.
        tolerance: Change error accepted in any case, N.
    """
    return change_error <= max(share * mpc_change, tolerance)


def parameter_sweeps(
    policy: AMPCPolicy,
    mpc_action: MPCAction,
    states: np.ndarray,
    points_per_side: int = 4,
    u_nominal: np.ndarray | None = None,
    du_dtheta: np.ndarray | None = None,
    u_mpc_nominal: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """One-at-a-time sweeps: each parameter from its lower to its upper bound.

    Args:
        policy: The AMPC.
        mpc_action: The MPC's action at ``(x, theta)``.
        states: ``(m, nx)``.
        points_per_side: Grid points between nominal and each bound (the bound included).
        u_nominal: Optional labels for the exact Taylor step.
        du_dtheta: Optional labels for the exact Taylor step.
        u_mpc_nominal: The MPC's actions at theta_nom (default: solved here).

    Returns:
        One record per parameter: ``name``, ``values`` (ascending, nominal included),
        mean errors per value for ``adapted``, ``unadapted``, ``mpc_change``,
        ``adapted_change`` (and ``taylor``), and the trimmed means
        ``mpc_change_trimmed`` / ``adapted_change_trimmed`` (:func:`trimmed_change_means`).
    """
    nom, lo, hi = policy.theta_nominal, policy.theta_lower, policy.theta_upper
    fractions = np.arange(1, points_per_side + 1) / points_per_side
    if u_mpc_nominal is None:
        u_mpc_nominal = np.array([mpc_action(x, nom) for x in states]).reshape(len(states), -1)
    records = []
    for j, name in enumerate(policy.theta_names):
        values = np.unique(
            np.clip(  # exact bounds despite rounding of nom + 1 * (bound - nom)
                np.concatenate(
                    [
                        nom[j] + fractions[::-1] * (lo[j] - nom[j]),
                        [nom[j]],
                        nom[j] + fractions * (hi[j] - nom[j]),
                    ]
                ),
                lo[j],
                hi[j],
            )
        )
        thetas = np.repeat(nom[None], len(values), axis=0)
        thetas[:, j] = values
        err = action_errors(policy, mpc_action, states, thetas, u_nominal, du_dtheta, u_mpc_nominal)
        rec = {"name": name, "values": values.tolist()}
        for k in ("adapted", "unadapted", "taylor", "mpc_change", "adapted_change"):
            if k in err:
                rec[k] = np.nanmean(err[k], axis=1).tolist()
        mc, ac = trimmed_change_means(err["mpc_change"], err["adapted_change"])
        rec["mpc_change_trimmed"], rec["adapted_change_trimmed"] = mc.tolist(), ac.tolist()
        records.append(rec)
    return records


def recommend_tuning_bounds(
    policy: AMPCPolicy, sweeps: list[dict[str, Any]], **rule: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per parameter, the widest sweep interval around nominal where the AMPC is faithful.

    Walking outwards from theta_nom on each side, the bound is the last sweep value
    at which :func:`adapted_is_faithful` holds (theta_nom itself when the first step
    already fails).

    Args:
        policy: The AMPC (for theta_nom).
        sweeps: Output of :func:`parameter_sweeps` (the trimmed change means are used).
        **rule: ``share`` / ``tolerance`` of :func:`adapted_is_faithful`.

    Returns:
        ``(tuning_lower, tuning_upper)``.
    """
    lower, upper = policy.theta_nominal.copy(), policy.theta_nominal.copy()
    for j, rec in enumerate(sweeps):
        values = np.asarray(rec["values"])
        ok = [
            adapted_is_faithful(e, c, **rule)
            for e, c in zip(rec["adapted_change_trimmed"], rec["mpc_change_trimmed"], strict=True)
        ]
        k0 = int(np.argmin(np.abs(values - policy.theta_nominal[j])))
        k = k0
        while k + 1 < len(values) and ok[k + 1]:
            k += 1
        upper[j] = values[k]
        k = k0
        while k - 1 >= 0 and ok[k - 1]:
            k -= 1
        lower[j] = values[k]
    return lower, upper


def error_by_distance(
    distances: np.ndarray, errors: dict[str, np.ndarray], edges: np.ndarray
) -> list[dict[str, float]]:
    """Mean and median errors of each method in bins of the normalised distance.

    Args:
        distances: ``(n,)`` normalised distance of each theta.
        errors: ``{method: (n, m)}`` errors per theta and state.
        edges: Bin edges ``(k + 1,)``.

    Returns:
        One row per non-empty bin: ``lo``, ``hi``, ``n_theta`` and
        ``{method}_mean`` / ``{method}_median`` (input units).
    """
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (distances >= lo) & (distances < hi)
        if not sel.any():
            continue
        row: dict[str, float] = {"lo": float(lo), "hi": float(hi), "n_theta": int(sel.sum())}
        for k, e in errors.items():
            row[f"{k}_mean"] = float(np.nanmean(e[sel]))
            row[f"{k}_median"] = float(np.nanmedian(e[sel]))
        rows.append(row)
    return rows
