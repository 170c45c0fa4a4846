"""Run the pending trials of a sweep on local worker processes or on Ray.

Both executors call the same :func:`benchmarks.sweep.runner.run_trial` on a plain dict
and hand each finished record back to this (driver) process, which writes it
atomically into the results folder: workers never touch the folder, so a Ray
cluster needs no shared file system, and a killed sweep loses only unfinished trials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.sweep.config import TrialConfig, unique
from benchmarks.sweep.storage import ResultStore

__all__ = ["SweepSummary", "run_sweep"]


@dataclass
class SweepSummary:
    """What a call to :func:`run_sweep` did."""

    total: int = 0
    skipped: int = 0
    done: int = 0
    errors: list[str] = field(default_factory=list)


def run_sweep(
    trials: Sequence[TrialConfig],
    store: ResultStore,
    workers: int = 2,
    ray_address: str | None = None,
    versions: dict[str, Any] | None = None,
    progress: bool = True,
) -> SweepSummary:
    """Run every trial that has no ``"done"`` record in ``store``.

    Args:
        trials: The sweep's trials (duplicates are dropped).
        store: Results folder.
        workers: Local worker processes (local executor), or CPUs of a local Ray
            instance started with ``ray_address="local"``.
        ray_address: ``None``: local processes; ``"local"``: start a local Ray
            instance; anything else: ``ray.init(address=...)`` of a running cluster.
        versions: Added to every record (code and library versions).
        progress: Show a progress bar over trials.
    """
    from tqdm import tqdm

    trials = unique(trials)
    status = store.status()
    pending = [t for t in trials if status.get(t.trial_id) != "done"]
    summary = SweepSummary(total=len(trials), skipped=len(trials) - len(pending))
    if not pending:
        return summary
    configs = [t.to_dict() for t in pending]
    run = _ray_results if ray_address is not None else _local_results
    with tqdm(
        total=len(trials), initial=summary.skipped, unit="trial", disable=not progress
    ) as bar:
        for record in run(configs, workers, ray_address):
            if versions:
                record["versions"] = versions
            store.write(record)
            if record["status"] == "done":
                summary.done += 1
            else:
                summary.errors.append(f"{record['name']}: {record['error']}")
                bar.write(f"trial failed: {record['name']}: {record['error']}")
            bar.set_postfix(errors=len(summary.errors))
            bar.update()
    return summary


def _local_results(
    configs: list[dict[str, Any]], workers: int, _address: str | None
) -> Iterator[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from benchmarks.sweep.runner import error_record, run_trial

    # Each trial runs on one core (torch threads set to 1 in run_trial); BLAS and
    # OpenMP pools of the spawned workers follow these variables at their import.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_trial, c): c for c in configs}
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # the worker process died (BrokenProcessPool)
                    yield error_record(futures[future], exc)
        except BaseException:
            # Killed or interrupted: drop queued trials, let running ones be lost.
            for f in futures:
                f.cancel()
            raise


def _ray_results(
    configs: list[dict[str, Any]], workers: int, address: str | None
) -> Iterator[dict[str, Any]]:
    from ampc_agent.ray_cluster import ray_cluster
    from benchmarks.sweep.runner import error_record, run_trial

    with ray_cluster(address, workers) as ray:
        remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)
        refs = {remote.remote(c): c for c in configs}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                yield ray.get(ready[0])
            except Exception as exc:  # the Ray worker died or the task was lost
                yield error_record(refs[ready[0]], exc)
