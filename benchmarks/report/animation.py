"""One animation per system in the report: the nominal and the best tuner's deployed theta.

For each system, the trial of the report's best tuner (best median deployed score) with
the lowest seed of the system's first instance setting: its recommended theta after its
largest deploy budget and the nominal theta, side by side on the trial's first held-out
episode (same instance, same seed), rendered headless
(:mod:`ampc_agent.tuning.animation`, the animation of ``ampc tune``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["animate_systems"]


def _pick(summary: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{system: record}``: the record each system's animation shows."""
    chosen: dict[str, dict[str, Any]] = {}
    for name, group in summary["groups"].items():
        system = group["system"]
        if system in chosen or name.endswith("all instances") or not group["best_tuner"]:
            continue
        label = name.partition(" / ")[2]
        candidates = [
            r
            for r in records
            if r["config"]["system"] == system
            and r["config"]["tuner"] == group["best_tuner"]
            and _label(r) == label
            and r.get("deployed")
        ]
        if candidates:
            chosen[system] = min(candidates, key=lambda r: r["config"]["seed"])
    return chosen


def _label(record: dict[str, Any]) -> str:
    from benchmarks.report.summary import _label as label

    return label(record)


def animate_systems(
    summary: dict[str, Any], records: list[dict[str, Any]], out: Path
) -> dict[str, tuple[str, str]]:
    """Write ``out/<system>.gif`` for every system with deployed records.

    Returns:
        ``{system: (file name, caption)}``.
    """
    from ampc_agent.tuning.animation import episode_frames, frame_rate, write_animation
    from ampc_agent.tuning.env import EpisodeTuningEnv
    from benchmarks.sweep.systems import get_system

    written = {}
    for system_name, r in _pick(summary, records).items():
        system = get_system(system_name)
        deployed = r["deployed"][-1]
        env = EpisodeTuningEnv(
            system.env_id,
            system.make_policy(),
            instance=r["instance_params"],
            lower=np.asarray(r["tuning_lower"]),
            upper=np.asarray(r["tuning_upper"]),
            render_mode="rgb_array",
            env_kwargs={"width": 320, "height": 240},
        )
        try:
            seed = deployed["episode_seeds"][0]
            panels = [
                episode_frames(env, np.asarray(r["theta_nominal"]), seed),
                episode_frames(env, np.asarray(deployed["theta"]), seed),
            ]
            fps = frame_rate(float(env.system_env.unwrapped.dt))
            tuner = r["config"]["tuner"]
            titles = ["nominal", f"{tuner}, {deployed['budget']} episodes"]
            name = f"{system_name}.gif"
            write_animation(out / name, panels, titles, fps)
        finally:
            env.close()
        c = r["config"]
        written[system_name] = (
            name,
            f"{system_name}: the nominal theta and {tuner}'s recommended theta after "
            f"{deployed['budget']} episodes ({c['instance'] if isinstance(c['instance'], str) else 'custom'}, "
            f"seed {c['seed']}), on its first held-out episode (seed {seed})",
        )
    return written
