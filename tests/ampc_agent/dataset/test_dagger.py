"""DAgger datasets (``ampc dataset --learner``): the AMPC drives, the MPC labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ampc_agent.dataset import load_dataset
from ampc_agent.dataset.generator import generate_dataset
from ampc_agent.dataset.settings import GeneratorSettings
from ampc_agent.dataset.shards import Shadowed
from ampc_agent.policy import shipped_policy_folder
from ampc_agent.tuning.study import weights_fingerprint


def test_a_learner_that_is_not_a_weights_folder_is_refused(tmp_path):
    with pytest.raises(ValueError) as err:
        GeneratorSettings(system="cartpole", learner=str(tmp_path))
    assert str(err.value) == (
        "learner must be an AMPC weights folder (metadata.json, model.safetensors), "
        f"got {str(tmp_path)!r}"
    )


def test_a_learner_of_another_system_is_refused():
    folder = str(shipped_policy_folder("cartpole"))
    with pytest.raises(ValueError) as err:
        GeneratorSettings(system="wheelbot", learner=folder)
    assert str(err.value) == (f"learner {folder!r} is an AMPC of system 'cartpole', not 'wheelbot'")


def test_the_learner_acts_and_the_expert_sees_every_state():
    seen = []

    def expert(x):
        seen.append(np.array(x))
        return np.array([5.0])

    shadow = Shadowed(lambda x: -np.asarray(x)[:1], expert)
    out = [shadow(np.array([float(k), 0.0])) for k in range(3)]
    assert [float(u[0]) for u in out] == [0.0, -1.0, -2.0]
    assert [float(x[0]) for x in seen] == [0.0, 1.0, 2.0]


def test_a_dagger_shard_follows_the_learner_and_records_it(tmp_path):
    learner = shipped_policy_folder("cartpole")
    common = dict(
        system="cartpole",
        samples=4,
        shard_size=4,
        seed=3,
        trajectory_fraction=1.0,
        episode_steps=40,
        stride=10,
        randomize_fraction=0.0,
    )
    dagger = GeneratorSettings(**common, learner=str(learner))
    mpc_driven = GeneratorSettings(**common)
    generate_dataset(tmp_path / "dagger", dagger, progress=False)
    generate_dataset(tmp_path / "mpc", mpc_driven, progress=False)
    meta = json.loads((tmp_path / "dagger" / "metadata.json").read_text())
    assert meta["generator"]["learner_fingerprint"] == weights_fingerprint(learner)
    assert meta["counts"]["episodes_learner"] == meta["counts"]["episodes"] >= 1
    a, b = load_dataset(tmp_path / "dagger"), load_dataset(tmp_path / "mpc")
    # The same start (same seed), then the learner's own closed loop, not the MPC's.
    np.testing.assert_array_equal(a.x[0], b.x[0])
    assert not np.allclose(a.x[1:], b.x[1:])
    assert np.all(np.isfinite(a.u)) and np.all(np.isfinite(a.du_dtheta))
