"""Balancing LQR on the Mini Wheelbot: nominal, hardware-like and randomized robots.

    python -m benchmarks.wheelbot_lqr [--episodes 50] [--seed 0]

Runs the balancing LQR (the robot's gains, and gains designed on the analytic model)
for 25 s episodes of ``ampc_envs/WheelbotYaw-v0`` with yaw reference 0 throughout:
once on the nominal robot, once on the ``hardware-like`` instance, and on
``--episodes`` instances drawn from ``WheelbotParams.default_ranges`` (physics,
actuator gain, 0-1 steps of delay, sensor noise; seeds ``seed .. seed+episodes-1``).
It also runs the default yaw test (+-pi/2 references) on the nominal robot: the LQR
does not steer yaw, so its return there is the do-nothing baseline a yaw controller
must beat. (The env's cost beside the bare physics while the LQR balances the robot
is measured by ``benchmarks.env_throughput``.) Prints and saves the results under
``benchmarks/results/wheelbot_lqr.*``.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import ampc_envs  # noqa: F401
from ampc_envs.core.episode import run_episode
from ampc_envs.wheelbot.lqr import BalancingLQR, model_lqr_gain, robot_gain
from benchmarks.machine import save_result

CONTROLLERS = {"robot gains": robot_gain, "model LQR": model_lqr_gain}


def episode(env: gym.Env, policy: BalancingLQR, seed: int, params=None) -> dict:
    """One closed-loop episode; returns crash flag, length, return and worst tilt."""
    ep = run_episode(env, policy, seed=seed, params=params, record_states=True)
    return {
        "seed": seed,
        "crashed": ep["crashed"],
        "seconds": ep["length"] * env.unwrapped.dt,
        "return": ep["return"],
        "max_tilt": float(np.max(np.abs(ep["states"][1:, 1:3]))),
        "final_yaw": float(ep["states"][-1, 0]),
        "params": ep["params"],
    }


def run(episodes: int, seed: int) -> tuple[str, dict]:
    env = gym.make("ampc_envs/WheelbotYaw-v0", randomize=True, yaw_schedule=())
    yaw_test = gym.make("ampc_envs/WheelbotYaw-v0")
    rows, data, crashes = [], {}, []
    for name, gain in CONTROLLERS.items():
        policy = BalancingLQR(gain())
        nominal = episode(env, policy, seed, "nominal")
        hardware = episode(env, policy, seed, "hardware-like")
        yaw = episode(yaw_test, policy, seed, "nominal")
        randomized = [
            episode(env, policy, s) for s in tqdm(range(seed, seed + episodes), desc=name)
        ]
        crashed = [r for r in randomized if r["crashed"]]
        survived = [r for r in randomized if not r["crashed"]]
        rate = 1 - len(crashed) / episodes
        worst = max((r["max_tilt"] for r in survived), default=float("nan"))
        rows.append(
            f"| {name} | {'crash' if nominal['crashed'] else 'upright'} "
            f"({nominal['max_tilt']:.3f} rad) | "
            f"{'crash' if hardware['crashed'] else 'upright'} ({hardware['max_tilt']:.3f} rad) | "
            f"{episodes - len(crashed)}/{episodes} = {rate:.0%} | {worst:.3f} | "
            f"{yaw['return']:.1f} / {round(yaw['seconds'] / env.unwrapped.dt)} |"
        )
        crashes += [
            f"| {name} | {r['seed']} | {r['seconds']:.2f} | "
            + ", ".join(f"{k}={v:.4g}" for k, v in r["params"].items())
            + " |"
            for r in crashed
        ]
        data[name] = {
            "gain": gain().tolist(),
            "nominal": nominal,
            "hardware-like": hardware,
            "randomized": randomized,
            "yaw_test_nominal": yaw,
            "crash_free_rate": rate,
        }
    lines = [
        "# Balancing LQR on WheelbotYaw-v0",
        "",
        f"25 s episodes, yaw reference 0; {episodes} randomized instances (seeds {seed}.."
        f"{seed + episodes - 1}) from `WheelbotParams.default_ranges`, including actuator "
        "gain, 0-1 control steps of delay and sensor noise. Max tilt is max(|roll|, |pitch|).",
        "",
        "| controller | nominal (max tilt) | hardware-like (max tilt) | crash-free randomized "
        "| worst max tilt of survivors (rad) | yaw-test return, nominal (/ steps) |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    if crashes:
        lines += [
            "",
            "Crashed instances:",
            "",
            "| controller | seed | time of crash (s) | params |",
            "|---|---|---|---|",
            *crashes,
        ]
    return "\n".join(lines), data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table, data = run(args.episodes, args.seed)
    print(table)
    print(f"saved to {save_result('wheelbot_lqr', table, data)}")


if __name__ == "__main__":
    main()
