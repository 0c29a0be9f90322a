"""The ``verified`` scorer: attribution as a screen, then exact ablation of the screen's top
candidates and of a random sample of the rest, round by round on growing shares of the
samples, which bounds the serving neurons the screen may have missed (after AtP*, Kramár et
al. 2024)."""
from __future__ import annotations

import math

import numpy as np
import torch

from models.validate import is_number

from ..uncertainty import Deltas
from .ablation import Meter, block_shares, exact_ablation
from .attribution import attribution_sums
from .passes import sample_size
from .registry import ScoreContext, Scores, check_options, register_scorer


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




def _share(v) -> bool:
    return is_number(v) and 0 < v <= 1


def _count(v) -> bool:
    return is_number(v) and math.isfinite(v) and float(v).is_integer() and v >= 0


RULES = {"candidates": (_share, "a share in (0, 1]"),
         "sample": (_count, "an integer ≥ 0"),
         "min_candidates": (_count, "an integer ≥ 0"),
         "budget": (lambda v: v is None or (is_number(v) and v > 0),
                    "None (no limit) or a number > 0 of passes over the evaluation set"),
         "seconds": (lambda v: v is None or (is_number(v) and v > 0), "None or a number of seconds > 0"),
         "sequential": (lambda v: isinstance(v, bool), "True or False")}
"""The ``verified`` scorer's settings and what each allows."""


@register_scorer("verified", 0.01, "mean-ablation loss change / subtask loss: exact for the attribution "
                                   "screen's candidates and a random sample, estimated for the rest",
                 options=("candidates", "sample", "min_candidates", "budget", "seconds", "sequential"), rules=RULES)
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

