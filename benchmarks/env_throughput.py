"""Env steps per second next to raw MuJoCo stepping, measured side by side.

    python -m benchmarks.env_throughput [--steps 20000] [--repeats 5]

For the same number of physics steps it times (a) ``mujoco.mj_step`` on the bare
model, (b) the unwrapped env's ``step`` and (c) the env from ``gymnasium.make``
(with its checking wrappers). Rounds alternate between the three so that load on a
shared machine hits them alike; the best round of each is reported. Goal: the env
costs at most 1.5x the raw physics.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import mujoco
import numpy as np
from tqdm import tqdm

import ampc_envs  # noqa: F401
from benchmarks.machine import save_result

SYSTEMS = {"cartpole": "ampc_envs/CartpoleSwingUp-v0", "wheelbot": "ampc_envs/WheelbotYaw-v0"}


def _time_raw(env, actions) -> float:
    model, data = env.unwrapped.model, env.unwrapped.data
    n = env.unwrapped.frame_skip
    start = time.perf_counter()
    for a in actions:
        data.ctrl[:] = a
        mujoco.mj_step(model, data, nstep=n)
    return time.perf_counter() - start


def _time_env(env, actions) -> float:
    env.reset(seed=0)
    step = env.step
    start = time.perf_counter()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            env.reset()
    return time.perf_counter() - start


def run(steps: int, repeats: int) -> tuple[str, dict]:
    rows, data = [], {}
    for system, env_id in SYSTEMS.items():
        made = gym.make(env_id)
        raw = made.unwrapped
        made.reset(seed=0)
        rng = np.random.default_rng(0)
        # Small actions keep the cart on the rail so resets are rare.
        actions = list(rng.uniform(-0.5, 0.5, (steps, *made.action_space.shape)).astype(np.float32))
        best = {"raw": np.inf, "env": np.inf, "made": np.inf}
        for _ in tqdm(range(repeats), desc=system):
            raw.reset(seed=0)
            best["raw"] = min(best["raw"], _time_raw(made, actions))
            best["env"] = min(best["env"], _time_env(raw, actions))
            best["made"] = min(best["made"], _time_env(made, actions))
        physics = steps * raw.frame_skip
        rows.append(
            f"| {system} | {raw.frame_skip} | {steps / best['raw']:,.0f} | "
            f"{steps / best['env']:,.0f} | {steps / best['made']:,.0f} | "
            f"{best['env'] / best['raw']:.2f} | {best['made'] / best['raw']:.2f} |"
        )
        data[system] = {
            "control_steps": steps,
            "physics_steps": physics,
            "seconds": best,
        }
    table = "\n".join(
        [
            "# Env throughput beside raw MuJoCo",
            "",
            f"{steps} control steps per round, best of {repeats} alternating rounds.",
            "",
            "| system | physics steps / control step | raw mj_step (control steps/s) "
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
