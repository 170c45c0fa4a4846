"""One shard of a dataset: closed-loop MPC trajectories and samples off them, labelled.

The samples off the trajectories are uniform in the system's box, or (with
``DatasetSampling.spread``) uniform perturbations of the shard's closed-loop states,
labelled with the closed-loop solution as one of the initialisations.

Shard ``k`` is a deterministic function of ``(settings, k)``: its random generator is
seeded with ``(seed, k)`` and every solve starts from an explicitly loaded iterate.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ampc_agent.dataset.labels import (
    closed_loop_label,
    label_state,
    perturbation_thetas,
    secant_label,
)
from ampc_agent.dataset.settings import (
    SOURCE_NAMES,
    SOURCE_SPREAD,
    SOURCE_TRAJECTORY,
    SOURCE_UNIFORM,
    GeneratorSettings,
)
from ampc_agent.dataset.storage import SECANT_ARRAYS
from ampc_agent.mpc.controller import MPCController
from ampc_agent.policy import AMPCPolicy
from ampc_agent.systems import SystemSpec, get_system
from ampc_envs.core.episode import run_episode

__all__ = ["ShardResult", "Shadowed", "compute_shard", "make_plant"]


@dataclass
class ShardResult:
    """One computed shard: arrays of :data:`SHARD_ARRAYS` and counters."""

    index: int
    arrays: dict[str, np.ndarray]
    stats: dict[str, Any]


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
    system = get_system(settings.system)
    mpc = mpc if mpc is not None else system.make_mpc()
    env = env if env is not None else make_plant(system)
    learner = AMPCPolicy.load(settings.learner) if settings.learner else None
    rng = np.random.default_rng([settings.seed, k])
    # The secant changes have their own stream: the states are those of a dataset
    # without secant labels and the same seed.
    secant_rng = np.random.default_rng([settings.seed, k, 1])
    n = settings.shard_samples(k)
    n_traj = int(round(n * settings.trajectory_fraction))
    stats: Counter = Counter()
    rows: list[tuple[np.ndarray, dict[str, Any], int]] = []
    start = time.perf_counter()

    sampling = system.sampling
    # Closed-loop states (and their solutions) that spread samples are drawn around.
    pool: list[tuple[np.ndarray, Any]] = []
    while sum(1 for r in rows if r[2] == SOURCE_TRAJECTORY) < n_traj or (
        sampling.spread is not None and not pool
    ):
        visited = _closed_loop_episode(mpc, env, system, settings, rng, stats, learner)
        if sampling.spread is not None:
            pool.extend(visited)
        for x, solution in visited:
            if sum(1 for r in rows if r[2] == SOURCE_TRAJECTORY) >= n_traj:
                break
            extra = [solution] if solution is not None else []
            own = solution if settings.trajectory_labels == "closed_loop" else None
            _add(
                rows,
                stats,
                mpc,
                system.wrap(x),
                extra,
                SOURCE_TRAJECTORY,
                False,
                settings,
                secant_rng,
                own_solution=own,
            )

    if sampling.spread is not None:
        spread = np.array(sampling.spread)
        while len(rows) < n:
            base, solution = pool[int(rng.integers(len(pool)))]
            x = system.wrap(base + rng.uniform(-spread, spread))
            extra = [solution] if solution is not None else []
            _add(rows, stats, mpc, x, extra, SOURCE_SPREAD, False, settings, secant_rng)
    else:
        low, high = np.array(sampling.uniform_low), np.array(sampling.uniform_high)
        while len(rows) < n:
            x = rng.uniform(low, high)
            _add(rows, stats, mpc, x, [], SOURCE_UNIFORM, True, settings, secant_rng)

    arrays = {
        "x": np.array([r[0] for r in rows], dtype=np.float64),
        "u": np.array([r[1]["u"] for r in rows], dtype=np.float64),
        "du_dtheta": np.array([r[1]["du_dtheta"] for r in rows], dtype=np.float64),
        "cost": np.array([r[1]["cost"] for r in rows], dtype=np.float64),
        "sqp_iter": np.array([r[1]["sqp_iter"] for r in rows], dtype=np.int64),
        "solve_time": np.array([r[1]["solve_time"] for r in rows], dtype=np.float64),
        "source": np.array([r[2] for r in rows], dtype=np.int8),
    }
    if settings.secant_perturbations:
        for name in SECANT_ARRAYS:
            arrays[name] = np.array([r[1][name] for r in rows], dtype=np.float64)
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
    settings: GeneratorSettings,
    secant_rng: np.random.Generator,
    own_solution: Any = None,
) -> None:
    name = SOURCE_NAMES[source]
    stats[f"attempted_{name}"] += 1
    sample = None
    if own_solution is not None:
        # The closed loop's own solution, re-solved to tolerance; the best of all
        # starts only if that fails.
        sample, outcome = closed_loop_label(mpc, x, own_solution)
        stats["closed_loop_labels" if sample is not None else "closed_loop_label_fallbacks"] += 1
    if sample is None:
        sample, outcome = label_state(mpc, x, extra, include_still=include_still)
    if sample is None:
        stats[f"discarded_{outcome}"] += 1
        return
    stats["weakly_active_samples"] += int(sample["weakly_active"] > 0)
    if settings.secant_perturbations:
        thetas = perturbation_thetas(
            mpc.theta_spec, settings.secant_perturbations, settings.secant_scale, secant_rng
        )
        dtheta, du, secant = secant_label(mpc, sample["solution"], thetas)
        sample.update(secant_dtheta=dtheta, secant_du=du, du_secant=secant)
        stats["secant_failed_resolves"] += int(np.sum(~np.isfinite(du[:, 0])))
        stats["secant_unfit_samples"] += int(not np.all(np.isfinite(secant)))
    rows.append((np.array(x, dtype=np.float64), sample, source))


def _closed_loop_episode(
    mpc: Any,
    env: Any,
    system: SystemSpec,
    settings: GeneratorSettings,
    rng: np.random.Generator,
    stats: Counter,
    learner: Any = None,
) -> list[tuple[np.ndarray, Any]]:
    """Run the MPC (theta_nom) on the plant; return ``(state, MPC solution)`` every stride.

    With a ``learner`` (an AMPC) the learner drives and the MPC runs beside it on the
    same states (:class:`Shadowed`). The solution is kept only where the MPC saw the
    true state (no sensor noise) at theta_nom, so that it is a valid initialisation of
    that state's label.
    """
    nominal = system.params_cls()
    theta = None
    if rng.random() < settings.randomize_fraction:
        params = nominal.sample(system.sampling.randomize_ranges, rng)
        stats["episodes_randomized"] += 1
        if settings.closed_loop_theta == "true":
            theta = system.true_theta(params)
    else:
        params = nominal
    stats["episodes"] += 1
    if system.sampling.episode_env is not None:
        # A plant with this episode's settings (e.g. its reference schedule).
        env = make_plant(system, **system.sampling.episode_env(rng))
    controller = MPCController(mpc, theta, keep_solutions=True)
    driver: Any = controller
    if learner is not None:
        learner.theta = learner.theta_nominal if theta is None else theta
        driver = Shadowed(learner, controller)
        stats["episodes_learner"] += 1
    interface = system.make_interface()
    episode = run_episode(
        env,
        system.controller(driver),
        seed=int(rng.integers(2**31)),
        params=params,
        max_steps=settings.episode_steps,
        record_states=True,
    )
    stats["closed_loop_failures"] += controller.failures
    if mpc.ocp.solver.realtime:
        stats["closed_loop_inexact"] += controller.inexact
        stats["closed_loop_replans"] += controller.replans
    stats["episodes_crashed"] += int(episode["crashed"])
    visited = []
    for step in range(0, episode["length"], settings.stride):
        true, obs = episode["states"][step], episode["observations"][step]
        # The controller's state of the noise-free observation (the env's true state and
        # the observation's other entries, such as a reference).
        state = interface.state(np.concatenate([true, obs[len(true) :]]))
        sol = controller.solutions[step] if theta is None else None
        seen = interface.state(obs)
        visited.append((state, sol if np.array_equal(seen, state) else None))
    return visited


class Shadowed:
    """A learnt controller that drives while the expert runs beside it (DAgger).

    Both see every state; the expert's command is computed (and, with
    ``keep_solutions``, its solution kept) but only the learner's is applied.

    Args:
        learner: The controller that acts, ``learner(x) -> u``.
        expert: The controller that labels, ``expert(x) -> u`` (an
            :class:`~ampc_agent.mpc.controller.MPCController`).
    """

    def __init__(self, learner: Any, expert: Any) -> None:
        self.learner, self.expert = learner, expert

    def reset(self) -> None:
        """Reset both (start of an episode)."""
        self.expert.reset()
        if hasattr(self.learner, "reset"):
            self.learner.reset()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.expert(x)
        return self.learner(x)


def make_plant(system: SystemSpec, **kwargs: Any) -> Any:
    """The system env without Gymnasium's checking wrappers (physics set per episode)."""
    return system.make_env(**kwargs).unwrapped
