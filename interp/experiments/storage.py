"""Where a sweep's results live under its ``root``: each finished run's folder ``<key>/`` (a
checkpoint, ``run.json`` and ``result.json``), written whole or not at all; the group
checkpoints under ``_groups/``; the results table (``table``, saved as ``sweep.csv``); and
``discard``, which removes what a sweep wrote."""
from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path

import models
from models.atomic import remove, write_text
from models.validate import check

from .runs import Run, Sweep

RESULT = "result.json"
GROUPS = "_groups"
TABLE = "sweep.csv"


def is_done(root: str | Path, run: Run) -> bool:
    return (Path(root) / run.key / RESULT).is_file()



def _total(counts) -> float:
    """Live neurons over all sites; NaN when a count is missing (a failed run)."""
    counts = list(counts)
    return math.nan if None in counts else sum(counts)


def write_run(root: Path, run: Run, model, history: dict, result: dict) -> None:
    """Write ``root/<key>/`` whole or not at all: build it under a temporary name, then
    rename the folder into place (a folder already there was written by another worker)."""
    final = root / run.key
    if (final / RESULT).is_file():
        return
    tmp = root / f".{run.key}.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    models.save(model, tmp, task=run.task, train_config=run.train, history=history)
    write_text(tmp / "run.json", json.dumps(run.to_config(), indent=1))
    write_text(tmp / RESULT, json.dumps(result, indent=1))
    if final.exists() and not (final / RESULT).is_file():
        shutil.rmtree(final, ignore_errors=True)  # a folder without result.json is an unfinished write
    try:
        tmp.rename(final)
    except OSError:
        if not (final / RESULT).is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)  # another worker wrote it meanwhile



def read_result(root: str | Path, run: Run) -> dict:
    """A finished run's ``result.json``."""
    return json.loads((Path(root) / run.key / RESULT).read_text())


def load_run(root: str | Path, run: Run) -> models.Checkpoint:
    """A finished run's checkpoint (model, task, training config, history)."""
    check(is_done(root, run), "run", run.key, f"a finished run under {root}")
    return models.load(Path(root) / run.key)


def discard(root: str | Path) -> list[str]:
    """Remove what :func:`execute` wrote under ``root``: the finished run folders
    (``<key>/`` holding ``run.json``), half-written ones (``.<key>.tmp<pid>/``), the group
    checkpoints under ``_groups/`` and ``sweep.csv``; any other file or folder stays. A
    sweep run afterwards trains every run from the start. Returns the names removed.

    >>> import tempfile
    >>> discard(tempfile.mkdtemp())
    []
    """
    root = Path(root)
    if not root.is_dir():
        return []
    removed = []
    for path in sorted(root.iterdir()):
        if _own_folder(path) and ((path / "run.json").is_file() or _PARTIAL.fullmatch(path.name)):
            shutil.rmtree(path)
            removed.append(path.name)
    removed += remove(root / TABLE)
    groups = root / GROUPS
    if _real_folder(groups):
        for path in sorted(groups.iterdir()):
            if _real_folder(path) and _KEY.fullmatch(path.name):
                shutil.rmtree(path)
                removed.append(f"{GROUPS}/{path.name}")
        if not any(groups.iterdir()):
            groups.rmdir()
    return removed


def _real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _own_folder(path: Path) -> bool:
    """A folder (not a link) named as this module names run folders, finished or half-written."""
    return _real_folder(path) and bool(_KEY.fullmatch(path.name) or _PARTIAL.fullmatch(path.name))


_KEY = re.compile(r"[0-9a-f]{16}")
_PARTIAL = re.compile(r"\.[0-9a-f]{16}\.tmp\d+")


def table(sweep: Sweep, root: str | Path):
    """One row per run of ``sweep``: its parameters (``model.*``, ``task.*``, ``train.*``),
    ``key``, ``status`` ("done", "failed" or "pending"), ``task_loss``, ``loss.<subtask>``,
    ``live.<site>`` and ``live`` (all sites). A pandas DataFrame."""
    import pandas as pd

    rows = []
    for run in sweep.runs:
        row = {"key": run.key, **run.params()}
        if is_done(root, run):
            r = read_result(root, run)
            row.update(status=r["status"], message=r["message"], task_loss=r["task_loss"],
                       **{f"loss.{k}": v for k, v in r["loss"].items()},
                       **{f"live.{k}": v for k, v in r["live"].items()}, live=_total(r["live"].values()))
        else:
            row["status"] = "pending"
        rows.append(row)
    return pd.DataFrame(rows)
