"""The training objective α·task_loss + λ1·Σ|w| + λ2·Σw² over weights, and the pieces of it
that the eager and the compiled training steps (``models.steps``) and the trainer share.

>>> import models
>>> net = models.Ensemble(models.MLPConfig(d_in=1, widths=(4,), d_out=1), seeds=(0, 1))
>>> [t.shape for t in penalties(net)]                 # (Σ|w|, Σw²) per member
[torch.Size([2]), torch.Size([2])]
"""
from __future__ import annotations

import torch
from torch import nn

from .config import TrainConfig
from .mlp import n_members
from .tasks import Batch, Task


def weights_of(model: nn.Module) -> list[torch.Tensor]:
    """The tensors L1/L2 act on: ``model.weights()`` where defined, else every parameter
    with two or more dimensions (biases and gains are left out)."""
    if hasattr(model, "weights"):
        return list(model.weights())
    return [p for p in model.parameters() if p.dim() >= 2]


def penalty_sums(weights: list[torch.Tensor], stacked: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ|w|, Σw²) over ``weights``: per member ``[M]`` when ``stacked``, else ``[1]``."""
    l1 = l2 = 0
    for w in weights:
        flat = w.flatten(1) if stacked else w.reshape(1, -1)
        l1 = l1 + flat.abs().sum(1)
        l2 = l2 + flat.pow(2).sum(1)
    return l1, l2


def penalties(model: nn.Module, members: slice | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ|w|, Σw²) over the weights, each ``[M]`` for an ensemble (or the ``members`` slice)
    and ``[1]`` otherwise."""
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
