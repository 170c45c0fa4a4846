"""TensorBoard logs of a sweep, written from its records: one run folder per trial.

Each run holds the per-episode scalars of :class:`ampc_agent.tuning.log.TuningLogger`
(return, best so far, crash count, theta, tuner internals) and an HParams summary
(system, tuner, instance, seed, budget as hyperparameters; best-so-far return and
normalised score at the report's budgets, crash rate as metrics), so trials can be
filtered and compared in the HParams tab. The logs are rebuilt from scratch from the
records every time, so a resumed sweep never duplicates events. They are written into
a new folder that then replaces the old one, so two writers (a sweep ending while
``ampc-bench tensorboard`` starts) never mix their files, and a TensorBoard reading the
folder sees the old logs or the new ones.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.report.curves import Baselines, best_so_far, instance_key, normalised
from benchmarks.report.summary import BUDGETS
from benchmarks.sweep.storage import ResultStore

__all__ = ["write_tensorboard", "HPARAMS"]

#: Trial configuration keys shown as hyperparameters.
HPARAMS = ("system", "tuner", "instance", "seed", "budget", "episode_seed")


def _hparams(record: dict[str, Any]) -> dict[str, Any]:
    c = record["config"]
    hp = {k: c[k] for k in HPARAMS}
    if not isinstance(hp["instance"], str):
        hp["instance"] = "custom"
    return hp


def write_tensorboard(
    results: str | Path, budgets: Sequence[int] = BUDGETS, logdir: str | Path | None = None
) -> Path:
    """(Re)write ``<results>/tensorboard/<trial name>/`` for every finished trial.

    Returns:
        The TensorBoard log folder.
    """
    records = ResultStore(results).records("done")  # names checked: they become folders
    final = Path(logdir or Path(results) / "tensorboard")
    final.parent.mkdir(parents=True, exist_ok=True)
    logdir = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}."))
    try:
        os.chmod(logdir, 0o755)  # mkdtemp's folder is private; logs are for everyone
        _write_runs(records, logdir, budgets)
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        for _ in range(3):  # another writer may swap its folder in between: swap again
            with contextlib.suppress(FileNotFoundError):
                os.replace(final, old)
            try:
                os.replace(logdir, final)
                break
            except OSError:
                continue
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(logdir, ignore_errors=True)  # gone if swapped in
    return final


def _write_runs(records: list[dict[str, Any]], logdir: Path, budgets: Sequence[int]) -> None:
    from torch.utils.tensorboard.summary import hparams

    from ampc_agent.tuning.log import TuningLogger

    baselines = Baselines(records)
    domains: dict[str, list[Any]] = {}
    for r in records:
        for k, v in _hparams(r).items():
            if isinstance(v, str) and v not in domains.setdefault(k, []):
                domains[k].append(v)
    for r in records:
        logger = TuningLogger(logdir / r["name"], r["theta_names"], history=r["episodes"])
        length = max(len(r["episodes"]), r["config"]["budget"])
        curve = best_so_far(r["episodes"], length)
        key = instance_key(r)
        score = normalised(curve, baselines.nominal_value(key), baselines.oracle_value(key))
        metrics = {"summary/best_return": float(curve[-1])}
        for b in budgets:
            if b <= length:
                metrics[f"summary/best_at_{b}"] = float(curve[b - 1])
                if np.isfinite(score[b - 1]):
                    metrics[f"summary/score_at_{b}"] = float(score[b - 1])
        metrics["summary/crash_rate"] = float(np.mean([e["crashed"] for e in r["episodes"]]))
        exp, ssi, sei = hparams(
            _hparams(r), metrics, {k: v for k, v in domains.items() if k in HPARAMS}
        )
        for summary in (exp, ssi, sei):
            logger.writer.file_writer.add_summary(summary)
        for k, v in metrics.items():
            logger.writer.add_scalar(k, v)
        logger.close()
