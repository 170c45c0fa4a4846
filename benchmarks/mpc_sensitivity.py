"""Exactness and cost of du0*/dtheta (KKT route) against finite differences of re-solves.

States: closed-loop swing-up states and uniform samples (a small dataset of the
generator). At each, the KKT sensitivity is compared with central differences of full
re-solves at a tight tolerance (1e-12), each warm-started from the solution; relative
error = max |KKT - FD| / max |FD| over the 7 parameters. States whose first input is at
its bound have du0/dtheta = 0 exactly (both routes); they are counted separately.

Prints a table and writes ``benchmarks/results/mpc_sensitivity.{md,json}``.

    python benchmarks/mpc_sensitivity.py [--states 40] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import numpy as np

from benchmarks.machine import save_result


def main(argv: list[str] | None = None) -> int:
    from ampc_agent.systems import get_system, systems_with

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default=systems_with("mpc")[0], choices=systems_with("mpc"))
    parser.add_argument("--states", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from ampc_agent.dataset import load_dataset
    from ampc_agent.dataset.generator import GeneratorSettings, generate_dataset

    with tempfile.TemporaryDirectory() as tmp:
        settings = GeneratorSettings(
            system=args.system,
            samples=args.states,
            shard_size=args.states,
            seed=args.seed,
            episode_steps=150,
            stride=5,
        )
        generate_dataset(tmp, settings, progress=False)
        data = load_dataset(tmp)

    mpc = get_system(args.system).make_mpc()
    mpc.tol = 1e-12
    errors, at_bound_ok, at_bound, kkt_times, fd_times, sources = [], 0, 0, [], [], []
    for x, source in zip(data.x, data.source, strict=True):
        sol = mpc.solve(x, init="best", raise_on_failure=False)
        if not sol.ok:
            continue
        mpc.sensitivity(sol)
        t = time.perf_counter()
        kkt = mpc.sensitivity(sol).du0_dtheta
        kkt_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        fd = np.zeros_like(kkt)
        for j in range(sol.theta.size):
            h = 1e-5 * max(1e-2, abs(sol.theta[j]))
            e = np.zeros_like(sol.theta)
            e[j] = h
            plus = mpc.solve(x, sol.theta + e, init=sol, raise_on_failure=False)
            minus = mpc.solve(x, sol.theta - e, init=sol, raise_on_failure=False)
            fd[:, j] = (plus.u0 - minus.u0) / (2 * h)
        fd_times.append(time.perf_counter() - t)
        if abs(sol.u0[0]) > 10.0 - 1e-6:
            at_bound += 1
            at_bound_ok += bool(np.all(kkt == 0) and np.abs(fd).max() < 1e-5)
            continue
        errors.append(float(np.abs(kkt - fd).max() / max(np.abs(fd).max(), 1e-9)))
        sources.append(int(source))

    errors_arr = np.array(errors)
    lines = [
        "# du0*/dtheta: KKT sensitivities against finite differences",
        "",
        f"{len(data.x)} states of a generated dataset (seed {args.seed}): closed-loop and "
        "uniform. Reference: central differences of full re-solves (tolerance 1e-12, "
        "warm-started from the solution, step 1e-5 relative).",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| states with the first input inside its bounds | {len(errors)} |",
        f"| relative error: median | {np.median(errors_arr):.2e} |",
        f"| relative error: max | {errors_arr.max():.2e} |",
        f"| states with relative error < 1e-3 | {(errors_arr < 1e-3).sum()}/{len(errors)} |",
        f"| states with the first input at its bound (du0/dtheta = 0 by both routes) | "
        f"{at_bound_ok}/{at_bound} |",
        f"| KKT sensitivity time per sample, median (ms) | {1e3 * np.median(kkt_times):.2f} |",
        f"| finite differences (14 re-solves) per sample, median (ms) | "
        f"{1e3 * np.median(fd_times):.2f} |",
        "",
        f"Command: `python -m benchmarks.mpc_sensitivity {' '.join(argv or sys.argv[1:])}`",
    ]
    text = "\n".join(lines)
    print(text)
    save_result(
        f"mpc_sensitivity_{args.system}",
        text,
        {
            "relative_errors": errors,
            "sources": sources,
            "at_bound": at_bound,
            "at_bound_zero": at_bound_ok,
            "kkt_seconds": kkt_times,
            "fd_seconds": fd_times,
        },
    )
    return 0 if errors_arr.max() < 1e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
