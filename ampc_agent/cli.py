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
import sys

COMMANDS = {
    "dataset": "generate an MPC dataset with parameter sensitivities",
    "train": "train the nominal-policy and sensitivity networks",
    "eval": "evaluate the AMPC beside the MPC",
    "tune": "tune the AMPC parameters on a (mismatched) system by Bayesian optimization",
}


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
    try:
        return int(modules[args.command].run(args) or 0)
    except ValueError as err:
        # Bad input (a parameter name, a value out of bounds...): the message names it;
        # a traceback through the libraries would only hide it.
        parser.exit(2, f"ampc {args.command}: error: {err}\n")


if __name__ == "__main__":
    raise SystemExit(main())
