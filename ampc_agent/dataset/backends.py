"""Where shards are computed: local worker processes or Ray tasks.

In both cases workers return arrays and the driving process writes the files, so Ray
workers need no shared file system. A worker keeps its MPC and plant between shards.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing
import os
from typing import Any

from ampc_agent.dataset.settings import GeneratorSettings
from ampc_agent.dataset.shards import ShardResult, compute_shard, make_plant
from ampc_agent.processes import die_with_parent
from ampc_agent.systems import get_system

__all__ = ["SHARD_TIMEOUT_SECONDS", "run_processes", "run_ray"]

_WORKER: dict[str, Any] = {}


#: A worker that spends longer than this on one shard is considered hung: it prints its
#: Python stack to stderr and exits, and the run stops with an error naming the shard.
SHARD_TIMEOUT_SECONDS = 1800


def _worker_shard(settings_dict: dict[str, Any], k: int) -> ShardResult:
    """Compute a shard in a worker process, reusing its MPC and env between shards."""
    import faulthandler

    faulthandler.dump_traceback_later(SHARD_TIMEOUT_SECONDS, exit=True)
    try:
        return _worker_compute(settings_dict, k)
    finally:
        faulthandler.cancel_dump_traceback_later()


def _worker_compute(settings_dict: dict[str, Any], k: int) -> ShardResult:
    fields = {f.name for f in dataclasses.fields(GeneratorSettings)}
    settings = GeneratorSettings(**{k2: v for k2, v in settings_dict.items() if k2 in fields})
    key = settings.system
    if key not in _WORKER:
        system = get_system(key)
        _WORKER[key] = (system.make_mpc(), make_plant(system))
    mpc, env = _WORKER[key]
    return compute_shard(settings, k, mpc, env)


def run_processes(settings: GeneratorSettings, shards: list[int], workers: int, store: Any) -> None:
    # "spawn": acados' ctypes handles and MuJoCo must not be inherited through fork.
    context = multiprocessing.get_context("spawn")
    # Workers die with this process (a killed driver leaves no orphans behind).
    with cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = {pool.submit(_worker_shard, settings.as_dict(), k): k for k in shards}
        try:
            for future in cf.as_completed(futures):
                try:
                    result = future.result()
                except cf.process.BrokenProcessPool:
                    raise RuntimeError(
                        f"a worker died while computing shard {futures[future]} (see its stack "
                        "on stderr); the shards already written are kept"
                    ) from None
                store(result)
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def run_ray(
    settings: GeneratorSettings, shards: list[int], address: str, workers: int, store: Any
) -> None:
    from ampc_agent.ray_cluster import ray_cluster

    with ray_cluster(address, workers) as ray:
        task = ray.remote(num_cpus=1, max_retries=2)(_worker_shard)
        pending = [task.remote(settings.as_dict(), k) for k in shards]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            store(ray.get(done[0]))
