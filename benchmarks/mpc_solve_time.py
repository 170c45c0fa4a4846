"""A system's MPC in closed loop on MuJoCo: success and solve times (warm, cold).

One run does three things with the same solver:

1. closed loop on the nominal MuJoCo plant from ``--starts`` start states of the env's
   start distribution (seeds 0..starts-1): success (the system's rule), warm-start
   solve times (``mpc(x)``: Newton from the previous solution, the control loop's path);
2. cold solves at ``--cold`` states visited in (1): the problem's first initial guess
   and best of all initialisations (``init="best"``, the dataset's labelling rule);
3. the sensitivity du0*/dtheta (KKT solve) at the same states.

Prints a table and writes ``benchmarks/results/mpc_solve_time_SYSTEM.{md,json}``.

    python -m benchmarks.mpc_solve_time [--system cartpole] [--starts 20] [--cold 100]
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


def closed_loop(system, mpc, seed: int) -> dict:
    """One episode on the nominal plant; times of the warm solves after the first."""
    from ampc_agent.mpc.controller import MPCController
    from ampc_envs.core.episode import run_episode

    env = system.make_env()
    controller = MPCController(mpc, keep_solutions=True)
    ep = run_episode(env, system.controller(controller), seed=seed, record_states=True)
    dt = float(env.unwrapped.dt)
    env.close()
    iters = [s.sqp_iter for s in controller.solutions[1:] if s is not None]
    return {
        "seed": seed,
        "success": bool(system.success(ep["states"], ep["crashed"], dt)),
        "return": ep["return"],
        "max_abs_state": np.abs(ep["states"]).max(axis=0).tolist(),
        "failed_calls": controller.failures,
        "warm_times": ep["step_seconds"][1:].tolist(),  # the first call has no warm start
        "warm_iters": iters,
        "states": np.array([system.make_interface().state(o) for o in ep["observations"][:-1]]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    from ampc_agent.systems import get_system, systems_with

    parser.add_argument("--system", default=systems_with("mpc")[0], choices=systems_with("mpc"))
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--cold", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    system = get_system(args.system)
    mpc = system.make_mpc()
    episodes = [closed_loop(system, mpc, args.seed + i) for i in range(args.starts)]
    warm = [t for e in episodes for t in e["warm_times"]]
    warm_iters = [t for e in episodes for t in e["warm_iters"]]
    states = np.concatenate([e["states"] for e in episodes])
    rng = np.random.default_rng(args.seed)
    picked = states[rng.choice(len(states), size=min(args.cold, len(states)), replace=False)]

    single, single_ok, best, best_ok, sens = [], 0, [], 0, []
    first_guess = mpc.ocp.initial_guesses(picked[0], mpc.theta_spec.nominal_array)[0].name
    for x in picked:
        mpc.reset()
        t = time.perf_counter()
        s = mpc.solve(x, init=first_guess, raise_on_failure=False)
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
        f"cold, one initialisation ({first_guess})": pct(single),
        "cold, best of all initialisations": pct(best),
        "sensitivity du0/dtheta (KKT solve)": pct(sens),
    }
    names = system.state_names
    lines = [
        f"# {system.name} MPC: closed loop and solve times",
        "",
        f"Closed loop on the nominal MuJoCo plant from {args.starts} start states of the env's "
        f"start distribution (seeds {args.seed}..{args.seed + args.starts - 1}): "
        f"**{successes}/{args.starts} successful** ({system.success.__doc__.splitlines()[0]})",
        "",
        f"| start seed | success | return | max abs {names[0]} | max abs {names[1]} "
        "| failed calls |",
        "|---|---|---|---|---|---|",
    ]
    for e in episodes:
        m = e["max_abs_state"]
        lines.append(
            f"| {e['seed']} | {'yes' if e['success'] else 'NO'} | {e['return']:.1f} | "
            f"{m[0]:.3f} | {m[1]:.3f} | {e['failed_calls']} |"
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
        f"Command: `python -m benchmarks.mpc_solve_time {' '.join(argv or sys.argv[1:])}`",
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
    save_result(f"mpc_solve_time_{args.system}", text, data)
    return 0 if successes == args.starts else 1


if __name__ == "__main__":
    raise SystemExit(main())
