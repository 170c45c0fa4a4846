"""Settings of a training run (all saved with the weights)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JACOBIAN_TARGETS", "TrainingConfig", "NetworkConfig"]

#: What the sensitivity network can be trained on (see ``TrainingConfig.jacobian_target``).
JACOBIAN_TARGETS = ("kkt", "kkt_clipped", "secant", "changes")


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
        ignored_states: Names of the states not fed to the networks (states the MPC's
            action does not depend on, the registry's ``SystemSpec.ignored_states``).
        clipped_states: Names of the non-angle states held to the training samples'
            range before they enter the networks (the registry's
            ``SystemSpec.clipped_states``): beyond it the networks act as at its edge.
        saturation_aware: Where the MPC's action sits at an input bound, the nominal
            network is only penalised for falling short of the bound, so that it can
            saturate smoothly instead of fitting the kink of the clip.
        mirror_augmentation: Add the mirror images ``(S x, R u, R du/dtheta)`` of every
            training and validation sample, for each sign pattern ``(S, R)`` of
            ``symmetries``: for systems whose MPC is equivariant under them with
            sign-free parameters, such as the cart-pole (``x -> -x, u -> -u``).
        symmetries: The sign patterns ``(S, R)`` of the mirror images (the registry's
            ``SystemSpec.symmetries``); ``()`` with ``mirror_augmentation``: the odd
            mirror ``x -> -x, u -> -u``.
        jacobian_target: What the sensitivity network learns. ``"kkt"``: the exact
            sensitivities du0*/dtheta; ``"kkt_clipped"``: the same, cut at 2 x 3 standard
            deviations per entry (the predecessor's conditioning); ``"secant"``: the
            least-squares slope of the re-solved changes of action over the dataset's
            parameter changes; ``"changes"``: no label at all, the loss is the error of
            the first-order step ``J(x) d`` against each re-solved change. The last two
            need a dataset with secant labels.
        jacobian_asinh_quantile: With ``"kkt"`` or ``"secant"`` targets, the network is
            trained on ``asinh(J / scale)`` with ``scale`` this quantile of the non-zero
            ``|J|`` per entry (the labels are heavy-tailed); ``None`` trains on ``J``.
        pi: Settings of the nominal-action network.
        jacobian: Settings of the sensitivity network.
    """

    seed: int = 0
    test_size: int = 3000
    val_fraction: float = 0.1
    max_samples: int | None = None
    num_threads: int = 2
    angle_states: tuple[str, ...] | None = None
    ignored_states: tuple[str, ...] = ()
    clipped_states: tuple[str, ...] = ()
    saturation_aware: bool = True
    jacobian_target: str = "kkt"
    jacobian_asinh_quantile: float | None = 0.75
    mirror_augmentation: bool = False
    symmetries: tuple[tuple[tuple[float, ...], tuple[float, ...]], ...] = ()
    pi: NetworkConfig = field(default_factory=NetworkConfig)
    jacobian: NetworkConfig = field(default_factory=NetworkConfig)

    def __post_init__(self) -> None:
        if self.jacobian_target not in JACOBIAN_TARGETS:
            raise ValueError(
                f"jacobian_target must be one of {list(JACOBIAN_TARGETS)}, got "
                f"{self.jacobian_target!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        d = dataclasses.asdict(self)
        for k in ("pi", "jacobian"):
            d[k]["hidden"] = list(d[k]["hidden"])
        if d["angle_states"] is not None:
            d["angle_states"] = list(d["angle_states"])
        d["ignored_states"] = list(d["ignored_states"])
        d["clipped_states"] = list(d["clipped_states"])
        return d
