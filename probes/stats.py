"""Streaming statistics in float64: per-feature mean and variance, co-moments (for
covariance and correlation matrices) and cross-moments with target quantities, merged
chunk by chunk with Chan et al.'s parallel form of Welford's update. Memory depends on the
number of features, never on the number of samples. The sums live on the CPU (activations of
a model on a GPU are copied over chunk by chunk).

>>> import torch
>>> x = torch.randn(1000, 3, generator=torch.Generator().manual_seed(0))
>>> m = Moments(3, cov=True)
>>> for chunk in x.split(128):
...     m.update(chunk)
>>> torch.allclose(m.var, x.double().var(0, correction=0)), m.n
(True, 1000)
"""
from __future__ import annotations

import torch

from models.validate import check


class Moments:
    """Running moments of ``d`` features, with optional leading axes ``lead`` (e.g. ``(M,)``
    for the members of an ensemble: each member keeps its own statistics).

    ``update(x [*lead, n, d], y [*lead, n, k] | None)`` adds ``n`` samples. Kept: ``mean
    [*lead, d]``, ``m2 [*lead, d]`` (sum of squared deviations); with ``cov=True`` the
    co-moment ``c [*lead, d, d]``; with ``cross=k`` the target's mean/m2 ``[*lead, k]`` and
    the cross co-moment ``cxy [*lead, d, k]``.
    """

    def __init__(self, d: int, *, lead: tuple[int, ...] = (), cov: bool = False, cross: int = 0):
        check(isinstance(d, int) and d >= 1, "d", d, "an integer ≥ 1")
        self.d, self.lead, self.n = d, tuple(lead), 0
        z = dict(dtype=torch.float64)
        self.mean = torch.zeros(*self.lead, d, **z)
        self.m2 = torch.zeros(*self.lead, d, **z)
        self.c = torch.zeros(*self.lead, d, d, **z) if cov else None
        self.k = int(cross)
        if self.k:
            self.y_mean = torch.zeros(*self.lead, self.k, **z)
            self.y_m2 = torch.zeros(*self.lead, self.k, **z)
            self.cxy = torch.zeros(*self.lead, d, self.k, **z)

    def update(self, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
        """Add the samples ``x [*lead, n, d]`` (and targets ``y [*lead, n, k]`` when ``cross``)."""
        x = x.detach().to("cpu", torch.float64)
        nb = x.shape[-2]
        if nb == 0:
            return
        mean_b = x.mean(-2)
        dx = x - mean_b.unsqueeze(-2)
        m2_b = dx.square().sum(-2)
        na, n = self.n, self.n + nb
        delta = mean_b - self.mean
        f = na * nb / n
        self.mean = self.mean + delta * (nb / n)
        self.m2 = self.m2 + m2_b + delta.square() * f
        if self.c is not None:
            self.c = self.c + dx.transpose(-1, -2) @ dx + delta.unsqueeze(-1) * delta.unsqueeze(-2) * f
        if self.k:
            check(y is not None, "y", None, f"targets [*lead, n, {self.k}] (this accumulator keeps cross-moments)")
            y = y.detach().to("cpu", torch.float64)
            y_mean_b = y.mean(-2)
            dy = y - y_mean_b.unsqueeze(-2)
            delta_y = y_mean_b - self.y_mean
            self.y_mean = self.y_mean + delta_y * (nb / n)
            self.y_m2 = self.y_m2 + dy.square().sum(-2) + delta_y.square() * f
            self.cxy = self.cxy + dx.transpose(-1, -2) @ dy + delta.unsqueeze(-1) * delta_y.unsqueeze(-2) * f
        self.n = n

    @property
    def var(self) -> torch.Tensor:
        """Population variance ``[*lead, d]``."""
        return self.m2 / max(self.n, 1)

    @property
    def cov(self) -> torch.Tensor:
        """Population covariance ``[*lead, d, d]``."""
        check(self.c is not None, "stats", "cov", "an accumulator built with cov=True")
        return self.c / max(self.n, 1)

    def corr(self, eps: float = 1e-12) -> torch.Tensor:
        """Correlation matrix ``[*lead, d, d]``; rows/columns of constant features are 0 (the
        diagonal too), so a dead neuron correlates with nothing."""
        check(self.c is not None, "stats", "corr", "an accumulator built with cov=True")
        sd = self.m2.clamp_min(0).sqrt()
        ok = sd > eps * max(self.n, 1) ** 0.5
        denom = sd.unsqueeze(-1) * sd.unsqueeze(-2)
        r = torch.where(ok.unsqueeze(-1) & ok.unsqueeze(-2), self.c / denom.clamp_min(1e-300), torch.zeros_like(self.c))
        return r.clamp(-1, 1)

    def cross_corr(self, eps: float = 1e-12) -> torch.Tensor:
        """Correlation of each feature with each target, ``[*lead, d, k]`` (0 where either is constant)."""
        check(self.k > 0, "stats", "cross", "an accumulator built with cross=k")
        sx = self.m2.clamp_min(0).sqrt()
        sy = self.y_m2.clamp_min(0).sqrt()
        floor = eps * max(self.n, 1) ** 0.5
        ok = (sx > floor).unsqueeze(-1) & (sy > floor).unsqueeze(-2)
        denom = sx.unsqueeze(-1) * sy.unsqueeze(-2)
        return torch.where(ok, self.cxy / denom.clamp_min(1e-300), torch.zeros_like(self.cxy)).clamp(-1, 1)
