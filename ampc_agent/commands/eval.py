"""``ampc eval SYSTEM``: the AMPC beside the MPC it imitates.

Held-out accuracy, closed-loop episodes on the nominal MuJoCo system, the action
error of the adapted AMPC against the MPC at other theta, and the recommended tuning
range. Writes ``eval_<system>.{md,json,png}`` to ``--out``; with
``--set-tuning-bounds`` the range is stored in the policy's ``metadata.json`` (the
default bounds of the tuning environment).

``--test-set DATASET`` takes the held-out samples from a dataset folder of ``ampc
dataset`` (another seed than the training data's) instead of the policy's
``test_set.npz``: a larger test set, or one with secant labels
(``--secant-perturbations``), against which ``J`` is judged on the MPC's re-solved
changes of action beside the per-state linear ceiling. ``--accuracy-only`` stops after
the accuracy and writes ``accuracy_<system>.{md,json}``.
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
        "--test-set",
        default=None,
        help="dataset folder whose samples are the held-out set (default: the policy's)",
    )
    parser.add_argument(
        "--accuracy-only",
        action="store_true",
        help="only the held-out accuracy (writes accuracy_<system>.{md,json})",
    )
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
    if args.test_set:
        test_set = dataset_test_set(args.test_set, policy, args.system)
        source = f"dataset {args.test_set}"
    else:
        test_set = load_test_set(folder)
        source = f"{folder.name}/test_set.npz"
    if args.accuracy_only:
        if args.set_tuning_bounds:
            raise ValueError("--set-tuning-bounds needs the whole evaluation, not --accuracy-only")
        return _accuracy_only(args, system, policy, folder, test_set, source)
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
    report["test_set"] = source
    report["dataset_fingerprint"] = policy.info.get("dataset", {}).get("fingerprint")
    report["command"] = (
        f"ampc eval {args.system} --starts {args.starts} --states {args.states} "
        f"--thetas {args.thetas} --sweep-points {args.sweep_points} --physical-states "
        f"{args.physical_states} --instances {args.instances} --seed {args.seed}"
        f"{_test_set_flag(args)}"
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


def dataset_test_set(folder: str | Path, policy, system: str) -> dict:
    """The samples of a dataset folder as a held-out set for ``policy`` of ``system``.

    Raises:
        ValueError: if the dataset is of another system or another theta (names or
            nominal values), the one the policy was trained on (same fingerprint), or
            its shapes do not fit the policy's state, input and theta.
    """
    import numpy as np

    from ampc_agent.dataset.storage import SECANT_ARRAYS, load_dataset

    data = load_dataset(folder)
    meta = data.metadata
    if meta.get("system") != system:
        raise ValueError(
            f"--test-set {folder} is a dataset of system {meta.get('system')!r}, not {system!r}"
        )
    names = tuple(meta.get("theta_names", ()))
    if names != tuple(policy.theta_names):
        raise ValueError(
            f"--test-set {folder} has theta {list(names)}, the policy {list(policy.theta_names)}"
        )
    if not np.allclose(meta.get("theta_nominal"), policy.theta_nominal, rtol=1e-12, atol=0.0):
        raise ValueError(
            f"--test-set {folder} has theta_nominal {meta.get('theta_nominal')}, the policy "
            f"{policy.theta_nominal.tolist()}"
        )
    trained = policy.info.get("dataset", {})
    trained_on = {trained.get("fingerprint")} | {
        part.get("fingerprint") for part in trained.get("parts", [])
    }
    if data.fingerprint in trained_on - {None}:
        raise ValueError(f"--test-set {folder} is a dataset the policy was trained on")
    expected = {"x": (policy.nx,), "u": (policy.nu,), "du_dtheta": (policy.nu, policy.p)}
    for name, shape in expected.items():
        got = getattr(data, name).shape[1:]
        if got != shape:
            raise ValueError(
                f"--test-set {folder}: {name} has shape {got} per sample, the policy needs {shape}"
            )
    out = {k: getattr(data, k) for k in expected}
    if data.has_secant:
        out.update({k: getattr(data, k) for k in SECANT_ARRAYS})
    return out


def _accuracy_only(args, system, policy, folder: Path, test_set: dict, source: str) -> int:
    """``--accuracy-only``: the held-out accuracy, printed and written."""
    from ampc_agent.evaluation.report import accuracy_sections
    from ampc_agent.evaluation.study import accuracy_on_test_set
    from ampc_agent.io import atomic_write_bytes, write_json

    acc = accuracy_on_test_set(policy, test_set)
    command = f"ampc eval {args.system} --accuracy-only{_test_set_flag(args)}"
    report = {
        "system": system.name,
        "policy": str(folder),
        "test_set": source,
        "command": command,
        "accuracy": acc,
    }
    lines = [f"# AMPC accuracy: {system.name}", "", f"`{command}` on the policy in `{folder}`.", ""]
    lines += accuracy_sections(acc, system.input_unit, list(policy.theta_names), source)
    text = "\n".join(lines) + "\n"
    out = Path(args.out)
    write_json(out / f"accuracy_{system.name}.json", report, indent=1)
    atomic_write_bytes(out / f"accuracy_{system.name}.md", text.encode())
    print(text)
    print(f"wrote {out / f'accuracy_{system.name}.md'}")
    return 0


def _test_set_flag(args: argparse.Namespace) -> str:
    """`` --test-set DATASET`` for the report's command line, if one was given."""
    return f" --test-set {args.test_set}" if args.test_set else ""
