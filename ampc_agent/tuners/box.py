"""Tuning boxes that fix some entries of theta (``lower == upper``).

The shipped AMPC's tuning box may pin an entry of theta to one value (its
first-order adaptation is not trusted there). Tuners need ``lower < upper`` in every
dimension, so they search the free entries and a :class:`TuningBox` puts the fixed
ones back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ampc_agent.theta import ThetaSpec
from ampc_agent.tuners.base import Tuner
from ampc_agent.tuners.factory import make_tuner

__all__ = ["TuningBox"]


class TuningBox:
    """A box of theta whose entries with ``lower == upper`` stay fixed.

    Args:
        lower, upper: The box, shape ``(d,)``.
        nominal: theta_nom; the fixed entries take its value clipped into the box.
        names: Parameter names, for error messages.

    Example:
        >>> box = TuningBox(lower, upper, policy.theta_nominal, policy.theta_names)
        >>> tuner = box.make_tuner("turbo", seed=0)
        >>> theta = box.full(tuner.ask())     # the whole vector, fixed entries included
    """

    def __init__(
        self,
        lower: ArrayLike,
        upper: ArrayLike,
        nominal: ArrayLike,
        names: Sequence[str] | None = None,
    ) -> None:
        self.lower = np.asarray(lower, dtype=np.float64)
        self.upper = np.asarray(upper, dtype=np.float64)
        self.free = self.upper > self.lower
        if not self.free.any():
            raise ValueError(f"the tuning box fixes every entry of theta {tuple(names or ())}")
        self.base = np.clip(np.asarray(nominal, dtype=np.float64), self.lower, self.upper)
        self.names = tuple(names or ())

    @classmethod
    def from_spec(cls, spec: ThetaSpec) -> TuningBox:
        """The tuning box of a theta spec (its ``tuning_lower``/``tuning_upper``)."""
        return cls(spec.tuning_lower, spec.tuning_upper, spec.nominal, spec.names)

    def full(self, free_values: ArrayLike) -> np.ndarray:
        """theta with the free entries set to ``free_values`` and the fixed ones at theirs."""
        theta = self.base.copy()
        theta[self.free] = free_values
        return theta

    def make_tuner(self, name: str, *, x0: ArrayLike | None = None, **kwargs: Any) -> Tuner:
        """``make_tuner`` over the free entries; ``x0`` is a whole theta (default: nominal)."""
        start = self.base if x0 is None else np.clip(np.asarray(x0, float), self.lower, self.upper)
        return make_tuner(
            name, self.lower[self.free], self.upper[self.free], x0=start[self.free], **kwargs
        )
