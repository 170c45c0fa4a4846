"""Parallel, resumable generation of MPC datasets with exact parameter sensitivities.

A dataset is ``samples`` labelled states, split into shards of ``shard_size``. Shard
``k`` is a deterministic function of ``(settings, k)``: its random generator is seeded
with ``(seed, k)`` and every solve starts from an explicitly loaded iterate, so the
same settings give the same dataset on any number of workers, and a killed run resumes
by computing only the shards that are not on disk (a shard file is written atomically
and only when it is whole).

Each shard holds two kinds of states:

* ``source = 0``: states along closed-loop MPC trajectories on the MuJoCo plant, from the
  env's start distribution, on nominal physics or (a fraction ``randomize_fraction`` of
  the episodes) on physics drawn from the randomization ranges, every ``stride``-th step;
* ``source = 1``: states drawn uniformly from the system's swing-up box.

Labels are the lowest-cost converged solution over several initialisations (for
trajectory states the closed-loop solution at that state is one of them), at
theta_nom; the label is stored with the exact sensitivity du0*/dtheta. States where no
initialisation converges, or where the KKT system is not regular, are discarded and
counted.

Workers are local processes by default, or Ray tasks when a Ray address is given
(:mod:`ampc_agent.dataset.backends`); in both cases workers return arrays and this
process writes the files, so Ray workers need no shared file system. Settings are in
:mod:`~ampc_agent.dataset.settings`, labels in :mod:`~ampc_agent.dataset.labels`, one
shard in :mod:`~ampc_agent.dataset.shards`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.dataset.backends import run_processes, run_ray
from ampc_agent.dataset.labels import label_state
from ampc_agent.dataset.settings import GeneratorSettings
from ampc_agent.dataset.shards import ShardResult, compute_shard, make_plant
from ampc_agent.dataset.storage import read_metadata, shard_path, write_metadata, write_shard
from ampc_agent.io import atomic_write_bytes
from ampc_agent.systems import SystemSpec, get_system

__all__ = ["GeneratorSettings", "ShardResult", "compute_shard", "generate_dataset", "label_state"]


def generate_dataset(
    folder: str | Path,
    settings: GeneratorSettings,
    workers: int = 1,
    ray_address: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate (or resume) a dataset in ``folder``.

    Args:
        folder: Output folder (created). If it holds a dataset with other settings,
            ``ValueError`` is raised; with the same settings, missing shards are computed.
        settings: Generator settings.
        workers: Local worker processes (ignored with Ray, which uses its cluster).
        ray_address: Ray cluster address; ``"local"`` starts a local Ray instance with
            ``workers`` CPUs. ``None``: local processes.
        progress: Show a tqdm progress bar.

    Returns:
        The final metadata (also written to ``folder/metadata.json``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    system = get_system(settings.system)
    _check_existing(folder, settings)
    # Build (or load) the solvers here once, so that workers find them in the cache.
    mpc = system.make_mpc()
    metadata = _metadata(settings, mpc, system)
    write_metadata(folder, {**metadata, "complete": False})

    missing = [k for k in range(settings.num_shards) if not shard_path(folder, k).is_file()]
    done_samples = settings.samples - sum(settings.shard_samples(k) for k in missing)
    bar = _progress(settings.samples, done_samples, progress)
    start = time.perf_counter()

    def store(result: ShardResult) -> None:
        _write_shard_stats(folder, result)
        write_shard(folder, result.index, result.arrays)
        if bar is not None:
            bar.update(len(result.arrays["x"]))

    try:
        if ray_address is not None:
            backend = "ray"
            run_ray(settings, missing, ray_address, workers, store)
        elif workers == 1:
            backend = "inline"
            env = make_plant(system)
            for k in missing:
                store(compute_shard(settings, k, mpc, env))
        else:
            backend = "processes"
            run_processes(settings, missing, workers, store)
    finally:
        if bar is not None:
            bar.close()
    wall = time.perf_counter() - start

    counts = _aggregate_stats(folder, settings)
    previous = read_metadata(folder).get("runs", [])
    run = {
        "backend": backend,
        "workers": workers,
        "shards_computed": len(missing),
        "wall_seconds": wall,
        "samples_per_second": (settings.samples - done_samples) / wall if wall > 0 else None,
    }
    final = {**metadata, "counts": counts, "runs": [*previous, run], "complete": True}
    write_metadata(folder, final)
    return final


def _progress(total: int, initial: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="sample", desc="dataset", smoothing=0.05)


def _check_existing(folder: Path, settings: GeneratorSettings) -> None:
    meta_file = folder / "metadata.json"
    if not meta_file.is_file():
        if any(folder.glob("shard-*.npz")):
            raise ValueError(f"{folder} has shards but no metadata.json; use an empty folder")
        return
    stored = read_metadata(folder)
    sampling = _sampling_metadata(get_system(settings.system).sampling)
    changed = [
        k for k in sorted(set(sampling) | set(_SAMPLING_KEYS)) if stored.get(k) != sampling.get(k)
    ]
    if changed:
        raise ValueError(
            f"{folder} holds a dataset sampled differently from the system's current "
            f"sampling ({', '.join(changed)} differ: {[stored.get(k) for k in changed]} "
            f"on disk, {[sampling.get(k) for k in changed]} now); choose another folder"
        )
    existing = stored.get("generator") or {}
    wanted = settings.as_dict()
    if existing == wanted:
        return
    # Growing a dataset: shard k depends on (settings, k) only, so with whole shards the
    # first ones of a larger dataset are the ones on disk.
    same_but_size = {**existing, "samples": wanted["samples"]} == wanted
    old_samples = existing.get("samples", 0)
    if same_but_size and wanted["samples"] > old_samples and old_samples % settings.shard_size == 0:
        return
    raise ValueError(
        f"{folder} holds a dataset generated with other settings ({existing}); "
        "resume with the same settings (or more samples, when the dataset's sample count is "
        "a whole number of shards) or choose another folder"
    )


def _metadata(settings: GeneratorSettings, mpc: Any, system: SystemSpec) -> dict[str, Any]:
    import casadi

    from ampc_agent.mpc import acados_install

    ocp = mpc.ocp
    install = acados_install()
    return {
        "format": "ampc-dataset/1",
        "system": settings.system,
        "state_names": list(ocp.state_names),
        "input_names": list(ocp.input_names),
        **mpc.theta_spec.to_metadata(),
        "input_lower": np.asarray(ocp.u_lower).tolist(),
        "input_upper": np.asarray(ocp.u_upper).tolist(),
        "state_wrapping": {ocp.state_names[i]: [-np.pi, np.pi] for i in system.angle_states},
        **_sampling_metadata(system.sampling),
        "generator": settings.as_dict(),
        "sources": _sources(system.sampling),
        "labels": (
            "lowest-cost converged solution over several initialisations, at theta_nom"
            if settings.trajectory_labels == "best"
            else "along trajectories: the closed-loop MPC's solution re-solved to tolerance "
            "from its iterate (best of several initialisations where there is none); "
            "elsewhere the lowest-cost converged solution over several initialisations; "
            "at theta_nom"
        ),
        "sensitivity": "implicit-function theorem on the KKT system at the acados solution",
        "mpc": {
            "horizon": ocp.horizon,
            "steps": ocp.steps,
            "dt": ocp.dt,
            "control_dt": ocp.control_dt,
            "tol": mpc.tol,
            "settings": ocp.settings,
            "solver_cache": {k: v.name for k, v in mpc.cache_folders.items()},
        },
        "versions": {"acados": install.acados_version, "casadi": casadi.__version__},
    }


#: The metadata entries of :func:`_sampling_metadata` (compared on resume).
_SAMPLING_KEYS = (
    "uniform_low",
    "uniform_high",
    "randomize_ranges",
    "spread",
    "episode_env",
)


def _sampling_metadata(sampling: Any) -> dict[str, Any]:
    """Where the states come from: a box, or a spread around closed-loop states."""
    out: dict[str, Any] = {}
    if sampling.spread is None:
        out["uniform_low"] = list(sampling.uniform_low)
        out["uniform_high"] = list(sampling.uniform_high)
    out["randomize_ranges"] = {k: list(v) for k, v in sampling.randomize_ranges.items()}
    if sampling.spread is not None:
        out["spread"] = list(sampling.spread)
    if sampling.episode_env is not None:
        out["episode_env"] = (sampling.episode_env.__doc__ or "").strip().splitlines()[0]
    return out


def _sources(sampling: Any) -> dict[str, str]:
    if sampling.spread is not None:
        return {"0": "closed-loop trajectory", "2": "uniform around closed-loop states"}
    return {"0": "closed-loop trajectory", "1": "uniform"}


def _stats_path(folder: Path, k: int) -> Path:
    return folder / f"shard-{k:05d}.stats.json"


def _write_shard_stats(folder: Path, result: ShardResult) -> None:
    # Written before the shard itself: a shard on disk always has its stats.
    atomic_write_bytes(_stats_path(folder, result.index), json.dumps(result.stats).encode())


def _aggregate_stats(folder: Path, settings: GeneratorSettings) -> dict[str, Any]:
    total: Counter = Counter()
    for k in range(settings.num_shards):
        path = _stats_path(folder, k)
        if path.is_file():
            total.update(json.loads(path.read_text()))
    counts = {k: v for k, v in sorted(total.items()) if k != "seconds"}
    counts["compute_seconds"] = total["seconds"]
    return counts
