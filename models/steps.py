"""One optimisation step of ``models.train``, eager or compiled.

``EagerStep`` is the plain PyTorch step: forward, objective, ``backward()`` and the
optimizer's own ``step()``, walking wide ensembles a few members at a time on the CPU.
``CompiledStep`` is the same step as one ``torch.compile``d graph: forward, objective
α·ℓ + λ1·Σ|w| + λ2·Σw², its gradient (``torch.func.grad``) and the Adam or SGD update,
written into the optimizer's own state tensors (so a checkpoint saved by either step
resumes under the other). Both take a batch and return the objective of each member,
``[M]`` (``[1]`` for a single model), without waiting for it: nothing here syncs the host.

>>> import torch, models
>>> net = models.Ensemble(models.MLPConfig(d_in=1, widths=(4,), d_out=1), seeds=(0, 1))
>>> cfg = models.TrainConfig(alpha=(1.0, 2.0))
>>> opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
>>> step = EagerStep(net, models.tasks.Square(), cfg, opt)
>>> step(models.tasks.Square().sample_steps(8, 2, torch.Generator().manual_seed(0))).shape  # x [M, n, d_in]
torch.Size([2])
"""
from __future__ import annotations

import time

import torch
from torch import nn

from .mlp import MLP, Ensemble, n_members
from .tasks import Batch, Task


def compilable(model: nn.Module) -> bool:
    """Whether ``CompiledStep`` handles ``model``: the toy MLPs and their ensembles."""
    return isinstance(model, (MLP, Ensemble))


def penalty_sums(weights: list[torch.Tensor], stacked: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ|w|, Σw²) over ``weights``: per member ``[M]`` when ``stacked``, else ``[1]``."""
    l1 = l2 = 0
    for w in weights:
        flat = w.flatten(1) if stacked else w.reshape(1, -1)
        l1 = l1 + flat.abs().sum(1)
        l2 = l2 + flat.pow(2).sum(1)
    return l1, l2


def _weights(model: nn.Module) -> list[torch.Tensor]:
    if hasattr(model, "weights"):
        return list(model.weights())
    return [p for p in model.parameters() if p.dim() >= 2]


class EagerStep:
    """Forward, objective, ``backward()`` and ``opt.step()`` in eager PyTorch."""

    def __init__(self, model: nn.Module, task: Task, config, opt: torch.optim.Optimizer):
        from .train import member_chunks
        self.model, self.task, self.config, self.opt = model, task, config, opt
        self.alphas = config.alphas(n_members(model)).to(next(model.parameters()))
        self.chunks = member_chunks(model, config.batch_size)

    def __call__(self, batch: Batch) -> torch.Tensor:
        from .train import objective
        self.opt.zero_grad(set_to_none=True)
        objs = []
        for sl in self.chunks:
            obj, _ = objective(self.model, self.task, batch, self.config, sl,
                               alphas=self.alphas if sl is None else self.alphas[sl])
            obj.sum().backward()
            objs.append(obj.detach())
        self.opt.step()
        return objs[0] if len(objs) == 1 else torch.cat(objs)


class _Objective(nn.Module):
    """α·ℓ + λ1·Σ|w| + λ2·Σw² of the wrapped model, per member, as a module (so that
    ``torch.func.functional_call`` can swap in the parameters being differentiated)."""

    def __init__(self, model: nn.Module, task: Task, alphas: torch.Tensor, l1: float, l2: float):
        super().__init__()
        self.model, self.task, self.l1, self.l2 = model, task, l1, l2
        self.stacked = n_members(model) is not None
        self.register_buffer("alphas", alphas, persistent=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor, subtask: torch.Tensor) -> torch.Tensor:
        task_loss = self.task.loss(self.model(x), Batch(x, y, subtask)).reshape(-1)
        l1, l2 = penalty_sums(_weights(self.model), self.stacked)
        return self.alphas * task_loss + self.l1 * l1 + self.l2 * l2


def _gradient(objective, names, params, x, y, subtask):
    """(gradients, per-member objective) of Σ objective over ``params``."""
    def total(ps):
        obj = torch.func.functional_call(objective, dict(zip(names, ps)), (x, y, subtask))
        return obj.sum(), obj.detach()
    return torch.func.grad(total, has_aux=True)(params)


def _adam(objective, names, params, exp_avgs, exp_avg_sqs, steps, x, y, subtask, lr, beta1, beta2, eps):
    """One Adam step in place, as ``torch.optim.Adam`` does it (no weight decay, no amsgrad)."""
    grads, obj = _gradient(objective, names, params, x, y, subtask)
    with torch.no_grad():
        for p, g, m, v, t in zip(params, grads, exp_avgs, exp_avg_sqs, steps):
            t.add_(1)
            bias1 = 1 - beta1**t
            bias2 = 1 - beta2**t
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            p.sub_((lr / bias1) * m / (v.sqrt() / bias2.sqrt() + eps))
    return obj


def _sgd(objective, names, params, buffers, x, y, subtask, lr, momentum, weight_decay):
    """One SGD step in place, as ``torch.optim.SGD`` does it (no dampening, no Nesterov)."""
    grads, obj = _gradient(objective, names, params, x, y, subtask)
    with torch.no_grad():
        for i, (p, g) in enumerate(zip(params, grads)):
            if weight_decay != 0:
                g = g + weight_decay * p
            if momentum != 0:
                g = buffers[i].mul_(momentum).add_(g)
            p.sub_(lr * g)
    return obj


_COMPILED: dict[str, object] = {}
RECOMPILE_LIMIT = 64
"""How many shapes (or other static settings) one process may compile the step for; torch's
default of 8 would quietly run later sweeps' steps uncompiled."""


def _compiled(name: str):
    if name not in _COMPILED:  # one compiled function per update rule, shared by every run
        _COMPILED[name] = torch.compile({"adam": _adam, "sgd": _sgd}[name], dynamic=False)
    return _COMPILED[name]


class CompiledStep:
    """The whole step as one compiled graph, updating ``model`` and ``opt``'s state in place.

    ``warmup_s`` is the wall time of the first call, compilation included.
    """

    def __init__(self, model: nn.Module, task: Task, config, opt: torch.optim.Optimizer):
        self.opt = opt
        group = opt.param_groups[0]
        params = [p for p in group["params"]]
        device = params[0].device
        named = {id(p): n for n, p in model.named_parameters()}
        self.names = tuple("model." + named[id(p)] for p in params)
        self.objective = _Objective(model, task, config.alphas(n_members(model)).to(params[0]),
                                    float(config.l1), float(config.l2))
        self.params = [p.detach() for p in params]  # aliases: updates land in the model
        self.lr = torch.tensor(float(group["lr"]), dtype=params[0].dtype, device=device)
        self.kind = config.optimizer
        for p in params:  # the optimizer's own state layout, created up front
            state = opt.state[p]
            if self.kind == "adam" and not state:
                state["step"] = torch.tensor(0.0)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if self.kind == "sgd" and group["momentum"] != 0 and state.get("momentum_buffer") is None:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        if self.kind == "adam":
            states = [opt.state[p] for p in params]
            for s in states:  # the step counter sits with the parameters, so the graph owns it
                s["step"] = s["step"].to(device=device, dtype=params[0].dtype)
            beta1, beta2 = group["betas"]
            self.extra = ([s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states], [s["step"] for s in states])
            self.hyper = (float(beta1), float(beta2), float(group["eps"]))
        else:
            buffers = [opt.state[p].get("momentum_buffer") for p in params]
            self.extra = (buffers if group["momentum"] != 0 else [],)
            self.hyper = (float(group["momentum"]), float(group["weight_decay"]))
        self.fn = _compiled(self.kind)
        self.warmup_s = None

    def set_lr(self, lr: float) -> None:
        self.lr.fill_(lr)

    def __call__(self, batch: Batch) -> torch.Tensor:
        args = (self.objective, self.names, self.params, *self.extra, *batch, self.lr, *self.hyper)
        if self.warmup_s is not None:
            return self.fn(*args)
        t = time.perf_counter()
        with torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT):
            obj = self.fn(*args)
        self.warmup_s = time.perf_counter() - t
        return obj
