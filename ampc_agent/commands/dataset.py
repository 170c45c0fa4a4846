"""``ampc dataset SYSTEM``: generate an MPC dataset with parameter sensitivities.

    ampc dataset cartpole --samples 30000 --workers 2 --out data/cartpole-dataset
    ampc dataset cartpole --samples 30000 --ray-address auto     # on a Ray cluster

Re-running the same command resumes a killed run (only missing shards are computed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from ampc_agent.dataset.generator import GeneratorSettings, generate_dataset
from ampc_agent.dataset.settings import TRAJECTORY_LABELS
from ampc_agent.systems import systems_with

#: Defaults of the generator settings, shown in --help.
DEFAULTS = argparse.Namespace(
    **{f.name: f.default for f in dataclasses.fields(GeneratorSettings) if f.name != "system"}
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``ampc dataset``."""
    parser.add_argument("system", choices=systems_with("mpc"), help="system to generate data for")
    parser.add_argument("--samples", type=int, required=True, help="number of samples")
    parser.add_argument("--workers", type=int, default=1, help="local worker processes")
    parser.add_argument(
        "--ray-address",
        default=None,
        help="run on a Ray cluster at this address ('auto', 'ray://host:10001', or 'local' "
        "for a local Ray instance with --workers CPUs); needs the 'ray' extra",
    )
    parser.add_argument("--out", default=None, help="output folder (default: datasets/SYSTEM)")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="base seed")
    parser.add_argument("--shard-size", type=int, default=DEFAULTS.shard_size)
    parser.add_argument(
        "--trajectory-fraction",
        type=float,
        default=DEFAULTS.trajectory_fraction,
        help="fraction of samples along closed-loop trajectories (the rest: uniform)",
    )
    parser.add_argument("--episode-steps", type=int, default=DEFAULTS.episode_steps)
    parser.add_argument("--stride", type=int, default=DEFAULTS.stride)
    parser.add_argument(
        "--randomize-fraction",
        type=float,
        default=DEFAULTS.randomize_fraction,
        help="fraction of closed-loop episodes on randomized physics",
    )
    parser.add_argument(
        "--closed-loop-theta",
        default=DEFAULTS.closed_loop_theta,
        choices=("nominal", "true"),
        help="theta of the MPC in the randomized closed-loop episodes (true: the instance's "
        "physical values)",
    )
    parser.add_argument(
        "--secant-perturbations",
        type=int,
        default=DEFAULTS.secant_perturbations,
        help="parameter changes per sample for secant labels (0: none)",
    )
    parser.add_argument(
        "--secant-scale",
        type=float,
        default=DEFAULTS.secant_scale,
        help="how far towards the theta bounds the changes reach (1: all the way)",
    )
    parser.add_argument(
        "--trajectory-labels",
        choices=TRAJECTORY_LABELS,
        default=DEFAULTS.trajectory_labels,
        help="labels along the trajectories: best (lowest cost over all starts) or "
        "closed_loop (the closed-loop MPC's own solution re-solved to tolerance; cheaper "
        "where the closed loop saw the true state)",
    )
    parser.add_argument(
        "--learner",
        default=DEFAULTS.learner,
        metavar="WEIGHTS",
        help="DAgger: an AMPC weights folder of the system that drives the closed-loop "
        "episodes while the MPC runs beside it and labels the states it visits "
        "(default: the MPC drives)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Generate or resume the dataset and print a summary."""
    settings = GeneratorSettings(
        system=args.system,
        samples=args.samples,
        seed=args.seed,
        shard_size=args.shard_size,
        trajectory_fraction=args.trajectory_fraction,
        episode_steps=args.episode_steps,
        stride=args.stride,
        randomize_fraction=args.randomize_fraction,
        closed_loop_theta=args.closed_loop_theta,
        secant_perturbations=args.secant_perturbations,
        secant_scale=args.secant_scale,
        trajectory_labels=args.trajectory_labels,
        learner=args.learner,
    )
    out = args.out or f"datasets/{args.system}"
    meta = generate_dataset(
        out,
        settings,
        workers=args.workers,
        ray_address=args.ray_address,
        progress=not args.no_progress,
    )
    run_info = meta["runs"][-1]
    print(
        f"dataset {out}: {settings.samples} samples in {settings.num_shards} shards; this run "
        f"computed {run_info['shards_computed']} shards in {run_info['wall_seconds']:.1f} s "
        f"({run_info['backend']}, {run_info['workers']} workers)"
    )
    print("counts:", json.dumps(meta["counts"], sort_keys=True))
    return 0
