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
        per parameter unit), and ``n``.
    """
    pred_u = np.clip(policy.nominal_action(x), policy.input_lower, policy.input_upper)
    err = pred_u - u
    span = policy.input_upper - policy.input_lower
    pred_j = policy.jacobian(x)
    jerr = pred_j - du_dtheta
    var_j = du_dtheta.var(axis=0).sum(axis=0)  # (p,)
    sse_j = (jerr**2).mean(axis=0).sum(axis=0)
    return {
        "n": int(len(x)),
        "pi_rmse": float(np.sqrt((err**2).mean())),
        "pi_mae": float(np.abs(err).mean()),
        "pi_rmse_relative": float(np.sqrt((err**2).mean()) / span.mean()),
        "pi_r2": float(1.0 - (err**2).mean() / max(u.var(axis=0).mean(), 1e-300)),
        "jacobian_r2": float(1.0 - sse_j.sum() / max(var_j.sum(), 1e-300)),
        "jacobian_r2_per_parameter": dict(
            zip(policy.theta_names, (1.0 - sse_j / np.maximum(var_j, 1e-300)).tolist(), strict=True)
        ),
        "jacobian_rmse_per_parameter": dict(
            zip(policy.theta_names, np.sqrt((jerr**2).mean(axis=(0, 1))).tolist(), strict=True)
        ),
    }
