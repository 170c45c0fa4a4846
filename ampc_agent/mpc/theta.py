"""The MPC parameter vector theta: names, nominal values, bounds and units in one place."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["ThetaSpec"]


@dataclass(frozen=True)
class ThetaSpec:
    """Declaration of a parameter vector theta of a parametric MPC.

    theta holds the model parameters and cost weights that can be changed at run time
    without rebuilding the solver, and along which the AMPC is fine-tuned.

    Args:
        names: Parameter names, in vector order.
        nominal: Nominal values theta_nom (the operating point of the AMPC's Taylor step).
        lower: Lower bounds (inclusive).
        upper: Upper bounds (inclusive).
        units: Unit of each entry (``"kg"``, ``"-"``, ...).
        descriptions: One-line description of each entry.

    Example:
        >>> spec = ThetaSpec(("mass", "weight"), (1.0, 0.1), (0.5, 0.0), (2.0, 1.0), ("kg", "-"))
        >>> spec.check([1.5, 0.2])
        array([1.5, 0.2])
    """

    names: tuple[str, ...]
    nominal: tuple[float, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    units: tuple[str, ...]
    descriptions: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        n = len(self.names)
        if len(set(self.names)) != n:
            raise ValueError(f"theta names must be unique, got {self.names}")
        for what in ("nominal", "lower", "upper", "units"):
            if len(getattr(self, what)) != n:
                raise ValueError(
                    f"theta {what} has {len(getattr(self, what))} entries, expected {n}"
                )
        if self.descriptions and len(self.descriptions) != n:
            raise ValueError(
                f"theta descriptions has {len(self.descriptions)} entries, expected {n}"
            )
        for name, lo, nom, hi in zip(self.names, self.lower, self.nominal, self.upper, strict=True):
            if not all(math.isfinite(v) for v in (lo, nom, hi)) or not lo <= nom <= hi:
                raise ValueError(
                    f"theta {name!r} needs finite lower <= nominal <= upper, got {lo}, {nom}, {hi}"
                )

    @property
    def dim(self) -> int:
        """Number of parameters p."""
        return len(self.names)

    @property
    def nominal_array(self) -> np.ndarray:
        """theta_nom as a float array of shape (p,)."""
        return np.asarray(self.nominal, dtype=float)

    @property
    def lower_array(self) -> np.ndarray:
        """Lower bounds as an array of shape (p,)."""
        return np.asarray(self.lower, dtype=float)

    @property
    def upper_array(self) -> np.ndarray:
        """Upper bounds as an array of shape (p,)."""
        return np.asarray(self.upper, dtype=float)

    def index(self, name: str) -> int:
        """Position of parameter ``name`` in the vector."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown theta name {name!r}; valid: {list(self.names)}") from None

    def check(self, theta: Sequence[float] | np.ndarray | Mapping[str, float] | None) -> np.ndarray:
        """Validate theta and return it as a float array of shape (p,).

        Args:
            theta: A vector in :attr:`names` order, a ``{name: value}`` mapping of
                overrides of the nominal values, or ``None`` for theta_nom.

        Raises:
            ValueError: wrong length, unknown name, a non-finite value or a value outside
                ``[lower, upper]``; the message names the parameter and the value.
        """
        if theta is None:
            return self.nominal_array
        if isinstance(theta, Mapping):
            vec = self.nominal_array
            for name, value in theta.items():
                vec[self.index(name)] = _as_float(name, value)
        else:
            arr = np.asarray(theta, dtype=float).reshape(-1)
            if arr.shape != (self.dim,):
                raise ValueError(
                    f"theta must have {self.dim} entries {list(self.names)}, got shape "
                    f"{np.shape(theta)}"
                )
            vec = arr.copy()
        for i, name in enumerate(self.names):
            v = vec[i]
            if not math.isfinite(v):
                raise ValueError(f"theta {name} must be finite, got {v}")
            if not self.lower[i] <= v <= self.upper[i]:
                raise ValueError(
                    f"theta {name} = {v} {self.units[i]} is outside its bounds "
                    f"[{self.lower[i]}, {self.upper[i]}]"
                )
        return vec

    def as_dict(self, theta: Sequence[float] | np.ndarray | None = None) -> dict[str, float]:
        """``{name: value}`` of a (checked) theta, theta_nom by default."""
        return dict(zip(self.names, map(float, self.check(theta)), strict=True))

    def to_unit(self, theta: Sequence[float] | np.ndarray) -> np.ndarray:
        """Affine map of theta to the unit cube ``[0, 1]^p`` (the tuners' search space)."""
        lo, hi = self.lower_array, self.upper_array
        return (np.asarray(theta, dtype=float) - lo) / (hi - lo)

    def from_unit(self, z: Sequence[float] | np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_unit`."""
        lo, hi = self.lower_array, self.upper_array
        return lo + np.asarray(z, dtype=float) * (hi - lo)

    def to_metadata(self) -> dict[str, Any]:
        """JSON-serialisable description (for dataset and model metadata)."""
        return {
            "theta_names": list(self.names),
            "theta_nominal": list(self.nominal),
            "theta_lower": list(self.lower),
            "theta_upper": list(self.upper),
            "theta_units": list(self.units),
        }

    def table(self) -> str:
        """Markdown table of the parameters (for docs and ``--help``)."""
        rows = ["| name | nominal | lower | upper | unit | meaning |", "|---|---|---|---|---|---|"]
        docs = self.descriptions or ("",) * self.dim
        for row in zip(
            self.names, self.nominal, self.lower, self.upper, self.units, docs, strict=True
        ):
            rows.append("| " + " | ".join(str(v) for v in row) + " |")
        return "\n".join(rows)


def _as_float(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"theta {name} must be a number, got {value!r}") from None
