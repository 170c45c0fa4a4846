"""Training of the AMPC networks: Adam, early stopping, TensorBoard, determinism."""

from ampc_agent.evaluation.accuracy import heldout_accuracy
from ampc_agent.training.config import NetworkConfig, TrainingConfig
from ampc_agent.training.determinism import deterministic
from ampc_agent.training.fit import FitResult, fit_network, saturation_aware_loss
from ampc_agent.training.train_ampc import (
    TrainingResult,
    save_test_set,
    split_indices,
    train_ampc,
)

__all__ = [
    "FitResult",
    "NetworkConfig",
    "TrainingConfig",
    "TrainingResult",
    "deterministic",
    "fit_network",
    "heldout_accuracy",
    "save_test_set",
    "saturation_aware_loss",
    "split_indices",
    "train_ampc",
]
