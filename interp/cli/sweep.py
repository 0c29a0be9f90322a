"""``interp sweep``: the x² resource sweep."""
from __future__ import annotations

import argparse
from pathlib import Path

SWEEP_RECIPES = {
    # SPEC A Fig. 2: width 1000, alpha in [1, 512], 16 seeds, 100k steps (a GPU job)
    "full": dict(width=1000, n_alphas=16, seeds=16, steps=100_000),
    # a few minutes on 2 CPU cores
    "quick": dict(width=100, n_alphas=7, seeds=3, steps=20_000),
}


def add_sweep_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sweep", help="x² resource sweep: live neurons and loss against alpha, and their slope",
                       description="Train one ensemble over alpha × seeds on y = x² (SPEC A Fig. 2), print live "
                                   "neurons and loss per alpha and the fitted slope of log loss against log N.")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", dest="recipe", action="store_const", const="quick", help="2-core CPU recipe (default)")
    g.add_argument("--full", dest="recipe", action="store_const", const="full", help="the paper's settings (GPU)")
    p.set_defaults(recipe="quick", func=cmd_sweep)
    p.add_argument("--steps", type=int, help="override the recipe's training steps")
    p.add_argument("--width", type=int, help="override the recipe's hidden width")
    p.add_argument("--seeds", type=int, help="override the recipe's number of seeds")
    p.add_argument("--out", default="runs/sweep", help="folder for sweep.json and the trained ensemble")
    p.add_argument("--device", default="cpu")
    return p


def cmd_sweep(args) -> int:
    import numpy as np
    import torch

    import models
    from ..sweep import sweep_alpha

    r = dict(SWEEP_RECIPES[args.recipe])
    r.update({k: v for k, v in (("steps", args.steps), ("width", args.width), ("seeds", args.seeds)) if v})
    alphas = np.geomspace(1, 512, r["n_alphas"])
    train = models.TrainConfig(steps=r["steps"], lr_decay_every=max(1, r["steps"] // 5))
    print(f"x² sweep ({args.recipe}): width {r['width']}, {len(alphas)} alphas in [1, 512] × {r['seeds']} seeds, "
          f"{r['steps']} steps (Adam lr 0.01 × 0.3 every {train.lr_decay_every}), batch 500, λ1=1e-4, λ2=5e-4")
    res = sweep_alpha(models.tasks.Square(), models.MLPConfig(d_in=1, widths=(r["width"],), d_out=1),
                      alphas, range(r["seeds"]), train, checkpoint=Path(args.out) / "train",
                      device=args.device)
    print(res.table())
    fit = res.fit()
    lo, hi = fit.exponent_interval
    print(f"slope of log loss vs log live neurons: {fit.exponent:.3f}  (95% CI [{lo:.3f}, {hi:.3f}]; paper: -1)")
    for label, msg in res.failed.items():
        print(f"failed: {label}: {msg}")
    res.save(args.out)
    print(f"wrote {Path(args.out) / 'sweep.json'}")
    return 0
