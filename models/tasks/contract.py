"""The ``Task`` contract: the base class every task subclasses (what a task defines, and the
defaults for the rest: the composite loss, drawing in blocks, evaluation in pieces, the config),
``HeldDataTask``, the base of the tasks that hold their data in tensors, and the checks of what
such tasks hold (``check_subtask_weights``, ``digest``)."""
from __future__ import annotations

import hashlib
import math
from dataclasses import fields
from typing import Iterator

import torch

from ..jsonable import jsonable
from ..validate import check, check_positive, is_number
from .batch import Batch, check_sample, check_sample_count, membership


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

    >>> import math, tempfile, torch, models
    >>> from dataclasses import dataclass
    >>> @models.register_task
    ... @dataclass(frozen=True)
    ... class TwoSines(Task):
    ...     "y = (sin πf·x1, sin πf·x2), x ~ U[-1, 1]^2: two subtasks, one output each."
    ...     freq: float = 2.0
    ...     d_in = 2                      # class attributes, not fields
    ...     d_out = 2
    ...     subtasks = ("sin1", "sin2")
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

        >>> from models.tasks import Parallel, Square
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
        >>> from models.tasks import Parallel
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
        >>> from models.tasks import Square
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
        >>> from models.tasks import Parallel
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
        from .registry import registered_name  # the registry imports this module
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
        from .registry import task_types  # the registry imports this module
        types = task_types()
        check("type" in config, "task config", config, f"a 'type' key, one of {sorted(types)}")
        cls = types.lookup(config["type"])
        return cls.from_fields({k: v for k, v in config.items() if k != "type"}, tensors)


class BalancedEval:
    """Evaluation with equal numbers of samples of every subtask, so rare subtasks are measured
    too: a mixin for a ``Task`` that draws samples of given subtasks with ``_make(subtask [n],
    generator) -> Batch`` (``SparseParity``, ``SkillTokens``)."""

    def eval_batch(self, n, generator):
        check_sample_count(self, n)
        per = max(1, n // len(self.subtasks))
        return self._make(torch.arange(len(self.subtasks)).repeat_interleave(per), generator)

    def eval_count(self, n):
        return len(self.subtasks) * max(1, n // len(self.subtasks))

    def eval_pieces(self, n, batch_size, generator):
        check_positive("n", n, integer=True)
        check_positive("batch_size", batch_size, integer=True)
        per, total = max(1, n // len(self.subtasks)), self.eval_count(n)
        for start in range(0, total, batch_size):
            yield self._make(torch.arange(start, min(start + batch_size, total)) // per, generator)


class PooledLosses:
    """Subtask losses pooled from ``sample_losses``: a mixin for a ``Task`` that defines the
    per-sample losses and their units (``HeldDataTask``, ``SkillTokens``)."""

    def subtask_losses(self, pred: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Each subtask's mean loss over its units in the batch (its counted tokens, or
        samples), ``[..., K]``, 0 for a subtask absent from it: ``sample_losses`` summed."""
        losses, weights = self.sample_losses(pred, batch)
        return losses.sum(-2) / weights.sum(0).clamp_min(1)


class HeldDataTask(PooledLosses, Task):
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


def _untuple(v):
    return tuple(_untuple(u) for u in v) if isinstance(v, list) else v
