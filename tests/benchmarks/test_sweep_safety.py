"""``ampc-bench`` with real processes and signals: no orphans, one sweep per results
folder, a clean stop on SIGTERM, and one line for every bad input.

Sweeps run the ``cartpole-pump`` system (MuJoCo, no weights) with random search and
budgets of a few episodes.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from benchmarks.cli import main
from benchmarks.sweep import ResultStore, SweepConfig, run_sweep

ROOT = Path(__file__).resolve().parents[2]
BENCH = str(Path(sys.executable).with_name("ampc-bench"))
SWEEP = ["--systems", "cartpole-pump", "--tuners", "random", "--budgets", "3", "--no-report"]


def group_alive(pgid: int) -> list[int]:
    """PIDs of the live (not zombie) processes in process group ``pgid``."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def records(results: Path) -> int:
    return len(list((results / "trials").glob("*.json")))


def start(args: list[str], **kwargs) -> subprocess.Popen:
    kwargs.setdefault("stdout", subprocess.DEVNULL)
    kwargs.setdefault("stderr", subprocess.DEVNULL)
    # A session of its own: its process group holds the driver and all it started.
    return subprocess.Popen([BENCH, *args], cwd=ROOT, start_new_session=True, **kwargs)


def test_sigkill_of_the_sweep_driver_leaves_no_worker_alive(tmp_path):
    results = tmp_path / "results"
    proc = start(["sweep", *SWEEP, "--seeds", "20", "--workers", "2", "--results", str(results)])
    try:
        wait_for(lambda: records(results) >= 1 or proc.poll() is not None, "a first record")
        helpers = [p for p in group_alive(proc.pid) if p != proc.pid]
        assert len(helpers) >= 2, "the workers should be running"  # 2 workers + tracker
        os.kill(proc.pid, signal.SIGKILL)  # the driver only, as a crash or the OOM killer
        proc.wait()
        wait_for(lambda: not group_alive(proc.pid), "the workers to die", timeout=10)
    finally:
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)


def test_sigterm_stops_the_sweep_once_running_trials_are_recorded(tmp_path):
    results = tmp_path / "results"
    out = tmp_path / "out.txt"
    argv = ["sweep", *SWEEP, "--seeds", "12", "--workers", "2", "--results", str(results)]
    with out.open("w") as o:
        proc = start(argv, stdout=o)
        try:
            wait_for(lambda: records(results) >= 1 or proc.poll() is not None, "a first record")
            os.kill(proc.pid, signal.SIGTERM)
            assert proc.wait(timeout=120) == 143
            wait_for(lambda: not group_alive(proc.pid), "the workers to end", timeout=10)
        finally:
            if group_alive(proc.pid):
                os.killpg(proc.pid, signal.SIGKILL)
    done = records(results)
    assert 1 <= done < 12
    assert out.read_text().splitlines()[-1] == (
        f"stopped: {12 - done} trials not run; rerun the same command to resume the sweep in "
        f"{results}"
    )
    for path in (results / "trials").glob("*.json"):
        assert json.loads(path.read_text())["status"] == "done"  # finished, not cut short
    config = SweepConfig(systems=["cartpole-pump"], tuners=["random"], seeds=list(range(12)))
    config.budgets = [3]
    resumed = run_sweep(config.trials(), ResultStore(results), workers=2, progress=False)
    assert resumed.skipped == done and resumed.done == 12 - done


def test_a_second_sweep_into_a_results_folder_in_use_is_refused(tmp_path, capsys):
    results = tmp_path / "results"
    argv = ["sweep", *SWEEP, "--seeds", "4", "--workers", "2", "--results", str(results)]
    proc = start(argv)
    try:
        wait_for(lambda: (results / ".lock").is_file() and (results / ".lock").read_text(), "lock")
        os.kill(proc.pid, signal.SIGSTOP)  # holds the lock for as long as we look
        assert main(argv) == 1
        assert capsys.readouterr().err == (
            f"ampc-bench sweep: error: results folder {results} is in use by process "
            f"{proc.pid} ({' '.join(['ampc-bench', *argv])}); wait for it to end or use "
            "another results folder\n"
        )
        os.kill(proc.pid, signal.SIGCONT)
        assert proc.wait(timeout=120) == 0
    finally:
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
    assert records(results) == 4
    assert all(r["status"] == "done" for r in ResultStore(results).records(status=None))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def fails(capsys, root: Path, argv: list[str]) -> str:
    before = snapshot(root)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert snapshot(root) == before
    return err.rstrip("\n")


PUMP = ["--systems", "cartpole-pump", "--tuners", "random"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "3-a"], "seeds must be a count (5), a range (0-19), a list (0,3,7) or a "
         "YAML list of non-negative integers, got '3-a'"),
        (["--seeds", "2", "--workers", "0"], "--workers must be >= 1, got 0"),
        (["--instances", "../../../../escaped2"], "instance '../../../../escaped2' is not a safe "
         "name (letters, digits, '_', '.', '-', starting with a letter or digit, no '..')"),
        (["--instances", "lab"], "instance 'lab' of system 'cartpole-pump': unknown "
         "CartpoleParams instance 'lab'; valid names: nominal, hardware-like"),
        (["--option", "random.sigma=2"], "random on system 'cartpole-pump': unknown option(s) "
         "for RandomSearchTuner: ['sigma']; valid options are ['crash_value']"),
        (["--option", "oracle.episodes=0"], "oracle on system 'cartpole-pump': option episodes "
         "must be an integer >= 1, got 0"),
        (["--option", "bo.x=0"], "--option bo.x: unknown tuner 'bo'"),
        (["--config", "missing.yaml"], "config file missing.yaml does not exist"),
    ],
)  # fmt: skip
def test_bad_sweep_input_is_one_line_before_any_trial(tmp_path, capsys, args, message):
    tuners = ["--tuners", "oracle"] if "oracle" in " ".join(args) else []
    argv = ["sweep", *PUMP, *tuners, *args, "--results", str(tmp_path / "r")]
    assert fails(capsys, tmp_path, argv) == f"ampc-bench sweep: error: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("systems: [cartpole-pump\n", "is not valid YAML (expected ',' or ']', but got "
         "'<stream end>' at line 2, column 1)"),
        ("tuners: [bo]\n", "unknown tuner 'bo'; valid: ['turbo', 'gibo', 'random', 'cmaes', "
         "'nominal', 'sysid', 'oracle']"),
        ("tuner: random\n", "unknown sweep keys ['tuner']; valid: ['bounds', 'budgets', "
         "'deploy_budgets', 'deploy_episodes', 'episode_seed', 'instances', 'options', "
         "'seeds', 'systems', 'tuners']"),
        ("options: {bo: {x: 1}}\n", "options for unknown tuner(s) ['bo']; valid: ['turbo', "
         "'gibo', 'random', 'cmaes', 'nominal', 'sysid', 'oracle']"),
        ("seeds: [0, -1]\n", "seeds must be a count (5), a range (0-19), a list (0,3,7) or a "
         "YAML list of non-negative integers, got [0, -1]"),
        ("budgets: [0]\n", "budget must be a positive integer, got 0"),
        ("instances: [{cart_mass: '0.4'}]\n", "instance {'cart_mass': '0.4'} of system "
         "'cartpole-pump': CartpoleParams.cart_mass must be a real number, got '0.4'"),
    ],
)  # fmt: skip
def test_bad_config_files_are_one_line_naming_what_is_wrong(tmp_path, capsys, text, message):
    config = tmp_path / "sweep.yaml"
    config.write_text("systems: [cartpole-pump]\n" * ("systems" not in text) + text)
    argv = ["sweep", "--config", str(config), "--results", str(tmp_path / "r")]
    err = fails(capsys, tmp_path, argv)
    assert err.startswith("ampc-bench sweep: error: ") and err.endswith(message)


def test_an_archived_record_with_an_unsafe_name_is_refused(tmp_path, capsys):
    results = tmp_path / "deep" / "results"
    results.mkdir(parents=True)
    record = {"name": "../../../x", "trial_id": "0", "status": "done",
              "config": {"system": "cartpole-pump", "tuner": "random", "instance": "nominal"}}  # fmt: skip
    data = json.dumps(record).encode()
    with tarfile.open(results / "trials.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("trials/x.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    for command in ("report", "tensorboard"):
        assert fails(capsys, tmp_path, [command, str(results)]) == (
            f"ampc-bench {command}: error: {results}/trials.tar.gz:trials/x.json: name "
            "'../../../x' is not a safe name (letters, digits, '_', '.', '-', starting with a "
            "letter or digit, no '..')"
        )


def test_dry_run_into_a_closed_pipe_ends_quietly(tmp_path):
    proc = subprocess.Popen(
        [BENCH, "sweep", *PUMP, "--seeds", "20", "--dry-run", "--results", str(tmp_path / "r")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before a line is written (`| head -0`)
    assert proc.wait(timeout=120) == 141
    assert proc.stderr.read() == b""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_tensorboard_ends_with_its_parent(tmp_path, signum):
    results = tmp_path / "results"
    results.mkdir()
    port = free_port()
    proc = start(["tensorboard", str(results), "--port", str(port)])
    try:
        wait_for(lambda: listening(port) or proc.poll() is not None, "TensorBoard to listen")
        assert listening(port), "TensorBoard did not start"
        os.kill(proc.pid, signum)  # the parent only
        code = proc.wait(timeout=60)
        assert code == (143 if signum == signal.SIGTERM else -signal.SIGKILL)
        wait_for(lambda: not group_alive(proc.pid), "TensorBoard to end", timeout=15)
        assert not listening(port)
    finally:
        if group_alive(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
