"""Specification of AMPCPolicy: the adaptation law, theta checks, save/load safety."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file, save_file

from ampc_agent.networks import MLP, Normalization, NormalizedMLP, StateFeatures
from ampc_agent.policy import AMPCPolicy, adapted_action

NAMES = ("cart_mass", "pole_length", "q_theta")
NOMINAL = np.array([0.5, 0.6, 10.0])
LOWER = np.array([0.4, 0.5, 1.0])
UPPER = np.array([0.7, 0.7, 30.0])
U_MAX = 1.5


def make_policy(nu: int = 1, seed: int = 0, asinh: bool = False) -> AMPCPolicy:
    """A policy with random weights and non-trivial normalisations (and optionally an
    asinh output transform of J)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    features = StateFeatures(nx=4, angle_indices=(1,))
    p = len(NAMES)

    def net(out: int) -> NormalizedMLP:
        return NormalizedMLP(
            MLP(features.n_features, out, hidden=(16, 16)),
            Normalization(rng.normal(size=5), rng.uniform(0.5, 2.0, size=5)),
            Normalization(rng.normal(size=out), rng.uniform(0.5, 4.0, size=out)),
        )

    return AMPCPolicy(
        pi=net(nu),
        jacobian=net(nu * p),
        features=features,
        theta_names=NAMES,
        theta_nominal=NOMINAL,
        theta_lower=LOWER,
        theta_upper=UPPER,
        input_lower=np.full(nu, -U_MAX),
        input_upper=np.full(nu, U_MAX),
        state_names=["x", "theta", "x_dot", "theta_dot"],
        info={"system": "test"},
    )


def reference_action(policy: AMPCPolicy, X: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """The formula, evaluated through the PyTorch modules."""
    f = policy.features(X)
    u_nom = policy.pi_net.torch_forward(f)
    jac = policy.jacobian_net.torch_forward(f).reshape(len(X), policy.nu, policy.p)
    return adapted_action(
        u_nom, jac, theta, policy.theta_nominal, policy.input_lower, policy.input_upper
    )


@pytest.mark.parametrize(("nu", "asinh"), [(1, False), (2, False), (1, True), (2, True)])
def test_policy_equals_the_formula_for_random_states_and_theta(nu: int, asinh: bool) -> None:
    policy = make_policy(nu, asinh=asinh)
    rng = np.random.default_rng(1)
    X = rng.uniform([-0.8, -7, -2, -5], [0.8, 7, 2, 5], size=(200, 4))
    outputs = []
    for _ in range(5):
        theta = rng.uniform(LOWER, UPPER)
        policy.theta = theta
        expected = reference_action(policy, X, theta)
        single = np.stack([policy(x) for x in X])
        assert single.shape == (200, nu)
        np.testing.assert_allclose(single, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(policy.batch(X), expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(policy.batch(X, theta=theta), expected, rtol=1e-5, atol=1e-5)
        outputs.append(expected)
    # Both bounds are hit by these random networks, so clipping is exercised too.
    outputs = np.concatenate(outputs)
    assert np.any(outputs == U_MAX) and np.any(outputs == -U_MAX)
    assert np.mean(np.abs(outputs) < U_MAX) > 0.1


def test_nominal_theta_gives_the_clipped_nominal_network() -> None:
    policy = make_policy()
    X = np.random.default_rng(2).normal(size=(50, 4))
    expected = np.clip(policy.pi_net.torch_forward(policy.features(X)), -U_MAX, U_MAX)
    np.testing.assert_allclose(policy.batch(X), expected, rtol=1e-5, atol=1e-5)


def test_angle_enters_through_sin_and_cos_only() -> None:
    policy = make_policy()
    x = np.array([0.1, 0.3, -0.2, 1.0])
    np.testing.assert_allclose(policy(x), policy(x + [0, 2 * np.pi, 0, 0]), atol=1e-12)


def test_batch_theta_argument_leaves_the_policy_theta_unchanged() -> None:
    policy = make_policy()
    policy.batch(np.zeros((3, 4)), theta=UPPER)
    np.testing.assert_array_equal(policy.theta, NOMINAL)


@pytest.mark.parametrize(
    ("theta", "message"),
    [
        (np.array([0.8, 0.6, 10.0]), "theta[0] (cart_mass) = 0.8 is outside its bounds [0.4, 0.7]"),
        (np.array([0.5, 0.6, 0.5]), "theta[2] (q_theta) = 0.5 is outside its bounds [1.0, 30.0]"),
        (np.array([0.5, np.nan, 10.0]), "theta[1] (pole_length) must be finite, got nan"),
        (np.array([np.inf, 0.6, 10.0]), "theta[0] (cart_mass) must be finite, got inf"),
        (
            np.array([0.5, 0.6]),
            "theta must have shape (3,) for parameters ['cart_mass', 'pole_length', 'q_theta'], "
            "got shape (2,)",
        ),
        (
            np.ones((1, 3)),
            "theta must have shape (3,) for parameters ['cart_mass', 'pole_length', 'q_theta'], "
            "got shape (1, 3)",
        ),
    ],
)
def test_invalid_theta_raises_value_error_naming_the_value(theta, message) -> None:
    policy = make_policy()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        policy.theta = theta
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        policy.batch(np.zeros((2, 4)), theta=theta)
    np.testing.assert_array_equal(policy.theta, NOMINAL)  # a refused theta changes nothing


def test_theta_at_its_bounds_is_accepted() -> None:
    policy = make_policy()
    policy.theta = LOWER
    policy.theta = UPPER
    np.testing.assert_array_equal(policy.theta, UPPER)


def test_state_of_wrong_shape_is_refused() -> None:
    policy = make_policy()
    with pytest.raises(ValueError, match=re.escape("x must have shape (4,), got (5,)")):
        policy(np.zeros(5))
    with pytest.raises(ValueError, match=re.escape("X must have shape (n, 4), got (4,)")):
        policy.batch(np.zeros(4))


def test_tuning_bounds_default_to_theta_bounds_and_must_lie_inside() -> None:
    policy = make_policy()
    np.testing.assert_array_equal(policy.tuning_lower, LOWER)
    np.testing.assert_array_equal(policy.tuning_upper, UPPER)
    policy.set_tuning_bounds([0.45, 0.55, 5.0], [0.6, 0.65, 20.0])
    with pytest.raises(ValueError, match="tuning bounds must satisfy"):
        policy.set_tuning_bounds([0.3, 0.55, 5.0], [0.6, 0.65, 20.0])


@pytest.mark.parametrize("asinh", [False, True])
def test_save_load_round_trip_is_bit_exact(tmp_path, asinh: bool) -> None:
    policy = make_policy(nu=2, asinh=asinh)
    policy.set_tuning_bounds([0.45, 0.55, 5.0], [0.6, 0.65, 20.0])
    policy.save(tmp_path)
    loaded = AMPCPolicy.load(tmp_path)
    for (na, a), (nb, b) in zip(
        policy.pi_net.mlp.state_dict().items(), loaded.pi_net.mlp.state_dict().items(), strict=True
    ):
        assert na == nb and torch.equal(a, b)
    for a, b in zip(
        policy.jacobian_net.mlp.parameters(), loaded.jacobian_net.mlp.parameters(), strict=True
    ):
        assert torch.equal(a, b)
    assert loaded.theta_names == policy.theta_names
    for attr in (
        "theta_nominal",
        "theta_lower",
        "theta_upper",
        "tuning_lower",
        "tuning_upper",
        "input_lower",
        "input_upper",
    ):
        np.testing.assert_array_equal(getattr(loaded, attr), getattr(policy, attr))
    X = np.random.default_rng(3).normal(size=(100, 4))
    theta = np.array([0.6, 0.55, 20.0])
    policy.theta = loaded.theta = theta
    np.testing.assert_array_equal(loaded.batch(X), policy.batch(X))
    np.testing.assert_array_equal(loaded(X[0]), policy(X[0]))
    np.testing.assert_array_equal(loaded.jacobian(X), policy.jacobian(X))
    # Saving the loaded policy reproduces both files byte for byte.
    loaded.save(tmp_path / "again")
    for name in ("model.safetensors", "metadata.json"):
        assert (tmp_path / name).read_bytes() == (tmp_path / "again" / name).read_bytes()


def test_pickled_weight_file_is_refused(tmp_path) -> None:
    policy = make_policy()
    policy.save(tmp_path)
    state = {f"pi.{k}": v for k, v in policy.pi_net.mlp.state_dict().items()}
    torch.save(state, tmp_path / "weights.pt")
    with pytest.raises(ValueError, match=r"refusing to load .*weights\.pt"):
        AMPCPolicy.load(tmp_path / "weights.pt")
    # The same pickle under the safetensors name is recognised by its content.
    (tmp_path / "model.safetensors").write_bytes((tmp_path / "weights.pt").read_bytes())
    with pytest.raises(ValueError, match="torch.save .* archive"):
        AMPCPolicy.load(tmp_path)


def test_weight_file_not_matching_metadata_is_refused(tmp_path) -> None:
    policy = make_policy()
    policy.save(tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    missing = {k: v for k, v in tensors.items() if k != "jacobian.layers.2.bias"}
    save_file(missing, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=re.escape("missing tensors ['jacobian.layers.2.bias']")):
        AMPCPolicy.load(tmp_path)
    wrong = dict(tensors, **{"pi.layers.1.weight": np.zeros((16, 17), np.float32)})
    save_file(wrong, tmp_path / "model.safetensors")
    with pytest.raises(
        ValueError,
        match=re.escape("tensor pi.layers.1.weight has shape (16, 17), expected (16, 16)"),
    ):
        AMPCPolicy.load(tmp_path)
    # Metadata claiming a different architecture than the file holds.
    save_file(tensors, tmp_path / "model.safetensors")
    meta = json.loads((tmp_path / "metadata.json").read_text())
    meta["networks"]["pi"]["hidden"] = [16, 16, 16]
    (tmp_path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=re.escape("missing tensors ['pi.layers.3.bias'")):
        AMPCPolicy.load(tmp_path)


def test_garbage_weight_file_is_refused(tmp_path) -> None:
    make_policy().save(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json")
    with pytest.raises(ValueError, match="is not a valid safetensors file"):
        AMPCPolicy.load(tmp_path)


def test_written_files_are_readable_by_others_as_the_umask_allows(tmp_path) -> None:
    import os
    import stat

    from ampc_agent.io import write_json

    old = os.umask(0o022)
    try:
        write_json(tmp_path / "shared.json", {"a": 1})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "shared.json").stat().st_mode) == 0o644
