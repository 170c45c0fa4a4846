r"""Which theta a tuner recommends to deploy: the rule for noisy returns.

With episodes that vary (another start state and sensor noise each time), the best
*observed* return is partly luck: its theta was lucky once. A model-based tuner
recommends instead the evaluated, non-crashed theta with the best GP posterior mean,
which pools the returns of nearby episodes (the GP has learnt the noise, so a single
lucky episode moves the mean only by its share). Only evaluated points are
candidates: the recommendation is a theta that ran at least once without a crash.

Example:
    >>> i = best_posterior_mean(X_unit, values, crashed, virtual, fit)
    >>> theta = X[i]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ampc_agent.tuners.crashes import training_data
from ampc_agent.tuners.models import posterior_mean_std

__all__ = ["RULES", "best_posterior_mean"]

#: The rules a tuner may follow (``Tuner.recommendation_rule``).
RULES = ("best observed", "best posterior mean")


def best_posterior_mean(
    X_unit: np.ndarray,
    values: list[float],
    crashed: list[bool],
    virtual: list[float | None],
    fit_model: Callable[[np.ndarray, np.ndarray], Any],
) -> int:
    r"""Index of the non-crashed observation with the largest posterior mean.

    Args:
        X_unit: History in the unit cube, ``(n, d)``.
        values: Told returns.
        crashed: Crash flags (at least one ``False``).
        virtual: Virtual values of the crashes (``None`` where none).
        fit_model: ``(X, y) -> model``, the tuner's GP on all observations.

    Returns:
        The index into the history; ties go to the earliest observation.
    """
    feasible = [i for i, c in enumerate(crashed) if not c]
    X, y = training_data(X_unit, values, crashed, virtual)
    model = fit_model(X, y)
    mean, _ = posterior_mean_std(model, torch.from_numpy(X_unit[feasible]))
    return feasible[int(np.argmax(mean.numpy()))]
