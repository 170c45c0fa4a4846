"""The harness runs the real shipped AMPC: a tuner, the nominal and the sysid baseline."""

from __future__ import annotations

import numpy as np

from benchmarks.sweep import TrialConfig
from benchmarks.sweep.runner import run_trial


def test_shipped_ampc_trials_run_on_the_hardware_like_cartpole():
    records = {
        tuner: run_trial(
            TrialConfig("cartpole", tuner, "hardware-like", seed=0, budget=3).to_dict()
        )
        for tuner in ("random", "nominal", "sysid")
    }
    for tuner, r in records.items():
        assert r["status"] == "done", f"{tuner}: {r.get('traceback')}"
    random, nominal, sysid = records["random"], records["nominal"], records["sysid"]
    assert len(random["episodes"]) == 3 and len(nominal["episodes"]) == 1
    assert random["episodes"][0]["return"] == nominal["episodes"][0]["return"]  # starts at nominal
    assert random["theta_names"] == nominal["theta_names"]
    # sysid: identified from the nominal episode, delay of hardware-like found, theta in bounds.
    fit = sysid["extra"]["fits"][0]
    assert fit["delay"] == 1
    theta = np.array(fit["theta"])
    assert np.all(theta >= sysid["tuning_lower"]) and np.all(theta <= sysid["tuning_upper"])
    assert sysid["episodes"][1]["theta"] == fit["theta"]
