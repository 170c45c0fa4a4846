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

Workers are local processes by default, or Ray tasks when a Ray address is given; in
both cases workers return arrays and this process writes the files, so Ray workers need
no shared file system.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.dataset.cartpole import CARTPOLE_SAMPLING, SystemSampling
from ampc_agent.dataset.storage import (
    SHARD_ARRAYS,
    atomic_write_bytes,
    read_metadata,
    shard_path,
    write_metadata,
    write_shard,
)

__all__ = [
    "GeneratorSettings",
    "ShardResult",
    "SYSTEMS",
    "compute_shard",
    "generate_dataset",
    "label_state",
]

#: Systems the generator knows.
SYSTEMS: dict[str, SystemSampling] = {"cartpole": CARTPOLE_SAMPLING}

#: Sample sources (the ``source`` array).
SOURCE_TRAJECTORY, SOURCE_UNIFORM = 0, 1

GENERATOR_VERSION = 1


@dataclass(frozen=True)
class GeneratorSettings:
    """Everything that determines a dataset (stored in its metadata).

    Attributes:
        system: A key of :data:`SYSTEMS`.
        samples: Number of samples in the dataset.
        seed: Base seed; shard ``k`` uses ``numpy.random.default_rng([seed, k])``.
        shard_size: Samples per shard (the last shard may be smaller).
        trajectory_fraction: Fraction of each shard taken along closed-loop trajectories.
        episode_steps: Length of the closed-loop episodes in control steps.
        stride: A trajectory sample every ``stride`` control steps.
        randomize_fraction: Fraction of the episodes on randomized physics.
    """

    system: str = "cartpole"
    samples: int = 1000
    seed: int = 0
    shard_size: int = 200
    trajectory_fraction: float = 0.7
    episode_steps: int = 200
    stride: int = 4
    randomize_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ValueError(f"unknown system {self.system!r}; valid: {sorted(SYSTEMS)}")
        for name in ("samples", "shard_size", "episode_steps", "stride"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("trajectory_fraction", "randomize_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")

    @property
    def num_shards(self) -> int:
        """Number of shards."""
        return -(-self.samples // self.shard_size)

    def shard_samples(self, k: int) -> int:
        """Number of samples of shard ``k``."""
        if not 0 <= k < self.num_shards:
            raise ValueError(f"shard {k} out of range [0, {self.num_shards})")
        return min(self.shard_size, self.samples - k * self.shard_size)

    def as_dict(self) -> dict[str, Any]:
        """JSON-serialisable settings (with the generator version)."""
        return {**dataclasses.asdict(self), "version": GENERATOR_VERSION}


@dataclass
class ShardResult:
    """One computed shard: arrays of :data:`SHARD_ARRAYS` and counters."""

    index: int
    arrays: dict[str, np.ndarray]
    stats: dict[str, Any]


# ------------------------------------------------------------------------ labelling
def label_state(
    mpc: Any, x: np.ndarray, extra_inits: list[Any] | None = None, include_still: bool = True
) -> tuple[dict[str, Any] | None, str]:
    """Best-of-several-starts label of state ``x`` at theta_nom, with du0*/dtheta.

    Args:
        mpc: A :class:`~ampc_agent.mpc.ParametricMPC`.
        x: The state.
        extra_inits: More initialisations tried first (e.g. the closed-loop solution).
        include_still: Also try the state held still (a cheap, dynamically infeasible
            guess that sometimes finds a better local minimum).

    Returns:
        ``(sample, outcome)``: the sample fields (``u``, ``du_dtheta``, ``cost``,
        ``sqp_iter``, ``solve_time``, ``weakly_active``) or ``None``, and ``"ok"``,
        ``"no_convergence"`` or ``"sensitivity_failed"``.
    """
    from ampc_agent.mpc import SensitivityError

    theta = mpc.theta_spec.nominal_array
    inits = [*(extra_inits or []), *mpc.ocp.initial_guesses(np.asarray(x, float), theta)]
    if include_still:
        inits.append("still")
    time_before = mpc.stats.time
    best = mpc.solve_best(x, theta, inits, raise_on_failure=False)
    solve_time = mpc.stats.time - time_before
    if not best.ok:
        return None, "no_convergence"
    try:
        sens = mpc.sensitivity(best)
    except SensitivityError:
        return None, "sensitivity_failed"
    return {
        "u": best.u0.copy(),
        "du_dtheta": sens.du0_dtheta.copy(),
        "cost": best.cost,
        "sqp_iter": best.sqp_iter,
        "solve_time": solve_time,
        "weakly_active": sens.weakly_active,
    }, "ok"


# ------------------------------------------------------------------------ one shard
def compute_shard(
    settings: GeneratorSettings, k: int, mpc: Any = None, env: Any = None
) -> ShardResult:
    """Compute shard ``k`` (deterministic in ``(settings, k)``).

    Args:
        settings: Generator settings.
        k: Shard index.
        mpc: A ParametricMPC of the system to reuse (built when ``None``).
        env: The plant env to reuse (made when ``None``).
    """
    system = SYSTEMS[settings.system]
    mpc = mpc if mpc is not None else system.make_mpc()
    env = env if env is not None else system.make_env()
    rng = np.random.default_rng([settings.seed, k])
    n = settings.shard_samples(k)
    n_traj = int(round(n * settings.trajectory_fraction))
    stats: Counter = Counter()
    rows: list[tuple[np.ndarray, dict[str, Any], int]] = []
    start = time.perf_counter()

    while sum(1 for r in rows if r[2] == SOURCE_TRAJECTORY) < n_traj:
        visited = _closed_loop_episode(mpc, env, system, settings, rng, stats)
        for x, solution in visited:
            if sum(1 for r in rows if r[2] == SOURCE_TRAJECTORY) >= n_traj:
                break
            extra = [solution] if solution is not None else []
            _add(rows, stats, mpc, system.wrap(x), extra, SOURCE_TRAJECTORY, include_still=False)

    low, high = np.array(system.uniform_low), np.array(system.uniform_high)
    while len(rows) < n:
        x = rng.uniform(low, high)
        _add(rows, stats, mpc, x, [], SOURCE_UNIFORM, include_still=True)

    arrays = {
        "x": np.array([r[0] for r in rows], dtype=np.float64),
        "u": np.array([r[1]["u"] for r in rows], dtype=np.float64),
        "du_dtheta": np.array([r[1]["du_dtheta"] for r in rows], dtype=np.float64),
        "cost": np.array([r[1]["cost"] for r in rows], dtype=np.float64),
        "sqp_iter": np.array([r[1]["sqp_iter"] for r in rows], dtype=np.int64),
        "solve_time": np.array([r[1]["solve_time"] for r in rows], dtype=np.float64),
        "source": np.array([r[2] for r in rows], dtype=np.int8),
    }
    stats["samples"] = n
    stats["seconds"] = time.perf_counter() - start
    return ShardResult(k, arrays, dict(stats))


def _add(
    rows: list,
    stats: Counter,
    mpc: Any,
    x: np.ndarray,
    extra: list,
    source: int,
    include_still: bool,
) -> None:
    name = "trajectory" if source == SOURCE_TRAJECTORY else "uniform"
    stats[f"attempted_{name}"] += 1
    sample, outcome = label_state(mpc, x, extra, include_still=include_still)
    if sample is None:
        stats[f"discarded_{outcome}"] += 1
        return
    stats["weakly_active_samples"] += int(sample["weakly_active"] > 0)
    rows.append((np.array(x, dtype=np.float64), sample, source))


def _closed_loop_episode(
    mpc: Any,
    env: Any,
    system: SystemSampling,
    settings: GeneratorSettings,
    rng: np.random.Generator,
    stats: Counter,
) -> list[tuple[np.ndarray, Any]]:
    """Run the MPC (theta_nom) on the plant; return ``(state, MPC solution)`` every stride."""
    from ampc_envs.cartpole.params import CartpoleParams

    options: dict[str, Any] = {}
    if rng.random() < settings.randomize_fraction:
        options["params"] = CartpoleParams().sample(system.randomize_ranges, rng)
        stats["episodes_randomized"] += 1
    else:
        options["params"] = CartpoleParams()
    stats["episodes"] += 1
    obs, _ = env.reset(seed=int(rng.integers(2**31)), options=options)
    mpc.reset()
    u = np.zeros(mpc.nu)
    visited = []
    for step in range(settings.episode_steps):
        state = np.array(env.unwrapped.state, dtype=np.float64)
        sol = mpc.solve(obs, init="warm", raise_on_failure=False)
        if sol.ok:
            u = sol.u0
        else:
            stats["closed_loop_failures"] += 1  # keep the previous force
        if step % settings.stride == 0:
            visited.append((state, sol if sol.ok and np.array_equal(obs, state) else None))
        obs, _, terminated, truncated, _ = env.step(np.asarray(u, dtype=np.float32))
        if terminated or truncated:
            stats["episodes_crashed"] += int(terminated)
            break
    return visited


# ------------------------------------------------------------------------ the driver
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
    system = SYSTEMS[settings.system]
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
            _run_ray(settings, missing, ray_address, workers, store)
        elif workers == 1:
            backend = "inline"
            env = system.make_env()
            for k in missing:
                store(compute_shard(settings, k, mpc, env))
        else:
            backend = "processes"
            _run_processes(settings, missing, workers, store)
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
    existing = read_metadata(folder).get("generator")
    if existing != settings.as_dict():
        raise ValueError(
            f"{folder} holds a dataset generated with other settings ({existing}); "
            f"resume with the same settings or choose another folder"
        )


def _metadata(settings: GeneratorSettings, mpc: Any, system: SystemSampling) -> dict[str, Any]:
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
        "state_wrapping": {ocp.state_names[i]: [-np.pi, np.pi] for i in system.periodic_states},
        "uniform_low": list(system.uniform_low),
        "uniform_high": list(system.uniform_high),
        "randomize_ranges": {k: list(v) for k, v in system.randomize_ranges.items()},
        "generator": settings.as_dict(),
        "sources": {"0": "closed-loop trajectory", "1": "uniform"},
        "labels": "lowest-cost converged solution over several initialisations, at theta_nom",
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


# ------------------------------------------------------------------------ backends
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
        system = SYSTEMS[key]
        _WORKER[key] = (system.make_mpc(), system.make_env())
    mpc, env = _WORKER[key]
    return compute_shard(settings, k, mpc, env)


def _run_processes(
    settings: GeneratorSettings, shards: list[int], workers: int, store: Any
) -> None:
    # "spawn": acados' ctypes handles and MuJoCo must not be inherited through fork.
    context = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
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


def _run_ray(
    settings: GeneratorSettings, shards: list[int], address: str, workers: int, store: Any
) -> None:
    from ampc_agent.ray_cluster import ray_cluster

    with ray_cluster(address, workers) as ray:
        task = ray.remote(num_cpus=1, max_retries=2)(_worker_shard)
        pending = [task.remote(settings.as_dict(), k) for k in shards]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            store(ray.get(done[0]))


__all__ += ["SHARD_ARRAYS"]
