"""Scorers: one interface and one registry for the ways of scoring neurons against subtasks.

A scorer is a function ``scorer(ctx: ScoreContext) -> Scores``: from the model, task,
evaluation pieces, sites, live masks and the statistics of a first pass (``ctx.base``), it
fills one score matrix ``[(M,) n, K]`` per site. ``SCORERS`` maps each method name to its
``Scorer`` (the function, its default threshold and what the score measures);
``register_scorer`` adds one. ``interp.allocate(model, task, method=name)`` runs them.

Built in (scores relative to each subtask's loss unless said otherwise):

- ``weights``: share of a neuron's input variance coming from each subtask's inputs (zoo MLPs);
- ``ablation``: the loss change when the neuron is replaced by its mean, exact;
- ``attribution``: the first-order estimate of that same change, ``Σ ∂ℓ_k/∂a · (mean − a)``
  (signed, so it estimates the same quantity and one threshold reads the same for both);
- ``verified``: attribution as a screen, then exact ablation of the top candidates and of a
  random sample of the rest, which bounds the neurons the screen may have missed
  (after AtP*, Kramár et al. 2024): exact where it matters, at a fraction of ablation's cost;
- ``probe``: ``|corr|`` with the task's intermediate quantities (columns: those quantities);
- ``census`` (``interp.census``, registered when ``interp.allocation`` loads): exact ablation
  of the neurons a sampling design picks, with a count and its interval.

>>> import interp.allocation
>>> sorted(SCORERS)
['ablation', 'attribution', 'census', 'probe', 'verified', 'weights']
>>> SCORERS["ablation"].default_threshold
0.01
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

import probes
import probes.cuts
from models.tasks import Task
from models.registry import Registry
from models.validate import check, is_int, is_number

from .evaluation import input_groups, per_sample_subtasks
from .uncertainty import Deltas


@dataclass(frozen=True)
class ScoreContext:
    """What a scorer may read. ``base``: the first pass's ``mean``/``var`` per site ``[(M,) n]``,
    ``losses [(M,) K]``, ``weight_sum [K]`` (counted units per subtask: tokens, or samples), ``cross`` (probe
    correlations) and ``n_samples``; ``live``: site -> ``bool [(M,) n]``; ``members``: the
    ensemble size or None; ``options``: scorer-specific settings from ``allocate(options=...)``."""

    model: nn.Module
    task: Task
    pieces: list
    sites: list[str]
    base: dict
    live: dict[str, torch.Tensor]
    members: int | None
    threshold: float
    dominance: float
    max_elements: int = 2 ** 24
    progress: bool = True
    seed: int = 0
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Scores:
    """A scorer's answer: ``scores`` site -> ``[(M,) n, K]``; ``columns`` (None: the task's
    subtasks); ``exact`` site -> ``bool [(M,) n]`` where a score was measured exactly (None:
    all or none, as the method says); ``notes``: anything to record in the result;
    ``stderr`` site -> ``[(M,) n, K]``, each score's standard error over the samples (None:
    not measured); ``units`` site -> ``[n]``, the counted units (tokens or samples) each
    exact score was measured on."""

    scores: dict[str, torch.Tensor]
    columns: tuple[str, ...] | None = None
    exact: dict[str, torch.Tensor] | None = None
    notes: dict = field(default_factory=dict)
    stderr: dict[str, torch.Tensor] | None = None
    units: dict[str, torch.Tensor] | None = None


@dataclass(frozen=True)
class Scorer:
    """A registered method: ``fn(ctx) -> Scores``, its ``default_threshold``, a line on what
    its score ``measures``, the ``options`` it reads (None: not declared, any) and
    ``validate(options)``, which refuses a bad setting before any work (None: no check)."""

    name: str
    fn: Callable[[ScoreContext], Scores]
    default_threshold: float
    measures: str
    options: tuple[str, ...] | None = None
    validate: Callable[[dict], None] | None = None

    def __call__(self, ctx: ScoreContext) -> Scores:
        return self.fn(ctx)


SCORERS = Registry("method", hint="or a method of your own registered with interp.register_scorer")
"""Every allocation method by name (the toolkit's own are reserved)."""


def register_scorer(name: str, default_threshold: float, measures: str, options: tuple[str, ...] | None = None,
                    validate: Callable[[dict], None] | None = None):
    """Decorator adding ``fn(ctx) -> Scores`` to ``SCORERS`` under ``name`` (``options``: the
    names of the ``allocate(options=...)`` settings it reads, others then refused;
    ``validate(options)``: raises ``ValueError`` on a bad value, called before any work).

    >>> @register_scorer("constant", 0.5, "nothing: every neuron scores 1")
    ... def _constant(ctx):
    ...     return Scores({s: torch.ones(*ctx.live[s].shape, len(ctx.task.subtasks)) for s in ctx.sites})
    >>> "constant" in SCORERS
    True
    >>> del SCORERS["constant"]
    """
    check(isinstance(name, str) and name and name != "auto", "name", name, "a method name other than 'auto'")
    check(isinstance(default_threshold, (int, float)) and math.isfinite(default_threshold), "default_threshold",
          default_threshold, "a finite number")

    check(options is None or (isinstance(options, (tuple, list)) and all(isinstance(o, str) for o in options)),
          "options", options, "None or a tuple of setting names")

    def add(fn):
        SCORERS.add(name, Scorer(name, fn, float(default_threshold), measures, None if options is None else tuple(options),
                                 validate), same=_same_function)
        return fn
    return add


def _same_function(old: Scorer, new: Scorer) -> bool:
    """A re-run of the code that registered ``old`` (a notebook cell): same module and name."""
    return (old.fn.__module__, old.fn.__qualname__) == (new.fn.__module__, new.fn.__qualname__)


def _share(v) -> bool:
    return is_number(v) and 0 < v <= 1


def _count(v) -> bool:
    return is_number(v) and math.isfinite(v) and float(v).is_integer() and v >= 0


OPTION_RULES = {"attribution": (lambda v: v in ("signed", "magnitude"), "'signed' or 'magnitude'"),
                "candidates": (_share, "a share in (0, 1]"),
                "sample": (_count, "an integer ≥ 0"),
                "min_candidates": (_count, "an integer ≥ 0"),
                "budget": (lambda v: v is None or (is_number(v) and v > 0),
                           "None (no limit) or a number > 0 of passes over the evaluation set"),
                "seconds": (lambda v: v is None or (is_number(v) and v > 0), "None or a number of seconds > 0"),
                "sequential": (lambda v: isinstance(v, bool), "True or False"),
                "ig_steps": (lambda v: is_int(v) and v >= 1,
                             "an integer ≥ 1 (1: plain attribution; more: integrated gradients to the mean)")}
"""The built-in scorers' settings and what each allows."""


def check_options(method: str, options: dict) -> None:
    """Refuse ``allocate(options=...)`` settings that ``method`` (every scorer for ``auto``)
    does not read, or a value a built-in setting does not allow, before any work."""
    chosen = list(SCORERS.values()) if method == "auto" else [scorer(method)]
    if any(s.options is None for s in chosen):
        known = None
    else:
        known = sorted({o for s in chosen for o in s.options})
        unknown = sorted(str(k) for k in options if k not in known)
        check(not unknown, "options", unknown[0] if len(unknown) == 1 else unknown,
              f"settings that method={method!r} reads: {known}" if known else f"no options for method={method!r}")
    for k, v in options.items():
        if k in OPTION_RULES:
            ok, allowed = OPTION_RULES[k]
            check(ok(v), f"options['{k}']", v, allowed)
    for s in chosen:
        if s.validate is not None and method != "auto":
            s.validate(options)


def progress_bar(total: int, desc: str, show: bool):
    """A tqdm bar shown on passes that take more than two seconds (``show`` False: none)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not show, delay=2.0, leave=False, unit="step")



def output_of(out) -> torch.Tensor:
    return out.logits if hasattr(out, "logits") else out


def sample_size(batch) -> int:
    """What one pass over ``batch`` costs, in positions: a token task's sample counts its
    length, any other sample one."""
    x = batch.x
    return int(x.shape[0] * x.shape[1]) if x.dim() == 2 and not x.is_floating_point() else int(x.shape[0])


class Meter:
    """The work of exact ablation in passes over the evaluation set (a neuron measured on every
    sample by running every block counts 1; one of block l of L blocks counts (L−l)/L, as
    ``block_shares`` says), and seconds; ``spent`` once ``seconds`` (None: no limit) have gone."""

    def __init__(self, total: int, seconds: float | None = None):
        import time

        self.total, self.seconds = max(total, 1), seconds
        self.passes, self.start, self._clock = 0.0, time.perf_counter(), time.perf_counter

    def charge(self, size: int, share: float) -> None:
        self.passes += size * share / self.total

    @property
    def elapsed(self) -> float:
        return self._clock() - self.start

    @property
    def spent(self) -> bool:
        return self.seconds is not None and self.elapsed >= self.seconds


# --------------------------------------------------------------------------------------------
# ablation
# --------------------------------------------------------------------------------------------
def _split(act: torch.Tensor, members: int | None, copies: int) -> torch.Tensor:
    """``[(M,) copies·B, ...]`` -> ``[(M,) copies, B, ...]``."""
    ax = 1 if members is not None else 0
    b = act.shape[ax] // copies
    return act.reshape(*act.shape[:ax], copies, b, *act.shape[ax + 1:])


def exact_ablation(ctx: ScoreContext, ids: dict[str, torch.Tensor], *, pieces=None,
                   stats: dict[str, Deltas] | None = None, meter: Meter | None = None,
                   skip: bool = True, joint: bool = False) -> dict[str, Deltas]:
    """Mean-ablate each neuron ``ids[site]`` in turn over ``pieces`` (default ``ctx.pieces``)
    and add its per-sample loss changes to ``stats[site]`` (new ones by default). ``joint``:
    ``ids[site]`` is a list of blocks (index tensors), each block's neurons ablated together,
    and ``stats[site]``'s rows are the blocks. Per piece, one
    normal pass records the input of each block holding a site; then each chunk of neurons of
    one site runs side by side (``ctx.max_elements`` bounds a chunk) from that block on
    (``probes.cuts``), or, at a zoo MLP's last hidden layer, through its linear read-out alone.
    ``skip=False`` runs the whole model for each chunk (the reference). ``meter`` counts the
    work and stops it when spent."""
    model, task, members = ctx.model, ctx.task, ctx.members
    K = len(task.subtasks)
    lead = (members,) if members is not None else ()
    pieces = ctx.pieces if pieces is None else pieces
    if stats is None:
        stats = {s: Deltas(lead, len(ids.get(s) or ()) if joint else ctx.base["mean"][s].shape[-1], K)
                 for s in ctx.sites}
    rows = {s: (torch.arange(len(ids[s])) if joint else ids[s]) for s in ctx.sites if ids.get(s) is not None}
    sites = [s for s in ctx.sites if s in rows and rows[s].numel()]
    if not sites:
        return stats
    cut = probes.cuts.block_list(model, sites) if skip else None
    readout = _linear_readout(model)
    share = block_shares(model, sites, skip)
    chunk = None
    with progress_bar(len(pieces) * sum(rows[s].numel() for s in sites), "ablation", ctx.progress) as bar:
        for batch in pieces:
            if meter is not None and meter.spent:
                break
            kept = {}
            keep = [readout[0]] if readout is not None and readout[0] in sites else []
            with torch.no_grad(), probes.attached(model, keep, lambda s, a: kept.__setitem__(s, a)):
                if cut is not None:
                    out, streams = probes.cuts.capture_inputs(cut, model, batch.x, [cut.index[s] for s in sites])
                else:
                    out, streams = model(batch.x), {}
            pred = output_of(out)
            if chunk is None:
                biggest = max([pred.numel(), *(4 * t.numel() for t in streams.values())])
                chunk = max(1, min(512, ctx.max_elements // max(2 * biggest, 1)))
            base_l, w = task.sample_losses(pred, batch, len(lead))     # [(M,) B, K], [B, K]
            size = sample_size(batch)
            for site in sites:
                mu = ctx.base["mean"][site].float()  # [(M,) d]
                for part in rows[site].split(chunk):
                    if meter is not None and meter.spent:
                        break
                    mask = _masks([ids[site][i] for i in part] if joint else part.unsqueeze(1), mu.shape[-1])
                    if readout is not None and site == readout[0]:
                        ablated = _ablate_readout(pred, kept[site], mu, readout[1], None if joint else part, members,
                                                  mask)
                    elif cut is not None:
                        l = cut.index[site]
                        with probes.cuts.resumed(cut, l, streams[l], copies=part.numel()):
                            ablated = _ablate_forward(model, batch.x, site, mu, mask, members)
                    else:
                        ablated = _ablate_forward(model, batch.x, site, mu, mask, members)
                    losses, _ = task.sample_losses(ablated, batch, len(lead) + 1)   # [(M,) J, B, K]
                    stats[site].add(part, losses - base_l.unsqueeze(-3), base_l, w)
                    if meter is not None:
                        meter.charge(size * part.numel(), share[site])
                    bar.update(part.numel())
    return stats


def live_ids(ctx: ScoreContext) -> dict[str, torch.Tensor]:
    """Per site, the indices of the neurons live in the model (in some member of an ensemble)."""
    return {s: (ctx.live[s] if ctx.members is None else ctx.live[s].any(0)).nonzero().flatten() for s in ctx.sites}


def ablation_deltas(ctx: ScoreContext, ids: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
    """Exact mean-ablation scores ``[(M,) n, K]`` of the neurons ``ids[site]`` (default: the
    live ones; the others score 0) over every piece (see ``exact_ablation``)."""
    stats = exact_ablation(ctx, live_ids(ctx) if ids is None else ids)
    return {s: stats[s].score() for s in ctx.sites}


def _linear_readout(model) -> tuple[str, torch.Tensor] | None:
    """(last hidden site, its read-out weights ``[(M,) d, d_out]``) of a zoo MLP, whose output
    is linear in that site: ablating there needs no forward pass."""
    weights = probes.mlp_weights(model)
    if weights is None:
        return None
    return f"hidden.{len(weights) - 2}", weights[-1]


def _masks(blocks, d: int) -> torch.Tensor:
    """``[J, d]``: row j is 1 at the neurons of ``blocks[j]`` (index tensors), else 0."""
    mask = torch.zeros(len(blocks), d)
    for j, b in enumerate(blocks):
        mask[j, torch.as_tensor(b, dtype=torch.long).reshape(-1)] = 1.0
    return mask


def _ablate_readout(pred, act, mu, w_out, ids, members, mask=None) -> torch.Tensor:
    """Outputs with each neuron of ``ids`` in turn (or each row of ``mask [J, d]``'s neurons
    together, when ``ids`` is None) set to its mean: ``[(M,) J, B, d_out]``."""
    if ids is None:
        delta = (mu.to(act.device).unsqueeze(-2) - act).to(pred.dtype)                  # [(M,) B, d]
        change = torch.einsum("...bd,jd,...do->...jbo", delta, mask.to(pred.dtype), w_out.to(pred.dtype))
        return pred.unsqueeze(-3) + change
    ids = ids.to(act.device)
    delta = (mu.to(act.device)[..., ids].unsqueeze(-2) - act[..., ids]).to(pred.dtype)  # [(M,) B, J]
    change = delta.unsqueeze(-1) * w_out.to(pred.device)[..., ids, :].unsqueeze(-3).to(pred.dtype)  # [(M,) B, J, o]
    return (pred.unsqueeze(-2) + change).movedim(-2, -3)


def _ablate_forward(model, x, site, mu, mask, members) -> torch.Tensor:
    """Outputs with the neurons of each row of ``mask [J, d]`` set to their means (one neuron a
    row for single ablations), from J copies of the batch run side by side: ``[(M,) J, B, ...]``."""
    from einops import repeat

    J, d = mask.shape
    lead = (members,) if members is not None else ()

    def swap(s, act):
        a = _split(act, members, J)  # [(M,) J, B, ..., d]
        extra = a.dim() - len(lead) - 3  # axes between the batch and the neurons
        m = mask.reshape(J, *([1] * (extra + 1)), d).to(a.device, a.dtype)
        v = mu.reshape(*lead, 1, *([1] * (extra + 1)), d).to(a.device, a.dtype)
        return (a * (1 - m) + v * m).reshape(act.shape)

    xr = repeat(x, "b ... -> (j b) ...", j=J) if J > 1 else x
    with torch.no_grad(), probes.attached(model, [site], swap):
        return _split(output_of(model(xr)), members, J)


@register_scorer("ablation", 0.01, "mean-ablation loss change / subtask loss (exact)", options=())
def ablation_scorer(ctx: ScoreContext) -> Scores:
    stats = exact_ablation(ctx, live_ids(ctx))
    return Scores({s: stats[s].score() for s in ctx.sites},
                  exact={s: ctx.live[s].clone() for s in ctx.sites},
                  stderr={s: stats[s].stderr() for s in ctx.sites},
                  units={s: stats[s].units.clone() for s in ctx.sites})


# --------------------------------------------------------------------------------------------
# attribution
# --------------------------------------------------------------------------------------------
def attribution_sums(ctx: ScoreContext, path_steps: int = 1) -> dict[str, dict[str, torch.Tensor]]:
    """Per site, first-order estimates ``[(M,) n, K]`` of the mean-ablation loss change
    relative to each subtask's loss: ``signed`` (``Σ g·(mean − a)``, the estimate), its
    ``stderr`` over samples, and ``magnitude`` (``Σ |g·(mean − a)|`` over samples and
    positions, an upper bound on any cancellation, used to rank candidates). One backward pass
    per piece when every sample belongs to one subtask, else one per subtask. ``path_steps``
    > 1: integrated gradients along the path on which every site moves from its activation to
    its mean together, ``g`` averaged over that many midpoints (one clean pass more per piece,
    and that many backward passes)."""
    model, task, members = ctx.model, ctx.task, ctx.members
    K = len(task.subtasks)
    lead = (members,) if members is not None else ()
    mu = {s: ctx.base["mean"][s] for s in ctx.sites}
    stats = {s: Deltas(lead, mu[s].shape[-1], K) for s in ctx.sites}
    mag = {s: torch.zeros(*lead, mu[s].shape[-1], K, dtype=torch.float64) for s in ctx.sites}
    check(is_int(path_steps) and path_steps >= 1, "path_steps", path_steps, "an integer ≥ 1")
    ts = [0.0] if path_steps == 1 else [(i + 0.5) / path_steps for i in range(path_steps)]
    with progress_bar(len(ctx.pieces), "attribution" if path_steps == 1 else "integrated gradients", ctx.progress) as bar:
        for batch in ctx.pieces:
            clean = {}
            if path_steps > 1:
                with torch.no_grad(), probes.attached(model, ctx.sites, lambda s, a: clean.__setitem__(s, a.detach())):
                    clean_losses, _ = task.sample_losses(output_of(model(batch.x)), batch, len(lead))
            per_sample = per_sample_subtasks(batch)
            summed: dict = {}
            for t in ts:
                zeros, acts = {}, {}

                def tap(site, act, t=t):
                    z = torch.zeros_like(act, requires_grad=True)
                    a0 = clean.get(site, act.detach())
                    zeros[site], acts[site] = z, a0
                    return act + z if t == 0 else act + t * (_gap(a0, mu[site], members)) + z

                with torch.enable_grad(), probes.attached(model, ctx.sites, tap):
                    pred = output_of(model(batch.x))
                    losses, w = task.sample_losses(pred, batch, len(lead))   # [(M,) B, K]: sums, so g·δ is a sum's change
                    order = [s for s in ctx.sites if s in zeros]
                    check(len(order) == len(ctx.sites), "sites", ctx.sites, "sites the forward pass runs through")
                    targets = [losses.sum()] if per_sample else [losses[..., k].sum() for k in range(K)]
                    for k, target in enumerate(targets):
                        grads = torch.autograd.grad(target, [zeros[s] for s in order], retain_graph=k < len(targets) - 1,
                                                    allow_unused=True)
                        for s, g in zip(order, grads):
                            g = torch.zeros_like(acts[s]) if g is None else g.detach() / len(ts)
                            summed[k, s] = g if (k, s) not in summed else summed[k, s] + g
            base = losses.detach() if path_steps == 1 else clean_losses
            for s in order:
                if per_sample:
                    c, a = _contrib(summed[0, s], acts[s], mu[s], members)  # [(M,) B, d]
                    onehot = torch.nn.functional.one_hot(batch.subtask.reshape(-1).cpu(), K).double()  # [B, K]
                    stats[s].add_products(c, onehot, base, w)
                    mag[s] += torch.einsum("...bd,bk->...dk", a, onehot)
                else:
                    for k in range(K):
                        c, a = _contrib(summed[k, s], acts[s], mu[s], members)
                        stats[s].add_column(k, c, base[..., k], w[:, k])
                        mag[s][..., k] += a.sum(-2)
            bar.update(1)
    total = (ctx.base["losses"] * ctx.base["weight_sum"]).unsqueeze(-2).clamp_min(1e-300)   # [(M,) 1, K]: Σ L
    return {"signed": {s: stats[s].score() for s in ctx.sites},
            "stderr": {s: stats[s].stderr() for s in ctx.sites},
            "magnitude": {s: mag[s] / total for s in ctx.sites}}


def _gap(act, mu, members):
    """``mean − act``, the mean broadcast over the batch and positions: ``act``'s shape."""
    lead = 1 if members is not None else 0
    v = mu.reshape(*mu.shape[:-1], *([1] * (act.dim() - lead - 1)), mu.shape[-1]).to(act.device, act.dtype)
    return v - act


def _contrib(g, act, mu, members):
    """``g · (mean − a)`` and its absolute value, summed over positions: ``[(M,) B, d]`` each.
    ``g`` is the gradient of the samples' summed losses, so ``c[b]`` is sample b's summed loss
    change to first order."""
    if g is None:
        g = torch.zeros_like(act)
    lead = 1 if members is not None else 0
    c = g.detach() * _gap(act, mu, members)
    a = c.abs()
    if c.dim() > lead + 2:  # sum over positions
        c = c.reshape(*c.shape[:lead + 1], -1, c.shape[-1]).sum(-2)
        a = a.reshape(*a.shape[:lead + 1], -1, a.shape[-1]).sum(-2)
    return c.double().cpu(), a.double().cpu()


@register_scorer("attribution", 0.01, "first-order estimate of the mean-ablation loss change / subtask loss",
                 options=("attribution", "ig_steps"))
def attribution_scorer(ctx: ScoreContext) -> Scores:
    """Gradient × (mean − activation), summed over the samples; ``options["ig_steps"]`` > 1
    integrates the gradient along the path to the mean at that many points (``attribution_sums``)."""
    sums = attribution_sums(ctx, path_steps=ctx.options.get("ig_steps", 1))
    kind = ctx.options.get("attribution", "signed")
    check(kind in ("signed", "magnitude"), "options['attribution']", kind, OPTION_RULES["attribution"][1])
    return Scores(sums[kind], notes={"attribution": kind}, stderr=sums["stderr"] if kind == "signed" else None)


# --------------------------------------------------------------------------------------------
# verified: attribution screen + exact ablation of candidates and of a random sample
# --------------------------------------------------------------------------------------------
def _upper_bound(hits: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound on a rate seen as ``hits`` of ``n``."""
    from scipy.stats import beta

    if n == 0:
        return 1.0
    return 1.0 if hits >= n else float(beta.ppf(confidence, hits + 1, n - hits))


ROUNDS = (1 / 32, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2)
"""Shares of the evaluation samples that sequential verification adds round by round."""
MIN_SAMPLES = 8
"""A neuron stays undecided while some subtask has fewer samples than this behind its score."""
BUDGET = 6.0
"""Default work of ``verified``'s exact ablations, in passes over the evaluation set."""


def shuffled_rounds(ctx: ScoreContext, shares=ROUNDS) -> list[list]:
    """The evaluation samples in one random order (``ctx.seed``), cut into rounds holding the
    ``shares`` of them, each round in pieces of the evaluation's piece size."""
    from models.tasks import Batch

    parts = list(ctx.pieces)
    size = max(p.x.shape[0] for p in parts)
    allx = Batch(*(torch.cat([getattr(p, f) for p in parts]) for f in Batch._fields))
    n = allx.x.shape[0]
    order = torch.randperm(n, generator=torch.Generator().manual_seed(ctx.seed)).to(allx.x.device)
    ends = sorted({min(n, max(1, round(n * c))) for c in np.cumsum(shares)} | {n})
    rounds, start = [], 0
    for end in ends:
        if end <= start:
            continue
        idx = order[start:end]
        rounds.append([Batch(*(t[idx[i:i + size]] for t in allx)) for i in range(0, idx.numel(), size)])
        start = end
    return rounds


def _undecided(stats: Deltas, rows: torch.Tensor, threshold: float, z: float) -> torch.Tensor:
    """Of the neurons ``rows``, those for which some subtask's score is within ``z`` standard
    errors of the threshold, or measured on fewer than ``MIN_SAMPLES`` of its samples (a member
    axis: in some member)."""
    score = stats.score()[..., rows, :]
    se = stats.stderr()[..., rows, :]
    close = ((score - threshold).abs() < z * se) | ~torch.isfinite(se) | (stats.m[rows] < MIN_SAMPLES)
    close = close.any(-1)
    while close.dim() > 1:
        close = close.any(0)
    return rows[close]


@register_scorer("verified", 0.01, "mean-ablation loss change / subtask loss: exact for the attribution "
                                   "screen's candidates and a random sample, estimated for the rest",
                 options=("candidates", "sample", "min_candidates", "budget", "seconds", "sequential"))
def verified_scorer(ctx: ScoreContext) -> Scores:
    """Exact ablation of the screen's top candidates (``candidates``: share of live neurons,
    default 0.005, at least ``min_candidates``, 64) and of a random ``sample`` of the rest
    (default 128), sequentially: each round adds a share of the samples (``ROUNDS``: 1/32,
    1/32, 1/16, 1/8, 1/4, 1/2, in a random order) for the neurons still undecided, those whose
    score is within z standard errors of the threshold for some subtask or rests on fewer than
    ``MIN_SAMPLES`` samples (z of a two-sided 95% test split over the rounds); each round takes
    the neurons in the screen's order, the random sample interleaved, as far as ``budget``
    passes over the evaluation set reach (default 6; ``block_shares`` prices a neuron), and the
    work stops after ``seconds`` (``sequential=False``: one round over every sample). ``units``: the counted units (tokens or samples) each exact
    score used. The evaluation set's inputs are held in memory to be shuffled.

    An unverified neuron keeps its first-order estimate, with a standard error widened by the
    estimate's error measured on the random sample (``first_order_rms_by_subtask``: the root
    mean square of exact − estimate there), so its decisions carry it (the count intervals use
    the sampling bound below instead).

    Notes: ``missed_estimate``/``missed_upper_95`` (and per subtask ``missed_upper_95_by_subtask``):
    serving neurons among those left unverified, from the random sample, with a one-sided 95%
    Clopper-Pearson bound (free of any model of the estimate's error); ``misassigned_*``:
    unverified neurons whose estimate assigns otherwise than exact ablation would; ``passes``, ``seconds``, ``rounds``: the work done."""
    from scipy.stats import norm

    check_options("verified", ctx.options)
    share = float(ctx.options.get("candidates", 0.005))
    n_sample = int(ctx.options.get("sample", 128))
    n_min = int(ctx.options.get("min_candidates", 64))
    budget = ctx.options.get("budget", BUDGET)
    seconds = ctx.options.get("seconds")
    sums = attribution_sums(ctx)
    est, est_se, mag = sums["signed"], sums["stderr"], sums["magnitude"]
    # one flat list of live neurons over sites, ranked by the screen's magnitude
    rows = []
    for i, s in enumerate(ctx.sites):
        alive = ctx.live[s] if ctx.members is None else ctx.live[s].any(0)
        key = torch.nan_to_num(mag[s]) if ctx.members is None else torch.nan_to_num(mag[s]).amax(0)
        key = (key / max(ctx.threshold, 1e-30)).amax(-1)  # [n], in units of the threshold
        for j in alive.nonzero().flatten().tolist():
            rows.append((float(key[j]), i, j))
    n_live = len(rows)
    rows.sort(key=lambda r: -r[0])
    n_cand = min(n_live, max(n_min, math.ceil(share * n_live)))
    cand, rest = rows[:n_cand], rows[n_cand:]
    g = np.random.default_rng(ctx.seed)
    pick = sorted(g.choice(len(rest), size=min(n_sample, len(rest)), replace=False).tolist()) if rest else []
    sample = [rest[i] for i in pick]
    # the order of the work: candidates by the screen, the random sample spread evenly among them
    work = _interleave(cand, sample)
    rounds = shuffled_rounds(ctx) if ctx.options.get("sequential", True) else [list(ctx.pieces)]
    total = sum(sample_size(p) for r in rounds for p in r)
    meter = Meter(total, seconds=seconds)
    lead = (ctx.members,) if ctx.members is not None else ()
    K = len(ctx.task.subtasks)
    stats = {s: Deltas(lead, est[s].shape[-2], K) for s in ctx.sites}
    z = float(norm.ppf(1 - 0.05 / (2 * len(rounds))))
    cost = block_shares(ctx.model, ctx.sites)
    pending = [(ctx.sites[i], j) for _, i, j in work]
    done_rounds = 0
    for pieces in rounds:
        frac = sum(sample_size(p) for p in pieces) / total
        room = math.inf if budget is None else budget - meter.passes
        take, planned = [], 0.0
        for s, j in pending:     # in the screen's order, as far as the budget reaches
            if planned + frac * cost[s] > room + 1e-12:
                break
            take.append((s, j))
            planned += frac * cost[s]
        if not take or meter.spent:
            break
        ids = {s: torch.tensor([j for t, j in take if t == s], dtype=torch.long) for s in ctx.sites}
        exact_ablation(ctx, ids, pieces=pieces, stats=stats, meter=meter)
        done_rounds += 1
        still = {s: set(_undecided(stats[s], ids[s], ctx.threshold, z).tolist()) for s in ctx.sites}
        pending = [(s, j) for s, j in take if j in still[s]]
    exact_scores = {s: stats[s].score() for s in ctx.sites}
    exact_se = {s: stats[s].stderr() for s in ctx.sites}
    measured = lambda group: [r for r in group if bool(stats[ctx.sites[r[1]]].m[r[2]].sum() > 0)]  # noqa: E731
    cand_m, sample_m = measured(cand), measured(sample)
    # the first-order estimate's error, measured on the random sample: it widens the unverified
    # neurons' standard errors (its root mean square per subtask, over members)
    if sample_m:
        gap = torch.stack([(exact_scores[ctx.sites[i]][..., j, :] - est[ctx.sites[i]][..., j, :]) for _, i, j in sample_m])
        rms = gap.pow(2).reshape(-1, K).nanmean(0).sqrt()            # [K]
    else:
        rms = torch.full((K,), math.inf, dtype=torch.float64)
    scores, stderr, exact = {}, {}, {}
    for s in ctx.sites:
        m = stats[s].m.sum(-1) > 0                                   # [n]: measured on some sample
        exact[s] = m.expand_as(ctx.live[s]) & ctx.live[s]
        scores[s] = torch.where(m.unsqueeze(-1), exact_scores[s], est[s])
        stderr[s] = torch.where(m.unsqueeze(-1), exact_se[s], (est_se[s].pow(2) + rms.pow(2)).sqrt())

    def serves_each(sc):
        top = sc.amax(-1, keepdim=True).clamp_min(0)
        hit = (sc >= ctx.threshold) & (sc >= ctx.dominance * top)
        return hit if hit.dim() == 1 else hit.any(0)                 # [K]; any member

    def hits(group, k=None):
        return sum(bool(serves_each(exact_scores[ctx.sites[i]][..., j, :]).any() if k is None else
                        serves_each(exact_scores[ctx.sites[i]][..., j, :])[k]) for _, i, j in group)

    n_rest = len(rest)
    sample_hits, cand_hits = hits(sample_m), hits(cand_m)
    rate, upper = (sample_hits / len(sample_m) if sample_m else 0.0), _upper_bound(sample_hits, len(sample_m))
    by_subtask = {name: _upper_bound(hits(sample_m, k), len(sample_m)) * n_rest
                  for k, name in enumerate(ctx.task.subtasks)}
    # where the first-order estimate, left in place for the unverified, assigns otherwise than exact ablation
    wrong = sum(bool((serves_each(est[ctx.sites[i]][..., j, :]) != serves_each(exact_scores[ctx.sites[i]][..., j, :]))
                     .any()) for _, i, j in sample_m)
    w_rate, w_upper = (wrong / len(sample_m) if sample_m else 0.0), _upper_bound(wrong, len(sample_m))
    agree = _agreement_rows(cand_m + sample_m, est, exact_scores, ctx)
    notes = {"n_live": n_live, "n_candidates": n_cand, "n_sample": len(sample),
             "candidates_measured": len(cand_m), "sample_measured": len(sample_m),
             "candidates_serving": cand_hits, "sample_serving": sample_hits,
             "missed_estimate": rate * n_rest, "missed_upper_95": upper * n_rest,
             "missed_upper_95_by_subtask": by_subtask,
             "sample_misassigned": wrong, "misassigned_estimate": w_rate * n_rest,
             "misassigned_upper_95": w_upper * n_rest,
             "first_order_rms_by_subtask": dict(zip(ctx.task.subtasks, rms.tolist())),
             "passes": round(meter.passes, 3), "seconds": round(meter.elapsed, 2), "rounds": done_rounds,
             "budget": budget, "budget_spent": meter.spent, "screen_agreement": agree}
    return Scores(scores, exact=exact, notes=notes, stderr=stderr,
                  units={s: stats[s].units.clone() for s in ctx.sites})


def block_shares(model, sites, skip: bool = True) -> dict[str, float]:
    """Per site, the share of a whole forward pass that ablating one of its neurons costs:
    ``(L − l)/L`` at block l of L when the model is made of blocks (``probes.cuts``; not with
    ``skip=False``), a fiftieth at a zoo MLP's read-out layer, else 1."""
    cut = probes.cuts.block_list(model, sites) if skip else None
    readout = _linear_readout(model)
    out = {}
    for s in sites:
        if readout is not None and s == readout[0]:
            out[s] = 0.02
        elif cut is not None:
            out[s] = (len(cut.blocks) - cut.index[s]) / len(cut.blocks)
        else:
            out[s] = 1.0
    return out


def _interleave(first: list, second: list) -> list:
    """``first`` in order with ``second`` spread evenly among it."""
    if not second:
        return list(first)
    out, step = [], (len(first) + len(second)) / len(second)
    slots = {int(i * step) for i in range(len(second))}
    a, b = iter(first), iter(second)
    for i in range(len(first) + len(second)):
        out.append(next(b) if i in slots else next(a))
    return out


def _agreement_rows(rows, est, exact, ctx) -> dict:
    from scipy.stats import spearmanr

    K = len(ctx.task.subtasks)
    # mean over members; a failed member's NaN is left out
    a = np.array([[float(est[ctx.sites[i]][..., j, k].nanmean()) for k in range(K)] for _, i, j in rows])
    b = np.array([[float(exact[ctx.sites[i]][..., j, k].nanmean()) for k in range(K)] for _, i, j in rows])
    a, b = a.reshape(-1, K), b.reshape(-1, K)
    out = {}
    for k, name in enumerate(ctx.task.subtasks):
        ok = a.shape[0] > 2 and np.ptp(a[:, k]) > 0 and np.ptp(b[:, k]) > 0
        out[name] = float(spearmanr(a[:, k], b[:, k]).statistic) if ok else None
    return {"spearman_first_order_vs_exact": out, "neurons": int(a.shape[0])}


# --------------------------------------------------------------------------------------------
# weights and probe
# --------------------------------------------------------------------------------------------
@register_scorer("weights", 0.05, "share of the neuron's input variance from each subtask's inputs", options=())
def weights_scorer(ctx: ScoreContext) -> Scores:
    model, task, pieces = ctx.model, ctx.task, ctx.pieces
    weights = probes.mlp_weights(model)
    check(weights is not None, "method", "weights",
          f"a zoo MLP or Ensemble (layers of weights to read); {type(model).__name__} has none: "
          "use 'ablation' or 'attribution'")
    groups = input_groups(task)
    check(groups is not None, "method", "weights",
          f"a task whose subtasks read known input groups (define task.input_groups); {task!r} has none")
    K = len(task.subtasks)
    check(len(groups) == K, "task", task, f"input_groups with one group per subtask ({K})")
    members = ctx.members
    d_in = weights[0].shape[-2]
    member_of = torch.zeros(d_in, K, dtype=torch.float64)
    for k, grp in enumerate(groups):
        for i in grp:
            check(0 <= i < d_in, "input_groups", groups, f"input indices in [0, {d_in})")
            member_of[i, k] = 1.0
    xs = probes.Moments(d_in)
    for batch in pieces:
        xs.update(batch.x.reshape(-1, d_in))
    var_in = xs.var  # [d_in]
    share_prev = member_of if members is None else member_of.expand(members, d_in, K)
    var_prev = var_in if members is None else var_in.expand(members, d_in)
    hidden = [f"hidden.{i}" for i in range(len(weights) - 1)]
    variance = ctx.base["var"]
    out = {}
    for site, w in zip(hidden, weights[:-1]):
        contrib = w.double().square() * var_prev.unsqueeze(-1)  # [(M,) fan_in, fan_out]
        denom = contrib.sum(-2)  # [(M,) fan_out]
        share = (contrib.transpose(-1, -2) @ share_prev) / denom.unsqueeze(-1).clamp_min(1e-300)
        share = torch.where(denom.unsqueeze(-1) > 0, share, torch.zeros_like(share))
        out[site] = share
        share_prev = share
        if site in variance:
            var_prev = variance[site]
        else:
            var_prev = probes.capture(model, (b.x for b in pieces), sites=[site], stats=("var",))[site].var
    for s in ctx.sites:
        check(s in out, "sites", s, f"sites of the MLP's hidden layers ({hidden}) for method='weights'")
    return Scores({s: out[s] for s in ctx.sites})


@register_scorer("probe", 0.5, "|corr| of the neuron with each of the task's intermediate quantities", options=())
def probe_scorer(ctx: ScoreContext) -> Scores:
    check(ctx.base.get("cross") is not None, "method", "probe",
          f"a task with intermediate quantities (task.intermediates); {ctx.task!r} has none")
    return Scores({s: ctx.base["cross"][s].abs() for s in ctx.sites}, columns=tuple(ctx.base["intermediates"]))


SCORERS.reserved.update(SCORERS)   # the toolkit's own methods: no scorer of a user's may take their names


def scorer(name: str) -> Scorer:
    """The registered scorer ``name`` (a ``ValueError`` lists the names)."""
    return SCORERS.lookup(name, also=("auto",))


__all__ = ["SCORERS", "Scorer", "ScoreContext", "Scores", "register_scorer", "scorer", "ablation_deltas",
           "exact_ablation", "live_ids", "attribution_sums", "output_of", "Meter", "block_shares"]
