"""Helpers shared by the neuron analyses: evaluation inputs, task/model checks, per-subtask
sample counts, input groups and the weight matrices of zoo MLPs."""
from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from models.tasks import Batch, Parallel, SparseParity, Task
from models.validate import check
from probes import batches, model_device, n_members, to_device


def check_task(model: nn.Module, task: Task, outputs: bool = True) -> None:
    """Raise ``ValueError`` unless ``model`` takes the task's inputs (and, with ``outputs``,
    gives ``d_out`` outputs)."""
    check(isinstance(task, Task), "task", task, "a models.tasks.Task")
    d_in = getattr(getattr(model, "config", None), "d_in", None)
    if isinstance(d_in, int):
        check(d_in == task.d_in, "task", task,
              f"a task whose input size matches the model's d_in={d_in} (this task's d_in is {task.d_in})")
    batch = task.sample(2, torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            out = model(batch.x.to(model_device(model)))
    except (RuntimeError, ValueError, IndexError, TypeError) as e:
        raise ValueError(f"task={task!r} is not allowed: expected a task whose inputs the model takes; the "
                         f"task's inputs are {tuple(batch.x.shape)} (d_in={task.d_in}) and the model fails on "
                         f"them ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    out = out.logits if hasattr(out, "logits") else out
    if outputs:
        check(out.shape[-1] == task.d_out, "task", task,
              f"a task with d_out={out.shape[-1]} to match the model's output (this task's d_out is {task.d_out})")


def eval_pieces(model: nn.Module, task: Task | None, inputs: Any, n_samples: int, seed: int,
                batch_size: int) -> list[Batch]:
    """The evaluation set as a list of ``Batch`` pieces (re-iterable, for multi-pass analyses).

    ``inputs`` None draws ``task.eval_batch(n_samples, Generator(seed))``; a ``Batch`` or a
    sequence of them is used as given (cut into ``batch_size`` pieces); a tensor is taken as
    the inputs ``x`` (targets then come from nowhere, so only input-only analyses accept it).
    """
    check(isinstance(n_samples, int) and n_samples >= 1, "n_samples", n_samples, "an integer ≥ 1")
    if inputs is None:
        check(task is not None, "inputs", None, "inputs, or a task to draw them from")
        inputs = task.eval_batch(n_samples, torch.Generator().manual_seed(seed))
    if isinstance(inputs, torch.Tensor):
        inputs = Batch(inputs, torch.zeros(inputs.shape[0]), torch.full((inputs.shape[0],), -1, dtype=torch.long))
    members = n_members(model)
    pieces = []
    for piece in batches(inputs, batch_size, members):
        check(isinstance(piece, Batch), "inputs", type(piece).__name__,
              "models.tasks.Batch pieces (x, y, subtask), or None to draw them from the task")
        if members is not None:
            check(piece.x.dim() == 2, "inputs", f"x of shape {tuple(piece.x.shape)}",
                  "inputs [batch, d_in] shared by every ensemble member")
        pieces.append(to_device(piece, model_device(model)))
    return pieces


def subtask_counts(batch: Batch, n_subtasks: int) -> torch.Tensor:
    """How many samples of ``batch`` serve each subtask, ``[K]`` float64 (id -1 serves all)."""
    s = batch.subtask.reshape(-1).cpu()
    every = (s < 0).sum()
    own = torch.bincount(s[s >= 0], minlength=n_subtasks)[:n_subtasks] if (s >= 0).any() else torch.zeros(n_subtasks)
    return (own + every).to(torch.float64)


def per_sample_subtasks(batch: Batch) -> bool:
    """True when every sample belongs to one subtask (so a sample's activations only reach
    that subtask's loss)."""
    return bool((batch.subtask >= 0).all())


def input_groups(task: Task) -> tuple[tuple[int, ...], ...] | None:
    """Which inputs each subtask reads: ``task.input_groups`` when defined; every input for a
    task with one subtask; the parallel task's x_k for subtask k; a parity skill's control
    bit and its data bits. None when unknown."""
    groups = getattr(task, "input_groups", None)
    if groups is not None:
        return tuple(tuple(int(i) for i in g) for g in groups)
    if len(task.subtasks) == 1 and isinstance(getattr(task, "d_in", None), int):
        return (tuple(range(task.d_in)),)
    if isinstance(task, Parallel):
        return ((0,), (1,))
    if isinstance(task, SparseParity):
        bits = task.skill_bits
        return tuple((k, *(task.n_skills + int(b) for b in bits[k])) for k in range(task.n_skills))
    return None


def mlp_weights(model: nn.Module) -> list[torch.Tensor] | None:
    """The weight matrices of a zoo MLP as ``[(M,) fan_in, fan_out]`` (None for other models)."""
    if n_members(model) is not None and hasattr(model, "weight") and hasattr(model, "hidden"):
        return [w.detach().cpu() for w in model.weight]
    layers = getattr(model, "layers", None)
    if isinstance(layers, nn.ModuleList) and layers and all(isinstance(l, nn.Linear) for l in layers) \
            and hasattr(model, "hidden"):
        return [l.weight.detach().cpu().T for l in layers]
    return None


def as_input(model: nn.Module, task: Task | None, inputs: Any, n_samples: int, seed: int) -> Any:
    """Inputs for input-only measurements: a Task becomes ``task.eval_batch(n_samples, seed).x``."""
    if isinstance(inputs, Task):
        check_task(model, inputs, outputs=False)
        return inputs.eval_batch(n_samples, torch.Generator().manual_seed(seed)).x
    if inputs is None:
        check(task is not None, "inputs", None, "inputs (a tensor, Batch or Task)")
        return task.eval_batch(n_samples, torch.Generator().manual_seed(seed)).x
    return inputs


def pick(seq: Sequence, names: Sequence[str]) -> list:
    return [s for s in seq if s in names]
