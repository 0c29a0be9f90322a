"""Tasks: data distributions with named subtasks.

A task samples batches ``Batch(x, y, subtask)`` from an explicit ``torch.Generator``,
computes a loss per subtask, and knows each subtask's weight (β, or a skill frequency P_k).
Every loss method accepts leading model axes: ``pred`` of shape ``[..., batch, d_out]``.
A task of one's own is a ``Task`` subclass registered with ``register_task`` (see ``Task``);
labelled data of one's own is a ``models.DataTask``.

>>> import torch
>>> task = Parallel(beta=0.75)
>>> batch = task.sample(4, torch.Generator().manual_seed(0))
>>> batch.x.shape, batch.y.shape
(torch.Size([4, 2]), torch.Size([4, 2]))
>>> task.subtasks, task.weights.tolist()
(('x1^2', 'x2^2'), [0.75, 0.25])
"""
from __future__ import annotations

import hashlib
import importlib
import math
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Callable, ClassVar, Iterator, NamedTuple

import torch

from .jsonable import jsonable
from .registry import Registry
from .validate import (check, check_bool, check_choice, check_memory, check_number, check_positive,
                       check_seed, is_number)


class Batch(NamedTuple):
    """One batch: inputs ``x [n, d_in]``, targets ``y [n, d_out]`` (class labels ``[n]`` for
    cross-entropy) and the subtask of each sample ``subtask [n]``, an integer tensor holding
    a subtask index in ``[0, K)``, or -1 where the sample serves every subtask (as in the
    parallel task)."""

    x: torch.Tensor
    y: torch.Tensor
    subtask: torch.Tensor


TASKS = Registry("type", hint="a task of your own loads once your code has registered it (models.register_task); "
                         "loading never imports code that a file names")
"""Every registered task type by name: what ``Task.from_config`` (and so ``models.load``) builds.
Read it through ``task_types()``, which makes sure the toolkit's own tasks are all in it."""
BUILT_IN = TASKS.reserved
"""The names of the toolkit's own tasks, which a task of one's own may not take."""
OWN_TASK_MODULES = ("data_task", "token_task")
"""The toolkit's modules (beside this one) that define and register tasks: ``task_types()``
imports them, so no caller has to import them first for their tasks to load."""


def task_types() -> Registry:
    """``TASKS``, with the toolkit's own task modules (``OWN_TASK_MODULES``) imported so that
    every built-in task is in it: what looking up and listing task types read.

    >>> {"Square", "DataTask", "TokenTask"} <= set(task_types())
    True
    """
    for name in OWN_TASK_MODULES:  # they import this module, so they are loaded when first needed
        importlib.import_module(f".{name}", __package__)
    return TASKS


def register_task(cls: type | None = None, *, name: str | None = None):
    """Register a ``Task`` subclass under ``name`` (default: the class name), so that a
    checkpoint holding such a task loads once the code defining it has run. Use it as a
    decorator (``@register_task`` or ``@register_task(name="...")``). Loading never imports
    the code a file names: a checkpoint whose task type is not registered is refused with the
    name to register.

    The class must be a dataclass whose fields are JSON values (numbers, strings, bools,
    None, tuples of them), which is what ``to_config`` writes and ``from_config`` reads back,
    unless it defines ``to_config`` and ``from_fields`` itself. Registering a name again with
    a class of the same module and name (a re-run notebook cell) replaces it; a built-in name
    or another class's name is refused.

    >>> @register_task
    ... @dataclass(frozen=True)
    ... class Halves(Square):
    ...     pass
    >>> Task.from_config({"type": "Halves", "low": 0.0, "high": 0.5})
    Halves(low=0.0, high=0.5)
    """
    def add(c):
        return _register(c, name)

    return add if cls is None else add(cls)


def _built_in(cls):
    """Register one of the toolkit's own tasks (its name is then reserved)."""
    return _register(cls, None, reserve=True)


def _same_class(old: type, new: type) -> bool:
    """Whether ``new`` is ``old`` defined again (a re-run notebook cell): same module and name."""
    return (old.__module__, old.__qualname__) == (new.__module__, new.__qualname__)


def _register(c, name: str | None, reserve: bool = False):
    """Check ``c`` as ``register_task`` does and add it to ``TASKS`` under ``name`` (default: its
    class name); ``reserve``: one of the toolkit's own. A taken or reserved name is refused here
    in the words of tasks ("built-in", "no other task holds") before ``TASKS.add`` records it."""
    check(isinstance(c, type) and issubclass(c, Task), "cls", c, "a subclass of models.tasks.Task")
    key = c.__name__ if name is None else name
    check(isinstance(key, str) and key.isidentifier(), "name", key, "a Python identifier")
    check(key not in TASKS.reserved or TASKS.get(key) is c, "name", key,
          f"a name other than the built-in tasks' {sorted(TASKS.reserved)}")
    old = TASKS.get(key)
    if old is not None and old is not c:
        check(_same_class(old, c), "name", key,
              f"a name no other task holds ({old.__module__}.{old.__qualname__} holds it); pass name=...")
    overrides = c.to_config is not Task.to_config and c.from_fields.__func__ is not Task.from_fields.__func__
    check(is_dataclass(c) or overrides, "cls", c.__name__,
          "a dataclass (its fields are what to_config writes), or a class defining to_config and from_fields")
    return TASKS.add(key, c, reserve=reserve, same=_same_class)


def check_sample(task: "Task", batch, n: int, source: str = "sample", where: str | None = None) -> "Batch":
    """Refuse a batch that breaks the ``Task`` contract, naming the field and what it must be:
    a ``Batch`` whose ``x`` is a tensor ``[n, d_in]``, ``y`` a tensor of ``n`` rows, and
    ``subtask`` an integer tensor ``[n]`` of subtask indices (or -1). Returns the batch. The
    message names ``Task.source(...)``, or ``where`` when given (e.g. ``"inputs"``).

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


def check_subtask_weights(weights, K: int) -> tuple[float, ...]:
    """``weights`` of ``K`` subtasks as floats: finite numbers ≥ 0, not all 0 (refused naming
    ``subtask_weights`` otherwise).

    >>> check_subtask_weights([3, 1], 2)
    (3.0, 1.0)
    """
    ok = isinstance(weights, (tuple, list)) and all(is_number(v) for v in weights)
    w = tuple(float(v) for v in weights) if ok else ()
    check(ok and len(w) == K and all(math.isfinite(v) and v >= 0 for v in w) and sum(w) > 0,
          "subtask_weights", weights, f"{K} finite numbers ≥ 0, not all 0")
    return w


def digest(tensors: dict[str, torch.Tensor]) -> str:
    """A content hash (sha256, hex) of named tensors: what a data-holding task's config
    records, so that its data is checked when read back.

    >>> digest({"x": torch.arange(3)}) == digest({"x": torch.arange(3)}) != digest({"x": torch.arange(4)})
    True
    """
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().cpu().contiguous()
        h.update(f"{k}:{t.dtype}:{tuple(t.shape)};".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


class Task:
    """A data distribution with named subtasks; the base class of every task.

    A task of one's own subclasses it as a frozen dataclass and defines

    - ``d_in``, ``d_out``: the input and output sizes;
    - ``subtasks``: the K subtask names, and ``weights``: a tensor ``[K]`` of their weights
      in the composite loss;
    - ``sample(n, generator)``: ``n`` samples drawn from the ``torch.Generator``, as a
      ``Batch(x, y, subtask)``: ``x [n, d_in]``, ``y [n, d_out]`` (or class labels ``[n]``)
      and ``subtask [n]``, an integer tensor of each sample's subtask in ``[0, K)``, -1 where
      a sample serves every subtask;
    - ``subtask_losses(pred, batch)``: the loss of each subtask, ``[..., K]`` for ``pred``
      ``[..., n, d_out]`` (the leading model axes of an ensemble pass through);

    and registers it with ``register_task`` so that checkpoints holding it load. Everything
    else (the composite ``loss``, training data in blocks, evaluation in pieces, the config,
    ``input_groups``: which inputs each subtask reads, for the ``weights`` allocation method)
    has defaults. A ``sample`` that breaks the contract is refused, naming the field.

    >>> import tempfile, torch, models
    >>> @models.register_task
    ... @dataclass(frozen=True)
    ... class TwoSines(Task):
    ...     "y = (sin πf·x1, sin πf·x2), x ~ U[-1, 1]^2: two subtasks, one output each."
    ...     freq: float = 2.0
    ...     d_in: ClassVar[int] = 2
    ...     d_out: ClassVar[int] = 2
    ...     subtasks: ClassVar[tuple] = ("sin1", "sin2")
    ...     @property
    ...     def weights(self):
    ...         return torch.tensor([0.5, 0.5])
    ...     def sample(self, n, generator):
    ...         x = 2 * torch.rand(n, 2, generator=generator) - 1
    ...         return Batch(x, torch.sin(self.freq * math.pi * x), torch.full((n,), -1))
    ...     def subtask_losses(self, pred, batch):
    ...         return (pred - batch.y).pow(2).mean(-2)          # [..., n, 2] -> [..., 2]
    >>> task = TwoSines()
    >>> net = models.MLP(models.MLPConfig(d_in=2, widths=(16,), d_out=2))
    >>> res = models.train(net, task, models.TrainConfig(alpha=8, steps=30, progress=False))
    >>> ckpt = models.load(models.save(res.model, tempfile.mkdtemp(), task=task))
    >>> ckpt.task, task.to_config()
    (TwoSines(freq=2.0), {'type': 'TwoSines', 'freq': 2.0})
    """

    d_in: int
    d_out: int

    @property
    def subtasks(self) -> tuple[str, ...]:
        raise NotImplementedError

    @property
    def weights(self) -> torch.Tensor:
        """Weight of each subtask in the composite loss, ``[n_subtasks]``."""
        raise NotImplementedError

    @property
    def input_groups(self) -> tuple[tuple[int, ...], ...] | None:
        """The input indices each subtask reads, one tuple per subtask, or None when unknown
        (the default: every input for a task of one subtask, else None). A task whose subtasks
        read separate inputs says so (``Parallel``: x1 and x2; ``SparseParity``: each skill's
        control bit and data bits).

        >>> Parallel(0.5).input_groups, Square().input_groups
        (((0,), (1,)), ((0,),))
        """
        d_in = getattr(self, "d_in", None)
        return (tuple(range(d_in)),) if len(self.subtasks) == 1 and isinstance(d_in, int) else None

    def sample(self, n: int, generator: torch.Generator) -> Batch:
        """``n`` samples drawn from ``generator``: ``Batch(x [n, d_in], y, subtask [n])``."""
        raise NotImplementedError

    def sample_steps(self, n: int, steps: int, generator: torch.Generator) -> Batch:
        """``steps`` batches of ``n`` samples in one draw, each tensor ``[steps, n, ...]``.

        The trainer draws its data a block of steps at a time through this method. The
        default cuts one ``sample(steps * n)`` into ``steps`` batches, which is right for
        every task whose samples are drawn independently; a task whose samples depend on
        each other overrides it.

        >>> import torch
        >>> Parallel(0.5).sample_steps(4, 3, torch.Generator().manual_seed(0)).x.shape   # [steps, n, d_in]
        torch.Size([3, 4, 2])
        """
        check_positive("n", n, integer=True)
        check_positive("steps", steps, integer=True)
        batch = check_sample(self, self.sample(n * steps, generator), n * steps)
        return Batch(*(t.reshape(steps, n, *t.shape[1:]) for t in batch))

    def eval_batch(self, n: int, generator: torch.Generator) -> Batch:
        """A batch for measuring: by default a plain sample."""
        return self.sample(n, generator)

    def eval_count(self, n: int) -> int:
        """How many samples ``eval_batch(n, ...)`` holds."""
        return n

    def eval_pieces(self, n: int, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """``eval_batch(n, generator)`` drawn in pieces of at most ``batch_size`` samples, so
        memory does not grow with ``n``. For the built-in tasks the pieces hold exactly the
        samples of the one batch; a task that overrides ``eval_batch`` (and not this) is cut
        from one draw. Each piece is checked against the contract (``check_sample``).

        >>> import torch
        >>> [b.x.shape[0] for b in Square().eval_pieces(10, 4, torch.Generator())]
        [4, 4, 2]
        """
        check_positive("n", n, integer=True)
        check_positive("batch_size", batch_size, integer=True)
        if type(self).eval_batch is Task.eval_batch:
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                yield check_sample(self, self.sample(size, generator), size)
            return
        batch = self.eval_batch(n, generator)
        rows = batch.x.shape[0] if isinstance(batch, Batch) and isinstance(batch.x, torch.Tensor) else n
        check_sample(self, batch, rows, "eval_batch")
        for start in range(0, rows, batch_size):
            yield Batch(*(t[start:start + batch_size] for t in batch))

    def subtask_losses(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Loss of each subtask, ``[..., n_subtasks]``."""
        raise NotImplementedError

    def sample_losses(self, pred: torch.Tensor, batch: Batch, lead: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
        """Each sample's share of each subtask's loss: ``(losses [..., n, K], weights [n, K])``
        with ``subtask_losses = Σ_n losses / Σ_n weights`` (weights: the units a sample adds to
        a subtask's mean, e.g. its counted tokens; 0 where it does not serve the subtask).
        The uncertainty of a loss change is measured over these samples. ``lead``: the number
        of model axes before the sample axis of ``pred``. The default asks ``subtask_losses``
        for each sample alone (one call per sample); the built-in tasks answer in one call.

        >>> import torch
        >>> task = Parallel(0.5)
        >>> batch = task.sample(3, torch.Generator().manual_seed(0))
        >>> losses, weights = Task.sample_losses(task, torch.zeros(3, 2), batch)
        >>> torch.allclose(losses.sum(0) / weights.sum(0), task.subtask_losses(torch.zeros(3, 2), batch))
        True
        """
        n = batch.subtask.shape[0]
        K = len(self.subtasks)
        parts = [self.subtask_losses(pred.narrow(lead, i, 1), Batch(*(t[i:i + 1] for t in batch))) for i in range(n)]
        losses = torch.stack(parts, -2) if parts else pred.new_zeros(*pred.shape[:lead], 0, K)
        return losses, membership(batch.subtask, K, losses.dtype)

    def loss(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """The composite task loss ℓ = Σ_i w_i ℓ_i, shape ``[...]`` (one per leading model axis)."""
        return (self.subtask_losses(pred, batch) * self.weights.to(pred)).sum(-1)

    def metrics(self, pred: torch.Tensor, batch: Batch) -> dict[str, torch.Tensor]:
        """Measurements recorded in a training history: each ``[..., n_subtasks]``."""
        return {"loss": self.subtask_losses(pred, batch)}

    def intermediates(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named intermediate quantities of the computation, each ``[n]`` (for probes)."""
        return {}

    # -- serialisation -------------------------------------------------------------
    def to_config(self) -> dict:
        """The task as JSON values, ``{"type": name, field: value, ...}``: what ``from_config``
        reads back. A task that holds data (``TokenTask``, ``DataTask``) writes its settings and
        a digest of the data here, and the data itself in ``tensors()``."""
        return {"type": registered_name(type(self)),
                **{f.name: jsonable(getattr(self, f.name)) for f in fields(self)}}

    def tensors(self) -> dict[str, torch.Tensor]:
        """The data the task holds, by name (empty for a task that only samples). A checkpoint
        keeps them beside its config, in ``task_data.safetensors``."""
        return {}

    @classmethod
    def from_fields(cls, config: dict, tensors: dict[str, torch.Tensor] | None = None) -> "Task":
        """The task of this class from its config's fields (without ``type``) and its
        ``tensors()``. The default passes the fields to the dataclass, lists as tuples."""
        allowed = [f.name for f in fields(cls)]
        unknown = sorted(str(k) for k in config if k not in allowed)
        check(not unknown, "key", unknown[0] if len(unknown) == 1 else unknown,
              f"a field of {cls.__name__}: one of {allowed} (or 'type')")
        check(not tensors, "tensors", sorted(tensors or ()), f"none: {cls.__name__} holds no data")
        return cls(**{k: _untuple(v) for k, v in config.items()})

    @staticmethod
    def from_config(config: dict, tensors: dict[str, torch.Tensor] | None = None) -> "Task":
        """The task ``to_config`` described (with its ``tensors()``, for a task that holds
        data); an unknown or missing ``type`` or an unknown key raises ``ValueError`` naming
        it and listing what is allowed."""
        check(isinstance(config, dict), "task config", config, "a dict with a 'type' and the task's fields")
        types = task_types()
        check("type" in config, "task config", config, f"a 'type' key, one of {sorted(types)}")
        cls = types.lookup(config["type"])
        return cls.from_fields({k: v for k, v in config.items() if k != "type"}, tensors)


class HeldDataTask(Task):
    """Base of the tasks that hold their data in tensors (``TokenTask``, ``DataTask``): ``len``
    rows (samples, or sequences), ``_rows(idx)`` the ``Batch`` of some of them. Evaluation reads
    every row once (or ``n`` of them drawn without replacement, in their order), in pieces; the
    task is shown by its ``summary()``, equal to another when their configs are (a config
    carries the data's digest), and not hashable (the tensors can change)."""

    _digest: str | None = None

    def __len__(self) -> int:
        raise NotImplementedError

    def _rows(self, idx: torch.Tensor | slice) -> Batch:
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError

    def subtask_losses(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Each subtask's mean loss over its units in the batch (its counted tokens, or
        samples), ``[..., K]``, 0 for a subtask absent from it: ``sample_losses`` summed."""
        losses, weights = self.sample_losses(pred, batch)
        return losses.sum(-2) / weights.sum(0).clamp_min(1)

    def _eval_index(self, n: int, generator: torch.Generator) -> torch.Tensor | slice:
        check_positive("n", n, integer=True)
        if n >= len(self):
            return slice(None)
        return torch.randperm(len(self), generator=generator)[:n].sort().values

    def eval_batch(self, n: int, generator: torch.Generator) -> Batch:
        """Every row once when ``n`` covers them; else ``n`` of them drawn without replacement
        (in their order)."""
        return self._rows(self._eval_index(n, generator))

    def eval_count(self, n: int) -> int:
        return min(n, len(self))

    def eval_pieces(self, n: int, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
        """``eval_batch(n, generator)`` in pieces of at most ``batch_size`` rows."""
        check_positive("batch_size", batch_size, integer=True)
        idx, total = self._eval_index(n, generator), self.eval_count(n)
        for start in range(0, total, batch_size):
            part = slice(start, min(start + batch_size, total))
            yield self._rows(part if isinstance(idx, slice) else idx[part])

    def data_digest(self) -> str:
        """``digest(self.tensors())``, computed once."""
        if self._digest is None:
            self._digest = digest(self.tensors())
        return self._digest

    def __repr__(self) -> str:
        return self.summary()

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and self.to_config() == other.to_config()

    __hash__ = None


def registered_name(cls: type) -> str:
    """The name ``cls`` is registered under (its class name when it is not registered)."""
    return TASKS.name_of(cls, cls.__name__)


def _untuple(v):
    return tuple(_untuple(u) for u in v) if isinstance(v, list) else v


def _mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error per output column: ``[..., n, d] -> [..., d]``."""
    return (pred - y).pow(2).mean(-2)


def membership(subtask: torch.Tensor, n_subtasks: int, dtype=torch.float32) -> torch.Tensor:
    """``[n, K]``: 1 where a sample serves a subtask (its own, or every one for id -1), else 0.

    >>> membership(torch.tensor([0, -1]), 2)
    tensor([[1., 0.],
            [1., 1.]])
    """
    own = torch.nn.functional.one_hot(subtask.clamp_min(0), n_subtasks).to(dtype)
    return torch.where((subtask < 0).unsqueeze(-1), torch.ones_like(own), own)


def _column_sample_losses(self, pred, batch, lead: int = 0):
    """``Task.sample_losses`` of a task whose subtask k is the squared error of output column k."""
    return (pred - batch.y).pow(2), membership(batch.subtask, len(self.subtasks), pred.dtype).to(pred.device)


def _uniform(n: int, d: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, d, generator=generator)


def _check_n(task, n) -> None:
    """``n`` samples to draw: an integer ≥ 1 whose batch fits in memory."""
    check_positive("n", n, integer=True)
    check_memory("n", n, 4 * n * (task.d_in + task.d_out + 2), f"{n:.3g} samples of {task.d_in} inputs")


def _check_interval(task) -> None:
    check_number("low", task.low)
    check_number("high", task.high)
    check(task.high > task.low, "high", task.high, f"a number above low={task.low}")


@_built_in
@dataclass(frozen=True)
class Square(Task):
    """y = x², x ~ U[low, high] (SPEC A Fig. 2). One subtask, ``'x^2'``."""

    low: float = -1.0
    high: float = 1.0
    d_in: ClassVar[int] = 1
    d_out: ClassVar[int] = 1

    def __post_init__(self):
        _check_interval(self)

    @property
    def subtasks(self):
        return ("x^2",)

    @property
    def weights(self):
        return torch.ones(1)

    def sample(self, n, generator):
        _check_n(self, n)
        x = _uniform(n, 1, self.low, self.high, generator)
        return Batch(x, x**2, torch.zeros(n, dtype=torch.long))

    def subtask_losses(self, pred, batch):
        return _mse(pred, batch.y)

    sample_losses = _column_sample_losses


@_built_in
@dataclass(frozen=True)
class Parallel(Task):
    """Two x² tasks side by side: x ~ U[-1,1]², y = (x1², x2²), ℓ = β·MSE1 + (1-β)·MSE2
    (SPEC A Fig. 3)."""

    beta: float = 0.5
    low: float = -1.0
    high: float = 1.0
    d_in: ClassVar[int] = 2
    d_out: ClassVar[int] = 2

    def __post_init__(self):
        check_number("beta", self.beta, 0.0, 1.0)
        _check_interval(self)

    @property
    def subtasks(self):
        return ("x1^2", "x2^2")

    @property
    def input_groups(self):
        return ((0,), (1,))

    @property
    def weights(self):
        return torch.tensor([self.beta, 1.0 - self.beta])

    def sample(self, n, generator):
        _check_n(self, n)
        x = _uniform(n, 2, self.low, self.high, generator)
        return Batch(x, x**2, torch.full((n,), -1, dtype=torch.long))

    def subtask_losses(self, pred, batch):
        return _mse(pred, batch.y)

    sample_losses = _column_sample_losses


@_built_in
@dataclass(frozen=True)
class Series(Task):
    """F = sqrt((x1-x2)² + (x3-x4)²), x ~ U[-1,1]⁴ (SPEC A Fig. 4). The intermediate
    g = (x1-x2)² + (x3-x4)² is exposed through ``intermediates`` for probes."""

    low: float = -1.0
    high: float = 1.0
    d_in: ClassVar[int] = 4
    d_out: ClassVar[int] = 1

    def __post_init__(self):
        _check_interval(self)

    @property
    def subtasks(self):
        return ("F",)

    @property
    def weights(self):
        return torch.ones(1)

    def intermediates(self, x):
        return {"g": (x[..., 0] - x[..., 1]) ** 2 + (x[..., 2] - x[..., 3]) ** 2}

    def sample(self, n, generator):
        _check_n(self, n)
        x = _uniform(n, 4, self.low, self.high, generator)
        return Batch(x, self.intermediates(x)["g"].sqrt().unsqueeze(-1), torch.zeros(n, dtype=torch.long))

    def subtask_losses(self, pred, batch):
        return _mse(pred, batch.y)

    sample_losses = _column_sample_losses


FUNCTIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "x^2": lambda x: x**2,
    "x^3": lambda x: x**3,
    "|x|": torch.abs,
    "exp": torch.exp,
    "sin": lambda x: torch.sin(math.pi * x),
    "sin^2": lambda x: torch.sin(math.pi * x) ** 2,
    "cos": lambda x: torch.cos(math.pi * x),
    "tanh": lambda x: torch.tanh(3 * x),
    "sqrt|x|": lambda x: x.abs().sqrt(),
    "gauss": lambda x: torch.exp(-4 * x**2),
}
"""The 1-D target family of SPEC A Fig. 5 (sin means sin(πx), sin^2 means sin²(πx))."""


@_built_in
@dataclass(frozen=True)
class Function(Task):
    """y = f(x), x ~ U[low, high], for a named 1-D target from ``FUNCTIONS``."""

    name: str = "x^2"
    low: float = -1.0
    high: float = 1.0
    d_in: ClassVar[int] = 1
    d_out: ClassVar[int] = 1

    def __post_init__(self):
        check_choice("name", self.name, sorted(FUNCTIONS))
        _check_interval(self)

    @property
    def subtasks(self):
        return (self.name,)

    @property
    def weights(self):
        return torch.ones(1)

    def sample(self, n, generator):
        _check_n(self, n)
        x = _uniform(n, 1, self.low, self.high, generator)
        return Batch(x, FUNCTIONS[self.name](x), torch.zeros(n, dtype=torch.long))

    def subtask_losses(self, pred, batch):
        return _mse(pred, batch.y)

    sample_losses = _column_sample_losses


def _enough_sets(n: int, m: int, want: int) -> bool:
    """Whether C(n, m) ≥ want, without computing a huge binomial."""
    c, m = 1, min(m, n - m)
    for i in range(m):
        c = c * (n - i) // (i + 1)
        if c >= want:
            return True
    return c >= want


@_built_in
@dataclass(frozen=True)
class SparseParity(Task):
    """Multitask sparse parity (SPEC B). Input: ``n_skills`` one-hot control bits then
    ``n_bits`` random bits, all 0/1. Skill k (k = 1..n_skills) is the parity of its own
    ``bits_per_skill`` bits and is drawn with probability P_k ∝ k^-(alpha+1).

    ``alpha`` is the paper's α: the Zipf exponent is α + 1 (both public codebases call the
    Zipf exponent itself ``alpha``). With ``loss_type="mse"`` the target is ``scale·(±1)``
    (``+scale`` for even parity), ``d_out = 1``; with ``loss_type="ce"`` the target is the
    parity class (0 or 1), ``d_out = 2``. ``disjoint=True`` gives skill k the bits
    ``[k·m, (k+1)·m)``, or, with ``random_positions=True``, ``n_skills·m`` distinct bits at
    random positions drawn from ``bits_seed`` (as the emergence paper's authors draw them);
    ``disjoint=False`` lets each skill draw ``m`` of the ``n_bits`` bits at random from
    ``bits_seed``, redrawing a skill whose bit set an earlier skill already reads (two skills
    never share one set).

    >>> SparseParity(3, 12, 3, random_positions=True, bits_seed=1).skill_bits.tolist()
    [[1, 4, 6], [0, 8, 11], [2, 3, 5]]
    """

    n_skills: int = 5
    n_bits: int = 32
    bits_per_skill: int = 3
    alpha: float = 0.6
    scale: float = 1.0
    loss_type: str = "mse"
    disjoint: bool = True
    bits_seed: int = 0
    random_positions: bool = False

    def __post_init__(self):
        check_positive("n_skills", self.n_skills, integer=True)
        check_positive("n_bits", self.n_bits, integer=True)
        check_positive("bits_per_skill", self.bits_per_skill, integer=True)
        # the skill frequencies and bit tables (int64/float64), before anything is made of them
        tables = 8 * (self.n_skills * (1 + self.bits_per_skill) + self.n_bits)
        big = "n_skills" if self.n_skills * (1 + self.bits_per_skill) >= self.n_bits else "n_bits"
        check_memory(big, getattr(self, big), tables,
                     f"tables for {self.n_skills:.3g} skills of {self.bits_per_skill} bits over {self.n_bits:.3g} bits")
        check(self.bits_per_skill <= self.n_bits, "bits_per_skill", self.bits_per_skill,
              f"at most n_bits={self.n_bits}")
        check_bool("disjoint", self.disjoint)
        check_bool("random_positions", self.random_positions)
        if self.disjoint:
            check(self.n_skills * self.bits_per_skill <= self.n_bits, "bits_per_skill", self.bits_per_skill,
                  f"with disjoint bits, bits_per_skill × n_skills ≤ n_bits "
                  f"({self.bits_per_skill} × {self.n_skills} > {self.n_bits}); lower it or set disjoint=False")
        check_number("alpha", self.alpha, 0.0, what="a finite number ≥ 0 (the paper's α)")
        check_positive("scale", self.scale)
        check_choice("loss_type", self.loss_type, ("mse", "ce"))
        check_seed("bits_seed", self.bits_seed)
        if not self.disjoint:
            check(_enough_sets(self.n_bits, self.bits_per_skill, self.n_skills), "n_skills", self.n_skills,
                  f"at most C(n_bits, bits_per_skill) = C({self.n_bits}, {self.bits_per_skill}) skills, so that no "
                  f"two skills read the same bits")

    @property
    def d_in(self):
        return self.n_skills + self.n_bits

    @property
    def d_out(self):
        return 1 if self.loss_type == "mse" else 2

    @property
    def subtasks(self):
        return tuple(f"skill{k}" for k in range(1, self.n_skills + 1))

    @property
    def weights(self):
        """Skill frequencies P_k = k^-(α+1) / Σ_j j^-(α+1), ``[n_skills]`` (float64)."""
        p = torch.arange(1, self.n_skills + 1, dtype=torch.float64) ** -(self.alpha + 1)
        return p / p.sum()

    @property
    def input_groups(self):
        """Skill k reads its control bit (input k) and its data bits."""
        return tuple((k, *(self.n_skills + int(b) for b in self.skill_bits[k])) for k in range(self.n_skills))

    @property
    def skill_bits(self) -> torch.Tensor:
        """Indices (into the ``n_bits`` data bits) of each skill's bits, ``[n_skills, m]``."""
        m = self.bits_per_skill
        g = torch.Generator().manual_seed(self.bits_seed)
        if self.disjoint:
            if not self.random_positions:
                return torch.arange(self.n_skills * m).reshape(self.n_skills, m)
            return torch.randperm(self.n_bits, generator=g)[: self.n_skills * m].reshape(self.n_skills, m).sort(-1).values
        rows, seen = [], set()
        while len(rows) < self.n_skills:   # rejection: a set already read by an earlier skill is drawn again
            row = torch.randperm(self.n_bits, generator=g)[:m].sort().values
            if tuple(row.tolist()) not in seen:
                seen.add(tuple(row.tolist()))
                rows.append(row)
        return torch.stack(rows)

    def _make(self, skill: torch.Tensor, generator: torch.Generator) -> Batch:
        n = skill.numel()
        bits = torch.randint(0, 2, (n, self.n_bits), generator=generator)
        control = torch.nn.functional.one_hot(skill, self.n_skills)
        x = torch.cat([control, bits], dim=1).float()
        parity = bits.gather(1, self.skill_bits[skill]).sum(1) % 2
        if self.loss_type == "ce":
            return Batch(x, parity, skill)
        return Batch(x, (self.scale * (1 - 2 * parity)).float().unsqueeze(1), skill)

    def sample(self, n, generator):
        _check_n(self, n)
        skill = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        return self._make(skill, generator)

    def eval_batch(self, n, generator):
        """Equal numbers of samples of every skill, so rare skills are measured too."""
        _check_n(self, n)
        per = max(1, n // self.n_skills)
        return self._make(torch.arange(self.n_skills).repeat_interleave(per), generator)

    def eval_count(self, n):
        return self.n_skills * max(1, n // self.n_skills)

    def eval_pieces(self, n, batch_size, generator):
        check_positive("n", n, integer=True)
        check_positive("batch_size", batch_size, integer=True)
        per, total = max(1, n // self.n_skills), self.eval_count(n)
        for start in range(0, total, batch_size):
            yield self._make(torch.arange(start, min(start + batch_size, total)) // per, generator)

    def _per_skill_mean(self, values: torch.Tensor, skill: torch.Tensor) -> torch.Tensor:
        """Mean of ``values [..., n]`` over the samples of each skill: ``[..., n_skills]``."""
        onehot = torch.nn.functional.one_hot(skill, self.n_skills).to(values.dtype)
        return (values @ onehot) / onehot.sum(0).clamp_min(1)

    def _sample_losses(self, pred, batch):
        if self.loss_type == "ce":
            return torch.nn.functional.cross_entropy(pred.flatten(0, -2), batch.y.expand(pred.shape[:-1]).flatten(),
                                                     reduction="none").reshape(pred.shape[:-1])
        return (pred - batch.y).pow(2).squeeze(-1)

    def subtask_losses(self, pred, batch):
        return self._per_skill_mean(self._sample_losses(pred, batch), batch.subtask)

    def sample_losses(self, pred, batch, lead: int = 0):
        w = torch.nn.functional.one_hot(batch.subtask, self.n_skills).to(pred.dtype)   # [n, K]
        return self._sample_losses(pred, batch).unsqueeze(-1) * w, w

    def loss(self, pred, batch):
        """Plain mean over the batch: the skills enter in the proportions they were drawn."""
        return self._sample_losses(pred, batch).mean(-1)

    def skill_strength(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """R_k / S for each skill, ``[..., n_skills]``: the projection of the centred output on
        skill k's centred target over skill k's inputs, divided by the target's squared norm,
        so 1 means the skill is learned and 0 that the output ignores it. For ``loss_type="ce"``
        the output is the logit margin logit₁ − logit₀ (positive for odd parity, class 1),
        projected on the target ``scale·(2·parity − 1)`` of the same sign: a model that has
        learned every skill scores margin/scale > 0.

        >>> t = SparseParity(3, 9, 3, 0.5, loss_type="ce")
        >>> b = t.eval_batch(300, torch.Generator().manual_seed(0))
        >>> t.skill_strength(torch.nn.functional.one_hot(b.y, 2).double() * 4, b).tolist()
        [4.0, 4.0, 4.0]
        """
        f = pred[..., 0] if self.loss_type == "mse" else pred[..., 1] - pred[..., 0]
        y = batch.y.squeeze(-1).to(f.dtype) if self.loss_type == "mse" else (2 * batch.y - 1).to(f.dtype) * self.scale
        f = f - self._per_skill_mean(f, batch.subtask)[..., batch.subtask]
        y = y - self._per_skill_mean(y, batch.subtask)[..., batch.subtask]
        return self._per_skill_mean(f * y, batch.subtask) / self._per_skill_mean(y * y, batch.subtask).clamp_min(1e-30)

    def metrics(self, pred, batch):
        return {"loss": self.subtask_losses(pred, batch), "skill_strength": self.skill_strength(pred, batch)}

    def to_config(self):
        return {"type": "SparseParity", **asdict(self)}
