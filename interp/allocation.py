"""Which subtask each neuron serves: ``interp.allocate(model, task, method=...)``.

One score matrix ``[neurons, subtasks]`` per site, filled by one of four methods, then a
threshold. Scores are normalised so one threshold reads the same on every model:

- ``weights``: the share of a neuron's input variance that comes from each subtask's input
  group (``Σ_{j∈G_k} w_j² var(x_j) / Σ_j w_j² var(x_j)``: the paper's rule for Fig. 3, "which
  input its first-layer weight reads"), propagated to deeper layers through the shares of
  the neurons each one reads. Zoo MLPs and ensembles; default threshold 0.05.
- ``ablation``: replace one neuron by its mean over the inputs, measure each subtask's loss
  change, divided by that subtask's loss (relative increase). Exact; one pass per live
  neuron (copies of the batch run side by side). Default threshold 0.01.
- ``attribution``: the first-order estimate of the same change, ``∂ℓ_k/∂a · (mean − a)``,
  from one backward pass per subtask (one in all when every sample belongs to one subtask),
  summed per sample and position in absolute value (signed sums cancel near a minimum of
  the loss, where a used neuron's first-order effect averages to zero), divided by the
  subtask's loss. For large models; default threshold 0.01.
- ``probe``: ``|corr|`` of a neuron with each of the task's intermediate quantities
  (``task.intermediates``, e.g. the series task's g); the columns are those quantities.
  Default threshold 0.5.

A neuron is live when its activation variance exceeds ``live_threshold`` (1e-3); a live
neuron serves subtask k when its score for k reaches the threshold and at least
``dominance`` (0.1) of its largest score, so a side effect a tenth the size of a neuron's
main effect (a small leak into another output) does not make it shared. It is then assigned to
that subtask, to ``"shared"`` when it serves several, or to ``"unallocated"`` when it serves
none (dead neurons are always unallocated and are not ablated: their score is 0).

>>> import torch, models, interp
>>> task = models.tasks.Parallel(beta=0.75)
>>> net = models.MLP(models.MLPConfig(d_in=2, widths=(6,), d_out=2))
>>> with torch.no_grad():
...     _ = net.layers[0].weight.copy_(torch.tensor([[1., 0], [-1, 0], [0, 1], [0, -1], [0, 0], [1, 1]]))
>>> alloc = interp.allocate(net, task, method="weights")
>>> alloc.counts(), alloc.assignment("hidden.0")
({'x1^2': 3, 'x2^2': 3}, ['x1^2', 'x1^2', 'x2^2', 'x2^2', 'unallocated', 'shared'])
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

import probes
from models.tasks import Task
from models.validate import check

from ._common import (check_task, eval_pieces, input_groups, mlp_weights, per_sample_subtasks, subtask_counts)

METHODS = ("auto", "weights", "ablation", "attribution", "probe")
DEFAULT_THRESHOLDS = {"weights": 0.05, "ablation": 0.01, "attribution": 0.01, "probe": 0.5}
SHARED, UNALLOCATED = "shared", "unallocated"
ABLATION_LIMIT = 8192
"""``auto`` ablates when the model has at most this many neurons at the chosen sites."""


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allocation:
    """Neuron accounting of one network.

    Per site (``sites``, in forward order): ``live [n]`` (bool), ``variance [n]`` and
    ``scores [n, K]`` (numpy), with ``subtasks`` naming the K columns (the task's subtasks,
    or its intermediate quantities for ``method="probe"``); ``losses [K]`` are the subtask
    losses on the evaluation set (NaN for ``probe``). ``member`` is the ensemble member
    this allocation belongs to (None for a single model).
    """

    method: str
    subtasks: tuple[str, ...]
    sites: tuple[str, ...]
    live: dict[str, np.ndarray]
    variance: dict[str, np.ndarray]
    scores: dict[str, np.ndarray]
    threshold: float
    live_threshold: float
    losses: np.ndarray
    n_samples: int
    member: int | None = None
    dominance: float = 0.1
    notes: dict = field(default_factory=dict)

    def rethreshold(self, threshold: float | None = None, dominance: float | None = None,
                    live_threshold: float | None = None) -> "Allocation":
        """The same scores under other thresholds (no model needed)."""
        changes = {}
        if threshold is not None:
            changes["threshold"] = float(threshold)
        if dominance is not None:
            check(0 <= dominance <= 1, "dominance", dominance, "a number in [0, 1]")
            changes["dominance"] = float(dominance)
        if live_threshold is not None:
            check(live_threshold >= 0, "live_threshold", live_threshold, "a number ≥ 0")
            changes["live_threshold"] = float(live_threshold)
            changes["live"] = {s: self.variance[s] > live_threshold for s in self.sites}
        return replace(self, **changes)

    # -- per neuron --------------------------------------------------------------------
    def _site(self, site: str) -> str:
        check(site in self.sites, "site", site, f"one of {list(self.sites)}")
        return site

    def assigned(self, site: str) -> np.ndarray:
        """Which subtasks each neuron serves, ``bool [n, K]``."""
        site = self._site(site)
        s = self.scores[site]
        top = s.max(1, keepdims=True) if s.shape[1] else np.zeros((s.shape[0], 1))
        return self.live[site][:, None] & (s >= self.threshold) & (s >= self.dominance * top)

    def assignment(self, site: str) -> list[str]:
        """Per neuron: its subtask's name, ``"shared"`` or ``"unallocated"``."""
        a = self.assigned(site)
        n = a.sum(1)
        return [self.subtasks[int(row.argmax())] if c == 1 else (SHARED if c > 1 else UNALLOCATED)
                for row, c in zip(a, n)]

    def neurons(self, subtask: str, site: str | None = None,
                exclusive: bool = False) -> dict[str, np.ndarray] | np.ndarray:
        """Indices of the neurons serving ``subtask`` (only it, when ``exclusive``), per site or at one site."""
        check(subtask in self.subtasks, "subtask", subtask, f"one of {list(self.subtasks)}")
        k = self.subtasks.index(subtask)

        def at(s):
            a = self.assigned(s)
            hit = a[:, k] & ((a.sum(1) == 1) if exclusive else True)
            return np.flatnonzero(hit)
        return at(site) if site is not None else {s: at(s) for s in self.sites}

    # -- counts ------------------------------------------------------------------------
    def counts(self, exclusive: bool = False) -> dict[str, int]:
        """Neurons serving each subtask over all sites (a shared neuron counts for each of
        its subtasks unless ``exclusive``)."""
        tot = np.zeros(len(self.subtasks), dtype=int)
        for s in self.sites:
            a = self.assigned(s)
            if exclusive:
                a = a & (a.sum(1, keepdims=True) == 1)
            tot += a.sum(0)
        return {name: int(c) for name, c in zip(self.subtasks, tot)}

    @property
    def n_live(self) -> int:
        return int(sum(self.live[s].sum() for s in self.sites))

    @property
    def n_shared(self) -> int:
        return int(sum((self.assigned(s).sum(1) > 1).sum() for s in self.sites))

    @property
    def n_unallocated(self) -> int:
        """Neurons serving no subtask (dead ones included)."""
        return int(sum((self.assigned(s).sum(1) == 0).sum() for s in self.sites))

    def by_layer(self) -> dict[str, dict[str, int]]:
        """Per site: neurons serving each subtask (exclusively), ``shared``, ``unallocated``
        (live but serving none), ``dead``, ``live`` and ``total``."""
        out = {}
        for s in self.sites:
            a = self.assigned(s)
            n = a.sum(1)
            row = {name: int((a[:, k] & (n == 1)).sum()) for k, name in enumerate(self.subtasks)}
            live = self.live[s]
            row.update(shared=int((n > 1).sum()), unallocated=int((live & (n == 0)).sum()),
                       dead=int((~live).sum()), live=int(live.sum()), total=int(live.size))
            out[s] = row
        return out

    def ratio(self, a: str, b: str) -> float:
        """``counts()[a] / counts()[b]`` (inf when b has none, NaN when neither has)."""
        c = self.counts()
        for name in (a, b):
            check(name in c, "subtask", name, f"one of {list(c)}")
        if c[b] == 0:
            return math.nan if c[a] == 0 else math.inf
        return c[a] / c[b]

    def ratios(self) -> dict[str, float]:
        """Each subtask's share of the neurons serving some subtask (shares sum to 1 without sharing)."""
        c = self.counts()
        total = sum(c.values())
        return {k: (v / total if total else math.nan) for k, v in c.items()}

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready: the settings, counts, per-layer table and the per-neuron arrays."""
        return {
            "method": self.method, "subtasks": list(self.subtasks), "sites": list(self.sites),
            "threshold": self.threshold, "dominance": self.dominance, "live_threshold": self.live_threshold,
            "n_samples": self.n_samples,
            "member": self.member, "losses": [None if not np.isfinite(v) else float(v) for v in self.losses],
            "counts": self.counts(), "by_layer": self.by_layer(), "notes": self.notes,
            "neurons": {s: {"live": self.live[s].tolist(), "variance": self.variance[s].tolist(),
                            "scores": self.scores[s].tolist(), "assignment": self.assignment(s)}
                        for s in self.sites},
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Allocation":
        sites = tuple(d["sites"])
        k = len(d["subtasks"])
        return cls(method=d["method"], subtasks=tuple(d["subtasks"]), sites=sites,
                   live={s: np.asarray(d["neurons"][s]["live"], dtype=bool) for s in sites},
                   variance={s: np.asarray(d["neurons"][s]["variance"], dtype=float) for s in sites},
                   scores={s: np.asarray(d["neurons"][s]["scores"], dtype=float).reshape(-1, k) for s in sites},
                   threshold=float(d["threshold"]), live_threshold=float(d["live_threshold"]),
                   losses=np.asarray([np.nan if v is None else v for v in d["losses"]], dtype=float),
                   n_samples=int(d["n_samples"]), member=d.get("member"), dominance=float(d.get("dominance", 0.0)),
                   notes=dict(d.get("notes", {})))

    def to_json(self, path: str | Path | None = None) -> str:
        """The ``to_dict`` as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "Allocation":
        p = Path(text_or_path) if not str(text_or_path).lstrip().startswith("{") else None
        return cls.from_dict(json.loads(p.read_text() if p is not None else str(text_or_path)))

    # -- display -----------------------------------------------------------------------
    def table(self) -> str:
        """A per-layer, per-subtask text table."""
        layers = self.by_layer()
        cols = [*self.subtasks, SHARED, UNALLOCATED, "dead", "live", "total"]
        total = {c: sum(r[c] for r in layers.values()) for c in cols}
        rows = [[s, *[str(r[c]) for c in cols]] for s, r in layers.items()] + [["all", *[str(total[c]) for c in cols]]]
        head = ["site", *cols]
        widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
        fmt = lambda r: "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
        title = f"method={self.method} threshold={self.threshold:g} dominance={self.dominance:g} " \
                f"live_threshold={self.live_threshold:g} " \
                f"n_samples={self.n_samples}" + (f" member={self.member}" if self.member is not None else "")
        return "\n".join([title, fmt(head), fmt(["-" * w for w in widths]), *map(fmt, rows)])

    def __str__(self) -> str:
        return self.table()

    def plot(self, ax=None):
        """Stacked bars: per site, the neurons serving each subtask, shared and live-unallocated.
        Returns the matplotlib axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(1.2 + 0.8 * len(self.sites), 3.2))
        layers = self.by_layer()
        x = np.arange(len(self.sites))
        bottom = np.zeros(len(self.sites))
        for name in [*self.subtasks, SHARED, UNALLOCATED]:
            h = np.array([layers[s][name] for s in self.sites], dtype=float)
            if name in (SHARED, UNALLOCATED) and not h.any():
                continue
            ax.bar(x, h, bottom=bottom, label=name if name != UNALLOCATED else "live, unallocated")
            bottom += h
        ax.set_xticks(x, list(self.sites), rotation=30, ha="right")
        ax.set_ylabel("neurons")
        ax.set_title(f"allocation ({self.method})")
        ax.legend(fontsize="small")
        return ax


# --------------------------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------------------------
def allocate(model: nn.Module, task: Task, method: str = "auto", *, inputs: Any = None,
             sites: str | Sequence[str] | None = None, threshold: float | None = None, dominance: float = 0.1, live_threshold: float = 1e-3,
             n_samples: int = 4096, seed: int = 0,
             batch_size: int = 1024, max_elements: int = 2**24) -> "Allocation | list[Allocation]":
    """Account for the neurons of ``model`` on ``task``: live or not, a score per subtask, an
    assignment (see the module docs for the methods and thresholds).

    ``inputs``: the evaluation set (a ``Batch`` or a list of them); by default
    ``task.eval_batch(n_samples, Generator(seed))``. Statistics stream in ``batch_size``
    pieces, so memory does not grow with the evaluation set. ``sites``: default, the model's
    neuron sites. ``method="auto"`` picks ``weights`` for a one-hidden-layer zoo MLP on a task
    with known input groups, ``ablation`` when the sites hold at most 8192 neurons, else
    ``attribution``; ``Allocation.method`` says which ran. An ensemble (``models.Ensemble``)
    gives a list with one ``Allocation`` per member. ``threshold`` (per-method default) and
    ``dominance`` decide which subtasks a live neuron serves; ``Allocation.rethreshold``
    changes them afterwards. ``max_elements`` bounds the side-by-side ablation batches.

    >>> import models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(8,), d_out=1))
    >>> alloc = interp.allocate(net, models.tasks.Square(), method="ablation", n_samples=256)
    >>> alloc.method, sorted(alloc.counts())
    ('ablation', ['x^2'])
    """
    check(method in METHODS, "method", method, f"one of {METHODS}")
    check(isinstance(live_threshold, (int, float)) and live_threshold >= 0, "live_threshold", live_threshold,
          "a number ≥ 0")
    check(isinstance(max_elements, int) and max_elements >= 1, "max_elements", max_elements, "an integer ≥ 1")
    check(isinstance(dominance, (int, float)) and 0 <= dominance <= 1, "dominance", dominance, "a number in [0, 1]")
    check_task(model, task)
    names = probes.resolve_sites(model, sites)
    pieces = eval_pieces(model, task, inputs, n_samples, seed, batch_size)
    members = probes.n_members(model)

    if method == "auto":
        method = _auto(model, task, names)
    if threshold is None:
        threshold = DEFAULT_THRESHOLDS[method]
    check(isinstance(threshold, (int, float)) and math.isfinite(threshold), "threshold", threshold, "a finite number")

    intermediates = None
    if method == "probe":
        q = task.intermediates(pieces[0].x)
        check(len(q) > 0, "method", method,
              f"a task with intermediate quantities (task.intermediates); {task!r} has none")
        intermediates = list(q)
    base = _base_pass(model, task, pieces, names, members, intermediates)
    variance = base["var"]
    live = {s: v > live_threshold for s, v in variance.items()}
    n_total = base["n_samples"]

    with probes.evaluating(model):
        if method == "weights":
            scores = _weights_scores(model, task, names, pieces, variance)
            columns = task.subtasks
        elif method == "ablation":
            scores = _ablation_scores(model, task, pieces, names, base, live, members, max_elements)
            columns = task.subtasks
        elif method == "attribution":
            scores = _attribution_scores(model, task, pieces, names, base, members)
            columns = task.subtasks
        else:
            scores = {s: base["cross"][s].abs() for s in names}
            columns = tuple(intermediates)

    lead = (members,) if members else ()
    losses = base["losses"] if method != "probe" else torch.full((*lead, len(columns)), math.nan)
    notes = {"model": type(model).__name__, "task": repr(task)}

    def one(m: int | None) -> Allocation:
        sel = (lambda t: t[m]) if m is not None else (lambda t: t)
        return Allocation(method=method, subtasks=tuple(columns), sites=tuple(names),
                          live={s: sel(live[s]).numpy().astype(bool) for s in names},
                          variance={s: sel(variance[s]).numpy() for s in names},
                          scores={s: np.nan_to_num(sel(scores[s]).double().numpy()) for s in names},
                          threshold=float(threshold), live_threshold=float(live_threshold),
                          losses=sel(losses).double().numpy(), n_samples=int(n_total), member=m,
                          dominance=float(dominance), notes=notes)

    if members is None:
        return one(None)
    return [one(m) for m in range(members)]


def _auto(model: nn.Module, task: Task, names: list[str]) -> str:
    weights = mlp_weights(model)
    if weights is not None and len(weights) == 2 and input_groups(task) is not None:
        return "weights"
    widths = probes.neuron_sites(model)
    total = sum((widths.get(s) or 0) for s in names)
    if total == 0 or total <= ABLATION_LIMIT:
        return "ablation"
    return "attribution"


def _split(act: torch.Tensor, members: int | None, copies: int) -> torch.Tensor:
    """``[(M,) copies·B, ...]`` -> ``[(M,) copies, B, ...]``."""
    ax = 1 if members is not None else 0
    b = act.shape[ax] // copies
    return act.reshape(*act.shape[:ax], copies, b, *act.shape[ax + 1:])


def _output(out) -> torch.Tensor:
    return out.logits if hasattr(out, "logits") else out


def _base_pass(model, task, pieces, names, members, intermediates) -> dict:
    """Per site mean/var (and correlation with the intermediates); weighted subtask losses."""
    K = len(task.subtasks)
    lead = (members,) if members is not None else ()
    acc: dict[str, probes.Moments] = {}
    current = {}
    loss_sum = torch.zeros(*lead, K, dtype=torch.float64)
    weight_sum = torch.zeros(K, dtype=torch.float64)
    n = 0

    def on_act(site, act):
        a = probes.as_samples(act.detach(), members)
        if site not in acc:
            acc[site] = probes.Moments(a.shape[-1], lead=lead, cross=len(intermediates or ()))
        y = None
        if intermediates:
            y = probes.broadcast_targets(current["q"], act, members)
        acc[site].update(a, y)

    with torch.no_grad(), probes.evaluating(model), probes.attached(model, names, on_act):
        for batch in pieces:
            if intermediates:
                q = task.intermediates(batch.x)
                current["q"] = torch.stack([q[name].reshape(batch.x.shape[0]) for name in intermediates], -1)
            pred = _output(model(batch.x))
            w = subtask_counts(batch, K)
            loss_sum += task.subtask_losses(pred, batch).detach().double().cpu() * w
            weight_sum += w
            n += batch.x.shape[0]
    for s in names:
        check(s in acc, "sites", s, "a site the forward pass runs through (this one never fired)")
    return {"mean": {s: acc[s].mean for s in names}, "var": {s: acc[s].var for s in names},
            "cross": {s: acc[s].cross_corr() for s in names} if intermediates else None,
            "losses": loss_sum / weight_sum.clamp_min(1), "weight_sum": weight_sum, "n_samples": n}


def _relative(delta: torch.Tensor, base: dict) -> torch.Tensor:
    """Loss changes summed with weights ``[..., n, K]`` -> relative to each subtask's loss."""
    mean = delta / base["weight_sum"].clamp_min(1)
    loss = base["losses"].unsqueeze(-2)  # [(M,) 1, K]
    return mean / loss.clamp_min(1e-30)


def _ablation_scores(model, task, pieces, names, base, live, members, max_elements) -> dict[str, torch.Tensor]:
    K = len(task.subtasks)
    lead = (members,) if members is not None else ()
    # elements one copy of a batch takes (output and the widest site), to size the chunks
    sizes = {}
    with torch.no_grad(), probes.attached(model, names, lambda s, a: sizes.__setitem__(s, a.numel())):
        per_copy = _output(model(pieces[0].x)).numel()
    per_copy = max(per_copy, *sizes.values()) * 4
    chunk = max(1, min(512, max_elements // max(per_copy, 1)))
    readout = _linear_readout(model)
    out = {}
    for site in names:
        mu = base["mean"][site].float()  # [(M,) d]
        d = mu.shape[-1]
        alive = live[site] if members is None else live[site].any(0)
        ids_all = alive.nonzero().flatten()
        delta = torch.zeros(*lead, d, K, dtype=torch.float64)
        for batch in pieces:
            w = subtask_counts(batch, K)
            kept = {}
            with torch.no_grad(), probes.attached(model, [site], lambda s, a: kept.__setitem__(s, a)):
                pred = _output(model(batch.x))
            base_b = task.subtask_losses(pred, batch).double().cpu()  # [(M,) K]
            for ids in ids_all.split(chunk):
                if readout is not None and site == readout[0]:
                    ablated = _ablate_readout(pred, kept[site], mu, readout[1], ids, members)
                else:
                    ablated = _ablate_forward(model, batch.x, site, mu, ids, members)
                losses = task.subtask_losses(ablated, batch).double().cpu()  # [(M,) J, K]
                delta[..., ids, :] += (losses - base_b.unsqueeze(-2)) * w
        out[site] = _relative(delta, base)
    return out


def _linear_readout(model) -> tuple[str, torch.Tensor] | None:
    """(last hidden site, its read-out weights ``[(M,) d, d_out]``) of a zoo MLP, whose output
    is linear in that site: ablating there needs no forward pass."""
    weights = mlp_weights(model)
    if weights is None:
        return None
    return f"hidden.{len(weights) - 2}", weights[-1]


def _ablate_readout(pred, act, mu, w_out, ids, members) -> torch.Tensor:
    """Outputs with each neuron of ``ids`` in turn set to its mean: ``[(M,) J, B, d_out]``."""
    ids = ids.to(act.device)
    delta = (mu.to(act.device)[..., ids].unsqueeze(-2) - act[..., ids]).to(pred.dtype)  # [(M,) B, J]
    change = delta.unsqueeze(-1) * w_out.to(pred.device)[..., ids, :].unsqueeze(-3).to(pred.dtype)  # [(M,) B, J, o]
    return (pred.unsqueeze(-2) + change).movedim(-2, -3)


def _ablate_forward(model, x, site, mu, ids, members) -> torch.Tensor:
    """Outputs with each neuron of ``ids`` in turn set to its mean, from J copies of the batch
    run side by side: ``[(M,) J, B, ...]``."""
    J, d = ids.numel(), mu.shape[-1]
    lead = (members,) if members is not None else ()
    mask = torch.zeros(J, d)
    mask[torch.arange(J), ids] = 1.0

    def swap(s, act):
        a = _split(act, members, J)  # [(M,) J, B, ..., d]
        extra = a.dim() - len(lead) - 3  # axes between the batch and the neurons
        m = mask.reshape(J, *([1] * (extra + 1)), d).to(a.device, a.dtype)
        v = mu.reshape(*lead, 1, *([1] * (extra + 1)), d).to(a.device, a.dtype)
        return (a * (1 - m) + v * m).reshape(act.shape)

    xr = x.repeat(J, *([1] * (x.dim() - 1)))
    with torch.no_grad(), probes.attached(model, [site], swap):
        return _split(_output(model(xr)), members, J)


def _attribution_scores(model, task, pieces, names, base, members) -> dict[str, torch.Tensor]:
    K = len(task.subtasks)
    lead = (members,) if members is not None else ()
    mu = {s: base["mean"][s] for s in names}
    total = {s: torch.zeros(*lead, mu[s].shape[-1], K, dtype=torch.float64) for s in names}
    for batch in pieces:
        zeros, acts = {}, {}

        def tap(site, act):
            z = torch.zeros_like(act, requires_grad=True)
            zeros[site], acts[site] = z, act.detach()
            return act + z

        with torch.enable_grad(), probes.attached(model, names, tap):
            pred = _output(model(batch.x))
            losses = task.subtask_losses(pred, batch)  # [(M,) K]
            losses = losses.reshape(-1, K).sum(0)  # members are independent: sum them
            w = subtask_counts(batch, K)
            order = [s for s in names if s in zeros]
            check(len(order) == len(names), "sites", names, "sites the forward pass runs through")
            if per_sample_subtasks(batch):
                grads = torch.autograd.grad(losses.sum(), [zeros[s] for s in order], allow_unused=True)
                onehot = torch.nn.functional.one_hot(batch.subtask.reshape(-1).cpu(), K).double()  # [B, K]
                for s, g in zip(order, grads):
                    c = _contrib(g, acts[s], mu[s], members)  # [(M,) B, d]
                    total[s] += torch.einsum("...bd,bk->...dk", c, onehot) * w
            else:
                for k in range(K):
                    grads = torch.autograd.grad(losses[k], [zeros[s] for s in order], retain_graph=k < K - 1,
                                                allow_unused=True)
                    for s, g in zip(order, grads):
                        total[s][..., k] += _contrib(g, acts[s], mu[s], members).sum(-2) * w[k]
    return {s: _relative(total[s], base) for s in names}


def _contrib(g: torch.Tensor | None, act: torch.Tensor, mu: torch.Tensor, members: int | None) -> torch.Tensor:
    """``|g · (mean − a)|`` summed over positions: ``[(M,) B, d]``. The gradient of a mean loss
    carries the 1/n of the mean, so the sum over samples is on the scale of the loss."""
    if g is None:
        g = torch.zeros_like(act)
    lead = 1 if members is not None else 0
    v = mu.reshape(*mu.shape[:-1], *([1] * (act.dim() - lead - 1)), mu.shape[-1]).to(act.device, act.dtype)
    c = (g.detach() * (v - act)).abs().double().cpu()
    return c.reshape(*c.shape[:lead + 1], -1, c.shape[-1]).sum(-2) if c.dim() > lead + 2 else c


def _weights_scores(model, task, names, pieces, variance) -> dict[str, torch.Tensor]:
    weights = mlp_weights(model)
    check(weights is not None, "method", "weights",
          f"a zoo MLP or Ensemble (layers of weights to read); {type(model).__name__} has none: "
          "use 'ablation' or 'attribution'")
    groups = input_groups(task)
    check(groups is not None, "method", "weights",
          f"a task whose subtasks read known input groups (define task.input_groups); {task!r} has none")
    K = len(task.subtasks)
    check(len(groups) == K, "task", task, f"input_groups with one group per subtask ({K})")
    members = probes.n_members(model)
    d_in = weights[0].shape[-2]
    member_of = torch.zeros(d_in, K, dtype=torch.float64)
    for k, g in enumerate(groups):
        for i in g:
            check(0 <= i < d_in, "input_groups", groups, f"input indices in [0, {d_in})")
            member_of[i, k] = 1.0
    xs = probes.Moments(d_in)
    for batch in pieces:
        xs.update(batch.x.reshape(-1, d_in))
    var_in = xs.var  # [d_in]
    share_prev = member_of if members is None else member_of.expand(members, d_in, K)
    var_prev = var_in if members is None else var_in.expand(members, d_in)
    hidden = [f"hidden.{i}" for i in range(len(weights) - 1)]
    out = {}
    for site, w in zip(hidden, weights[:-1]):
        contrib = w.double().square() * var_prev.unsqueeze(-1)  # [(M,) fan_in, fan_out]
        denom = contrib.sum(-2)  # [(M,) fan_out]
        share = (contrib.transpose(-1, -2) @ share_prev) / denom.unsqueeze(-1).clamp_min(1e-300)
        share = torch.where(denom.unsqueeze(-1) > 0, share, torch.zeros_like(share))
        out[site] = share
        share_prev = share
        var_prev = variance[site] if site in variance else _site_var(model, pieces, site)
    for s in names:
        check(s in out, "sites", s, f"sites of the MLP's hidden layers ({hidden}) for method='weights'")
    return {s: out[s] for s in names}


def _site_var(model, pieces, site) -> torch.Tensor:
    acts = probes.capture(model, [b.x for b in pieces], sites=[site], stats=("var",))
    return acts[site].var
