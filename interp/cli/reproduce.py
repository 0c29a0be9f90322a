"""``interp reproduce``: train what the papers' figures need, draw them, write REPORT.md."""
from __future__ import annotations

import argparse

from .options import add_executor_options, check_device, check_output_folder, check_sweep_options, executor_from


def add_reproduce_parser(sub) -> argparse.ArgumentParser:
    from ..reproduce import FIGURES

    p = sub.add_parser("reproduce", help="redraw the papers' figures and write REPORT.md with their numbers beside ours",
                       description="Train the runs the asked figures need (skipping those done), draw each figure "
                                   "and write REPORT.md. Run again to resume: finished runs and figures are kept.")
    p.add_argument("figures", nargs="*", help=f"figures to run (default: all): {', '.join(FIGURES)}")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="quick", action="store_true", default=True, help="CPU recipes (default)")
    g.add_argument("--full", dest="quick", action="store_false", help="the papers' settings (meant for a GPU)")
    p.add_argument("--out", default="runs/reproduce", help="output folder (default runs/reproduce)")
    p.add_argument("--redo", action="store_true", help="draw figures again even if done with this recipe")
    p.add_argument("--device", default="cpu", help="torch device for the figures that train (default cpu)")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    add_executor_options(p)
    p.set_defaults(func=cmd_reproduce)
    return p


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..reproduce import FIGURES, reproduce

    if args.list:
        for f in FIGURES.values():
            print(f"{f.name:28s} {f.title}")
        return 0
    unknown = [n for n in args.figures if n not in FIGURES]
    if unknown:
        raise ValueError(f"figures={unknown} is not allowed: expected names from {', '.join(FIGURES)}")
    check_output_folder("--out", args.out)
    check_sweep_options(args)
    check_device(args.device)
    results = reproduce(args.figures or None, quick=args.quick, out=args.out, redo=args.redo, device=args.device,
                        executor=executor_from(args), group_size=args.group_size,
                        checkpoint_every=args.checkpoint_every)
    return 1 if any(r.get("status") == "failed" for r in results.values()) else 0
