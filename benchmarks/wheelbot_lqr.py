"""Balancing LQR on the Mini Wheelbot: nominal, hardware-like and randomized robots.

    python -m benchmarks.wheelbot_lqr [--episodes 50] [--seed 0]

Runs the balancing LQR (the robot's gains, and gains designed on the analytic model)
for 25 s episodes of ``ampc_envs/WheelbotYaw-v0`` with yaw reference 0 throughout:
once on the nominal robot, once on the ``hardware-like`` instance, and on
``--episodes`` instances drawn from ``WheelbotParams.default_ranges`` (physics,
actuator gain, 0-1 steps of delay, sensor noise; seeds ``seed .. seed+episodes-1``).
It also runs the default yaw test (+-pi/2 references) on the nominal robot: the LQR
does not steer yaw, so its return there is the do-nothing baseline a yaw controller
must beat. Last, it times a balancing episode through ``env.step`` against the same
closed loop on bare MuJoCo (``mj_step``, no yaw friction, no task): the env's own
cost while the robot is upright (``benchmarks.env_throughput`` drives the robot with
random torques, so it mostly times falls and resets). Prints and saves the results
under ``benchmarks/results/wheelbot_lqr.*``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import mujoco
import numpy as np
from tqdm import tqdm

import ampc_envs  # noqa: F401
from ampc_envs.wheelbot import model as wheelbot_model
from ampc_envs.wheelbot.lqr import BalancingLQR, model_lqr_gain, robot_gain
from benchmarks.machine import save_result

CONTROLLERS = {"robot gains": robot_gain, "model LQR": model_lqr_gain}


def episode(env: gym.Env, policy: BalancingLQR, seed: int, params=None) -> dict:
    """One closed-loop episode; returns crash flag, length, return and worst tilt."""
    obs, info = env.reset(seed=seed, options={"params": params} if params else None)
    total, steps, worst = 0.0, 0, 0.0
    while True:
        obs, reward, terminated, truncated, step_info = env.step(policy(obs))
        total, steps = total + reward, steps + 1
        worst = max(worst, float(np.max(np.abs(env.unwrapped.state[1:3]))))
        if terminated or truncated:
            break
    return {
        "seed": seed,
        "crashed": bool(step_info["crashed"]),
        "seconds": steps * env.unwrapped.dt,
        "return": total,
        "max_tilt": worst,
        "final_yaw": float(env.unwrapped.state[0]),
        "params": info["params"],
    }


def balancing_throughput(repeats: int = 3) -> dict[str, float]:
    """Control steps per second of a 25 s LQR episode: bare MuJoCo loop vs ``env.step``.

    Both loops read the 10 states and apply the same LQR; the env adds the yaw
    friction, the actuation delay line, checks, reward and observation.
    """
    env = gym.make("ampc_envs/WheelbotYaw-v0", yaw_schedule=()).unwrapped
    policy, steps = BalancingLQR(), env.max_steps
    best = {"raw": np.inf, "env": np.inf}
    for _ in range(repeats):
        env.reset(seed=0)
        model, data = env.model, env.data
        start = time.perf_counter()
        for _ in range(steps):
            data.ctrl[:] = policy(wheelbot_model.get_state(model, data))
            mujoco.mj_step(model, data, nstep=env.frame_skip)
        best["raw"] = min(best["raw"], time.perf_counter() - start)
        assert abs(wheelbot_model.get_state(model, data)[2]) < 0.1  # still balancing
        obs, _ = env.reset(seed=0)
        start = time.perf_counter()
        for _ in range(steps):
            obs, _, terminated, _, _ = env.step(policy(obs))
        best["env"] = min(best["env"], time.perf_counter() - start)
        assert not terminated
    return {"raw": steps / best["raw"], "env": steps / best["env"], "steps": steps}


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
    speed = balancing_throughput()
    data["balancing_throughput"] = speed
    lines += [
        "",
        "Throughput while balancing (25 s nominal LQR episode, best of 3, control steps/s):",
        "",
        "| bare MuJoCo loop (mj_step + LQR) | env.step loop (+ LQR) | cost ratio |",
        "|---|---|---|",
        f"| {speed['raw']:,.0f} | {speed['env']:,.0f} | {speed['raw'] / speed['env']:.2f} |",
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
