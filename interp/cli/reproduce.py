"""``interp reproduce``: train what the papers' figures need, draw them, write REPORT.md."""
from __future__ import annotations

import argparse

from .options import add_executor_options, check_device, check_output_folder, check_sweep_options, executor_from


def add_reproduce_parser(sub) -> argparse.ArgumentParser:
    from ..figures import FIGURES

    p = sub.add_parser("reproduce", help="redraw the papers' figures and write REPORT.md with their numbers beside ours",
                       description="Train the runs the asked figures need (skipping those done), draw each figure "
                                   "and write REPORT.md. Run again to resume: finished runs and figures are kept.")
    p.add_argument("figures", nargs="*", help=f"figures to run (default: all): {', '.join(FIGURES)}")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="quick", action="store_true", default=True, help="CPU recipes (default)")
    g.add_argument("--full", dest="quick", action="store_false", help="the papers' settings (meant for a GPU)")
    p.add_argument("--out", default=None, help="output folder (default runs/reproduce, or runs/ladder with --ladder)")
    p.add_argument("--redo", action="store_true", help="draw figures again even if done with this recipe (with "
                   "--ladder: every rung asked); runs trained before are kept and read back")
    p.add_argument("--device", default="cpu", help="torch device for the figures that train (default cpu)")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.add_argument("--ladder", metavar="FIGURE", default=None,
                   help="run FIGURE at each budget of its ladder (between the quick recipe and the papers' settings, "
                        "along the axis its disagreements blame) into --out (default runs/ladder) and write "
                        "FIGURE_ladder.json/.png: each claim along the rungs, with its verdict")
    p.add_argument("--rungs", type=int, nargs="+", default=None, help="with --ladder: only these rungs (0 = quick)")
    p.add_argument("--verdicts-only", action="store_true",
                   help="with --ladder: recompute the verdicts of --out/FIGURE_ladder.json from its stored rows "
                        "(nothing is trained) and redraw its .png")
    add_executor_options(p)
    p.set_defaults(func=cmd_reproduce)
    return p


def cmd_reproduce(args: argparse.Namespace) -> int:
    from ..figures.reproduce import reproduce
    from ..figures import FIGURES

    if args.list:
        for f in FIGURES.values():
            print(f"{f.name:28s} {f.title}")
        return 0
    unknown = [n for n in args.figures if n not in FIGURES]
    if unknown:
        raise ValueError(f"figures={unknown} is not allowed: expected names from {', '.join(FIGURES)}")
    if args.ladder is not None:
        return _ladder(args)
    if args.rungs is not None:
        raise ValueError(f"--rungs={args.rungs} is not allowed: expected --rungs only with --ladder FIGURE")
    if args.verdicts_only:
        raise ValueError("--verdicts-only=True is not allowed: expected --verdicts-only only with --ladder FIGURE")
    args.out = args.out or "runs/reproduce"
    check_output_folder("--out", args.out)
    check_sweep_options(args)
    check_device(args.device)
    results = reproduce(args.figures or None, quick=args.quick, out=args.out, redo=args.redo, device=args.device,
                        executor=executor_from(args), group_size=args.group_size,
                        checkpoint_every=args.checkpoint_every)
    return 1 if any(r.get("status") == "failed" for r in results.values()) else 0


def _ladder(args: argparse.Namespace) -> int:
    from ..figures.ladder import run_ladder
    from ..figures.recipes import Ladder
    from ..figures import FIGURES

    with_ladder = [n for n in FIGURES if isinstance(getattr(FIGURES[n].load(), "LADDER", None), Ladder)]
    if args.ladder not in with_ladder:
        raise ValueError(f"--ladder={args.ladder!r} is not allowed: expected a figure with a ladder: "
                         f"{', '.join(with_ladder)}")
    if args.figures:
        raise ValueError(f"figures={args.figures} is not allowed: expected no other figure names with --ladder")
    n = len(FIGURES[args.ladder].load().LADDER.rungs)
    bad = [r for r in args.rungs or () if not 0 <= r < n]
    if bad:
        raise ValueError(f"--rungs={args.rungs} is not allowed: expected rung indices in [0, {n})")
    args.out = args.out or "runs/ladder"
    if args.verdicts_only:
        from pathlib import Path
        from ..figures.ladder import revise_ladder

        path = Path(args.out) / f"{args.ladder}_ladder.json"
        if args.rungs is not None or not path.is_file():
            raise ValueError(f"--verdicts-only=True is not allowed: expected an existing {path} and no --rungs")
        revise_ladder(path)
        return 0
    check_output_folder("--out", args.out)
    check_sweep_options(args)
    check_device(args.device)
    result = run_ladder(args.ladder, args.out, rungs=args.rungs, device=args.device, executor=executor_from(args),
                        redo=args.redo)
    return 1 if any(r["status"] == "failed" for r in result["runs"]) else 0
