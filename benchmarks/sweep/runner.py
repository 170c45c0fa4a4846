"""Run one trial from its configuration to its record (in any worker process).

:func:`run_trial` takes and returns plain dicts, so the same function runs in a local
process pool and as a Ray task. It never raises: an exception inside the trial becomes
a record with ``"status": "error"``, the error and its traceback.
"""

from __future__ import annotations

import datetime as _dt
import os
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

from ampc_agent.tuning.loop import tuning_loop
from benchmarks.sweep.config import TUNERS, TrialConfig
from benchmarks.sweep.experiment import Experiment

__all__ = ["error_record", "run_trial", "run_tuner"]


def run_tuner(trial: TrialConfig, exp: Experiment) -> dict[str, Any]:
    """The tuner loop: ask theta, run one episode, tell the return and crash flag.

    The tuner starts at the nominal theta (``x0``), so episode 0 of every tuner is the
    nominal AMPC. Seed of the tuner = trial seed. The tuner searches the free entries
    of theta (``upper > lower`` in the tuning box); fixed entries stay at their value.
    After each episode count in ``trial.deploy_at`` the tuner's recommended theta runs
    on the held-out episodes (:meth:`Experiment.deploy`); the tuner never sees them.
    """
    tuner = exp.box.make_tuner(trial.tuner, seed=trial.seed, **trial.options)
    deploy_at = set(trial.deploy_at)

    def annotate(step: dict[str, Any]) -> None:
        step["outcome"]["tuner_time"] = step["tuner_time"]
        step["outcome"]["internals"] = step["internals"]  # finite floats (tuning_loop)
        if len(exp.episodes) in deploy_at:
            start = time.perf_counter()
            theta = exp.full_theta(tuner.recommend())
            step["outcome"]["recommend_time"] = time.perf_counter() - start
            exp.deploy(theta, tuner.recommendation_rule)

    tuning_loop(tuner, exp.run, trial.budget, full=exp.full_theta, after_tell=annotate)
    if all(e["crashed"] for e in exp.episodes):
        return {"tuner_best": None}  # best() refuses: no feasible episode yet
    best_theta, best_value = tuner.best()
    full = exp.full_theta(best_theta)
    return {"tuner_best": {"theta": [float(t) for t in full], "return": float(best_value)}}


def _methods() -> dict[str, Callable[[TrialConfig, Experiment], dict[str, Any]]]:
    from benchmarks.baselines import nominal, oracle, sysid

    methods: dict[str, Callable[[TrialConfig, Experiment], dict[str, Any]]] = dict.fromkeys(
        TUNERS, run_tuner
    )
    methods.update(nominal=nominal.run, sysid=sysid.run, oracle=oracle.run)
    return methods


def run_trial(config: dict[str, Any]) -> dict[str, Any]:
    """Run the trial described by ``config`` (a :meth:`TrialConfig.to_dict`).

    Returns:
        The record: ``trial_id``, ``name``, ``config``, ``status`` (``"done"`` or
        ``"error"``), ``instance_params``, ``theta_names``, ``theta_nominal``,
        ``tuning_lower``/``upper``, ``episodes`` (theta, return, crashed, length,
        episode seed, wall time and tuner internals per episode), ``deployed`` (the
        recommended theta after each budget of ``deploy_at`` on the held-out episodes,
        see :meth:`Experiment.deploy`), ``totals``,
        ``extra`` (method-specific), ``error``/``traceback`` on failure, ``host``,
        ``worker``, ``started``, ``finished``, ``wall_time``.
    """
    trial = TrialConfig.from_dict(config)
    record: dict[str, Any] = {
        "trial_id": trial.trial_id,
        "name": trial.name,
        "config": trial.to_dict(),
        "status": "running",
        "host": socket.gethostname(),
        "worker": os.getpid(),
        "started": _now(),
    }
    start = time.perf_counter()
    exp = None
    try:
        _one_thread()
        exp = Experiment(trial)
        record.update(
            instance_params=exp.params,
            theta_names=list(exp.theta_names),
            theta_nominal=exp.theta_nominal.tolist(),
            tuning_lower=exp.lower.tolist(),
            tuning_upper=exp.upper.tolist(),
            free=[n for n, f in zip(exp.theta_names, exp.free, strict=True) if f],
        )
        extra = _methods()[trial.tuner](trial, exp)
        if trial.tuner in ("nominal", "sysid") and trial.deploy_episodes:
            exp.deploy_best_observed(trial.deploy_at)  # (the oracle deploys in its run)
        record.update(
            status="done",
            episodes=exp.episodes,
            deployed=exp.deployed,
            totals=exp.totals(),
            extra=extra,
        )
    except Exception as exc:  # a failing trial must not stop the sweep
        record.update(
            status="error",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
            episodes=exp.episodes if exp is not None else [],
        )
    finally:
        if exp is not None:
            exp.close()
    record["finished"] = _now()
    record["wall_time"] = time.perf_counter() - start
    return record


def error_record(config: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """Record of a trial whose worker failed outside :func:`run_trial` (it died)."""
    trial = TrialConfig.from_dict(config)
    return {
        "trial_id": trial.trial_id,
        "name": trial.name,
        "config": trial.to_dict(),
        "status": "error",
        "error": f"worker failed: {type(exc).__name__}: {exc}",
        "traceback": "".join(traceback.format_exception(exc)),
        "episodes": [],
    }


def _one_thread() -> None:
    # Trials run side by side, one per core: threads inside a trial would only fight.
    # It also keeps torch's reductions in one order, so same seeds give same numbers.
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
