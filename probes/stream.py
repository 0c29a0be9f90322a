"""Streaming capture: run a model over inputs in batches and keep only the statistics asked
for at each neuron site.

Ensembles: a model with ``n_members`` (``models.Ensemble``) carries a leading member axis on
its activations (``[M, batch, width]``); ``capture`` keeps statistics *per member*, so every
kept tensor gains a leading ``M`` axis (``mean [M, width]``, ``cov [M, width, width]``, raw
``[M, n, width]``). Activations with extra axes (a transformer's ``[batch, pos, d_mlp]``)
count every position as a sample.

>>> import torch, models
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(4,), d_out=1))
>>> acts = capture(net, torch.linspace(-1, 1, 1000).unsqueeze(1), stats=("mean", "var", "corr"), batch_size=256)
>>> acts["hidden.0"].var.shape, acts["hidden.0"].corr.shape, acts["hidden.0"].n
(torch.Size([4]), torch.Size([4, 4]), 1000)
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import nn

from models.tasks import Batch
from models.validate import check

from .sites import attached, evaluating, model_device, n_members, resolve_sites
from .stats import Moments

STATS = ("mean", "var", "cov", "corr", "cross", "raw")


def batches(inputs: Any, batch_size: int, members: int | None = None) -> Iterator[Any]:
    """Split ``inputs`` into pieces a model can take: a tensor ``[N, ...]`` or a ``Batch`` is
    cut along its sample axis (axis 1 of an ensemble's ``[M, N, d_in]``) into ``batch_size``
    pieces; a list/tuple/iterable of tensors or ``Batch``es is taken piece by piece as given.
    Raises ``ValueError`` for an empty input set.

    >>> [b.shape[0] for b in batches(torch.zeros(10, 2), 4)]
    [4, 4, 2]
    """
    check(isinstance(batch_size, int) and batch_size >= 1, "batch_size", batch_size, "an integer ≥ 1")
    if isinstance(inputs, (torch.Tensor, Batch)):
        x = inputs.x if isinstance(inputs, Batch) else inputs
        check(x.dim() >= 1 and x.shape[0] > 0 and x.numel() > 0, "inputs", f"tensor of shape {tuple(x.shape)}",
              "a non-empty set of inputs")
        axis = 1 if (members is not None and x.dim() == 3 and x.shape[0] == members) else 0
        n = x.shape[axis]
        check(n > 0, "inputs", f"tensor of shape {tuple(x.shape)}", "a non-empty set of inputs")
        for start in range(0, n, batch_size):
            if isinstance(inputs, Batch):
                yield Batch(*(_slice(t, start, batch_size, axis, x.shape[axis]) for t in inputs))
            else:
                yield x.narrow(axis, start, min(batch_size, n - start))
        return
    check(isinstance(inputs, Iterable) and not isinstance(inputs, (str, bytes, dict)), "inputs", type(inputs).__name__,
          "a tensor [N, ...], a models.tasks.Batch, or a list/iterable of them")
    count = 0
    for piece in inputs:
        check(isinstance(piece, (torch.Tensor, Batch)), "inputs", f"an iterable holding {type(piece).__name__}",
              "tensors or models.tasks.Batch items")
        x = piece.x if isinstance(piece, Batch) else piece
        if x.numel() == 0:
            continue
        count += 1
        yield piece
    check(count > 0, "inputs", "an empty iterable", "a non-empty set of inputs")


def check_finite(name: str, t, where: str = "") -> None:
    """Raise ``ValueError`` naming ``name`` when the floating tensor ``t`` holds NaN or inf
    (one reduction; integer tensors, such as token ids, pass).

    >>> check_finite("inputs", torch.tensor([1.0, float("nan")]), " (samples 0 to 1)")
    Traceback (most recent call last):
    ...
    ValueError: inputs='1 NaN/inf of 2 values (samples 0 to 1)' is not allowed: expected finite numbers
    """
    if isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        check(False, name, f"{bad} NaN/inf of {t.numel()} values{where}", "finite numbers")


def nonfinite_members(t: torch.Tensor, members: int | None) -> list[int]:
    """Members (``[0]`` for a single model) whose part of ``t [(M,) ...]`` holds NaN or inf."""
    ok = torch.isfinite(t)
    ok = ok.reshape(members, -1).all(-1) if members is not None else ok.all().reshape(1)
    return (~ok).nonzero().flatten().tolist()


def flag_nonfinite(what: str, found: dict[int, str], members: int | None, failed: dict[int, str]) -> None:
    """A single model with NaN/inf ``found`` raises ``ValueError`` naming ``what``; an ensemble's
    members with NaN/inf are added to ``failed`` (member -> what went wrong)."""
    if not found:
        return
    if members is None:
        check(False, what, found[0], "finite values (do the model's weights or inputs hold NaN/inf?)")
    for m, where in found.items():
        failed.setdefault(m, f"{what}: {where}")


def _slice(t: torch.Tensor, start: int, size: int, axis: int, n: int) -> torch.Tensor:
    # A Batch's y/subtask share the sample axis of x unless they lack the member axis.
    ax = axis if (t.dim() > axis and t.shape[axis] == n) else 0
    return t.narrow(ax, start, min(size, t.shape[ax] - start))


def as_samples(act: torch.Tensor, members: int | None) -> torch.Tensor:
    """Activations ``[(M,) batch, ..., d]`` as samples ``[(M,) n, d]``."""
    if members is not None:
        check(act.dim() >= 3 and act.shape[0] == members, "activation", tuple(act.shape),
              f"a leading member axis of size {members}")
        return act.reshape(members, -1, act.shape[-1])
    return act.reshape(-1, act.shape[-1])


class SiteStats:
    """What was kept at one site: ``n`` samples, ``width`` neurons, and per the asked stats
    ``mean``/``var``/``std`` ``[(M,) width]``, ``cov``/``corr`` ``[(M,) width, width]``,
    ``cross_corr`` ``[(M,) width, k]`` (correlation with the targets) and ``raw``
    ``[(M,) n, width]``."""

    def __init__(self, moments: Moments | None, raw: list[torch.Tensor] | None, members: int | None):
        self.moments, self._raw, self.members = moments, raw, members

    @property
    def n(self) -> int:
        if self.moments is not None:
            return self.moments.n
        return sum(r.shape[-2] for r in self._raw)

    @property
    def width(self) -> int:
        return self.moments.d if self.moments is not None else self._raw[0].shape[-1]

    def _need(self, what: str):
        check(self.moments is not None, "stats", what, "capture(..., stats=...) to include it")
        return self.moments

    @property
    def mean(self) -> torch.Tensor:
        return self._need("mean").mean

    @property
    def var(self) -> torch.Tensor:
        return self._need("var").var

    @property
    def std(self) -> torch.Tensor:
        return self.var.sqrt()

    @property
    def cov(self) -> torch.Tensor:
        return self._need("cov").cov

    @property
    def corr(self) -> torch.Tensor:
        return self._need("corr").corr()

    @property
    def cross_corr(self) -> torch.Tensor:
        return self._need("cross").cross_corr()

    @property
    def raw(self) -> torch.Tensor:
        check(self._raw is not None, "stats", "raw", "capture(..., stats=('raw', ...)) to keep raw activations")
        return torch.cat(self._raw, dim=-2)


class Activations(dict):
    """``site -> SiteStats``, in the order the sites were asked for; ``.members`` is the
    ensemble size (None for a single model); ``.failed``: ensemble member -> where its
    activations held NaN/inf (its statistics there are NaN)."""

    members: int | None = None
    failed: dict[int, str] = {}


def _forward(model: nn.Module, x: torch.Tensor):
    """``model(x)``; a model that fails on the inputs' shape or values raises ``ValueError``."""
    try:
        return model(x)
    except (RuntimeError, IndexError) as e:
        if isinstance(e, torch.OutOfMemoryError):
            raise
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"inputs='a piece of shape {tuple(x.shape)}' is not allowed: expected inputs the model "
                         f"takes (it fails on these: {first})") from e


def _targets_for(targets, piece, x: torch.Tensor, start: int) -> torch.Tensor | None:
    if targets is None:
        return None
    if callable(targets):
        t = targets(piece if isinstance(piece, Batch) else x)
    else:
        t = targets[start:start + x.shape[0]]
    t = torch.as_tensor(t).cpu()
    return t.unsqueeze(-1) if t.dim() == 1 else t


def broadcast_targets(t: torch.Tensor, act: torch.Tensor, members: int | None) -> torch.Tensor:
    """Targets ``[(M,) batch, k]`` broadcast over an activation's extra axes, as ``[(M,) n, k]``."""
    k = t.shape[-1]
    lead = 1 if members is not None else 0
    if members is not None and t.dim() == 2:
        t = t.unsqueeze(0).expand(members, *t.shape)
    extra = act.dim() - lead - 2
    t = t.reshape(*t.shape[:-1], *([1] * extra), k).expand(*act.shape[:-1], k)
    return as_samples(t, members)


def capture(model: nn.Module, inputs: Any, sites: str | Sequence[str] | None = None,
            stats: Sequence[str] = ("mean", "var"), *, batch_size: int = 1024,
            targets: torch.Tensor | Callable | None = None, progress: bool = True) -> Activations:
    """Stream ``model`` over ``inputs`` and keep ``stats`` at each site.

    ``inputs``: a tensor ``[N, ...]`` or ``models.tasks.Batch`` (cut into ``batch_size``
    pieces) or a list/iterable of them. ``sites``: names (default: the model's neuron
    sites, see ``probes.sites``). ``stats``: any of ``mean``, ``var`` (per neuron, Welford in
    float64), ``cov``/``corr`` (co-moments, ``width²`` memory), ``cross`` (correlation with
    ``targets``: a tensor ``[N]``/``[N, k]`` aligned with the inputs, or a function of a piece
    of input giving ``[batch]``/``[batch, k]``) and ``raw`` (every activation, float32: the
    only stat whose memory grows with the inputs). Runs under ``torch.no_grad`` in eval mode;
    ``progress`` shows a bar once a capture has run for two seconds.

    >>> import torch, models
    >>> ens = models.Ensemble(models.MLPConfig(d_in=1, widths=(4,), d_out=1), seeds=(0, 1, 2))
    >>> capture(ens, torch.rand(50, 1))["hidden.0"].mean.shape     # per member
    torch.Size([3, 4])
    """
    stats = (stats,) if isinstance(stats, str) else tuple(stats)
    for s in stats:
        check(s in STATS, "stats", s, f"some of {STATS}")
    check(len(stats) > 0, "stats", stats, f"at least one of {STATS}")
    check(("cross" in stats) == (targets is not None), "targets", "None" if targets is None else "given",
          "targets exactly when stats include 'cross'")
    names = resolve_sites(model, sites)
    members = n_members(model)
    want_moments = any(s in stats for s in ("mean", "var", "cov", "corr", "cross"))
    want_cov = "cov" in stats or "corr" in stats
    acc: dict[str, Moments] = {}
    raw: dict[str, list] = {name: [] for name in names} if "raw" in stats else {}
    current: dict[str, torch.Tensor | None] = {"y": None}

    def on_act(site: str, act: torch.Tensor):
        a = as_samples(act.detach(), members)
        if want_moments:
            if site not in acc:
                lead = (members,) if members is not None else ()
                k = current["y"].shape[-1] if current["y"] is not None else 0
                acc[site] = Moments(a.shape[-1], lead=lead, cov=want_cov, cross=k)
            y = broadcast_targets(current["y"], act, members) if current["y"] is not None else None
            acc[site].update(a, y)
        if site in raw:
            raw[site].append(a.float().clone())
        return None

    start = 0
    device = model_device(model)
    from tqdm.auto import tqdm

    with torch.no_grad(), evaluating(model), attached(model, names, on_act):
        for piece in tqdm(batches(inputs, batch_size, members), desc="capture", disable=not progress, delay=2.0,
                          leave=False, unit="batch"):
            x = piece.x if isinstance(piece, Batch) else piece
            n = x.shape[1] if members is not None and x.dim() == 3 and x.shape[0] == members else x.shape[0]
            where = f" (samples {start} to {start + n - 1})"
            check_finite("inputs", x, where)
            current["y"] = _targets_for(targets, piece, x, start)
            check_finite("targets", current["y"], where)
            _forward(model, x.to(device))
            start += x.shape[0]
    out = Activations()
    out.members = members
    out.failed = {}
    for name in names:
        check(name in acc or (name in raw and raw[name]), "sites", name,
              "a site the forward pass runs through (this one never fired)")
        out[name] = SiteStats(acc.get(name), raw.get(name), members)
        if name in acc:
            kept = torch.stack([acc[name].mean, acc[name].m2], -2)
        else:
            nan = torch.stack([r.isnan().any(-2) for r in raw[name]], -2)
            kept = torch.where(nan, float("nan"), 0.0)
        flag_nonfinite("activations", {m: f"NaN/inf at site {name}" for m in nonfinite_members(kept, members)},
                       members, out.failed)
    return out
