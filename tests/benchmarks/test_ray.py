"""A local Ray instance runs the same trials to the same records as local processes."""

from __future__ import annotations

import pytest

from benchmarks.sweep import ResultStore, SweepConfig, run_sweep, without_timing

ray = pytest.importorskip("ray", reason="ray is an optional extra (pip install .[ray])")


def test_ray_gives_the_same_records_as_local_processes(tmp_path):
    config = SweepConfig(
        systems=["cartpole-pump"],
        tuners=["random", "nominal"],
        instances=["hardware-like", "random-3"],
        seeds=[0, 1],
        budgets=[4],
    )
    local, remote = ResultStore(tmp_path / "local"), ResultStore(tmp_path / "ray")
    run_sweep(config.trials(), local, workers=2, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        summary = run_sweep(config.trials(), remote, workers=2, ray_address="local", progress=False)
    finally:
        ray.shutdown()
    assert summary.done == 8 and not summary.errors
    a = {r["trial_id"]: without_timing(r) for r in local.records()}
    b = {r["trial_id"]: without_timing(r) for r in remote.records()}
    assert a == b and len(a) == 8
