"""``ampc tune``: tune the shipped AMPC's theta on a (mismatched) system.

    ampc tune cartpole --tuner turbo --episodes 20 --instance hardware-like --logdir runs/
    ampc tune cartpole --params my_cartpole.json      # any instance, as overrides

One episode per theta: ask the tuner, run the AMPC at theta for one episode on the
system instance, tell the tuner the return and crash flag, record the episode. The
first episode is the nominal theta (every tuner starts there), so the table compares
against it directly.

The study folder (:mod:`ampc_agent.tuning.study`) holds the study's identity, the
episode records and the tuner state after every episode, and is locked while a run
owns it: rerunning the same command resumes where it stopped, whatever stopped it,
and ends as an uninterrupted run would. Ctrl-C or SIGTERM stop the run after the
episode in flight is recorded (exit 130 / 143).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ampc_agent.systems import systems_with
from ampc_agent.tuners.factory import TUNERS

#: The option that sets each item of a study's identity (named when one differs).
IDENTITY_FLAGS = {
    "system": "SYSTEM",
    "instance": "--instance/--params",
    "tuner": "--tuner",
    "seed": "--seed",
    "episode_seed": "--episode-seed",
    "policy": "--policy; the weights' fingerprint",
    "tuning_lower": "the policy's tuning box",
    "tuning_upper": "the policy's tuning box",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("system", choices=systems_with("weights"), help="system to tune on")
    parser.add_argument("--tuner", default="turbo", choices=sorted(TUNERS))
    parser.add_argument("--episodes", type=int, default=20, help="episodes in total")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--instance",
        default="hardware-like",
        help="named system instance the episodes run on (default: hardware-like)",
    )
    where.add_argument(
        "--params",
        type=Path,
        default=None,
        help="JSON file of physical parameters (overrides of the nominal values) of the "
        "system instance to tune on",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the tuner and episodes")
    parser.add_argument(
        "--episode-seed",
        default="fixed",
        choices=("fixed", "fresh"),
        help="fixed: same start state and noise each episode; fresh: new seed each episode",
    )
    parser.add_argument("--policy", default=None, help="AMPC folder (default: shipped)")
    parser.add_argument(
        "--animation",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write episode.gif: the nominal and the recommended theta on the same episode "
        "(rendered headless, about 15 s)",
    )
    parser.add_argument(
        "--logdir",
        default="runs",
        help="TensorBoard log folder (the run is <logdir>/<study folder name>)",
    )
    parser.add_argument(
        "--study",
        default=None,
        help="study folder (default: studies/<system>-<tuner>-<instance>-seed<seed>, with "
        "-fresh for --episode-seed fresh and -policy<fingerprint> for another --policy)",
    )


def _instance(args: argparse.Namespace, params_cls: type) -> tuple[Any, str]:
    """The instance to tune on and its label in study names."""
    if args.params is None:
        params_cls.resolve(args.instance)  # an unknown name fails before anything runs
        return args.instance, args.instance
    from ampc_agent.io import read_json

    data = read_json(args.params)
    if not isinstance(data, dict):
        raise ValueError(f"{args.params}: expected a JSON object of parameters, got {data!r}")
    try:
        params = params_cls.resolve(data)
    except ValueError as err:
        raise ValueError(f"{args.params}: {err}") from None
    digest = hashlib.sha256(json.dumps(params.to_dict(), sort_keys=True).encode()).hexdigest()
    return params.to_dict(), f"params-{digest[:8]}"


def _policy(system: Any, folder: str | None) -> tuple[Any, str, str]:
    """The AMPC, its weights' fingerprint, and the suffix it adds to default study names."""
    from ampc_agent.tuning.study import weights_fingerprint

    path = Path(folder) if folder is not None else system.weights
    try:
        policy = system.load_policy(folder)
    except (json.JSONDecodeError, KeyError) as err:
        # The loader reads metadata.json without naming it; say which file is broken.
        meta = (path if path.is_dir() else path.parent) / "metadata.json"
        raise ValueError(
            f"{meta} is not valid AMPC metadata ({type(err).__name__}: {err})"
        ) from None
    fingerprint = weights_fingerprint(path)
    shipped = weights_fingerprint(system.weights) if system.has_weights else None
    return policy, fingerprint, "" if fingerprint == shipped else f"-policy{fingerprint[:8]}"


def _animate(
    env_id: str,
    policy: Any,
    instance: Any,
    args: argparse.Namespace,
    records: list[dict[str, Any]],
    result: dict[str, Any],
    study_dir: Path,
) -> None:
    """``study_dir/episode.gif``: episode 0's theta (the nominal one) and the recommended
    theta, side by side on episode 0 (same instance, same seed)."""
    from ampc_agent.tuning.animation import episode_frames, frame_rate, write_animation
    from ampc_agent.tuning.env import EpisodeTuningEnv

    render = EpisodeTuningEnv(
        env_id,
        policy,
        instance=instance,
        episode_seed=args.episode_seed,
        seed=args.seed,
        render_mode="rgb_array",
        env_kwargs={"width": 320, "height": 240},
    )
    try:
        seed = records[0]["episode_seed"]
        panels = [
            episode_frames(render, np.asarray(records[0]["theta"]), seed),
            episode_frames(render, np.asarray(result["theta_recommended"]), seed),
        ]
        fps = frame_rate(float(render.system_env.unwrapped.dt))
        write_animation(study_dir / "episode.gif", panels, ["nominal", "recommended"], fps)
    finally:
        render.close()


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from tqdm import tqdm

    from ampc_agent.io import folder_lock, write_json
    from ampc_agent.processes import GracefulStop
    from ampc_agent.systems import get_system
    from ampc_agent.tuners.box import TuningBox
    from ampc_agent.tuning.env import EpisodeTuningEnv
    from ampc_agent.tuning.log import TuningLogger, check_owner, plot_returns
    from ampc_agent.tuning.loop import tuning_loop
    from ampc_agent.tuning.study import TuningStudy
    from ampc_agent.tuning.summary import print_tables, summarise

    # Everything the user gave is checked before anything is written.
    if args.episodes < 1:
        raise ValueError(f"--episodes must be >= 1, got {args.episodes}")
    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    system = get_system(args.system)
    instance, label = _instance(args, system.params_cls)
    policy, fingerprint, policy_suffix = _policy(system, args.policy)
    tuning = EpisodeTuningEnv(
        system.env_id,
        policy,
        instance=instance,
        episode_seed=args.episode_seed,
        seed=args.seed,
    )
    # Bounds flow one way: the policy's theta spec -> the tuning env -> the box -> the
    # tuner. The box may fix entries (lower == upper: the AMPC's first-order adaptation
    # is not trusted for them); the tuner searches the free ones.
    spec = tuning.theta_spec
    box = TuningBox.from_spec(spec)
    identity = {
        "system": args.system,
        "instance": label,
        "tuner": args.tuner,
        "seed": args.seed,
        "episode_seed": args.episode_seed,
        "policy": fingerprint,
        "tuning_lower": [float(v) for v in spec.tuning_lower],
        "tuning_upper": [float(v) for v in spec.tuning_upper],
    }
    fresh = "-fresh" if args.episode_seed == "fresh" else ""
    name = f"{args.system}-{args.tuner}-{label}-seed{args.seed}{fresh}{policy_suffix}"
    study_dir = Path(args.study or Path("studies") / name)
    study = TuningStudy(study_dir)
    run_dir = Path(args.logdir) / study_dir.resolve().name
    owner = str(study_dir.resolve())
    study.check_identity(identity, IDENTITY_FLAGS)
    check_owner(run_dir, owner)
    console = Console(soft_wrap=True)  # messages with paths stay on one line
    with folder_lock(study_dir, "study"):
        known = study.check_identity(identity, IDENTITY_FLAGS)  # again, now that we own it
        records = study.load_records(spec.dim, tuning.seed_for)
        if not known:
            if records:  # the records were checked against these options just above
                console.print(f"{study_dir}: no study.json (an older study): adopting it")
            study.write_identity({**identity, "instance_params": tuning.system})
        tuner, note = study.open_tuner(
            lambda **kw: box.make_tuner(args.tuner, seed=args.seed, **kw), records, box.free
        )
        if note is not None:
            console.print(f"{study_dir}: {note}")
        logger = TuningLogger(run_dir, spec.names, history=records, owner=owner)
        done = len(records)
        if done >= args.episodes:
            console.print(
                f"{study_dir} already holds {done} episodes, --episodes {args.episodes} asks "
                f"for no more: nothing to run (a larger --episodes extends the study)"
            )
        elif done:
            console.print(f"resuming {study_dir}: {done} of {args.episodes} episodes done")

        def run_episode(theta: np.ndarray) -> dict[str, Any]:
            tuning.episodes = len(records)  # fresh-seed mode: the seed follows the episode
            return tuning.run(theta)

        todo = max(0, args.episodes - done)
        stop = GracefulStop(
            f"ampc tune: stopping after the episode in flight is recorded (again to stop "
            f"now); rerun the same command to resume {study_dir}",
            notify=lambda text: tqdm.write(text, file=sys.stderr),
        )
        with stop, tqdm(total=todo, unit="ep", disable=todo == 0) as bar:
            bar.set_description(f"tuning ({args.tuner})")

            def record(step: dict[str, Any]) -> None:
                outcome = step["outcome"]
                records.append(
                    {
                        "episode": len(records),
                        "theta": step["theta"].tolist(),
                        "return": outcome["return"],
                        "crashed": outcome["crashed"],
                        "length": outcome["length"],
                        "episode_seed": outcome["episode_seed"],
                        "internals": step["internals"],
                    }
                )
                study.save(records, tuner)  # the record first, then the tuner state
                logger.log_record(records[-1])
                bar.set_postfix(ret=f"{outcome['return']:.1f}", crashed=outcome["crashed"])
                bar.update()

            tuning_loop(tuner, run_episode, todo, full=box.full, after_tell=record, stop=stop)
        logger.close()
        tuning.close()
        if not records:  # stopped before the first episode ran
            console.print(f"interrupted: {study_dir} holds no episode yet")
            return stop.exit_code
        result = {
            **identity,
            "instance": instance,
            "instance_label": label,
            **summarise(records, tuner, box, spec),
        }
        write_json(study_dir / "best_theta.json", result)
        returns = np.array([r["return"] for r in records], dtype=float)
        crashed = np.array([r["crashed"] for r in records], dtype=bool)
        plot_returns(returns, crashed, study_dir / "returns.png", title=name)
        if args.animation:
            _animate(system.env_id, policy, instance, args, records, result, study_dir)
        if stop.requested and len(records) < args.episodes:
            console.print(
                f"interrupted: {study_dir} holds {len(records)} of {args.episodes} episodes; "
                f"rerun the same command to resume"
            )
            return stop.exit_code
    print_tables(
        console, f"{args.system} on {label}: {args.tuner}, {len(records)} episodes", result
    )
    files = "best_theta.json, returns.png" + (", episode.gif" if args.animation else "")
    console.print(f"study: {study_dir}  ({files})   TensorBoard: {run_dir}")
    return 0
