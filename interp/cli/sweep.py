"""``interp sweep``: the resource sweep (SPEC A Fig. 2) as runs: live neurons and loss
against α, and the slope of log loss against log live neurons."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from models.atomic import remove
from models.validate import MAX_MEMBERS, check

from .options import (add_executor_options, check_device, check_int, check_output_folder, check_sweep_options,
                      executor_from)
from .tasks import load_task
from .train import check_size

SUMMARY = "sweep.json"


def add_sweep_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sweep", help="resource sweep: live neurons and loss against alpha, and their slope",
                       description="Train MLPs over alpha × seeds (default: y = x², SPEC A Fig. 2), one run folder "
                                   "each under --out (a checkpoint that `interp allocate` reads), print live neurons "
                                   "and loss per alpha and the fitted slope of log loss against log N. Run again "
                                   "with the same arguments to resume: finished runs are skipped.")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="recipe", action="store_const", const="quick", help="2-core CPU recipe (default)")
    g.add_argument("--full", dest="recipe", action="store_const", const="full", help="the paper's settings (GPU)")
    p.set_defaults(recipe="quick", func=cmd_sweep)
    p.add_argument("--task", default='{"type": "Square"}', help="the task as JSON or a JSON file (default x²)")
    p.add_argument("--steps", type=int, help="override the recipe's training steps")
    p.add_argument("--width", type=int, help="override the recipe's hidden width")
    p.add_argument("--seeds", type=int, help="override the recipe's number of seeds")
    p.add_argument("--alphas", type=int, help="override the recipe's α values: this many, log-spaced in [1, 512]")
    p.add_argument("--out", default="runs/sweep", help="folder of the run folders, sweep.csv and sweep.json")
    p.add_argument("--device", default="cpu")
    p.add_argument("--restart", action="store_true",
                   help="discard the runs already under --out (the run folders, group checkpoints, sweep.csv and "
                        "sweep.json it wrote, nothing else) and train every run from the start")
    add_executor_options(p)
    return p


def recipe_from(args: argparse.Namespace):
    """The x² sweep's recipe (Figs. 2 and 6 train the same one) with the command line's
    overrides; 0 is a value, never 'use the default'."""
    from dataclasses import replace

    import numpy as np
    from ..figures import square_sweep

    r = square_sweep.QUICK if args.recipe == "quick" else square_sweep.FULL
    for name, low in (("steps", 0), ("width", 1)):
        check_int(f"--{name}", getattr(args, name), low=low)
    for name in ("seeds", "alphas"):
        check_int(f"--{name}", getattr(args, name), low=1, high=MAX_MEMBERS)
    if args.steps is not None:
        r = replace(r, steps=args.steps, decay_every=max(1, args.steps // 5))
    if args.width is not None:
        r = replace(r, width=args.width)
    if args.seeds is not None:
        r = replace(r, seeds=tuple(range(args.seeds)))
    if args.alphas is not None:
        r = replace(r, alphas=tuple(np.geomspace(1, 512, args.alphas).round(2).tolist()))
    return r


def check_sweep_size(args: argparse.Namespace, r, task) -> None:
    """At most ``MAX_MEMBERS`` runs, and groups of at most ``MAX_PARAMETERS`` parameters."""
    runs = len(set(r.alphas)) * len(r.seeds)
    check(runs <= MAX_MEMBERS, "--alphas × --seeds", f"{len(set(r.alphas))} × {len(r.seeds)}",
          f"at most {MAX_MEMBERS} runs")
    members = min(runs, args.group_size or runs)
    check_size("--width", r.width, task.d_in, (r.width,), task.d_out, members)


def cmd_sweep(args) -> int:
    import numpy as np

    import models
    from ..experiments.execution import execute
    from ..experiments.runs import Sweep
    from ..experiments.storage import discard
    from ..experiments.alpha_sweep import SweepResult, alpha_grid

    check_output_folder("--out", args.out)
    r = recipe_from(args)
    check_sweep_options(args)
    check_device(args.device)
    task = load_task(args.task)
    check_sweep_size(args, r, task)
    executor = executor_from(args)
    if args.restart:
        removed = discard(args.out) + remove(Path(args.out) / SUMMARY)
        if removed:
            print(f"restart: discarded {len(removed)} files and folders of earlier runs under {args.out}")
    alphas = np.array(sorted(set(r.alphas)))
    net = models.MLPConfig(d_in=task.d_in, widths=(r.width,), d_out=task.d_out)
    sweep = Sweep(alpha_grid(task, net, alphas, r.seeds, r.train()).runs, args.group_size)
    print(f"sweep ({args.recipe}) of {task!r}: width {r.width}, {len(alphas)} alphas in [{alphas[0]:g}, {alphas[-1]:g}] "
          f"× {len(r.seeds)} seeds = {len(sweep)} runs in {len(sweep.groups())} groups, {r.steps} steps (Adam lr 0.01 "
          f"× 0.3 every {r.decay_every}), batch 500, λ1=1e-4, λ2=5e-4; executor: {type(executor).__name__}")
    out = execute(sweep, args.out, executor, checkpoint_every=args.checkpoint_every, device=args.device)
    shape = (len(alphas), len(r.seeds))
    loss = np.where(out.status == "failed", np.nan, out.task_loss.to_numpy(dtype=float)).reshape(shape)
    res = SweepResult(alphas, r.seeds, out.live.to_numpy().reshape(shape), loss, 1e-3, r.steps,
                      {k: m for k, m in zip(out.key, out.message) if m}, None)
    print(res.table())
    summary = res.to_dict()
    try:
        fit = res.fit()
        lo, hi = fit.exponent_interval
        print(f"slope of log loss vs log live neurons: {fit.exponent:.3f}  (95% CI [{lo:.3f}, {hi:.3f}]; paper: -1)")
        summary["fit"] = fit.to_dict()
    except ValueError as e:
        print(f"no fit: {e}")
    for key, msg in res.failed.items():
        print(f"failed: run {key}: {msg}")
    from models.atomic import write_text

    from models.jsonable import jsonable
    write_text(Path(args.out) / SUMMARY, json.dumps(jsonable(summary), indent=1))
    print(f"wrote {Path(args.out) / 'sweep.csv'} (one row per run) and sweep.json; run folders: {args.out}/<key>/")
    return 0
