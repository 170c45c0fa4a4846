"""``ampc eval --accuracy-only --test-set``: the shipped cart-pole AMPC judged on a fresh
dataset of the real generator, secant labels included; datasets that cannot be a test
set of the policy are refused by name."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from ampc_agent.cli import main
from ampc_agent.dataset.storage import load_dataset
from ampc_agent.policy import shipped_policy_folder
from ampc_agent.training.synthetic import write_synthetic_dataset


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """Six cart-pole samples of the acados generator, 12 re-solved changes each."""
    folder = tmp_path_factory.mktemp("cp") / "data"
    argv = ["dataset", "cartpole", "--samples", "6", "--shard-size", "6", "--seed", "5"]
    argv += ["--secant-perturbations", "12", "--workers", "1", "--no-progress"]
    assert main([*argv, "--out", str(folder)]) == 0
    return folder


def test_the_accuracy_is_that_of_the_given_dataset_with_its_changes(fresh, tmp_path, capsys):
    assert (
        main(
            [
                "eval",
                "cartpole",
                "--accuracy-only",
                "--test-set",
                str(fresh),
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "accuracy_cartpole.json").read_text())
    data = load_dataset(fresh)
    acc = report["accuracy"]
    assert acc["n"] == len(data) == 6  # not the 3000 samples of the shipped test set
    # Every re-solved change that exists is one compared pair for the network and the
    # Taylor step; the ceiling needs more changes at a state than theta has entries.
    pairs = int(np.isfinite(data.secant_du).sum())
    assert 0 < pairs <= 6 * 12
    assert acc["changes"]["network"]["n"] == acc["changes"]["kkt"]["n"] == pairs
    assert acc["changes"]["ceiling"]["n"] <= pairs
    text = (tmp_path / "accuracy_cartpole.md").read_text()
    assert f"{pairs} pairs (state, change of theta)" in text
    assert "| the MPC's exact sensitivities (Taylor step) |" in text
    assert not (tmp_path / "eval_cartpole.json").exists()


def test_the_training_dataset_is_refused(fresh, tmp_path, capsys):
    policy = tmp_path / "policy"
    shutil.copytree(shipped_policy_folder("cartpole"), policy)
    meta = json.loads((policy / "metadata.json").read_text())
    meta["info"]["dataset"]["fingerprint"] = load_dataset(fresh).fingerprint
    (policy / "metadata.json").write_text(json.dumps(meta))
    argv = ["eval", "cartpole", "--policy", str(policy), "--accuracy-only"]
    assert main([*argv, "--test-set", str(fresh), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"ampc eval: error: --test-set {fresh} is a dataset the policy was trained on"
    )


def test_a_dataset_of_another_system_is_refused(tmp_path, capsys):
    data = write_synthetic_dataset(tmp_path / "syn", n=4, shards=1)
    argv = ["eval", "cartpole", "--accuracy-only", "--test-set", str(data)]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"ampc eval: error: --test-set {data} is a dataset of system 'synthetic', not 'cartpole'"
    )
    assert not (tmp_path / "accuracy_cartpole.json").exists()
