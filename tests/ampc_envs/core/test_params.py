"""Physical parameters take real numbers only, within their declared domain and limits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ampc_envs.core.params import PhysicalParams, param


@dataclasses.dataclass(frozen=True)
class Toy(PhysicalParams):
    mass: float = param(1.0, "kg", "a mass")
    delay: int = param(0, "steps", "a delay", domain="nonnegative", integer=True, maximum=3)


@pytest.mark.parametrize(
    "values,message",
    [
        ({"mass": "0.4"}, "Toy.mass must be a real number, got '0.4'"),
        ({"mass": True}, "Toy.mass must be a real number, got True"),
        ({"mass": np.bool_(True)}, "Toy.mass must be a real number, got np.True_"),
        ({"mass": [1.0]}, "Toy.mass must be a real number, got [1.0]"),
        ({"mass": 0}, "Toy.mass must be > 0 kg, got 0"),
        ({"delay": 4}, "Toy.delay must be <= 3 steps, got 4"),
        ({"delay": 1.5}, "Toy.delay must be a whole number, got 1.5"),
    ],
)
def test_non_numbers_and_values_outside_the_limits_are_refused(values, message):
    with pytest.raises(ValueError) as err:
        Toy().replace(**values)
    assert str(err.value) == message


def test_numpy_numbers_are_stored_as_plain_python_numbers():
    p = Toy().replace(mass=np.float32(0.5), delay=np.int64(3))
    assert p.to_dict() == {"mass": 0.5, "delay": 3}
    assert type(p.mass) is float and type(p.delay) is int


@pytest.mark.parametrize(
    "ranges,message",
    [
        ({"mass": (True, 2.0)}, "range low of 'mass' must be a real number, got True"),
        ({"mass": ("1", 2.0)}, "range low of 'mass' must be a real number, got '1'"),
        ({"mass": "12"}, "range for 'mass' must be a pair (low, high), got '12'"),
        (
            {"mass": (1.0, 2.0, 3.0)},
            "range for 'mass' must be a pair (low, high), got (1.0, 2.0, 3.0)",
        ),
        ({"delay": (0, 5)}, "range high of 'delay' must be <= 3 steps, got 5"),
    ],
)
def test_sampling_ranges_are_checked_like_values(ranges, message):
    with pytest.raises(ValueError) as err:
        Toy.check_ranges(ranges)
    assert str(err.value) == message
