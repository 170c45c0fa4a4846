"""Shared fixtures: a synthetic dataset with analytic labels and a policy trained on it."""

from __future__ import annotations

import pytest

from ampc_agent.dataset.storage import load_dataset
from ampc_agent.training import NetworkConfig, TrainingConfig, train_ampc
from ampc_agent.training.synthetic import write_synthetic_dataset

SMALL = NetworkConfig(hidden=(64, 64), batch_size=256, max_epochs=60, patience=20)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return load_dataset(write_synthetic_dataset(tmp_path_factory.mktemp("syn"), n=6000))


@pytest.fixture(scope="module")
def trained(dataset):
    config = TrainingConfig(test_size=1000, pi=SMALL, jacobian=SMALL, num_threads=1)
    return train_ampc(dataset, config)
