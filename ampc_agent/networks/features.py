"""State features: angles enter a network as ``(sin, cos)`` pairs.

The cart-pole state is ``[x, theta, x_dot, theta_dot]`` with the pole angle not wrapped
consistently (a pole that swung around once is at ``2 pi``, physically the same as 0).
A network fed ``sin(theta), cos(theta)`` sees the same input for both, so it cannot
learn a spurious difference between them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StateFeatures"]


@dataclass(frozen=True)
class StateFeatures:
    """Map a state ``x`` of dimension ``nx`` to network features.

    Features, in order: every non-angle state unchanged (in its own unit), then
    ``sin`` and ``cos`` of every angle state (in state order).

    Args:
        nx: State dimension.
        angle_indices: Indices of the states that are angles in rad.

    Example:
        >>> f = StateFeatures(nx=4, angle_indices=(1,))
        >>> f(np.array([0.1, np.pi, 0.0, 0.0])).round(3).tolist()
        [0.1, 0.0, 0.0, 0.0, -1.0]
    """

    nx: int
    angle_indices: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "angle_indices", tuple(int(i) for i in self.angle_indices))
        bad = [i for i in self.angle_indices if not 0 <= i < self.nx]
        if bad or len(set(self.angle_indices)) != len(self.angle_indices):
            raise ValueError(
                f"angle_indices must be distinct indices in [0, {self.nx}), "
                f"got {list(self.angle_indices)}"
            )
        linear = tuple(i for i in range(self.nx) if i not in self.angle_indices)
        object.__setattr__(self, "_linear", np.array(linear, dtype=np.intp))
        object.__setattr__(self, "_angles", np.array(self.angle_indices, dtype=np.intp))

    @property
    def n_features(self) -> int:
        """Number of features: ``nx`` plus one per angle."""
        return self.nx + len(self.angle_indices)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Features of one state ``(nx,)`` or of a batch ``(n, nx)``.

        Args:
            x: State(s), float array with last dimension ``nx``.

        Returns:
            Array with last dimension :attr:`n_features`, float64.
        """
        x = np.asarray(x, dtype=np.float64)
        a = x[..., self._angles]
        return np.concatenate([x[..., self._linear], np.sin(a), np.cos(a)], axis=-1)
