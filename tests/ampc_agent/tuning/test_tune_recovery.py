"""``ampc tune`` survives what users do to it: real processes, real signals, real files.

Every interrupted study is resumed with the same command and compared with one
uninterrupted run: the same records, tuner state, best theta, plot (byte for byte),
table and TensorBoard scalars.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ampc_agent.cli import main
from ampc_agent.systems import get_system

AMPC = str(Path(sys.executable).with_name("ampc"))
EPISODES = 8

# Runs `ampc tune` and SIGKILLs itself right after the n-th write of one file: a kill at
# an exact point between two writes, which no timing could hit reliably.
KILL_AFTER_WRITE = """
import os, signal, sys
from pathlib import Path
import ampc_agent.io as io
name, count, writes, real = sys.argv[1], int(sys.argv[2]), [], io.atomic_write_bytes
def write(path, data):
    real(path, data)
    if Path(path).name == name:
        writes.append(path)
        if len(writes) == count:
            os.kill(os.getpid(), signal.SIGKILL)
io.atomic_write_bytes = write
from ampc_agent.cli import main
sys.exit(main(sys.argv[3:]))
"""


def argv(tmp_path: Path, study: str, episodes: int = EPISODES, *extra: str) -> list[str]:
    return [
        "tune", "cartpole", "--tuner", "cmaes", "--episodes", str(episodes),
        "--study", str(tmp_path / study), "--logdir", str(tmp_path / "runs"), "--no-animation",
        *extra,
    ]  # fmt: skip


def table(out: str) -> str:
    """The result tables of ``ampc tune``'s output (without the paths below them)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "cartpole on hardware-like" in line)
    end = next(i for i, line in enumerate(lines) if line.startswith("study:"))
    return "\n".join(lines[start:end])


def scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def study_files(folder: Path) -> dict[str, object]:
    return {
        "records": json.loads((folder / "episodes.json").read_text()),
        "tuner": json.loads((folder / "tuner" / "tuner_state.json").read_text()),
        "best": json.loads((folder / "best_theta.json").read_text()),
        "plot": (folder / "returns.png").read_bytes(),
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One uninterrupted run: its study files, TensorBoard scalars and table."""
    root = tmp_path_factory.mktemp("reference")
    capture = root / "out.txt"
    # In a child process, as every run below, and with its output kept.
    with capture.open("w") as out:
        done = subprocess.run([AMPC, *argv(root, "study")], stdout=out, stderr=subprocess.DEVNULL)
    assert done.returncode == 0
    return {
        **study_files(root / "study"),
        "scalars": scalars(root / "runs" / "study"),
        "table": table(capture.read_text()),
    }


def resume_and_compare(tmp_path, capsys, reference, study="study"):
    assert main(argv(tmp_path, study)) == 0
    out = capsys.readouterr().out
    assert study_files(tmp_path / study) == {
        k: reference[k] for k in ("records", "tuner", "best", "plot")
    }
    assert scalars(tmp_path / "runs" / study) == reference["scalars"]
    assert table(out) == reference["table"]
    return out


@pytest.mark.parametrize(
    ("file", "records", "told", "logged"),
    [("episodes.json", 4, 3, 3), ("tuner_state.json", 4, 4, 3)],
    ids=["after-the-record", "after-the-tuner-state"],
)
def test_a_kill_at_each_write_point_resumes_to_the_uninterrupted_run(
    tmp_path, capsys, reference, file, records, told, logged
):
    killed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_WRITE, file, "4", *argv(tmp_path, "study")],
        capture_output=True,
    )
    assert killed.returncode == -signal.SIGKILL
    study = tmp_path / "study"
    assert len(json.loads((study / "episodes.json").read_text())) == records
    assert (
        len(json.loads((study / "tuner" / "tuner_state.json").read_text())["history"]["X"]) == told
    )
    assert [s for s, _ in scalars(tmp_path / "runs" / "study")["episode/return"]] == list(
        range(logged)
    )
    out = resume_and_compare(tmp_path, capsys, reference)
    assert f"resuming {study}: 4 of {EPISODES} episodes done" in out


def test_a_lost_last_record_is_run_again_and_the_study_ends_as_the_uninterrupted_one(
    tmp_path, capsys, reference
):
    assert main(argv(tmp_path, "study")) == 0
    path = tmp_path / "study" / "episodes.json"
    path.write_text(json.dumps(json.loads(path.read_text())[:-1]))
    out = resume_and_compare(tmp_path, capsys, reference)
    assert (
        f"the tuner state held {EPISODES} episodes but {path} {EPISODES - 1}: rebuilt the tuner "
        "from the records" in " ".join(out.split())
    )


def test_fewer_episodes_than_done_says_so_and_runs_nothing(tmp_path, capsys, reference):
    assert main(argv(tmp_path, "study")) == 0
    capsys.readouterr()
    assert main(argv(tmp_path, "study", 5)) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        f"{tmp_path / 'study'} already holds {EPISODES} episodes, --episodes 5 asks for no more: "
        "nothing to run (a larger --episodes extends the study)" in out
    )
    assert f"cmaes, {EPISODES} episodes" in out
    assert study_files(tmp_path / "study")["records"] == reference["records"]


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def recorded(study: Path) -> int:
    try:
        return len(json.loads((study / "episodes.json").read_text()))
    except (FileNotFoundError, json.JSONDecodeError):
        return 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_after_the_episode_in_flight_and_the_rerun_resumes(
    tmp_path, capsys, reference, signum
):
    study = tmp_path / "study"
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as o, err.open("w") as e:
        proc = subprocess.Popen([AMPC, *argv(tmp_path, "study")], stdout=o, stderr=e)
        try:
            wait_for(lambda: recorded(study) >= 1 or proc.poll() is not None, "an episode")
            # Frozen while the signal arrives: it lands wherever the run is, and the run
            # cannot finish its episodes before it.
            os.kill(proc.pid, signal.SIGSTOP)
            os.kill(proc.pid, signum)
            os.kill(proc.pid, signal.SIGCONT)
            assert proc.wait(timeout=120) == 128 + signum
        finally:
            proc.kill()
    done = recorded(study)
    assert 1 <= done < EPISODES
    assert (
        f"ampc tune: stopping after the episode in flight is recorded (again to stop now); "
        f"rerun the same command to resume {study}"
    ) in err.read_text().replace("\r", "\n").splitlines()
    assert " ".join(out.read_text().split()).endswith(
        f"interrupted: {study} holds {done} of {EPISODES} episodes; rerun the same command to "
        "resume"
    )
    state = json.loads((study / "tuner" / "tuner_state.json").read_text())
    assert len(state["history"]["X"]) == done
    resume_and_compare(tmp_path, capsys, reference)


def test_a_second_run_on_a_study_in_use_is_refused_and_the_first_finishes(
    tmp_path, capsys, reference
):
    study = tmp_path / "study"
    proc = subprocess.Popen(
        [AMPC, *argv(tmp_path, "study")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: recorded(study) >= 1 or proc.poll() is not None, "the first episode")
        os.kill(proc.pid, signal.SIGSTOP)  # holds the lock, mid-run, for as long as we look
        assert main(argv(tmp_path, "study")) == 1
        command = " ".join(["ampc", *argv(tmp_path, "study")])
        assert capsys.readouterr().err == (
            f"ampc tune: error: study {study} is in use by process {proc.pid} ({command}); wait "
            "for it to end or use another study\n"
        )
        os.kill(proc.pid, signal.SIGCONT)
        assert proc.wait(timeout=120) == 0
    finally:
        proc.kill()
    assert study_files(study) == {k: reference[k] for k in ("records", "tuner", "best", "plot")}
    assert scalars(tmp_path / "runs" / "study") == reference["scalars"]


@pytest.fixture()
def other_policy(tmp_path):
    """The shipped AMPC with one weight changed in its last bit: other weights, same shape."""
    folder = tmp_path / "policy"
    shutil.copytree(get_system("cartpole").weights, folder)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-4] ^= 1  # the lowest mantissa bit of the last float32
    weights.write_bytes(bytes(data))
    return folder


def test_resuming_with_another_episode_seed_mode_or_policy_is_refused(
    tmp_path, capsys, other_policy
):
    assert main(argv(tmp_path, "study", 1)) == 0
    capsys.readouterr()
    before = snapshot(tmp_path)
    study = tmp_path / "study"
    hint = "rerun with the study's own options to resume it, or pass another --study to start a new one"
    assert main(argv(tmp_path, "study", 2, "--episode-seed", "fresh")) == 2
    assert capsys.readouterr().err == (
        f"ampc tune: error: study {study} was made with episode_seed 'fixed', not 'fresh' "
        f"(--episode-seed): {hint}\n"
    )
    assert main(argv(tmp_path, "study", 2, "--policy", str(other_policy))) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ampc tune: error: study {study} was made with policy '")
    assert err.endswith(f"(--policy; the weights' fingerprint): {hint}\n")
    assert snapshot(tmp_path) == before


def test_another_policy_or_episode_seed_mode_gets_its_own_default_study(
    tmp_path, capsys, monkeypatch, other_policy
):
    from ampc_agent.tuning.study import weights_fingerprint

    monkeypatch.chdir(tmp_path)
    base = ["tune", "cartpole", "--tuner", "random", "--episodes", "1", "--no-animation"]
    assert main(base) == 0
    assert main([*base, "--episode-seed", "fresh"]) == 0
    assert main([*base, "--policy", str(other_policy)]) == 0
    fingerprint = weights_fingerprint(other_policy)[:8]
    assert sorted(p.name for p in (tmp_path / "studies").iterdir()) == [
        "cartpole-random-hardware-like-seed0",
        "cartpole-random-hardware-like-seed0-fresh",
        f"cartpole-random-hardware-like-seed0-policy{fingerprint}",
    ]


def test_a_study_without_identity_is_adopted_only_if_its_records_fit_the_options(tmp_path, capsys):
    assert main(argv(tmp_path, "study", 2)) == 0
    (tmp_path / "study" / "study.json").unlink()  # as an older ampc tune left it
    capsys.readouterr()
    assert main(argv(tmp_path, "study", 3, "--episode-seed", "fresh")) == 2
    assert capsys.readouterr().err == (
        f"ampc tune: error: {tmp_path / 'study' / 'episodes.json'}: episode 1 ran with episode "
        "seed 0, but this study's options give 1\n"
    )
    assert main(argv(tmp_path, "study", 3)) == 0
    assert f"{tmp_path / 'study'}: no study.json (an older study): adopting it" in (
        capsys.readouterr().out
    )
    assert json.loads((tmp_path / "study" / "study.json").read_text())["episode_seed"] == "fixed"
