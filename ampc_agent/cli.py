"""The ``ampc`` command: one sub-command per step of the pipeline.

    ampc dataset cartpole --samples N --workers K     # MPC dataset with sensitivities
    ampc train cartpole --dataset PATH --out PATH     # nominal and sensitivity networks
    ampc eval cartpole                                # AMPC beside the MPC
    ampc tune cartpole --tuner turbo --episodes 20    # the main job

Each sub-command lives in ``ampc_agent/commands/<name>.py`` with ``add_arguments``
and ``run``; they are imported only when used, so ``ampc tune`` does not load acados.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

COMMANDS = {
    "dataset": "generate an MPC dataset with parameter sensitivities",
    "train": "train the nominal-policy and sensitivity networks",
    "eval": "evaluate the AMPC beside the MPC",
    "tune": "tune the AMPC parameters on a (mismatched) system by Bayesian optimization",
}

#: What to tell a user who interrupted a command that resumes.
RESUME_HINTS = {
    "dataset": "rerun the same command to resume (finished shards are kept)",
    "tune": "rerun the same command to resume the study",
}


def run_guarded(prog: str, call: Callable[[], int | None], resume_hint: str = "") -> int:
    """Run a command; the errors it expects become one line ``<prog>: error: ...``.

    Exit codes: the command's own; 2 for bad input (``ValueError``, a missing file);
    1 for a folder another process holds and other OS errors; 130 for Ctrl-C; 141 when
    the reader of stdout went away (``| head``). Anything else is a bug and keeps its
    traceback.

    Args:
        prog: The command as the user typed it (``"ampc tune"``), to start each line.
        call: Runs the command and returns its exit code.
        resume_hint: Said after an interruption, if rerunning resumes.
    """
    from ampc_agent.io import FolderLocked

    try:
        return int(call() or 0)
    except (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError) as err:
        # Bad input (a parameter name, a value out of bounds, a missing file): the
        # message names it; a traceback through the libraries would only hide it.
        return _fail(prog, err, 2)
    except FolderLocked as err:
        return _fail(prog, err, 1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted" + (f"; {resume_hint}" if resume_hint else ""), file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other Unix tools do, and keep
        # Python from complaining again when it flushes stdout at exit.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    except OSError as err:
        return _fail(prog, err, 1)


def _fail(prog: str, err: BaseException, code: int) -> int:
    message = " ".join(str(err).split()) or type(err).__name__
    print(f"{prog}: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="ampc", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Only the chosen command's module is imported (a heavy import is paid only when used).
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    modules = {}
    for name, help_text in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            modules[name] = importlib.import_module(f"ampc_agent.commands.{name}")
            modules[name].add_arguments(p)
    args = parser.parse_args(argv)
    return run_guarded(
        f"ampc {args.command}",
        lambda: modules[args.command].run(args),
        RESUME_HINTS.get(args.command, ""),
    )


if __name__ == "__main__":
    raise SystemExit(main())
