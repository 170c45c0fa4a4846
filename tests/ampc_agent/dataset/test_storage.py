"""The dataset format: atomic shards, pickle-free loading, a fingerprint of the data."""

import numpy as np
import pytest

from ampc_agent.dataset.storage import (
    concatenate_datasets,
    load_dataset,
    write_metadata,
    write_shard,
)
from ampc_agent.training.synthetic import write_synthetic_dataset


def shard(rng, n=5, solve_time=None):
    return {
        "x": rng.normal(size=(n, 4)),
        "u": rng.normal(size=(n, 1)),
        "du_dtheta": rng.normal(size=(n, 1, 3)),
        "cost": rng.random(n),
        "sqp_iter": rng.integers(1, 9, n),
        "solve_time": rng.random(n) if solve_time is None else solve_time,
        "source": np.zeros(n, dtype=np.int64),
    }


def test_shards_load_in_order_and_fingerprint_ignores_measured_times(tmp_path):
    for folder, times in [("a", np.full(5, 0.1)), ("b", np.full(5, 0.7))]:
        write_metadata(tmp_path / folder, {"system": "test"})
        for k in range(2):
            write_shard(tmp_path / folder, k, shard(np.random.default_rng(k), solve_time=times))
    a, b = load_dataset(tmp_path / "a"), load_dataset(tmp_path / "b")
    assert len(a) == 10
    np.testing.assert_array_equal(a.x[5:], shard(np.random.default_rng(1))["x"])
    assert a.fingerprint == b.fingerprint
    a.x[0, 0] += 1e-12
    assert a.fingerprint != b.fingerprint


def test_incomplete_shards_are_refused(tmp_path):
    arrays = shard(np.random.default_rng(0))
    del arrays["cost"]
    with pytest.raises(ValueError, match=r"shard is missing arrays \['cost'\]"):
        write_shard(tmp_path, 0, arrays)
    arrays = shard(np.random.default_rng(0))
    arrays["u"] = arrays["u"][:3]
    with pytest.raises(ValueError, match="shard arrays have different lengths"):
        write_shard(tmp_path, 0, arrays)
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_datasets_concatenate_in_order_with_their_parts(tmp_path):
    a = load_dataset(write_synthetic_dataset(tmp_path / "a", n=6, seed=0, secant_perturbations=3))
    b = load_dataset(write_synthetic_dataset(tmp_path / "b", n=4, seed=1))
    both = concatenate_datasets([a, b], ["a", "b"])
    assert len(both) == 10
    np.testing.assert_array_equal(both.x, np.concatenate([a.x, b.x]))
    np.testing.assert_array_equal(both.du_dtheta[6:], b.du_dtheta)
    assert not both.has_secant  # only one part has the secant arrays
    assert [p["name"] for p in both.metadata["parts"]] == ["a", "b"]
    assert [p["fingerprint"] for p in both.metadata["parts"]] == [a.fingerprint, b.fingerprint]
    assert both.fingerprint not in (a.fingerprint, b.fingerprint)


def test_datasets_of_another_theta_do_not_concatenate(tmp_path):
    a = load_dataset(write_synthetic_dataset(tmp_path / "a", n=4))
    b = load_dataset(write_synthetic_dataset(tmp_path / "b", n=4))
    b.metadata["theta_names"] = ["k_x", "k_theta", "k_v", "other"]
    with pytest.raises(ValueError) as err:
        concatenate_datasets([a, b], ["A", "B"])
    assert str(err.value) == (
        "dataset B has theta_names ['k_x', 'k_theta', 'k_v', 'other'], dataset A "
        f"{a.metadata['theta_names']!r}: they cannot be trained on together"
    )
