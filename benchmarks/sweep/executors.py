"""Run the pending trials of a sweep on local worker processes or on Ray.

Both executors call the same :func:`benchmarks.sweep.runner.run_trial` on a plain dict
and hand each finished record back to this (driver) process, which writes it
atomically into the results folder: workers never touch the folder, so a Ray
cluster needs no shared file system, and a killed sweep loses only unfinished trials.

Asked to stop (``stop()`` turns true: Ctrl-C or SIGTERM in the driver), the local
executor starts no new trial and records the running ones as they finish; Ray tasks
are cancelled. Local workers die with the driver, even when it is SIGKILLed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
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

    @property
    def not_run(self) -> int:
        """Trials without a record from this call (stopped before they ran)."""
        return self.total - self.skipped - self.done - len(self.errors)


def run_sweep(
    trials: Sequence[TrialConfig],
    store: ResultStore,
    workers: int = 2,
    ray_address: str | None = None,
    versions: dict[str, Any] | None = None,
    progress: bool = True,
    stop: Callable[[], bool] | None = None,
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
        stop: Polled while trials run; once true, no new trial starts (see the module
            docstring) and the call returns what was recorded.
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
        for record in run(configs, workers, ray_address, stop or (lambda: False)):
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
    configs: list[dict[str, Any]], workers: int, _address: str | None, stop: Callable[[], bool]
) -> Iterator[dict[str, Any]]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    from ampc_agent.processes import die_with_parent
    from benchmarks.sweep.runner import error_record, run_trial

    # Each trial runs on one core (torch threads set to 1 in run_trial); BLAS and
    # OpenMP pools of the spawned workers follow these variables at their import.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    )
    futures = {pool.submit(run_trial, c): c for c in configs}
    pending = set(futures)
    try:
        while pending:
            # A timeout, so that a stop is seen while trials run, not after the next one.
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if stop():
                for f in pending:
                    f.cancel()  # queued trials never start; running ones finish
            for future in done:
                if future.cancelled():
                    continue
                try:
                    yield future.result()
                except Exception as exc:  # the worker process died (BrokenProcessPool)
                    yield error_record(futures[future], exc)
    except BaseException:
        # Interrupted for good (a second Ctrl-C, an error in the driver): the running
        # trials are lost, not waited for; their workers end now.
        pool.shutdown(wait=False, cancel_futures=True)
        for child in multiprocessing.active_children():
            child.kill()
        raise
    pool.shutdown(wait=True)


def _ray_results(
    configs: list[dict[str, Any]], workers: int, address: str | None, stop: Callable[[], bool]
) -> Iterator[dict[str, Any]]:
    from ampc_agent.ray_cluster import ray_cluster
    from benchmarks.sweep.runner import error_record, run_trial

    with ray_cluster(address, workers) as ray:
        remote = ray.remote(num_cpus=1, max_retries=0)(run_trial)
        refs = {remote.remote(c): c for c in configs}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1, timeout=0.2)
            if stop():
                for ref in pending:  # Ray cannot tell queued from running: both go
                    ray.cancel(ref)
                pending = []
            for ref in ready:
                try:
                    yield ray.get(ref)
                except Exception as exc:  # the Ray worker died or the task was lost
                    yield error_record(refs[ref], exc)
