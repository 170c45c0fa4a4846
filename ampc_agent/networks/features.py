"""State features: angles enter a network as ``(sin, cos)`` pairs; states the MPC's
action does not depend on are left out; unbounded states can be held to a range.

The cart-pole state is ``[x, theta, x_dot, theta_dot]`` with the pole angle not wrapped
consistently (a pole that swung around once is at ``2 pi``, physically the same as 0).
A network fed ``sin(theta), cos(theta)`` sees the same input for both, so it cannot
learn a spurious difference between them. The wheelbot's reaction-wheel angle is a
cyclic coordinate its MPC's action does not depend on (measured in docs/wheelbot.md):
left out, a network cannot extrapolate in it; its driving-wheel angle, which the MPC
does feed back, is held to the dataset's range, so a robot that drifted beyond it sees
the network's action at the edge of the data rather than a saturated extrapolation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StateFeatures"]


@dataclass(frozen=True)
class StateFeatures:
    """Map a state ``x`` of dimension ``nx`` to network features.

    Features, in order: every non-angle, non-ignored state (in its own unit, clipped to
    its limits if it has any), then ``sin`` and ``cos`` of every angle state (in state
    order).

    Args:
        nx: State dimension.
        angle_indices: Indices of the states that are angles in rad.
        ignored_indices: Indices of the states not fed to the networks.
        limits: ``(index, lower, upper)`` triples: a non-angle state held to
            ``[lower, upper]`` before it enters the networks.

    Example:
        >>> f = StateFeatures(nx=4, angle_indices=(1,))
        >>> f(np.array([0.1, np.pi, 0.0, 0.0])).round(3).tolist()
        [0.1, 0.0, 0.0, 0.0, -1.0]
        >>> g = StateFeatures(nx=3, ignored_indices=(2,), limits=((0, -1.0, 1.0),))
        >>> g(np.array([5.0, 0.5, 7.0])).tolist()
        [1.0, 0.5]
    """

    nx: int
    angle_indices: tuple[int, ...] = ()
    ignored_indices: tuple[int, ...] = ()
    limits: tuple[tuple[int, float, float], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "angle_indices", tuple(int(i) for i in self.angle_indices))
        object.__setattr__(self, "ignored_indices", tuple(int(i) for i in self.ignored_indices))
        object.__setattr__(
            self, "limits", tuple((int(i), float(lo), float(hi)) for i, lo, hi in self.limits)
        )
        for name in ("angle_indices", "ignored_indices"):
            idx = getattr(self, name)
            bad = [i for i in idx if not 0 <= i < self.nx]
            if bad or len(set(idx)) != len(idx):
                raise ValueError(
                    f"{name} must be distinct indices in [0, {self.nx}), got {list(idx)}"
                )
        both = sorted(set(self.angle_indices) & set(self.ignored_indices))
        if both:
            raise ValueError(f"states {both} are both angle states and ignored")
        linear = tuple(
            i for i in range(self.nx) if i not in self.angle_indices + self.ignored_indices
        )
        lower = np.full(len(linear), -np.inf)
        upper = np.full(len(linear), np.inf)
        for i, lo, hi in self.limits:
            if i not in linear:
                raise ValueError(
                    f"limits name state {i}, which is not a fed non-angle state "
                    f"(fed: {list(linear)})"
                )
            if not lo < hi:
                raise ValueError(f"limits of state {i} must have lower < upper, got {lo}, {hi}")
            lower[linear.index(i)], upper[linear.index(i)] = lo, hi
        object.__setattr__(self, "_linear", np.array(linear, dtype=np.intp))
        object.__setattr__(self, "_angles", np.array(self.angle_indices, dtype=np.intp))
        object.__setattr__(self, "_bounds", (lower, upper) if self.limits else None)

    @property
    def n_features(self) -> int:
        """Number of features: one per fed state plus one more per angle."""
        return len(self._linear) + 2 * len(self.angle_indices)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Features of one state ``(nx,)`` or of a batch ``(n, nx)``.

        Args:
            x: State(s), float array with last dimension ``nx``.

        Returns:
            Array with last dimension :attr:`n_features`, float64.
        """
        x = np.asarray(x, dtype=np.float64)
        lin = x[..., self._linear]
        if self._bounds is not None:
            lin = np.clip(lin, *self._bounds)
        a = x[..., self._angles]
        return np.concatenate([lin, np.sin(a), np.cos(a)], axis=-1)

    def to_metadata(self) -> dict:
        """The JSON description :meth:`from_metadata` reads back."""
        return {
            "nx": self.nx,
            "angle_indices": list(self.angle_indices),
            "ignored_indices": list(self.ignored_indices),
            "limits": [list(t) for t in self.limits],
            "layout": "fed non-angle states (clipped to limits), then sin of angles, "
            "then cos of angles",
        }

    @classmethod
    def from_metadata(cls, meta: dict) -> StateFeatures:
        """The features a :meth:`to_metadata` dictionary describes (weights written
        before ``ignored_indices`` and ``limits`` existed have neither)."""
        return cls(
            nx=meta["nx"],
            angle_indices=tuple(meta["angle_indices"]),
            ignored_indices=tuple(meta.get("ignored_indices", ())),
            limits=tuple(tuple(t) for t in meta.get("limits", ())),
        )
