"""The wheelbot yaw MPC on MuJoCo: the yaw test from many starts, tracking and solve times.

The MPC (a residual on the robot's LQR, ``ampc_agent/systems/wheelbot/``) runs the
env's yaw test (+pi/2 at 5 s, 0 at 10 s, -pi/2 at 15 s, 0 at 20 s, 25 s) on the nominal
robot from ``--starts`` start states of the env's start distribution (seeds
``seed .. seed + starts - 1``), beside the balancing LQR alone from the same starts.
Reported: falls, mean absolute yaw error, settling after each reference step (the time
after which the error stays below 0.1 and 0.05 rad), the error at the end of each step,
the worst tilt and reaction-wheel speed, and the controller's calls: warm (one solver
call of at most 30 SQP iterations from the previous iterate), cold (first call and
re-plans at a reference step: best of all starts), inexact (accepted at the iteration
limit), failed (the previous plan played). Then the solve times of cold best-of-starts
solves and of the KKT sensitivity at ``--cold`` states visited in closed loop.

Prints a table, saves ``benchmarks/results/mpc_solve_time_wheelbot.{md,json,png}``.

    python -m benchmarks.wheelbot_mpc [--starts 20] [--seconds 25] [--cold 20] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from benchmarks.machine import RESULTS_DIR, save_result
from benchmarks.mpc_solve_time import pct

NAME = "mpc_solve_time_wheelbot"


def episode(system, controller, seed: int, seconds: float) -> dict:
    """One yaw test; tracking, extremes, and the controller's call log."""
    from ampc_agent.systems.wheelbot.tracking import step_responses, yaw_errors
    from ampc_envs.core.episode import run_episode

    env = system.make_env(episode_seconds=seconds)
    ep = run_episode(env, controller, seed=seed, record_states=True)
    dt, schedule = float(env.unwrapped.dt), env.unwrapped.yaw_schedule
    env.close()
    errors = yaw_errors(ep["states"], ep["observations"])
    return {
        "seed": seed,
        "crashed": bool(ep["crashed"]),
        "steps": int(ep["length"]),
        "mean_error": float(errors[1:].mean()),
        "errors": errors,
        "responses": step_responses(errors, dt, [s for s in schedule if s[0] < seconds]),
        "max_tilt": float(np.abs(ep["states"][:, 1:3]).max()),
        "max_omega_R": float(np.abs(ep["states"][:, 9]).max()),
        "call_seconds": ep["step_seconds"],
        "dt": dt,
    }


def _fmt(value: float | None) -> str:
    return "never" if value is None else f"{value:.3f}"


_WORKER_MPC = None


def _mpc_episode(job: tuple[int, float], mpc=None) -> dict:
    """One MPC yaw test (in a worker process: with that process's MPC)."""
    global _WORKER_MPC
    from ampc_agent.mpc.controller import MPCController
    from ampc_agent.systems.wheelbot import WHEELBOT

    if mpc is None:
        if _WORKER_MPC is None:
            _WORKER_MPC = WHEELBOT.make_mpc()
            _WORKER_MPC.initial_guesses(np.zeros(_WORKER_MPC.nx))  # the library of turns
        mpc = _WORKER_MPC
    seed, seconds = job
    mpc.reset()
    ctrl = MPCController(mpc, keep_solutions=True)
    run = episode(WHEELBOT, WHEELBOT.controller(ctrl), seed, seconds)
    run["kinds"] = list(ctrl.kinds)
    run["iterations"] = [s.sqp_iter if s is not None else -1 for s in ctrl.solutions]
    run["visited"] = [s.x0 for s in ctrl.solutions if s is not None]
    return run


def _report_run(run: dict) -> dict:
    r = run["responses"]
    print(
        f"seed {run['seed']}: fell {run['crashed']}, mean |yaw error| {run['mean_error']:.4f}, "
        f"settle 0.1 {[_fmt(s['settle_0.1']) for s in r]}, kinds "
        f"{ {k: run['kinds'].count(k) for k in sorted(set(run['kinds']))} }",
        flush=True,
    )
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--cold", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="processes for the episodes")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")

    from ampc_agent.systems.wheelbot import WHEELBOT

    system = WHEELBOT
    seeds = list(range(args.seed, args.seed + args.starts))
    lqr = [episode(system, system.make_baseline(), s, args.seconds) for s in seeds]
    mpc = system.make_mpc()
    t = time.perf_counter()
    mpc.initial_guesses(np.zeros(mpc.nx))  # solves the library of turns, once
    library_seconds = time.perf_counter() - t
    jobs = [(s, args.seconds) for s in seeds]
    if args.workers > 1:
        import multiprocessing as mp

        from ampc_agent.processes import die_with_parent

        ctx = mp.get_context("spawn")
        with ctx.Pool(args.workers, initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
            results = pool.imap(_mpc_episode, jobs)
            runs = [_report_run(r) for r in results]
    else:
        runs = [_report_run(_mpc_episode(job, mpc)) for job in jobs]
    states = [x for r in runs for x in r.pop("visited")]

    # Cold best-of-starts solves and sensitivities at visited states.
    rng = np.random.default_rng(args.seed)
    picked = [states[i] for i in rng.choice(len(states), min(args.cold, len(states)), False)]
    cold, cold_ok, sens = [], 0, []
    for x in picked:
        mpc.reset()
        t = time.perf_counter()
        sol = mpc.solve(x, init="best", raise_on_failure=False)
        cold.append(time.perf_counter() - t)
        cold_ok += sol.ok
        if sol.ok:
            t = time.perf_counter()
            mpc.sensitivity(sol)
            sens.append(time.perf_counter() - t)

    text, data = _report(args, lqr, runs, cold, cold_ok, sens, len(picked), mpc)
    text = text.replace("{library}", f"{library_seconds:.1f}")
    data["library_seconds"] = library_seconds
    print(text)
    save_result(NAME, text, data)
    _plot(lqr, runs)
    return 0 if not any(r["crashed"] for r in runs) else 1


def _report(args, lqr, runs, cold, cold_ok, sens, n_cold, mpc) -> tuple[str, dict]:
    calls = {k: [] for k in ("warm", "cold")}
    iters, counts = [], {}
    for r in runs:
        for kind, sec, it in zip(r["kinds"], r["call_seconds"], r["iterations"], strict=True):
            calls["cold" if kind in ("start", "replan") else "warm"].append(sec)
            counts[kind] = counts.get(kind, 0) + 1
            if kind not in ("start", "replan") and it >= 0:
                iters.append(it)
    steps = [s for r in runs for s in r["responses"]]
    falls = sum(r["crashed"] for r in runs)
    lines = [
        "# Wheelbot yaw MPC on MuJoCo: the yaw test",
        "",
        f"{args.starts} starts of the env's start distribution (seeds {args.seed}.."
        f"{args.seed + args.starts - 1}), {args.seconds:g} s yaw test, nominal robot. "
        f"**Falls: MPC {falls}/{len(runs)}, LQR {sum(r['crashed'] for r in lqr)}/{len(lqr)}.** "
        f"Mean |yaw error| over all steps: **MPC {np.mean([r['mean_error'] for r in runs]):.4f} "
        f"rad, LQR alone {np.mean([r['mean_error'] for r in lqr]):.4f} rad**.",
        "",
        "| seed | fell | mean abs yaw error (rad) | LQR alone | settle < 0.1 rad after each "
        "step (s) | settle < 0.05 rad (s) | error at the end of each step (rad) | max tilt "
        "(rad) | max omega_R (rad/s) | inexact | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r, b in zip(runs, lqr, strict=True):
        resp = r["responses"]
        finals = " / ".join(f"{s['final']:.3f}" for s in resp)
        lines.append(
            f"| {r['seed']} | {'YES' if r['crashed'] else 'no'} | {r['mean_error']:.4f} | "
            f"{b['mean_error']:.4f} | {' / '.join(_fmt(s['settle_0.1']) for s in resp)} | "
            f"{' / '.join(_fmt(s['settle_0.05']) for s in resp)} | "
            f"{finals} | {r['max_tilt']:.3f} | "
            f"{r['max_omega_R']:.0f} | {r['kinds'].count('inexact')} | "
            f"{r['kinds'].count('failed')} |"
        )
    settle = [s["settle_0.1"] for s in steps]
    settled = [s for s in settle if s is not None]
    lines += [
        "",
        f"Reference steps: {len(steps)}; settled below 0.1 rad: {len(settled)} (median "
        f"{np.median(settled) if settled else float('nan'):.3f} s, max "
        f"{max(settled) if settled else float('nan'):.3f} s); error at the end of a step: "
        f"median {np.median([s['final'] for s in steps]):.4f}, max "
        f"{max(s['final'] for s in steps):.4f} rad.",
        "",
        f"Controller calls: {counts}. Warm-call SQP iterations: median "
        f"{np.median(iters):.0f}, p90 {np.percentile(iters, 90):.0f}.",
        "",
        "| solve (ms) | n | median | p90 | max |",
        "|---|---|---|---|---|",
    ]
    rows = {
        "warm call in closed loop (one solver call, <= 30 SQP iterations)": pct(calls["warm"]),
        "cold call in closed loop (first call, re-plan at a reference step)": pct(calls["cold"]),
        "cold, best of all initialisations, at visited states": pct(cold),
        "sensitivity du0/dtheta (KKT solve)": pct(sens),
    }
    for name, r in rows.items():
        lines.append(f"| {name} | {r['n']} | {r['median']:.1f} | {r['p90']:.1f} | {r['max']:.0f} |")
    lines += [
        "",
        f"Cold best-of-starts solves converged at {cold_ok}/{n_cold} states. The library of "
        "solved turns (the best starts at a reference step) is solved once per MPC, before "
        "the episodes: {library} s.",
        "",
        f"![mean and worst yaw error over the starts]({NAME}.png)",
        "",
        f"Command: `python -m benchmarks.wheelbot_mpc {' '.join(sys.argv[1:])}`",
    ]
    keep = ("errors", "call_seconds", "kinds", "iterations")
    data = {
        "mpc": [{k: v for k, v in r.items() if k not in keep} for r in runs],
        "lqr": [{k: v for k, v in r.items() if k not in keep} for r in lqr],
        "calls": counts,
        "times_ms": rows,
        "warm_iterations": {
            "median": float(np.median(iters)),
            "p90": float(np.percentile(iters, 90)),
        },
        "cold_converged": {"converged": cold_ok, "states": n_cold},
        "mpc_stats": mpc.stats.as_dict(),
    }
    return "\n".join(lines), data


def _plot(lqr: list[dict], runs: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 3.5))
    for label, group, colour in (("MPC", runs, "C0"), ("LQR alone", lqr, "C1")):
        n = min(len(r["errors"]) for r in group)
        errs = np.array([r["errors"][:n] for r in group])
        t = np.arange(n) * group[0]["dt"]
        ax.plot(t, errs.mean(axis=0), color=colour, label=f"{label}, mean over starts")
        ax.fill_between(t, errs.min(axis=0), errs.max(axis=0), color=colour, alpha=0.2)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("|yaw error| (rad)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(RESULTS_DIR / f"{NAME}.png", dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
