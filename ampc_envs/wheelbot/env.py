"""The Wheelbot yaw task on the MuJoCo model of :mod:`ampc_envs.wheelbot.model`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from ampc_envs.core.angles import wrap_angle
from ampc_envs.core.env import RandomizedMujocoEnv, available_render_modes
from ampc_envs.wheelbot import model as wheelbot_model
from ampc_envs.wheelbot.params import (
    CONTROL_DT,
    CRASH_ANGLE,
    EPISODE_SECONDS,
    PHYSICS_DT,
    TORQUE_LIMIT,
    WheelbotParams,
)

__all__ = ["WheelbotYawEnv", "yaw_reward", "DEFAULT_YAW_SCHEDULE"]

#: The yaw test of the robot: ``(time in s, yaw reference in rad from then on)``; the
#: reference is 0 before the first entry.
DEFAULT_YAW_SCHEDULE: tuple[tuple[float, float], ...] = (
    (5.0, math.pi / 2),
    (10.0, 0.0),
    (15.0, -math.pi / 2),
    (20.0, 0.0),
)
EFFORT_WEIGHT = 0.1


def yaw_reward(yaw_error: float, torques: np.ndarray) -> tuple[float, dict[str, float]]:
    """Reward in [0, 1] of one control step, and its components.

    ``tracking * effort`` with ``tracking = 1 - |wrap(yaw_error)| / pi`` (1 on the
    reference, 0 facing away from it) and ``effort = 1 - 0.1 (tau_W^2 + tau_R^2) /
    (2 * 0.5^2)`` for the commanded torques clipped to ±0.5 N m.
    """
    tracking = 1.0 - abs(float(wrap_angle(yaw_error))) / math.pi
    tau_w, tau_r = (min(max(float(t), -TORQUE_LIMIT), TORQUE_LIMIT) for t in torques)
    effort = 1.0 - EFFORT_WEIGHT * (tau_w * tau_w + tau_r * tau_r) / (2 * TORQUE_LIMIT**2)
    return tracking * effort, {"tracking": tracking, "effort": effort}


def _check_schedule(schedule: Any) -> tuple[tuple[float, float], ...]:
    try:
        pairs = tuple((float(t), float(v)) for t, v in schedule)
    except (TypeError, ValueError):
        raise ValueError(
            f"yaw_schedule must be a sequence of (time_s, yaw_rad) pairs, got {schedule!r}"
        ) from None
    times = [t for t, _ in pairs]
    if not all(math.isfinite(t) and math.isfinite(v) for t, v in pairs):
        raise ValueError(f"yaw_schedule entries must be finite, got {schedule!r}")
    if any(t < 0 for t in times) or any(b <= a for a, b in zip(times, times[1:], strict=False)):
        raise ValueError(f"yaw_schedule times must be >= 0 and strictly increasing, got {times!r}")
    return pairs


class WheelbotYawEnv(RandomizedMujocoEnv):
    r"""Turn a balancing reaction-wheel unicycle (the Mini Wheelbot) to yaw references.

    A body balances on a driving wheel that rolls on the floor; a reaction wheel on top
    balances roll. Two motors drive the wheels; nothing drives yaw directly. Yaw changes
    only through gyroscopic coupling (for example, rolling the wheel while the reaction
    wheel tilts the robot sideways), and it is not controllable through the
    linearisation at upright. The task is the robot's yaw test: stay upright and follow
    a yaw reference of +pi/2 at 5 s, 0 at 10 s, -pi/2 at 15 s and 0 at 20 s, to 25 s.
    The physics is a MuJoCo model (free-floating body, wheel-floor contact that rolls
    without slipping, 0.5 ms implicit steps) built from
    :class:`~ampc_envs.wheelbot.params.WheelbotParams`, whose values can be
    randomized at every reset to create sim-to-real mismatch.

    ## Action Space
    ``Box(-0.5, 0.5, (2,), float32)``: the motor torque commands in N m. The torques
    applied are ``actuator_gain * u``, after ``actuation_delay`` control steps; commands
    beyond ±0.5 N m saturate at the motor drivers. A positive torque accelerates its
    wheel positively (about +y for the driving wheel, +x for the reaction wheel) and
    the body the other way.

    | Num | Action                                   | Min  | Max | Unit |
    |-----|------------------------------------------|------|-----|------|
    | 0   | driving-wheel torque tau_W               | -0.5 | 0.5 | N m  |
    | 1   | reaction-wheel torque tau_R              | -0.5 | 0.5 | N m  |

    ## Observation Space
    ``Box(-inf, inf, (11,), float64)``, yaw wrapped to (-pi, pi]: the 10-state vector
    computed from MuJoCo's state, plus Gaussian noise of std ``angle_noise`` on yaw, roll
    and pitch and ``rate_noise`` on the five rates, and the current yaw reference.
    Yaw, roll, pitch are z-x-y Euler angles of the body, ``R = Rz(psi) Rx(phi)
    Ry(theta)``; wheel angles are relative to the body (motor encoders).

    | Num | Observation                                                  | Unit  |
    |-----|--------------------------------------------------------------|-------|
    | 0   | yaw psi, about the vertical, wrapped to (-pi, pi]            | rad   |
    | 1   | roll phi, about the yawed x axis; 0 upright, +: falls to -y  | rad   |
    | 2   | pitch theta, about the wheel axle; 0 upright, +: leans to +x | rad   |
    | 3   | yaw rate psi_dot                                             | rad/s |
    | 4   | roll rate phi_dot                                            | rad/s |
    | 5   | pitch rate theta_dot                                         | rad/s |
    | 6   | driving-wheel angle q_W (relative to the body, unbounded)    | rad   |
    | 7   | reaction-wheel angle q_R (relative to the body, unbounded)   | rad   |
    | 8   | driving-wheel rate omega_W                                   | rad/s |
    | 9   | reaction-wheel rate omega_R                                  | rad/s |
    | 10  | yaw reference psi_ref at the current time                    | rad   |

    ## Rewards
    Bounded in [0, 1] per step: ``r = tracking * effort`` with
    ``tracking = 1 - |wrap(psi - psi_ref)| / pi`` (the wrapped yaw error, so that +pi
    and -pi are the same heading) and ``effort = 1 - 0.1 (tau_W^2 + tau_R^2) /
    (2 (0.5 N m)^2)`` on the clipped commands. A return of ``N * (1 - e/pi)`` over
    ``N`` steps means a mean absolute yaw error ``e`` (at small effort).
    ``info["reward_components"]`` holds both terms; ``info["yaw_reference"]`` the
    reference.

    ## Starting State
    Upright with small perturbations, contact at the world origin: yaw
    ``~ U(-0.05, 0.05)`` rad, roll and pitch ``~ U(-0.03, 0.03)`` rad, their rates
    ``~ U(-0.05, 0.05)`` rad/s, wheel angles 0, wheel rates ``~ U(-0.2, 0.2)`` rad/s.
    ``reset(options={"state": x})`` sets the 10 states exactly (``|roll| < pi/2``).

    ## Episode End
    - Termination (a crash, the robot fell): ``|roll| > 0.9`` or ``|pitch| > 0.9`` rad;
      ``info["crashed"] = True``.
    - Truncation: after 25 s (5000 control steps at 200 Hz).

    ## Arguments
    ``gymnasium.make("ampc_envs/WheelbotYaw-v0", **kwargs)`` with

    | Parameter     | Type | Default | Description |
    |---------------|------|---------|-------------|
    | `params`      | `WheelbotParams`, str or dict | `"nominal"` | stored system; a name (`"nominal"`, `"hardware-like"`) or overrides of the nominal values |
    | `randomize`   | bool or dict | `False` | `True`: sample every reset from `WheelbotParams.default_ranges`; a dict `{name: (low, high)}`: from these ranges |
    | `yaw_schedule` | sequence of `(time_s, yaw_rad)` | `((5, pi/2), (10, 0), (15, -pi/2), (20, 0))` | piecewise-constant yaw reference, 0 before the first entry |
    | `episode_seconds` | float | `25.0` | truncation time in s |
    | `render_mode` | str | `None` | `"rgb_array"` (headless) or `"human"` |
    | `width`, `height` | int | 480, 360 | frame size in pixels |

    ``reset(options={"params": ...})`` fixes the system instance of one episode;
    ``info["params"]`` always reports the instance in use. Physical parameters, their
    units and the named instances are in :class:`WheelbotParams`; the analytic model
    with the same parameters is :mod:`ampc_envs.wheelbot.dynamics`.

    ## Version History
    - v0: initial version.
    """

    metadata = {"render_modes": available_render_modes(), "render_fps": round(1 / CONTROL_DT)}
    params_cls = WheelbotParams
    frame_skip = round(CONTROL_DT / PHYSICS_DT)
    episode_seconds = EPISODE_SECONDS
    default_camera = "side"
    physics_step = staticmethod(wheelbot_model.step)

    def __init__(
        self,
        params: WheelbotParams | dict[str, float] | str | None = None,
        randomize: bool | dict[str, tuple[float, float]] = False,
        yaw_schedule: Sequence[tuple[float, float]] = DEFAULT_YAW_SCHEDULE,
        episode_seconds: float = EPISODE_SECONDS,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 360,
    ) -> None:
        self.yaw_schedule = _check_schedule(yaw_schedule)
        super().__init__(params, randomize, episode_seconds, render_mode, width, height)
        # The reference at the end of every control step, looked up rather than searched.
        times = np.arange(self.max_steps + 1) * CONTROL_DT
        self._references = np.zeros(self.max_steps + 1)
        for start, value in self.yaw_schedule:
            self._references[times >= start - 1e-9] = value
        self.action_space = spaces.Box(-TORQUE_LIMIT, TORQUE_LIMIT, (2,), np.float32)
        high = np.full(11, np.inf)
        high[0] = np.pi
        self.observation_space = spaces.Box(-high, high, dtype=np.float64)

    def _build_model(self, params: WheelbotParams):
        return wheelbot_model.build_model(params)

    def _apply_params(self, params: WheelbotParams) -> None:
        wheelbot_model.apply_params(self.model, self.data, params)

    def _check_state(self, state: Any) -> np.ndarray:
        s = np.asarray(state, dtype=np.float64)
        if s.shape != (10,) or not np.all(np.isfinite(s)) or abs(s[1]) >= math.pi / 2:
            raise ValueError(
                "start state must be 10 finite numbers [psi, phi, theta, psi_dot, phi_dot, "
                f"theta_dot, q_W, q_R, omega_W, omega_R] with |phi| < pi/2, got {state!r}"
            )
        return s

    def _reset_state(self, state: np.ndarray | None) -> None:
        if state is None:
            u = self.np_random.uniform(-1.0, 1.0, size=8)
            state = np.array(
                [0.05 * u[0], 0.03 * u[1], 0.03 * u[2], *(0.05 * u[3:6]), 0.0, 0.0, *(0.2 * u[6:8])]
            )
        wheelbot_model.set_state(self.model, self.data, self.params, state)

    @property
    def state(self) -> np.ndarray:
        """True 10-state vector (yaw wrapped to (-pi, pi], no noise)."""
        x = wheelbot_model.get_state(self.model, self.data)
        x[0] = wrap_angle(x[0])
        return x

    @property
    def yaw_reference(self) -> float:
        """Yaw reference in rad at the current time."""
        return float(self._references[min(self._steps, self.max_steps)])

    def _observe(self, state: np.ndarray) -> np.ndarray:
        """Observation from the true state: sensor noise, yaw wrapped, reference appended."""
        x = state
        p = self.params
        if p.angle_noise > 0 or p.rate_noise > 0:
            std = np.array(
                [p.angle_noise] * 3 + [p.rate_noise] * 3 + [0.0, 0.0] + [p.rate_noise] * 2
            )
            x = x + std * self.np_random.standard_normal(10)
            x[0] = wrap_angle(x[0])
        return np.append(x, self.yaw_reference)

    def _reward(self, state: np.ndarray, command: np.ndarray) -> tuple[float, dict[str, float]]:
        return yaw_reward(state[0] - self.yaw_reference, command)

    def _crashed(self, state: np.ndarray) -> bool:
        return bool(abs(state[1]) > CRASH_ANGLE or abs(state[2]) > CRASH_ANGLE)

    def _step_info(self) -> dict[str, Any]:
        return {"yaw_reference": self.yaw_reference}
