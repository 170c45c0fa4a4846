"""Sweeps are resumable, deterministic and survive failing trials (real trials, no mocks).

The trials use the ``cartpole-pump`` system (MuJoCo cart-pole with a two-gain
energy-pump controller, no weights needed) and the random-search tuner, with budgets
of a few episodes, so the whole file runs in well under a minute on two cores.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from benchmarks.report import write_report
from benchmarks.sweep import ResultStore, SweepConfig, TrialConfig, run_sweep, without_timing
from benchmarks.sweep.config import load_sweep_config, parse_seeds, resolve_instance
from benchmarks.sweep.runner import run_trial

ROOT = Path(__file__).resolve().parents[2]


def comparable(store: ResultStore) -> dict[str, dict]:
    return {r["trial_id"]: without_timing(r) for r in store.records(status=None)}


def test_trial_id_is_a_hash_of_the_whole_config():
    a = TrialConfig("cartpole-pump", "random", "hardware-like", seed=3, budget=5)
    same = TrialConfig("cartpole-pump", "random", "hardware-like", seed=3, budget=5)
    assert a.trial_id == same.trial_id and len(a.trial_id) == 12
    changed = [
        TrialConfig("cartpole-pump", "random", "hardware-like", seed=4, budget=5),
        TrialConfig("cartpole-pump", "random", "hardware-like", seed=3, budget=6),
        TrialConfig("cartpole-pump", "random", "nominal", seed=3, budget=5),
        TrialConfig("cartpole-pump", "cmaes", "hardware-like", seed=3, budget=5),
        TrialConfig("cartpole-pump", "random", "hardware-like", 3, 5, options={"a": 1}),
    ]
    assert len({a.trial_id, *(c.trial_id for c in changed)}) == 6
    assert a.name.endswith(a.trial_id) and a.name.startswith(
        "cartpole-pump-random-hardware-like-s3-b5"
    )


def test_sweep_expands_the_product_and_reads_yaml(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "systems: cartpole-pump\ntuners: [random, nominal]\ninstances: [hardware-like, random-1]\n"
        "seeds: 0-2\nbudgets: [3, 5]\noptions: {random: {}}\n"
    )
    config = load_sweep_config(path, {"seeds": "4", "budgets": None})
    assert config.seeds == [0, 1, 2, 3] and config.budgets == [3, 5]
    assert len(config.trials()) == 1 * 2 * 2 * 4 * 2
    assert parse_seeds("0,3,5-6") == [0, 3, 5, 6] and parse_seeds(3) == [0, 1, 2]
    path.write_text("tuner: random\n")
    with pytest.raises(ValueError, match=r"unknown sweep keys \['tuner'\]"):
        load_sweep_config(path, {})
    with pytest.raises(ValueError, match=r"unknown tuner 'bo'"):
        TrialConfig("cartpole-pump", "bo", "nominal", 0, 5)
    with pytest.raises(ValueError, match=r"unknown system 'segway'"):
        TrialConfig("segway", "random", "nominal", 0, 5)


def test_random_instances_are_drawn_from_the_default_ranges_with_their_seed():
    from ampc_envs.cartpole import CartpoleParams

    a = resolve_instance(CartpoleParams, "random-7", seed=0)
    assert a == resolve_instance(CartpoleParams, "random-7", seed=99)  # same system for all seeds
    assert a == resolve_instance(CartpoleParams, "random", seed=7)  # "random": k = trial seed
    assert a != resolve_instance(CartpoleParams, "random-8", seed=0)
    for name, (low, high) in CartpoleParams.default_ranges.items():
        assert low <= getattr(a, name) <= high


def test_same_seed_same_numbers_and_the_tuner_starts_at_nominal():
    trial = TrialConfig("cartpole-pump", "random", "hardware-like", seed=1, budget=3)
    first, second = run_trial(trial.to_dict()), run_trial(trial.to_dict())
    assert first["status"] == "done", first.get("traceback")
    assert without_timing(first) == without_timing(second)
    nominal = run_trial(TrialConfig("cartpole-pump", "nominal", "hardware-like", 1, 3).to_dict())
    assert nominal["episodes"][0]["theta"] == first["episodes"][0]["theta"] == [3.0, 4.0]
    assert nominal["episodes"][0]["return"] == first["episodes"][0]["return"]
    assert [e["episode_seed"] for e in first["episodes"]] == [1, 1, 1]  # fixed episode seed
    thetas = {tuple(e["theta"]) for e in first["episodes"]}
    assert len(thetas) == 3  # the tuner moved


def test_the_recommended_theta_runs_on_held_out_episodes_disjoint_from_the_tuning_ones():
    from ampc_agent.tuning.env import EpisodeTuningEnv
    from benchmarks.sweep.systems import get_system

    kw = dict(episode_seed="fresh", deploy_episodes=3, deploy_budgets=(2, 4))
    records = {}
    for method in ("random", "turbo", "nominal", "oracle"):
        options = {}
        if method == "oracle":  # 6 episodes, then its best theta 1 more time (validated)
            options = {"episodes": 6, "mpc_reference": False, "validate": 1}
            options["validate_episodes"] = 1
        trial = TrialConfig("cartpole-pump", method, "hardware-like", 4, 5, options=options, **kw)
        first, second = run_trial(trial.to_dict()), run_trial(trial.to_dict())
        assert first["status"] == "done", first.get("traceback")
        assert without_timing(first) == without_timing(second)  # same seed, same numbers
        records[method] = first
    tuning = {e["episode_seed"] for r in records.values() for e in r["episodes"]}
    assert tuning == set(range(4, 11))  # trial seed + episode index (the oracle's 7)
    for method, r in records.items():
        budgets = [d["budget"] for d in r["deployed"]]
        assert budgets == ([7] if method == "oracle" else [2, 4, 5])
        for d in r["deployed"]:
            assert len(d["episode_seeds"]) == 3 and not set(d["episode_seeds"]) & tuning
            assert d["episode_seeds"] == records["random"]["deployed"][0]["episode_seeds"]
            assert d["mean_return"] == pytest.approx(np.mean(d["returns"]))
            assert d["crash_rate"] == pytest.approx(np.mean(d["crashed"]))
    # Random search deploys its best observed theta of the first b episodes.
    for d in records["random"]["deployed"]:
        first = [e for e in records["random"]["episodes"][: d["budget"]] if not e["crashed"]]
        assert d["theta"] == max(first, key=lambda e: e["return"])["theta"]
        assert d["rule"] == "best observed"
    assert {d["rule"] for d in records["turbo"]["deployed"]} == {"best posterior mean"}
    # The held-out numbers are episodes of the theta on the instance, with those seeds.
    d = records["turbo"]["deployed"][-1]
    system = get_system("cartpole-pump")
    env = EpisodeTuningEnv(
        system.env_id, system.make_policy(), instance=records["turbo"]["instance_params"]
    )
    again = [env.run(d["theta"], seed=s)["return"] for s in d["episode_seeds"]]
    assert again == d["returns"]


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(tmp_path):
    store = ResultStore(tmp_path / "results")
    good = [TrialConfig("cartpole-pump", "random", "hardware-like", s, 3) for s in (0, 1)]
    # A non-physical instance: CartpoleParams refuses it inside the worker.
    bad = TrialConfig("cartpole-pump", "random", {"pole_mass": -0.1}, 0, 3)
    summary = run_sweep([good[0], bad, good[1]], store, workers=2, progress=False)
    assert summary.done == 2 and len(summary.errors) == 1
    records = {r["trial_id"]: r for r in store.records(status=None)}
    assert records[bad.trial_id]["status"] == "error"
    assert "CartpoleParams.pole_mass must be > 0" in records[bad.trial_id]["error"]
    assert "Traceback" in records[bad.trial_id]["traceback"]
    assert all(records[t.trial_id]["status"] == "done" for t in good)
    report = write_report(store.root).read_text()
    assert f"`{bad.name}`: ValueError: CartpoleParams.pole_mass must be > 0" in report
    # A rerun skips the finished trials and tries the failed one again.
    again = run_sweep([good[0], bad, good[1]], store, workers=2, progress=False)
    assert again.skipped == 2 and len(again.errors) == 1 and again.done == 0


def test_a_killed_sweep_resumes_to_the_results_of_an_uninterrupted_one(tmp_path):
    sweep = ["--systems", "cartpole-pump", "--tuners", "random", "--seeds", "10"]
    sweep += ["--budgets", "5", "--workers", "2", "--no-report", "--episode-seed", "fresh"]
    sweep += ["--deploy-episodes", "2", "--deploy-budgets", "3"]
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "benchmarks.cli", "sweep", *sweep, "--results", str(killed)]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    try:
        while not list((killed / "trials").glob("*.json")):
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.time() < deadline, "no record appeared within 2 minutes"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker processes
        proc.wait()
    store = ResultStore(killed)
    before = len(store.records(status=None))
    assert 0 < before < 10, f"kill came too late or too early: {before} records"
    for path in (killed / "trials").glob("*.json"):
        json.loads(path.read_text())  # every record on disk is whole

    config = SweepConfig(
        systems=["cartpole-pump"],
        tuners=["random"],
        seeds=list(range(10)),
        budgets=[5],
        episode_seed="fresh",
        deploy_episodes=2,
        deploy_budgets=[3],
    )
    resumed = run_sweep(config.trials(), store, workers=2, progress=False)
    assert resumed.skipped == before and resumed.done == 10 - before
    fresh = ResultStore(tmp_path / "fresh")
    run_sweep(config.trials(), fresh, workers=2, progress=False)
    assert comparable(store) == comparable(fresh)  # re-evaluations included
    assert len(comparable(fresh)) == 10
    assert all(len(r["deployed"]) == 2 for r in comparable(fresh).values())


def test_the_shipped_sweep_configs_load_and_their_trials_validate():
    from benchmarks.sweep.validate import check_trials

    for path in sorted((ROOT / "benchmarks" / "configs").glob("*.yaml")):
        check_trials(load_sweep_config(path, {}).trials())
    wheelbot = load_sweep_config(ROOT / "benchmarks/configs/headline-wheelbot.yaml", {})
    trials = wheelbot.trials()
    assert {t.system for t in trials} == {"wheelbot"}
    assert {t.budget for t in trials} == {20} and {t.seed for t in trials} == set(range(20))
    # 4 tuners + nominal + oracle, x 2 instance settings x 20 seeds; no sysid (no model)
    assert len(trials) == 6 * 2 * 20 and "sysid" not in {t.tuner for t in trials}
