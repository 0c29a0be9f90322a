"""Tasks: data distributions with named subtasks.

A task samples batches ``Batch(x, y, subtask)`` from an explicit ``torch.Generator``,
computes a loss per subtask, and knows each subtask's weight (β, or a skill frequency P_k).
Every loss method accepts leading model axes: ``pred`` of shape ``[..., batch, d_out]``.
A task of one's own is a ``Task`` subclass registered with ``register_task`` (see ``Task``);
labelled data of one's own is a ``models.DataTask``.

The package: ``batch`` (the batch and its checks), ``contract`` (``Task``, ``HeldDataTask``),
``registry`` (task types by name), and one module per family of the toolkit's own tasks:
``regression`` (SPEC A's toy regressions) and ``parity`` (SPEC B's sparse parity).

>>> import torch
>>> task = Parallel(beta=0.75)
>>> batch = task.sample(4, torch.Generator().manual_seed(0))
>>> batch.x.shape, batch.y.shape
(torch.Size([4, 2]), torch.Size([4, 2]))
>>> task.subtasks, task.weights.tolist()
(('x1^2', 'x2^2'), [0.75, 0.25])
"""
from .batch import Batch, check_sample, check_sample_count, membership
from .contract import BalancedEval, HeldDataTask, PooledLosses, Task, check_subtask_weights, digest
from .parity import SparseParity
from .registry import (BUILT_IN, OWN_TASK_MODULES, TASKS, register_built_in, register_task, registered_name,
                       task_types)
from .regression import FUNCTIONS, Function, Parallel, Series, Square, UniformRegression

__all__ = ["Batch", "Task", "HeldDataTask", "BalancedEval", "PooledLosses", "register_task", "task_types",
           "registered_name", "TASKS", "BUILT_IN", "OWN_TASK_MODULES", "register_built_in", "check_sample", "check_sample_count", "check_subtask_weights",
           "digest", "membership", "UniformRegression", "Square", "Parallel", "Series", "Function", "FUNCTIONS",
           "SparseParity"]
