"""Plain measurements on neurons: which are alive, and how redundant they are.

A neuron is *live* (allocated) when the variance of its activation over the inputs exceeds
a threshold, under one of two rules:

- ``"absolute"``: variance > ``threshold`` (1e-3, the paper's rule, SPEC A), for the toy zoo,
  whose activations and targets are of order one;
- ``"relative"``: variance > ``threshold`` × the site's scale, the 90th percentile of its
  neurons' variances (robust to a few outlier neurons and to up to 90% dead ones), so the
  rule means the same on every architecture: a small random Llama-shaped model's activations
  have variances below 1e-3, SmolLM2's median variances run from 4e-3 to 0.24 by layer, and
  neither scale says who is alive.

``rule="auto"`` picks ``relative`` for language models (TransformerLens bridges and hooked
models) and ``absolute`` for everything else. Its *redundancy* is the number of other
neurons in the same layer whose activation correlates with it above ``threshold`` (0.75,
SPEC A Fig. 7).

>>> import torch, models, interp
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(6,), d_out=1))
>>> live = interp.live_neurons(net, torch.linspace(-1, 1, 200).unsqueeze(1))
>>> live["hidden.0"].shape, live["hidden.0"].dtype
(torch.Size([6]), torch.bool)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

import probes
from models.validate import check, check_number, check_seed

from .evaluation import as_input, failed_members


def _check_threshold(name: str, value: float, low: float = 0.0, high: float = float("inf")) -> None:
    check_number(name, value, low, high, what=f"a finite number in [{low}, {high}]")


LIVE_RULES = ("auto", "absolute", "relative")
RELATIVE_QUANTILE = 0.9
"""The site's scale under the relative rule: this quantile of its neurons' variances."""


def live_rule_for(model: nn.Module, rule: str = "auto") -> str:
    """The live rule ``rule`` stands for on ``model``: ``auto`` is ``relative`` on language
    models (a TransformerLens bridge or hooked model), ``absolute`` elsewhere.

    >>> import models
    >>> live_rule_for(models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1)))
    'absolute'
    """
    check(rule in LIVE_RULES, "live_rule", rule, f"one of {LIVE_RULES}")
    if rule != "auto":
        return rule
    language = probes.hook_dict(model) is not None and getattr(model, "sites", None) is None
    return "relative" if language else "absolute"


def site_scale(variance: torch.Tensor) -> torch.Tensor:
    """A site's activation scale, ``[(M,)]``: the 90th percentile of its neurons' variances
    ``[(M,) width]``.

    >>> site_scale(torch.arange(11.0)).item()
    9.0
    """
    return torch.quantile(variance.double(), RELATIVE_QUANTILE, dim=-1)


def live_mask(variance: torch.Tensor, rule: str = "absolute", threshold: float = 1e-3) -> torch.Tensor:
    """Which neurons are live, ``bool [(M,) width]``, from their variances ``[(M,) width]``:
    ``absolute``: variance > threshold; ``relative``: variance > threshold × ``site_scale``.

    >>> v = torch.tensor([2e-4, 1e-4, 1e-9, 3e-4])      # a random LM's scale: all tiny
    >>> live_mask(v, "absolute").tolist(), live_mask(v, "relative").tolist()
    ([False, False, False, False], [True, True, False, True])
    """
    check(rule in ("absolute", "relative"), "live_rule", rule, "'absolute' or 'relative' (or 'auto' upstream)")
    _check_threshold("live_threshold", threshold)
    if rule == "absolute":
        return variance > threshold
    return variance > threshold * site_scale(variance).unsqueeze(-1).to(variance.dtype)


class LiveNeurons(dict):
    """``site -> bool [(M,) width]``, which neurons are live. ``failed``: ensemble member ->
    what went wrong (failed in training, or NaN/inf activations); a failed member's masks are
    all False and its ``counts()`` NaN, never a count of 0."""

    failed: dict[int, str] = {}

    def counts(self) -> dict[str, np.ndarray | int]:
        """Live neurons per site: an int, or a float array ``[M]`` with NaN for failed members."""
        out = {}
        for site, mask in self.items():
            n = mask.sum(-1).cpu().numpy()
            if n.ndim and self.failed:
                n = n.astype(float)
                n[list(self.failed)] = np.nan
            out[site] = int(n) if n.ndim == 0 else n
        return out

    def total(self) -> np.ndarray | int:
        """Live neurons over all sites (NaN for failed members)."""
        return sum(self.counts().values())


def live_neurons(model: nn.Module, inputs: Any, threshold: float = 1e-3, *, rule: str = "auto",
                 sites: str | Sequence[str] | None = None, batch_size: int = 1024, n_samples: int = 4096,
                 seed: int = 0) -> LiveNeurons:
    """Per site, which neurons are live under ``rule`` (see the module docs): activation
    variance over ``inputs`` > ``threshold`` (× the site's scale for ``relative``).

    ``inputs``: a tensor ``[N, ...]``, a ``Batch``, a list of them, or a ``Task`` (then
    ``n_samples`` of its evaluation inputs drawn with ``seed``, in pieces). Returns ``site ->
    bool [(M,) width]`` (a leading member axis for an ensemble), a ``LiveNeurons`` whose
    ``failed`` lists the ensemble members that failed. NaN/inf inputs, or NaN/inf activations
    of a single model, raise ``ValueError``.

    >>> import torch, models
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(3,), d_out=1))
    >>> with torch.no_grad():
    ...     _ = net.layers[0].weight.copy_(torch.tensor([[1.], [0.], [-2.]]))  # neuron 1 ignores its input
    >>> live_neurons(net, models.tasks.Square())["hidden.0"].tolist()
    [True, False, True]
    """
    _check_threshold("threshold", threshold)
    check_seed("seed", seed)
    rule = live_rule_for(model, rule)
    x = as_input(model, None, inputs, n_samples, seed, stream=batch_size)
    acts = probes.capture(model, x, sites=sites, stats=("var",), batch_size=batch_size)
    failed = {**acts.failed, **failed_members(model)}
    out = LiveNeurons()
    out.failed = dict(sorted(failed.items()))
    for site, s in acts.items():
        mask = live_mask(torch.nan_to_num(s.var, nan=0.0), rule, threshold)
        if failed:
            mask[list(failed)] = False
        out[site] = mask
    return out


@dataclass(frozen=True)
class Redundancy:
    """Per site, each neuron's redundancy (``counts[site]``: ``[(M,) width]`` ints, -1 for
    neurons left out because they are dead), and the ``live`` masks used.

    ``fraction(site)`` is the share of live neurons (or, ``of="all"``, of all neurons) with
    nonzero redundancy. ``failed``: ensemble member -> what went wrong; a failed member's
    counts are all -1 and its fraction NaN."""

    counts: dict[str, np.ndarray]
    live: dict[str, np.ndarray]
    threshold: float
    live_threshold: float
    failed: dict[int, str] = field(default_factory=dict)

    def fraction(self, site: str | None = None, of: str = "live") -> float | np.ndarray:
        """Share of neurons with redundancy > 0 at ``site`` (all sites pooled when None);
        an array over members for an ensemble. ``of="live"`` divides by the live neurons,
        ``of="all"`` by every neuron of the site (dead ones count as not redundant)."""
        check(of in ("live", "all"), "of", of, "'live' or 'all'")
        names = list(self.counts) if site is None else [site]
        for n in names:
            check(n in self.counts, "site", n, f"one of {list(self.counts)}")
        red = sum(((self.counts[n] > 0) & self.live[n]).sum(-1) for n in names)
        live = sum((self.live[n] if of == "live" else np.ones_like(self.live[n])).sum(-1) for n in names)
        out = np.where(live > 0, red / np.maximum(live, 1), 0.0)
        if np.ndim(out) and self.failed:
            out[list(self.failed)] = np.nan
        return float(out) if np.ndim(out) == 0 else out

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "live_threshold": self.live_threshold,
                "failed": {str(k): v for k, v in self.failed.items()},
                "counts": {k: v.tolist() for k, v in self.counts.items()},
                "live": {k: v.tolist() for k, v in self.live.items()},
                "fraction": {k: np.asarray(self.fraction(k)).tolist() for k in self.counts}}


def redundancy_from_corr(corr: torch.Tensor, live: torch.Tensor, threshold: float = 0.75,
                         absolute: bool = False) -> torch.Tensor:
    """Redundancy from a correlation matrix ``[(M,) d, d]`` and a live mask ``[(M,) d]``:
    for each live neuron, how many *other* live neurons correlate above ``threshold``
    (``|corr|`` when ``absolute``); -1 for dead neurons.

    >>> c = torch.tensor([[1., .9, 0.], [.9, 1., 0.], [0., 0., 1.]])
    >>> redundancy_from_corr(c, torch.tensor([True, True, True])).tolist()
    [1, 1, 0]
    """
    r = corr.abs() if absolute else corr
    both = live.unsqueeze(-1) & live.unsqueeze(-2)
    eye = torch.eye(corr.shape[-1], dtype=torch.bool)
    hits = (r > threshold) & both & ~eye
    return torch.where(live, hits.sum(-1), torch.full_like(hits.sum(-1), -1))


def redundancy(model: nn.Module, inputs: Any, threshold: float = 0.75, *, sites: str | Sequence[str] | None = None,
               live_threshold: float = 1e-3, absolute: bool = False, batch_size: int = 1024, n_samples: int = 4096,
               seed: int = 0) -> Redundancy:
    """Neuron redundancy (SPEC A Fig. 7): per live neuron, the number of other live neurons in
    its layer whose activations correlate above ``threshold`` over ``inputs`` (streamed
    co-moments, so memory is ``width²`` per site whatever the number of inputs).

    >>> import torch, models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1))
    >>> with torch.no_grad():
    ...     _ = net.layers[0].weight.copy_(torch.tensor([[1.], [1.], [-3.], [0.]]))
    ...     _ = net.layers[0].bias.copy_(torch.tensor([0.2, 0.2, 0., 0.5]))
    >>> red = interp.redundancy(net, models.tasks.Square())
    >>> red.counts["hidden.0"].tolist(), red.fraction()     # 0 and 1 duplicate each other; 3 is dead
    ([1, 1, 0, -1], 0.6666666666666666)
    """
    _check_threshold("threshold", threshold, -1.0, 1.0)
    _check_threshold("live_threshold", live_threshold)
    check_seed("seed", seed)
    x = as_input(model, None, inputs, n_samples, seed, stream=batch_size)
    acts = probes.capture(model, x, sites=sites, stats=("var", "corr"), batch_size=batch_size)
    failed = dict(sorted({**acts.failed, **failed_members(model)}.items()))
    counts, live = {}, {}
    for site, s in acts.items():
        alive = s.var > live_threshold
        if failed:
            alive[list(failed)] = False
        counts[site] = redundancy_from_corr(torch.nan_to_num(s.corr), alive, threshold, absolute).numpy()
        live[site] = alive.numpy()
    return Redundancy(counts, live, float(threshold), float(live_threshold), failed)
