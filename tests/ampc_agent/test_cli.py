"""``ampc``: every bad input ends with one line naming it, exit code 2, and nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ampc_agent.cli import main
from ampc_agent.systems import get_system
from ampc_agent.training.synthetic import write_synthetic_dataset


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def fails(capsys, root: Path, argv: list[str], code: int = 2) -> str:
    """Run ``ampc argv``; check the exit code, one line on stderr, no file changed."""
    before = snapshot(root)
    assert main(argv) == code
    captured = capsys.readouterr()
    assert len(captured.err.splitlines()) == 1, captured.err
    assert snapshot(root) == before
    return captured.err.rstrip("\n")


def test_a_negative_seed_is_refused_before_anything_is_written(tmp_path, capsys):
    err = fails(capsys, tmp_path, ["tune", "cartpole", "--seed", "-1", "--study", f"{tmp_path}/s"])
    assert err == "ampc tune: error: --seed must be >= 0, got -1"


def test_a_missing_policy_folder_is_named(tmp_path, capsys):
    argv = ["tune", "cartpole", "--policy", f"{tmp_path}/nowhere", "--study", f"{tmp_path}/s"]
    assert (
        fails(capsys, tmp_path, argv) == f"ampc tune: error: no AMPC weights at {tmp_path}/nowhere"
    )


def test_a_broken_policy_metadata_file_is_named(tmp_path, capsys):
    policy = tmp_path / "policy"
    shutil.copytree(get_system("cartpole").weights, policy)
    (policy / "metadata.json").write_text('{"format": ')
    argv = ["tune", "cartpole", "--policy", str(policy), "--study", f"{tmp_path}/s"]
    assert fails(capsys, tmp_path, argv) == (
        f"ampc tune: error: {policy}/metadata.json is not valid JSON (Expecting value at line 1)"
    )


def test_a_truncated_tuner_state_is_named(tmp_path, capsys):
    study = tmp_path / "s"
    argv = ["tune", "cartpole", "--tuner", "random", "--episodes", "1", "--study", str(study)]
    argv += ["--logdir", str(tmp_path / "runs")]
    assert main(argv) == 0
    capsys.readouterr()
    (study / "tuner" / "tuner_state.json").write_text("{")
    assert fails(capsys, tmp_path, [*argv[:5], "2", *argv[6:]]) == (
        f"ampc tune: error: {study}/tuner/tuner_state.json is not valid JSON "
        "(Expecting property name enclosed in double quotes at line 1)"
    )


def test_train_on_a_missing_dataset_folder_is_named(tmp_path, capsys):
    argv = ["train", "cartpole", "--dataset", f"{tmp_path}/data", "--out", f"{tmp_path}/out"]
    assert fails(capsys, tmp_path, argv) == (
        f"ampc train: error: no dataset at {tmp_path}/data: {tmp_path}/data/metadata.json does "
        "not exist"
    )


def test_train_refuses_a_dataset_too_small_for_its_splits(tmp_path, capsys):
    data = write_synthetic_dataset(tmp_path / "data", n=4, shards=1)
    argv = ["train", "synthetic", "--dataset", str(data), "--out", f"{tmp_path}/out"]
    assert fails(capsys, tmp_path, argv) == (
        f"ampc train: error: dataset {data} gives 4 samples, too few for a test set of "
        "--test-size 3000 and a training split of at least --batch-size 512 (validation share "
        "0.1): it needs at least 6000"
    )
    argv += ["--val-fraction", "1.5"]
    assert fails(capsys, tmp_path, argv) == (
        "ampc train: error: --val-fraction must be between 0 and 1, got 1.5"
    )


def test_a_dataset_of_another_system_is_refused(tmp_path, capsys):
    data = write_synthetic_dataset(tmp_path / "data", n=4, shards=1)
    meta = json.loads((data / "metadata.json").read_text())
    argv = ["train", "cartpole", "--dataset", str(data), "--out", f"{tmp_path}/out"]
    assert fails(capsys, tmp_path, argv) == (
        f"ampc train: error: dataset {data} is for system {meta['system']!r}, not 'cartpole'"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dataset", "cartpole", "--samples", "0"], "samples must be a positive integer, got 0"),
    ],
)
def test_dataset_bad_settings_are_one_line(tmp_path, capsys, argv, message):
    assert fails(capsys, tmp_path, [*argv, "--out", f"{tmp_path}/d"]) == (
        f"ampc {argv[0]}: error: {message}"
    )
