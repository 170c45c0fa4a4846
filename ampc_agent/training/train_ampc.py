"""Train the two networks of the parameter-adaptive AMPC on an MPC dataset."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.dataset.storage import SECANT_ARRAYS, Dataset
from ampc_agent.evaluation.accuracy import heldout_accuracy
from ampc_agent.networks import AsinhScaling, StateFeatures
from ampc_agent.policy import AMPCPolicy
from ampc_agent.policy.shipped import TEST_SET_FILE
from ampc_agent.training.config import TrainingConfig
from ampc_agent.training.determinism import deterministic
from ampc_agent.training.fit import (
    FitResult,
    clipped_target,
    fit_jacobian_on_changes,
    fit_network,
)

__all__ = ["TrainingResult", "train_ampc", "split_indices", "save_test_set"]


def split_indices(
    n: int, test_size: int, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random disjoint train / validation / test index sets.

    Args:
        n: Number of samples.
        test_size: Size of the test set (at most half of ``n``).
        val_fraction: Fraction of the remaining samples for validation.
        seed: Seed of the permutation.

    Returns:
        ``(train, val, test)`` index arrays, each sorted.
    """
    if n < 4:
        raise ValueError(f"need at least 4 samples to split, got {n}")
    test_size = min(int(test_size), n // 2)
    perm = np.random.default_rng(seed).permutation(n)
    test, rest = perm[:test_size], perm[test_size:]
    n_val = max(1, int(round(val_fraction * len(rest))))
    val, train = rest[:n_val], rest[n_val:]
    return np.sort(train), np.sort(val), np.sort(test)


def save_test_set(
    folder: str | Path,
    x: np.ndarray,
    u: np.ndarray,
    du_dtheta: np.ndarray,
    **secant: np.ndarray,
) -> Path:
    """Write the held-out samples beside the weights (compressed, atomically, no pickle).

    States are kept in float64, labels in float32 (their accuracy is far below the
    network error), so a few thousand samples take a few hundred KB. ``secant`` holds
    the dataset's secant arrays of the same samples, if it has them.
    """
    import io

    from ampc_agent.io import atomic_write_bytes

    buffer = io.BytesIO()
    arrays = {"x": x.astype(np.float64), "u": u.astype(np.float32)}
    arrays["du_dtheta"] = du_dtheta.astype(np.float32)
    arrays.update({k: np.asarray(v, dtype=np.float32) for k, v in secant.items()})
    np.savez_compressed(buffer, **arrays)
    path = Path(folder) / TEST_SET_FILE
    atomic_write_bytes(path, buffer.getvalue())
    return path


@dataclass
class TrainingResult:
    """Outcome of :func:`train_ampc`.

    Attributes:
        policy: The trained policy (at ``theta_nom``).
        test_set: Held-out ``x``, ``u``, ``du_dtheta``.
        pi: Fit of the nominal network.
        jacobian: Fit of the sensitivity network.
        accuracy: :func:`heldout_accuracy` on the test set.
        seconds: Wall time of the whole training in s.
    """

    policy: AMPCPolicy
    test_set: dict[str, np.ndarray]
    pi: FitResult
    jacobian: FitResult
    accuracy: dict[str, Any]
    seconds: float


def _angle_indices(metadata: dict[str, Any], config: TrainingConfig) -> tuple[int, ...]:
    """States fed as sin/cos: the config's list, else the dataset's periodic states
    (``state_wrapping``, written by the generator from the system's angle states)."""
    state_names = list(metadata["state_names"])
    if config.angle_states is not None:
        _state_indices(state_names, config.angle_states, "angle_states")  # names checked
        wanted = tuple(config.angle_states)
    else:
        wanted = tuple(metadata.get("state_wrapping") or ())
    return tuple(i for i, name in enumerate(state_names) if name in wanted)


def _state_indices(state_names: list[str], names: tuple[str, ...], what: str) -> tuple[int, ...]:
    """Indices of the named states (``what`` names the config field in the error)."""
    unknown = [a for a in names if a not in state_names]
    if unknown:
        raise ValueError(f"{what} {unknown} are not states of the dataset: {state_names}")
    return tuple(state_names.index(a) for a in names)


def _sign_patterns(symmetries: tuple, nx: int, nu: int) -> tuple:
    """The mirror's sign patterns ``(S, R)``: ``symmetries``, or the odd mirror
    ``x -> -x, u -> -u`` when there are none."""
    return symmetries or ((-np.ones(nx), -np.ones(nu)),)


def _mirrored(
    features: StateFeatures,
    x: np.ndarray,
    symmetries: tuple,
    u: np.ndarray,
    du: np.ndarray,
    secant: tuple[np.ndarray, ...] = (),
) -> tuple[np.ndarray, ...]:
    """Samples plus their mirror images: features, ``u``, ``du`` and the secant arrays.

    For each sign pattern ``(S, R)`` of a system whose MPC is equivariant under it
    (``u*(S x) = R u*(x)`` with parameters that do not change sign, e.g. the cart-pole's
    ``x -> -x, u -> -u``), the image of a sample is ``(S x, R u, R du/dtheta)``, and its
    re-solved changes and secant slope are multiplied by ``R`` too; the change of theta
    itself is unchanged.

    Args:
        features: The state features.
        x: States ``(n, nx)``; ``u`` ``(n, nu)``; ``du`` ``(n, nu * p)`` (row-major
            ``(nu, p)``).
        symmetries: The patterns ``(S, R)``; ``()``: the odd mirror.
        secant: ``(secant_dtheta (n, k, p), secant_du (n, k, nu), du_secant (n, nu, p))``
            or ``()``.
    """
    nu = u.shape[1]
    p = du.shape[1] // nu
    patterns = _sign_patterns(symmetries, x.shape[1], nu)
    parts: list[list[np.ndarray]] = [[features(x)], [u], [du], *([a] for a in secant)]
    for state_signs, input_signs in patterns:
        s, r = np.asarray(state_signs, dtype=np.float64), np.asarray(input_signs, dtype=np.float64)
        parts[0].append(features(x * s))
        parts[1].append(u * r)
        parts[2].append(du * np.repeat(r, p))
        if secant:
            dtheta, changes, slope = secant
            parts[3].append(dtheta)
            parts[4].append(changes * r)
            parts[5].append(slope * r[:, None])
    return tuple(np.concatenate(a) for a in parts)


def _secant_arrays(
    dataset: Dataset, keep: np.ndarray, config: TrainingConfig
) -> dict[str, np.ndarray]:
    """The dataset's secant arrays of the kept samples (``{}`` if it has none)."""
    if config.jacobian_target in ("secant", "changes") and not dataset.has_secant:
        raise ValueError(
            f"jacobian_target {config.jacobian_target!r} needs a dataset with secant labels "
            "(generate it with --secant-perturbations K)"
        )
    if not dataset.has_secant:
        return {}
    return {k: getattr(dataset, k)[keep] for k in SECANT_ARRAYS}


def _fit_jacobian(
    config: TrainingConfig,
    ft: np.ndarray,
    dut: np.ndarray,
    sec_t: list[np.ndarray],
    fv: np.ndarray,
    duv: np.ndarray,
    sec_v: list[np.ndarray],
    nu: int,
    p: int,
    gen: Any,
    writer: Any,
) -> FitResult:
    """Fit ``J`` on the target ``config.jacobian_target`` names."""
    target = config.jacobian_target
    if target == "changes":
        # Output scale: the spread of the secant slopes, the size of a typical J entry.
        scale = np.nanstd(sec_t[2].reshape(len(ft), nu * p), axis=0)
        return fit_jacobian_on_changes(
            ft, sec_t[0], sec_t[1], fv, sec_v[0], sec_v[1], scale, config.jacobian, gen,
            writer=writer, tag="jacobian",
        )  # fmt: skip
    if target == "secant":
        labels_t, labels_v = sec_t[2].reshape(-1, nu * p), sec_v[2].reshape(-1, nu * p)
        ok_t, ok_v = np.isfinite(labels_t).all(1), np.isfinite(labels_v).all(1)
        ft, dut, fv, duv = ft[ok_t], labels_t[ok_t], fv[ok_v], labels_v[ok_v]
    transform = None
    if target == "kkt_clipped":
        scale = 3.0 * np.maximum(dut.std(axis=0), 1e-12)
        dut, duv = clipped_target(dut, scale), clipped_target(duv, scale)
    elif config.jacobian_asinh_quantile is not None:
        transform = AsinhScaling.fit(dut, config.jacobian_asinh_quantile)
    return fit_network(
        ft, dut, fv, duv, config.jacobian, gen, target_transform=transform, writer=writer,
        tag="jacobian",
    )  # fmt: skip


def train_ampc(
    dataset: Dataset,
    config: TrainingConfig | None = None,
    log_dir: str | Path | None = None,
    dataset_path: str | None = None,
) -> TrainingResult:
    """Train ``pi`` on the MPC actions and ``J`` on the sensitivities of ``dataset``.

    Samples with a non-finite entry are dropped; ``config.test_size`` samples are held
    out before anything is fitted, and a validation split drives early stopping.

    Args:
        dataset: MPC dataset (see :mod:`ampc_agent.dataset.storage`).
        config: Training settings; defaults of :class:`TrainingConfig`.
        log_dir: TensorBoard log folder (``None``: no logging).
        dataset_path: Where the dataset was read from (recorded in the metadata).

    Returns:
        The policy, the held-out test set, both fits and the held-out accuracy.
    """
    config = config or TrainingConfig()
    t0 = time.perf_counter()
    meta = dataset.metadata
    x, u, du = dataset.x, dataset.u, dataset.du_dtheta
    n, nx = x.shape
    nu, p = du.shape[1], du.shape[2]
    ok = np.isfinite(x).all(1) & np.isfinite(u).all(1) & np.isfinite(du).reshape(n, -1).all(1)
    keep = np.flatnonzero(ok)
    if config.max_samples is not None and len(keep) > config.max_samples:
        keep = np.sort(
            np.random.default_rng(config.seed).choice(keep, config.max_samples, replace=False)
        )
    x, u, du = x[keep], u[keep], du[keep]
    secant = _secant_arrays(dataset, keep, config)
    train, val, test = split_indices(len(x), config.test_size, config.val_fraction, config.seed)

    state_names = list(meta.get("state_names") or [f"x{i}" for i in range(nx)])
    angles = _angle_indices({**meta, "state_names": state_names}, config)
    ignored = _state_indices(state_names, config.ignored_states, "ignored_states")
    clipped = _state_indices(state_names, config.clipped_states, "clipped_states")
    # The clipped states' range: the training samples' (mirror images included).
    seen = x[train]
    if config.mirror_augmentation:
        for S, _ in _sign_patterns(config.symmetries, nx, nu):
            seen = np.concatenate([seen, x[train] * np.asarray(S)])
    features = StateFeatures(
        nx=nx,
        angle_indices=angles,
        ignored_indices=ignored,
        limits=tuple((i, float(seen[:, i].min()), float(seen[:, i].max())) for i in clipped),
    )
    f = features(x)
    input_lower = np.asarray(meta.get("input_lower", np.full(nu, -np.inf)), dtype=np.float64)
    input_upper = np.asarray(meta.get("input_upper", np.full(nu, np.inf)), dtype=np.float64)
    u_bounds = (input_lower, input_upper) if config.saturation_aware else None

    writer = None
    if log_dir is not None:
        from torch.utils.tensorboard import SummaryWriter

        writer = SummaryWriter(str(log_dir))
        writer.add_text("config", f"```\n{config.to_dict()}\n```")
    # Training and validation arrays (the test set is never augmented).
    split = {"train": train, "val": val}
    arrays = {
        name: (f[i], u[i], du[i].reshape(-1, nu * p), *(secant[k][i] for k in secant))
        for name, i in split.items()
    }
    if config.mirror_augmentation:
        for name, i in split.items():
            fi, ui, dui, *rest = arrays[name]
            arrays[name] = _mirrored(features, x[i], config.symmetries, ui, dui, tuple(rest))
    (ft, ut, dut, *sec_t), (fv, uv, duv, *sec_v) = arrays["train"], arrays["val"]
    try:
        with deterministic(config.seed, config.num_threads) as gen:
            pi_fit = fit_network(
                ft, ut, fv, uv, config.pi, gen, target_bounds=u_bounds, writer=writer, tag="pi"
            )
            jac_fit = _fit_jacobian(config, ft, dut, sec_t, fv, duv, sec_v, nu, p, gen, writer)
    finally:
        if writer is not None:
            writer.flush()
    info = {
        "system": meta.get("system"),
        "dataset": {
            "fingerprint": dataset.fingerprint,
            "path": dataset_path,
            "n_samples": int(n),
            "complete": meta.get("complete"),
            "n_used": int(len(x)),
            "n_train": int(len(train)),
            "n_val": int(len(val)),
            "n_test": int(len(test)),
            "generator": meta.get("generator"),
            **({"parts": meta["parts"]} if "parts" in meta else {}),
        },
        "training": {
            "config": config.to_dict(),
            "pi": pi_fit.summary(),
            "jacobian": jac_fit.summary(),
        },
    }
    theta_names = meta.get("theta_names") or [f"theta{j}" for j in range(p)]
    policy = AMPCPolicy(
        pi=pi_fit.network,
        jacobian=jac_fit.network,
        features=features,
        theta_names=theta_names,
        theta_nominal=meta["theta_nominal"],
        theta_lower=meta["theta_lower"],
        theta_upper=meta["theta_upper"],
        input_lower=input_lower,
        input_upper=input_upper,
        state_names=state_names,
        input_names=meta.get("input_names"),
        theta_units=meta.get("theta_units"),
        info=info,
    )
    test_secant = {k: secant[k][test] for k in SECANT_ARRAYS} if secant else {}
    accuracy = heldout_accuracy(policy, x[test], u[test], du[test], **test_secant)
    seconds = time.perf_counter() - t0
    policy.info["training"]["heldout_accuracy"] = accuracy
    policy.info["training"]["seconds"] = round(seconds, 1)
    if writer is not None:
        writer.add_scalar("test/pi_rmse", accuracy["pi_rmse"], 0)
        writer.add_scalar("test/jacobian_r2", accuracy["jacobian_r2"], 0)
        writer.close()
    return TrainingResult(
        policy=policy,
        test_set={"x": x[test], "u": u[test], "du_dtheta": du[test], **test_secant},
        pi=pi_fit,
        jacobian=jac_fit,
        accuracy=accuracy,
        seconds=seconds,
    )
