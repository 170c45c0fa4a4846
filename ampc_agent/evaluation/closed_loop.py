"""Closed-loop episodes of several controllers from the same start states."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from tqdm import tqdm

from ampc_agent.systems import SystemSpec
from ampc_envs.core.episode import run_episode

__all__ = ["compare_closed_loop", "rollout", "sample_start_states"]

Controller = Callable[[np.ndarray], np.ndarray]


def sample_start_states(env, n: int, seed: int) -> np.ndarray:
    """``n`` start states from the env's own start distribution (seeds ``seed .. seed+n-1``)."""
    out = []
    for i in range(n):
        env.reset(seed=seed + i)
        out.append(np.array(env.unwrapped.state, dtype=np.float64))
    return np.array(out)


def rollout(
    system: SystemSpec, env, controller: Controller, start_state: np.ndarray, seed: int
) -> dict[str, Any]:
    """One episode of ``controller`` from ``start_state``, judged by the system's success rule.

    Returns:
        :func:`~ampc_envs.core.episode.run_episode`'s result with the true ``states``,
        plus ``success``.
    """
    ep = run_episode(env, controller, seed=seed, state=start_state, record_states=True)
    ep["success"] = bool(system.success(ep["states"], ep["crashed"], float(env.unwrapped.dt)))
    return ep


def compare_closed_loop(
    system: SystemSpec,
    controllers: Mapping[str, Controller],
    n_starts: int = 50,
    seed: int = 0,
    params: Any = "nominal",
    progress: Callable[[str], None] | None = None,
    visited_stride: int = 0,
) -> dict[str, Any]:
    """Run every controller from the same ``n_starts`` start states.

    Args:
        system: The system (its env and success rule).
        controllers: ``{name: controller}``; a controller maps an observation to an action.
        n_starts: Number of start states.
        seed: First seed of the start states (and of the episodes).
        params: System instance of the env.
        progress: Called with a one-line message after each episode.
        visited_stride: With ``k > 0``, also return every ``k``-th true state of each
            controller's episodes as ``visited`` (an array, left out of JSON reports).

    Returns:
        ``start_states`` and, per controller, ``success_rate``, ``mean_return``,
        ``std_return``, ``crash_rate``, the per-episode ``returns``/``successes``/``crashed``,
        ``components_per_step`` (each reward component's sum over all episodes divided by
        their steps) and ``step_seconds`` statistics of the controller calls.
    """
    env = system.make_env(params=params, randomize=False)
    starts = sample_start_states(env, n_starts, seed)
    out: dict[str, Any] = {"start_states": starts.tolist(), "n_starts": n_starts, "seed": seed}
    bar = tqdm(total=len(controllers) * n_starts, desc="closed loop", unit="ep", leave=False)
    for name, ctrl in controllers.items():
        eps = []
        for i, s in enumerate(starts):
            bar.set_postfix_str(name)
            ep = rollout(system, env, ctrl, s, seed + i)
            eps.append(ep)
            bar.update()
            if progress is not None:
                progress(
                    f"{name} episode {i + 1}/{n_starts}: return {ep['return']:.1f}, "
                    f"success {ep['success']}, crashed {ep['crashed']}"
                )
        returns = np.array([e["return"] for e in eps])
        times = np.concatenate([e["step_seconds"] for e in eps])
        steps = sum(e["length"] for e in eps)
        out[name] = {
            "success_rate": float(np.mean([e["success"] for e in eps])),
            "crash_rate": float(np.mean([e["crashed"] for e in eps])),
            "mean_return": float(returns.mean()),
            "std_return": float(returns.std()),
            "returns": returns.tolist(),
            "successes": [bool(e["success"]) for e in eps],
            "crashed": [bool(e["crashed"]) for e in eps],
            "components_per_step": {
                k: float(sum(e["components"][k] for e in eps) / steps) for k in eps[0]["components"]
            },
            "step_seconds_median": float(np.median(times)),
            "step_seconds_p99": float(np.percentile(times, 99)),
        }
        if visited_stride:
            out[name]["visited"] = np.concatenate([e["states"][::visited_stride] for e in eps])
    bar.close()
    env.close()
    return out
