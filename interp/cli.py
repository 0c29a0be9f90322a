"""The ``interp`` command line.

Each subcommand is a pair of functions: ``add_<name>_parser(subparsers)`` declares its
arguments and sets ``func``; ``cmd_<name>(args) -> int`` runs it. ``COMMANDS`` lists the
parser builders; add a subcommand by appending to it.

    interp allocate CHECKPOINT [--method auto|weights|ablation|attribution|probe] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence


# -- allocate -------------------------------------------------------------------------------
def add_allocate_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("allocate", help="which subtask each neuron of a checkpoint serves",
                       description="Print a per-layer, per-subtask table of a checkpoint's neurons: live or "
                                   "dead, and the subtask each live neuron serves.")
    p.add_argument("checkpoint", help="a checkpoint folder (models.save), or a local Hugging Face model folder")
    p.add_argument("--method", default="auto", choices=["auto", "weights", "ablation", "attribution", "probe"],
                   help="how to score neurons (default: auto)")
    p.add_argument("--task", default=None,
                   help="the task as JSON (e.g. '{\"type\": \"Parallel\", \"beta\": 0.75}') or a path to a JSON "
                        "file; default: the task saved with the checkpoint")
    p.add_argument("--json", dest="json_out", default=None, help="also write the full allocation(s) to this file")
    p.add_argument("--threshold", type=float, default=None, help="score threshold (default: per method)")
    p.add_argument("--dominance", type=float, default=0.1,
                   help="a subtask counts only if its score is at least this share of the neuron's largest")
    p.add_argument("--live-threshold", type=float, default=1e-3,
                   help="activation variance above which a neuron is live")
    p.add_argument("--n-samples", type=int, default=4096, help="evaluation inputs drawn from the task")
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation inputs")
    p.add_argument("--member", type=int, default=None, help="only this member of an ensemble checkpoint")
    p.set_defaults(func=cmd_allocate)
    return p


def _load_task(spec: str):
    from models.tasks import Task

    try:
        import models.token_task  # noqa: F401  (registers TokenTask)
    except ImportError:
        pass
    text = Path(spec).read_text() if Path(spec).is_file() else spec
    try:
        config = json.loads(text)
    except ValueError:
        raise ValueError(f"--task={spec!r} is not allowed: expected task JSON such as "
                         f"'{{\"type\": \"Parallel\", \"beta\": 0.75}}' or a path to a JSON file") from None
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"--task={spec!r} is not allowed: expected a JSON object with a \"type\"")
    return Task.from_config(config)


def _load_model(folder: str):
    """(model, saved task or None) from a checkpoint folder or a Hugging Face folder."""
    import models

    from .bridge import is_hf_folder, load_hf

    path = Path(folder)
    if not path.is_dir():
        raise ValueError(f"checkpoint={folder!r} is not allowed: expected an existing folder")
    if (path / "weights.safetensors").is_file():
        ck = models.load(path)
        return ck.model, ck.task
    if is_hf_folder(path):
        return load_hf(path), None
    raise ValueError(f"checkpoint={folder!r} is not allowed: expected a checkpoint folder (config.json and "
                     f"weights.safetensors, from models.save) or a Hugging Face model folder")


def cmd_allocate(args) -> int:
    from .allocation import allocate

    model, task = _load_model(args.checkpoint)
    if args.task is not None:
        task = _load_task(args.task)
    if task is None:
        raise ValueError("task=None is not allowed: this checkpoint holds no task; pass --task JSON")
    if args.member is not None:
        if getattr(model, "n_members", None) is None:
            raise ValueError(f"--member={args.member} is not allowed: expected no --member for a single model")
        if not 0 <= args.member < model.n_members:
            raise ValueError(f"--member={args.member} is not allowed: expected an index in [0, {model.n_members})")
        model = model.member(args.member)
    result = allocate(model, task, method=args.method, threshold=args.threshold, dominance=args.dominance,
                      live_threshold=args.live_threshold, n_samples=args.n_samples, seed=args.seed)
    allocs = result if isinstance(result, list) else [result]
    if args.member is not None:
        allocs = [a if a.member is not None else _with_member(a, args.member) for a in allocs]
    print(f"checkpoint: {args.checkpoint}\ntask: {task!r}")
    for a in allocs:
        print()
        print(a.table())
        counts = a.counts()
        print("counts: " + ", ".join(f"{k}={v}" for k, v in counts.items()))
    if args.json_out:
        data = [a.to_dict() for a in allocs]
        Path(args.json_out).write_text(json.dumps(data[0] if len(data) == 1 else data, indent=1))
        print(f"\nwrote {args.json_out}")
    return 0


def _with_member(alloc, member: int):
    from dataclasses import replace

    return replace(alloc, member=member)


# -- sweep -------------------------------------------------------------------------
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
    from .sweep import sweep_alpha

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


# -- train ---------------------------------------------------------------------------------
def add_train_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="train an MLP (or an ensemble over seeds) on a task and save a checkpoint",
                       description="Train with the shared trainer (alpha·task loss + L1 + L2 on weights) and "
                                   "save a resumable checkpoint folder; run again on the same folder to resume.")
    p.add_argument("--task", required=True, help="task JSON, e.g. '{\"type\": \"Parallel\", \"beta\": 0.75}', "
                                                 "or a path to a JSON file")
    p.add_argument("--widths", type=int, nargs="+", default=[1000], help="hidden layer widths")
    p.add_argument("--activation", default="silu")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="several seeds train as one ensemble")
    p.add_argument("--alpha", type=float, nargs="+", default=[1.0],
                   help="task weight alpha: one value, or one per seed")
    p.add_argument("--steps", type=int, default=100_000)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"])
    p.add_argument("--l1", type=float, default=1e-4)
    p.add_argument("--l2", type=float, default=5e-4)
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--lr-decay-every", type=int, default=20_000)
    p.add_argument("--checkpoint-every", type=int, default=5000)
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", required=True, help="checkpoint folder")
    p.set_defaults(func=cmd_train)
    return p


def cmd_train(args) -> int:
    import models

    task = _load_task(args.task)
    config = models.MLPConfig(d_in=task.d_in, widths=tuple(args.widths), d_out=task.d_out,
                              activation=args.activation, seed=args.seeds[0])
    model = models.MLP(config) if len(args.seeds) == 1 else models.Ensemble(config, seeds=args.seeds)
    alpha = args.alpha[0] if len(args.alpha) == 1 else tuple(args.alpha)
    train = models.TrainConfig(alpha=alpha, steps=args.steps, lr=args.lr, optimizer=args.optimizer, l1=args.l1,
                               l2=args.l2, batch_size=args.batch_size, lr_decay_every=args.lr_decay_every,
                               checkpoint_every=args.checkpoint_every)
    result = models.train(model.to(args.device), task, train, checkpoint=args.out)
    final = result.history["task_loss"][-1]
    import numpy as np

    print(f"trained {type(model).__name__} on {task!r} for {args.steps} steps; final held-out task loss: "
          + ", ".join(f"{v:.4g}" for v in np.atleast_1d(final)))
    for i, msg in result.failed.items():
        print(f"failed: member {i} (seed {args.seeds[i]}): {msg}")
    print(f"wrote {args.out}")
    return 0


# -- reproduce -------------------------------------------------------------------------------
def add_reproduce_parser(sub) -> argparse.ArgumentParser:
    from .reproduce import add_arguments, run_from_args

    p = sub.add_parser("reproduce", help="redraw the papers' figures and write REPORT.md with their numbers beside ours")
    add_arguments(p)
    p.set_defaults(func=run_from_args)
    return p


# -- the program ------------------------------------------------------------------------------
COMMANDS: list[Callable] = [add_allocate_parser, add_sweep_parser, add_train_parser, add_reproduce_parser]
"""Parser builders, one per subcommand: ``builder(subparsers)`` adds a parser whose
``func`` default is the command (``args -> exit status``)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interp", description="Mechanistic interpretability of resources: "
                                     "neuron accounting, scaling laws and emergence.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``interp`` with ``argv`` (default: the process arguments); returns the exit status.
    Bad input prints its message and exits with status 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ValueError as e:
        print(f"interp {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
