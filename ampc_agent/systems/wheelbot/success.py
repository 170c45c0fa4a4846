"""When a Mini Wheelbot yaw-test episode counts as completed."""

from __future__ import annotations

import numpy as np

__all__ = ["stays_upright"]


def stays_upright(states: np.ndarray, crashed: bool, dt: float) -> bool:
    """The robot did not fall (no roll or pitch beyond the crash angle) for the whole test.

    Args:
        states: Visited true states ``(T + 1, 10)``.
        crashed: The episode ended by a fall.
        dt: Control period in s (unused: the rule holds over the whole episode).
    """
    return not crashed and len(states) > 1
