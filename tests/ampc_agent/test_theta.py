"""ThetaSpec: one declaration of theta; bad values are rejected with the name in the message."""

from __future__ import annotations

import numpy as np
import pytest

from ampc_agent.systems.cartpole import CARTPOLE_THETA
from ampc_agent.theta import ThetaSpec, from_unit, to_unit
from ampc_envs.cartpole.params import CartpoleParams


def test_cartpole_theta_has_physical_parameters_and_cost_weights() -> None:
    spec = CARTPOLE_THETA
    assert 6 <= spec.dim <= 8
    nominal = CartpoleParams()
    physical = [n for n in spec.names if n in CartpoleParams.names()]
    assert len(physical) >= 4
    for name in physical:  # nominal physical values are CartpoleParams' defaults
        assert spec.nominal[spec.index(name)] == getattr(nominal, name)
    assert {"cost_position", "cost_input"} <= set(spec.names)


def test_cartpole_theta_bounds_cover_the_randomization_ranges_and_hardware_instance() -> None:
    spec = CARTPOLE_THETA
    hardware = CartpoleParams.named("hardware-like")
    for name in spec.names:
        if name not in CartpoleParams.names():
            continue
        lo, hi = CartpoleParams.default_ranges[name]
        i = spec.index(name)
        assert spec.lower[i] <= lo and hi <= spec.upper[i]
        assert spec.lower[i] <= getattr(hardware, name) <= spec.upper[i]


def test_check_returns_the_nominal_vector_for_none_and_applies_overrides() -> None:
    spec = CARTPOLE_THETA
    np.testing.assert_array_equal(spec.check(None), spec.nominal_array)
    theta = spec.check({"pole_mass": 0.2})
    assert theta[spec.index("pole_mass")] == 0.2
    assert theta[spec.index("cart_mass")] == spec.nominal[spec.index("cart_mass")]


def test_value_outside_the_bounds_raises_naming_it() -> None:
    with pytest.raises(
        ValueError, match=r"theta\[1\] \(pole_mass\) = 5.0 kg is outside its bounds"
    ):
        CARTPOLE_THETA.check({"pole_mass": 5.0})


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_value_raises_naming_it(bad: float) -> None:
    theta = CARTPOLE_THETA.nominal_array
    theta[CARTPOLE_THETA.index("cost_input")] = bad
    with pytest.raises(ValueError, match=r"theta\[7\] \(cost_input\) must be finite"):
        CARTPOLE_THETA.check(theta)


def test_wrong_length_and_unknown_name_raise() -> None:
    with pytest.raises(ValueError, match=r"theta must have shape \(8,\)"):
        CARTPOLE_THETA.check([1.0, 2.0])
    with pytest.raises(ValueError, match=r"unknown theta name 'mass'"):
        CARTPOLE_THETA.check({"mass": 1.0})


def test_unit_cube_map_round_trips_and_maps_bounds_to_0_and_1() -> None:
    spec = CARTPOLE_THETA
    lo, hi = spec.lower_array, spec.upper_array
    np.testing.assert_allclose(to_unit(lo, lo, hi), 0.0)
    np.testing.assert_allclose(to_unit(hi, lo, hi), 1.0)
    z = np.linspace(0.1, 0.9, spec.dim)
    np.testing.assert_allclose(to_unit(from_unit(z, lo, hi), lo, hi), z)


def test_inconsistent_declaration_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"needs finite lower <= nominal <= upper"):
        ThetaSpec(("a",), (2.0,), (0.0,), (1.0,), ("-",))
    with pytest.raises(ValueError, match=r"theta names must be unique"):
        ThetaSpec(("a", "a"), (0.0, 0.0), (0.0, 0.0), (1.0, 1.0), ("-", "-"))
