"""Options that several subcommands share: where training runs (this process, a local Dask
cluster, or a Dask scheduler)."""
from __future__ import annotations

import argparse


def add_executor_options(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--workers", type=int, default=None,
                   help="train on a local Dask cluster of this many worker processes (needs the cluster extra)")
    g.add_argument("--scheduler", default=None, help="train on the Dask cluster at this scheduler address, "
                                                     "e.g. tcp://host:8786 (needs the cluster extra)")
    p.add_argument("--group-size", type=int, default=None,
                   help="at most this many runs stacked into one ensemble task (default: all runs of one shape; "
                        "smaller groups spread over more workers)")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints (default 1000)")


def executor_from(args: argparse.Namespace):
    """The executor the options ask for (validated before any work starts)."""
    from ..executors import Dask, InProcess

    if args.workers is not None:
        if args.workers < 1:
            raise ValueError(f"--workers={args.workers} is not allowed: expected an integer ≥ 1")
        return Dask(workers=args.workers)
    if args.scheduler is not None:
        return Dask(address=args.scheduler)
    return InProcess()


def check_sweep_options(args: argparse.Namespace) -> None:
    if args.group_size is not None and args.group_size < 1:
        raise ValueError(f"--group-size={args.group_size} is not allowed: expected an integer ≥ 1")
    if args.checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every={args.checkpoint_every} is not allowed: expected an integer ≥ 1")


def check_device(name: str) -> str:
    """``--device`` checked before any work: a device torch knows and this machine has."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"--device={name!r} is not allowed: expected a torch device such as 'cpu' or 'cuda'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device={name!r} is not allowed: this machine has no CUDA device; use --device cpu")
    if device.type not in ("cpu", "cuda", "mps", "meta"):
        raise ValueError(f"--device={name!r} is not allowed: expected 'cpu' or 'cuda'")
    return name
