"""Base class of the MuJoCo environments with randomizable physics.

It owns what every system shares: the stored nominal parameters, per-reset sampling
of a system instance, the actuation-delay line, action checks, the episode clock,
the step template and rendering through Gymnasium's
:class:`~gymnasium.envs.mujoco.mujoco_rendering.MujocoRenderer`. A system subclass
provides the model (``_build_model``, ``_apply_params``, ``physics_step``), the
state (``state``, ``_reset_state``, ``_check_state``, ``_observe``) and the task
(``_reward``, ``_crashed``, ``_step_info``).
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.envs.mujoco.mujoco_rendering import MujocoRenderer

from ampc_envs.core.params import ParamRanges, PhysicalParams

__all__ = ["RandomizedMujocoEnv", "available_render_modes"]

RESET_OPTIONS = ("params", "state")


def available_render_modes() -> list[str]:
    """``["rgb_array"]``, plus ``"human"`` when a display exists to open a window on."""
    has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return ["rgb_array", "human"] if has_display else ["rgb_array"]


class RandomizedMujocoEnv(gym.Env):
    """MuJoCo env whose physical parameters are resampled at every reset.

    Args:
        params: The stored nominal system: a params instance, an instance name
            (``"nominal"``, ``"hardware-like"``) or a dict of overrides of the nominal
            values. Every reset starts from these values.
        randomize: ``False`` (always the stored system), ``True`` (the class's default
            ranges) or ``{name: (low, high)}`` ranges; sampled uniformly at each reset.
        episode_seconds: Truncation time in s.
        render_mode: ``None``, ``"rgb_array"`` or ``"human"``.
        width, height: Size of rendered frames in pixels.
    """

    params_cls: ClassVar[type[PhysicalParams]]
    frame_skip: ClassVar[int]
    episode_seconds: ClassVar[float]
    default_camera: ClassVar[str | None] = None
    #: Longest actuation delay simulated, in control steps (the delay line holds one
    #: command per step; real latencies are a few steps).
    max_delay_steps: ClassVar[int] = 10

    def __init__(
        self,
        params: PhysicalParams | Mapping[str, float] | str | None = None,
        randomize: bool | ParamRanges = False,
        episode_seconds: float | None = None,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 360,
    ) -> None:
        if episode_seconds is None:
            episode_seconds = self.episode_seconds
        if (
            isinstance(episode_seconds, bool)
            or not isinstance(episode_seconds, (int, float))
            or not 0 < episode_seconds < math.inf
        ):
            raise ValueError(f"episode_seconds must be a positive number, got {episode_seconds!r}")
        if render_mode not in (None, *self.metadata["render_modes"]):
            hint = (
                " ('human' needs a display: DISPLAY is not set)" if render_mode == "human" else ""
            )
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}{hint}"
            )
        self.nominal_params = self.check_params(self.params_cls.resolve(params))
        if randomize is True:
            ranges = self.params_cls.default_ranges
        elif randomize is False or randomize is None:
            ranges = {}
        elif isinstance(randomize, Mapping):
            ranges = randomize
        else:
            raise ValueError(f"randomize must be a bool or a dict of ranges, got {randomize!r}")
        self.randomize_ranges = self.params_cls.check_ranges(ranges)
        if "actuation_delay" in self.randomize_ranges:
            high = self.randomize_ranges["actuation_delay"][1]
            self._check_delay(high, "range high of 'actuation_delay'")
        self.params = self.nominal_params

        self.model = self._build_model(self.nominal_params)
        self.model.vis.global_.offwidth = max(self.model.vis.global_.offwidth, width)
        self.model.vis.global_.offheight = max(self.model.vis.global_.offheight, height)
        self.data = mujoco.MjData(self.model)
        self._delay_line: deque[np.ndarray] = deque()
        self.max_steps = round(episode_seconds / self.dt)
        self._steps = 0

        self.render_mode = render_mode
        self.mujoco_renderer = MujocoRenderer(
            self.model, self.data, None, width, height, camera_name=self.default_camera
        )

    # ----------------------------------------------------------------- per system
    def _build_model(self, params: PhysicalParams) -> mujoco.MjModel:
        raise NotImplementedError

    def _apply_params(self, params: PhysicalParams) -> None:
        raise NotImplementedError

    @staticmethod
    def physics_step(
        model: mujoco.MjModel, data: mujoco.MjData, params: PhysicalParams, n: int
    ) -> None:
        """Advance the bare physics by ``n`` MuJoCo steps with ``data.ctrl`` held."""
        mujoco.mj_step(model, data, nstep=n)

    @property
    def state(self) -> np.ndarray:
        """The true (noise-free) state vector."""
        raise NotImplementedError

    def _reset_state(self, state: np.ndarray | None) -> None:
        """Set ``data`` to a start state (sampled from ``self.np_random`` if None)."""
        raise NotImplementedError

    def _check_state(self, state: Any) -> np.ndarray:
        """Validate a user-given start state (``options["state"]``)."""
        raise NotImplementedError

    def _observe(self, state: np.ndarray) -> np.ndarray:
        """The observation of ``state`` (sensor noise from ``self.np_random``)."""
        raise NotImplementedError

    def _get_obs(self) -> np.ndarray:
        """The observation of the current state."""
        return self._observe(self.state)

    def _reward(self, state: np.ndarray, command: np.ndarray) -> tuple[float, dict[str, float]]:
        """Reward of a step ending in ``state`` under ``command``, and its components."""
        raise NotImplementedError

    def _crashed(self, state: np.ndarray) -> bool:
        """Whether ``state`` ends the episode as a crash."""
        raise NotImplementedError

    def _step_info(self) -> dict[str, Any]:
        """Entries of ``info`` beyond ``crashed`` and ``reward_components``."""
        return {}

    # ---------------------------------------------------------------- shared logic
    def check_params(self, params: PhysicalParams) -> PhysicalParams:
        """Return ``params`` if this env can simulate them, else raise ``ValueError``.

        The params class checks physics (types, signs, whole numbers); the env adds
        its own limit: an actuation delay of at most :attr:`max_delay_steps` steps.
        """
        self._check_delay(params.actuation_delay, f"{type(params).__name__}.actuation_delay")
        return params

    def _check_delay(self, delay: float, what: str) -> None:
        if delay > self.max_delay_steps:
            raise ValueError(
                f"{what} must be <= {self.max_delay_steps} control steps, got {delay!r}"
            )

    @property
    def dt(self) -> float:
        """Control period in s."""
        return self.model.opt.timestep * self.frame_skip

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode on a (possibly sampled) system instance.

        Args:
            seed: Seeds the env's generator (start state, sampled physics, noise).
            options: ``{"params": instance | name | dict}`` fixes the system instance
                for this episode (dict entries override the stored nominal values);
                ``{"state": array}`` fixes the start state.

        Returns:
            The first observation and ``info`` with ``info["params"]``, the instance.
        """
        options = dict(options or {})
        unknown = [k for k in options if k not in RESET_OPTIONS]
        if unknown:
            raise ValueError(f"unknown reset option(s) {unknown}; valid: {list(RESET_OPTIONS)}")
        # Everything is checked before anything is changed: a rejected reset leaves the
        # env as it was.
        state = self._check_state(options["state"]) if "state" in options else None
        fixed = options.get("params")
        if fixed is not None:
            params = self.check_params(
                self.nominal_params.replace(**fixed)
                if isinstance(fixed, Mapping)
                else self.params_cls.resolve(fixed)
            )
        super().reset(seed=seed)
        if fixed is None:
            params = (
                self.nominal_params.sample(self.randomize_ranges, self.np_random)
                if self.randomize_ranges
                else self.nominal_params
            )
        self.params = params
        self._apply_params(params)
        mujoco.mj_resetData(self.model, self.data)
        self._steps = 0
        self._reset_state(state)
        mujoco.mj_forward(self.model, self.data)
        nu = self.model.nu
        self._delay_line = deque(
            [np.zeros(nu) for _ in range(int(params.actuation_delay))],
            maxlen=int(params.actuation_delay) + 1,
        )
        obs = self._get_obs()
        if self.render_mode == "human":
            self.render()
        return obs, {"params": params.to_dict()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply the command for one control period.

        Returns:
            ``(observation, reward, terminated, truncated, info)``: terminated on a crash
            (``info["crashed"]``), truncated after ``episode_seconds``;
            ``info["reward_components"]`` holds the reward's factors.
        """
        command = self._check_action(action)
        self.data.ctrl[:] = self._delayed(command)
        self.physics_step(self.model, self.data, self.params, self.frame_skip)
        self._steps += 1
        state = self.state
        reward, components = self._reward(state, command)
        crashed = self._crashed(state)
        truncated = self._steps >= self.max_steps and not crashed
        if self.render_mode == "human":
            self.render()
        info = {"crashed": crashed, "reward_components": components, **self._step_info()}
        return self._observe(state), reward, crashed, truncated, info

    def _check_action(self, action: Any) -> np.ndarray:
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(
                f"action must have shape {self.action_space.shape}, got shape {a.shape}: {action!r}"
            )
        if not np.all(np.isfinite(a)):
            raise ValueError(f"action must be finite, got {action!r}")
        return a

    def _delayed(self, action: np.ndarray) -> np.ndarray:
        """Push the new command into the delay line and return the one applied now."""
        self._delay_line.append(action)
        return self._delay_line.popleft()

    def render(self) -> np.ndarray | None:
        """Render a frame (``rgb_array``: an ``(H, W, 3)`` uint8 array)."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode")
            return None
        return self.mujoco_renderer.render(self.render_mode)

    def close(self) -> None:
        if self.mujoco_renderer is not None:
            self.mujoco_renderer.close()
