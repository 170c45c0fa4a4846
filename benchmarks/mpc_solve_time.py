"""Cart-pole MPC in closed loop on MuJoCo: swing-up success and solve times (warm, cold).

One run does three things with the same solver:

1. closed loop on the nominal MuJoCo plant from ``--starts`` start states of the env's
   start distribution (seeds 0..starts-1): swing-up success, warm-start solve times
   (``mpc(x)``: Newton from the previous solution, the control loop's path);
2. cold solves at ``--cold`` states visited in (1): one initialisation (``swing+``) and
   best of all initialisations (``init="best"``, the dataset's labelling rule);
3. the sensitivity du0*/dtheta (KKT solve) at the same states.

Prints a table and writes ``benchmarks/results/mpc_solve_time.{md,json}``.

    python benchmarks/mpc_solve_time.py [--starts 20] [--cold 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from benchmarks.machine import save_result


def pct(values: list[float] | np.ndarray, scale: float = 1e3) -> dict[str, float]:
    """Median, p90, max of ``values`` (times in s shown in ms)."""
    v = np.asarray(values, dtype=float) * scale
    return {
        "n": int(v.size),
        "median": float(np.median(v)),
        "p90": float(np.percentile(v, 90)),
        "max": float(v.max()),
    }


def closed_loop(mpc, seed: int) -> dict:
    """One 6 s episode on the nominal plant; times of the warm solves after the first."""
    from ampc_envs.cartpole.env import CartpoleSwingUpEnv

    env = CartpoleSwingUpEnv()
    obs, _ = env.reset(seed=seed)
    mpc.reset()
    failures = mpc.stats.call_failures
    states, times, iters, angles, xs = [], [], [], [], []
    crashed = False
    u = np.zeros(1)
    for _ in range(300):
        states.append(np.array(obs))
        t = time.perf_counter()
        sol = mpc.solve(obs, raise_on_failure=False)
        times.append(time.perf_counter() - t)
        iters.append(sol.sqp_iter)
        if sol.ok:
            u = sol.u0
        obs, _, terminated, truncated, info = env.step(np.asarray(u, dtype=np.float32))
        angles.append(obs[1])
        xs.append(obs[0])
        crashed |= bool(info["crashed"])
        if terminated or truncated:
            break
    env.close()
    angles = np.abs(np.array(angles))
    up = np.flatnonzero(angles < 0.1)
    return {
        "seed": seed,
        "success": bool(not crashed and len(angles) == 300 and np.all(angles[-100:] < 0.05)),
        "swing_up_seconds": float((up[0] + 1) * 0.02) if up.size else None,
        "max_abs_x": float(np.max(np.abs(xs))),
        "failed_calls": mpc.stats.call_failures - failures,
        "warm_times": times[1:],  # the first call has no warm start
        "warm_iters": iters[1:],
        "states": states,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--cold", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from ampc_agent.mpc import ParametricMPC

    mpc = ParametricMPC.cartpole()
    episodes = [closed_loop(mpc, args.seed + i) for i in range(args.starts)]
    warm = [t for e in episodes for t in e["warm_times"]]
    warm_iters = [t for e in episodes for t in e["warm_iters"]]
    states = np.concatenate([e["states"] for e in episodes])
    rng = np.random.default_rng(args.seed)
    picked = states[rng.choice(len(states), size=min(args.cold, len(states)), replace=False)]

    single, single_ok, best, best_ok, sens = [], 0, [], 0, []
    for x in picked:
        mpc.reset()
        t = time.perf_counter()
        s = mpc.solve(x, init="swing+", raise_on_failure=False)
        single.append(time.perf_counter() - t)
        single_ok += s.ok
        t = time.perf_counter()
        b = mpc.solve(x, init="best", raise_on_failure=False)
        best.append(time.perf_counter() - t)
        best_ok += b.ok
        if b.ok:
            mpc.sensitivity(b)  # first call builds the KKT functions; time the second
            t = time.perf_counter()
            mpc.sensitivity(b)
            sens.append(time.perf_counter() - t)

    successes = sum(e["success"] for e in episodes)
    rows = {
        "warm start (closed loop, mpc(x))": pct(warm),
        "cold, one initialisation (swing+)": pct(single),
        "cold, best of all initialisations": pct(best),
        "sensitivity du0/dtheta (KKT solve)": pct(sens),
    }
    lines = [
        "# Cart-pole MPC: closed-loop swing-up and solve times",
        "",
        f"Closed loop on the nominal MuJoCo plant from {args.starts} start states of the env's "
        f"start distribution (seeds {args.seed}..{args.seed + args.starts - 1}), 6 s each: "
        f"**{successes}/{args.starts} swing up and balance** (no crash, |theta| < 0.05 rad "
        "for the last 2 s).",
        "",
        "| start seed | success | swing-up time (s) | max abs x (m) | failed calls |",
        "|---|---|---|---|---|",
    ]
    for e in episodes:
        lines.append(
            f"| {e['seed']} | {'yes' if e['success'] else 'NO'} | "
            f"{e['swing_up_seconds']} | {e['max_abs_x']:.3f} | {e['failed_calls']} |"
        )
    lines += [
        "",
        f"Solve times (ms); cold solves and sensitivities at {len(picked)} states visited in "
        f"closed loop. Converged: one initialisation {single_ok}/{len(picked)}, best of all "
        f"{best_ok}/{len(picked)}. Warm-start SQP iterations: median "
        f"{np.median(warm_iters):.0f}, p90 {np.percentile(warm_iters, 90):.0f}.",
        "",
        "| solve | n | median | p90 | max |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['n']} | {r['median']:.2f} | {r['p90']:.2f} | {r['max']:.1f} |")
    lines += [
        "",
        f"Command: `python benchmarks/mpc_solve_time.py {' '.join(argv or sys.argv[1:])}`",
    ]
    text = "\n".join(lines)
    print(text)
    data = {
        "episodes": [
            {k: v for k, v in e.items() if k not in ("warm_times", "warm_iters", "states")}
            for e in episodes
        ],
        "successes": successes,
        "times_ms": rows,
        "cold_converged": {"single": single_ok, "best": best_ok, "states": len(picked)},
        "mpc_stats": mpc.stats.as_dict(),
    }
    save_result("mpc_solve_time", text, data)
    return 0 if successes == args.starts else 1


if __name__ == "__main__":
    raise SystemExit(main())
