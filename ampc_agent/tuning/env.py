"""Tuning environment: one step is one whole closed-loop episode at a parameter vector.

The action is the parameter vector theta of a parametric controller (for the AMPC:
``u = pi(x) + J(x) (theta - theta_nom)``), the reward the return of one episode of
that controller on a chosen system instance. Any optimizer, or an RL agent, can drive
it; the tuners of :mod:`ampc_agent.tuners` use it through ask/tell.

The ids ``ampc_envs/<System>Tuning-v0`` are registered by :mod:`ampc_envs` with a lazy
entry point (:func:`make_tuning_env`): importing ``ampc_envs`` loads nothing of this
package; ``gym.make`` does.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ampc_agent.theta import ThetaSpec
from ampc_envs.core.episode import run_episode

__all__ = ["EpisodeTuningEnv", "ParametricPolicy", "SEED_MODES", "make_tuning_env"]

SEED_MODES = ("fixed", "fresh")


class ParametricPolicy(Protocol):
    """What the tuning env needs from a controller: its theta spec and a settable theta."""

    theta_spec: ThetaSpec
    theta: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray: ...


def _check_seed(seed: Any, what: str = "seed") -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{what} must be a non-negative integer, got {seed!r}")
    return int(seed)


class EpisodeTuningEnv(gym.Env):
    r"""Bandit-style env: the action is theta, one step runs one whole episode.

    ## Action Space
    ``Box(tuning_lower, tuning_upper, (d,), float64)``: the controller's parameter
    vector theta, in its own units, inside the tuning bounds (from the policy's
    theta spec unless given). theta outside the box, non-finite or of the wrong shape
    raises ``ValueError`` naming the entry: a tuner must not silently get a clipped
    experiment.

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
    | `policy` | — | a :class:`ParametricPolicy` (the AMPC) |
    | `instance` | `"hardware-like"` | instance name, dict of overrides, or params |
    | `episode_seed` | `"fixed"` | `"fixed"`: same start and noise every episode; `"fresh"`: new seed per episode |
    | `seed` | 0 | base seed of the episodes |
    | `lower`, `upper` | policy's tuning bounds | box of theta |
    | `env_kwargs` | `{}` | passed to `gym.make(env_id, ...)` |
    | `render_mode` | `None` | `None` or `"rgb_array"`: `render()` returns the last frame of the last episode |

    Every argument is checked here (``ValueError`` naming the value): a bad instance,
    seed or box fails before the first episode, not in the middle of a study.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        env_id: str,
        policy: ParametricPolicy,
        instance: Any = "hardware-like",
        episode_seed: str = "fixed",
        seed: int = 0,
        lower: np.ndarray | None = None,
        upper: np.ndarray | None = None,
        env_kwargs: dict[str, Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(env_id, str):
            raise ValueError(f"env_id must be a Gymnasium id string, got {env_id!r}")
        if not isinstance(getattr(policy, "theta_spec", None), ThetaSpec) or not callable(policy):
            raise ValueError(
                f"policy must be a controller with a theta_spec (a ParametricPolicy), "
                f"got {policy!r}"
            )
        if episode_seed not in SEED_MODES:
            raise ValueError(f"episode_seed must be one of {SEED_MODES}, got {episode_seed!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if env_kwargs is not None and not isinstance(env_kwargs, Mapping):
            raise ValueError(f"env_kwargs must be a dict, got {env_kwargs!r}")
        kwargs = dict(env_kwargs or {})
        if "render_mode" in kwargs:
            raise ValueError("pass render_mode to the tuning env itself, not in env_kwargs")
        self.base_seed = _check_seed(seed)
        self.policy = policy
        self.render_mode = render_mode
        if render_mode is not None:
            kwargs["render_mode"] = render_mode
        try:
            self.system_env = gym.make(env_id, **kwargs)
        except gym.error.Error as err:  # unknown id or version: Gymnasium's own message
            raise ValueError(f"cannot make {env_id!r}: {err}") from None
        # Resolve the instance once so that a bad name or value fails here, not mid-study.
        system = self.system_env.unwrapped
        try:
            self.system = system.check_params(system.params_cls.resolve(instance)).to_dict()
        except ValueError:
            self.system_env.close()
            raise
        spec = policy.theta_spec
        if lower is not None or upper is not None:
            spec = spec.with_tuning_bounds(
                spec.tuning_lower if lower is None else lower,
                spec.tuning_upper if upper is None else upper,
            )
        self.theta_spec = spec
        self.action_space = spaces.Box(
            spec.tuning_lower_array, spec.tuning_upper_array, dtype=np.float64
        )
        self.observation_space = spaces.Box(0.0, 0.0, (1,), np.float32)
        self.theta_names = spec.names
        self.episode_seed = episode_seed
        self.episodes = 0

    def check_theta(self, theta: Any) -> np.ndarray:
        """Return theta as a float array, or raise ``ValueError`` naming the bad entry."""
        return self.theta_spec.check(theta, tuning=True)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is not None:
            self.base_seed = _check_seed(seed)
            self.episodes = 0
        return np.zeros(1, np.float32), {}

    def seed_for(self, episode: int) -> int:
        """Seed of episode number ``episode``: the base seed, or base + episode if fresh."""
        return self.base_seed if self.episode_seed == "fixed" else self.base_seed + episode

    def run(self, theta: Any, controller: Any = None, seed: int | None = None) -> dict[str, Any]:
        """Run the next episode at ``theta`` and return all of :func:`run_episode`'s result.

        The seed follows ``episode_seed`` and the episode counter. ``controller`` runs in
        place of the policy (for example a reference MPC) while ``theta`` is still
        checked and set on the policy. With ``seed``, the episode runs with that seed
        instead and is not counted (a held-out evaluation of a recommended theta).

        Returns:
            :func:`~ampc_envs.core.episode.run_episode`'s dict plus ``theta`` and
            ``episode_seed``.
        """
        theta = self.check_theta(theta)
        self.policy.theta = theta
        counted = seed is None
        seed = self.seed_for(self.episodes) if counted else _check_seed(seed)
        result = run_episode(
            self.system_env, controller or self.policy, seed=seed, params=self.system
        )
        self.episodes += int(counted)
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

    def render(self) -> np.ndarray | None:
        """The system env's frame at the end of the last episode (``rgb_array`` mode)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode")
            return None
        return self.system_env.render()

    def close(self) -> None:
        self.system_env.close()


def make_tuning_env(
    env_id: str, policy: ParametricPolicy | str | Path | None = None, **kwargs: Any
) -> EpisodeTuningEnv:
    """The tuning env of the registered system whose env is ``env_id``.

    The entry point of the ``ampc_envs/<System>Tuning-v0`` ids.

    Args:
        env_id: The system env's Gymnasium id.
        policy: The controller, a folder of AMPC weights, or ``None`` for the system's
            shipped AMPC.
        **kwargs: Passed to :class:`EpisodeTuningEnv` (``instance``, ``episode_seed``,
            ``seed``, ``lower``, ``upper``, ``env_kwargs``, ``render_mode``).
    """
    from ampc_agent.systems import system_for_env

    spec = system_for_env(env_id)
    if policy is None or isinstance(policy, (str, Path)):
        policy = spec.load_policy(policy)
    return EpisodeTuningEnv(env_id, policy, **kwargs)
