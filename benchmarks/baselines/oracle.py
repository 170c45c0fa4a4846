r"""Oracle reference of a system instance: the best the AMPC's theta can do there.

A long, privileged search on the same experiment (same instance, same episode seed)
of ``episodes`` episodes (default 200, four times the tuners' largest budget):

1. episode 0: the *true* physical parameters (the theta a perfect identification
   would give, clipped into the tuning bounds), kept as ``extra["true_theta"]``;
2. ``random_fraction`` (default 1/4) of the episodes: uniform random thetas in the
   tuning box (a start point that crashes must not trap the search);
3. the rest: CMA-ES started at the best non-crashed theta so far (the true theta
   if none), with the trial seed.

The oracle value is the best non-crashed return of the whole run. Its deployed theta
(the reference of the deployed score): with fresh episode seeds the best single return
is partly luck, so the ``validate`` (default 5) thetas with the best returns run
``validate_episodes`` (default 5) more episodes each (the next seeds of the trial, never
the held-out ones), and the one with the best mean return over all its episodes is
deployed; with a fixed episode seed (every rerun is the same episode) the best observed.

Why not the MPC with the true parameters as the reference? The MPC's model has no
actuation delay and no sensor noise, so on a mismatched system it is not the best
controller either; the AMPC imitates the MPC only approximately; and the tuners search
the AMPC's theta, so "fraction of the achievable improvement within this theta space"
is the number that tells how well a tuner uses its episodes. The MPC at the true
parameters is still run once per oracle trial, when the system has an MPC
(``mpc_reference``, default on), and reported beside it as ``mpc-true``: one episode of
the full acados MPC, same instance and episode seed, a failed solve holding the
previous command. The oracle is privileged (it knows
the instance and spends many episodes), so a tuner can come close to 1 but should
rarely pass it; a normalised score above 1 means the oracle run missed an optimum.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ampc_agent.tuning.loop import tuning_loop
from benchmarks.sweep.config import TrialConfig
from benchmarks.sweep.experiment import Experiment, physical_theta
from benchmarks.sweep.systems import get_system

__all__ = ["mpc_reference", "run", "true_theta"]


def true_theta(exp: Experiment) -> tuple[np.ndarray, list[str]]:
    """theta_nom with its physical entries set to the instance's true values, clipped
    into the tuning bounds; also the names of the entries that were clipped."""
    raw = exp.theta_nominal.copy()
    for i, value in physical_theta(exp.theta_names, exp.params).items():
        raw[i] = value
    theta = np.clip(raw, exp.lower, exp.upper)
    clipped = [n for n, a, b in zip(exp.theta_names, raw, theta, strict=True) if a != b]
    return theta, clipped


def mpc_reference(trial: TrialConfig, exp: Experiment) -> dict[str, Any] | None:
    """One episode of the system's MPC at the true physical parameters (clipped into the
    MPC's theta bounds), or ``None`` if the system has no MPC."""
    from ampc_agent.mpc.controller import MPCController
    from ampc_envs.core.episode import run_episode

    system = get_system(trial.system)
    mpc = system.make_mpc()
    if mpc is None:
        return None
    theta = system.spec.true_theta(exp.params)
    controller = system.spec.controller(MPCController(mpc, theta))
    start = time.perf_counter()
    result = run_episode(
        exp.env.system_env, controller, seed=exp.episode_seed(0), params=exp.params
    )
    return {
        "theta": theta.tolist(),
        "return": float(result["return"]),
        "crashed": bool(result["crashed"]),
        "length": int(result["length"]),
        "failed_solves": controller.failures,
        "wall_time": time.perf_counter() - start,
    }


def _search(exp: Experiment, tuner: Any, episodes: int) -> None:
    tuning_loop(tuner, exp.run, episodes, full=exp.full_theta)


def validated_theta(exp: Experiment, candidates: int, episodes: int) -> np.ndarray:
    """The theta to deploy: of the ``candidates`` best non-crashed thetas so far, the one
    with the best mean return after ``episodes`` more episodes each (crashes count as
    their return); theta_nom if nothing was feasible."""
    ok = sorted((e for e in exp.episodes if not e["crashed"]), key=lambda e: -e["return"])
    if not ok:
        return exp.theta_nominal.copy()
    top: list[tuple[float, ...]] = []
    for e in ok:
        if tuple(e["theta"]) not in top:
            top.append(tuple(e["theta"]))
        if len(top) == candidates:
            break
    for theta in top:
        for _ in range(episodes):
            exp.run(np.array(theta))

    def mean(theta: tuple[float, ...]) -> float:
        return float(np.mean([e["return"] for e in exp.episodes if tuple(e["theta"]) == theta]))

    return np.array(max(top, key=mean))


def run(trial: TrialConfig, exp: Experiment) -> dict[str, Any]:
    """Run the oracle. Options: ``episodes`` (200), ``random_fraction`` (0.25),
    ``mpc_reference`` (True), ``validate`` (5), ``validate_episodes`` (5), and any option
    of the CMA-ES tuner (``cmaes.<key>`` is not needed: unknown keys go to CMA-ES). The
    trial's ``budget`` does not limit it."""

    options = dict(trial.options)
    episodes = int(options.pop("episodes", 200))
    n_validate = int(options.pop("validate", 5))
    n_validate_episodes = int(options.pop("validate_episodes", 5))
    n_random = round(float(options.pop("random_fraction", 0.25)) * episodes)
    with_mpc = bool(options.pop("mpc_reference", True))
    theta0, clipped = true_theta(exp)
    # Phase 1: the true theta (the random tuner's first ask is x0), then random thetas.
    _search(exp, exp.box.make_tuner("random", seed=trial.seed, x0=theta0), max(n_random, 1))
    ok = [e for e in exp.episodes if not e["crashed"]]
    start = np.array(max(ok, key=lambda e: e["return"])["theta"]) if ok else theta0
    # Phase 2: CMA-ES from the best so far.
    cmaes = exp.box.make_tuner("cmaes", seed=trial.seed, x0=start, **options)
    _search(exp, cmaes, episodes - len(exp.episodes))
    first = exp.episodes[0]
    reference = mpc_reference(trial, exp) if with_mpc else None
    if trial.deploy_episodes:
        if trial.episode_seed == "fresh":
            theta = validated_theta(exp, n_validate, n_validate_episodes)
            exp.deploy(theta, f"best mean of the top {n_validate} over more episodes")
        else:
            exp.deploy_best_observed([len(exp.episodes)])
    return {
        "random_episodes": max(n_random, 1),
        "cmaes_start": [float(t) for t in start],
        "mpc_true": reference,
        "true_theta": {
            "theta": first["theta"],
            "return": first["return"],
            "crashed": first["crashed"],
            "clipped": clipped,
        },
    }
