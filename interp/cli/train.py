"""``interp train``: train a zoo model on a task and save a resumable checkpoint."""
from __future__ import annotations

import argparse
from pathlib import Path

from .options import check_device
from .tasks import load_task


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

    check_device(args.device)
    task = load_task(args.task)
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
