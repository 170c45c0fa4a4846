"""Per-step latency of the AMPC beside the acados MPC it imitates.

One run, four controllers, the same states (visited by the MPC in closed loop on the
nominal MuJoCo system, so the warm start is what a control loop would have):

* AMPC single state: ``policy(x)``, the numpy path of the control loop;
* AMPC batched: ``policy.batch(X)`` on all states at once, time per state;
* acados MPC warm: ``mpc(x)`` warm-started from the solution of the previous step;
* acados MPC cold: ``mpc.solve(x, init="best")``, several initialisations (what the
  dataset labels use and what a first solve needs).

numpy's BLAS is pinned to one thread (a control loop runs on one core). Prints a
table and writes ``benchmarks/results/ampc_latency_SYSTEM.{md,json}`` with machine info.

    python -m benchmarks.ampc_latency [--system cartpole] [--policy PATH] [--episodes 2]
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from ampc_agent.io import atomic_write_bytes, write_json  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict:
    """The project's machine description, plus load and BLAS threads of this run."""
    from benchmarks.machine import machine_info as base_info

    return {
        **base_info(),
        "load_average": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
        "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
    }


def stats(seconds: np.ndarray) -> dict:
    """Median, mean, p90, p99 and max in microseconds."""
    us = 1e6 * np.asarray(seconds)
    return {
        "median_us": float(np.median(us)),
        "mean_us": float(us.mean()),
        "p90_us": float(np.percentile(us, 90)),
        "p99_us": float(np.percentile(us, 99)),
        "max_us": float(us.max()),
        "n": int(len(us)),
    }


def mpc_states(system, mpc, episodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Observations and warm-solve times of the MPC in closed loop on the nominal MuJoCo model."""
    from ampc_agent.mpc.controller import MPCController
    from ampc_envs.core.episode import run_episode

    env = system.make_env(params="nominal", randomize=False)
    ctrl = system.controller(MPCController(mpc))
    states, times = [], []
    for i in range(episodes):
        ep = run_episode(env, ctrl, seed=seed + i)
        interface = system.make_interface()
        states.append([interface.state(o) for o in ep["observations"][:-1]])
        times.append(ep["step_seconds"][1:])  # the first step of an episode is cold
    env.close()
    return np.concatenate(states), np.concatenate(times)


def main(argv: list[str] | None = None) -> int:
    from ampc_agent.systems import get_system, systems_with

    runnable = [n for n in systems_with("weights") if n in systems_with("mpc")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", default=runnable[0], choices=runnable)
    parser.add_argument("--policy", default=None, help="policy folder (default: shipped)")
    parser.add_argument("--episodes", type=int, default=2, help="MPC closed-loop episodes")
    parser.add_argument("--cold", type=int, default=100, help="states for the cold MPC solves")
    parser.add_argument("--repeats", type=int, default=20, help="passes over the states")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)

    system = get_system(args.system)
    policy = system.load_policy(args.policy, raw=True)  # on the states X, as the MPC
    mpc = system.make_mpc()
    X, warm = mpc_states(system, mpc, args.episodes, args.seed)

    for x in X[:200]:  # warm up caches and numpy's dispatch
        policy(x)
    single = []
    for _ in range(args.repeats):
        for x in X:
            t = time.perf_counter()
            policy(x)
            single.append(time.perf_counter() - t)
    batched = []
    for _ in range(args.repeats):
        t = time.perf_counter()
        policy.batch(X)
        batched.append((time.perf_counter() - t) / len(X))

    rng = np.random.default_rng(args.seed)
    cold = []
    for x in X[rng.choice(len(X), size=min(args.cold, len(X)), replace=False)]:
        mpc.reset()
        t = time.perf_counter()
        mpc.solve(x, init="best", raise_on_failure=False)
        cold.append(time.perf_counter() - t)

    rows = {
        "AMPC single state (numpy)": stats(np.array(single)),
        f"AMPC batched ({len(X)} states), per state": stats(np.array(batched)),
        "acados MPC warm start": stats(warm),
        "acados MPC cold (best of inits)": stats(np.array(cold)),
    }
    ampc, mpc_warm = rows["AMPC single state (numpy)"], rows["acados MPC warm start"]
    speedup = mpc_warm["median_us"] / ampc["median_us"]
    result = {
        "machine": machine_info(),
        "states": len(X),
        "rows": rows,
        "speedup_median_warm_over_ampc_single": speedup,
        "speedup_p99_warm_over_ampc_single": mpc_warm["p99_us"] / ampc["p99_us"],
        "policy": str(args.policy or f"shipped {args.system}"),
        "command": "python -m benchmarks.ampc_latency "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    header = "| controller | median (us) | mean (us) | p90 (us) | p99 (us) | max (us) | n |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['median_us']:.1f} | {r['mean_us']:.1f} | {r['p90_us']:.1f} | "
            f"{r['p99_us']:.1f} | {r['max_us']:.1f} | {r['n']} |"
        )
    table = "\n".join(lines)
    summary = (
        f"AMPC single state is {speedup:.0f}x faster than the warm-started MPC "
        f"(median), {result['speedup_p99_warm_over_ampc_single']:.0f}x at p99."
    )
    print(table)
    print(summary)
    m = result["machine"]
    md = (
        f"# AMPC latency, {args.system}\n\n"
        f"States: {len(X)} visited by the MPC in closed loop on the nominal MuJoCo model. "
        "numpy BLAS on one thread.\n\n"
        f"{table}\n\n{summary}\n\n"
        "Machine: " + ", ".join(f"{k} {v}" for k, v in m.items()) + ".\n\n"
        f"Command: `{result['command'].strip()}`\n"
    )
    out = Path(args.out)
    name = f"ampc_latency_{args.system}"
    write_json(out / f"{name}.json", result, indent=1)
    atomic_write_bytes(out / f"{name}.md", md.encode())
    print(f"wrote {out / name}.md and .json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
