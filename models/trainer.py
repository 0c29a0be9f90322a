"""One trainer for the whole zoo: ``train`` minimises the objective α·task_loss + λ1·Σ|w| +
λ2·Σw² over weights (``models.objective``) with the eager or compiled step (``models.steps``).

``train`` takes a single model or an ``Ensemble`` (its members' objectives are summed, so
Adam and SGD keep them independent), fresh batches or a fixed data set of size D, and
records a history of per-subtask losses (and skill strengths for parity tasks) at
log-spaced steps. With ``checkpoint=FOLDER`` it saves every ``checkpoint_every`` steps and
resumes from the folder's last save (``models.checkpoint``). Each member's data stream is
drawn a block of steps at a time (``_Data``), the objective is looked at for NaN/inf every
``check_every`` steps, and long runs of MLPs compile their step (``compile="auto"``; see
``use_compiled``). ``Trainer`` is one run: its setup, and the loop with its checks and saves.

>>> import models
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(16,), d_out=1))
>>> res = models.train(net, models.tasks.Square(), models.TrainConfig(alpha=8, steps=50, eval_points=8, progress=False))
>>> res.history["loss"].shape          # [n_points, n_subtasks]: step 0 and 8 log-spaced steps
(9, 1)
"""
from __future__ import annotations

import contextlib
import copy
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .checkpoint import load_train_state, save_train_state
from .config import TrainConfig, TrainingDiverged, TrainResult
from .mlp import n_members
from .objective import member_chunks, predict
from .steps import CompiledStep, EagerStep, compilable
from .tasks import Batch, Task, check_sample
from .validate import check, check_folder, check_memory


AUTO_COMPILE_WORK = 2e9
"""``compile="auto"`` compiles a run when steps × members × batch × hidden neurons reaches this:
about 10 s of eager work on 2 cores, enough to repay the compiler's warm-up (0.3-5 s with a warm
compiler cache; 4.5-5.5 s in an empty one, see ``models.steps.start_compiler_checks``). For 3 000 steps
of 12 members of width (20, 20) on 2 threads: eager 2.8-3.5 s, compiled 1.2-1.8 s after the
warm-up. For 3 000 steps of 21 members of width 100 on one thread in an empty cache: the eager
hand-written loop 32-42 s, the trainer compiled 10-12 s with its warm-up
(``benchmarks/train_throughput.py --short``)."""


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


class Trainer:
    """One run of ``train``: the model, its optimizer, data streams and step, and what the loop
    carries from check to check (the last check's step and the parameters it found finite,
    the failed members and their frozen weights, the history). ``run()`` trains and returns
    the ``TrainResult``. The arguments are ``train``'s, already checked."""

    def __init__(self, model: nn.Module, task: Task, config: TrainConfig, checkpoint: str | Path | None = None):
        self.model, self.task, self.config, self.checkpoint = model, task, config, checkpoint
        members = n_members(model)
        self.stacked = members is not None
        config.alphas(members)  # validates the length of alpha
        check_train_memory(model, task, config)
        check_fits(model, task)
        compiled = use_compiled(model, config)
        self.params = [p for p in model.parameters() if p.requires_grad]
        if config.optimizer == "adam":
            self.opt = torch.optim.Adam(self.params, lr=config.lr, weight_decay=config.weight_decay)
        else:
            self.opt = torch.optim.SGD(self.params, lr=config.lr, momentum=config.momentum,
                                       weight_decay=config.weight_decay)
        device = next(model.parameters()).device
        self.data = _Data(task, config, _model_seeds(model), device)
        self.eval_batch = _to(task.eval_batch(config.eval_size, _generator(config.seed, 2**31 - 1)), device)
        self.eval_at = set(config.eval_steps())
        self.history: dict[str, list] = {}
        self.failed: dict[int, str] = {}  # ensemble member -> what went wrong
        self.frozen: dict[int, list[torch.Tensor]] = {}  # a failed member's parameters, held fixed
        self.start = 0
        state = None if checkpoint is None else load_train_state(checkpoint, model, task, config, self.opt,
                                                                  self.data.generators)
        if state is not None:
            self.start, self.history, self.failed = state
            self.frozen = {i: [p.detach()[i].clone() for p in self.params] for i in self.failed}
        if self.stacked:  # what analyses and checkpoints read: the members that failed
            model.failed = dict(self.failed)
        if compiled:
            self.step_fn = CompiledStep(model, task, config, self.opt, fallback=config.compile == "auto")
        else:
            self.step_fn = EagerStep(model, task, config, self.opt)
        self.n_obj = members or 1
        # the objective of each step since the last check, in the parameters' precision
        self.window = torch.zeros(config.check_every, self.n_obj, device=device, dtype=self.params[0].dtype)
        # the last check: its step, and the parameters (and, for a single model, more) it found finite
        self.last_step = self.start
        self.last_params: list[torch.Tensor] = []
        self.last_opt: dict | None = None
        self.last_generators: list[torch.Tensor] | None = None
        self.train_s = 0.0

    def snapshot(self, step: int) -> None:
        """Keep the state at ``step`` as the last one found finite."""
        self.last_step = step
        self.last_params = [p.detach().clone() for p in self.params]
        if not self.stacked:  # a single model that diverges is saved as it was here
            self.last_opt = copy.deepcopy(self.opt.state_dict())
            self.last_generators = self.data.generator_states(step)

    def record(self, step: int) -> None:
        """Add ``step``'s point to the history: the task loss and metrics on the held-out set."""
        with torch.no_grad():
            pred = torch.cat([predict(self.model, self.eval_batch.x, sl)
                              for sl in member_chunks(self.model, self.config.eval_size)])
            values = {"task_loss": self.task.loss(pred, self.eval_batch), **self.task.metrics(pred, self.eval_batch)}
        self.history.setdefault("step", []).append(step)
        for k, v in values.items():
            self.history.setdefault(k, []).append(v.double().cpu().numpy().tolist())

    def result(self) -> TrainResult:
        warmup = getattr(self.step_fn, "warmup_s", None) or 0.0
        return TrainResult(self.model, {k: np.asarray(v) for k, v in self.history.items()}, self.config,
                           dict(self.failed), compiled=getattr(self.step_fn, "compiled", False), warmup_s=warmup,
                           train_s=self.train_s)

    def save(self, step: int, generators=None) -> None:
        """Save the run at ``step`` into the checkpoint folder (when there is one)."""
        if self.checkpoint is not None:
            save_train_state(self.checkpoint, self.model, self.task, self.config, self.opt,
                             generators or self.data.generators_at(step), step, self.history, self.failed)

    def restore_frozen(self) -> None:
        """Put the failed members' frozen parameters back."""
        with torch.no_grad():
            for i, saved in self.frozen.items():
                for p, s in zip(self.params, saved):
                    p[i] = s

    def check_window(self, done: int) -> None:
        """Look at the objectives since the last check; roll back and freeze what diverged."""
        n = done - self.last_step
        if n > 0:
            bad = ~torch.isfinite(self.window[:n])
            if bool(bad.any()):
                bad = bad.cpu()
                values = self.window[:n].cpu()
                for i in range(self.n_obj):
                    if i in self.failed or not bool(bad[:, i].any()):
                        continue
                    row = int(bad[:, i].nonzero()[0])
                    at, value = self.last_step + row, values[row, i].item()
                    if not self.stacked:
                        self.diverged(at, value)
                    self.failed[i] = f"objective became {value} at step {at}"
                    self.frozen[i] = [s[i].clone() for s in self.last_params]
                    self.model.failed = dict(self.failed)
                self.restore_frozen()
        self.snapshot(done)

    def diverged(self, at: int, value: float) -> None:
        """A single model diverged at step ``at``: roll it back to the last check, save it as it
        was there, and raise ``TrainingDiverged``."""
        with torch.no_grad():
            for p, s in zip(self.params, self.last_params):
                p.copy_(s)
        self.opt.load_state_dict(self.last_opt)
        gens = [torch.Generator() for _ in self.last_generators]
        for g, s in zip(gens, self.last_generators):
            g.set_state(s)
        self.save(self.last_step, gens)
        raise TrainingDiverged(f"training diverged at step {at}: objective={value}; try a smaller "
                               f"lr (lr={self.config.lr}) or alpha (alpha={self.config.alpha})", self.result())

    def run(self) -> TrainResult:
        """Train from the start (or the resumed step) to ``config.steps``; save at the end."""
        config, step_fn, data = self.config, self.step_fn, self.data
        if self.start == 0 and not self.history:
            self.record(0)
        self.snapshot(self.start)
        bar = None
        if config.progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=config.steps, initial=self.start, desc="train", leave=False)
        with _flushing_subnormals():
            self.model.train()
            lr = None
            began = time.perf_counter()
            for step in range(self.start, config.steps):
                if config.lr_at(step) != lr:
                    lr = config.lr_at(step)
                    for group in self.opt.param_groups:
                        group["lr"] = lr
                    if hasattr(step_fn, "set_lr"):
                        step_fn.set_lr(lr)
                obj = step_fn(data.batch(step))
                self.window[step - self.last_step] = obj
                if self.frozen:
                    self.restore_frozen()
                done = step + 1
                to_save = config.checkpoint_every and done % config.checkpoint_every == 0 and done < config.steps
                if done % config.check_every == 0 or done in self.eval_at or to_save or done == config.steps:
                    self.check_window(done)
                if done in self.eval_at:
                    self.record(done)
                    if bar is not None:
                        bar.set_postfix(task_loss=f"{np.mean(self.history['task_loss'][-1]):.3g}")
                if to_save:
                    self.save(done)
                if bar is not None:
                    bar.update(1)
            self.train_s = time.perf_counter() - began
        if bar is not None:
            bar.close()
        self.model.eval()
        self.save(config.steps)
        return self.result()


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
    check(isinstance(model, nn.Module) and any(True for _ in model.parameters()), "model", type(model).__name__,
          "a torch.nn.Module with parameters (an MLP, Ensemble, ParityTransformer, ...)")
    check(isinstance(task, Task), "task", task, "a models.tasks.Task")
    check(isinstance(config, TrainConfig), "config", type(config).__name__, "a models.TrainConfig")
    check(checkpoint is None or isinstance(checkpoint, (str, Path)), "checkpoint", checkpoint,
          "None or a folder (a str or pathlib.Path)")
    if checkpoint is not None:
        check_folder("checkpoint", checkpoint)
    return Trainer(model, task, config, checkpoint).run()
