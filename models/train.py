"""One trainer for the whole zoo: objective α·task_loss + λ1·Σ|w| + λ2·Σw² over weights.

``train`` takes a single model or an ``Ensemble`` (its members' objectives are summed, so
Adam and SGD keep them independent), fresh batches or a fixed data set of size D, and
records a history of per-subtask losses (and skill strengths for parity tasks) at
log-spaced steps. With ``checkpoint=FOLDER`` it saves every ``checkpoint_every`` steps and
resumes from the folder's last save. Each member's data stream is drawn a block of steps at
a time, the objective is looked at for NaN/inf every ``check_every`` steps, and long runs of
MLPs compile their step (``compile="auto"``; see ``models.steps``).

>>> import models
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(16,), d_out=1))
>>> res = models.train(net, models.tasks.Square(), models.TrainConfig(alpha=8, steps=50, eval_points=8, progress=False))
>>> res.history["loss"].shape          # [n_points, n_subtasks]: step 0 and 8 log-spaced steps
(9, 1)
"""
from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .mlp import n_members
from .tasks import Batch, Task, check_sample
from .validate import (check, check_bool, check_choice, check_memory, check_number, check_positive, check_seed,
                       check_folder, is_int, is_number)


MAX_EVAL_POINTS = 10**6
"""Points of a training history at most (each is a pass over the held-out set)."""


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

    ``compile`` ("auto", "on" or "off") picks the compiled training step (one graph for
    forward, objective, backward and update; MLPs and ensembles) or the eager one; "auto"
    compiles when the run is long enough to repay the warm-up (see ``use_compiled``). The two
    agree to float tolerance, not bit for bit, so a run resumes only under the same setting.
    ``check_every`` is how many steps may pass between looks at the objective for NaN/inf
    (each look waits for the device). ``weight_decay`` adds ``weight_decay·p`` to every
    parameter's gradient, as ``torch.optim.Adam`` and ``SGD`` do (the λ2 penalty, by contrast,
    is part of the objective and acts on weights only); ``momentum`` is SGD's.
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
    compile: str = "auto"
    check_every: int = 100

    def __post_init__(self):
        alpha_rule = "a finite task weight > 0, or a non-empty tuple of them (one per ensemble member)"
        if isinstance(self.alpha, (tuple, list)):
            check(len(self.alpha) >= 1, "alpha", self.alpha, alpha_rule)
            for a in self.alpha:
                check(is_number(a) and math.isfinite(a) and a > 0, "alpha", self.alpha, alpha_rule)
            object.__setattr__(self, "alpha", tuple(float(a) for a in self.alpha))
        else:
            check(is_number(self.alpha) and math.isfinite(self.alpha) and self.alpha > 0, "alpha", self.alpha,
                  alpha_rule)
        for name in ("l1", "l2", "weight_decay"):
            check_number(name, getattr(self, name), 0.0, what="a finite number ≥ 0")
        check(is_number(self.momentum) and 0 <= self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
        check(self.optimizer == "sgd" or self.momentum == 0, "momentum", self.momentum,
              "0 with optimizer='adam' (Adam's moments are its own; momentum is SGD's)")
        check_choice("optimizer", self.optimizer, ("adam", "sgd"))
        check_positive("lr", self.lr)
        check(is_number(self.lr_decay) and 0 < self.lr_decay <= 1, "lr_decay", self.lr_decay, "a factor in (0, 1]")
        check_positive("lr_decay_every", self.lr_decay_every, integer=True)
        check(is_int(self.steps) and self.steps >= 0, "steps", self.steps, "an integer ≥ 0")
        check_positive("batch_size", self.batch_size, integer=True)
        if self.dataset_size is not None:
            check_positive("dataset_size", self.dataset_size, integer=True)
        check_bool("shared_data", self.shared_data)
        check_seed("seed", self.seed)
        check_positive("eval_size", self.eval_size, integer=True)
        check(is_int(self.eval_points) and 1 <= self.eval_points <= MAX_EVAL_POINTS, "eval_points", self.eval_points,
              f"an integer in [1, {MAX_EVAL_POINTS}]")
        check(is_int(self.checkpoint_every) and self.checkpoint_every >= 0, "checkpoint_every",
              self.checkpoint_every, "an integer ≥ 0 (0: only at the end)")
        check_bool("progress", self.progress)
        check_choice("compile", self.compile, ("auto", "on", "off"))
        check_positive("check_every", self.check_every, integer=True)

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
    tasks ``skill_strength`` likewise) and ``failed``: ensemble member -> what went wrong.
    ``compiled`` says whether the step was compiled; ``warmup_s`` is the wall time of its
    first call (compilation included; 0 when eager) and ``train_s`` that of the whole
    training loop, warm-up included."""

    model: nn.Module
    history: dict[str, np.ndarray]
    config: TrainConfig
    failed: dict[int, str] = field(default_factory=dict)
    compiled: bool = False
    warmup_s: float = 0.0
    train_s: float = 0.0


def weights_of(model: nn.Module) -> list[torch.Tensor]:
    """The tensors L1/L2 act on: ``model.weights()`` where defined, else every parameter
    with two or more dimensions (biases and gains are left out)."""
    if hasattr(model, "weights"):
        return list(model.weights())
    return [p for p in model.parameters() if p.dim() >= 2]


def penalties(model: nn.Module, members: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ|w|, Σw²) over the weights, each ``[M]`` for an ensemble (or the ``members`` slice)
    and ``[1]`` otherwise."""
    from .steps import penalty_sums

    stacked = n_members(model) is not None
    weights = weights_of(model)
    if stacked and members is not None:
        weights = [w[members] for w in weights]
    return penalty_sums(weights, stacked)


def _members_of(batch: Batch, members: slice | None) -> Batch:
    """The part of a batch that feeds ``members``: per-member batches carry a model axis."""
    if members is None or batch.x.dim() == 2:
        return batch
    return Batch(*(t[members] for t in batch))


def predict(model: nn.Module, x: torch.Tensor, members: slice | None = None) -> torch.Tensor:
    """``model(x)``, for the ``members`` slice of an ensemble when given."""
    return model(x) if members is None else model(x, members=members)


def objective(model: nn.Module, task: Task, batch: Batch, config: TrainConfig,
              members: slice | None = None, alphas: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(objective, task loss), each ``[M]`` (``[1]`` for a single model; the slice's length
    with ``members``): α·ℓ + λ1·Σ|w| + λ2·Σw². ``alphas`` (those of ``members``) saves
    building them from ``config`` again."""
    batch = _members_of(batch, members)
    task_loss = task.loss(predict(model, batch.x, members), batch).reshape(-1)
    l1, l2 = penalties(model, members)
    if alphas is None:
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


AUTO_COMPILE_WORK = 2e9
"""``compile="auto"`` compiles a run when steps × members × batch × hidden neurons reaches this:
about 10 s of eager work on 2 cores, enough to repay the compiler's warm-up (0.3-5 s). For
3 000 steps of 12 members of width (20, 20) on 2 threads: eager 2.8-3.5 s, compiled 1.2-1.8 s
after the warm-up."""


def _model_seeds(model: nn.Module) -> list[int]:
    if n_members(model) is not None:
        return list(model.seeds)
    return [int(getattr(getattr(model, "config", None), "seed", 0))]


def _generator(*seeds: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(np.random.SeedSequence(list(seeds)).generate_state(1, np.uint64)[0] >> 1))


BLOCK_ELEMENTS = 2**18
"""Numbers per data stream (1 MB of float32) that one draw of training data may hold."""
MAX_BLOCK_STEPS = 128


def block_steps(task: Task, config: TrainConfig) -> int:
    """How many steps of data each stream draws at a time: up to ``MAX_BLOCK_STEPS``, fewer for
    big batches. It depends only on the task's shape and the batch size, never on the number
    of members, so a member alone and in an ensemble draws the same blocks.

    >>> import models
    >>> block_steps(models.tasks.Square(), models.TrainConfig(batch_size=500)), block_steps(
    ...     models.tasks.SparseParity(n_skills=5, n_bits=32), models.TrainConfig(batch_size=500))
    (128, 13)
    """
    per_step = config.batch_size * (task.d_in + task.d_out + 1)
    return max(1, min(MAX_BLOCK_STEPS, BLOCK_ELEMENTS // per_step))


class _Data:
    """Per-member (or shared) streams of training batches, fresh or from a fixed set.

    Each stream draws ``block_steps`` steps of data at once, in blocks aligned to step
    numbers (block b holds steps ``[b·K, (b+1)·K)``); the blocks of all streams are stacked
    ``[K, streams, batch, ...]`` on the model's device, so a step's batch is one slice and no
    Python loop over members runs per step. ``generator_states(step)`` are the states from
    which ``batch(step)`` is drawn again: the states at the start of that step's block.
    """

    def __init__(self, task: Task, config: TrainConfig, model_seeds: list[int], device=None):
        self.task, self.config = task, config
        self.device = torch.device("cpu") if device is None else torch.device(device)
        streams = [(config.seed,)] if config.shared_data else [(config.seed, s) for s in model_seeds]
        self.generators = [_generator(*s) for s in streams]
        self.block = block_steps(task, config)
        self.datasets = None
        self._pool = None
        if config.dataset_size is not None:
            self.datasets = [task.sample(config.dataset_size, g) for g in self.generators]
            self._pool = Batch(*(torch.stack(t).to(self.device) for t in zip(*self.datasets)))  # [S, D, ...]
            self._rows = torch.arange(len(streams), device=self.device).unsqueeze(1)
        self._start: int | None = None  # first step of the block held in _buf
        self._states: list[torch.Tensor] | None = None  # generator states at that block's start
        self._buf = None
        self._host = None  # the block's host memory, reused: a fresh 64 MB block (64 × 16) cost page faults
        self._next = 0

    def _squeeze(self, batch: Batch) -> Batch:
        if len(self.generators) == 1:  # one stream: a shared batch broadcasts over ensemble members
            return Batch(*(t[0] for t in batch))
        return batch

    def _draw(self, start: int) -> None:
        self._states = [g.get_state() for g in self.generators]
        self._start = start
        K, n = self.block, self.config.batch_size
        for s, g in enumerate(self.generators):  # each stream's block goes straight into its slot
            if self.datasets is None:
                part = self.task.sample_steps(n, K, g)
            else:
                part = (torch.randint(self.config.dataset_size, (K, n), generator=g),)
            if self._host is None:
                self._host = [torch.empty(K, len(self.generators), *t.shape[1:], dtype=t.dtype) for t in part]
            for buf, t in zip(self._host, part):
                buf[:, s] = t
        block = [t.to(self.device, non_blocking=True) for t in self._host]
        self._buf = Batch(*block) if self.datasets is None else block[0]  # [K, S, batch, ...] / [K, S, batch]

    def batch(self, step: int) -> Batch:
        """The training batch of ``step``: ``[streams, batch, ...]``, or ``[batch, ...]`` for one
        stream. Steps are asked for in order (a resumed run starts at its saved step)."""
        if self._pool is not None and self.config.batch_size >= self.config.dataset_size:
            return self._squeeze(self._pool)  # the whole data set every step
        if self._start is None or step >= self._start + self.block:
            self._draw(step - step % self.block)
        j = step - self._start
        if self._pool is None:
            return self._squeeze(Batch(*(t[j] for t in self._buf)))
        idx = self._buf[j]
        return self._squeeze(Batch(*(t[self._rows, idx] for t in self._pool)))

    def next(self) -> Batch:
        """The batch of the step after the last one asked for."""
        self._next += 1
        return self.batch(self._next - 1)

    def generator_states(self, step: int) -> list[torch.Tensor]:
        """States to restore so that ``batch(step)`` (the next step to run) is drawn again."""
        if self._start is not None and step < self._start + self.block:
            return [s.clone() for s in self._states]
        return [g.get_state() for g in self.generators]

    def generators_at(self, step: int) -> list[torch.Generator]:
        """Copies of the generators in ``generator_states(step)``."""
        out = []
        for s in self.generator_states(step):
            g = torch.Generator()
            g.set_state(s)
            out.append(g)
        return out


def _to(batch: Batch, device: torch.device) -> Batch:
    return batch if device.type == "cpu" else Batch(*(t.to(device, non_blocking=True) for t in batch))


def check_fits(model: nn.Module, task: Task) -> None:
    """Raise ``ValueError`` unless ``model`` maps the task's inputs to its outputs."""
    batch = check_sample(task, task.sample(2, torch.Generator().manual_seed(0)), 2)
    batch = _to(batch, next(model.parameters()).device)
    try:
        with torch.no_grad():
            out = model(batch.x)
    except (RuntimeError, ValueError) as e:
        raise ValueError(f"task={task!r} does not fit the model: its inputs are [batch, {task.d_in}] "
                         f"and the model fails on them ({e})") from None
    check(out.shape[-1] == task.d_out, "task", task, f"a task with d_out={out.shape[-1]} to match the model's output")


def check_train_memory(model: nn.Module, task: Task, config: TrainConfig) -> None:
    """Refuse, before anything is drawn, a config whose data, held-out set or divergence window
    would take more than ``MAX_BYTES`` (the estimate is in the message)."""
    members = n_members(model) or 1
    streams = 1 if config.shared_data else members
    row = 4 * (task.d_in + task.d_out) + 8  # bytes per sample: x, y (float32) and its subtask id
    width = max(getattr(model, "sites", {}).values(), default=0)
    if config.dataset_size is not None:
        check_memory("dataset_size", config.dataset_size, 2 * config.dataset_size * streams * row,
                     f"{streams} fixed data set(s) of {config.dataset_size:.3g} samples, drawn and stacked")
    check_memory("batch_size", config.batch_size, config.batch_size * (streams * row + 8 * members * width),
                 f"{streams} stream(s) of {config.batch_size:.3g} samples and their activations")
    check_memory("eval_size", config.eval_size, config.eval_size * (row + 4 * members * width),
                 f"{config.eval_size:.3g} held-out samples and their activations")
    check_memory("check_every", config.check_every, 8 * config.check_every * members,
                 f"the objective of {config.check_every:.3g} steps × {members} member(s)")


def use_compiled(model: nn.Module, config: TrainConfig) -> bool:
    """Whether ``train`` compiles its step: ``compile="on"``/``"off"`` say so; ``"auto"``
    compiles MLPs and ensembles when the run is big enough to repay the warm-up (0.3-5 s on a
    2-core CPU): ``steps × members × batch_size × hidden neurons ≥ AUTO_COMPILE_WORK``.

    >>> import models
    >>> net = models.Ensemble(models.MLPConfig(d_in=1, widths=(100,), d_out=1), seeds=tuple(range(21)))
    >>> use_compiled(net, TrainConfig(steps=1_500)), use_compiled(net, TrainConfig(steps=20_000))
    (False, True)
    """
    from .steps import compilable

    if config.compile == "off":
        return False
    if config.compile == "on":
        check(compilable(model), "compile", config.compile,
              f"'auto' or 'off' for a {type(model).__name__} (the compiled step handles MLPs and ensembles)")
        return True
    if not compilable(model):
        return False
    work = config.steps * (n_members(model) or 1) * config.batch_size * sum(model.sites.values())
    return work >= AUTO_COMPILE_WORK


def _subnormals_flush() -> bool:
    """Whether the CPU flushes subnormal floats to zero now (torch has no getter for it): a
    subnormal float32 reads as 0 while it does."""
    return torch.tensor(1e-40).item() == 0.0


@contextlib.contextmanager
def _flushing_subnormals():
    """Subnormal floats flush to zero on the CPU inside the block; the setting is restored after.
    Under the L1 penalty the weights of dying neurons pass through subnormal values, which the
    CPU computes far more slowly: the x² sweep's group (24 members of width 100, 20 000 steps)
    trained in 24 s flushed and in 67 s not, to the same losses (6 digits)."""
    was = _subnormals_flush()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was)


def train(model: nn.Module, task: Task, config: TrainConfig = TrainConfig(),
          checkpoint: str | Path | None = None) -> TrainResult:
    """Train ``model`` (an MLP, an Ensemble, a ParityTransformer or any ``nn.Module``
    mapping ``[batch, d_in]`` to ``[batch, d_out]``) on ``task`` in place.

    The step is compiled or eager as ``config.compile`` says (see ``use_compiled``); the
    result says which, and how long the compiled step's warm-up took. The objective is
    checked for NaN/inf every ``config.check_every`` steps (and before every history point
    and save), so the host does not wait on the device every step. An ensemble member whose
    objective became NaN/inf is rolled back to its state at the last check and frozen, and
    listed in ``result.failed`` with the step it diverged at; the others train on. A single
    model that diverges raises ``TrainingDiverged`` (its ``.result`` holds the history so
    far, and the model is rolled back likewise). With ``checkpoint``, the run is saved there
    every ``config.checkpoint_every`` steps and at the end, and a call on a folder holding
    an unfinished run of the same configuration resumes it, bit for bit.
    """
    from .checkpoint import load_train_state, save_train_state  # checkpoint imports train's types
    from .steps import CompiledStep, EagerStep

    check(isinstance(model, nn.Module) and any(True for _ in model.parameters()), "model", type(model).__name__,
          "a torch.nn.Module with parameters (an MLP, Ensemble, ParityTransformer, ...)")
    check(isinstance(task, Task), "task", task, "a models.tasks.Task")
    check(isinstance(config, TrainConfig), "config", type(config).__name__, "a models.TrainConfig")
    check(checkpoint is None or isinstance(checkpoint, (str, Path)), "checkpoint", checkpoint,
          "None or a folder (a str or pathlib.Path)")
    if checkpoint is not None:
        check_folder("checkpoint", checkpoint)
    members = n_members(model)
    stacked = members is not None
    config.alphas(members)  # validates the length of alpha
    check_train_memory(model, task, config)
    check_fits(model, task)
    compiled = use_compiled(model, config)
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    else:
        opt = torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    device = next(model.parameters()).device
    data = _Data(task, config, _model_seeds(model), device)
    eval_batch = _to(task.eval_batch(config.eval_size, _generator(config.seed, 2**31 - 1)), device)
    eval_at = set(config.eval_steps())
    history: dict[str, list] = {}
    failed: dict[int, str] = {}
    frozen: dict[int, list[torch.Tensor]] = {}
    start = 0
    state = None if checkpoint is None else load_train_state(checkpoint, model, task, config, opt, data.generators)
    if state is not None:
        start, history, failed = state
        frozen = {i: [p.detach()[i].clone() for p in params] for i in failed}
    if stacked:  # what analyses and checkpoints read: the members that failed
        model.failed = dict(failed)
    if compiled:
        step_fn = CompiledStep(model, task, config, opt, fallback=config.compile == "auto")
    else:
        step_fn = EagerStep(model, task, config, opt)
    n_obj = members or 1
    # the objective of each step since the last check, in the parameters' precision
    window = torch.zeros(config.check_every, n_obj, device=device, dtype=params[0].dtype)
    last = {"step": start}  # the last check: its step, and the parameters (and more) it found finite

    def snapshot(step: int) -> None:
        last["step"] = step
        last["params"] = [p.detach().clone() for p in params]
        if not stacked:  # a single model that diverges is saved as it was here
            last["opt"] = copy.deepcopy(opt.state_dict())
            last["generators"] = data.generator_states(step)

    def record(step: int) -> None:
        with torch.no_grad():
            pred = torch.cat([predict(model, eval_batch.x, sl) for sl in member_chunks(model, config.eval_size)])
            values = {"task_loss": task.loss(pred, eval_batch), **task.metrics(pred, eval_batch)}
        history.setdefault("step", []).append(step)
        for k, v in values.items():
            history.setdefault(k, []).append(v.double().cpu().numpy().tolist())

    seconds = {"train": 0.0}

    def result() -> TrainResult:
        warmup = getattr(step_fn, "warmup_s", None) or 0.0
        return TrainResult(model, {k: np.asarray(v) for k, v in history.items()}, config, dict(failed),
                           compiled=getattr(step_fn, "compiled", False), warmup_s=warmup,
                           train_s=seconds["train"])

    def save(step: int, generators=None) -> None:
        if checkpoint is not None:
            save_train_state(checkpoint, model, task, config, opt, generators or data.generators_at(step), step,
                             history, failed)

    def restore_frozen() -> None:
        with torch.no_grad():
            for i, saved in frozen.items():
                for p, s in zip(params, saved):
                    p[i] = s

    def check_window(done: int) -> None:
        """Look at the objectives since the last check; roll back and freeze what diverged."""
        n = done - last["step"]
        if n > 0:
            bad = ~torch.isfinite(window[:n])
            if bool(bad.any()):
                bad = bad.cpu()
                values = window[:n].cpu()
                for i in range(n_obj):
                    if i in failed or not bool(bad[:, i].any()):
                        continue
                    row = int(bad[:, i].nonzero()[0])
                    at, value = last["step"] + row, values[row, i].item()
                    if not stacked:
                        with torch.no_grad():
                            for p, s in zip(params, last["params"]):
                                p.copy_(s)
                        opt.load_state_dict(last["opt"])
                        gens = [torch.Generator() for _ in last["generators"]]
                        for g, s in zip(gens, last["generators"]):
                            g.set_state(s)
                        save(last["step"], gens)
                        raise TrainingDiverged(f"training diverged at step {at}: objective={value}; try a smaller "
                                               f"lr (lr={config.lr}) or alpha (alpha={config.alpha})", result())
                    failed[i] = f"objective became {value} at step {at}"
                    frozen[i] = [s[i].clone() for s in last["params"]]
                    model.failed = dict(failed)
                restore_frozen()
        snapshot(done)

    if start == 0 and not history:
        record(0)
    snapshot(start)
    bar = None
    if config.progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=config.steps, initial=start, desc="train", leave=False)
    with _flushing_subnormals():
        model.train()
        lr = None
        began = time.perf_counter()
        for step in range(start, config.steps):
            if config.lr_at(step) != lr:
                lr = config.lr_at(step)
                for group in opt.param_groups:
                    group["lr"] = lr
                if hasattr(step_fn, "set_lr"):
                    step_fn.set_lr(lr)
            obj = step_fn(data.batch(step))
            window[step - last["step"]] = obj
            if frozen:
                restore_frozen()
            done = step + 1
            to_save = config.checkpoint_every and done % config.checkpoint_every == 0 and done < config.steps
            if done % config.check_every == 0 or done in eval_at or to_save or done == config.steps:
                check_window(done)
            if done in eval_at:
                record(done)
                if bar is not None:
                    bar.set_postfix(task_loss=f"{np.mean(history['task_loss'][-1]):.3g}")
            if to_save:
                save(done)
            if bar is not None:
                bar.update(1)
        seconds["train"] = time.perf_counter() - began
    if bar is not None:
        bar.close()
    model.eval()
    save(config.steps)
    return result()
