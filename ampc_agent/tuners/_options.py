r"""Small validators for tuner options (messages name the option and the value)."""

from __future__ import annotations

import math
from typing import Any


def positive_int(options: dict[str, Any], key: str, minimum: int = 1) -> int:
    value = options[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"option {key} must be an int >= {minimum}; got {value!r}")
    return int(value)


def positive_float(options: dict[str, Any], key: str, *, allow_zero: bool = False) -> float:
    value = options[key]
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"option {key} must be a float; got {value!r}") from err
    if not math.isfinite(v) or v < 0.0 or (v == 0.0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"option {key} must be a finite float {bound}; got {value!r}")
    return v


def choice(options: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = options[key]
    if value not in choices:
        raise ValueError(f"option {key} must be one of {list(choices)}; got {value!r}")
    return str(value)


def flag(options: dict[str, Any], key: str) -> bool:
    value = options[key]
    if not isinstance(value, bool):
        raise ValueError(f"option {key} must be a bool; got {value!r}")
    return value
