"""The system registry: one entry per system, each consistent with its env and its MPC."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import ampc_envs  # noqa: F401
from ampc_agent.systems import SYSTEMS, get_system, system_for_env, systems_with


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_entry_matches_its_env(name: str) -> None:
    spec = SYSTEMS[name]
    env = spec.make_env()
    assert type(env.unwrapped).params_cls is spec.params_cls
    obs, _ = env.reset(seed=0)
    assert len(spec.state_names) <= obs.shape[0]
    assert system_for_env(spec.env_id) is spec
    assert gym.spec(spec.env_id) is not None
    env.close()


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_physical_theta_entries_are_nominal_at_theta_nom(name: str) -> None:
    spec = SYSTEMS[name]
    nominal = spec.params_cls()
    physical = [n for n in spec.theta.names if n in spec.params_cls.names()]
    assert physical, "theta has no physical parameter"
    for n in physical:
        assert spec.theta.nominal[spec.theta.index(n)] == getattr(nominal, n)


def test_unknown_system_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown system 'rocket'; valid: \['cartpole', "):
        get_system("rocket")


def test_only_systems_that_can_run_a_step_are_offered() -> None:
    assert "cartpole" in systems_with("weights") and "cartpole" in systems_with("mpc")
    for name in systems_with("weights"):
        assert (SYSTEMS[name].weights / "model.safetensors").is_file()
    for name in set(SYSTEMS) - set(systems_with("mpc")):
        with pytest.raises(ValueError, match=f"system '{name}' has no MPC"):
            SYSTEMS[name].make_ocp()


@pytest.mark.parametrize("name", systems_with("mpc"))
def test_ocp_theta_is_the_registry_theta(name: str) -> None:
    spec = SYSTEMS[name]
    ocp = spec.make_ocp()
    assert ocp.theta_spec.names == spec.theta.names
    np.testing.assert_array_equal(ocp.theta_spec.nominal_array, spec.theta.nominal_array)
    assert tuple(ocp.periodic_states) == spec.angle_states
