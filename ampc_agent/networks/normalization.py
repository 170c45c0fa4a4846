"""Per-entry affine normalisation ``z = (v - mean) / std``, fitted on training data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Normalization"]


@dataclass(frozen=True)
class Normalization:
    """Per-entry scaling of a vector quantity.

    Args:
        mean: Offset, shape ``(d,)``, in the quantity's unit.
        std: Scale, shape ``(d,)``, positive, in the quantity's unit.
    """

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64).reshape(-1)
        std = np.asarray(self.std, dtype=np.float64).reshape(-1)
        if mean.shape != std.shape:
            raise ValueError(f"mean and std differ in shape: {mean.shape} vs {std.shape}")
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
            raise ValueError("normalisation needs finite mean and finite positive std")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @property
    def dim(self) -> int:
        """Dimension ``d`` of the quantity."""
        return len(self.mean)

    @classmethod
    def fit(cls, values: np.ndarray, min_std: float = 1e-6) -> Normalization:
        """Mean and standard deviation of ``values`` ``(n, d)`` per column.

        Args:
            values: Samples, one per row.
            min_std: Floor of the scale relative to the largest column scale (and
                absolute when all columns are constant), so that a constant column,
                such as a sensitivity that is always zero, is not blown up.

        Returns:
            The fitted normalisation.
        """
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        floor = min_std * max(float(std.max(initial=0.0)), 1.0)
        return cls(mean=mean, std=np.maximum(std, floor))

    def normalize(self, values: np.ndarray) -> np.ndarray:
        """``(values - mean) / std``, broadcast over leading dimensions."""
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.std

    def denormalize(self, z: np.ndarray) -> np.ndarray:
        """``mean + std * z``, the inverse of :meth:`normalize`."""
        return self.mean + self.std * np.asarray(z, dtype=np.float64)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-serialisable form; float64 values round-trip exactly through JSON."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Normalization:
        """Inverse of :meth:`to_dict`."""
        return cls(mean=np.asarray(data["mean"]), std=np.asarray(data["std"]))
