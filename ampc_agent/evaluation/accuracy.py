"""Held-out accuracy of the two networks against MPC labels (pure numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ampc_agent.policy import AMPCPolicy

__all__ = ["change_accuracy", "change_fit", "heldout_accuracy", "loo_linear_predictions"]


def change_fit(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """How well predicted changes of action follow actual ones (finite pairs only).

    Returns:
        ``slope`` (least squares through the origin of predicted on actual: 1 is the
        right size, 0.1 a tenth of it), ``r2`` (one minus the squared error over the
        variance of the actual changes) and ``n`` (pairs).
    """
    pred, act = np.asarray(predicted, float).ravel(), np.asarray(actual, float).ravel()
    ok = np.isfinite(pred) & np.isfinite(act)
    pred, act = pred[ok], act[ok]
    if len(act) < 2:
        return {"slope": float("nan"), "r2": float("nan"), "n": int(len(act))}
    slope = float(pred @ act / max(act @ act, 1e-300))
    r2 = float(1.0 - np.sum((pred - act) ** 2) / max(np.sum((act - act.mean()) ** 2), 1e-300))
    return {"slope": slope, "r2": r2, "n": int(len(act))}


def loo_linear_predictions(d: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Leave-one-out predictions of the least-squares linear map ``y ~ d`` (no intercept).

    The prediction for each row comes from the fit on all the other rows (closed form
    through the hat matrix: ``y_i - e_i / (1 - h_ii)``): what a linear map fitted on
    these changes predicts for a change it has not seen, the fair ceiling of a
    first-order adaptation. Rows with a non-finite ``y`` are ignored (NaN out).

    Args:
        d: ``(k, p)`` parameter changes.
        y: ``(k, m)`` changes of the output.
    """
    d, y = np.asarray(d, float), np.asarray(y, float)
    out = np.full_like(y, np.nan)
    ok = np.all(np.isfinite(y), axis=1)
    if ok.sum() <= d.shape[1] + 1:
        return out
    dk, yk = d[ok], y[ok]
    pinv = np.linalg.pinv(dk)
    hat = np.einsum("ij,ji->i", dk, pinv)
    residual = yk - dk @ (pinv @ yk)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[ok] = yk - residual / (1.0 - hat)[:, None]
    out[~np.isfinite(out)] = np.nan
    return out


def change_accuracy(
    policy: AMPCPolicy,
    x: np.ndarray,
    u: np.ndarray,
    du_dtheta: np.ndarray,
    secant_dtheta: np.ndarray,
    secant_du: np.ndarray,
    du_secant: np.ndarray,
) -> dict[str, Any]:
    """The adaptation against the MPC's re-solved changes of action, with its ceiling.

    For each state and stored change ``d_k`` of theta, compares ``clip(u + J d_k) - u``
    (``u``: the MPC's nominal action, so that the error of ``pi`` does not enter) with
    the re-solved change ``u*(theta_nom + d_k) - u*(theta_nom)``, for ``J`` = the
    network (``network``), the exact sensitivities (``kkt``: the Taylor step), and the
    ceiling: at each state, the least-squares linear map of the other changes of that
    state predicting the left-out one (:func:`loo_linear_predictions`), what the best
    state-wise linear adaptation reaches on changes it was not fitted on.

    Returns:
        ``{name: change_fit(...)}`` for the three, and ``share_of_ceiling``, the
        network's R^2 over the ceiling's.
    """
    lo, hi = policy.input_lower, policy.input_upper

    def step(jac: np.ndarray) -> np.ndarray:
        moved = u[:, None, :] + np.einsum("nip,nkp->nki", jac, secant_dtheta)
        return np.clip(moved, lo, hi) - u[:, None, :]

    ceiling = np.stack(
        [loo_linear_predictions(d, c) for d, c in zip(secant_dtheta, secant_du, strict=True)]
    )
    ceiling = np.clip(u[:, None, :] + ceiling, lo, hi) - u[:, None, :]
    out = {
        "network": change_fit(step(policy.jacobian(x)), secant_du),
        "kkt": change_fit(step(du_dtheta), secant_du),
        "secant_in_sample": change_fit(step(np.nan_to_num(du_secant)), secant_du),
        "ceiling": change_fit(ceiling, secant_du),
    }
    ceiling = out["ceiling"]["r2"]
    out["share_of_ceiling"] = float(out["network"]["r2"] / ceiling) if ceiling > 0 else None
    return out


def heldout_accuracy(
    policy: AMPCPolicy,
    x: np.ndarray,
    u: np.ndarray,
    du_dtheta: np.ndarray,
    secant_dtheta: np.ndarray | None = None,
    secant_du: np.ndarray | None = None,
    du_secant: np.ndarray | None = None,
) -> dict[str, Any]:
    """Accuracy of ``pi`` and ``J`` against MPC labels.

    Args:
        policy: The trained policy.
        x: States ``(n, nx)``.
        u: MPC actions at ``theta_nom`` ``(n, nu)``, in input units.
        du_dtheta: MPC sensitivities ``(n, nu, p)``.

    Returns:
        ``pi_rmse`` and ``pi_mae`` (input units) of the clipped nominal action,
        ``pi_rmse_relative`` (RMSE over the input range), ``pi_r2``; ``jacobian_r2``
        (one minus the summed squared error over the summed variance, all entries),
        ``jacobian_r2_per_parameter`` and ``jacobian_rmse_per_parameter`` (input unit
        per parameter unit), ``jacobian_median_abs_error_per_parameter``; and the
        effect of the sensitivity error on a Taylor step ``dtheta`` of +-10 % of each
        parameter's range (random signs): ``step_action_error`` = mean
        ``|clip(u + J_net dtheta) - clip(u + J dtheta)|`` against ``step_action_change`` =
        mean ``|clip(u + J dtheta) - u|`` (the change the step should make), in input
        units; ``n``; and with the secant arrays, ``changes``:
        :func:`change_accuracy`.
    """
    pred_u = np.clip(policy.nominal_action(x), policy.input_lower, policy.input_upper)
    err = pred_u - u
    span = policy.input_upper - policy.input_lower
    pred_j = policy.jacobian(x)
    jerr = pred_j - du_dtheta
    var_j = du_dtheta.var(axis=0).sum(axis=0)  # (p,)
    sse_j = (jerr**2).mean(axis=0).sum(axis=0)
    rng = np.random.default_rng(0)
    span_theta = policy.theta_upper - policy.theta_lower
    dth = 0.1 * span_theta * rng.choice([-1.0, 1.0], size=(len(x), policy.p))
    lo, hi = policy.input_lower, policy.input_upper
    step_true = np.clip(u + np.einsum("nip,np->ni", du_dtheta, dth), lo, hi)
    step_net = np.clip(u + np.einsum("nip,np->ni", pred_j, dth), lo, hi)
    out = {
        "n": int(len(x)),
        "step_action_error": float(np.abs(step_net - step_true).mean()),
        "step_action_change": float(np.abs(step_true - u).mean()),
        "pi_rmse": float(np.sqrt((err**2).mean())),
        "pi_mae": float(np.abs(err).mean()),
        "pi_rmse_relative": float(np.sqrt((err**2).mean()) / span.mean()),
        "pi_r2": float(1.0 - (err**2).mean() / max(u.var(axis=0).mean(), 1e-300)),
        "jacobian_r2": float(1.0 - sse_j.sum() / max(var_j.sum(), 1e-300)),
        "jacobian_r2_per_parameter": dict(
            zip(policy.theta_names, (1.0 - sse_j / np.maximum(var_j, 1e-300)).tolist(), strict=True)
        ),
        "jacobian_median_abs_error_per_parameter": dict(
            zip(policy.theta_names, np.median(np.abs(jerr), axis=(0, 1)).tolist(), strict=True)
        ),
        "jacobian_rmse_per_parameter": dict(
            zip(policy.theta_names, np.sqrt((jerr**2).mean(axis=(0, 1))).tolist(), strict=True)
        ),
    }
    if secant_du is not None:
        out["changes"] = change_accuracy(
            policy, x, u, du_dtheta, secant_dtheta, secant_du, du_secant
        )
    return out
