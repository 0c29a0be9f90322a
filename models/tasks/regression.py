"""The toy regression tasks of SPEC A: ``Square`` (Fig. 2), ``Parallel`` (Fig. 3), ``Series``
(Fig. 4) and ``Function`` over the 1-D targets of ``FUNCTIONS`` (Fig. 5). They share one base,
``UniformRegression``: inputs drawn uniformly from ``[low, high]``, and subtask k the mean squared
error of output column k."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, ClassVar

import torch

from ..validate import check, check_choice, check_number
from .batch import Batch, check_sample_count, membership
from .contract import Task
from .registry import register_built_in


class UniformRegression(Task):
    """Base of the toy regression tasks, frozen dataclasses with fields ``low`` and ``high``:
    ``x ~ U[low, high]^d_in`` (``draw_inputs``), one output column per subtask, each subtask's
    loss the squared error of its column, and every subtask weighing 1 unless the task says
    otherwise."""

    low: float
    high: float

    def __post_init__(self):
        check_number("low", self.low)
        check_number("high", self.high)
        check(self.high > self.low, "high", self.high, f"a number above low={self.low}")

    @property
    def weights(self):
        return torch.ones(len(self.subtasks))

    def draw_inputs(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``x [n, d_in]`` drawn uniformly from ``[low, high]`` (``n`` checked first)."""
        check_sample_count(self, n)
        return self.low + (self.high - self.low) * torch.rand(n, self.d_in, generator=generator)

    def subtask_losses(self, pred, batch):
        """Mean squared error per output column: ``[..., n, d] -> [..., d]``."""
        return (pred - batch.y).pow(2).mean(-2)

    def sample_losses(self, pred, batch, lead: int = 0):
        """Subtask k of a sample is the squared error of its output column k."""
        return (pred - batch.y).pow(2), membership(batch.subtask, len(self.subtasks), pred.dtype).to(pred.device)


@register_built_in
@dataclass(frozen=True)
class Square(UniformRegression):
    """y = x², x ~ U[low, high] (SPEC A Fig. 2). One subtask, ``'x^2'``."""

    low: float = -1.0
    high: float = 1.0
    d_in: ClassVar[int] = 1
    d_out: ClassVar[int] = 1

    @property
    def subtasks(self):
        return ("x^2",)

    def sample(self, n, generator):
        x = self.draw_inputs(n, generator)
        return Batch(x, x**2, torch.zeros(n, dtype=torch.long))


@register_built_in
@dataclass(frozen=True)
class Parallel(UniformRegression):
    """Two x² tasks side by side: x ~ U[-1,1]², y = (x1², x2²), ℓ = β·MSE1 + (1-β)·MSE2
    (SPEC A Fig. 3)."""

    beta: float = 0.5
    low: float = -1.0
    high: float = 1.0
    d_in: ClassVar[int] = 2
    d_out: ClassVar[int] = 2

    def __post_init__(self):
        check_number("beta", self.beta, 0.0, 1.0)
        super().__post_init__()

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
        x = self.draw_inputs(n, generator)
        return Batch(x, x**2, torch.full((n,), -1, dtype=torch.long))


@register_built_in
@dataclass(frozen=True)
class Series(UniformRegression):
    """F = sqrt((x1-x2)² + (x3-x4)²), x ~ U[-1,1]⁴ (SPEC A Fig. 4). The intermediate
    g = (x1-x2)² + (x3-x4)² is exposed through ``intermediates`` for probes."""

    low: float = -1.0
    high: float = 1.0
    d_in: ClassVar[int] = 4
    d_out: ClassVar[int] = 1

    @property
    def subtasks(self):
        return ("F",)

    def intermediates(self, x):
        return {"g": (x[..., 0] - x[..., 1]) ** 2 + (x[..., 2] - x[..., 3]) ** 2}

    def sample(self, n, generator):
        x = self.draw_inputs(n, generator)
        return Batch(x, self.intermediates(x)["g"].sqrt().unsqueeze(-1), torch.zeros(n, dtype=torch.long))


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


@register_built_in
@dataclass(frozen=True)
class Function(UniformRegression):
    """y = f(x), x ~ U[low, high], for a named 1-D target from ``FUNCTIONS``."""

    name: str = "x^2"
    low: float = -1.0
    high: float = 1.0
    d_in: ClassVar[int] = 1
    d_out: ClassVar[int] = 1

    def __post_init__(self):
        check_choice("name", self.name, sorted(FUNCTIONS))
        super().__post_init__()

    @property
    def subtasks(self):
        return (self.name,)

    def sample(self, n, generator):
        x = self.draw_inputs(n, generator)
        return Batch(x, FUNCTIONS[self.name](x), torch.zeros(n, dtype=torch.long))

