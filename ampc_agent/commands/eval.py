"""``ampc eval SYSTEM``: the AMPC beside the MPC it imitates.

Held-out accuracy, closed-loop episodes on the nominal MuJoCo system, the action
error of the adapted AMPC against the MPC at other theta, and the recommended tuning
range. Writes ``eval_<system>.{md,json,png}`` to ``--out``; with
``--set-tuning-bounds`` the range is stored in the policy's ``metadata.json`` (the
default bounds of the tuning environment).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ampc_agent.systems import systems_with


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``ampc eval``."""
    parser.add_argument("system", choices=systems_with("mpc"), help="system to evaluate")
    parser.add_argument(
        "--policy", default=None, help="policy folder (default: the shipped weights)"
    )
    parser.add_argument("--starts", type=int, default=50, help="closed-loop start states")
    parser.add_argument(
        "--states", type=int, default=40, help="held-out states of the adaptation study"
    )
    parser.add_argument(
        "--thetas", type=int, default=60, help="random parameter vectors of the adaptation study"
    )
    parser.add_argument(
        "--sweep-points", type=int, default=3, help="sweep values between nominal and each bound"
    )
    parser.add_argument(
        "--physical-states", type=int, default=40, help="closed-loop states of the physical study"
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=30,
        help="random instances of the physical study and the closed loop at the true theta",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results", help="report folder")
    parser.add_argument(
        "--set-tuning-bounds",
        action="store_true",
        help="write the recommended tuning range into the policy metadata",
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate and write the report."""
    from ampc_agent.evaluation.report import write_report
    from ampc_agent.evaluation.study import evaluate_ampc
    from ampc_agent.policy import AMPCPolicy, load_test_set, shipped_policy_folder
    from ampc_agent.systems import get_system

    counts = {
        "--starts": (args.starts, 1),
        "--states": (args.states, 1),
        "--thetas": (args.thetas, 1),
        "--sweep-points": (args.sweep_points, 1),
        "--physical-states": (args.physical_states, 1),
        "--instances": (args.instances, 1),
    }
    for flag, (value, least) in counts.items():
        if value < least:
            raise ValueError(f"{flag} must be >= {least}, got {value}")
    system = get_system(args.system)
    folder = Path(args.policy) if args.policy else shipped_policy_folder(args.system)
    policy = AMPCPolicy.load(folder)
    test_set = load_test_set(folder)
    t0 = time.perf_counter()
    mpc = system.make_mpc()
    if tuple(mpc.theta_spec.names) != policy.theta_names:
        raise SystemExit(
            f"policy theta {policy.theta_names} differs from the MPC's {mpc.theta_spec.names}"
        )
    print(f"policy {folder}; MPC ready in {time.perf_counter() - t0:.1f} s")
    report = evaluate_ampc(
        system,
        policy,
        mpc,
        test_set,
        n_starts=args.starts,
        n_states=args.states,
        n_thetas=args.thetas,
        sweep_points=args.sweep_points,
        n_physical_states=args.physical_states,
        n_instances=args.instances,
        seed=args.seed,
    )
    report["policy"] = str(folder)
    report["dataset_fingerprint"] = policy.info.get("dataset", {}).get("fingerprint")
    report["command"] = (
        f"ampc eval {args.system} --starts {args.starts} --states {args.states} "
        f"--thetas {args.thetas} --sweep-points {args.sweep_points} --physical-states "
        f"{args.physical_states} --instances {args.instances} --seed {args.seed}"
    )
    report["header"] = f"`{report['command']}` on the policy in `{folder}`."
    paths = write_report(report, args.out)
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    if args.set_tuning_bounds:
        policy.set_tuning_bounds(report["tuning_lower"], report["tuning_upper"])
        cl = report["closed_loop"]
        policy.info["evaluation"] = {
            "command": report["command"],
            "tuning_rule": report["tuning_rule"],
            "success_rate": {k: cl[k]["success_rate"] for k in ("AMPC", "MPC")},
            "mean_return": {k: cl[k]["mean_return"] for k in ("AMPC", "MPC")},
            "pi_rmse": report["accuracy"]["pi_rmse"],
            "jacobian_r2": report["accuracy"]["jacobian_r2"],
        }
        policy.save(folder)
        print(f"tuning bounds written to {folder / 'metadata.json'}")
    return 0
