"""Closed-loop swing-up episodes of several controllers from the same start states."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "SUCCESS_ANGLE",
    "SUCCESS_SECONDS",
    "compare_closed_loop",
    "make_cartpole_env",
    "rollout",
    "sample_start_states",
    "swing_up_success",
]

#: A swing-up succeeds when the pole stays within this angle of upright, in rad ...
SUCCESS_ANGLE = 0.25
#: ... for the last this many seconds of the episode, without a crash.
SUCCESS_SECONDS = 1.0

Controller = Callable[[np.ndarray], np.ndarray]


def swing_up_success(
    states: np.ndarray,
    crashed: bool,
    dt: float,
    angle: float = SUCCESS_ANGLE,
    seconds: float = SUCCESS_SECONDS,
) -> bool:
    """Whether an episode swung the pole up and kept it there.

    Args:
        states: Visited states ``(T + 1, 4)`` ``[x, theta, x_dot, theta_dot]``, theta in rad.
        crashed: The episode ended by leaving the rail.
        dt: Control period in s.
        angle: Largest deviation from upright in rad.
        seconds: Length of the final window in s.

    Returns:
        ``True`` if not crashed and ``|wrap(theta)| <= angle`` over the final window.
    """
    if crashed:
        return False
    k = max(1, int(round(seconds / dt)))
    theta = np.asarray(states)[-k:, 1]
    wrapped = np.abs(np.mod(theta + math.pi, 2 * math.pi) - math.pi)
    return bool(np.all(wrapped <= angle))


def make_cartpole_env(params: Any = "nominal"):
    """The MuJoCo swing-up env on a fixed system instance (no randomisation)."""
    import gymnasium as gym

    import ampc_envs  # noqa: F401  (registers the envs)

    return gym.make("ampc_envs/CartpoleSwingUp-v0", params=params, randomize=False)


def sample_start_states(env, n: int, seed: int) -> np.ndarray:
    """``n`` start states from the env's own start distribution (seeds ``seed .. seed+n-1``)."""
    out = []
    for i in range(n):
        env.reset(seed=seed + i)
        out.append(np.array(env.unwrapped.state, dtype=np.float64))
    return np.array(out)


def rollout(env, controller: Controller, start_state: np.ndarray, seed: int) -> dict[str, Any]:
    """One episode of ``controller`` from ``start_state``.

    If the controller has a ``reset()`` method (a warm-started MPC), it is called first.

    Returns:
        ``return``, ``crashed``, ``success``, ``length`` (steps), ``states`` ``(T+1, 4)``,
        ``actions`` ``(T, nu)``, ``step_seconds`` (wall time of each controller call).
    """
    if hasattr(controller, "reset"):
        controller.reset()
    obs, _ = env.reset(seed=seed, options={"state": np.asarray(start_state, dtype=np.float64)})
    total, crashed = 0.0, False
    states, actions, times = [np.array(env.unwrapped.state)], [], []
    dt = float(env.unwrapped.dt) if hasattr(env.unwrapped, "dt") else 0.02
    while True:
        t0 = time.perf_counter()
        action = np.asarray(controller(obs), dtype=np.float32).reshape(-1)
        times.append(time.perf_counter() - t0)
        obs, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        states.append(np.array(env.unwrapped.state))
        actions.append(action)
        if terminated or truncated:
            crashed = bool(info.get("crashed", terminated))
            break
    states = np.array(states)
    return {
        "return": total,
        "crashed": crashed,
        "success": swing_up_success(states, crashed, dt),
        "length": len(actions),
        "states": states,
        "actions": np.array(actions),
        "step_seconds": np.array(times),
    }


def compare_closed_loop(
    controllers: Mapping[str, Controller],
    n_starts: int = 50,
    seed: int = 0,
    params: Any = "nominal",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run every controller from the same ``n_starts`` start states.

    Args:
        controllers: ``{name: controller}``; a controller maps an observation to an action.
        n_starts: Number of start states.
        seed: First seed of the start states (and of the episodes).
        params: System instance of the env.
        progress: Called with a one-line message after each episode.

    Returns:
        ``start_states`` and, per controller, ``success_rate``, ``mean_return``,
        ``std_return``, ``crash_rate``, the per-episode ``returns``/``successes``/``crashed``
        and ``step_seconds`` statistics of the controller calls.
    """
    env = make_cartpole_env(params)
    starts = sample_start_states(env, n_starts, seed)
    out: dict[str, Any] = {"start_states": starts.tolist(), "n_starts": n_starts, "seed": seed}
    for name, ctrl in controllers.items():
        eps = []
        for i, s in enumerate(starts):
            ep = rollout(env, ctrl, s, seed + i)
            eps.append(ep)
            if progress is not None:
                progress(
                    f"{name} episode {i + 1}/{n_starts}: return {ep['return']:.1f}, "
                    f"success {ep['success']}, crashed {ep['crashed']}"
                )
        returns = np.array([e["return"] for e in eps])
        times = np.concatenate([e["step_seconds"] for e in eps])
        out[name] = {
            "success_rate": float(np.mean([e["success"] for e in eps])),
            "crash_rate": float(np.mean([e["crashed"] for e in eps])),
            "mean_return": float(returns.mean()),
            "std_return": float(returns.std()),
            "returns": returns.tolist(),
            "successes": [bool(e["success"]) for e in eps],
            "crashed": [bool(e["crashed"]) for e in eps],
            "step_seconds_median": float(np.median(times)),
            "step_seconds_p99": float(np.percentile(times, 99)),
        }
    env.close()
    return out
