"""The analytic cart-pole model: a physics law, and its one-step error against MuJoCo."""

from __future__ import annotations

import casadi as cs
import numpy as np
import pytest

from ampc_agent.systems.cartpole.model import MODEL_PARAMETERS, cartpole_dynamics, cartpole_rk4
from ampc_agent.systems.cartpole.ocp import CartpoleOCPConfig
from ampc_envs.cartpole.env import CartpoleSwingUpEnv
from ampc_envs.cartpole.params import CONTROL_DT, GRAVITY, PHYSICS_DT, CartpoleParams

PHYSICAL = MODEL_PARAMETERS


def total_energy(state: np.ndarray, p: CartpoleParams) -> float:
    """Kinetic plus potential energy in J of cart and uniform rod (theta = 0 upright)."""
    x, th, xd, thd = state
    half = p.pole_length / 2
    vx = xd + half * np.cos(th) * thd
    vz = -half * np.sin(th) * thd
    kinetic = 0.5 * p.cart_mass * xd**2 + 0.5 * p.pole_mass * (vx**2 + vz**2)
    kinetic += 0.5 * (p.pole_mass * p.pole_length**2 / 12) * thd**2
    return kinetic + p.pole_mass * GRAVITY * half * np.cos(th)


def test_energy_is_conserved_without_friction_damping_and_force() -> None:
    p = CartpoleParams().replace(cart_friction=0.0, pivot_damping=0.0)
    state = np.array([0.1, 2.5, 0.3, -4.0])
    e0 = total_energy(state, p)
    for _ in range(200):  # 2 s
        state = cartpole_rk4(state, [0.0], p, 0.01, substeps=10)
    assert abs(total_energy(state, p) - e0) < 1e-8 * max(1.0, abs(e0))


def test_friction_and_damping_dissipate_energy() -> None:
    p = CartpoleParams().replace(cart_friction=0.3, pivot_damping=0.01)
    state = np.array([0.0, 2.0, 1.0, 3.0])
    e0 = total_energy(state, p)
    state = cartpole_rk4(state, [0.0], p, 0.5, substeps=100)
    assert total_energy(state, p) < e0 - 1e-3


def test_upright_is_unstable_towards_the_lean() -> None:
    xdot = cartpole_dynamics(np.array([0.0, 0.05, 0.0, 0.0]), [0.0], CartpoleParams())
    assert xdot[3] > 0  # leaning to +x falls further to +x
    assert xdot[2] < 0  # and pushes the cart back to -x


def test_casadi_and_numpy_versions_agree() -> None:
    p = CartpoleParams()
    x, u = cs.SX.sym("x", 4), cs.SX.sym("u", 1)
    f = cs.Function("f", [x, u], [cartpole_rk4(x, u, p, 0.04, 2)])
    s = np.array([0.2, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(
        np.asarray(f(s, 3.0)).ravel(), cartpole_rk4(s, [3.0], p, 0.04, 2), rtol=1e-13, atol=1e-13
    )


@pytest.fixture(scope="module")
def one_step_errors():
    """One control step (20 ms, constant force) of MuJoCo vs the analytic model.

    Random states, inputs and parameter instances (delay and noise off). Returns the
    errors of RK4 with MuJoCo's 2 ms step and with the MPC's integration step.
    """
    rng = np.random.default_rng(0)
    env = CartpoleSwingUpEnv()
    ranges = {k: v for k, v in CartpoleParams.default_ranges.items() if k in PHYSICAL}
    mpc_h = CartpoleOCPConfig().dt / CartpoleOCPConfig().rk4_substeps
    exact, mpc_step = [], []
    for _ in range(200):
        params = CartpoleParams().sample(ranges, rng)
        state = rng.uniform([-0.7, -np.pi, -3.0, -10.0], [0.7, np.pi, 3.0, 10.0])
        u = rng.uniform(-10.0, 10.0)
        env.reset(seed=0, options={"params": params, "state": state})
        env.step(np.array([u], dtype=np.float32))
        mj = np.array([*env.unwrapped.data.qpos, *env.unwrapped.data.qvel])
        u32 = float(np.float32(u))  # the env receives float32 commands
        ours = cartpole_rk4(state, [u32], params, CONTROL_DT, round(CONTROL_DT / PHYSICS_DT))
        coarse = cartpole_rk4(state, [u32], params, CONTROL_DT, round(CONTROL_DT / mpc_h))
        exact.append(np.abs(mj - ours))
        mpc_step.append(np.abs(mj - coarse))
    env.close()
    return np.array(exact), np.array(mpc_step)


def test_model_matches_mujoco_to_rounding_with_the_same_integrator(one_step_errors) -> None:
    exact, _ = one_step_errors
    # Same equations, same RK4 with 2 ms steps: only floating-point differences remain.
    assert exact.max() < 1e-9


def test_mpc_discretization_error_per_control_step_is_bounded(one_step_errors) -> None:
    _, mpc_step = one_step_errors
    # RK4 with the MPC's 20 ms step over one control period (measured: at most 2e-6 m or
    # rad and 3e-5 m/s or rad/s over the whole box of states, inputs and parameters).
    assert mpc_step[:, :2].max() < 1e-5
    assert mpc_step[:, 2:].max() < 1e-4


def test_step_scalar_equals_cartpole_rk4() -> None:
    """The guesses' plain-float copy of the equations is the model itself."""
    from ampc_agent.systems.cartpole.model import MODEL_PARAMETERS, step_scalar

    rng = np.random.default_rng(4)
    for _ in range(20):
        p = CartpoleParams().sample(CartpoleParams.default_ranges, rng)
        state = rng.uniform([-0.7, -np.pi, -2.0, -8.0], [0.7, np.pi, 2.0, 8.0])
        u = float(rng.uniform(-10.0, 10.0))
        values = tuple(getattr(p, n) for n in MODEL_PARAMETERS)
        fast = step_scalar(list(state), u, values, 0.04, 2)
        reference = cartpole_rk4(state, [u], p, 0.04, substeps=2)
        np.testing.assert_allclose(fast, reference, rtol=1e-12, atol=1e-12)
