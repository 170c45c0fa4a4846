"""The parameter vector theta: names, units, nominal values, bounds and tuning box.

One :class:`ThetaSpec` describes theta wherever it appears: the MPC's runtime
parameters, the AMPC policy (stored in its weights' metadata), the tuning env's
action space and the tuning box a tuner searches. Bounds flow one way, from the spec
to the tuner. :func:`check_in_box` is the one validator of a parameter vector, and
:func:`to_unit` / :func:`from_unit` the one map between a box and the unit cube.
Importing this module loads numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["ThetaSpec", "check_in_box", "from_unit", "to_unit"]


def _num(x: float) -> str:
    return repr(float(x))


def check_in_box(
    x: Any,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    what: str = "theta",
    names: Sequence[str] | None = None,
    units: Sequence[str] | None = None,
    box: str = "bounds",
) -> np.ndarray:
    """Validate a vector against a box and return it as a new float64 array.

    Args:
        x: Candidate vector, shape ``(d,)``.
        lower, upper: The box, shape ``(d,)`` (inclusive).
        what: How the vector is called in messages (``"theta"``, ``"x0"``).
        names: Entry names, shown beside the index when given.
        units: Entry units, shown after the value when given.
        box: How the box is called in messages (``"bounds"``, ``"tuning bounds"``).

    Raises:
        ValueError: not numbers, a wrong shape, a non-finite entry or an entry outside
            ``[lower, upper]``; the message names the entry and its value.

    Example:
        >>> check_in_box([0.5, 2.0], np.zeros(2), np.array([1.0, 3.0]))
        array([0.5, 2. ])
    """
    d = len(lower)
    if isinstance(x, (str, bytes)) or (
        isinstance(x, Sequence) and any(isinstance(v, (str, bytes, bool)) for v in x)
    ):
        raise ValueError(f"{what} must be an array of {d} numbers, got {x!r}")
    try:
        arr = np.array(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be an array of {d} numbers, got {x!r}") from None
    if arr.shape != (d,):
        of = f" for parameters {list(names)}" if names else ""
        raise ValueError(f"{what} must have shape ({d},){of}, got shape {arr.shape}")

    def label(i: int) -> str:
        return f"{what}[{i}] ({names[i]})" if names else f"{what}[{i}]"

    for i in range(d):
        v = float(arr[i])
        if not math.isfinite(v):
            raise ValueError(f"{label(i)} must be finite, got {v!r}")
        if not lower[i] <= v <= upper[i]:
            unit = f" {units[i]}" if units and units[i] not in ("", "-") else ""
            raise ValueError(
                f"{label(i)} = {_num(v)}{unit} is outside its {box} "
                f"[{_num(lower[i])}, {_num(upper[i])}]"
            )
    return arr


def to_unit(x: ArrayLike, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Affine map of points of the box ``[lower, upper]`` to the unit cube (any batch shape)."""
    return (np.asarray(x, dtype=np.float64) - lower) / (upper - lower)


def from_unit(z: ArrayLike, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_unit`, clipped to the box.

    ``lower + 1.0 * (upper - lower)`` can land one rounding step above ``upper``; the
    clip keeps every mapped point inside the box that validators check against.
    """
    x = lower + np.asarray(z, dtype=np.float64) * (upper - lower)
    return np.clip(x, lower, upper)


@dataclass(frozen=True)
class ThetaSpec:
    """Declaration of a parameter vector theta of a parametric controller.

    theta holds the model parameters and cost weights that can change at run time
    without rebuilding the solver or retraining the networks, and along which the
    AMPC is fine-tuned.

    Args:
        names: Parameter names, in vector order.
        nominal: Nominal values theta_nom (the operating point of the AMPC's Taylor step).
        lower, upper: Bounds (inclusive): the range the controller accepts.
        units: Unit of each entry (``"kg"``, ``"-"``, ...).
        descriptions: One-line description of each entry.
        tuning_lower, tuning_upper: The box a tuner searches, inside the bounds; an
            entry with ``tuning_lower == tuning_upper`` is fixed. Default: the bounds.

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
    tuning_lower: tuple[float, ...] | None = None
    tuning_upper: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("names", "units", "descriptions"):
            object.__setattr__(self, name, tuple(str(v) for v in getattr(self, name)))
        for name in ("nominal", "lower", "upper", "tuning_lower", "tuning_upper"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(float(v) for v in value))
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
        if (self.tuning_lower is None) != (self.tuning_upper is None):
            raise ValueError("give both tuning_lower and tuning_upper, or neither")
        if self.tuning_lower is None:
            object.__setattr__(self, "tuning_lower", self.lower)
            object.__setattr__(self, "tuning_upper", self.upper)
        lo, hi = np.array(self.tuning_lower), np.array(self.tuning_upper)
        if (
            lo.shape != (n,)
            or hi.shape != (n,)
            or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)))
            or np.any(lo < self.lower_array)
            or np.any(hi > self.upper_array)
            or np.any(lo > hi)
        ):
            raise ValueError(
                "tuning bounds must satisfy theta_lower <= tuning_lower <= tuning_upper "
                f"<= theta_upper, got {lo.tolist()} and {hi.tolist()}"
            )

    # ------------------------------------------------------------------ reading
    @property
    def dim(self) -> int:
        """Number of parameters p."""
        return len(self.names)

    nominal_array = property(
        lambda self: np.array(self.nominal), doc="theta_nom, a new (p,) array."
    )
    lower_array = property(lambda self: np.array(self.lower), doc="Lower bounds, a new (p,) array.")
    upper_array = property(lambda self: np.array(self.upper), doc="Upper bounds, a new (p,) array.")
    tuning_lower_array = property(
        lambda self: np.array(self.tuning_lower), doc="Lower end of the tuning box, (p,)."
    )
    tuning_upper_array = property(
        lambda self: np.array(self.tuning_upper), doc="Upper end of the tuning box, (p,)."
    )

    @property
    def free(self) -> np.ndarray:
        """Mask of the entries a tuner searches (``tuning_upper > tuning_lower``)."""
        return self.tuning_upper_array > self.tuning_lower_array

    def index(self, name: str) -> int:
        """Position of parameter ``name`` in the vector."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"unknown theta name {name!r}; valid: {list(self.names)}") from None

    # --------------------------------------------------------------- validating
    def check(
        self,
        theta: Sequence[float] | np.ndarray | Mapping[str, float] | None,
        *,
        tuning: bool = False,
    ) -> np.ndarray:
        """Validate theta and return it as a new float array of shape (p,).

        Args:
            theta: A vector in :attr:`names` order, a ``{name: value}`` mapping of
                overrides of the nominal values, or ``None`` for theta_nom.
            tuning: Check against the tuning box instead of the bounds.

        Raises:
            ValueError: wrong shape, unknown name, not a number, a non-finite value or
                a value outside the box; the message names the parameter and the value.
        """
        if theta is None:
            theta = self.nominal_array
        elif isinstance(theta, Mapping):
            vec = self.nominal_array
            for name, value in theta.items():
                i = self.index(name)
                if isinstance(value, (str, bytes, bool)) or not isinstance(
                    value, (int, float, np.integer, np.floating)
                ):
                    raise ValueError(f"theta[{i}] ({name}) must be a number, got {value!r}")
                vec[i] = float(value)
            theta = vec
        lo, hi = (
            (self.tuning_lower_array, self.tuning_upper_array)
            if tuning
            else (self.lower_array, self.upper_array)
        )
        return check_in_box(
            theta,
            lo,
            hi,
            names=self.names,
            units=self.units,
            box="tuning bounds" if tuning else "bounds",
        )

    def as_dict(self, theta: Sequence[float] | np.ndarray | None = None) -> dict[str, float]:
        """``{name: value}`` of a (checked) theta, theta_nom by default."""
        return dict(zip(self.names, map(float, self.check(theta)), strict=True))

    # ---------------------------------------------------------------- deriving
    def with_tuning_bounds(self, lower: ArrayLike, upper: ArrayLike) -> ThetaSpec:
        """The same spec with another tuning box (checked to lie inside the bounds)."""
        # Numbers of the right shape here; inside the bounds in __post_init__.
        anything = np.full(self.dim, np.inf)
        lo = check_in_box(lower, -anything, anything, what="tuning_lower", names=self.names)
        hi = check_in_box(upper, -anything, anything, what="tuning_upper", names=self.names)
        return replace(self, tuning_lower=tuple(lo), tuning_upper=tuple(hi))

    def to_metadata(self) -> dict[str, Any]:
        """JSON-serialisable description (for dataset and weights metadata)."""
        return {
            "theta_names": list(self.names),
            "theta_nominal": list(self.nominal),
            "theta_lower": list(self.lower),
            "theta_upper": list(self.upper),
            "theta_units": list(self.units),
            "tuning_lower": list(self.tuning_lower or self.lower),
            "tuning_upper": list(self.tuning_upper or self.upper),
        }

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> ThetaSpec:
        """Inverse of :meth:`to_metadata` (units default to ``"-"``, the box to the bounds)."""
        names = tuple(meta["theta_names"])
        return cls(
            names=names,
            nominal=tuple(meta["theta_nominal"]),
            lower=tuple(meta["theta_lower"]),
            upper=tuple(meta["theta_upper"]),
            units=tuple(meta.get("theta_units") or ("-",) * len(names)),
            tuning_lower=meta.get("tuning_lower"),
            tuning_upper=meta.get("tuning_upper"),
        )
