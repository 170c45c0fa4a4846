"""How well a yaw-test episode tracks its reference: errors and settling after each step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ampc_envs.core.angles import wrap_angle

__all__ = ["step_responses", "yaw_errors"]


def yaw_errors(states: np.ndarray, observations: np.ndarray) -> np.ndarray:
    """``|wrap(psi - psi_ref)|`` in rad at every step of an episode.

    Args:
        states: True states ``(T + 1, 10)`` (``run_episode(..., record_states=True)``).
        observations: Observations ``(T + 1, 11)``; entry 10 is the reference.
    """
    return np.abs(wrap_angle(np.asarray(states)[:, 0] - np.asarray(observations)[:, 10]))


def step_responses(
    errors: np.ndarray,
    dt: float,
    schedule: Sequence[tuple[float, float]],
    tolerances: Sequence[float] = (0.1, 0.05),
) -> list[dict[str, float | None]]:
    """Settling after each reference step of ``schedule`` (``(time s, yaw rad)`` pairs).

    The window of a step runs from its time to the next step (or the end). In it, the
    settling time for a tolerance (rad) is the time after the step from which the error
    stays below it (``None``: it is above it at the end of the window).

    Returns:
        Per step: ``time``, ``reference``, ``settle_<tol>`` (s or ``None``), ``final``
        (the error at the end of the window, rad) and ``mean`` (its mean, rad).
    """
    n = len(errors)
    starts = [int(round(t / dt)) for t, _ in schedule]
    out = []
    for i, (t, ref) in enumerate(schedule):
        lo, hi = starts[i], min(starts[i + 1] if i + 1 < len(starts) else n, n)
        if lo >= hi:
            break
        window = errors[lo:hi]
        row: dict[str, float | None] = {"time": float(t), "reference": float(ref)}
        for tol in tolerances:
            above = np.flatnonzero(window >= tol)
            if not above.size:
                row[f"settle_{tol:g}"] = 0.0
            elif above[-1] == len(window) - 1:
                row[f"settle_{tol:g}"] = None
            else:
                row[f"settle_{tol:g}"] = float((above[-1] + 1) * dt)
        row["final"] = float(window[-1])
        row["mean"] = float(window.mean())
        out.append(row)
    return out
