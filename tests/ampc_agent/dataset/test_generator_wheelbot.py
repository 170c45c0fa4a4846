"""The wheelbot's dataset: yaw-test trajectories and spread samples around them,
residual labels with sensitivities, deterministic for a seed, resumed shard by shard."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ampc_agent.dataset import load_dataset
from ampc_agent.dataset.generator import GeneratorSettings, generate_dataset
from ampc_agent.dataset.settings import SOURCE_SPREAD, SOURCE_TRAJECTORY
from ampc_agent.dataset.storage import shard_path
from ampc_agent.systems import get_system

SETTINGS = GeneratorSettings(
    system="wheelbot",
    samples=4,
    shard_size=2,
    episode_steps=120,  # 0.6 s: the one reference step comes at 0.1-0.4 s
    stride=10,
    trajectory_fraction=0.5,
    seed=1,
)


def _same(a, b) -> bool:
    return all(
        np.array_equal(getattr(a, k), getattr(b, k))
        for k in ("x", "u", "du_dtheta", "cost", "sqp_iter", "source")
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheelbot-ref")
    generate_dataset(folder, SETTINGS, workers=1, progress=False)
    return folder, load_dataset(folder)


def test_wheelbot_samples_are_residuals_with_sensitivities(reference) -> None:
    _, data = reference
    theta = get_system("wheelbot").theta
    assert data.x.shape == (4, 10) and data.u.shape == (4, 2)
    assert data.du_dtheta.shape == (4, 2, theta.dim)
    assert np.all(np.isfinite(data.du_dtheta)) and np.all(np.abs(data.u) <= 0.1 + 1e-9)
    assert np.all(np.abs(data.x[:, 1]) < math.pi / 2)
    assert np.all(np.abs(data.x[:, 0]) <= math.pi)  # the wrapped yaw error
    # Per shard one sample along the closed loop and one spread around it.
    assert data.source.tolist() == [SOURCE_TRAJECTORY, SOURCE_SPREAD] * 2
    assert data.metadata["spread"] == list(get_system("wheelbot").sampling.spread)


def test_wheelbot_dataset_resumes_to_the_same_samples(reference, tmp_path) -> None:
    folder, data = reference
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    shard_path(copy, 1).unlink()
    meta = generate_dataset(copy, SETTINGS, progress=False)
    assert meta["runs"][-1]["shards_computed"] == 1
    assert _same(load_dataset(copy), data)  # shard 1 recomputed from the seed alone
