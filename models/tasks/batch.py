"""A task's batch, ``Batch(x, y, subtask)``, and the checks every batch a task draws goes through:
the contract's shapes (``check_sample``), the size of a draw (``check_sample_count``), and which
subtasks each sample serves (``membership``)."""
from __future__ import annotations

from typing import NamedTuple

import torch

from ..validate import check, check_memory, check_positive


class Batch(NamedTuple):
    """One batch: inputs ``x [n, d_in]``, targets ``y [n, d_out]`` (class labels ``[n]`` for
    cross-entropy) and the subtask of each sample ``subtask [n]``, an integer tensor holding
    a subtask index in ``[0, K)``, or -1 where the sample serves every subtask (as in the
    parallel task)."""

    x: torch.Tensor
    y: torch.Tensor
    subtask: torch.Tensor


def check_sample(task, batch, n: int, source: str = "sample", where: str | None = None) -> Batch:
    """Refuse a batch that breaks the ``Task`` contract, naming the field and what it must be:
    a ``Batch`` whose ``x`` is a tensor ``[n, d_in]``, ``y`` a tensor of ``n`` rows, and
    ``subtask`` an integer tensor ``[n]`` of subtask indices (or -1). Returns the batch. The
    message names ``Task.source(...)``, or ``where`` when given (e.g. ``"inputs"``).

    >>> from models.tasks import Square
    >>> check_sample(Square(), Batch(torch.zeros(3, 1), torch.zeros(3, 1), None), 3)
    Traceback (most recent call last):
    ...
    ValueError: Square.sample(...).subtask=None is not allowed: expected an integer tensor [3] of subtask indices in [0, 1), or -1 where a sample serves every subtask
    """
    where = where or f"{type(task).__name__}.{source}(...)"
    check(isinstance(batch, Batch), where, type(batch).__name__, "a models.tasks.Batch(x, y, subtask)")
    K = len(task.subtasks)
    x, y, sub = batch
    d_in = task.d_in

    def shape(t):
        return f"{t.dtype} tensor of shape {tuple(t.shape)}" if isinstance(t, torch.Tensor) else t

    check(isinstance(x, torch.Tensor) and x.dim() == 2 and x.shape[0] == n and x.shape[1] == d_in, f"{where}.x",
          shape(x), f"a tensor [{n}, {d_in}] ([n, d_in])")
    check(isinstance(y, torch.Tensor) and y.dim() >= 1 and y.shape[0] == n, f"{where}.y", shape(y),
          f"a tensor of {n} rows ([n, d_out], or [n] class labels)")
    rule = f"an integer tensor [{n}] of subtask indices in [0, {K}), or -1 where a sample serves every subtask"
    ok = isinstance(sub, torch.Tensor) and tuple(sub.shape) == (n,) and not sub.is_floating_point() \
        and not sub.is_complex() and sub.dtype != torch.bool
    check(ok, f"{where}.subtask", shape(sub), rule)
    if n:
        lo, hi = int(sub.min()), int(sub.max())
        check(lo >= -1 and hi < K, f"{where}.subtask", f"values in [{lo}, {hi}]", rule)
    return batch


def membership(subtask: torch.Tensor, n_subtasks: int, dtype=torch.float32) -> torch.Tensor:
    """``[n, K]``: 1 where a sample serves a subtask (its own, or every one for id -1), else 0.

    >>> membership(torch.tensor([0, -1]), 2)
    tensor([[1., 0.],
            [1., 1.]])
    """
    own = torch.nn.functional.one_hot(subtask.clamp_min(0), n_subtasks).to(dtype)
    return torch.where((subtask < 0).unsqueeze(-1), torch.ones_like(own), own)


def check_sample_count(task, n) -> None:
    """``n`` samples for ``task`` to draw: an integer ≥ 1 whose batch fits in memory."""
    check_positive("n", n, integer=True)
    check_memory("n", n, 4 * n * (task.d_in + task.d_out + 2), f"{n:.3g} samples of {task.d_in} inputs")
