"""The ``interp`` command line.

Each subcommand is a module of this package holding a pair of functions:
``add_<name>_parser(subparsers)`` declares its arguments and sets ``func``;
``cmd_<name>(args) -> int`` runs it. ``COMMANDS`` registers the parser builders by name
(``COMMANDS.add(name, builder)`` adds a subcommand).

    interp allocate CHECKPOINT [--method auto|weights|ablation|attribution|verified|census|probe] [--json out.json]
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from models.registry import Registry

from .allocate import add_allocate_parser
from .reproduce import add_reproduce_parser
from .sweep import add_sweep_parser
from .train import add_train_parser


COMMANDS = Registry("command")
"""Parser builders by subcommand: ``builder(subparsers)`` adds a parser whose ``func``
default is the command (``args -> exit status``)."""
for _name, _builder in (("allocate", add_allocate_parser), ("sweep", add_sweep_parser), ("train", add_train_parser),
                        ("reproduce", add_reproduce_parser)):
    COMMANDS.add(_name, _builder, reserve=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interp", description="Mechanistic interpretability of resources: "
                                     "neuron accounting, scaling laws and emergence.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``interp`` with ``argv`` (default: the process arguments); returns the exit status.
    Bad input prints its message and exits with status 2; a reader that closes the pipe early
    (``interp reproduce --list | head``) ends it quietly."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        print("interp: error: a COMMAND is required", file=sys.stderr)
        return 2
    try:
        return int(args.func(args) or 0)
    except ValueError as e:
        hint = ""
        if "models.register_task" in str(e) and hasattr(args, "imports"):
            hint = " (here: --import the module or .py file of yours that registers it)"
        print(f"interp {args.command}: error: {e}{hint}", file=sys.stderr)
        return 2
    except BrokenPipeError:                    # stdout's reader has gone: stop writing, no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141                             # 128 + SIGPIPE, what a shell reports for such a writer


if __name__ == "__main__":
    sys.exit(main())
