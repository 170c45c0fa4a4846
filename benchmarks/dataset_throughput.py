"""Dataset generation throughput with 1 and 2 local workers, measured side by side.

Both runs generate the same dataset (same settings and seed, so the same work) into
temporary folders; the solvers are built before timing. Scaling efficiency =
throughput(2 workers) / (2 x throughput(1 worker)).

Prints a table and writes ``benchmarks/results/dataset_throughput.{md,json}``.

    python benchmarks/dataset_throughput.py [--samples 400] [--shard-size 50]
        [--stride 4] [--trajectory-fraction 0.7] [--trajectory-labels best]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time

from benchmarks.machine import save_result


def main(argv: list[str] | None = None) -> int:
    from ampc_agent.dataset.generator import GeneratorSettings, generate_dataset
    from ampc_agent.dataset.settings import TRAJECTORY_LABELS
    from ampc_agent.systems import get_system, systems_with

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default=systems_with("mpc")[0], choices=systems_with("mpc"))
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--shard-size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    defaults = {f.name: f.default for f in dataclasses.fields(GeneratorSettings)}
    parser.add_argument("--stride", type=int, default=defaults["stride"])
    parser.add_argument(
        "--trajectory-fraction", type=float, default=defaults["trajectory_fraction"]
    )
    parser.add_argument(
        "--trajectory-labels", default=defaults["trajectory_labels"], choices=TRAJECTORY_LABELS
    )
    args = parser.parse_args(argv)

    get_system(args.system).make_mpc()  # build or load the solvers outside the timing
    settings = GeneratorSettings(
        system=args.system,
        samples=args.samples,
        shard_size=args.shard_size,
        seed=args.seed,
        stride=args.stride,
        trajectory_fraction=args.trajectory_fraction,
        trajectory_labels=args.trajectory_labels,
    )
    rows = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            meta = generate_dataset(tmp, settings, workers=workers, progress=False)
            wall = time.perf_counter() - t
        rows[workers] = {
            "wall_seconds": wall,
            "samples_per_second": args.samples / wall,
            "compute_seconds": meta["counts"]["compute_seconds"],
        }
    efficiency = rows[2]["samples_per_second"] / (2 * rows[1]["samples_per_second"])
    lines = [
        f"# Dataset generation throughput ({args.system})",
        "",
        f"{args.samples} samples in shards of {args.shard_size} (seed {args.seed}; "
        f"{args.trajectory_fraction:.0%} closed-loop states every {args.stride} steps, the "
        "rest off them (the system's sampling: a uniform box or a spread around "
        f"closed-loop states); trajectory labels `{args.trajectory_labels}`, KKT "
        "sensitivities). Wall time includes starting the worker processes.",
        "",
        "| workers | wall (s) | samples/s | shard compute (s, summed) |",
        "|---|---|---|---|",
    ]
    for w, r in rows.items():
        lines.append(
            f"| {w} | {r['wall_seconds']:.1f} | {r['samples_per_second']:.3g} | "
            f"{r['compute_seconds']:.1f} |"
        )
    lines += [
        "",
        f"Scaling efficiency 1 -> 2 workers: **{efficiency:.2f}**",
        "",
        f"Command: `python -m benchmarks.dataset_throughput {' '.join(argv or sys.argv[1:])}`",
    ]
    text = "\n".join(lines)
    print(text)
    save_result(
        f"dataset_throughput_{args.system}",
        text,
        {"rows": rows, "efficiency": efficiency, "settings": settings.as_dict()},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
