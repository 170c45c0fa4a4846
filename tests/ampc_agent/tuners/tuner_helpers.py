"""Helpers for the tuner tests: a small box and an objective with a crash region."""

from __future__ import annotations

import numpy as np

LOWER = np.array([-1.0, 0.0, 2.0])
UPPER = np.array([1.0, 3.0, 5.0])
X0 = np.array([0.0, 1.0, 3.0])
TARGET = np.array([0.5, 2.0, 4.0])

FAST = {
    "turbo": {"n_init": 3, "n_candidates": 256},
    "gibo": {"num_restarts": 2, "raw_samples": 32},
    "random": {},
    "cmaes": {},
}


def objective(theta: np.ndarray) -> tuple[float, bool]:
    """Concave quadratic in the box; crashes where theta[0] > 0.8 (value then NaN)."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta[0] > 0.8:
        return float("nan"), True
    scale = np.array([1.0, 3.0, 3.0])
    return float(-np.sum(((theta - TARGET) / scale) ** 2)), False


def drive(tuner, n: int) -> list[np.ndarray]:
    """Ask, evaluate ``objective``, tell, ``n`` times; return the asks."""
    asks = []
    for _ in range(n):
        theta = tuner.ask()
        asks.append(theta)
        value, crashed = objective(theta)
        tuner.tell(theta, value, crashed=crashed)
    return asks
