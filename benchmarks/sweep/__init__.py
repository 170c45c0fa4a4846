"""Sweeps of trials: system x tuner x instance x seed x budget, safe and resumable.

>>> from benchmarks.sweep import SweepConfig, ResultStore, run_sweep
>>> sweep = SweepConfig(systems=["cartpole-pump"], tuners=["random"], seeds=[0, 1], budgets=[5])
>>> run_sweep(sweep.trials(), ResultStore("results/smoke"), workers=2)  # doctest: +SKIP
"""

from benchmarks.sweep.config import (
    BASELINES,
    METHODS,
    TUNERS,
    SweepConfig,
    TrialConfig,
    load_sweep_config,
)
from benchmarks.sweep.executors import SweepSummary, run_sweep
from benchmarks.sweep.storage import ResultStore, code_versions, without_timing
from benchmarks.sweep.systems import SYSTEMS_OFFERED, SweepSystem

__all__ = [
    "BASELINES",
    "METHODS",
    "SYSTEMS_OFFERED",
    "TUNERS",
    "ResultStore",
    "SweepConfig",
    "SweepSummary",
    "SweepSystem",
    "TrialConfig",
    "code_versions",
    "load_sweep_config",
    "run_sweep",
    "without_timing",
]
