"""Specification of AMPC training: accuracy, determinism, early stopping, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ampc_agent.cli import main as ampc_main
from ampc_agent.dataset.storage import load_dataset
from ampc_agent.policy import AMPCPolicy, load_test_set
from ampc_agent.training import (
    NetworkConfig,
    TrainingConfig,
    deterministic,
    fit_network,
    saturation_aware_loss,
    split_indices,
    train_ampc,
)
from ampc_agent.training.synthetic import (
    SYNTHETIC_THETA_NOMINAL,
    synthetic_labels,
    write_synthetic_dataset,
)


def test_training_reaches_accuracy_on_the_synthetic_law(trained) -> None:
    # Fresh states, never in the dataset: compare with the analytic law.
    rng = np.random.default_rng(123)
    X = rng.uniform([-0.8, -np.pi, -2.0, -3.0], [0.8, np.pi, 2.0, 3.0], size=(2000, 4))
    u, du = synthetic_labels(X, SYNTHETIC_THETA_NOMINAL)
    policy = trained.policy
    err_u = policy.batch(X) - u
    assert np.sqrt(np.mean(err_u**2)) < 0.2  # N, on a +-10 N range
    unsat = np.abs(u[:, 0]) < 9.0
    err_j = policy.jacobian(X[unsat]) - du[unsat]
    assert np.sqrt(np.mean(err_j**2)) < 0.2 * np.sqrt(np.mean(du[unsat] ** 2))
    # Adapting theta follows the law: the adapted action tracks the law at the new theta.
    theta = SYNTHETIC_THETA_NOMINAL * np.array([1.1, 0.9, 1.1, 0.9])
    u_new, _ = synthetic_labels(X, theta)
    adapted = np.abs(policy.batch(X, theta=theta) - u_new)[unsat].mean()
    unadapted = np.abs(policy.batch(X) - u_new)[unsat].mean()
    assert adapted < 0.5 * unadapted
    # The held-out metrics agree.
    assert trained.accuracy["pi_rmse"] < 0.2 and trained.accuracy["jacobian_r2"] > 0.9


def test_training_is_deterministic_for_a_seed(dataset) -> None:
    net = NetworkConfig(hidden=(32, 32), batch_size=256, max_epochs=3, patience=5)
    config = TrainingConfig(
        seed=7, test_size=500, max_samples=3000, pi=net, jacobian=net, num_threads=1
    )
    a = train_ampc(dataset, config).policy
    b = train_ampc(dataset, config).policy
    c = train_ampc(dataset, TrainingConfig(**{**config.__dict__, "seed": 8})).policy
    for pa, pb, _pc in zip(
        a.pi_net.mlp.parameters(), b.pi_net.mlp.parameters(), c.pi_net.mlp.parameters(), strict=True
    ):
        assert torch.equal(pa, pb)
    assert not all(
        torch.equal(pa, pc)
        for pa, pc in zip(
            a.jacobian_net.mlp.parameters(), c.jacobian_net.mlp.parameters(), strict=True
        )
    )
    for pa, pb in zip(
        a.jacobian_net.mlp.parameters(), b.jacobian_net.mlp.parameters(), strict=True
    ):
        assert torch.equal(pa, pb)
    # The global PyTorch settings are restored after training.
    assert not torch.are_deterministic_algorithms_enabled()


def test_split_is_disjoint_and_covers_every_sample() -> None:
    train, val, test = split_indices(1000, test_size=100, val_fraction=0.1, seed=0)
    assert (len(train), len(val), len(test)) == (810, 90, 100)
    everything = np.concatenate([train, val, test])
    assert len(np.unique(everything)) == 1000


def test_early_stopping_keeps_the_best_validation_epoch() -> None:
    # Noise targets: the validation loss stops improving, training must stop early.
    rng = np.random.default_rng(0)
    f, y = rng.normal(size=(400, 3)), rng.normal(size=(400, 1))
    fv, yv = rng.normal(size=(200, 3)), rng.normal(size=(200, 1))
    config = NetworkConfig(
        hidden=(64, 64), batch_size=50, max_epochs=500, patience=5, learning_rate=1e-2
    )
    with deterministic(0, 1) as gen:
        fit = fit_network(f, y, fv, yv, config, gen)
    assert fit.stop_reason == "early_stopping"
    assert fit.epochs == fit.best_epoch + 1 + config.patience
    assert fit.best_val_loss == min(fit.history["val_loss"])


def test_saturation_aware_loss_ignores_overshoot_beyond_an_active_bound() -> None:
    lower, upper = torch.tensor([-1.0]), torch.tensor([1.0])
    target = torch.tensor([[1.0], [-1.0], [0.5]])
    at_lo, at_hi = target <= -1.0, target >= 1.0
    beyond = torch.tensor([[3.0], [-2.0], [0.5]])
    assert saturation_aware_loss(beyond, target, at_lo, at_hi, lower, upper) == 0.0
    short = torch.tensor([[0.5], [-1.0], [0.0]])
    expected = (0.5**2 + 0.0 + 0.5**2) / 3
    assert saturation_aware_loss(short, target, at_lo, at_hi, lower, upper) == pytest.approx(
        expected
    )


def test_train_command_writes_policy_test_set_and_tensorboard(tmp_path) -> None:
    data = write_synthetic_dataset(tmp_path / "data", n=3000)
    out, logdir = tmp_path / "policy", tmp_path / "tb"
    code = ampc_main(
        [
            "train",
            "synthetic",
            "--dataset",
            str(data),
            "--out",
            str(out),
            "--logdir",
            str(logdir),
            "--hidden",
            "32",
            "32",
            "--max-epochs",
            "3",
            "--test-size",
            "400",
            "--threads",
            "1",
        ]
    )
    assert code == 0
    policy = AMPCPolicy.load(out)
    test = load_test_set(out)
    assert test["x"].shape == (400, 4) and test["du_dtheta"].shape == (400, 1, 4)
    assert policy.info["dataset"]["fingerprint"] == load_dataset(data).fingerprint
    assert policy.info["training"]["config"]["pi"]["hidden"] == [32, 32]
    assert list(logdir.glob("events.out.tfevents.*"))


@pytest.fixture(scope="module")
def secant_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("syn-secant")
    return load_dataset(write_synthetic_dataset(folder, n=5000, secant_perturbations=8))


@pytest.mark.parametrize("target", ["kkt_clipped", "secant", "changes"])
def test_every_jacobian_target_learns_the_change_of_action(secant_dataset, target) -> None:
    small = NetworkConfig(hidden=(64, 64), batch_size=256, max_epochs=60, patience=20)
    config = TrainingConfig(
        test_size=800, pi=small, jacobian=small, num_threads=1, jacobian_target=target
    )
    result = train_ampc(secant_dataset, config)
    changes = result.accuracy["changes"]
    # The synthetic law is linear in theta but for the clip: the per-state secant is
    # nearly exact (its leave-one-out fit on 8 changes of 4 parameters reaches 0.94), and
    # each target gets most of the way to it.
    assert changes["ceiling"]["r2"] > 0.9
    assert changes["network"]["r2"] > 0.8 and 0.8 < changes["network"]["slope"] < 1.2
    assert result.test_set["secant_du"].shape == (800, 8, 1)
    assert result.policy.info["training"]["config"]["jacobian_target"] == target


def test_secant_targets_need_a_dataset_with_secant_labels(dataset) -> None:
    config = TrainingConfig(test_size=500, jacobian_target="changes")
    with pytest.raises(ValueError, match="needs a dataset with secant labels"):
        train_ampc(dataset, config)
    with pytest.raises(ValueError, match="jacobian_target must be one of"):
        TrainingConfig(jacobian_target="exact")


def test_mirror_images_follow_the_sign_patterns() -> None:
    """The images of a sample under (S, R) are (S x, R u, R J, R du) with dtheta
    unchanged: for an equivariant linear law u = A x (R A S = A) and a constant J with
    R J = J(S x), the images obey the same law; the default is the odd mirror."""
    from ampc_agent.networks.features import StateFeatures
    from ampc_agent.training.train_ampc import _mirrored

    rng = np.random.default_rng(0)
    nx, nu, p, k = 4, 2, 3, 5
    s, r = np.array([1.0, -1.0, -1.0, 1.0]), np.array([-1.0, 1.0])
    a0 = rng.normal(size=(nu, nx))
    a = 0.5 * (a0 + r[:, None] * a0 * s[None, :])  # R A S = A
    x = rng.normal(size=(6, nx))
    u = x @ a.T
    jac = rng.normal(size=(6, nu, p))
    dtheta = rng.normal(size=(6, k, p))
    du = np.einsum("nap,nkp->nka", jac, dtheta)
    features = StateFeatures(nx=nx, angle_indices=())
    f, ui, ji, dth, dui, sec = _mirrored(
        features, x, ((tuple(s), tuple(r)),), u, jac.reshape(6, -1), (dtheta, du, jac)
    )
    assert f.shape == (12, nx)
    np.testing.assert_allclose(f[6:], features(x * s))
    np.testing.assert_allclose(ui[6:], (x * s) @ a.T, atol=1e-12)  # the law holds
    np.testing.assert_allclose(ji[6:].reshape(6, nu, p), r[None, :, None] * jac)
    np.testing.assert_array_equal(dth[6:], dtheta)
    np.testing.assert_allclose(dui[6:], np.einsum("nap,nkp->nka", sec[6:], dth[6:]))
    # Without patterns: the odd mirror x -> -x, u -> -u.
    f, ui, ji = _mirrored(features, x, (), u, jac.reshape(6, -1))
    np.testing.assert_allclose(f[6:], features(-x))
    np.testing.assert_array_equal(ui[6:], -u)
    np.testing.assert_array_equal(ji[6:], -jac.reshape(6, -1))


def test_ignored_and_clipped_states_shape_the_features(dataset) -> None:
    """An ignored state is not fed (the policy's action does not move with it); a
    clipped state is held to the training samples' range (mirror images included), so
    beyond it the action is the one at the edge; the map survives save and load."""
    net = NetworkConfig(hidden=(16,), batch_size=256, max_epochs=2, patience=5)
    config = TrainingConfig(
        seed=0,
        test_size=500,
        max_samples=2000,
        pi=net,
        jacobian=net,
        num_threads=1,
        mirror_augmentation=True,
        ignored_states=("theta_dot",),
        clipped_states=("x_dot",),
    )
    result = train_ampc(dataset, config)
    f = result.policy.features
    assert f.ignored_indices == (3,) and f.n_features == 4
    ((index, lower, upper),) = f.limits
    assert index == 2 and lower < 0 < upper
    assert upper == pytest.approx(-lower)  # the odd mirror's images are in the range
    assert upper <= np.abs(dataset.x[:, 2]).max()
    x = np.array([0.1, 0.3, 0.0, 0.0])
    moved = x + np.array([0.0, 0.0, 0.0, 50.0])
    np.testing.assert_array_equal(result.policy.batch(moved[None]), result.policy.batch(x[None]))
    far, edge = x.copy(), x.copy()
    far[2], edge[2] = upper + 10.0, upper
    np.testing.assert_array_equal(result.policy.batch(far[None]), result.policy.batch(edge[None]))
    with pytest.raises(ValueError, match=r"clipped_states \['psi'\] are not states"):
        train_ampc(dataset, TrainingConfig(**{**config.__dict__, "clipped_states": ("psi",)}))


def test_train_command_trains_on_several_datasets_together(tmp_path) -> None:
    a = write_synthetic_dataset(tmp_path / "a", n=1200, seed=0)
    b = write_synthetic_dataset(tmp_path / "b", n=900, seed=1)
    out = tmp_path / "policy"
    argv = ["train", "synthetic", "--dataset", str(a), str(b), "--out", str(out)]
    argv += ["--logdir", str(tmp_path / "tb"), "--hidden", "16", "--max-epochs", "2"]
    assert ampc_main([*argv, "--test-size", "200", "--threads", "1"]) == 0
    info = AMPCPolicy.load(out).info["dataset"]
    assert info["n_samples"] == 2100
    assert info["path"] == f"{a},{b}"
    parts = {p["name"]: p["fingerprint"] for p in info["parts"]}
    assert parts == {str(a): load_dataset(a).fingerprint, str(b): load_dataset(b).fingerprint}
