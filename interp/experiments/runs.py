"""Runs and sweeps as data: what to train, where its results live, and the table they make.

A :class:`Run` is one training run (model config, task, training config); its content hash
``key`` names its folder, so the same run asked for twice (by two figures, or by a rerun) is
trained once. A :class:`Sweep` is a list or grid of runs. :func:`execute` trains a sweep:
runs that differ only in their init seed and task weight α are stacked into one
``models.Ensemble`` (a *group*), each group is one task for an executor (in-process, or Dask
workers: :mod:`interp.experiments.executors`), checkpointed every ``checkpoint_every`` steps, and each
finished run is written to ``ROOT/<key>/``: a checkpoint folder (``models.load``,
``interp allocate``) plus ``result.json`` (final losses, live neurons per site, status).
A rerun skips finished runs and resumes unfinished groups from their last checkpoint.

>>> import models, tempfile
>>> sweep = Sweep.grid(models.MLPConfig(d_in=1, widths=(8,), d_out=1), models.tasks.Square(),
...                    models.TrainConfig(steps=20, eval_points=4, progress=False),
...                    over={"model.seed": [0, 1], "train.alpha": [1.0, 50.0]})
>>> len(sweep), len(sweep.groups())               # 4 runs stacked into one ensemble
(4, 1)
>>> table = execute(sweep, tempfile.mkdtemp(), progress=False)
>>> table[["train.alpha", "model.seed", "status"]].values.tolist()
[[1.0, 0, 'done'], [50.0, 0, 'done'], [1.0, 1, 'done'], [50.0, 1, 'done']]
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import torch

import models
from models.atomic import remove, write_text
from models.checkpoint import MODEL_TYPES
from models.jsonable import jsonable
from models.validate import check, make_folder

RESULT = "result.json"
GROUPS = "_groups"
TABLE = "sweep.csv"
EVAL_INPUTS, EVAL_SEED = 4096, 12345
"""Live neurons are counted over this many held-out inputs of the task, drawn with this seed."""

_NOT_IDENTITY = ("progress", "checkpoint_every")  # training fields that do not change the result


def _model_type(config) -> str:
    """The zoo model type (``models.checkpoint.MODEL_TYPES``) a run's config builds: one model,
    whose seed is in its config (the runs of one shape are stacked into ensembles when executed)."""
    single = {name: t.config for name, t in MODEL_TYPES.items() if not t.ensemble}
    name = next((n for n, cls in single.items() if isinstance(config, cls)), None)
    check(name is not None, "model", config, "a " + " or ".join(f"models.{c.__name__}" for c in single.values()))
    return name


@dataclass(frozen=True)
class Run:
    """One training run: ``model`` (an ``MLPConfig`` or ``ParityTransformerConfig``, whose
    ``seed`` is the run's init seed), ``task`` and ``train`` (a ``TrainConfig`` with one α).

    >>> import models
    >>> run = Run(models.MLPConfig(d_in=1, widths=(8,), d_out=1), models.tasks.Square(), models.TrainConfig(alpha=4))
    >>> len(run.key), run.params()["train.alpha"]
    (16, 4.0)
    """

    model: Any
    task: models.tasks.Task
    train: models.TrainConfig

    def __post_init__(self):
        _model_type(self.model)
        check(isinstance(self.task, models.tasks.Task), "task", self.task, "a models.tasks.Task")
        check(isinstance(self.train, models.TrainConfig), "train", self.train, "a models.TrainConfig")
        check(not isinstance(self.train.alpha, tuple), "train.alpha", self.train.alpha,
              "one number per run (a sweep over α lists one run per value)")
        object.__setattr__(self, "train", replace(self.train, alpha=float(self.train.alpha)))  # 4 and 4.0: one run

    def to_config(self) -> dict:
        """The run as JSON values: ``{"model": {"type", "config"}, "task", "train"}``."""
        train = {k: v for k, v in asdict(self.train).items() if k not in _NOT_IDENTITY}
        return jsonable({"model": {"type": _model_type(self.model), "config": asdict(self.model)},
                       "task": self.task.to_config(), "train": train})

    @property
    def key(self) -> str:
        """A stable content hash of ``to_config()`` (16 hex digits): the run's folder name."""
        return hashlib.sha256(json.dumps(self.to_config(), sort_keys=True).encode()).hexdigest()[:16]

    def params(self) -> dict[str, Any]:
        """Flat ``{"model.widths": ..., "task.type": ..., "train.alpha": ...}``, one column each."""
        c = self.to_config()
        flat = {"task.type": c["task"]["type"], "model.type": c["model"]["type"]}
        flat.update({f"model.{k}": v for k, v in c["model"]["config"].items()})
        flat.update({f"task.{k}": v for k, v in c["task"].items() if k != "type"})
        flat.update({f"train.{k}": v for k, v in c["train"].items()})
        return {k: tuple(v) if isinstance(v, list) else v for k, v in flat.items()}

    def shape_key(self) -> str:
        """Runs with the same shape key differ only in init seed and α: one ensemble can train
        them together (MLPs only; every transformer run is its own group)."""
        c = self.to_config()
        c["model"]["config"].pop("seed")
        c["train"].pop("alpha")
        if c["model"]["type"] != "MLP":
            return self.key
        return json.dumps(c, sort_keys=True)


def _set(run: Run, path: str, value) -> Run:
    part, _, name = path.partition(".")
    check(part in ("model", "task", "train") and name, "over", path,
          "keys 'model.<field>', 'task.<field>' or 'train.<field>', e.g. 'model.seed', 'train.alpha'")
    obj = getattr(run, part)
    check(name in {f.name for f in fields(obj)}, "over", path,
          f"a field of {type(obj).__name__}: {sorted(f.name for f in fields(obj))}")
    value = value.item() if hasattr(value, "item") else value
    return replace(run, **{part: replace(obj, **{name: value})})


@dataclass(frozen=True)
class Group:
    """Runs trained together: one ``Ensemble`` (member i is ``runs[i]``), or one transformer."""

    runs: tuple[Run, ...]

    @property
    def key(self) -> str:
        return hashlib.sha256(" ".join(r.key for r in self.runs).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Sweep:
    """A list of runs; ``group_size`` caps the members stacked into one ensemble (None: every
    run of one shape in one group; smaller groups spread over more workers).

    >>> import models
    >>> s = Sweep.grid(models.MLPConfig(d_in=1, widths=(8,), d_out=1), models.tasks.Square(), models.TrainConfig(),
    ...                over={"model.widths": [(8,), (16,)], "model.seed": range(3)}, group_size=2)
    >>> len(s), [len(g.runs) for g in s.groups()]
    (6, [2, 1, 2, 1])
    """

    runs: tuple[Run, ...]
    group_size: int | None = None

    def __post_init__(self):
        object.__setattr__(self, "runs", tuple(self.runs))
        check(len(self.runs) >= 1 and all(isinstance(r, Run) for r in self.runs), "runs", self.runs,
              "a non-empty sequence of interp.experiments.runs.Run")
        if self.group_size is not None:
            check(isinstance(self.group_size, int) and self.group_size >= 1, "group_size", self.group_size,
                  "None or an integer ≥ 1")

    @classmethod
    def grid(cls, model, task: models.tasks.Task, train: models.TrainConfig,
             over: Mapping[str, Iterable], group_size: int | None = None) -> "Sweep":
        """Every combination of the values in ``over`` (``{"model.seed": [...], "train.alpha":
        [...]}``, earlier keys varying slowest) applied to the base run (model, task, train)."""
        base = Run(model, task, train)
        axes = {k: list(v) for k, v in over.items()}
        for k, v in axes.items():
            check(len(v) >= 1, "over", f"{k}: {v}", "a non-empty list of values per key")
        runs = []
        for combo in itertools.product(*axes.values()):
            run = base
            for path, value in zip(axes, combo):
                run = _set(run, path, value)
            runs.append(run)
        return cls(tuple(runs), group_size)

    def __len__(self) -> int:
        return len(self.runs)

    def __add__(self, other: "Sweep") -> "Sweep":
        """Both sweeps' runs, each distinct run once (in first-seen order)."""
        return Sweep(tuple(dict.fromkeys(self.runs + other.runs)), self.group_size)

    def groups(self) -> list[Group]:
        """Runs of one shape stacked together (in sweep order, at most ``group_size`` each)."""
        by_shape: dict[str, list[Run]] = {}
        for run in dict.fromkeys(self.runs):
            by_shape.setdefault(run.shape_key(), []).append(run)
        size = self.group_size
        return [Group(tuple(runs[i:i + (size or len(runs))])) for runs in by_shape.values()
                for i in range(0, len(runs), size or len(runs))]


# -- training one group (what an executor runs) ---------------------------------------------
def is_done(root: str | Path, run: Run) -> bool:
    return (Path(root) / run.key / RESULT).is_file()


def _build(group: Group) -> torch.nn.Module:
    first = group.runs[0]
    if _model_type(first.model) == "MLP":
        return models.Ensemble(replace(first.model, seed=0), seeds=[r.model.seed for r in group.runs])
    return models.ParityTransformer(first.model)


def _member(model: torch.nn.Module, i: int) -> torch.nn.Module:
    return model.member(i) if models.mlp.n_members(model) is not None else model


def _history_of(history: Mapping[str, Any], i: int, stacked: bool) -> dict[str, list]:
    """Member ``i``'s part of an ensemble's history (the ``[P, M, ...]`` arrays sliced)."""
    return {k: (np.asarray(v)[:, i] if stacked and k != "step" else np.asarray(v)).tolist()
            for k, v in history.items()}


def _live_counts(model: torch.nn.Module, task) -> dict[str, Any]:
    from ..neurons import live_neurons

    x = task.eval_batch(EVAL_INPUTS, torch.Generator().manual_seed(EVAL_SEED)).x
    x = x.to(next(model.parameters()).device)
    return live_neurons(model, x).counts()


def _count(n, i: int, stacked: bool) -> int | None:
    """Member ``i``'s live count from ``LiveNeurons.counts()``; None (not 0) for a failed member."""
    v = float(n[i]) if stacked else float(n)
    return None if math.isnan(v) else int(v)


def _total(counts) -> float:
    """Live neurons over all sites; NaN when a count is missing (a failed run)."""
    counts = list(counts)
    return math.nan if None in counts else sum(counts)


def _write_run(root: Path, run: Run, model, history: dict, result: dict) -> None:
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


@contextmanager
def _torch_threads(n: int | None):
    """Run the block with ``n`` torch threads (None: as they are), then restore them."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_group(group: Group, root: str | Path, checkpoint_every: int = 1000, device: str = "cpu",
                threads: int | None = None, progress: bool = False) -> list[dict]:
    """Train ``group`` (resuming its checkpoint under ``root/_groups/``) unless all its runs
    are done, write each run's folder, and return their result rows. ``progress`` shows the
    trainer's step bar (whatever the runs' ``TrainConfig.progress``: it is no part of a run)."""
    root = Path(root)
    if all(is_done(root, r) for r in group.runs):
        return [read_result(root, r) for r in group.runs]
    with _torch_threads(threads):
        first = group.runs[0]
        model = _build(group).to(device)
        stacked = models.mlp.n_members(model) is not None
        alpha = tuple(r.train.alpha for r in group.runs) if stacked else first.train.alpha
        config = replace(first.train, alpha=alpha, progress=progress,
                         checkpoint_every=first.train.checkpoint_every or checkpoint_every)
        folder = root / GROUPS / group.key
        try:
            res = models.train(model, first.task, config, checkpoint=folder)
            failed = res.failed
        except models.TrainingDiverged as e:
            res, failed = e.result, {0: str(e)}
        live = _live_counts(res.model, first.task)
        for i, run in enumerate(group.runs):
            history = _history_of(res.history, i, stacked)
            result = {"key": run.key, "status": "failed" if i in failed else "done", "message": failed.get(i, ""),
                      "steps": int(history["step"][-1]),
                      "task_loss": history["task_loss"][-1],
                      "loss": dict(zip(first.task.subtasks, history["loss"][-1])),
                      "live": {site: _count(n, i, stacked) for site, n in live.items()}}
            _write_run(root, run, _member(res.model, i).cpu(), history, result)
        shutil.rmtree(folder, ignore_errors=True)
    return [read_result(root, r) for r in group.runs]


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


# -- the results table ------------------------------------------------------------------------
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


def execute(sweep: Sweep, root: str | Path, executor=None, checkpoint_every: int = 1000, device: str = "cpu",
            progress: bool = True):
    """Train every unfinished run of ``sweep`` under ``root`` with ``executor`` (default
    :class:`interp.experiments.executors.InProcess`), write ``root/sweep.csv`` and return the table
    (see :func:`table`). Finished runs are skipped; a group that was interrupted resumes from
    its last checkpoint, and ends bitwise as if it had never stopped (same thread count)."""
    from .executors import InProcess

    root = make_folder("root", root)
    check(isinstance(checkpoint_every, int) and checkpoint_every >= 1, "checkpoint_every", checkpoint_every,
          "an integer ≥ 1 (steps between checkpoints)")
    executor = InProcess() if executor is None else executor
    groups = sweep.groups()
    todo = [g for g in groups if not all(is_done(root, r) for r in g.runs)]
    bar = _Progress(len(sweep.runs), len(sweep.runs) - sum(len(g.runs) for g in todo), progress)
    try:
        steps_bar = progress and isinstance(executor, InProcess)  # workers' bars would interleave
        for group, rows, error in executor.run(train_group, todo, root=root, checkpoint_every=checkpoint_every,
                                               device=device, progress=steps_bar, on_start=bar.start):
            bar.finish(group, rows, error)
    finally:
        bar.close()
    out = table(sweep, root)
    write_text(root / TABLE, out.to_csv(index=False))
    if bar.errors:
        raise RuntimeError(f"{len(bar.errors)} of {len(todo)} groups failed; finished runs are kept under {root} "
                           f"and a rerun resumes the rest. First error: {bar.errors[0]}")
    return out


class _Progress:
    """Runs done / running / failed, as a tqdm bar over runs."""

    def __init__(self, total: int, done: int, enabled: bool):
        self.errors: list[str] = []
        self.running = self.failed = 0
        self.bar = None
        if enabled:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, initial=done, desc="runs", unit="run")
            self._show()

    def _show(self):
        if self.bar is not None:
            self.bar.set_postfix(running=self.running, failed=self.failed)

    def start(self, group: Group):
        self.running += len(group.runs)
        self._show()

    def finish(self, group: Group, rows: list[dict] | None, error: BaseException | None):
        self.running -= len(group.runs)
        if error is not None:
            self.failed += len(group.runs)
            self.errors.append(f"{type(error).__name__}: {error}")
        else:
            self.failed += sum(r["status"] == "failed" for r in rows)
            if self.bar is not None:
                self.bar.update(len(group.runs))
        self._show()

    def close(self):
        if self.bar is not None:
            self.bar.close()
