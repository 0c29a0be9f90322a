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

This module defines runs, groups and sweeps; ``interp.experiments.storage`` keeps their
folders (``load_run``, ``table``, ``discard``) and ``interp.experiments.execution`` trains
them (``execute``, ``train_group``). Those names also load from here, on first use.

>>> import models, tempfile
>>> from interp.experiments.execution import execute
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
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Iterable

import models
from models.checkpoint import MODEL_TYPES
from models.jsonable import jsonable
from models.lazy import lazy_names
from models.validate import check

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


_MOVED = {**{name: "interp.experiments.storage" for name in ("RESULT", "GROUPS", "TABLE", "is_done", "read_result",
                                                               "load_run", "discard", "table")},
          **{name: "interp.experiments.execution" for name in ("EVAL_INPUTS", "EVAL_SEED", "train_group", "execute")}}
"""The names this module held before storage and execution had their own modules: they load
from those on first use (they import this module, so it cannot import them first)."""

__getattr__, __dir__ = lazy_names(__name__, _MOVED, ())
