"""``interp train``: train a zoo model on a task and save a resumable checkpoint."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from models.atomic import remove
from models.validate import MAX_MEMBERS, MAX_PARAMETERS, check

from .options import MAX_INT, check_device, check_int, check_ints, check_number, check_output_folder
from .tasks import add_import_option, import_user_code, load_task

CONFIG, WEIGHTS = "config.json", "weights.safetensors"
STATE_FILES = ("train_state.safetensors", "train_state.json")  # train_state.json: an older two-file state
LIBRARY = "resource-interp"
"""What ``models.save`` writes as ``"library"`` in config.json: the mark of a folder this toolkit wrote."""


def add_train_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="train an MLP (or an ensemble over seeds) on a task and save a checkpoint",
                       description="Train with the shared trainer (alpha·task loss + L1 + L2 on weights) and "
                                   "save a resumable checkpoint folder; run again on the same folder to resume, "
                                   "or with --restart to discard what it holds and train the new settings.")
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
    p.add_argument("--restart", action="store_true",
                   help="discard the run this folder holds (its checkpoint files, nothing else) and train from "
                        "the start; without it a rerun resumes, and a changed configuration is refused")
    add_import_option(p)
    p.set_defaults(func=cmd_train)
    return p


def _written_here(folder: Path) -> bool | None:
    """Whether ``folder/config.json`` was written by this toolkit (None: there is none)."""
    path = folder / CONFIG
    if not path.exists() and not path.is_symlink():
        return None
    try:
        return path.is_file() and json.loads(path.read_text(encoding="utf-8")).get("library") == LIBRARY
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return False


def check_train_folder(option: str, folder: str) -> Path:
    """A folder ``interp train`` may write its checkpoint into: new, or holding no config.json
    but one this toolkit wrote (a Hugging Face folder's config.json is never overwritten)."""
    path = check_output_folder(option, folder)
    check(_written_here(path) is not False, option, folder,
          f"a new folder or a checkpoint folder this toolkit wrote ({path / CONFIG} was not written by it)")
    return path


def discard_checkpoint(folder: Path) -> list[str]:
    """Remove the checkpoint of a training run from ``folder``: its training state, and its
    config.json, weights and task data when this toolkit wrote them (and half-written copies of these);
    any other file stays. Returns the names removed."""
    from models.checkpoint import TASK_DATA

    names = list(STATE_FILES)
    if _written_here(folder):
        names += [CONFIG, WEIGHTS, TASK_DATA]
    return [r for name in names for r in remove(folder / name)]


def check_train_options(args) -> None:
    """The options' values, before anything is built or trained."""
    from models.mlp import ACTIVATIONS

    check_train_folder("--out", args.out)
    check_ints("--widths", args.widths, low=1)
    check(args.activation in ACTIVATIONS, "--activation", args.activation, f"one of {sorted(ACTIVATIONS)}")
    check_ints("--seeds", args.seeds, low=0, high=MAX_INT)
    check(len(args.seeds) <= MAX_MEMBERS, "--seeds", f"{len(args.seeds)} seeds", f"at most {MAX_MEMBERS}")
    for a in args.alpha:
        check_number("--alpha", a, low=0, above=True)
    check(len(args.alpha) in (1, len(args.seeds)), "--alpha", args.alpha,
          f"one value, or one per seed ({len(args.seeds)})")
    check_int("--steps", args.steps, low=0)
    check_number("--lr", args.lr, low=0, above=True)
    check_number("--l1", args.l1, low=0)
    check_number("--l2", args.l2, low=0)
    check_int("--batch-size", args.batch_size, low=1)
    check_int("--lr-decay-every", args.lr_decay_every, low=1)
    check_int("--checkpoint-every", args.checkpoint_every, low=0)
    check_device(args.device)


def check_size(option: str, value, d_in: int, widths, d_out: int, members: int) -> None:
    """The models these options build hold at most ``models.validate.MAX_PARAMETERS``
    parameters in all (refused before anything is allocated)."""
    from models.mlp import n_parameters

    n = n_parameters((d_in, *widths, d_out)) * members
    check(n <= MAX_PARAMETERS, option, value, f"models of at most {MAX_PARAMETERS:.3g} parameters in all "
                                              f"(these make {n:.3g}: {members} member(s) of widths {list(widths)})")


def cmd_train(args) -> int:
    import models

    check_train_options(args)
    out = Path(args.out)
    import_user_code(args.imports)
    task = load_task(args.task)
    check_size("--widths", args.widths, task.d_in, args.widths, task.d_out, len(args.seeds))
    config = models.MLPConfig(d_in=task.d_in, widths=tuple(args.widths), d_out=task.d_out,
                              activation=args.activation, seed=args.seeds[0])
    alpha = args.alpha[0] if len(args.alpha) == 1 else tuple(args.alpha)
    train = models.TrainConfig(alpha=alpha, steps=args.steps, lr=args.lr, optimizer=args.optimizer, l1=args.l1,
                               l2=args.l2, batch_size=args.batch_size, lr_decay_every=args.lr_decay_every,
                               checkpoint_every=args.checkpoint_every)
    if args.restart and out.is_dir():
        removed = discard_checkpoint(out)
        if removed:
            print(f"restart: discarded {', '.join(removed)} from {out}")
    model = models.MLP(config) if len(args.seeds) == 1 else models.Ensemble(config, seeds=args.seeds)
    try:
        result = models.train(model.to(args.device), task, train, checkpoint=out)
    except models.TrainingDiverged as e:
        print(f"interp train: error: {e}. {out} keeps the run as it was before it diverged; to train it again "
              f"with other settings, rerun with them and --restart", file=sys.stderr)
        return 1
    except ValueError as e:
        if str(e).startswith(f"checkpoint={str(out)!r} is not allowed"):
            raise ValueError(f"--out={args.out!r} is not allowed: expected a new folder or one holding a run of "
                             f"this same model, task and training config, which is resumed; it holds another "
                             f"run (or one written by an older version). Add --restart to discard that run and "
                             f"train this one from the start, or choose another --out") from None
        raise
    final = result.history["task_loss"][-1]
    import numpy as np

    print(f"trained {type(model).__name__} on {task!r} for {args.steps} steps; final held-out task loss: "
          + ", ".join(f"{v:.4g}" for v in np.atleast_1d(final)))
    for i, msg in result.failed.items():
        print(f"failed: member {i} (seed {args.seeds[i]}): {msg}")
    print(f"wrote {args.out}")
    return 0
