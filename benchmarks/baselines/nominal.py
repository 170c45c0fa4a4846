"""Nominal baseline: the AMPC at theta = theta_nom, never changed.

With a fixed episode seed every episode at the same theta is the same episode, so
one episode is the whole curve (the report holds it flat up to any budget). With
fresh episode seeds it runs the full budget.
"""

from __future__ import annotations

from typing import Any

from benchmarks.sweep.config import TrialConfig
from benchmarks.sweep.experiment import Experiment

__all__ = ["run"]


def run(trial: TrialConfig, exp: Experiment) -> dict[str, Any]:
    """Run the nominal theta (option ``episodes``: how many; default see module)."""
    default = 1 if trial.episode_seed == "fixed" else trial.budget
    episodes = int(trial.options.get("episodes", default))
    for _ in range(min(episodes, trial.budget)):
        exp.run(exp.theta_nominal)
    return {}
