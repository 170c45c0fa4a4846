"""``ampc train SYSTEM --dataset PATH --out PATH``: fit the AMPC networks.

Reads the MPC dataset, holds out a test set, trains the nominal-action network
``pi`` and the sensitivity network ``J`` (Adam, early stopping, TensorBoard under
``--logdir``), and writes ``model.safetensors``, ``metadata.json`` and
``test_set.npz`` to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from ampc_agent.systems import SYSTEMS
from ampc_agent.training.config import JACOBIAN_TARGETS, NetworkConfig, TrainingConfig


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``ampc train``."""
    d, n = TrainingConfig(), NetworkConfig()
    parser.add_argument(
        "system",
        help=f"system of the dataset (registered: {', '.join(SYSTEMS)}; it must match the "
        "dataset's metadata)",
    )
    parser.add_argument("--dataset", required=True, help="dataset folder (ampc dataset)")
    parser.add_argument("--out", required=True, help="output folder of the policy")
    parser.add_argument(
        "--logdir", default=None, help="TensorBoard folder (default runs/train-SYSTEM-TIME)"
    )
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument(
        "--test-size",
        type=int,
        default=d.test_size,
        help="held-out samples written to test_set.npz",
    )
    parser.add_argument("--val-fraction", type=float, default=d.val_fraction)
    parser.add_argument(
        "--max-samples", type=int, default=None, help="use at most this many dataset samples"
    )
    parser.add_argument("--threads", type=int, default=d.num_threads, help="torch CPU threads")
    parser.add_argument(
        "--hidden",
        type=int,
        nargs="+",
        default=list(n.hidden),
        help="hidden widths of both networks",
    )
    parser.add_argument(
        "--jacobian-hidden",
        type=int,
        nargs="+",
        default=None,
        help="hidden widths of J (default: --hidden)",
    )
    parser.add_argument("--activation", default=n.activation, choices=["tanh", "silu"])
    parser.add_argument("--lr", type=float, default=n.learning_rate)
    parser.add_argument("--batch-size", type=int, default=n.batch_size)
    parser.add_argument("--max-epochs", type=int, default=n.max_epochs)
    parser.add_argument("--patience", type=int, default=n.patience)
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=n.max_minutes,
        help="wall-time limit per network in min",
    )
    parser.add_argument(
        "--jacobian-asinh-quantile",
        type=float,
        default=d.jacobian_asinh_quantile,
        help="train J on asinh(J / scale), scale = this quantile of |J| (<= 0: plain J)",
    )
    parser.add_argument(
        "--jacobian-target",
        default=d.jacobian_target,
        choices=JACOBIAN_TARGETS,
        help="what J learns: kkt (exact sensitivities), kkt_clipped (cut at 6 std), secant "
        "(slope of the re-solved changes), changes (loss on J d against each re-solved "
        "change); the last two need secant labels",
    )
    parser.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add mirrored samples (-x, -u, -J); default: on for systems whose MPC is odd "
        "in the state (the registry's mirror_symmetric)",
    )
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="train on a dataset whose generation has not finished",
    )
    parser.add_argument(
        "--no-saturation-aware",
        action="store_true",
        help="plain MSE for pi also where the MPC action is saturated",
    )


def run(args: argparse.Namespace) -> int:
    """Train and save; print a summary."""
    from ampc_agent.dataset.storage import load_dataset
    from ampc_agent.training import save_test_set, train_ampc

    def net(hidden: list[int]) -> NetworkConfig:
        return NetworkConfig(
            hidden=tuple(hidden),
            activation=args.activation,
            learning_rate=args.lr,
            batch_size=args.batch_size,
            max_epochs=args.max_epochs,
            patience=args.patience,
            max_minutes=args.max_minutes,
        )

    config = TrainingConfig(
        seed=args.seed,
        test_size=args.test_size,
        val_fraction=args.val_fraction,
        max_samples=args.max_samples,
        num_threads=args.threads,
        saturation_aware=not args.no_saturation_aware,
        mirror_augmentation=(
            args.mirror
            if args.mirror is not None
            else args.system in SYSTEMS and SYSTEMS[args.system].mirror_symmetric
        ),
        jacobian_target=args.jacobian_target,
        jacobian_asinh_quantile=(
            args.jacobian_asinh_quantile if args.jacobian_asinh_quantile > 0 else None
        ),
        pi=net(args.hidden),
        jacobian=net(args.jacobian_hidden or args.hidden),
    )
    t0 = time.perf_counter()
    dataset = load_dataset(args.dataset)
    system = dataset.metadata.get("system")
    if system is not None and system != args.system:
        raise SystemExit(f"dataset {args.dataset} is for system {system!r}, not {args.system!r}")
    if dataset.metadata.get("complete") is False and not args.allow_incomplete:
        raise SystemExit(
            f"dataset {args.dataset} is incomplete (its generation has not finished); "
            "pass --allow-incomplete to train on it anyway"
        )
    logdir = args.logdir or f"runs/train-{args.system}-{time.strftime('%Y%m%d-%H%M%S')}"
    print(
        f"dataset {args.dataset}: {len(dataset)} samples, fingerprint "
        f"{dataset.fingerprint[:12]}; TensorBoard: {logdir}"
    )
    result = train_ampc(dataset, config, log_dir=logdir, dataset_path=str(args.dataset))
    out = Path(args.out)
    result.policy.save(out)
    save_test_set(out, **result.test_set)
    print(f"pi:       {result.pi.summary()}")
    print(f"jacobian: {result.jacobian.summary()}")
    acc = {k: v for k, v in result.accuracy.items() if not isinstance(v, dict)}
    print(f"held-out accuracy: {json.dumps(acc)}")
    print(
        f"wrote {out}/model.safetensors, metadata.json, test_set.npz in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    return 0
