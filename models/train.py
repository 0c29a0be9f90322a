"""One trainer for the whole zoo: objective α·task_loss + λ1·Σ|w| + λ2·Σw² over weights.

``train`` takes a single model or an ``Ensemble`` (its members' objectives are summed, so
Adam and SGD keep them independent), fresh batches or a fixed data set of size D, and
records a history of per-subtask losses (and skill strengths for parity tasks) at
log-spaced steps. With ``checkpoint=FOLDER`` it saves every ``checkpoint_every`` steps and
resumes from the folder's last save.

>>> import models
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(16,), d_out=1))
>>> res = models.train(net, models.tasks.Square(), models.TrainConfig(alpha=8, steps=50, eval_points=8, progress=False))
>>> res.history["loss"].shape          # [n_points, n_subtasks]: step 0 and 8 log-spaced steps
(9, 1)
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .mlp import n_members
from .tasks import Batch, Task
from .validate import check, check_positive


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults are SPEC A's: λ1 = 1e-4, λ2 = 5e-4, Adam lr 0.01 × 0.3 every
    20 000 steps, 100 000 steps of 500 fresh samples.

    ``alpha`` is the task weight α (one number, or one per ensemble member).
    ``dataset_size`` None means fresh batches; an integer D means a fixed data set of D
    samples drawn once, minibatches drawn from it (the full set when ``batch_size ≥ D``).
    ``shared_data`` feeds every ensemble member the same batches (one stream from ``seed``);
    otherwise each member draws its own stream from (``seed``, its model seed), exactly as
    it would if trained alone. ``eval_points`` log-spaced steps are measured on
    ``eval_size`` held-out samples.
    """

    alpha: float | tuple[float, ...] = 1.0
    l1: float = 1e-4
    l2: float = 5e-4
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_decay: float = 0.3
    lr_decay_every: int = 20_000
    steps: int = 100_000
    batch_size: int = 500
    dataset_size: int | None = None
    shared_data: bool = False
    seed: int = 0
    eval_size: int = 2000
    eval_points: int = 50
    checkpoint_every: int = 0
    progress: bool = True

    def __post_init__(self):
        alphas = self.alpha if isinstance(self.alpha, (tuple, list)) else (self.alpha,)
        object.__setattr__(self, "alpha", tuple(float(a) for a in alphas) if isinstance(self.alpha, (tuple, list))
                           else self.alpha)
        for a in alphas:
            check(isinstance(a, (int, float)) and math.isfinite(a) and a > 0, "alpha", self.alpha,
                  "a finite task weight > 0, or a tuple of them (one per ensemble member)")
        for name in ("l1", "l2", "momentum", "weight_decay"):
            v = getattr(self, name)
            check(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0, name, v, "a finite number ≥ 0")
        check(self.optimizer in ("adam", "sgd"), "optimizer", self.optimizer, "'adam' or 'sgd'")
        check_positive("lr", self.lr)
        check(0 < self.lr_decay <= 1, "lr_decay", self.lr_decay, "a factor in (0, 1]")
        check_positive("lr_decay_every", self.lr_decay_every, integer=True)
        check(isinstance(self.steps, int) and self.steps >= 0, "steps", self.steps, "an integer ≥ 0")
        check_positive("batch_size", self.batch_size, integer=True)
        if self.dataset_size is not None:
            check_positive("dataset_size", self.dataset_size, integer=True)
        check_positive("eval_size", self.eval_size, integer=True)
        check_positive("eval_points", self.eval_points, integer=True)
        check(isinstance(self.checkpoint_every, int) and self.checkpoint_every >= 0, "checkpoint_every",
              self.checkpoint_every, "an integer ≥ 0 (0: only at the end)")

    def alphas(self, n_members: int | None) -> torch.Tensor:
        """α per member, ``[M]`` (``[1]`` for a single model)."""
        m = n_members or 1
        a = self.alpha if isinstance(self.alpha, tuple) else (self.alpha,) * m
        check(len(a) == m, "alpha", self.alpha, f"one number or a tuple of {m} (one per ensemble member)")
        return torch.tensor(a)

    def eval_steps(self) -> list[int]:
        """The steps at which the history is recorded: 0, log-spaced points, and the last."""
        pts = np.unique(np.round(np.logspace(0, math.log10(max(self.steps, 1)), self.eval_points)).astype(int))
        return sorted({0, self.steps, *[int(p) for p in pts if p <= self.steps]})

    def lr_at(self, step: int) -> float:
        return self.lr * self.lr_decay ** (step // self.lr_decay_every)


class TrainingDiverged(RuntimeError):
    """A single model's objective became NaN or inf. ``.result`` holds what was finished."""

    def __init__(self, message: str, result: "TrainResult"):
        super().__init__(message)
        self.result = result


@dataclass
class TrainResult:
    """What ``train`` returns: the trained ``model``, the ``history`` (numpy arrays keyed by
    name: ``step [P]``, ``task_loss [P(, M)]``, ``loss [P(, M), n_subtasks]``, and for parity
    tasks ``skill_strength`` likewise) and ``failed``: ensemble member -> what went wrong."""

    model: nn.Module
    history: dict[str, np.ndarray]
    config: TrainConfig
    failed: dict[int, str] = field(default_factory=dict)


def weights_of(model: nn.Module) -> list[torch.Tensor]:
    """The tensors L1/L2 act on: ``model.weights()`` where defined, else every parameter
    with two or more dimensions (biases and gains are left out)."""
    if hasattr(model, "weights"):
        return list(model.weights())
    return [p for p in model.parameters() if p.dim() >= 2]


def penalties(model: nn.Module, members: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ|w|, Σw²) over the weights, each ``[M]`` for an ensemble (or the ``members`` slice)
    and ``[1]`` otherwise."""
    stacked = n_members(model) is not None
    sl = slice(None) if members is None else members
    l1 = l2 = 0
    for w in weights_of(model):
        flat = w[sl].flatten(1) if stacked else w.reshape(1, -1)
        l1 = l1 + flat.abs().sum(1)
        l2 = l2 + flat.pow(2).sum(1)
    return l1, l2


def _members_of(batch: Batch, members: slice | None) -> Batch:
    """The part of a batch that feeds ``members``: per-member batches carry a model axis."""
    if members is None or batch.x.dim() == 2:
        return batch
    return Batch(*(t[members] for t in batch))


def predict(model: nn.Module, x: torch.Tensor, members: slice | None = None) -> torch.Tensor:
    """``model(x)``, for the ``members`` slice of an ensemble when given."""
    return model(x) if members is None else model(x, members=members)


def objective(model: nn.Module, task: Task, batch: Batch, config: TrainConfig,
              members: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(objective, task loss), each ``[M]`` (``[1]`` for a single model; the slice's length
    with ``members``): α·ℓ + λ1·Σ|w| + λ2·Σw²."""
    batch = _members_of(batch, members)
    task_loss = task.loss(predict(model, batch.x, members), batch).reshape(-1)
    l1, l2 = penalties(model, members)
    alphas = config.alphas(n_members(model))[slice(None) if members is None else members]
    return alphas.to(task_loss) * task_loss + config.l1 * l1 + config.l2 * l2, task_loss


CACHE_ELEMENTS = 2**20
"""Activations per chunk (4 MB of float32) when the trainer walks a wide ensemble on the CPU:
stacked members beyond this fall out of cache and run slower than one model after another."""


def member_chunks(model: nn.Module, rows: int) -> list[slice | None]:
    """Slices of the model axis to run one at a time for ``rows`` samples per member: one
    chunk on a GPU or for narrow nets, a few members per chunk for wide nets on the CPU."""
    n = n_members(model)
    if n is None:
        return [None]
    if next(model.parameters()).is_cuda:
        return [slice(0, n)]
    size = max(1, CACHE_ELEMENTS // (rows * max(model.sites.values())))
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


def _model_seeds(model: nn.Module) -> list[int]:
    if n_members(model) is not None:
        return list(model.seeds)
    return [int(getattr(getattr(model, "config", None), "seed", 0))]


def _generator(*seeds: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence(list(seeds)).generate_state(1, np.uint64)[0] >> 1))


class _Data:
    """Per-member (or shared) streams of training batches, fresh or from a fixed set."""

    def __init__(self, task: Task, config: TrainConfig, model_seeds: list[int]):
        self.task, self.config = task, config
        streams = [(config.seed,)] if config.shared_data else [(config.seed, s) for s in model_seeds]
        self.generators = [_generator(*s) for s in streams]
        self.datasets = None
        if config.dataset_size is not None:
            self.datasets = [task.sample(config.dataset_size, g) for g in self.generators]

    def _one(self, i: int) -> Batch:
        g = self.generators[i]
        if self.datasets is None:
            return self.task.sample(self.config.batch_size, g)
        data = self.datasets[i]
        if self.config.batch_size >= self.config.dataset_size:
            return data
        idx = torch.randint(self.config.dataset_size, (self.config.batch_size,), generator=g)
        return Batch(*(t[idx] for t in data))

    def next(self) -> Batch:
        parts = [self._one(i) for i in range(len(self.generators))]
        if len(parts) == 1:
            return parts[0]  # one stream: a shared batch broadcasts over ensemble members
        return Batch(*(torch.stack(t) for t in zip(*parts)))


def _to(batch: Batch, device: torch.device) -> Batch:
    return batch if device.type == "cpu" else Batch(*(t.to(device, non_blocking=True) for t in batch))


def check_fits(model: nn.Module, task: Task) -> None:
    """Raise ``ValueError`` unless ``model`` maps the task's inputs to its outputs."""
    batch = _to(task.sample(2, torch.Generator().manual_seed(0)), next(model.parameters()).device)
    try:
        with torch.no_grad():
            out = model(batch.x)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"task={task!r} does not fit the model: its inputs are [batch, {task.d_in}] "
                         f"and the model fails on them ({e})") from None
    check(out.shape[-1] == task.d_out, "task", task, f"a task with d_out={out.shape[-1]} to match the model's output")


def train(model: nn.Module, task: Task, config: TrainConfig = TrainConfig(),
          checkpoint: str | Path | None = None) -> TrainResult:
    """Train ``model`` (an MLP, an Ensemble, a ParityTransformer or any ``nn.Module``
    mapping ``[batch, d_in]`` to ``[batch, d_out]``) on ``task`` in place.

    An ensemble member whose objective becomes NaN/inf is frozen and listed in
    ``result.failed``; the others train on. A single model that diverges raises
    ``TrainingDiverged`` (its ``.result`` holds the history so far). With ``checkpoint``,
    the run is saved there every ``config.checkpoint_every`` steps and at the end, and a
    call on a folder holding an unfinished run of the same configuration resumes it.
    """
    from .checkpoint import load_train_state, save_train_state  # checkpoint imports train's types

    check(isinstance(task, Task), "task", task, "a models.tasks.Task")
    check_fits(model, task)
    members = n_members(model)
    stacked = members is not None
    config.alphas(members)  # validates the length of alpha
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=config.lr)
    else:
        opt = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    data = _Data(task, config, _model_seeds(model))
    device = next(model.parameters()).device  # data is drawn on the CPU, then moved to the model
    eval_batch = _to(task.eval_batch(config.eval_size, _generator(config.seed, 2**31 - 1)), device)
    eval_at = config.eval_steps()
    history: dict[str, list] = {}
    failed: dict[int, str] = {}
    frozen: dict[int, list[torch.Tensor]] = {}
    start = 0
    state = None if checkpoint is None else load_train_state(checkpoint, model, task, config, opt, data.generators)
    if state is not None:
        start, history, failed = state
        frozen = {i: [p.detach()[i].clone() for p in params] for i in failed}

    def record(step: int) -> None:
        with torch.no_grad():
            pred = torch.cat([predict(model, eval_batch.x, sl) for sl in member_chunks(model, config.eval_size)])
            values = {"task_loss": task.loss(pred, eval_batch), **task.metrics(pred, eval_batch)}
        history.setdefault("step", []).append(step)
        for k, v in values.items():
            history.setdefault(k, []).append(v.double().cpu().numpy().tolist())

    def result() -> TrainResult:
        return TrainResult(model, {k: np.asarray(v) for k, v in history.items()}, config, dict(failed))

    def save(step: int) -> None:
        if checkpoint is not None:
            save_train_state(checkpoint, model, task, config, opt, data.generators, step, history, failed)

    if start == 0 and not history:
        record(0)
    bar = None
    if config.progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=config.steps, initial=start, desc="train", leave=False)
    chunks = member_chunks(model, config.batch_size)
    model.train()
    for step in range(start, config.steps):
        for group in opt.param_groups:
            group["lr"] = config.lr_at(step)
        batch = _to(data.next(), device)
        opt.zero_grad(set_to_none=True)
        for sl in chunks:
            obj, _ = objective(model, task, batch, config, sl)
            finite = torch.isfinite(obj)
            if not bool(finite.all()):
                if not stacked:
                    save(step)
                    raise TrainingDiverged(f"training diverged at step {step}: objective={obj.item()}; try a smaller "
                                           f"lr (lr={config.lr}) or alpha (alpha={config.alpha})", result())
                for j in range(obj.numel()):
                    i = sl.start + j
                    if not finite[j] and i not in failed:
                        failed[i] = f"objective became {obj[j].item()} at step {step}"
                        frozen[i] = [p.detach()[i].clone() for p in params]
                obj = torch.where(finite, obj, torch.zeros_like(obj))
            obj.sum().backward()
        opt.step()
        if frozen:
            with torch.no_grad():
                for i, saved in frozen.items():
                    for p, s in zip(params, saved):
                        p[i] = s
        done = step + 1
        if done in eval_at:
            record(done)
            if bar is not None:
                bar.set_postfix(task_loss=f"{np.mean(history['task_loss'][-1]):.3g}")
        if config.checkpoint_every and done % config.checkpoint_every == 0 and done < config.steps:
            save(done)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    model.eval()
    save(config.steps)
    return result()
