"""Env steps per second next to raw MuJoCo stepping, measured side by side.

    python -m benchmarks.env_throughput [--steps 20000] [--repeats 5]

For each registered system the same action sequence is replayed (a) through the
env's bare physics routine (``physics_step``: ``mujoco.mj_step``, for the wheelbot
with the yaw ground friction), (b) through the unwrapped env's ``step`` and (c)
through the env from ``gymnasium.make`` (with its checking wrappers). Both replays
start from the same state and follow the same trajectory, so they time the same
physics; the difference is the env's overhead (action checks, delay line,
observation, reward). The actions are those of the system's classical baseline
controller in closed loop (the cart-pole's energy pump, the wheelbot's balancing
LQR), which keeps the systems in their working region. Rounds alternate between
(a), (b) and (c) so that load on a shared machine hits them alike; the best round
of each is reported. Goal: the env costs at most 1.5x the raw physics.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from ampc_agent.systems import SYSTEMS, SystemSpec
from ampc_envs.core.episode import run_episode
from benchmarks.machine import save_result


def _replay(system: SystemSpec) -> tuple[gym.Env, list[np.ndarray]]:
    """The system's env and ``steps`` actions of its baseline controller in closed loop."""
    env = system.make_env()
    controller = system.make_baseline()

    def actions(steps: int) -> list[np.ndarray]:
        recorded: list[np.ndarray] = []
        while len(recorded) < steps:
            episode = run_episode(env, controller, seed=0, max_steps=steps - len(recorded))
            recorded.extend(episode["actions"])
        return recorded

    return env, actions


def _time_raw(env, actions) -> float:
    raw = env.unwrapped
    physics = type(raw).physics_step
    raw.reset(seed=0)
    model, data, params, n = raw.model, raw.data, raw.params, raw.frame_skip
    limit = raw.max_steps
    start = time.perf_counter()
    for k, a in enumerate(actions):
        if k and k % limit == 0:  # the env resets here too; keep the same trajectory
            raw.reset(seed=0)
        data.ctrl[:] = a
        physics(model, data, params, n)
    return time.perf_counter() - start


def _time_env(env, actions) -> float:
    env.reset(seed=0)
    step = env.step
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            env.reset(seed=0)
    return time.perf_counter() - start


def run(steps: int, repeats: int) -> tuple[str, dict]:
    rows, data = [], {}
    for system in (s for s in SYSTEMS.values() if s.baseline is not None):
        made, make_actions = _replay(system)
        raw = made.unwrapped
        actions = make_actions(steps)
        best = {"raw": np.inf, "env": np.inf, "made": np.inf}
        for _ in tqdm(range(repeats), desc=system.name):
            best["raw"] = min(best["raw"], _time_raw(made, actions))
            best["env"] = min(best["env"], _time_env(raw, actions))
            best["made"] = min(best["made"], _time_env(made, actions))
        rows.append(
            f"| {system.name} | {raw.frame_skip} | {steps / best['raw']:,.0f} | "
            f"{steps / best['env']:,.0f} | {steps / best['made']:,.0f} | "
            f"{best['env'] / best['raw']:.2f} | {best['made'] / best['raw']:.2f} |"
        )
        data[system.name] = {
            "control_steps": steps,
            "physics_steps": steps * raw.frame_skip,
            "seconds": best,
        }
    table = "\n".join(
        [
            "# Env throughput beside raw MuJoCo",
            "",
            f"{steps} control steps per round, best of {repeats} alternating rounds; the",
            "same actions replayed through the bare physics and through the env.",
            "",
            "| system | physics steps / control step | raw physics (control steps/s) "
            "| env.step unwrapped (/s) | gym.make env (/s) | cost ratio unwrapped "
            "| cost ratio gym.make |",
            "|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    return table, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    table, data = run(args.steps, args.repeats)
    print(table)
    print(f"saved to {save_result('env_throughput', table, data)}")


if __name__ == "__main__":
    main()
