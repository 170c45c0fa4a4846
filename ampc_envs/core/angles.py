"""The one angle-wrapping convention of the project: angles in (-pi, pi]."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["wrap_angle"]


def wrap_angle(angle: float | np.ndarray) -> float | np.ndarray:
    """Wrap an angle in rad to (-pi, pi] (``pi`` and ``-pi`` both give ``pi``).

    Works on floats and numpy arrays of any shape; plain floats take a path about
    10x faster than numpy, for per-step use in a control loop.

    Example:
        >>> wrap_angle(3 * math.pi / 2)
        -1.5707963267948966
    """
    if isinstance(angle, float):
        return math.pi - (math.pi - angle) % (2 * math.pi)
    return math.pi - np.mod(math.pi - np.asarray(angle, dtype=np.float64), 2 * math.pi)
