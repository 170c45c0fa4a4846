"""Env steps per second next to raw MuJoCo stepping, measured side by side.

    python -m benchmarks.env_throughput [--steps 20000] [--repeats 5]

For each system the same action sequence is replayed (a) through the system's bare
physics routine on the model (``mujoco.mj_step``; for the wheelbot, its stepping
function that also applies the yaw ground friction), (b) through the unwrapped env's
``step`` and (c) through the env from ``gymnasium.make`` (with its checking
wrappers). Both replays start from the same state and follow the same trajectory,
so they time the same physics; the difference is the env's overhead (action checks,
delay line, observation, reward). The action sequences keep the systems in their
working region: small random forces for the cart-pole, the torques of the balancing
LQR (recorded from one closed-loop run) for the wheelbot. Rounds alternate between
(a), (b) and (c) so that load on a shared machine hits them alike; the best round
of each is reported. Goal: the env costs at most 1.5x the raw physics.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import mujoco
import numpy as np
from tqdm import tqdm

import ampc_envs  # noqa: F401
from benchmarks.machine import save_result


def _cartpole():
    env = gym.make("ampc_envs/CartpoleSwingUp-v0")
    env.reset(seed=0)
    rng = np.random.default_rng(0)

    def actions(steps: int) -> list[np.ndarray]:
        return list(rng.uniform(-0.5, 0.5, (steps, 1)).astype(np.float32))

    def physics(model, data, params, n):
        mujoco.mj_step(model, data, nstep=n)

    return env, actions, physics


def _wheelbot():
    from ampc_envs.wheelbot import model as wheelbot_model
    from ampc_envs.wheelbot.lqr import BalancingLQR

    env = gym.make("ampc_envs/WheelbotYaw-v0")
    lqr = BalancingLQR()

    def actions(steps: int) -> list[np.ndarray]:
        recorded, done = [], True
        while len(recorded) < steps:
            if done:
                obs, _ = env.reset(seed=0)
            a = lqr(obs)
            recorded.append(a)
            obs, _, terminated, truncated, _ = env.step(a)
            done = terminated or truncated
        return recorded

    return env, actions, wheelbot_model.step


SYSTEMS: dict[str, Callable] = {"cartpole": _cartpole, "wheelbot": _wheelbot}


def _time_raw(env, actions, physics) -> float:
    raw = env.unwrapped
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
    for system, factory in SYSTEMS.items():
        made, make_actions, physics = factory()
        raw = made.unwrapped
        actions = make_actions(steps)
        best = {"raw": np.inf, "env": np.inf, "made": np.inf}
        for _ in tqdm(range(repeats), desc=system):
            best["raw"] = min(best["raw"], _time_raw(made, actions, physics))
            best["env"] = min(best["env"], _time_env(raw, actions))
            best["made"] = min(best["made"], _time_env(made, actions))
        rows.append(
            f"| {system} | {raw.frame_skip} | {steps / best['raw']:,.0f} | "
            f"{steps / best['env']:,.0f} | {steps / best['made']:,.0f} | "
            f"{best['env'] / best['raw']:.2f} | {best['made'] / best['raw']:.2f} |"
        )
        data[system] = {
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
