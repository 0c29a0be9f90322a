"""One optimisation step of ``models.train``, eager or compiled, of the objective in
``models.objective``.

``EagerStep`` is the plain PyTorch step: forward, objective, ``backward()`` and the
optimizer's own ``step()``, walking wide ensembles a few members at a time on the CPU.
``CompiledStep`` is the same step as one ``torch.compile``d graph: forward, objective
α·ℓ + λ1·Σ|w| + λ2·Σw², its gradient (``torch.func.grad``) and the Adam or SGD update,
written into the parameters and the optimizer's own state tensors (so a checkpoint saved
by either step resumes under the other). Both take a batch and return the objective of each
member, ``[M]`` (``[1]`` for a single model), without waiting for it: nothing here syncs
the host.

>>> import torch, models
>>> net = models.Ensemble(models.MLPConfig(d_in=1, widths=(4,), d_out=1), seeds=(0, 1))
>>> cfg = models.TrainConfig(alpha=(1.0, 2.0))
>>> opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
>>> step = EagerStep(net, models.tasks.Square(), cfg, opt)
>>> step(models.tasks.Square().sample_steps(8, 2, torch.Generator().manual_seed(0))).shape  # x [M, n, d_in]
torch.Size([2])
"""
from __future__ import annotations

import contextlib
import functools
import os
import platform
import sys
import threading
import time
import warnings

import torch
from torch import nn

from .config import TrainConfig
from .mlp import ACTIVATIONS, MLP, Ensemble, n_members
from .objective import member_chunks, objective, penalty_sums
from .tasks import Batch, Task
from .validate import check


def compilable(model: nn.Module) -> bool:
    """Whether ``CompiledStep`` handles ``model``: the toy MLPs and their ensembles."""
    return isinstance(model, (MLP, Ensemble))


class EagerStep:
    """Forward, objective, ``backward()`` and ``opt.step()`` in eager PyTorch."""

    def __init__(self, model: nn.Module, task: Task, config: TrainConfig, opt: torch.optim.Optimizer):
        self.model, self.task, self.config, self.opt = model, task, config, opt
        self.alphas = config.alphas(n_members(model)).to(next(model.parameters()))
        self.chunks = member_chunks(model, config.batch_size)

    def __call__(self, batch: Batch) -> torch.Tensor:
        self.opt.zero_grad(set_to_none=True)
        objs = []
        for sl in self.chunks:
            obj, _ = objective(self.model, self.task, batch, self.config, sl,
                               alphas=self.alphas if sl is None else self.alphas[sl])
            obj.sum().backward()
            objs.append(obj.detach())
        self.opt.step()
        return objs[0] if len(objs) == 1 else torch.cat(objs)


SMALL_FAN = 1
"""Layers with this many inputs or outputs or fewer are written as broadcast products and sums
in the compiled step (so the compiler fuses them with the activation) instead of batched
matrix products. Only fan 1: at fan 2 (Fig. 3's two inputs and outputs) the fused loops ran
6x slower on 2 threads than on 1 (201 against 827 steps/s for 9 × 100), and 1.5x faster as
matrix products (1 231 steps/s); at fan 4 both ways run alike."""


def _silu(z: torch.Tensor) -> torch.Tensor:
    """SiLU written as z·σ(z), so the compiled backward reuses σ(z): one exp and one division
    per hidden activation instead of two of each (``F.silu``'s gradient recomputes σ). The
    step ran 1.14x faster at 21 × 100 and 64 × 16 on one thread; values agree to rounding."""
    return z * torch.sigmoid(z)


STEP_ACTIVATIONS = {**ACTIVATIONS, "silu": _silu}
"""The activations as the compiled step writes them."""


def _layer(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``x [M, n, fan_in] @ w [M, fan_in, fan_out] + b [M, 1, fan_out]``."""
    if min(w.shape[1], w.shape[2]) <= SMALL_FAN:
        return (x.unsqueeze(-1) * w.unsqueeze(1)).sum(-2) + b
    return torch.baddbmm(b, x, w)


def _objective(weights, biases, x, y, subtask, alphas, task, activation, stacked, l1, l2):
    """α·ℓ + λ1·Σ|w| + λ2·Σw² per member ``[M]`` of the stacked MLP (``weights[i]``
    ``[M, fan_in, fan_out]``, ``biases[i]`` ``[M, 1, fan_out]``) on ``x [M or 1, n, d_in]``."""
    act = STEP_ACTIVATIONS[activation]
    h = x if x.shape[0] == weights[0].shape[0] else x.expand(weights[0].shape[0], *x.shape[1:])
    for w, b in zip(weights[:-1], biases[:-1]):
        h = act(_layer(h, w, b))
    out = _layer(h, weights[-1], biases[-1])
    if not stacked:
        out = out[0]
    task_loss = task.loss(out, Batch(x if stacked else x[0], y, subtask)).reshape(-1)
    pen1, pen2 = penalty_sums(weights, True)
    return alphas * task_loss + l1 * pen1 + l2 * pen2


def _gradient(weights, biases, *args):
    """(gradients of Σ objective over weights and biases, the objective per member)."""
    def total(ws, bs):
        obj = _objective(ws, bs, *args)
        return obj.sum(), obj.detach()
    return torch.func.grad(total, argnums=(0, 1), has_aux=True)(weights, biases)


def _adam(weights, biases, exp_avgs, exp_avg_sqs, t, lr, beta1, beta2, eps, weight_decay, *args):
    """One Adam step in place, as ``torch.optim.Adam`` does it (weight decay added to the
    gradient, no amsgrad); ``t`` is the step count after this step."""
    (gw, gb), obj = _gradient(weights, biases, *args)
    bias1 = 1 - beta1**t
    bias2 = (1 - beta2**t).sqrt()
    with torch.no_grad():
        for p, g, m, v in zip([*weights, *biases], [*gw, *gb], exp_avgs, exp_avg_sqs):
            if weight_decay != 0:
                g = g + weight_decay * p
            m.lerp_(g, 1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            p.sub_((lr / bias1) * m / (v.sqrt() / bias2 + eps))
    return obj


def _sgd(weights, biases, buffers, lr, momentum, weight_decay, *args):
    """One SGD step in place, as ``torch.optim.SGD`` does it (no dampening, no Nesterov)."""
    (gw, gb), obj = _gradient(weights, biases, *args)
    with torch.no_grad():
        for i, (p, g) in enumerate(zip([*weights, *biases], [*gw, *gb])):
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
CHUNK_ELEMENTS = 2**20
"""Hidden activations per compiled call and CPU thread: wide ensembles run a few members (a
divisor of M, so every call has one shape) at a time, so each thread's share of the step's
buffers stays in its cache. On 2 threads, 21 × 100 ran 23 012 model-steps/s in calls of 7
members and 29 819-31 967 in one call of 21; on 1 thread both ran alike."""


_CHECKS_STARTED = False


def _isa_plan():
    """(torch's ISA module, the vector ISAs the CPU reports in torch's order of preference, the one
    the compiler would pick among them) on an x86 CPU with torch's settings at their defaults, else
    None (another platform, another torch, or ``cpp.vec_isa_ok`` / ``cpp.simdlen`` set)."""
    try:
        from torch._inductor import config as inductor
        from torch._inductor import cpu_vec_isa as isa
        if (sys.platform not in ("linux", "win32") or platform.machine() not in ("x86_64", "AMD64")
                or inductor.cpp.vec_isa_ok is not None or inductor.cpp.simdlen is not None or inductor.is_fbcode()):
            return None
        have = isa.x86_isa_checker()
        listed = [v for v in isa.supported_vec_isa_list if all(f in have for f in str(v).split())]
        if not listed:
            return None
        return isa, listed, isa.get_isa_from_cpu_capability(os.getenv("ATEN_CPU_CAPABILITY"), listed,
                                                            isa.invalid_vec_isa)
    except Exception:  # torch's layout changed: leave the checks to the compiler
        return None


def start_compiler_checks() -> None:
    """Check, in a background thread, that the compiler can build CPU kernels for the one vector
    ISA it will pick, and give its first compilation that check's answer instead of its own checks.

    In a process with an empty compiler cache, torch's first CPU compilation checks every vector
    ISA the CPU reports (AVX-512 VNNI, AVX-512 and AVX2 here: a C++ build of its vector headers
    and a load each, 3.7 s alone) one after another, to pick the first of them that builds (or
    the one ``ATEN_CPU_CAPABILITY`` names). Here the one it would pick is checked alone, by
    torch's own check (cached as torch caches it), beside the tracing of the step; when it builds,
    the compiler's list of buildable ISAs is the CPU's list, the others in it unchecked and never
    picked while ``ATEN_CPU_CAPABILITY`` and ``cpp.simdlen`` stay as they are; when it does not,
    or the pick would now differ, torch makes its list itself, every check included. 21 × 100 on
    one thread, 3 000 steps in an empty cache: first step 4.5-5.4 s against 8.2-9.0 s with the
    three checks run side by side (and 13.2 s run one after another), the trained weights bit for
    bit the same.
    Nothing is changed on another platform or torch, or where ``cpp.vec_isa_ok`` or
    ``cpp.simdlen`` is set."""
    global _CHECKS_STARTED
    if _CHECKS_STARTED:
        return
    _CHECKS_STARTED = True
    plan = _isa_plan()
    if plan is None:
        return
    isa, listed, target = plan
    builds: list[bool] = []
    check_thread = threading.Thread(target=lambda: builds.append(bool(target)), daemon=True, name=f"check {target}")
    check_thread.start()
    own_list = isa.valid_vec_isa_list

    @functools.cache
    def valid_vec_isa_list():
        check_thread.join()
        again = _isa_plan()
        if builds == [True] and again is not None and again[2] is target:
            return listed
        return own_list()

    isa.valid_vec_isa_list = valid_vec_isa_list


def _one_compiler_thread(device: torch.device):
    """The first CPU compilation with one compile thread: the CPU step is one C++ file, so a pool
    of compile workers has nothing to share out, and starting it (child processes that import
    torch) took the cores from the warm-up and from the steps after it (21 × 100 on one thread,
    3 000 steps in an empty cache, the checks started: warm-up 5.4-7.1 s and 17.3-17.7 s in all
    over three runs, against 7.2-8.0 s and 19.3-24.4 s with torch's two)."""
    if device.type != "cpu":
        return contextlib.nullcontext()
    try:
        from torch._inductor import config as inductor
        return inductor.patch(compile_threads=1)
    except Exception:
        return contextlib.nullcontext()


def _compiled(name: str):
    if name not in _COMPILED:  # one compiled function per update rule, shared by every run
        _COMPILED[name] = torch.compile({"adam": _adam, "sgd": _sgd}[name], dynamic=False)
    return _COMPILED[name]


def compiled_chunk(members: int, rows: int, width: int, cuda: bool = False, threads: int | None = None) -> int:
    """Members per compiled call: the largest divisor of ``members`` whose activations
    (``rows × width`` each) fit ``CHUNK_ELEMENTS`` per thread (``threads``: torch's count);
    all of them on a GPU.

    >>> [compiled_chunk(m, 500, w, threads=1) for m, w in ((64, 16), (21, 100), (8, 1000))]
    [64, 7, 2]
    >>> [compiled_chunk(m, 500, w, threads=2) for m, w in ((64, 16), (21, 100), (8, 1000))]
    [64, 21, 4]
    """
    if cuda:
        return members
    threads = torch.get_num_threads() if threads is None else threads
    size = max(1, CHUNK_ELEMENTS * threads // (rows * width))
    return max(d for d in range(1, members + 1) if members % d == 0 and d <= size)


class CompiledStep:
    """The whole step as one compiled graph per chunk of members, updating ``model`` and
    ``opt``'s state in place. ``warmup_s`` is the wall time of the first step, compilation
    included; on the CPU the compiler's checks start as the step is built
    (``start_compiler_checks``) and the first compilation runs on one compile thread. With
    ``fallback``, a first step that fails to compile (no C++ compiler, say) warns and hands over
    to ``EagerStep``; ``compiled`` then turns False.

    Its CPU kernels run on ``torch.get_num_threads()`` threads as set when the step is first
    compiled in the process. On a quiet 2-core machine 2 threads beat 1 by 1.2-1.6x; with
    another job busy on one of the cores they lose (21 × 100: 4 485 against 6 809
    model-steps/s), so on a shared machine set ``torch.set_num_threads`` to the free cores.
    """

    def __init__(self, model: nn.Module, task: Task, config: TrainConfig, opt: torch.optim.Optimizer,
                 fallback: bool = False):
        check(compilable(model), "model", type(model).__name__, "an MLP or an Ensemble for the compiled step")
        self.opt, self.kind = opt, config.optimizer
        self.fallback, self.eager, self.compiled = fallback, None, True
        self._eager_args = (model, task, config, opt)
        group = opt.param_groups[0]
        self.stacked = isinstance(model, Ensemble)
        if self.stacked:
            weights, biases = list(model.weight), list(model.bias)
        else:
            weights, biases = [l.weight for l in model.layers], [l.bias for l in model.layers]
        ordered = [*weights, *biases]
        check({id(p) for p in ordered} == {id(p) for p in group["params"]} and len(opt.param_groups) == 1,
              "opt", opt, "one parameter group holding the model's weights and biases")
        device = ordered[0].device
        for p in ordered:  # the optimizer's own state layout, created up front
            state = opt.state[p]
            if self.kind == "adam" and not state:
                state["step"] = torch.tensor(0.0)
                state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            if self.kind == "sgd" and group["momentum"] != 0 and state.get("momentum_buffer") is None:
                state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        states = [opt.state[p] for p in ordered]
        n_w = len(weights)
        # stacked views [M, fan_in, fan_out] / [M, 1, fan_out] of the parameters and their state
        view_w = (lambda t: t) if self.stacked else (lambda t: t.T.unsqueeze(0))
        view_b = (lambda t: t) if self.stacked else (lambda t: t[None, None])

        def views(tensors):
            return [view_w(t.detach()) for t in tensors[:n_w]] + [view_b(t.detach()) for t in tensors[n_w:]]

        self.tensors = views(ordered)
        if self.kind == "adam":
            self.exp_avgs = views([s["exp_avg"] for s in states])
            self.exp_avg_sqs = views([s["exp_avg_sq"] for s in states])
            self.counts = [s["step"] for s in states]
            beta1, beta2 = group["betas"]
            self.hyper = (float(beta1), float(beta2), float(group["eps"]), float(group["weight_decay"]))
        else:
            self.buffers = views([s["momentum_buffer"] for s in states]) if group["momentum"] != 0 else []
            self.hyper = (float(group["momentum"]), float(group["weight_decay"]))
        members = n_members(model) or 1
        size = compiled_chunk(members, config.batch_size, max(model.sites.values()), device.type == "cuda")
        self.chunks = [slice(i, i + size) for i in range(0, members, size)] if size < members else [None]
        self.n_w = n_w
        self.alphas = config.alphas(n_members(model)).to(ordered[0])
        self.static = (task, model.config.activation, self.stacked, float(config.l1), float(config.l2))
        self.lr = torch.tensor(float(group["lr"]), dtype=ordered[0].dtype, device=device)
        self.fn = _compiled(self.kind)
        self.device = device
        if device.type == "cpu":
            start_compiler_checks()
        self.warmup_s = None

    def set_lr(self, lr: float) -> None:
        self.lr.fill_(lr)

    def _call(self, sl, batch: Batch) -> torch.Tensor:
        cut = (lambda ts: ts) if sl is None else (lambda ts: [t[sl] for t in ts])
        x, y, subtask = batch
        if not self.stacked:
            x = x.unsqueeze(0)
        elif sl is not None and x.dim() == 3:
            x, y, subtask = x[sl], y[sl], subtask[sl]
        params = cut(self.tensors)
        w, b = params[:self.n_w], params[self.n_w:]
        alphas = self.alphas if sl is None else self.alphas[sl]
        data = (x, y, subtask, alphas, *self.static)
        if self.kind == "adam":
            return self.fn(w, b, cut(self.exp_avgs), cut(self.exp_avg_sqs), self.counts[0], self.lr, *self.hyper, *data)
        return self.fn(w, b, cut(self.buffers), self.lr, *self.hyper, *data)

    def _step(self, batch: Batch) -> torch.Tensor:
        if self.kind == "adam":
            torch._foreach_add_(self.counts, 1)
        objs = [self._call(sl, batch) for sl in self.chunks]
        return objs[0] if len(objs) == 1 else torch.cat(objs)

    def __call__(self, batch: Batch) -> torch.Tensor:
        if self.eager is not None:
            return self.eager(batch)
        if self.warmup_s is not None:
            return self._step(batch)
        t = time.perf_counter()
        try:
            with torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT), _one_compiler_thread(self.device):
                obj = self._step(batch)
        except Exception as e:  # compilation failed before anything was updated
            if not self.fallback:
                raise
            warnings.warn(f"the compiled training step failed ({type(e).__name__}: {e}); training eagerly",
                          RuntimeWarning, stacklevel=2)
            if self.kind == "adam":
                torch._foreach_sub_(self.counts, 1)
            self.eager, self.compiled, self.warmup_s = EagerStep(*self._eager_args), False, 0.0
            return self.eager(batch)
        self.warmup_s = time.perf_counter() - t
        return obj
