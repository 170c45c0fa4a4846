"""Settings of a training run (all saved with the weights)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TrainingConfig", "NetworkConfig"]


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture and optimiser settings of one network.

    Args:
        hidden: Widths of the hidden layers.
        activation: ``"tanh"`` or ``"silu"``.
        learning_rate: Initial Adam step size.
        batch_size: Minibatch size.
        weight_decay: Adam L2 penalty.
        max_epochs: Upper limit of passes over the training split.
        patience: Early stopping: epochs without a new best validation loss.
        lr_patience: Epochs without improvement before the step size is halved.
        min_learning_rate: Training stops when the step size falls below it.
        max_minutes: Wall-time limit of this network's training in min.
    """

    hidden: tuple[int, ...] = (128, 128, 128)
    activation: str = "tanh"
    learning_rate: float = 2e-3
    batch_size: int = 512
    weight_decay: float = 0.0
    max_epochs: int = 500
    patience: int = 40
    lr_patience: int = 12
    min_learning_rate: float = 1e-5
    max_minutes: float = 6.0


@dataclass(frozen=True)
class TrainingConfig:
    """A whole training run: data split, seed, and the two networks.

    Args:
        seed: Seeds the split, the initial weights and the minibatch order.
        test_size: Samples held out as the test set (never seen in training).
        val_fraction: Fraction of the remaining samples used for early stopping.
        max_samples: Use at most this many samples of the dataset (``None``: all).
        num_threads: PyTorch CPU threads (results are reproducible for a fixed count).
        angle_states: Names of the states that are angles (fed as sin/cos); ``None``
            picks the system's default.
        saturation_aware: Where the MPC's action sits at an input bound, the nominal
            network is only penalised for falling short of the bound, so that it can
            saturate smoothly instead of fitting the kink of the clip.
        mirror_augmentation: Add the mirror image ``(-x, -u, -du/dtheta)`` of every
            training and validation sample: for systems symmetric under ``x -> -x,
            u -> -u`` with sign-free parameters, such as the cart-pole.
        jacobian_asinh_quantile: The sensitivity network is trained on
            ``asinh(J / scale)`` with ``scale`` this quantile of the non-zero ``|J|`` per
            entry (the labels are heavy-tailed); ``None`` trains on ``J`` itself.
        pi: Settings of the nominal-action network.
        jacobian: Settings of the sensitivity network.
    """

    seed: int = 0
    test_size: int = 3000
    val_fraction: float = 0.1
    max_samples: int | None = None
    num_threads: int = 2
    angle_states: tuple[str, ...] | None = None
    saturation_aware: bool = True
    jacobian_asinh_quantile: float | None = 0.75
    mirror_augmentation: bool = False
    pi: NetworkConfig = field(default_factory=NetworkConfig)
    jacobian: NetworkConfig = field(default_factory=NetworkConfig)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        d = dataclasses.asdict(self)
        for k in ("pi", "jacobian"):
            d[k]["hidden"] = list(d[k]["hidden"])
        if d["angle_states"] is not None:
            d["angle_states"] = list(d["angle_states"])
        return d
