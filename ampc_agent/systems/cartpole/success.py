"""When a cart-pole episode counts as a swing-up: the one success rule of the project."""

from __future__ import annotations

import numpy as np

from ampc_envs.core.angles import wrap_angle

__all__ = ["SUCCESS_ANGLE", "SUCCESS_SECONDS", "swing_up_success"]

#: A swing-up succeeds when the pole stays within this angle of upright, in rad ...
SUCCESS_ANGLE = 0.25
#: ... for the last this many seconds of the episode, without a crash.
SUCCESS_SECONDS = 1.0


def swing_up_success(
    states: np.ndarray,
    crashed: bool,
    dt: float,
    angle: float = SUCCESS_ANGLE,
    seconds: float = SUCCESS_SECONDS,
) -> bool:
    """Whether an episode swung the pole up and kept it there.

    Args:
        states: Visited states ``(T + 1, 4)`` ``[x, theta, x_dot, theta_dot]``, theta in rad.
        crashed: The episode ended by leaving the rail.
        dt: Control period in s.
        angle: Largest deviation from upright in rad.
        seconds: Length of the final window in s.

    Returns:
        ``True`` if not crashed and ``|wrap(theta)| <= angle`` over the final window.
    """
    if crashed:
        return False
    k = max(1, int(round(seconds / dt)))
    theta = np.asarray(states, dtype=np.float64)[-k:, 1]
    return bool(np.all(np.abs(wrap_angle(theta)) <= angle))
