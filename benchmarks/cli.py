"""``ampc-bench``: sweeps of tuners over systems and seeds, their report and TensorBoard.

    ampc-bench sweep --systems cartpole --tuners turbo gibo random cmaes nominal sysid oracle \\
        --instances hardware-like --seeds 0-19 --budgets 50 --results runs/bench
    ampc-bench sweep --config benchmarks/configs/headline.yaml --results runs/headline
    ampc-bench report runs/bench
    ampc-bench tensorboard runs/bench --port 6006

A sweep runs every trial (system x tuner x instance x seed x budget) that has no
finished record in the results folder, on local worker processes or, with
``--ray-address``, on Ray; rerunning the same command resumes a killed sweep.
Flags override the YAML file. The whole configuration is checked before the first
trial runs; one sweep at a time holds a results folder; Ctrl-C or SIGTERM stop it
once the running trials are recorded (exit 130 / 143).
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


def _option(text: str) -> tuple[str, str, Any]:
    import yaml

    key, sep, value = text.partition("=")
    method, dot, name = key.partition(".")
    if not (sep and dot and method and name):
        raise argparse.ArgumentTypeError(f"expected TUNER.KEY=VALUE, got {text!r}")
    try:
        return method, name, yaml.safe_load(value)
    except yaml.YAMLError:
        raise argparse.ArgumentTypeError(
            f"the value of {key} is not valid YAML: {value!r}"
        ) from None


def _sweep_parser(sub: argparse._SubParsersAction) -> None:
    from benchmarks.sweep.config import METHODS
    from benchmarks.sweep.systems import SYSTEMS_OFFERED

    p = sub.add_parser("sweep", help="run (or resume) a sweep of trials")
    p.add_argument("--config", type=Path, help="YAML file with the sweep (flags override it)")
    p.add_argument("--systems", nargs="+", choices=sorted(SYSTEMS_OFFERED))
    p.add_argument("--tuners", nargs="+", choices=METHODS, help="tuners and baselines")
    p.add_argument(
        "--instances",
        nargs="+",
        help="system instances: names (hardware-like), random-<k> (drawn with seed k), "
        "random (drawn with the trial seed)",
    )
    p.add_argument("--random-instances", type=int, help="add random-0 .. random-<N-1>")
    p.add_argument("--seeds", help="5 (0-4), 0-19, or 0,3,7")
    p.add_argument("--budgets", nargs="+", type=int, help="episodes per trial")
    p.add_argument("--episode-seed", choices=("fixed", "fresh"))
    p.add_argument(
        "--deploy-episodes",
        type=int,
        help="held-out episodes per recommended theta (default 10; 0: no deployed score)",
    )
    p.add_argument(
        "--deploy-budgets",
        nargs="+",
        type=int,
        help="episode counts after which the recommended theta is deployed (default "
        "5 10 20 50, and the trial budget)",
    )
    p.add_argument(
        "--bounds",
        choices=("tuning", "theta"),
        help="box of theta: the policy's tuning bounds (default) or its whole theta range",
    )
    p.add_argument(
        "--option",
        action="append",
        type=_option,
        default=[],
        metavar="TUNER.KEY=VALUE",
        help="option of a tuner or baseline, e.g. oracle.episodes=100 (repeatable)",
    )
    p.add_argument("--results", type=Path, default=Path("runs/bench"), help="results folder")
    p.add_argument("--workers", type=int, default=2, help="local worker processes")
    p.add_argument(
        "--ray-address",
        help="run on Ray: 'local' starts a local instance with --workers CPUs, "
        "'auto' or host:port joins a running cluster",
    )
    p.add_argument("--dry-run", action="store_true", help="list the trials and exit")
    p.add_argument("--no-report", action="store_true", help="skip report and TensorBoard logs")


def sweep(args: argparse.Namespace) -> int:
    from ampc_agent.io import folder_lock
    from ampc_agent.processes import GracefulStop
    from benchmarks.report import write_report, write_tensorboard
    from benchmarks.sweep import ResultStore, code_versions, load_sweep_config, run_sweep
    from benchmarks.sweep.config import METHODS
    from benchmarks.sweep.validate import check_trials

    if args.workers < 1:
        raise ValueError(f"--workers must be >= 1, got {args.workers}")
    if args.random_instances is not None and args.random_instances < 1:
        raise ValueError(f"--random-instances must be >= 1, got {args.random_instances}")
    instances = list(args.instances or [])
    if args.random_instances:
        instances += [f"random-{k}" for k in range(args.random_instances)]
    overrides = {
        "systems": args.systems,
        "tuners": args.tuners,
        "instances": instances or None,
        "seeds": args.seeds,
        "budgets": args.budgets,
        "episode_seed": args.episode_seed,
        "bounds": args.bounds,
        "deploy_episodes": args.deploy_episodes,
        "deploy_budgets": args.deploy_budgets,
    }
    config = load_sweep_config(args.config, overrides)
    for method, key, value in args.option:
        if method not in METHODS:
            raise ValueError(f"--option {method}.{key}: unknown tuner {method!r}")
        config.options.setdefault(method, {})[key] = value
    trials = config.trials()
    check_trials(trials)  # a typo fails now, not minutes into the sweep
    store = ResultStore(args.results)
    if args.dry_run:
        status = store.status()
        for t in trials:
            print(f"{status.get(t.trial_id, 'pending'):8s} {t.name}")
        return 0
    where = f"Ray ({args.ray_address})" if args.ray_address else f"{args.workers} local processes"
    with folder_lock(args.results, "results folder"):
        print(f"{len(trials)} trials into {args.results} on {where}", flush=True)
        stop = GracefulStop(
            "ampc-bench sweep: stopping once the running trials are recorded (again to stop now)"
        )
        with stop:
            summary = run_sweep(
                trials, store, args.workers, args.ray_address, code_versions(), stop=stop
            )
        print(
            f"done: {summary.done} run now, {summary.skipped} already done, "
            f"{len(summary.errors)} failed"
        )
        for line in summary.errors:
            print(f"  failed: {line}")
        if stop.requested and summary.not_run:
            print(
                f"stopped: {summary.not_run} trials not run; rerun the same command to "
                f"resume the sweep in {args.results}"
            )
            return stop.exit_code
        if not args.no_report:
            print(f"report: {write_report(args.results, animations=True)}")
            print(f"TensorBoard logs: {write_tensorboard(args.results)}")
    return 1 if summary.errors else 0


def report(args: argparse.Namespace) -> int:
    from benchmarks.report import write_report

    if not Path(args.results).is_dir():
        raise ValueError(f"results folder {args.results} does not exist")
    if any(b < 1 for b in args.budgets):
        raise ValueError(f"--budgets must be >= 1, got {args.budgets}")
    print(write_report(args.results, args.out, args.budgets, animations=args.animation))
    return 0


def tensorboard(args: argparse.Namespace) -> int:
    from ampc_agent.processes import child_preexec
    from benchmarks.report import write_tensorboard

    if not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    if not Path(args.results).is_dir():
        raise ValueError(f"results folder {args.results} does not exist")
    logdir = write_tensorboard(args.results)
    host = args.host or "127.0.0.1"  # never expose the logs unless asked to
    cmd = [sys.executable, "-m", "tensorboard.main", "--logdir", str(logdir)]
    cmd += ["--host", host, "--port", str(args.port)]
    print(f"TensorBoard on http://{host}:{args.port} (Ctrl-C to stop)", flush=True)
    # TensorBoard ends with this process: on SIGTERM or Ctrl-C it is stopped, and the
    # kernel kills it if this process dies without a word (SIGKILL).
    server = subprocess.Popen(cmd, preexec_fn=child_preexec())
    received: list[int] = []

    def stop_server(signum: int, _frame: Any) -> None:
        received.append(signum)
        server.terminate()

    previous = {s: signal.signal(s, stop_server) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            code = server.wait(timeout=None)
        except BaseException:
            server.kill()
            raise
        if received:
            return 128 + received[0]
        return code
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if server.poll() is None:
            server.kill()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    from benchmarks.report.summary import BUDGETS

    parser = argparse.ArgumentParser(prog="ampc-bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _sweep_parser(sub)
    p = sub.add_parser("report", help="Markdown report with tables and plots")
    p.add_argument("results", type=Path, help="results folder of a sweep")
    p.add_argument("--out", type=Path, help="output folder (default: the results folder)")
    p.add_argument("--budgets", nargs="+", type=int, default=list(BUDGETS))
    p.add_argument(
        "--animation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="render one GIF per system (nominal and deployed theta) into the report",
    )
    p = sub.add_parser("tensorboard", help="write TensorBoard logs and start TensorBoard")
    p.add_argument("results", type=Path, help="results folder of a sweep")
    p.add_argument("--port", type=int, default=6006)
    p.add_argument("--host", help="bind address (default 127.0.0.1)")
    args = parser.parse_args(argv)
    from ampc_agent.cli import run_guarded

    command = {"sweep": sweep, "report": report, "tensorboard": tensorboard}[args.command]
    hint = "rerun the same command to resume the sweep" if args.command == "sweep" else ""
    return run_guarded(f"ampc-bench {args.command}", lambda: command(args), hint)


if __name__ == "__main__":
    sys.exit(main())
