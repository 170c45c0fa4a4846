r"""TuRBO's trust region: state machine, box, and candidate generation.

The trust region (TR) is a box around the best point whose side, in the unit
cube, is ``length`` times weights derived from the GP lengthscales. After
``success_tolerance`` consecutive improvements the length doubles (capped at
``length_max``); after ``failure_tolerance`` consecutive non-improvements it
halves; below ``length_min`` the region has collapsed and TuRBO restarts with a
fresh initial design (Eriksson et al., 2019, "Scalable Global Optimization via
Local Bayesian Optimization").

Everything here is pure: the state is a frozen dataclass and
:func:`update_trust_region` returns a new one.

Example:
    >>> state = TrustRegionState(dim=6)
    >>> state = update_trust_region(state, 1.0)  # first value: a success
    >>> state.success_counter
    1
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.quasirandom import SobolEngine


def default_failure_tolerance(dim: int, batch_size: int = 1) -> int:
    r"""TuRBO's failure tolerance :math:`\lceil \max(4 / q, d / q) \rceil`."""
    return int(math.ceil(max(4.0 / batch_size, float(dim) / batch_size)))


@dataclass(frozen=True)
class TrustRegionState:
    r"""State of one TuRBO trust region (maximisation).

    Attributes:
        dim: Problem dimension.
        length: Current side length (unit cube, before lengthscale weighting).
        length_min: Collapse threshold; below it a restart is due.
        length_max: Largest allowed length.
        success_counter: Consecutive successes.
        failure_counter: Consecutive failures.
        success_tolerance: Successes needed to double the length.
        failure_tolerance: Failures needed to halve it (0 means TuRBO's default).
        best_value: Best return seen in this trust region's lifetime.
    """

    dim: int
    length: float = 0.8
    length_min: float = 0.5**7
    length_max: float = 1.6
    success_counter: int = 0
    failure_counter: int = 0
    success_tolerance: int = 3
    failure_tolerance: int = 0
    best_value: float = -math.inf

    def __post_init__(self) -> None:
        if self.failure_tolerance <= 0:
            object.__setattr__(self, "failure_tolerance", default_failure_tolerance(self.dim))

    @property
    def restart_triggered(self) -> bool:
        r"""Whether the region has collapsed (``length < length_min``)."""
        return self.length < self.length_min


def is_improvement(value: float, best_value: float) -> bool:
    r"""TuRBO's success test: better than the best by a relative margin of 1e-3."""
    if not math.isfinite(best_value):
        return True
    return value > best_value + 1e-3 * abs(best_value)


def update_trust_region(state: TrustRegionState, value: float | None) -> TrustRegionState:
    r"""Advance the TR state machine by one observation.

    Args:
        state: The current state.
        value: The new return, or ``None`` for a crashed episode (a failure).

    Returns:
        The new state: counters updated, length doubled or halved when a counter
        reaches its tolerance (and the counter reset), best value updated.
    """
    success = value is not None and is_improvement(value, state.best_value)
    succ = state.success_counter + 1 if success else 0
    fail = 0 if success else state.failure_counter + 1
    length = state.length
    if succ >= state.success_tolerance:
        length = min(2.0 * length, state.length_max)
        succ = 0
    elif fail >= state.failure_tolerance:
        length = length / 2.0
        fail = 0
    best = state.best_value if value is None else max(state.best_value, value)
    return dataclasses.replace(
        state, length=length, success_counter=succ, failure_counter=fail, best_value=best
    )


def trust_region_bounds(
    center: Tensor, lengthscale: Tensor, length: float
) -> tuple[Tensor, Tensor]:
    r"""The TR box around ``center``, stretched along long lengthscales.

    Weights are the lengthscales divided by their geometric mean, so the box
    volume is ``length ** d`` before clipping to the unit cube.

    Args:
        center: The best point, ``(d,)``, in the unit cube.
        lengthscale: GP lengthscales, ``(d,)``.
        length: TR length.

    Returns:
        ``(lower, upper)``, each ``(d,)``, inside ``[0, 1]``.
    """
    w = lengthscale / lengthscale.mean()
    w = w / torch.prod(w).pow(1.0 / w.numel())
    lower = (center - w * length / 2.0).clamp(0.0, 1.0)
    upper = (center + w * length / 2.0).clamp(0.0, 1.0)
    return lower, upper


def perturbation_candidates(
    center: Tensor, lower: Tensor, upper: Tensor, n_candidates: int, seed: int
) -> Tensor:
    r"""Candidates in the TR that perturb only a few coordinates of the center.

    Each candidate copies ``center`` and replaces each coordinate with
    probability ``min(20 / d, 1)`` by a scrambled-Sobol value in the box (at
    least one coordinate per candidate), which keeps Thompson sampling local in
    high dimension (Regis & Shoemaker, 2013; botorch's TuRBO tutorial).

    Args:
        center: ``(d,)``.
        lower: TR lower bounds ``(d,)``.
        upper: TR upper bounds ``(d,)``.
        n_candidates: Number of candidates.
        seed: Seed for the Sobol scramble and the masks.

    Returns:
        ``(n_candidates, d)`` in the unit cube.
    """
    d = center.numel()
    gen = torch.Generator().manual_seed(seed)
    sobol = SobolEngine(d, scramble=True, seed=seed).draw(n_candidates).to(center)
    pert = lower + (upper - lower) * sobol
    prob = min(20.0 / d, 1.0)
    mask = torch.rand(n_candidates, d, generator=gen, dtype=center.dtype) <= prob
    empty = ~mask.any(dim=-1)
    if empty.any():
        cols = torch.randint(0, d, (int(empty.sum()),), generator=gen)
        mask[empty.nonzero().squeeze(-1), cols] = True
    cand = center.expand(n_candidates, d).clone()
    cand[mask] = pert[mask]
    return cand
