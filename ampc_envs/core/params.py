"""Physical parameter sets: one frozen dataclass per system, validated and randomizable.

Each system declares its parameters once, as a frozen dataclass whose fields carry
their unit, a one-line description and their physical domain in the field metadata.
The MuJoCo model builder, the analytic model of the MPC and the randomizer all read
that one dataclass, so a parameter cannot mean two different things in two places.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np

__all__ = ["PhysicalParams", "param", "ParamRanges"]

ParamRanges = Mapping[str, tuple[float, float]]
"""Sampling ranges ``{name: (low, high)}`` in the parameter's own unit."""


def param(
    default: float,
    unit: str,
    doc: str,
    *,
    domain: str = "positive",
    integer: bool = False,
    maximum: float | None = None,
) -> Any:
    """Declare one physical parameter.

    Args:
        default: Nominal value.
        unit: Unit string shown in tables and error messages (``"kg"``, ``"m"``, ``"-"``).
        doc: One-line description.
        domain: ``"positive"`` (> 0), ``"nonnegative"`` (>= 0) or ``"real"``.
        integer: The value must be a whole number (for example a delay in control steps).
        maximum: Largest value accepted (``None``: no upper limit).
    """
    if domain not in ("positive", "nonnegative", "real"):
        raise ValueError(f"unknown domain {domain!r}")
    return dataclasses.field(
        default=default,
        metadata={
            "unit": unit,
            "doc": doc,
            "domain": domain,
            "integer": integer,
            "maximum": maximum,
        },
    )


@dataclasses.dataclass(frozen=True)
class PhysicalParams:
    """Base class of the per-system parameter dataclasses.

    Subclasses are frozen dataclasses whose fields are declared with :func:`param`.
    Construction validates every value, so an instance is always physical.
    """

    #: Named system instances ``{name: {field: value}}`` (overrides of the nominal values).
    instances: ClassVar[dict[str, dict[str, float]]] = {}
    #: Default randomization ranges used by ``randomize=True``.
    default_ranges: ClassVar[dict[str, tuple[float, float]]] = {}

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _check_value(type(self), f, value)
            # Store plain Python numbers so that instances compare and serialise exactly.
            plain = int(round(float(value))) if f.metadata["integer"] else float(value)
            object.__setattr__(self, f.name, plain)

    # ----------------------------------------------------------------- reading
    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Parameter names in declaration order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def field_info(cls, name: str) -> dict[str, Any]:
        """``unit``, ``doc``, ``domain``, ``integer`` and ``maximum`` of parameter ``name``."""
        return dict(cls._field(name).metadata)

    def to_dict(self) -> dict[str, float]:
        """Plain ``{name: value}`` dictionary (JSON-serialisable)."""
        return {name: _plain(getattr(self, name)) for name in self.names()}

    # -------------------------------------------------------------- constructing
    def replace(self, **values: float) -> Self:
        """Copy with some values changed; unknown names or non-physical values raise."""
        self._check_names(values)
        return dataclasses.replace(self, **values)

    @classmethod
    def named(cls, name: str) -> Self:
        """A documented system instance, such as ``"nominal"`` or ``"hardware-like"``."""
        if name == "nominal":
            return cls()
        if name not in cls.instances:
            valid = ", ".join(["nominal", *cls.instances])
            raise ValueError(f"unknown {cls.__name__} instance {name!r}; valid names: {valid}")
        return cls().replace(**cls.instances[name])

    @classmethod
    def resolve(cls, spec: PhysicalParams | Mapping[str, float] | str | None) -> Self:
        """Turn an instance, a name or a dict of overrides of the nominal values into params."""
        if spec is None:
            return cls()
        if isinstance(spec, cls):
            return spec
        if isinstance(spec, str):
            return cls.named(spec)
        if isinstance(spec, Mapping):
            return cls().replace(**dict(spec))
        raise ValueError(
            f"params must be a {cls.__name__}, an instance name or a dict, got {spec!r}"
        )

    # ------------------------------------------------------------ randomization
    @classmethod
    def check_ranges(cls, ranges: ParamRanges) -> dict[str, tuple[float, float]]:
        """Validate sampling ranges: known names, finite, low <= high, physical ends."""
        cls._check_names(ranges)
        checked = {}
        for name, bounds in ranges.items():
            if isinstance(bounds, (str, bytes, Mapping)) or not _is_pair(bounds):
                raise ValueError(f"range for {name!r} must be a pair (low, high), got {bounds!r}")
            f = cls._field(name)
            low, high = bounds
            _check_value(cls, f, low, what=f"range low of {name!r}")
            _check_value(cls, f, high, what=f"range high of {name!r}")
            low, high = float(low), float(high)
            if low > high:
                raise ValueError(f"range for {name!r} has low > high: ({low}, {high})")
            checked[name] = (low, high)
        return checked

    def sample(self, ranges: ParamRanges, rng: np.random.Generator) -> Self:
        """Draw an instance: uniform in each range, other fields kept at ``self``.

        Always starts from ``self`` (the stored nominal values), so repeated sampling
        never compounds. Integer parameters are drawn uniformly from the whole numbers
        in the range.
        """
        ranges = self.check_ranges(ranges)
        values = {}
        for name, (low, high) in ranges.items():
            if self._field(name).metadata["integer"]:
                values[name] = int(rng.integers(math.ceil(low), math.floor(high) + 1))
            else:
                values[name] = float(rng.uniform(low, high))
        return self.replace(**values)

    # ----------------------------------------------------------------- helpers
    @classmethod
    def _field(cls, name: str) -> dataclasses.Field:
        for f in dataclasses.fields(cls):
            if f.name == name:
                return f
        raise ValueError(f"unknown {cls.__name__} parameter {name!r}; valid: {cls.names()}")

    @classmethod
    def _check_names(cls, names: Mapping[str, Any]) -> None:
        unknown = [n for n in names if n not in cls.names()]
        if unknown:
            raise ValueError(
                f"unknown {cls.__name__} parameter(s) {unknown}; valid: {list(cls.names())}"
            )


def _check_value(cls: type, f: dataclasses.Field, value: Any, what: str | None = None) -> None:
    what = what or f"{cls.__name__}.{f.name}"
    unit = f.metadata["unit"]
    # Only real numbers: float("0.4") and float(True) would turn a typo into physics.
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise ValueError(f"{what} must be a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {value!r}")
    domain = f.metadata["domain"]
    if domain == "positive" and x <= 0:
        raise ValueError(f"{what} must be > 0 {unit}, got {value!r}")
    if domain == "nonnegative" and x < 0:
        raise ValueError(f"{what} must be >= 0 {unit}, got {value!r}")
    if f.metadata["integer"] and x != round(x):
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    maximum = f.metadata.get("maximum")
    if maximum is not None and x > maximum:
        raise ValueError(f"{what} must be <= {maximum} {unit}, got {value!r}")


def _is_pair(bounds: Any) -> bool:
    try:
        return len(bounds) == 2
    except TypeError:
        return False


def _plain(value: Any) -> float | int:
    return int(value) if isinstance(value, (int, np.integer)) else float(value)
