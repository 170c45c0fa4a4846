"""The one closed-loop episode loop: a controller on an env from reset to the end.

Every closed loop of the project runs through :func:`run_episode`: a tuning episode,
an evaluation rollout, the dataset generator's MPC trajectories and the benchmarks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["run_episode"]

Controller = Callable[[np.ndarray], np.ndarray]


def run_episode(
    env: gym.Env,
    controller: Controller,
    *,
    seed: int | None = None,
    params: Any = None,
    state: np.ndarray | None = None,
    max_steps: int | None = None,
    record_states: bool = False,
) -> dict[str, Any]:
    """Run ``controller`` on ``env`` for one episode.

    If the controller has a ``reset()`` method (a warm-started MPC), it is called
    first. Commands are passed to ``env.step`` as float32 arrays.

    Args:
        env: A system env (for example ``ampc_envs/CartpoleSwingUp-v0``).
        controller: Maps an observation to an action.
        seed: Episode seed (start state, sensor noise, sampled physics).
        params: System instance, passed as ``reset(options={"params": params})``.
        state: Start state, passed as ``reset(options={"state": state})``.
        max_steps: Stop after this many steps (the episode counts as not crashed
            unless the env terminated); ``None``: until the env ends it.
        record_states: Also record the env's true (noise-free) state
            ``env.unwrapped.state`` after reset and after every step.

    Returns:
        ``return``, ``crashed``, ``length`` (steps), ``components`` (per-component sums
        of ``info["reward_components"]``), ``params`` (the instance from the reset's
        info), ``observations`` ``(T + 1, n_obs)``, ``actions`` ``(T, nu)``,
        ``step_seconds`` ``(T,)`` (wall time of each controller call) and, with
        ``record_states``, ``states`` ``(T + 1, nx)``.
    """
    options: dict[str, Any] = {}
    if params is not None:
        options["params"] = dict(params) if isinstance(params, Mapping) else params
    if state is not None:
        options["state"] = np.asarray(state, dtype=np.float64)
    if hasattr(controller, "reset"):
        controller.reset()
    obs, info = env.reset(seed=seed, options=options or None)
    raw = env.unwrapped
    total, crashed = 0.0, False
    components: dict[str, float] = {}
    observations, actions, seconds = [obs], [], []
    states = [np.array(raw.state, dtype=np.float64)] if record_states else None
    while max_steps is None or len(actions) < max_steps:
        start = time.perf_counter()
        action = np.asarray(controller(obs), dtype=np.float32).reshape(-1)
        seconds.append(time.perf_counter() - start)
        obs, reward, terminated, truncated, step_info = env.step(action)
        total += float(reward)
        observations.append(obs)
        actions.append(action)
        if states is not None:
            states.append(np.array(raw.state, dtype=np.float64))
        for k, v in step_info.get("reward_components", {}).items():
            components[k] = components.get(k, 0.0) + float(v)
        if terminated or truncated:
            crashed = bool(step_info.get("crashed", terminated))
            break
    result = {
        "return": total,
        "crashed": crashed,
        "length": len(actions),
        "components": components,
        "params": info["params"],
        "observations": np.asarray(observations),
        "actions": np.asarray(actions),
        "step_seconds": np.asarray(seconds),
    }
    if states is not None:
        result["states"] = np.asarray(states)
    return result
