"""The adaptation law of the parameter-adaptive AMPC.

``u(x, theta) = clip(pi(x) + J(x) (theta - theta_nom), u_lower, u_upper)``: a
first-order Taylor step of the MPC's first action in its parameters, around the
nominal parameters the MPC was linearised at.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adapted_action"]


def adapted_action(
    u_nominal: np.ndarray,
    jacobian: np.ndarray,
    theta: np.ndarray,
    theta_nominal: np.ndarray,
    input_lower: np.ndarray,
    input_upper: np.ndarray,
) -> np.ndarray:
    """First-order adapted action, clipped to the input bounds.

    Args:
        u_nominal: Nominal action ``pi(x)``, ``(..., nu)``, in input units (N).
        jacobian: Sensitivity ``J(x) = du0*/dtheta``, ``(..., nu, p)``.
        theta: Parameters, ``(p,)`` or ``(..., p)``.
        theta_nominal: Parameters the networks were trained at, ``(p,)``.
        input_lower: Lower input bounds, ``(nu,)``.
        input_upper: Upper input bounds, ``(nu,)``.

    Returns:
        ``clip(u_nominal + J (theta - theta_nominal))``, ``(..., nu)``.

    Example:
        >>> adapted_action(np.array([1.0]), np.array([[2.0, 0.0]]), np.array([1.5, 9.0]),
        ...                np.array([1.0, 9.0]), np.array([-10.0]), np.array([10.0]))
        array([2.])
    """
    dtheta = np.asarray(theta, dtype=np.float64) - np.asarray(theta_nominal, dtype=np.float64)
    u = np.asarray(u_nominal) + np.einsum("...ij,...j->...i", np.asarray(jacobian), dtheta)
    return np.clip(u, input_lower, input_upper)
