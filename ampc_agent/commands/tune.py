"""``ampc tune``: tune the shipped AMPC's theta on a (mismatched) system.

    ampc tune cartpole --tuner turbo --episodes 20 --instance hardware-like --logdir runs/
    ampc tune cartpole --params my_cartpole.json      # any instance, as overrides

One episode per theta: ask the tuner, run the AMPC at theta for one episode on the
system instance, record the episode, tell the tuner the return and crash flag. The
first episode is the nominal theta (every tuner starts there), so the table compares
against it directly. The study folder holds the episode records and the tuner state
after every episode: rerunning the same command resumes where it stopped.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.systems import systems_with
from ampc_agent.tuners.factory import TUNERS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("system", choices=systems_with("weights"), help="system to tune on")
    parser.add_argument("--tuner", default="turbo", choices=sorted(TUNERS))
    parser.add_argument("--episodes", type=int, default=20, help="episodes in total")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--instance",
        default="hardware-like",
        help="named system instance the episodes run on (default: hardware-like)",
    )
    where.add_argument(
        "--params",
        type=Path,
        default=None,
        help="JSON file of physical parameters (overrides of the nominal values) of the "
        "system instance to tune on",
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


def _instance(args: argparse.Namespace, params_cls: type) -> tuple[Any, str]:
    """The instance to tune on and its label in study names."""
    if args.params is None:
        params_cls.resolve(args.instance)  # an unknown name fails before anything runs
        return args.instance, args.instance
    from ampc_agent.io import read_json

    data = read_json(args.params)
    if not isinstance(data, dict):
        raise ValueError(f"{args.params}: expected a JSON object of parameters, got {data!r}")
    try:
        params = params_cls.resolve(data)
    except ValueError as err:
        raise ValueError(f"{args.params}: {err}") from None
    digest = hashlib.sha256(json.dumps(params.to_dict(), sort_keys=True).encode()).hexdigest()
    return params.to_dict(), f"params-{digest[:8]}"


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    from ampc_agent.io import read_json, write_json
    from ampc_agent.systems import get_system
    from ampc_agent.tuners.box import TuningBox
    from ampc_agent.tuning.env import EpisodeTuningEnv
    from ampc_agent.tuning.log import TuningLogger, plot_returns
    from ampc_agent.tuning.loop import tuning_loop

    if args.episodes < 1:
        raise SystemExit(f"--episodes must be >= 1, got {args.episodes}")
    system = get_system(args.system)
    instance, label = _instance(args, system.params_cls)
    name = f"{args.system}-{args.tuner}-{label}-seed{args.seed}"
    study = Path(args.study or Path("studies") / name)
    policy = system.load_policy(args.policy)
    tuning = EpisodeTuningEnv(
        system.env_id,
        policy,
        instance=instance,
        episode_seed=args.episode_seed,
        seed=args.seed,
    )
    # Bounds flow one way: the policy's theta spec -> the tuning env -> the box -> the
    # tuner. The box may fix entries (lower == upper: the AMPC's first-order adaptation
    # is not trusted for them); the tuner searches the free ones.
    spec = tuning.theta_spec
    box = TuningBox.from_spec(spec)
    tuner = box.make_tuner(args.tuner, seed=args.seed, study_dir=study / "tuner")
    records_path = study / "episodes.json"
    records = read_json(records_path) if records_path.is_file() else []
    told = tuner.n_observations
    if len(records) < told:
        raise ValueError(
            f"{records_path} holds {len(records)} episodes but the tuner state {told}: the "
            f"study is damaged; start a new one with another --study"
        )
    for record in records[told:]:  # killed after the record was written, before the tell
        free = np.asarray(record["theta"], dtype=float)[box.free]
        tuner.tell(free, record["return"], crashed=record["crashed"])
    done = len(records)
    logger = TuningLogger(Path(args.logdir) / name, spec.names, start_step=done, history=records)
    console = Console()
    if done >= args.episodes:
        console.print(f"{study} already holds {done} episodes (asked for {args.episodes})")
    elif done:
        console.print(f"resuming {study}: {done} of {args.episodes} episodes done")

    def run_episode(theta: np.ndarray) -> dict[str, Any]:
        tuning.episodes = len(records)  # fresh-seed mode: the seed follows the episode index
        return tuning.run(theta)

    def record(step: dict[str, Any]) -> None:
        # The record is written before the tuner learns from it: on a kill in between,
        # the resume above tells the tuner what the records hold.
        outcome = step["outcome"]
        records.append(
            {
                "episode": len(records),
                "theta": step["theta"].tolist(),
                "return": outcome["return"],
                "crashed": outcome["crashed"],
                "length": outcome["length"],
                "episode_seed": outcome["episode_seed"],
            }
        )
        write_json(records_path, records)

    with tqdm(total=args.episodes, initial=min(done, args.episodes), unit="ep") as bar:
        bar.set_description(f"tuning ({args.tuner})")

        def log(step: dict[str, Any]) -> None:
            r = records[-1]
            logger.log_episode(
                r["episode"], step["theta"], r["return"], r["crashed"], step["internals"]
            )
            bar.set_postfix(ret=f"{r['return']:.1f}", crashed=r["crashed"])
            bar.update()

        tuning_loop(
            tuner,
            run_episode,
            max(0, args.episodes - done),
            full=box.full,
            before_tell=record,
            after_tell=log,
        )
    logger.close()

    returns = np.array([r["return"] for r in records])
    crashed = np.array([r["crashed"] for r in records])
    nominal = records[0]
    best_free, best_value = tuner.best()
    best_theta = box.full(best_free)
    result = {
        "system": args.system,
        "instance": instance,
        "tuner": args.tuner,
        "seed": args.seed,
        "episodes": len(records),
        "nominal_return": nominal["return"],
        "nominal_crashed": nominal["crashed"],
        "best_return": best_value,
        "crashes": int(crashed.sum()),
        "theta_names": list(spec.names),
        "theta_nominal": list(spec.nominal),
        "theta_best": best_theta.tolist(),
        "theta_tuned": [n for n, f in zip(spec.names, box.free, strict=True) if f],
        "tuning_lower": list(spec.tuning_lower),
        "tuning_upper": list(spec.tuning_upper),
    }
    write_json(study / "best_theta.json", result)
    plot_returns(returns, crashed, study / "returns.png", title=name)

    table = Table(title=f"{args.system} on {label}: {args.tuner}, {len(records)} episodes")
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
    rows = zip(
        spec.names, spec.nominal, best_theta, spec.tuning_lower, spec.tuning_upper, strict=True
    )
    for n, t0, t, lo, hi in rows:
        span = f"[{lo:.4g}, {hi:.4g}]" if hi > lo else "fixed"
        theta_table.add_row(n, f"{t0:.4g}", f"{t:.4g}", span)
    console.print(theta_table)
    console.print(f"study: {study}  (best_theta.json, returns.png)   TensorBoard: {logger.logdir}")
    tuning.close()
    return 0


def _fmt(value: float, crashed: bool) -> str:
    return f"{value:.2f}" + (" (crashed)" if crashed else "") if math.isfinite(value) else "n/a"
