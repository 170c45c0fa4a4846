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
    parser.add_argument(
        "--dataset",
        required=True,
        nargs="+",
        help="dataset folder (ampc dataset); several are trained on together (e.g. the "
        "shipped dataset and a DAgger dataset of ampc dataset --learner)",
    )
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
        help="add mirror images (S x, R u, R J) of the samples for the system's sign "
        "patterns (S, R); default: on for systems that have them (the registry's "
        "symmetries, e.g. the cart-pole's x -> -x, u -> -u)",
    )
    parser.add_argument(
        "--ignore-states",
        nargs="*",
        default=None,
        metavar="STATE",
        help="states not fed to the networks; default: the registry's (states the MPC's "
        "action does not depend on, e.g. the wheelbot's q_R)",
    )
    parser.add_argument(
        "--clip-states",
        nargs="*",
        default=None,
        metavar="STATE",
        help="states held to the training data's range before the networks; default: the "
        "registry's (e.g. the wheelbot's q_W)",
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


def _state_names(system: str, field: str) -> tuple[str, ...]:
    """Names of the registry's ``field`` states of ``system`` (``()`` if unknown)."""
    spec = SYSTEMS.get(system)
    return tuple(spec.state_names[i] for i in getattr(spec, field)) if spec else ()


def run(args: argparse.Namespace) -> int:
    """Train and save; print a summary."""
    from ampc_agent.dataset.storage import concatenate_datasets, load_dataset
    from ampc_agent.training import save_test_set, train_ampc

    _check_numbers(args)

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
            else args.system in SYSTEMS and bool(SYSTEMS[args.system].symmetries)
        ),
        symmetries=SYSTEMS[args.system].symmetries if args.system in SYSTEMS else (),
        ignored_states=(
            tuple(args.ignore_states)
            if args.ignore_states is not None
            else _state_names(args.system, "ignored_states")
        ),
        clipped_states=(
            tuple(args.clip_states)
            if args.clip_states is not None
            else _state_names(args.system, "clipped_states")
        ),
        jacobian_target=args.jacobian_target,
        jacobian_asinh_quantile=(
            args.jacobian_asinh_quantile if args.jacobian_asinh_quantile > 0 else None
        ),
        pi=net(args.hidden),
        jacobian=net(args.jacobian_hidden or args.hidden),
    )
    t0 = time.perf_counter()
    parts = []
    for folder in args.dataset:
        part = load_dataset(folder)
        system = part.metadata.get("system")
        if system is not None and system != args.system:
            raise ValueError(f"dataset {folder} is for system {system!r}, not {args.system!r}")
        if part.metadata.get("complete") is False and not args.allow_incomplete:
            raise ValueError(
                f"dataset {folder} is incomplete (its generation has not finished); "
                "pass --allow-incomplete to train on it anyway"
            )
        parts.append(part)
    dataset = parts[0] if len(parts) == 1 else concatenate_datasets(parts, args.dataset)
    name = ",".join(args.dataset)
    used = len(dataset) if args.max_samples is None else min(len(dataset), args.max_samples)
    needed = _samples_needed(args.test_size, args.val_fraction, args.batch_size)
    if used < needed:
        raise ValueError(
            f"dataset {name} gives {used} samples, too few for a test set of "
            f"--test-size {args.test_size} and a training split of at least --batch-size "
            f"{args.batch_size} (validation share {args.val_fraction}): it needs at least "
            f"{needed}"
        )
    logdir = args.logdir or f"runs/train-{args.system}-{time.strftime('%Y%m%d-%H%M%S')}"
    print(
        f"dataset {name}: {len(dataset)} samples, fingerprint "
        f"{dataset.fingerprint[:12]}; TensorBoard: {logdir}"
    )
    result = train_ampc(dataset, config, log_dir=logdir, dataset_path=name)
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


def _check_numbers(args: argparse.Namespace) -> None:
    """Refuse sizes and fractions no training can run with (the message names the flag)."""
    at_least_one = {
        "--test-size": args.test_size,
        "--batch-size": args.batch_size,
        "--threads": args.threads,
        "--max-epochs": args.max_epochs,
        "--max-samples": 1 if args.max_samples is None else args.max_samples,
    }
    for flag, value in at_least_one.items():
        if value < 1:
            raise ValueError(f"{flag} must be >= 1, got {value}")
    if not 0.0 < args.val_fraction < 1.0:
        raise ValueError(f"--val-fraction must be between 0 and 1, got {args.val_fraction}")


def _samples_needed(test_size: int, val_fraction: float, batch_size: int) -> int:
    """Fewest samples whose split (as ``split_indices`` makes it) keeps the whole test set
    and leaves at least one minibatch to train on.

    A smaller dataset would silently shrink the test set to half of the data, or train on
    a handful of samples and write a policy that is worse than none.
    """
    n = max(2 * test_size, test_size + batch_size + 1)
    while n - test_size - max(1, round(val_fraction * (n - test_size))) < batch_size:
        n += 1
    return n
