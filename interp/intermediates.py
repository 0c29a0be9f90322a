"""Probes: how neurons relate to quantities the task computes along the way.

- ``correlations(model, inputs, target)``: signed correlation of every neuron with a target
  quantity (streamed cross-moments).
- ``probe_intermediate(model, task, "g")``: the same for one of the task's intermediate
  quantities (the series task's g = (x1−x2)² + (x3−x4)²), with the live neurons marked.
- ``linear_probe(model, inputs, target, site)``: a ridge regression (scikit-learn) from a
  site's activations to the target, scored on held-out inputs.
- ``skill_strengths(model, task)``: R_k/S of each skill of a sparse-parity task.

>>> import torch, models, interp
>>> net = models.MLP(models.MLPConfig(d_in=4, widths=(8, 8), d_out=1))
>>> res = interp.probe_intermediate(net, models.tasks.Series(), "g", n_samples=500)
>>> res.corr["hidden.1"].shape
(8,)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

import probes
from models.tasks import Task
from models.validate import check, check_number, check_seed

from .evaluation import as_input, check_task


def correlations(model: nn.Module, inputs: Any, target: torch.Tensor | Callable, *,
                 sites: str | Sequence[str] | None = None, batch_size: int = 1024) -> dict[str, torch.Tensor]:
    """Signed correlation of each neuron with ``target`` over ``inputs``: ``site -> [(M,) width]``
    for a target ``[N]`` (``[(M,) width, k]`` for ``[N, k]``). ``target`` may be a function of
    a piece of input. Memory does not grow with N.

    >>> import torch, models
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(3,), d_out=1))
    >>> x = torch.linspace(-1, 1, 300).unsqueeze(1)
    >>> correlations(net, x, x[:, 0])["hidden.0"].shape
    torch.Size([3])
    """
    one = not callable(target) and torch.as_tensor(target).dim() == 1
    if not callable(target):
        t = torch.as_tensor(target)
        n = inputs.shape[0] if isinstance(inputs, torch.Tensor) else None
        if n is not None:
            check(t.shape[0] == n, "target", tuple(t.shape), f"one value per input ([{n}] or [{n}, k])")
    acts = probes.capture(model, inputs, sites=sites, stats=("cross",), targets=target, batch_size=batch_size)
    return {s: (a.cross_corr[..., 0] if one else a.cross_corr) for s, a in acts.items()}


@dataclass(frozen=True)
class IntermediateCorrelation:
    """Per site, each neuron's signed correlation with the intermediate ``name``
    (``corr[site] [n]``) and which neurons are live (``live[site]``)."""

    name: str
    corr: dict[str, np.ndarray]
    live: dict[str, np.ndarray]

    def positive(self, site: str, threshold: float = 0.5) -> np.ndarray:
        """Live neurons correlating above ``threshold``."""
        check(site in self.corr, "site", site, f"one of {list(self.corr)}")
        return np.flatnonzero(self.live[site] & (self.corr[site] > threshold))

    def negative(self, site: str, threshold: float = 0.5) -> np.ndarray:
        """Live neurons correlating below ``-threshold``."""
        check(site in self.corr, "site", site, f"one of {list(self.corr)}")
        return np.flatnonzero(self.live[site] & (self.corr[site] < -threshold))

    def strongest(self, site: str) -> float:
        """The largest |correlation| among live neurons at ``site`` (0 without live neurons)."""
        c = np.abs(self.corr[site][self.live[site]])
        return float(c.max()) if c.size else 0.0

    def to_dict(self) -> dict:
        return {"name": self.name, "corr": {k: v.tolist() for k, v in self.corr.items()},
                "live": {k: v.tolist() for k, v in self.live.items()}}


def probe_intermediate(model: nn.Module, task: Task, name: str | None = None, *, inputs: Any = None,
                       sites: str | Sequence[str] | None = None, live_threshold: float = 1e-3, n_samples: int = 4096,
                       seed: int = 0, batch_size: int = 1024, member: int | None = None) -> IntermediateCorrelation:
    """Correlation of every neuron with the task's intermediate quantity ``name`` (default:
    the first of ``task.intermediates``), signed, over ``n_samples`` task inputs. For an
    ensemble pass ``member``.

    >>> import models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=4, widths=(6,), d_out=1))
    >>> interp.probe_intermediate(net, models.tasks.Series(), n_samples=200).name
    'g'
    """
    if member is not None:
        check(probes.n_members(model) is not None, "member", member, "None for a single model")
        model = model.member(member)
    check(probes.n_members(model) is None, "member", member, "an ensemble member index for an ensemble")
    check_task(model, task)
    x = as_input(model, task, inputs, n_samples, seed)
    names = list(task.intermediates(x[:2]))
    check(len(names) > 0, "task", task, "a task with intermediate quantities (task.intermediates)")
    name = names[0] if name is None else name
    check(name in names, "name", name, f"one of the task's intermediates {names}")
    acts = probes.capture(model, x, sites=sites, stats=("var", "cross"), batch_size=batch_size,
                          targets=lambda piece: task.intermediates(piece)[name])
    corr = {s: a.cross_corr[..., 0].numpy() for s, a in acts.items()}
    live = {s: (a.var > live_threshold).numpy() for s, a in acts.items()}
    return IntermediateCorrelation(name, corr, live)


@dataclass(frozen=True)
class LinearProbe:
    """A ridge regression from a site's activations to a target: ``r2_train``, ``r2_test`` (held
    out), the fitted ``coef [width(, k)]`` and ``intercept``."""

    site: str
    r2_train: float
    r2_test: float
    coef: np.ndarray
    intercept: np.ndarray | float
    n_train: int
    n_test: int

    def predict(self, activations: torch.Tensor | np.ndarray) -> np.ndarray:
        a = np.asarray(activations, dtype=np.float64)
        return a @ self.coef + self.intercept


def linear_probe(model: nn.Module, inputs: Any, target: torch.Tensor, site: str, *, alpha: float = 1e-3,
                 test_fraction: float = 0.25, seed: int = 0, batch_size: int = 1024) -> LinearProbe:
    """Fit ``target [N(, k)]`` from the activations at ``site`` over ``inputs [N, ...]`` with a
    ridge regression (scikit-learn, penalty ``alpha``), holding out ``test_fraction`` of the
    inputs (shuffled with ``seed``) to score R². Keeps the site's raw activations (N × width).

    >>> import torch, models
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(16,), d_out=1))
    >>> x = torch.linspace(-1, 1, 400).unsqueeze(1)
    >>> linear_probe(net, x, x[:, 0] ** 2, "hidden.0").r2_test > 0.9
    True
    """
    from sklearn.linear_model import Ridge

    check_number("test_fraction", test_fraction, what="a number in (0, 1)")
    check(0 < test_fraction < 1, "test_fraction", test_fraction, "a number in (0, 1)")
    check_seed("seed", seed)
    check_number("alpha", alpha, 0.0, what="a finite ridge penalty ≥ 0")
    check(probes.n_members(model) is None, "model", type(model).__name__, "a single model (pick ensemble.member(i))")
    y = torch.as_tensor(target).double()
    probes.check_finite("target", y)
    acts = probes.capture(model, inputs, sites=[site], stats=("raw",), batch_size=batch_size)
    a = acts[site].raw.double().numpy()
    y = np.asarray(y)
    lead = y.shape[0]
    check(a.shape[0] % lead == 0 and lead > 0, "target", y.shape,
          f"one value per input (the site gave {a.shape[0]} activation rows)")
    if a.shape[0] != lead:  # positions: repeat each input's target over its positions
        y = np.repeat(y, a.shape[0] // lead, axis=0)
    n = a.shape[0]
    check(n >= 4, "inputs", n, "at least 4 inputs to split into train and test")
    order = np.random.default_rng(seed).permutation(n)
    n_test = max(1, int(round(n * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    reg = Ridge(alpha=alpha).fit(a[train], y[train])
    return LinearProbe(site, float(reg.score(a[train], y[train])), float(reg.score(a[test], y[test])),
                       np.asarray(reg.coef_).T, reg.intercept_, len(train), len(test))


def skill_strengths(model: nn.Module, task: Task, *, n_samples: int = 4096, seed: int = 0) -> torch.Tensor:
    """R_k / S of each skill of a sparse-parity task on ``n_samples`` balanced evaluation
    inputs: ``[(M,) n_skills]`` (1 = learned, 0 = ignored).

    >>> import models
    >>> task = models.tasks.SparseParity(n_skills=3, n_bits=9)
    >>> net = models.MLP(models.MLPConfig(d_in=task.d_in, widths=(8,), d_out=1))
    >>> skill_strengths(net, task, n_samples=300).shape
    torch.Size([3])
    """
    check(hasattr(task, "skill_strength"), "task", task, "a task with skill strengths (models.tasks.SparseParity)")
    check_task(model, task)
    batch = task.eval_batch(n_samples, torch.Generator().manual_seed(seed))
    with torch.no_grad(), probes.evaluating(model):
        pred = model(batch.x.to(probes.model_device(model))).cpu()
    return task.skill_strength(pred, batch)
