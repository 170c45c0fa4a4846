"""A short animation of a tuned controller: the nominal and the tuned theta, same episode.

The frames come from the system env's ``rgb_array`` rendering (headless: MuJoCo picks
EGL when no display is set) while the tuning env runs its one episode path
(:meth:`~ampc_agent.tuning.env.EpisodeTuningEnv.run`), so the animated episode is the
episode the tuner saw, with the same instance and episode seed. The GIF is written with
imageio, atomically (:func:`ampc_agent.io.atomic_write_bytes`).

Example:
    >>> panels = [episode_frames(tuning, theta_nom, seed=0), episode_frames(tuning, theta, seed=0)]
    >>> write_animation("study/episode.gif", panels, ["nominal", "tuned"], fps=12.5)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.io import atomic_write_bytes

__all__ = [
    "FRAMES_PER_SECOND",
    "Panel",
    "episode_frames",
    "frame_rate",
    "frame_stride",
    "write_animation",
]

#: Frames per second of simulated time (the cart-pole at 50 Hz: every 4th control step;
#: the wheelbot at 200 Hz: every 16th).
FRAMES_PER_SECOND = 12.5


def frame_stride(dt: float) -> int:
    """Control steps between two frames for a control period ``dt`` in s (at least 1)."""
    return max(1, round(1.0 / (dt * FRAMES_PER_SECOND)))


def frame_rate(dt: float) -> float:
    """Frames per second of an animation rendered every :func:`frame_stride` steps."""
    return 1.0 / (dt * frame_stride(dt))


class Panel(dict):
    """One animated episode: ``frames`` (list of ``(h, w, 3)`` uint8), ``return``,
    ``crashed``, ``length`` (control steps)."""


class _Recorder:
    """The policy, rendering the env before every ``every``-th control step."""

    def __init__(self, policy: Any, env: Any, every: int) -> None:
        self.policy, self.env, self.every = policy, env, every
        self.frames: list[np.ndarray] = []
        self.steps = 0

    def reset(self) -> None:
        if hasattr(self.policy, "reset"):
            self.policy.reset()

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if self.steps % self.every == 0:
            self.frames.append(np.asarray(self.env.render(), dtype=np.uint8))
        self.steps += 1
        return self.policy(obs)


def episode_frames(tuning: Any, theta: np.ndarray, seed: int, every: int | None = None) -> Panel:
    """Run one episode of the tuning env's policy at ``theta`` with ``seed``, rendered.

    Args:
        tuning: An :class:`~ampc_agent.tuning.env.EpisodeTuningEnv` made with
            ``render_mode="rgb_array"``.
        theta: The whole theta, inside the tuning box.
        seed: The episode seed (the episode is not counted as a tuning episode).
        every: Render every ``every``-th control step, and the last state (default:
            :func:`frame_stride` of the env's control period).

    Returns:
        The :class:`Panel`.
    """
    if every is None:
        every = frame_stride(float(tuning.system_env.unwrapped.dt))
    recorder = _Recorder(tuning.policy, tuning.system_env, every)
    result = tuning.run(theta, controller=recorder, seed=seed)
    recorder.frames.append(np.asarray(tuning.system_env.render(), dtype=np.uint8))
    return Panel(
        frames=recorder.frames,
        crashed=bool(result["crashed"]),
        length=int(result["length"]),
        **{"return": float(result["return"])},
    )


def _label(frame: np.ndarray, text: str) -> np.ndarray:
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, image.width, 16), fill=(0, 0, 0))
    draw.text((4, 2), text, fill=(255, 255, 255))
    return np.asarray(image)


def write_animation(
    path: str | Path, panels: Sequence[Panel], titles: Sequence[str], fps: float
) -> Path:
    """Write the panels side by side as a looping GIF.

    A panel whose episode ended early (a crash) holds its last frame; each panel is
    labelled with its title, return and crash.

    Args:
        path: The GIF to write.
        panels: From :func:`episode_frames`, frames of the same size.
        titles: One per panel.
        fps: Frames per second (real time: control rate / ``every``).

    Returns:
        ``path``.
    """
    import imageio.v3 as iio

    n = max(len(p["frames"]) for p in panels)
    columns = []
    for panel, title in zip(panels, titles, strict=True):
        end = "crashed" if panel["crashed"] else f"{panel['length']} steps"
        text = f"{title}: return {panel['return']:.1f} ({end})"
        frames = [_label(f, text) for f in panel["frames"]]
        frames += [frames[-1]] * (n - len(frames))
        columns.append(frames)
    video = np.stack([np.concatenate(row, axis=1) for row in zip(*columns, strict=True)])
    data = iio.imwrite("<bytes>", video, extension=".gif", duration=1000.0 / fps, loop=0)
    atomic_write_bytes(path, data)
    return Path(path)
