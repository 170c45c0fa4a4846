"""Tuning environment: one step is one whole closed-loop episode at a parameter vector.

The action is the parameter vector theta of a parametric controller (for the AMPC:
``u = pi(x) + J(x) (theta - theta_nom)``), the reward the return of one episode of
that controller on a chosen system instance. Any optimizer, or an RL agent, can drive
it; the tuners of :mod:`ampc_agent.tuners` use it through ask/tell.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = ["EpisodeTuningEnv", "ParametricPolicy", "run_episode"]

SEED_MODES = ("fixed", "fresh")


class ParametricPolicy(Protocol):
    """What the tuning env needs from a controller."""

    theta_names: tuple[str, ...]
    tuning_lower: np.ndarray
    tuning_upper: np.ndarray
    theta_nominal: np.ndarray
    theta: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


def run_episode(
    env: gym.Env,
    policy: ParametricPolicy,
    *,
    seed: int | None,
    params: Any = None,
) -> dict[str, Any]:
    """Run one closed-loop episode of ``policy`` (at its current theta) on ``env``.

    Args:
        env: A system env (for example ``ampc_envs/CartpoleSwingUp-v0``).
        policy: Controller mapping an observation to an action.
        seed: Episode seed (start state, noise, sampled physics).
        params: System instance passed as ``reset(options={"params": params})``.

    Returns:
        ``return``, ``crashed``, ``length`` (steps), per-component sums of
        ``info["reward_components"]``, the instance ``params``, and the ``states``
        and ``actions`` of the episode.
    """
    options = {"params": params} if params is not None else None
    obs, info = env.reset(seed=seed, options=options)
    total, steps, crashed = 0.0, 0, False
    components: dict[str, float] = {}
    states, actions = [obs], []
    while True:
        action = np.asarray(policy(obs), dtype=np.float32)
        obs, reward, terminated, truncated, step_info = env.step(action)
        total += float(reward)
        steps += 1
        states.append(obs)
        actions.append(action)
        for k, v in step_info.get("reward_components", {}).items():
            components[k] = components.get(k, 0.0) + float(v)
        if terminated or truncated:
            crashed = bool(step_info.get("crashed", terminated))
            break
    return {
        "return": total,
        "crashed": crashed,
        "length": steps,
        "components": components,
        "params": info["params"],
        "states": np.asarray(states),
        "actions": np.asarray(actions),
    }


class EpisodeTuningEnv(gym.Env):
    r"""Bandit-style env: the action is theta, one step runs one whole episode.

    ## Action Space
    ``Box(tuning_lower, tuning_upper, (d,), float64)``: the controller's parameter
    vector theta, in its own units, inside the tuning bounds (from the policy's
    metadata unless given). theta outside the box, non-finite or of the wrong shape
    raises ``ValueError``: a tuner must not silently get a clipped experiment.

    ## Observation Space
    ``Box(0, 0, (1,), float32)``: constant; every step is a fresh experiment.

    ## Rewards
    The return of the closed-loop episode on the system instance.

    ## Episode End
    Every step terminates (one experiment per episode).

    ## Info
    ``crashed`` (the system's crash flag), ``return``, ``components`` (sums of the
    system's reward components), ``params`` (the system instance), ``length``
    (control steps), ``episode_seed``, ``theta``.

    ## Arguments
    | Parameter | Default | Description |
    |-----------|---------|-------------|
    | `env_id` | — | system env id, e.g. `"ampc_envs/CartpoleSwingUp-v0"` |
    | `policy` | shipped AMPC | a :class:`ParametricPolicy`, or a name for `load_shipped_policy` |
    | `system` | `"hardware-like"` | instance name, dict of overrides, or params |
    | `episode_seed` | `"fixed"` | `"fixed"`: same start and noise every episode; `"fresh"`: new seed per episode |
    | `seed` | 0 | base seed of the episodes |
    | `lower`, `upper` | policy's tuning bounds | box of theta |
    | `env_kwargs` | `{}` | passed to `gym.make(env_id, ...)` |
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        env_id: str,
        policy: ParametricPolicy | str,
        system: Any = "hardware-like",
        episode_seed: str = "fixed",
        seed: int = 0,
        lower: np.ndarray | None = None,
        upper: np.ndarray | None = None,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if episode_seed not in SEED_MODES:
            raise ValueError(f"episode_seed must be one of {SEED_MODES}, got {episode_seed!r}")
        if isinstance(policy, str):
            from ampc_agent.policy import load_shipped_policy

            policy = load_shipped_policy(policy)
        self.policy = policy
        self.system_env = gym.make(env_id, **(env_kwargs or {}))
        # Resolve the instance once so that a bad name fails here, not mid-study.
        self.system = self.system_env.unwrapped.params_cls.resolve(system).to_dict()
        lower = np.asarray(policy.tuning_lower if lower is None else lower, dtype=np.float64)
        upper = np.asarray(policy.tuning_upper if upper is None else upper, dtype=np.float64)
        self.action_space = spaces.Box(lower, upper, dtype=np.float64)
        self.observation_space = spaces.Box(0.0, 0.0, (1,), np.float32)
        self.theta_names = tuple(policy.theta_names)
        self.episode_seed = episode_seed
        self.base_seed = int(seed)
        self.episodes = 0

    def check_theta(self, theta: Any) -> np.ndarray:
        """Return theta as a float array, or raise ``ValueError`` naming the bad value."""
        t = np.asarray(theta, dtype=np.float64)
        box = self.action_space
        if t.shape != box.shape:
            raise ValueError(f"theta must have shape {box.shape}, got shape {t.shape}: {theta!r}")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"theta must be finite, got {theta!r}")
        outside = [
            f"{name}={value:g} not in [{lo:g}, {hi:g}]"
            for name, value, lo, hi in zip(self.theta_names, t, box.low, box.high, strict=True)
            if not lo <= value <= hi
        ]
        if outside:
            raise ValueError(f"theta outside the tuning bounds: {', '.join(outside)}")
        return t

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self.base_seed = int(seed)
            self.episodes = 0
        return np.zeros(1, np.float32), {}

    def seed_for(self, episode: int) -> int:
        """Seed of episode number ``episode``: the base seed, or base + episode if fresh."""
        return self.base_seed if self.episode_seed == "fixed" else self.base_seed + episode

    def run(self, theta: Any, controller: ParametricPolicy | None = None) -> dict[str, Any]:
        """Run the next episode at ``theta`` and return all of :func:`run_episode`'s result.

        The seed follows ``episode_seed`` and the episode counter. ``controller`` runs in
        place of the policy (for example a reference MPC) while ``theta`` is still
        checked and set on the policy.

        Returns:
            :func:`run_episode`'s dict plus ``theta`` and ``episode_seed``.
        """
        theta = self.check_theta(theta)
        self.policy.theta = theta
        seed = self.seed_for(self.episodes)
        result = run_episode(
            self.system_env, controller or self.policy, seed=seed, params=self.system
        )
        self.episodes += 1
        if not math.isfinite(result["return"]):
            raise RuntimeError(f"episode return is not finite: {result['return']!r}")
        result.update(theta=theta.copy(), episode_seed=seed)
        return result

    def step(self, theta: Any):
        """Run one episode of the policy at ``theta``; returns the episode return."""
        result = self.run(theta)
        keys = ("crashed", "return", "components", "params", "length", "episode_seed", "theta")
        info = {k: result[k] for k in keys}
        reward = result["return"]
        return np.zeros(1, np.float32), reward, True, False, info

    def close(self) -> None:
        self.system_env.close()
