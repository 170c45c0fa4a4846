r"""The search box: validation of bounds and points, and scaling to the unit cube.

Every tuner works in the unit cube :math:`[0, 1]^d` internally, so that one set of
hyperparameters (lengthscale 0.25, trust-region length 0.8, ...) means the same
thing for a mass in kilograms and a cost weight spanning three decades. The map
itself is :func:`ampc_agent.theta.to_unit` / :func:`~ampc_agent.theta.from_unit`,
the only place where original units and unit-cube coordinates meet.

Example:
    >>> lower, upper = validate_bounds([0.1, 1.0], [0.5, 3.0])
    >>> to_unit(np.array([0.3, 2.0]), lower, upper)
    array([0.5, 0.5])
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from ampc_agent.theta import check_in_box, from_unit, to_unit

__all__ = ["from_unit", "to_unit", "validate_bounds", "validate_point", "validate_value"]


def _fmt(x: float) -> str:
    return repr(float(x))


def validate_bounds(lower: ArrayLike, upper: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    r"""Check a box and return it as two float64 arrays.

    Args:
        lower: Lower bounds, shape ``(d,)``, finite.
        upper: Upper bounds, shape ``(d,)``, finite and strictly above ``lower``.

    Returns:
        ``(lower, upper)`` as read-only float64 arrays of shape ``(d,)``.

    Raises:
        ValueError: on a shape mismatch, a non-1-D or empty box, a non-finite bound,
            or ``lower[i] >= upper[i]``; the message names the offending entry.
    """
    lo = np.array(lower, dtype=np.float64, copy=True)
    up = np.array(upper, dtype=np.float64, copy=True)
    if lo.ndim != 1 or up.ndim != 1 or lo.shape != up.shape or lo.size == 0:
        raise ValueError(
            "lower and upper must be non-empty 1-D arrays of the same shape; "
            f"got shapes {lo.shape} and {up.shape}"
        )
    for name, arr in (("lower", lo), ("upper", up)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ValueError(f"bounds must be finite; got {name}[{i}]={_fmt(arr[i])}")
    bad = np.flatnonzero(lo >= up)
    if bad.size:
        i = int(bad[0])
        raise ValueError(
            "lower must be strictly less than upper in every dimension; "
            f"got lower[{i}]={_fmt(lo[i])} >= upper[{i}]={_fmt(up[i])}"
        )
    lo.setflags(write=False)
    up.setflags(write=False)
    return lo, up


def validate_point(
    x: ArrayLike, lower: np.ndarray, upper: np.ndarray, *, name: str = "theta"
) -> np.ndarray:
    r"""Check that ``x`` is a finite point inside the box (see :func:`ampc_agent.theta.check_in_box`).

    Args:
        x: The point in original units, shape ``(d,)``.
        lower: Lower bounds from :func:`validate_bounds`.
        upper: Upper bounds from :func:`validate_bounds`.
        name: How the point is called in error messages (``"theta"``, ``"x0"``).

    Returns:
        A float64 copy of ``x``.

    Raises:
        ValueError: on a wrong shape, a non-finite entry or an entry outside
            ``[lower, upper]``; the message names the entry and its value.
    """
    return check_in_box(x, lower, upper, what=name)


def validate_value(value: object) -> float:
    r"""Check the return of a non-crashed episode.

    Raises:
        ValueError: if ``value`` is not a finite real number.
    """
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"value must be a finite float for a non-crashed tell; got {value!r}"
        ) from err
    if not math.isfinite(v):
        raise ValueError(f"value must be finite for a non-crashed tell; got {v!r}")
    return v
