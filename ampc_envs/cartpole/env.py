"""The cart-pole swing-up task on the MuJoCo model of :mod:`ampc_envs.cartpole.model`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from ampc_envs.cartpole import model as cartpole_model
from ampc_envs.cartpole.params import (
    CONTROL_DT,
    EPISODE_SECONDS,
    FORCE_LIMIT,
    PHYSICS_DT,
    RAIL_LIMIT,
    CartpoleParams,
)
from ampc_envs.core.angles import wrap_angle
from ampc_envs.core.env import RandomizedMujocoEnv, available_render_modes

__all__ = ["CartpoleSwingUpEnv", "swingup_reward"]

# Widths of the reward's shaping terms (see the class docstring).
X_SCALE = 0.25  # m
XDOT_SCALE = 1.0  # m/s
THETADOT_SCALE = 2.0  # rad/s
EFFORT_WEIGHT = 0.2


def swingup_reward(state: np.ndarray, force: float) -> tuple[float, dict[str, float]]:
    """Reward in [0, 1] of one control step, and its components.

    ``upright * (1 + centred)/2 * (1 + calm)/2 * effort`` with
    ``upright = ((1 + cos theta)/2)^2``, ``centred = exp(-(x/0.25)^2/2)``,
    ``calm = exp(-((x_dot/1)^2 + (theta_dot/2)^2)/2)``,
    ``effort = 1 - 0.2 (u/F_max)^2``.
    """
    x, th, xd, thd = state
    upright = (0.5 * (1.0 + math.cos(th))) ** 2
    centred = math.exp(-0.5 * (x / X_SCALE) ** 2)
    calm = math.exp(-0.5 * ((xd / XDOT_SCALE) ** 2 + (thd / THETADOT_SCALE) ** 2))
    effort = 1.0 - EFFORT_WEIGHT * min((force / FORCE_LIMIT) ** 2, 1.0)
    reward = upright * 0.5 * (1.0 + centred) * 0.5 * (1.0 + calm) * effort
    return reward, {"upright": upright, "centred": centred, "calm": calm, "effort": effort}


class CartpoleSwingUpEnv(RandomizedMujocoEnv):
    r"""Swing a pole up from hanging and balance it, on a cart with a limited rail.

    A cart moves on a rail of half-length 0.8 m, driven by a force; a uniform pole is
    hinged on the cart. The pole starts hanging down; the task is to swing it up and
    keep it upright near the centre of the rail. The physics is a MuJoCo model (RK4,
    2 ms step) built from :class:`~ampc_envs.cartpole.params.CartpoleParams`, whose
    values can be randomized at every reset to create sim-to-real mismatch.

    ## Action Space
    ``Box(-10, 10, (1,), float32)``: the force command in N. The force applied to the
    cart is ``actuator_gain * u``, after ``actuation_delay`` control steps; commands
    beyond ±10 N saturate at the actuator (the limit of the motor amplifier).

    | Num | Action             | Min | Max | Unit |
    |-----|--------------------|-----|-----|------|
    | 0   | force command on cart | -10 | 10 | N |

    ## Observation Space
    ``Box(-inf, inf, (4,), float64)`` with theta in (-pi, pi]: the full state, plus
    Gaussian noise of std ``position_noise`` / ``velocity_noise``.

    | Num | Observation                                | Unit  |
    |-----|--------------------------------------------|-------|
    | 0   | cart position x (right positive)           | m     |
    | 1   | pole angle theta, 0 upright, +: leaning to +x, wrapped to (-pi, pi] | rad |
    | 2   | cart velocity                              | m/s   |
    | 3   | pole angular velocity                      | rad/s |

    ## Rewards
    Bounded in [0, 1] per step, smooth, close to 1 only when the pole is upright, the
    cart centred and the motion calm:
    ``r = upright * (1 + centred)/2 * (1 + calm)/2 * effort`` with
    ``upright = ((1 + cos theta)/2)^2``, ``centred = exp(-(x/0.25 m)^2/2)``,
    ``calm = exp(-((x_dot/1 m/s)^2 + (theta_dot/2 rad/s)^2)/2)`` and
    ``effort = 1 - 0.2 (u/10 N)^2``. ``info["reward_components"]`` holds the four terms.

    ## Starting State
    ``x ~ U(-0.05, 0.05)`` m, ``theta ~ pi + U(-0.1, 0.1)`` rad (hanging), velocities
    ``~ U(-0.05, 0.05)``. ``reset(options={"state": [x, theta, x_dot, theta_dot]})``
    sets it exactly.

    ## Episode End
    - Termination (a crash): the cart leaves the rail, ``|x| > 0.8`` m;
      ``info["crashed"] = True``.
    - Truncation: after 6 s (300 control steps at 50 Hz).

    ## Arguments
    ``gymnasium.make("ampc_envs/CartpoleSwingUp-v0", **kwargs)`` with

    | Parameter     | Type | Default | Description |
    |---------------|------|---------|-------------|
    | `params`      | `CartpoleParams`, str or dict | `"nominal"` | stored system; a name (`"nominal"`, `"hardware-like"`) or overrides of the nominal values |
    | `randomize`   | bool or dict | `False` | `True`: sample every reset from `CartpoleParams.default_ranges`; a dict `{name: (low, high)}`: from these ranges |
    | `episode_seconds` | float | `6.0` | truncation time in s |
    | `render_mode` | str | `None` | `"rgb_array"` (headless) or `"human"` |
    | `width`, `height` | int | 480, 360 | frame size in pixels |

    ``reset(options={"params": ...})`` fixes the system instance of one episode;
    ``info["params"]`` always reports the instance in use. Physical parameters, their
    units and the named instances are in :class:`CartpoleParams`.

    ## Version History
    - v0: initial version.
    """

    metadata = {"render_modes": available_render_modes(), "render_fps": round(1 / CONTROL_DT)}
    params_cls = CartpoleParams
    frame_skip = round(CONTROL_DT / PHYSICS_DT)
    episode_seconds = EPISODE_SECONDS
    default_camera = "fixed"

    def __init__(
        self,
        params: CartpoleParams | dict[str, float] | str | None = None,
        randomize: bool | dict[str, tuple[float, float]] = False,
        episode_seconds: float = EPISODE_SECONDS,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 360,
    ) -> None:
        super().__init__(params, randomize, episode_seconds, render_mode, width, height)
        self.action_space = spaces.Box(-FORCE_LIMIT, FORCE_LIMIT, (1,), np.float32)
        high = np.array([np.inf, np.pi, np.inf, np.inf])
        self.observation_space = spaces.Box(-high, high, dtype=np.float64)

    def _build_model(self, params: CartpoleParams):
        return cartpole_model.build_model(params)

    def _apply_params(self, params: CartpoleParams) -> None:
        cartpole_model.apply_params(self.model, self.data, params)

    def _check_state(self, state: Any) -> np.ndarray:
        s = np.asarray(state, dtype=np.float64)
        if s.shape != (4,) or not np.all(np.isfinite(s)):
            raise ValueError(
                f"start state must be 4 finite numbers [x, theta, x_dot, theta_dot], got {state!r}"
            )
        return s

    def _reset_state(self, state: np.ndarray | None) -> None:
        if state is None:
            u = self.np_random.uniform(-1.0, 1.0, size=4)
            state = np.array([0.05 * u[0], math.pi + 0.1 * u[1], 0.05 * u[2], 0.05 * u[3]])
        self.data.qpos[:] = state[:2]
        self.data.qvel[:] = state[2:]

    @property
    def state(self) -> np.ndarray:
        """True state ``[x, theta, x_dot, theta_dot]`` (theta wrapped, no noise)."""
        q, v = self.data.qpos, self.data.qvel
        return np.array([q[0], wrap_angle(q[1]), v[0], v[1]])

    def _observe(self, state: np.ndarray) -> np.ndarray:
        """The measurement of ``state``: the state plus the instance's sensor noise."""
        obs = state
        p = self.params
        if p.position_noise > 0 or p.velocity_noise > 0:
            std = np.array([p.position_noise, p.position_noise, p.velocity_noise, p.velocity_noise])
            obs = obs + std * self.np_random.standard_normal(4)
            obs[1] = wrap_angle(obs[1])
        return obs

    def _reward(self, state: np.ndarray, command: np.ndarray) -> tuple[float, dict[str, float]]:
        return swingup_reward(state, float(np.clip(command[0], -FORCE_LIMIT, FORCE_LIMIT)))

    def _crashed(self, state: np.ndarray) -> bool:
        return bool(abs(state[0]) > RAIL_LIMIT)
