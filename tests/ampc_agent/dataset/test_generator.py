"""Dataset generation: labelled samples, determinism, resuming, parallel backends, CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ampc_agent.cli import main as ampc_main
from ampc_agent.dataset import load_dataset
from ampc_agent.dataset.generator import GeneratorSettings, generate_dataset
from ampc_agent.dataset.storage import shard_path
from ampc_agent.systems.cartpole import CARTPOLE_THETA

REPO = Path(__file__).resolve().parents[3]
TINY = GeneratorSettings(
    system="cartpole",
    samples=12,
    shard_size=4,
    episode_steps=40,
    stride=4,
    trajectory_fraction=0.5,
    seed=3,
)


def same_samples(a, b) -> bool:
    """Equal sample arrays; ``solve_time`` is a measured wall time and never repeats."""
    names = ("x", "u", "du_dtheta", "cost", "sqp_iter", "source")
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in names)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ref")
    generate_dataset(folder, TINY, workers=1, progress=False)
    return folder, load_dataset(folder)


def test_samples_are_labelled_states_with_sensitivities(reference) -> None:
    _, data = reference
    n, p = TINY.samples, CARTPOLE_THETA.dim
    assert data.x.shape == (n, 4) and data.u.shape == (n, 1) and data.du_dtheta.shape == (n, 1, p)
    for a in (data.x, data.u, data.du_dtheta, data.cost, data.solve_time):
        assert np.all(np.isfinite(a))
    assert np.all(np.abs(data.u) <= 10.0 + 1e-9)
    assert np.all((-np.pi < data.x[:, 1]) & (data.x[:, 1] <= np.pi))  # angle stored wrapped
    assert np.all(data.cost >= 0) and np.all(data.sqp_iter >= 0)
    # Half of every shard along closed-loop trajectories (0), half uniform (1).
    assert np.bincount(data.source).tolist() == [6, 6]
    # Where the force is inside its bounds, theta moves it (non-zero sensitivity).
    inside = np.abs(data.u[:, 0]) < 9.9
    assert inside.any() and np.all(np.abs(data.du_dtheta[inside]).max(axis=(1, 2)) > 0)


def test_metadata_describes_the_problem_and_the_run(reference) -> None:
    _, data = reference
    meta = data.metadata
    assert meta["system"] == "cartpole" and meta["complete"] is True
    assert meta["state_names"] == ["x", "theta", "x_dot", "theta_dot"]
    assert meta["input_names"] == ["force"]
    assert meta["theta_names"] == list(CARTPOLE_THETA.names)
    assert meta["theta_nominal"] == list(CARTPOLE_THETA.nominal)
    assert meta["theta_lower"] == list(CARTPOLE_THETA.lower)
    assert meta["theta_upper"] == list(CARTPOLE_THETA.upper)
    assert meta["input_lower"] == [-10.0] and meta["input_upper"] == [10.0]
    assert meta["generator"]["seed"] == 3 and meta["generator"]["samples"] == 12
    counts = meta["counts"]
    attempted = counts["attempted_trajectory"] + counts["attempted_uniform"]
    discarded = sum(v for k, v in counts.items() if k.startswith("discarded_"))
    assert attempted - discarded == TINY.samples
    assert counts["episodes"] >= TINY.num_shards


def test_same_seed_gives_the_same_dataset_and_another_seed_another(reference, tmp_path) -> None:
    _, data = reference
    generate_dataset(tmp_path / "same", TINY, progress=False)
    assert same_samples(load_dataset(tmp_path / "same"), data)
    other = GeneratorSettings(**{**TINY.__dict__, "seed": 4})
    generate_dataset(tmp_path / "other", other, progress=False)
    assert not np.array_equal(load_dataset(tmp_path / "other").x, data.x)


def test_resume_computes_only_missing_shards(reference, tmp_path) -> None:
    folder, data = reference
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in folder.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    shard_path(copy, 1).unlink()
    meta = generate_dataset(copy, TINY, progress=False)
    assert meta["runs"][-1]["shards_computed"] == 1
    assert same_samples(load_dataset(copy), data)


def test_folder_with_other_settings_is_refused(reference) -> None:
    folder, _ = reference
    other = GeneratorSettings(**{**TINY.__dict__, "stride": 5})
    with pytest.raises(ValueError, match=r"holds a dataset generated with other settings"):
        generate_dataset(folder, other, progress=False)


def test_killed_cli_run_resumes_without_duplicates(reference, tmp_path) -> None:
    _, data = reference
    out = tmp_path / "killed"
    args = [
        "dataset",
        "cartpole",
        "--samples",
        "12",
        "--shard-size",
        "4",
        "--episode-steps",
        "40",
        "--stride",
        "4",
        "--trajectory-fraction",
        "0.5",
        "--seed",
        "3",
        "--out",
        str(out),
        "--no-progress",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "ampc_agent.cli", *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 240
    while not shard_path(out, 0).exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # the process and its workers
    proc.wait()
    on_disk = sorted(out.glob("shard-*.npz"))
    assert 1 <= len(on_disk) < TINY.num_shards
    assert ampc_main(args) == 0  # the same command resumes
    assert len(list(out.glob("shard-*.npz"))) == TINY.num_shards
    resumed = load_dataset(out)
    assert same_samples(resumed, data)
    assert len(np.unique(resumed.x, axis=0)) == TINY.samples


def test_local_worker_processes_give_the_same_dataset(reference, tmp_path) -> None:
    _, data = reference
    meta = generate_dataset(tmp_path / "par", TINY, workers=2, progress=False)
    assert meta["runs"][-1]["backend"] == "processes"
    assert same_samples(load_dataset(tmp_path / "par"), data)


def test_ray_workers_give_the_same_dataset(reference, tmp_path) -> None:
    pytest.importorskip("ray")
    _, data = reference
    meta = generate_dataset(tmp_path / "ray", TINY, workers=2, ray_address="local", progress=False)
    assert meta["runs"][-1]["backend"] == "ray"
    assert same_samples(load_dataset(tmp_path / "ray"), data)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("samples", 0, r"samples must be a positive integer"),
        ("trajectory_fraction", 1.5, r"trajectory_fraction must be in \[0, 1\]"),
        ("system", "rocket", r"unknown system 'rocket'"),
        (
            "trajectory_labels",
            "mpc",
            r"trajectory_labels must be one of \['best', 'closed_loop'\], got 'mpc'",
        ),
    ],
)
def test_bad_settings_are_rejected(field, value, message) -> None:
    with pytest.raises(ValueError, match=message):
        GeneratorSettings(**{**TINY.__dict__, field: value})


@pytest.fixture(scope="module")
def secant(tmp_path_factory):
    settings = GeneratorSettings(**{**TINY.__dict__, "samples": 6, "secant_perturbations": 12})
    folder = tmp_path_factory.mktemp("secant")
    generate_dataset(folder, settings, workers=1, progress=False)
    return settings, load_dataset(folder)


def test_secant_labels_are_direct_re_solves_from_the_nominal_solution(secant, mpc) -> None:
    from ampc_agent.dataset.labels import label_state

    settings, data = secant
    n, k, p = settings.samples, settings.secant_perturbations, CARTPOLE_THETA.dim
    assert data.secant_dtheta.shape == (n, k, p) and data.secant_du.shape == (n, k, 1)
    assert data.du_secant.shape == (n, 1, p)
    thetas = CARTPOLE_THETA.nominal_array + data.secant_dtheta
    assert np.all(thetas >= CARTPOLE_THETA.lower_array - 1e-12)
    assert np.all(thetas <= CARTPOLE_THETA.upper_array + 1e-12)
    for i in (0, n - 1):
        sample, outcome = label_state(mpc, data.x[i], include_still=True)
        nominal = sample["solution"]
        for j in range(k):
            if not np.isfinite(data.secant_du[i, j, 0]):
                continue
            sol = mpc.solve(data.x[i], thetas[i, j], init=nominal)
            # The stored change is the finite difference of two full solves (to the
            # solver tolerance; the labels may come from another start of equal cost).
            assert data.secant_du[i, j, 0] == pytest.approx(sol.u0[0] - nominal.u0[0], abs=1e-5)
        ok = np.isfinite(data.secant_du[i, :, 0])
        if ok.sum() < p:  # too few converged re-solves for a slope: none is stored
            assert np.all(np.isnan(data.du_secant[i]))
            continue
        fit, *_ = np.linalg.lstsq(data.secant_dtheta[i, ok], data.secant_du[i, ok], rcond=None)
        np.testing.assert_allclose(data.du_secant[i], fit.T, rtol=1e-9, atol=1e-9)


def test_small_secant_changes_give_the_kkt_sensitivity(tmp_path) -> None:
    settings = GeneratorSettings(
        **{**TINY.__dict__, "samples": 12, "secant_perturbations": 10, "secant_scale": 1e-4}
    )
    generate_dataset(tmp_path, settings, workers=1, progress=False)
    data = load_dataset(tmp_path)
    inside = np.abs(data.u[:, 0]) < 9.5  # away from the force bound: a smooth optimum
    assert inside.any()
    for i in np.flatnonzero(inside):
        kkt, sec = data.du_dtheta[i, 0], data.du_secant[i, 0]
        np.testing.assert_allclose(sec, kkt, rtol=2e-2, atol=2e-2 * np.abs(kkt).max())


def test_a_dataset_grows_by_whole_shards_to_the_same_dataset(reference, tmp_path) -> None:
    _, data = reference
    smaller = GeneratorSettings(**{**TINY.__dict__, "samples": 8})
    generate_dataset(tmp_path, smaller, workers=1, progress=False)
    meta = generate_dataset(tmp_path, TINY, workers=1, progress=False)
    assert meta["runs"][-1]["shards_computed"] == 1
    assert same_samples(load_dataset(tmp_path), data)
    with pytest.raises(ValueError, match="holds a dataset generated with other settings"):
        generate_dataset(tmp_path, GeneratorSettings(**{**TINY.__dict__, "samples": 6}))


def test_closed_loop_labels_are_the_best_labels_where_the_closed_loop_found_them(
    tmp_path,
) -> None:
    """With ``trajectory_labels="closed_loop"`` the trajectory samples are the same
    states, labelled by the closed loop's own solution: never cheaper than the
    best-of-starts label (that is the lowest cost), equal to it where the closed loop
    is on the best branch; the metadata says which labels a dataset holds. (Nominal
    episodes only: with sensor noise the closed loop saw another state and keeps no
    solution to label with.)"""
    base = {**TINY.__dict__, "samples": 8, "randomize_fraction": 0.0}
    generate_dataset(tmp_path / "best", GeneratorSettings(**base), progress=False)
    settings = GeneratorSettings(**{**base, "trajectory_labels": "closed_loop"})
    meta = generate_dataset(tmp_path / "cl", settings, progress=False)
    assert meta["generator"]["trajectory_labels"] == "closed_loop"
    assert meta["labels"].startswith("along trajectories: the closed-loop MPC's solution")
    best, data = load_dataset(tmp_path / "best"), load_dataset(tmp_path / "cl")
    assert "trajectory_labels" not in best.metadata["generator"]  # the default
    traj = data.source == 0
    assert traj.sum() == (best.source == 0).sum() > 0
    np.testing.assert_array_equal(data.x[traj], best.x[traj])
    assert np.all(data.cost[traj] >= best.cost[traj] - 1e-8)
    equal = np.all(np.abs(data.u[traj] - best.u[traj]) < 1e-6, axis=1)
    assert equal.mean() >= 0.5, (data.u[traj], best.u[traj])
    counts = meta["counts"]
    assert counts["closed_loop_labels"] + counts.get("closed_loop_label_fallbacks", 0) == traj.sum()


def test_a_dataset_sampled_differently_is_not_resumed(reference, tmp_path) -> None:
    """The system's sampling (ranges, spread, episode settings) is part of a dataset's
    identity: resuming after it changed in the code would mix two distributions."""
    import json
    import shutil

    folder, _ = reference
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["randomize_ranges"]["cart_mass"] = [0.1, 0.2]
    meta["complete"] = False
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"sampled differently .*randomize_ranges differ"):
        generate_dataset(copy, TINY, progress=False)
