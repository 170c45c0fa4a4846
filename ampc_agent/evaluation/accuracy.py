"""Held-out accuracy of the two networks against MPC labels (pure numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ampc_agent.policy import AMPCPolicy

__all__ = ["heldout_accuracy"]


def heldout_accuracy(
    policy: AMPCPolicy, x: np.ndarray, u: np.ndarray, du_dtheta: np.ndarray
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
        units; and ``n``.
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
    return {
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
