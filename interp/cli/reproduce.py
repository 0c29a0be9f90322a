"""``interp reproduce``: redraw the papers' figures and write REPORT.md."""
from __future__ import annotations


def add_reproduce_parser(sub):
    from ..reproduce import add_arguments, run_from_args

    p = sub.add_parser("reproduce", help="redraw the papers' figures and write REPORT.md with their numbers beside ours")
    add_arguments(p)
    p.set_defaults(func=run_from_args)
    return p
