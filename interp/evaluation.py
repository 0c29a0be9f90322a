"""What every neuron analysis does before it measures: check the model against the task, draw
the evaluation set (streamed in pieces whose memory is checked first), and read which inputs
and samples belong to which subtask."""
from __future__ import annotations

import math
from typing import Any, Iterator

import torch
from torch import nn

from models.tasks import Batch, Task, check_sample
from models.validate import MAX_SAMPLES, check, check_memory, gib, is_int
from probes import batches, check_finite, model_device, n_members, to_device


def check_n_samples(n_samples, task: Task | None = None) -> None:
    """``n_samples`` to draw from a task: an integer in [1, MAX_SAMPLES] (the message says what
    a larger set would take to draw)."""
    check(is_int(n_samples) and n_samples >= 1, "n_samples", n_samples, "an integer ≥ 1")
    if n_samples > MAX_SAMPLES:
        row = 4 * (task.d_in + task.d_out) + 8 if task is not None else 4
        check(False, "n_samples", n_samples, f"at most {MAX_SAMPLES:.3g} samples; drawing and running "
              f"{n_samples:.3g} samples means {gib(n_samples * row)} of inputs through the model")


def check_piece_memory(model: nn.Module, batch_size: int, n: int | None, row_bytes: int = 0) -> None:
    """Refuse a ``batch_size`` whose pieces (``min(batch_size, n)`` samples) would make more than
    ``MAX_BYTES`` of activations at the model's sites (zoo models, whose sites have known widths)."""
    check(is_int(batch_size) and batch_size >= 1, "batch_size", batch_size, "an integer ≥ 1")
    piece = batch_size if n is None else min(batch_size, n)
    sites = getattr(model, "sites", None)
    width = max(sites.values(), default=0) if isinstance(sites, dict) else 0
    ctx = getattr(getattr(model, "config", None), "n_ctx", 1)
    per = (n_members(model) or 1) * width * (ctx if isinstance(ctx, int) else 1)
    # float32 activations, and the float64 copies the streaming statistics make of them
    check_memory("batch_size", batch_size, piece * (row_bytes + 20 * per),
                 f"pieces of {piece:.3g} samples, {per:.3g} activations each at the widest site")


def failed_members(model: nn.Module) -> dict[int, str]:
    """Ensemble members that failed in training (``model.failed``, set by ``models.train``)."""
    failed = getattr(model, "failed", None) or {}
    members = n_members(model)
    if members is None or not isinstance(failed, dict):
        return {}
    return {int(k): str(v) for k, v in failed.items() if is_int(k) and 0 <= k < members}


class EvalPieces:
    """An evaluation set drawn from a task piece by piece, again on every pass (a pass draws
    from ``Generator(seed)``), so memory does not grow with ``n_samples``; ``len`` is the
    number of pieces and ``pieces[0]`` the first. Each piece is checked for NaN/inf."""

    def __init__(self, task: Task, n_samples: int, seed: int, batch_size: int, device: torch.device):
        self.task, self.n, self.seed, self.batch_size, self.device = task, n_samples, seed, batch_size, device
        self._count = task.eval_count(n_samples) if _counts_itself(task) else None

    def __iter__(self) -> Iterator[Batch]:
        g = torch.Generator().manual_seed(self.seed)
        start = 0
        for piece in self.task.eval_pieces(self.n, self.batch_size, g):
            check_batch(piece, start)
            start += piece.x.shape[0]
            yield to_device(piece, self.device)

    def __len__(self) -> int:
        if self._count is None:
            self._count = sum(p.x.shape[0] for p in self)
        return math.ceil(self._count / self.batch_size)

    def __getitem__(self, i: int) -> Batch:
        check(i == 0, "piece", i, "0 (the pieces are drawn in order)")
        return next(iter(self))


def _counts_itself(task: Task) -> bool:
    """Whether ``task.eval_count`` is right: a task that overrides ``eval_batch`` overrides it too."""
    cls = type(task)
    return cls.eval_batch is Task.eval_batch or cls.eval_count is not Task.eval_count


def check_batch(batch: Batch, start: int = 0) -> None:
    """Refuse a piece whose inputs or targets hold NaN/inf, naming which and where."""
    n = batch.x.shape[0]
    where = f" (samples {start} to {start + n - 1})"
    check_finite("inputs", batch.x, where)
    check_finite("targets", batch.y, where)


def check_task(model: nn.Module, task: Task, outputs: bool = True) -> None:
    """Raise ``ValueError`` unless ``model`` takes the task's inputs (and, with ``outputs``,
    gives ``d_out`` outputs)."""
    check(isinstance(task, Task), "task", task, "a models.tasks.Task")
    d_in = getattr(getattr(model, "config", None), "d_in", None)
    if isinstance(d_in, int):
        check(d_in == task.d_in, "task", task,
              f"a task whose input size matches the model's d_in={d_in} (this task's d_in is {task.d_in})")
    batch = check_sample(task, task.sample(2, torch.Generator().manual_seed(0)), 2)
    try:
        with torch.no_grad():
            out = model(batch.x.to(model_device(model)))
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        raise ValueError(f"task={task!r} is not allowed: expected a task whose inputs the model takes; the "
                         f"task's inputs are {tuple(batch.x.shape)} (d_in={task.d_in}) and the model fails on "
                         f"them ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    out = out.logits if hasattr(out, "logits") else out
    if outputs and out.shape[-1] != task.d_out:
        hint = ""
        if getattr(task, "d_vocab", 0) is None:
            hint = (f"; a TokenTask without d_vocab guesses it from the largest token id: build it with "
                    f"d_vocab={out.shape[-1]}, or with TokenTask.from_texts(..., model=model)")
        check(False, "task", task, f"a task with d_out={out.shape[-1]} to match the model's output (this task's "
                                   f"d_out is {task.d_out}){hint}")


def eval_pieces(model: nn.Module, task: Task | None, inputs: Any, n_samples: int, seed: int,
                batch_size: int) -> list[Batch] | EvalPieces:
    """The evaluation set as re-iterable ``Batch`` pieces (for multi-pass analyses), each
    checked for NaN/inf.

    ``inputs`` None draws ``task.eval_batch(n_samples, Generator(seed))`` piece by piece on
    every pass (``EvalPieces``: memory flat in ``n_samples``); a ``Batch`` or a
    sequence of them is used as given (cut into ``batch_size`` pieces); a tensor is taken as
    the inputs ``x`` (targets then come from nowhere, so only input-only analyses accept it).
    """
    check_n_samples(n_samples, task)
    if inputs is None:
        check(task is not None, "inputs", None, "inputs, or a task to draw them from")
        return EvalPieces(task, n_samples, seed, batch_size, model_device(model))
    if isinstance(inputs, torch.Tensor):
        inputs = Batch(inputs, torch.zeros(inputs.shape[0]), torch.full((inputs.shape[0],), -1, dtype=torch.long))
    members = n_members(model)
    pieces, start = [], 0
    for piece in batches(inputs, batch_size, members):
        check(isinstance(piece, Batch), "inputs", type(piece).__name__,
              "models.tasks.Batch pieces (x, y, subtask), or None to draw them from the task")
        if members is not None:
            check(piece.x.dim() == 2, "inputs", f"x of shape {tuple(piece.x.shape)}",
                  "inputs [batch, d_in] shared by every ensemble member")
        if task is not None and isinstance(piece.x, torch.Tensor) and piece.x.dim() >= 1:
            check_sample(task, piece, piece.x.shape[0], where="inputs")
        check_batch(piece, start)
        start += piece.x.shape[0]
        pieces.append(to_device(piece, model_device(model)))
    return pieces


def per_sample_subtasks(batch: Batch) -> bool:
    """True when every sample belongs to one subtask (so a sample's activations only reach
    that subtask's loss)."""
    return bool((batch.subtask >= 0).all())


def input_groups(task: Task) -> tuple[tuple[int, ...], ...] | None:
    """``task.input_groups`` as tuples of ints (None when the task does not know them)."""
    groups = getattr(task, "input_groups", None)
    return None if groups is None else tuple(tuple(int(i) for i in g) for g in groups)


def as_input(model: nn.Module, task: Task | None, inputs: Any, n_samples: int, seed: int,
             stream: int | None = None) -> Any:
    """Inputs for input-only measurements: a Task gives the inputs ``x`` of
    ``task.eval_batch(n_samples, seed)``; with ``stream`` (a batch size) drawn piece by piece,
    once (a generator), so memory does not grow with ``n_samples``, and sizes too large for
    memory are refused."""
    if isinstance(inputs, Task) or inputs is None:
        check(inputs is not None or task is not None, "inputs", None, "inputs (a tensor, Batch or Task)")
        source = inputs if inputs is not None else task
        check_n_samples(n_samples, source)
        if stream is not None:
            check_piece_memory(model, stream, source.eval_count(n_samples), 4 * source.d_in)
        if inputs is not None:
            check_task(model, source, outputs=False)
        g = torch.Generator().manual_seed(seed)
        if stream is None:
            return source.eval_batch(n_samples, g).x
        return (b.x for b in source.eval_pieces(n_samples, stream, g))
    if stream is not None and isinstance(inputs, (torch.Tensor, Batch)):
        x = inputs.x if isinstance(inputs, Batch) else inputs
        m = n_members(model)
        n = x.shape[1] if m is not None and x.dim() == 3 and x.shape[0] == m else (x.shape[0] if x.dim() else None)
        check_piece_memory(model, stream, n)
    return inputs
