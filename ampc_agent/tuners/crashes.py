r"""Crash handling with virtual data points.

A crashed episode has no meaningful return, but it says "not here". Following the
GIBO crash-handling scheme, a crashed query :math:`x_c` enters the GP with the
virtual value (written for maximisation)

.. math::

    y_c = \min(\mu(x_c), \mu(x_*)) - \beta \sigma(x_c), \qquad \beta = 3,

where :math:`\mu, \sigma` are the GP posterior mean and standard deviation
before the crash is added and :math:`x_*` is the current iterate (GIBO) or the
best point (TuRBO). The value is worse than anything the model expects at
:math:`x_c` and never better than the iterate, so the posterior-mean gradient and
Thompson samples point away from the crash region.

Example:
    >>> virtual_value(mean_crash=1.0, std_crash=0.2, mean_reference=0.5)
    -0.1
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def virtual_value(
    mean_crash: float, std_crash: float, mean_reference: float, beta: float = 3.0
) -> float:
    r"""Virtual return of a crashed query (maximisation).

    Args:
        mean_crash: Posterior mean :math:`\mu(x_c)` at the crashed query.
        std_crash: Posterior standard deviation :math:`\sigma(x_c)` (latent, no noise).
        mean_reference: Posterior mean :math:`\mu(x_*)` at the iterate / best point.
        beta: How many standard deviations below the pessimistic mean.

    Returns:
        :math:`\min(\mu(x_c), \mu(x_*)) - \beta \sigma(x_c)`.
    """
    return float(min(mean_crash, mean_reference) - beta * std_crash)


def training_data(
    X_unit: np.ndarray,
    values: list[float],
    crashed: list[bool],
    virtual: list[float | None],
    indices: range | list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Observations for the GP: returns where feasible, virtual values where crashed.

    Crashes without a virtual value yet (nothing feasible to model them with)
    are left out.

    Args:
        X_unit: History in unit-cube coordinates, ``(n, d)``.
        values: Told returns (ignored where crashed).
        crashed: Crash flags.
        virtual: Virtual value per observation (``None`` where not a crash or not
            yet assigned).
        indices: Subset of observations to use (default: all).

    Returns:
        ``(X, y)`` with shapes ``(m, d)`` and ``(m,)``.
    """
    idx = range(len(values)) if indices is None else indices
    keep = [i for i in idx if not crashed[i] or virtual[i] is not None]
    y = [values[i] if not crashed[i] else float(virtual[i]) for i in keep]  # type: ignore[arg-type]
    return X_unit[keep].reshape(len(keep), X_unit.shape[1]), np.array(y, dtype=np.float64)


def worst_value(values: list[float], crashed: list[bool]) -> float:
    r"""Smallest feasible return, or NaN if nothing is feasible."""
    feasible = [v for v, c in zip(values, crashed, strict=True) if not c]
    return min(feasible) if feasible else math.nan


def assign_virtual_values(
    X_unit: np.ndarray,
    values: list[float],
    crashed: list[bool],
    virtual: list[float | None],
    fit_model: Callable[[np.ndarray, np.ndarray], Any],
    reference: np.ndarray | None,
    beta: float = 3.0,
) -> list[float | None]:
    r"""Give every crash that has none yet its virtual value, oldest first.

    A crash can only be modelled once something feasible was observed; until
    then it stays unassigned (and out of the GP). Each assignment refits the
    model with the virtual values assigned so far.

    Args:
        X_unit: History in the unit cube, ``(n, d)``.
        values: Told returns.
        crashed: Crash flags.
        virtual: Current virtual values (``None`` = none).
        fit_model: ``(X, y) -> model`` building the GP the tuner uses.
        reference: The point :math:`x_*` in the unit cube, or ``None`` to use
            the best feasible observation.
        beta: Pessimism in posterior standard deviations.

    Returns:
        The updated list of virtual values (a new list).
    """
    from ampc_agent.tuners.models import posterior_mean_std

    virtual = list(virtual)
    if all(crashed):
        return virtual
    for i, (c, vv) in enumerate(zip(crashed, virtual, strict=True)):
        if not c or vv is not None:
            continue
        X, y = training_data(X_unit, values, crashed, virtual)
        model = fit_model(X, y)
        ref = reference
        if ref is None:
            feasible = [j for j in range(len(values)) if not crashed[j]]
            ref = X_unit[max(feasible, key=lambda j: values[j])]
        mean, std = posterior_mean_std(model, np.stack([X_unit[i], ref]))
        virtual[i] = virtual_value(float(mean[0]), float(std[0]), float(mean[1]), beta)
    return virtual
