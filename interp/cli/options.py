"""Options that several subcommands share, and the checks every subcommand runs on its
options before any work: where training runs (this process, a local Dask cluster, or a Dask
scheduler), where output goes, and the numbers it is given. Each failed check is a
``ValueError`` naming the option, its value and what is allowed (``main`` prints it and
exits with status 2)."""
from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path
from typing import Iterable

from models import validate
from models.validate import MAX_INT, check, is_int


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
    from ..experiments.executors import Dask, InProcess

    if args.workers is not None:
        check_int("--workers", args.workers, low=1)
        return Dask(workers=args.workers)
    if args.scheduler is not None:
        return Dask(address=args.scheduler)
    return InProcess()


def check_sweep_options(args: argparse.Namespace) -> None:
    check_int("--group-size", args.group_size, low=1)
    check_int("--checkpoint-every", args.checkpoint_every, low=1)
    check_int("--workers", args.workers, low=1)


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


# -- numbers ------------------------------------------------------------------------------------
def _integers(low: int, high: int, beyond: bool, plural: bool = False) -> str:
    """What an integer option allows, in words (``beyond``: the value given passed 2**63)."""
    what = "integers" if plural else "an integer"
    if high != MAX_INT:
        return f"{what} in [{low}, {high}]"
    return f"{what} ≥ {low}" + (" and < 2**63" if beyond else "")


def check_int(option: str, value: int | None, low: int = 0, high: int = MAX_INT) -> None:
    """``value`` (None: not given) is an integer in ``[low, high]``.

    >>> check_int("--n-samples", 0, low=1)
    Traceback (most recent call last):
    ...
    ValueError: --n-samples=0 is not allowed: expected an integer ≥ 1
    """
    if value is not None:
        check(is_int(value) and low <= value <= high, option, value,
              _integers(low, high, is_int(value) and value > high))


def check_ints(option: str, values: Iterable[int], low: int = 0, high: int = MAX_INT) -> None:
    """Every one of ``values`` (an option taking several) is an integer in ``[low, high]``."""
    values = list(values)
    check(all(is_int(v) and low <= v <= high for v in values), option, values,
          _integers(low, high, any(is_int(v) and v > high for v in values), plural=True))


def check_number(option: str, value: float | None, low: float = -math.inf, high: float = math.inf,
                 above: bool = False) -> None:
    """``value`` (None: not given) checked by ``models.validate.check_number``.

    >>> check_number("--live-threshold", float("inf"), low=0)
    Traceback (most recent call last):
    ...
    ValueError: --live-threshold=inf is not allowed: expected a finite number ≥ 0
    """
    if value is not None:
        validate.check_number(option, value, low, high, above=above)


# -- output paths -------------------------------------------------------------------------------
def _writable(option: str, given: str, folder: Path) -> None:
    """This process can create files in ``folder``: asked of the file system (a probe file
    made and removed at once), since permission bits say nothing to root or of a read-only
    mount."""
    why = None
    if not os.access(folder, os.W_OK | os.X_OK):
        why = "permission denied"
    else:
        try:
            fd, probe = tempfile.mkstemp(prefix=".interp-probe-", dir=folder)
        except OSError as e:
            why = e.strerror or type(e).__name__
        else:
            os.close(fd)
            os.unlink(probe)
    check(why is None, option, given, f"a location this process can write (cannot create a file in {folder}: {why})")


def check_output_file(option: str, path: str) -> Path:
    """A file the command will write (whole, by a rename in its folder): not a folder, in an
    existing folder this process can write. Checked before any work, so a bad path costs
    nothing.

    >>> check_output_file("--json", "/no/such/o.json")
    Traceback (most recent call last):
    ...
    ValueError: --json='/no/such/o.json' is not allowed: expected a file in an existing folder (/no/such does not exist)
    """
    p = Path(path)
    check(path != "", option, path, "a file path")
    check(not p.is_dir(), option, path, "a file path, not a folder")
    parent = p.absolute().parent
    check(parent.exists(), option, path, f"a file in an existing folder ({p.parent} does not exist)")
    check(parent.is_dir(), option, path, f"a file in a folder ({p.parent} is not a folder)")
    _writable(option, path, parent)
    return p


def check_output_folder(option: str, path: str) -> Path:
    """A folder the command will write into: an existing folder this process can write, or
    one it can make (its nearest existing parent is a folder it can write). Nothing is made
    here."""
    check(path != "", option, path, "a folder path")
    _writable(option, path, validate.check_folder(option, path))
    return Path(path)
