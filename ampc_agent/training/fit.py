"""Fit one normalised MLP by Adam with early stopping on a validation split."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ampc_agent.networks import MLP, AsinhScaling, Normalization, NormalizedMLP
from ampc_agent.training.config import NetworkConfig

__all__ = ["FitResult", "fit_network", "saturation_aware_loss"]


@dataclass
class FitResult:
    """A trained network and its training history.

    Attributes:
        network: The network of the epoch with the lowest validation loss.
        best_epoch: That epoch (0-based).
        best_val_loss: Its validation loss (normalised units).
        epochs: Epochs run.
        seconds: Wall time of the fit in s.
        stop_reason: Why training stopped.
        history: Per-epoch ``train_loss``, ``val_loss``, ``lr``.
    """

    network: NormalizedMLP
    best_epoch: int
    best_val_loss: float
    epochs: int
    seconds: float
    stop_reason: str
    history: dict[str, list[float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON summary without the per-epoch history."""
        return {
            "best_epoch": self.best_epoch,
            "best_val_loss": self.best_val_loss,
            "epochs": self.epochs,
            "seconds": round(self.seconds, 2),
            "stop_reason": self.stop_reason,
        }


def saturation_aware_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    at_lower: torch.Tensor,
    at_upper: torch.Tensor,
    lower: torch.Tensor,
    upper: torch.Tensor,
) -> torch.Tensor:
    """Mean squared error that lets the prediction pass a bound the target sits on.

    Where the target is at the upper bound only ``pred < upper`` is penalised (and at
    the lower bound only ``pred > lower``): the policy clips its output, so any value
    beyond the bound gives the same action.

    Args:
        pred: Predictions ``(n, d)``.
        target: Targets ``(n, d)``.
        at_lower: Boolean ``(n, d)``: target at the lower bound.
        at_upper: Boolean ``(n, d)``: target at the upper bound.
        lower: Lower bound ``(d,)`` in the units of ``pred``.
        upper: Upper bound ``(d,)``.

    Returns:
        Scalar loss.
    """
    err = pred - target
    err = torch.where(at_upper, torch.clamp(pred - upper, max=0.0), err)
    err = torch.where(at_lower, torch.clamp(pred - lower, min=0.0), err)
    return (err**2).mean()


def _batched_loss(
    mlp: MLP,
    z: torch.Tensor,
    y: torch.Tensor,
    masks: tuple | None,
    bounds: tuple | None,
    chunk: int = 65536,
) -> float:
    total = 0.0
    with torch.no_grad():
        for s in range(0, len(z), chunk):
            pred = mlp(z[s : s + chunk])
            if masks is None:
                loss = ((pred - y[s : s + chunk]) ** 2).mean()
            else:
                loss = saturation_aware_loss(
                    pred,
                    y[s : s + chunk],
                    masks[0][s : s + chunk],
                    masks[1][s : s + chunk],
                    *bounds,
                )
            total += float(loss) * len(pred)
    return total / len(z)


def fit_network(
    features: np.ndarray,
    targets: np.ndarray,
    val_features: np.ndarray,
    val_targets: np.ndarray,
    config: NetworkConfig,
    generator: torch.Generator,
    *,
    target_bounds: tuple[np.ndarray, np.ndarray] | None = None,
    target_transform: AsinhScaling | None = None,
    writer: Any = None,
    tag: str = "net",
) -> FitResult:
    """Train an MLP from features to targets; keep the best validation epoch.

    Inputs and targets are normalised with statistics of the training split; the
    loss is the mean squared error in normalised units (optionally saturation aware).

    Args:
        features: Training inputs ``(n, d_in)``.
        targets: Training targets ``(n, d_out)``.
        val_features: Validation inputs ``(m, d_in)``.
        val_targets: Validation targets ``(m, d_out)``.
        config: Architecture and optimiser settings.
        generator: Seeded generator for the minibatch order.
        target_bounds: ``(lower, upper)`` of the targets (for example input bounds);
            when given, targets at a bound get the saturation-aware loss.
        target_transform: Optional :class:`AsinhScaling`: the network is trained on
            ``asinh(target / scale)`` and keeps the transform (heavy-tailed targets).
        writer: A ``torch.utils.tensorboard.SummaryWriter`` or ``None``.
        tag: Prefix of the TensorBoard scalars.

    Returns:
        The trained network and its history.
    """
    t0 = time.perf_counter()
    if target_transform is not None:
        if target_bounds is not None:
            raise ValueError("target_bounds and target_transform cannot be combined")
        targets = target_transform.forward(targets)
        val_targets = target_transform.forward(val_targets)
    in_norm = Normalization.fit(features)
    out_norm = Normalization.fit(targets)
    mlp = MLP(features.shape[1], targets.shape[1], config.hidden, config.activation)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32)

    z, y = tensor(in_norm.normalize(features)), tensor(out_norm.normalize(targets))
    zv, yv = tensor(in_norm.normalize(val_features)), tensor(out_norm.normalize(val_targets))
    masks = val_masks = bounds = None
    if target_bounds is not None:
        lo, hi = (np.asarray(b, dtype=np.float64) for b in target_bounds)
        tol = 1e-6 * np.maximum(hi - lo, 1.0)

        def mask(t: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
            return torch.as_tensor(t <= lo + tol), torch.as_tensor(t >= hi - tol)

        masks, val_masks = mask(targets), mask(val_targets)
        bounds = (tensor(out_norm.normalize(lo)), tensor(out_norm.normalize(hi)))

    def train_loss(idx: torch.Tensor) -> torch.Tensor:
        pred = mlp(z[idx])
        if masks is None:
            return ((pred - y[idx]) ** 2).mean()
        return saturation_aware_loss(pred, y[idx], masks[0][idx], masks[1][idx], *bounds)

    run = _optimise(
        mlp, len(z), train_loss, lambda: _batched_loss(mlp, zv, yv, val_masks, bounds),
        config, generator, writer, tag, t0,
    )  # fmt: skip
    return FitResult(network=NormalizedMLP(mlp, in_norm, out_norm, target_transform), **run)


def _optimise(
    mlp: MLP,
    n: int,
    train_loss: Callable[[torch.Tensor], torch.Tensor],
    val_loss: Callable[[], float],
    config: NetworkConfig,
    generator: torch.Generator,
    writer: Any,
    tag: str,
    t0: float,
) -> dict[str, Any]:
    """Adam on minibatches of ``n`` samples, step size halved on plateaus, early stopping;
    leaves ``mlp`` at the epoch with the lowest validation loss.

    Returns:
        The :class:`FitResult` fields but the network.
    """
    opt = torch.optim.Adam(
        mlp.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=config.lr_patience)
    best_state, best_val, best_epoch = copy.deepcopy(mlp.state_dict()), math.inf, -1
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "lr": []}
    stop_reason, epoch = "max_epochs", -1
    bs = int(config.batch_size)
    for epoch in range(config.max_epochs):
        mlp.train()
        perm = torch.randperm(n, generator=generator)
        running = 0.0
        for s in range(0, n, bs):
            idx = perm[s : s + bs]
            loss = train_loss(idx)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            running += float(loss.detach()) * len(idx)
        mlp.eval()
        val = val_loss()
        lr = opt.param_groups[0]["lr"]
        history["train_loss"].append(running / n)
        history["val_loss"].append(val)
        history["lr"].append(lr)
        if writer is not None:
            writer.add_scalar(f"{tag}/train_loss", running / n, epoch)
            writer.add_scalar(f"{tag}/val_loss", val, epoch)
            writer.add_scalar(f"{tag}/learning_rate", lr, epoch)
        if val < best_val:
            best_val, best_epoch = val, epoch
            best_state = copy.deepcopy(mlp.state_dict())
        sched.step(val)
        if epoch - best_epoch >= config.patience:
            stop_reason = "early_stopping"
            break
        if opt.param_groups[0]["lr"] < config.min_learning_rate:
            stop_reason = "min_learning_rate"
            break
        if time.perf_counter() - t0 > 60.0 * config.max_minutes:
            stop_reason = "time_limit"
            break
    mlp.load_state_dict(best_state)
    mlp.eval()
    return {
        "best_epoch": best_epoch,
        "best_val_loss": best_val,
        "epochs": epoch + 1,
        "seconds": time.perf_counter() - t0,
        "stop_reason": stop_reason,
        "history": history,
    }


def fit_jacobian_on_changes(
    features: np.ndarray,
    dtheta: np.ndarray,
    du: np.ndarray,
    val_features: np.ndarray,
    val_dtheta: np.ndarray,
    val_du: np.ndarray,
    output_scale: np.ndarray,
    config: NetworkConfig,
    generator: torch.Generator,
    *,
    writer: Any = None,
    tag: str = "jacobian",
) -> FitResult:
    """Train the sensitivity network on what the adaptation must do: changes of action.

    The loss is the mean squared error of the first-order step against the MPC's
    re-solved change, ``J(x) d_k - (u*(x, theta_nom + d_k) - u*(x, theta_nom))``, over
    every stored change ``d_k`` of every sample (pairs with a failed re-solve, NaN,
    are left out), in units of the standard deviation of the changes per input.

    Args:
        features: Training inputs ``(n, d_in)``.
        dtheta: Parameter changes ``(n, k, p)``.
        du: Changes of the first action ``(n, k, nu)`` (NaN: no label).
        val_features, val_dtheta, val_du: The same for the validation split.
        output_scale: ``(nu * p,)`` typical magnitude of the entries of ``J`` (for
            example the secant labels' standard deviation): the network's output
            normalisation.
        config: Architecture and optimiser settings.
        generator: Seeded generator for the minibatch order.
        writer: A TensorBoard ``SummaryWriter`` or ``None``.
        tag: Prefix of the TensorBoard scalars.

    Returns:
        The network ``J`` (outputs ``nu * p``, entry ``i * p + j`` is ``du_i/dtheta_j``).
    """
    t0 = time.perf_counter()
    nu, p = du.shape[2], dtheta.shape[2]
    in_norm = Normalization.fit(features)
    scale = np.maximum(np.asarray(output_scale, dtype=np.float64).reshape(nu * p), 1e-12)
    out_norm = Normalization(mean=np.zeros(nu * p), std=scale)
    mlp = MLP(features.shape[1], nu * p, config.hidden, config.activation)
    du_std = np.nanstd(du.reshape(-1, nu), axis=0)
    du_std = np.where(np.isfinite(du_std) & (du_std > 0), du_std, 1.0)

    def tensors(f: np.ndarray, d: np.ndarray, c: np.ndarray) -> tuple[torch.Tensor, ...]:
        ok = np.isfinite(c)
        return (
            torch.as_tensor(in_norm.normalize(f), dtype=torch.float32),
            torch.as_tensor(d, dtype=torch.float32),
            torch.as_tensor(np.where(ok, c, 0.0) / du_std, dtype=torch.float32),
            torch.as_tensor(ok, dtype=torch.float32),
        )

    train = tensors(features, dtheta, du)
    val = tensors(val_features, val_dtheta, val_du)
    std_t = torch.as_tensor(scale / np.tile(du_std, (p, 1)).T.reshape(-1), dtype=torch.float32)

    def loss_of(z: torch.Tensor, d: torch.Tensor, c: torch.Tensor, ok: torch.Tensor):
        jac = (mlp(z) * std_t).reshape(len(z), nu, p)  # J / du_std, per input row
        pred = torch.einsum("nip,nkp->nki", jac, d)
        return (((pred - c) ** 2) * ok).sum() / ok.sum().clamp(min=1.0)

    def val_loss() -> float:
        with torch.no_grad():
            return float(loss_of(*val))

    run = _optimise(
        mlp, len(train[0]), lambda idx: loss_of(*(t[idx] for t in train)), val_loss,
        config, generator, writer, tag, t0,
    )  # fmt: skip
    return FitResult(network=NormalizedMLP(mlp, in_norm, out_norm, None), **run)


def clipped_target(values: np.ndarray, scale: np.ndarray, limit: float = 2.0) -> np.ndarray:
    """``clip(values / scale, -limit, limit) * scale``: heavy tails cut at ``limit`` scales.

    With ``scale`` three standard deviations and ``limit = 2`` this is the label
    conditioning of the predecessor's parameter-adaptive AMPC.
    """
    return np.clip(values / scale, -limit, limit) * scale
