"""``ampc tune``: tune the shipped AMPC's theta on a (mismatched) system.

    ampc tune cartpole --tuner turbo --episodes 20 --system hardware-like --logdir runs/

One episode per theta: ask the tuner, run the AMPC at theta for one episode on the
system instance, tell the tuner the return and crash flag. The first episode is the
nominal theta (every tuner starts there), so the table compares against it directly.
The study folder holds the tuner state after every episode: rerunning the same
command resumes where it stopped.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

SYSTEMS = {"cartpole": "ampc_envs/CartpoleSwingUpTuning-v0"}
TUNERS = ("turbo", "gibo", "random", "cmaes")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("system", choices=sorted(SYSTEMS), help="system to tune on")
    parser.add_argument("--tuner", default="turbo", choices=TUNERS)
    parser.add_argument("--episodes", type=int, default=20, help="episodes in total")
    parser.add_argument(
        "--system",
        dest="instance",
        default="hardware-like",
        help="system instance the episodes run on (a named instance)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the tuner and episodes")
    parser.add_argument(
        "--episode-seed",
        default="fixed",
        choices=("fixed", "fresh"),
        help="fixed: same start state and noise each episode; fresh: new seed each episode",
    )
    parser.add_argument("--policy", default=None, help="AMPC folder (default: shipped)")
    parser.add_argument("--logdir", default="runs", help="TensorBoard log folder")
    parser.add_argument(
        "--study",
        default=None,
        help="study folder (default: studies/<system>-<tuner>-<instance>-seed<seed>)",
    )


def run(args: argparse.Namespace) -> int:
    import gymnasium as gym
    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    import ampc_envs  # noqa: F401
    from ampc_agent.policy import AMPCPolicy, load_shipped_policy
    from ampc_agent.tuners.box import TuningBox
    from ampc_agent.tuning_log import TuningLogger, plot_returns, write_json

    if args.episodes < 1:
        raise SystemExit(f"--episodes must be >= 1, got {args.episodes}")
    name = f"{args.system}-{args.tuner}-{args.instance}-seed{args.seed}"
    study = Path(args.study or Path("studies") / name)
    policy = AMPCPolicy.load(args.policy) if args.policy else load_shipped_policy(args.system)
    env = gym.make(
        SYSTEMS[args.system],
        policy=policy,
        system=args.instance,
        episode_seed=args.episode_seed,
        seed=args.seed,
    )
    env.reset(seed=args.seed)
    tuning = env.unwrapped
    lower, upper = tuning.action_space.low, tuning.action_space.high
    # The tuning box may fix entries (lower == upper: the AMPC's first-order adaptation
    # is not trusted for them); the tuner searches the free ones.
    box = TuningBox(lower, upper, policy.theta_nominal, tuning.theta_names)
    tuner = box.make_tuner(args.tuner, seed=args.seed, study_dir=study / "tuner")
    records_path = study / "episodes.json"
    records = json.loads(records_path.read_text()) if records_path.is_file() else []
    done = len(tuner.history[1])
    records = records[:done]
    logger = TuningLogger(Path(args.logdir) / name, tuning.theta_names, start_step=done)
    console = Console()
    if done:
        console.print(f"resuming {study}: {done} of {args.episodes} episodes done")

    with tqdm(total=args.episodes, initial=done, desc=f"tuning ({args.tuner})", unit="ep") as bar:
        for episode in range(done, args.episodes):
            theta_free = tuner.ask()
            theta = box.full(theta_free)
            tuning.episodes = episode  # fresh-seed mode: the seed follows the episode index
            _, ret, _, _, info = env.step(theta)
            tuner.tell(theta_free, ret, crashed=info["crashed"])
            records.append(
                {
                    "episode": episode,
                    "theta": theta.tolist(),
                    "return": ret,
                    "crashed": info["crashed"],
                    "length": info["length"],
                    "episode_seed": info["episode_seed"],
                }
            )
            write_json(records_path, records)
            logger.log_episode(episode, theta, ret, info["crashed"], tuner.internals())
            bar.set_postfix(ret=f"{ret:.1f}", crashed=info["crashed"])
            bar.update()
    logger.close()

    returns = np.array([r["return"] for r in records])
    crashed = np.array([r["crashed"] for r in records])
    nominal = records[0]
    best_free, best_value = tuner.best()
    best_theta = box.full(best_free)
    result = {
        "system": args.system,
        "instance": args.instance,
        "tuner": args.tuner,
        "seed": args.seed,
        "episodes": len(records),
        "nominal_return": nominal["return"],
        "nominal_crashed": nominal["crashed"],
        "best_return": best_value,
        "crashes": int(crashed.sum()),
        "theta_names": list(tuning.theta_names),
        "theta_nominal": policy.theta_nominal.tolist(),
        "theta_best": best_theta.tolist(),
        "theta_tuned": [n for n, f in zip(tuning.theta_names, box.free, strict=True) if f],
        "tuning_lower": lower.tolist(),
        "tuning_upper": upper.tolist(),
    }
    write_json(study / "best_theta.json", result)
    plot_returns(returns, crashed, study / "returns.png", title=name)

    table = Table(title=f"{args.system} on {args.instance}: {args.tuner}, {len(records)} episodes")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row("nominal AMPC return", _fmt(nominal["return"], nominal["crashed"]))
    table.add_row("best tuned return", f"{best_value:.2f}")
    improvement = best_value - nominal["return"]
    table.add_row("improvement", f"{improvement:+.2f}")
    table.add_row("crashed episodes", f"{int(crashed.sum())} of {len(records)}")
    console.print(table)
    theta_table = Table(title="theta")
    for col in ("parameter", "nominal", "tuned", "tuning range"):
        theta_table.add_column(col, justify="right" if col != "parameter" else "left")
    rows = zip(tuning.theta_names, policy.theta_nominal, best_theta, lower, upper, strict=True)
    for n, t0, t, lo, hi in rows:
        box = f"[{lo:.4g}, {hi:.4g}]" if hi > lo else "fixed"
        theta_table.add_row(n, f"{t0:.4g}", f"{t:.4g}", box)
    console.print(theta_table)
    console.print(f"study: {study}  (best_theta.json, returns.png)   TensorBoard: {logger.logdir}")
    env.close()
    return 0


def _fmt(value: float, crashed: bool) -> str:
    return f"{value:.2f}" + (" (crashed)" if crashed else "") if math.isfinite(value) else "n/a"
