"""``interp sweep``: the resource sweep (SPEC A Fig. 2) as runs: live neurons and loss
against α, and the slope of log loss against log live neurons."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .options import add_executor_options, check_sweep_options, executor_from
from .tasks import load_task

SWEEP_RECIPES = {
    # SPEC A Fig. 2: width 1000, alpha in [1, 512], 16 seeds, 100k steps (a GPU job)
    "full": dict(width=1000, n_alphas=16, seeds=16, steps=100_000),
    # a few minutes on 2 CPU cores
    "quick": dict(width=100, n_alphas=7, seeds=3, steps=20_000),
}


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
    p.add_argument("--alphas", type=int, help="override the recipe's number of alpha values in [1, 512]")
    p.add_argument("--out", default="runs/sweep", help="folder of the run folders, sweep.csv and sweep.json")
    p.add_argument("--device", default="cpu")
    add_executor_options(p)
    return p


def recipe_from(args: argparse.Namespace) -> dict:
    """The recipe with the command line's overrides; 0 is a value, never 'use the default'."""
    r = dict(SWEEP_RECIPES[args.recipe])
    for name, key, low in (("steps", "steps", 0), ("width", "width", 1), ("seeds", "seeds", 1),
                           ("alphas", "n_alphas", 1)):
        value = getattr(args, name)
        if value is None:
            continue
        if value < low:
            raise ValueError(f"--{name}={value} is not allowed: expected an integer ≥ {low}")
        r[key] = value
    return r


def cmd_sweep(args) -> int:
    import numpy as np

    import models
    from ..runs import Sweep, execute
    from ..sweep import SweepResult

    r = recipe_from(args)
    check_sweep_options(args)
    task = load_task(args.task)
    executor = executor_from(args)
    alphas = np.geomspace(1, 512, r["n_alphas"])
    train = models.TrainConfig(steps=r["steps"], lr_decay_every=max(1, r["steps"] // 5))
    net = models.MLPConfig(d_in=task.d_in, widths=(r["width"],), d_out=task.d_out)
    sweep = Sweep.grid(net, task, train, over={"train.alpha": alphas, "model.seed": range(r["seeds"])},
                       group_size=args.group_size)
    print(f"sweep ({args.recipe}) of {task!r}: width {r['width']}, {len(alphas)} alphas in [1, 512] × {r['seeds']} "
          f"seeds = {len(sweep)} runs in {len(sweep.groups())} groups, {r['steps']} steps (Adam lr 0.01 × 0.3 every "
          f"{train.lr_decay_every}), batch 500, λ1=1e-4, λ2=5e-4; executor: {type(executor).__name__}")
    out = execute(sweep, args.out, executor, checkpoint_every=args.checkpoint_every, device=args.device)
    shape = (len(alphas), r["seeds"])
    loss = np.where(out.status == "failed", np.nan, out.task_loss.to_numpy(dtype=float)).reshape(shape)
    res = SweepResult(alphas, tuple(range(r["seeds"])), out.live.to_numpy().reshape(shape), loss, 1e-3, r["steps"],
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

    from ..reproduce import jsonable
    write_text(Path(args.out) / "sweep.json", json.dumps(jsonable(summary), indent=1))
    print(f"wrote {Path(args.out) / 'sweep.csv'} (one row per run) and sweep.json; run folders: {args.out}/<key>/")
    return 0
