"""``interp allocate``: which subtask each neuron of a checkpoint serves."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from .tasks import load_task


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




def _load_model(folder: str):
    """(model, saved task or None) from a checkpoint folder or a Hugging Face folder."""
    import models

    from ..bridge import is_hf_folder, load_hf

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
    from ..allocation import allocate

    model, task = _load_model(args.checkpoint)
    if args.task is not None:
        task = load_task(args.task)
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
