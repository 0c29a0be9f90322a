"""Training a sweep: ``train_group`` trains one group of runs (what an executor runs) and
writes each run's folder; ``execute`` trains every unfinished group of a sweep with an
executor and writes the results table."""
from __future__ import annotations

import math
import shutil
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch

import models
from models.atomic import write_text
from models.validate import check, make_folder

from .runs import Group, Sweep, _model_type
from .storage import GROUPS, TABLE, is_done, read_result, table, write_run

EVAL_INPUTS, EVAL_SEED = 4096, 12345
"""Live neurons are counted over this many held-out inputs of the task, drawn with this seed."""


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
            write_run(root, run, _member(res.model, i).cpu(), history, result)
        shutil.rmtree(folder, ignore_errors=True)
    return [read_result(root, r) for r in group.runs]


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
