"""How sure a neuron's score is, and the decisions and counts made from many of them.

A score is a subtask's mean loss change over its samples (sequences for a token task)
divided by that subtask's loss on the same samples: ``R = Σ_s Δ_s / Σ_s L_s`` with ``Δ_s`` a
sample's summed loss change and ``L_s`` its summed loss. ``Deltas`` accumulates the sums that
give ``R`` and its standard error by the ratio estimator's delta method,
``Var R ≈ m/(m−1) · Σ_s (Δ_s − R·L_s)² / (Σ_s L_s)²`` over the m samples that serve the
subtask (a change that scales with a sample's loss is then measured with the precision it has).

A neuron serves subtask k when its score exceeds the threshold by more than chance allows:
the one-sided p-value of ``(score − threshold)/SE``, with Benjamini-Hochberg control of the
false-discovery rate over every (live neuron, subtask) pair tested (``bh_cutoff``). A count
of serving neurons has an interval (``count_interval``): the neurons that serve for sure, plus
the spread of those near the threshold (each serving with probability Φ((score − t)/SE),
a Poisson-binomial sum, normal approximation), plus what a sampling bound adds.

>>> d = Deltas(lead=(), n=1, k=1)
>>> d.add(torch.tensor([0]), torch.tensor([[[1.0], [3.0]]]), torch.tensor([[4.0], [4.0]]), torch.ones(2, 1))
>>> d.score()[0, 0].item(), round(d.stderr()[0, 0].item(), 3)
(0.5, 0.25)
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.stats import norm


class Deltas:
    """Running sums for ``n`` neurons and ``k`` subtasks (with an ensemble's leading axis
    ``lead``) of each sample's loss change ``Δ`` and its loss before the change ``L``:
    ``Σ Δ``, ``Σ Δ²``, ``Σ Δ·L``, ``Σ L``, ``Σ L²`` ``[(M,) n, K]``, and per neuron the samples
    serving each subtask ``[n, K]`` and the counted units they hold ``[n]``, each neuron over
    the samples it was measured on. The score is the ratio ``Σ Δ / Σ L``: the mean loss change
    relative to the loss, on the same samples."""

    def __init__(self, lead: tuple, n: int, k: int):
        self.s1 = torch.zeros(*lead, n, k, dtype=torch.float64)
        self.s2, self.sdl, self.sl, self.sl2 = (torch.zeros_like(self.s1) for _ in range(4))
        self.m = torch.zeros(n, k, dtype=torch.float64)
        self.units = torch.zeros(n, dtype=torch.float64)

    def add(self, ids: torch.Tensor, delta: torch.Tensor, base: torch.Tensor, weight: torch.Tensor) -> None:
        """``delta [(M,) J, B, K]``: neuron ``ids[j]``'s per-sample loss changes on B samples
        whose losses were ``base [(M,) B, K]`` and units ``weight [B, K]``."""
        d, b, w = delta.double().cpu(), base.double().cpu().unsqueeze(-3), weight.double().cpu()
        ids = ids.cpu()
        self.s1[..., ids, :] += d.sum(-2)
        self.s2[..., ids, :] += d.pow(2).sum(-2)
        self.sdl[..., ids, :] += (d * b).sum(-2)
        self.sl[..., ids, :] += b.sum(-2)
        self.sl2[..., ids, :] += b.pow(2).sum(-2)
        self.m[ids] += (w > 0).double().sum(0)
        self.units[ids] += float(w.amax(-1).sum())

    def add_products(self, c: torch.Tensor, member: torch.Tensor, base: torch.Tensor, weight: torch.Tensor) -> None:
        """Every neuron at once, sample b changing its own subtask's loss by ``c [(M,) B, n]``
        (``member [B, K]``: 1 for that subtask; ``base [(M,) B, K]``, ``weight [B, K]``),
        without forming ``[B, n, K]``."""
        c, member, b = c.double().cpu(), member.double().cpu(), base.double().cpu()
        self.s1 += torch.einsum("...bn,bk->...nk", c, member)
        self.s2 += torch.einsum("...bn,bk->...nk", c.pow(2), member)
        self.sdl += torch.einsum("...bn,...bk->...nk", c, b)
        self.sl += b.sum(-2).unsqueeze(-2)
        self.sl2 += b.pow(2).sum(-2).unsqueeze(-2)
        self.m += (weight.cpu() > 0).double().sum(0)

    def add_column(self, k: int, c: torch.Tensor, base: torch.Tensor, weight: torch.Tensor) -> None:
        """Every neuron at once, changing subtask k's loss on sample b by ``c [(M,) B, n]``
        (``base [(M,) B]``: the samples' losses in subtask k; ``weight [B]``: their units)."""
        c, b = c.double().cpu(), base.double().cpu()
        self.s1[..., k] += c.sum(-2)
        self.s2[..., k] += c.pow(2).sum(-2)
        self.sdl[..., k] += (c * b.unsqueeze(-1)).sum(-2)
        self.sl[..., k] += b.sum(-1).unsqueeze(-1)
        self.sl2[..., k] += b.pow(2).sum(-1).unsqueeze(-1)
        self.m[:, k] += float((weight.cpu() > 0).sum())

    FLOOR = 1e-30
    """The loss below which a subtask counts as solved: its changes are divided by this."""

    def score(self) -> torch.Tensor:
        """``Σ Δ / Σ L`` ``[(M,) n, K]`` (0 where nothing was measured)."""
        return self.s1 / self.sl.clamp_min(self.FLOOR)

    def stderr(self) -> torch.Tensor:
        """Standard error of ``score()`` ``[(M,) n, K]`` (delta method for a ratio over the m
        samples); inf with fewer than two samples."""
        r = torch.where(self.sl > self.FLOOR, self.score(), torch.zeros_like(self.s1))
        ss = (self.s2 - 2 * r * self.sdl + r.pow(2) * self.sl2).clamp_min(0)
        m = self.m
        se = (ss * m / (m - 1).clamp_min(1)).sqrt() / self.sl.clamp_min(self.FLOOR)
        return torch.where(m >= 2, se, torch.full_like(se, math.inf))


def serve_pvalues(scores: np.ndarray, stderr: np.ndarray, threshold: float) -> np.ndarray:
    """One-sided p-values of "score > threshold": ``1 − Φ((score − threshold)/SE)``; a score
    measured without noise (SE 0) gives 0 above the threshold and 1 at or below it."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (scores - threshold) / stderr
    z = np.where(stderr > 0, z, np.where(scores > threshold, np.inf, -np.inf))
    return norm.sf(np.nan_to_num(z, nan=-np.inf))


def bh_cutoff(p: np.ndarray, q: float) -> float:
    """The Benjamini-Hochberg p-value cut-off at false-discovery rate ``q`` for the p-values
    ``p`` (reject where ``p <= cutoff``; -1 when none is rejected).

    >>> bh_cutoff(np.array([0.001, 0.02, 0.5]), 0.05)
    0.02
    """
    p = np.sort(np.asarray(p, dtype=float).ravel())
    if p.size == 0:
        return -1.0
    ok = p <= q * np.arange(1, p.size + 1) / p.size
    return float(p[np.flatnonzero(ok)[-1]]) if ok.any() else -1.0


def _serving_probabilities(scores: np.ndarray, stderr: np.ndarray, threshold: float) -> np.ndarray:
    """``Φ((score − t)/SE)`` per neuron of finite error: the chance its true score reaches
    ``threshold`` (an error of 0 gives 1 at or above it, 0 below)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (scores - threshold) / stderr
    z = np.where(stderr > 0, z, np.where(scores >= threshold, np.inf, -np.inf))
    return norm.cdf(np.nan_to_num(z, nan=-np.inf))


def serving_mean(scores: np.ndarray, stderr: np.ndarray, threshold: float) -> float:
    """The expected number of neurons whose true score reaches ``threshold``: ``Σ Φ((score −
    t)/SE)`` over those with a finite error (``count_interval``'s centre)."""
    ok = np.isfinite(stderr)
    return float(_serving_probabilities(scores[ok], stderr[ok], threshold).sum())


def census_estimate(record: dict, confidence: float = 0.95) -> CountEstimate:
    """The ``CountEstimate`` of one subtask's census design (``interp.census.count_servers``'s
    record), at ``confidence``."""
    tail = record.get("tail") or {}
    exact = record["exact_hits"]          # census, pilots and tail: servers measured
    rows = [tuple(h["estimator"]) for h in record["strata"]]
    if tail.get("clusters"):
        rows.append(tuple(tail["clusters"]))
    est, low, high = stratified_count(exact, rows, confidence)
    kept = record.get("estimate") or {}
    spent = record.get("single_ablations", 0)
    open_units = tail.get("open", tail.get("uncleared", 0))
    est += open_units * tail.get("open_rate", 0.0)
    return CountEstimate(est, low, high + open_units, confidence, spent + record.get("block_ablations", 0),
                         budget_for_target(rows, spent, exact, confidence, open_units), kept.get("note", ""))


def budget_for_target(rows, spent: int, exact: int, confidence: float = 0.95, open_units: int = 0) -> float | None:
    """Single ablations a ±30% (±15 under 50) interval would take: the sampled strata's draws
    (``rows``: ``(N_h, n_h, x_h)``) scaled up together at the same hit rates, plus, for
    ``open_units`` left unmeasured, a random sample of them large enough that finding no server
    there bounds them within the target (about ``3.7·open_units/target``). None where nothing
    is sampled or open; inf where no scaling reaches the target."""
    alpha = 1 - confidence
    drawn = [(N, m, x) for N, m, x in rows if 0 < m]
    est = stratified_count(exact, rows, confidence)[0]
    target = 15.0 if est < 50 else 0.3 * est
    extra = math.ceil(-math.log(alpha / 2) * open_units / target) if open_units else 0
    if not any(m < N for N, m, _ in drawn):
        return float(spent + extra) if open_units else None
    for f in 2.0 ** np.arange(0.5, 12, 0.5):
        more = [min(N, max(m, round(m * f))) for N, m, _ in drawn]
        e, lo, hi = stratified_count(exact, [(N, m2, round(x * m2 / m)) for (N, m, x), m2 in zip(drawn, more)],
                                     confidence)
        if width_ok(e, lo, hi):
            return float(spent + sum(m2 - m for (_, m, _), m2 in zip(drawn, more)) + extra)
    return math.inf


def count_interval(scores: np.ndarray, stderr: np.ndarray, threshold: float, confidence: float = 0.95,
                   extra_high: float = 0.0) -> tuple[int, int]:
    """An interval for the number of neurons whose true score reaches ``threshold``, from the
    scores and standard errors of the candidates (``[n]``; others left out): each serves with
    probability ``Φ((score − t)/SE)``; the count's mean and spread (Poisson-binomial, normal
    approximation) give the interval, rounded outward; a neuron with an infinite error (fewer
    than two samples) adds one to the top only; ``extra_high`` (e.g. a sampling bound on
    neurons never measured) widens it too.

    >>> count_interval(np.array([5.0, 5.0, 0.0]), np.array([0.1, 0.1, 0.1]), 1.0)
    (2, 2)
    """
    unknown = ~np.isfinite(stderr)          # measured on fewer than two samples: may or may not serve
    pr = _serving_probabilities(scores[~unknown], stderr[~unknown], threshold)
    mean, sd = pr.sum(), math.sqrt(float((pr * (1 - pr)).sum()))
    zc = norm.ppf(0.5 + confidence / 2)
    low = max(0, math.floor(mean - zc * sd + 1e-9))
    high = math.ceil(mean + zc * sd - 1e-9 + extra_high) + int(unknown.sum())
    return int(low), int(max(high, low))


# --------------------------------------------------------------------------------------------
# counts from a sampling design: census + strata, Horvitz-Thompson with a Fay-Feuer interval
# --------------------------------------------------------------------------------------------
class CountEstimate(tuple):
    """How many neurons serve a subtask: ``estimate`` with a ``(low, high)`` interval at
    ``confidence``; it unpacks as ``(low, high)``, so ``low, high = est``. ``determined``: the
    interval is no wider than ``±30%`` of the estimate, or ``±15`` neurons where the estimate is
    under 50 (``width_ok``); otherwise ``statement`` says "undetermined" with the interval and,
    where known, the ablations (``budget_for_target``) a ±30% interval would take.

    >>> e = CountEstimate(12.4, 10, 15)
    >>> low, high = e
    >>> (low, high, e.determined)
    (10, 15, True)
    """

    def __new__(cls, estimate: float, low: int, high: int, confidence: float = 0.95, ablations: int = 0,
                budget_for_target: float | None = None, note: str = ""):
        self = super().__new__(cls, (int(low), int(high)))
        self.estimate, self.confidence, self.ablations = float(estimate), float(confidence), int(ablations)
        self.budget_for_target, self.note = budget_for_target, note
        return self

    @property
    def low(self) -> int:
        return self[0]

    @property
    def high(self) -> int:
        return self[1]

    @property
    def determined(self) -> bool:
        return width_ok(self.estimate, self.low, self.high)

    @property
    def statement(self) -> str:
        iv = f"{self.estimate:.0f} [{self.low}, {self.high}]"
        if self.determined:
            return iv
        more = (f"; budget for ±30% ≈ {self.budget_for_target:.0f} ablations"
                if self.budget_for_target is not None and math.isfinite(self.budget_for_target) else "")
        return f"undetermined: interval [{self.low}, {self.high}]{more}"

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "confidence": self.confidence,
                "determined": self.determined, "ablations": self.ablations,
                "budget_for_target": self.budget_for_target, "note": self.note}

    @classmethod
    def from_dict(cls, d: dict) -> "CountEstimate":
        return cls(d["estimate"], d["low"], d["high"], d.get("confidence", 0.95), d.get("ablations", 0),
                   d.get("budget_for_target"), d.get("note", ""))

    def __repr__(self) -> str:
        return f"CountEstimate({self.estimate:.4g}, low={self.low}, high={self.high})"


def width_ok(estimate: float, low: float, high: float, relative: float = 0.3, small: float = 15.0,
             small_below: float = 50.0) -> bool:
    """Whether ``[low, high]`` is no wider than ``±relative`` of ``estimate`` (``±small``
    neurons where the estimate is under ``small_below``) on either side."""
    half = max(estimate - low, high - estimate)
    return half <= (small if estimate < small_below else relative * estimate) + 1e-9


def stratified_count(exact_hits: int, strata, confidence: float = 0.95) -> tuple[float, int, int]:
    """A count of positives in a population measured partly in full (``exact_hits`` found
    where every unit was measured) and partly by simple random samples from strata
    (``strata``: ``(N_h, n_h, x_h)``, population, sampled, positives seen): the
    Horvitz-Thompson estimate ``exact_hits + Σ N_h/n_h · x_h`` and the Fay-Feuer gamma interval
    for a weighted sum of Poisson counts (conservative for sampling without replacement, and
    right for rare positives: 0 seen gives a top of about ``3.7·max N_h/n_h``). The interval is
    clipped to what is known (at least the positives seen, at most every unmeasured unit) and
    always holds the estimate.

    >>> stratified_count(5, [(100, 100, 3)])
    (8.0, 8, 8)
    >>> est, low, high = stratified_count(5, [(1000, 50, 0)])
    >>> est, low, high
    (5.0, 5, 79)
    """
    from scipy.stats import gamma

    alpha = 1 - confidence
    y = v = 0.0
    w_max = 0.0
    seen = int(exact_hits)
    room = int(exact_hits)
    for N, n, x in strata:
        N, n, x = int(N), int(n), int(x)
        seen += x
        room += N - n + x
        if n >= N:               # a stratum measured in full is exact
            y += x
            continue
        if n == 0:               # nothing measured there: its units stay open (the top takes them all)
            continue
        w = N / n
        y, v, w_max = y + w * x, v + w * w * x, max(w_max, w)
    # the exactly measured strata (w = 1, no spread) sit inside y; the gamma interval covers the sampled part
    sampled = sum(int(N) / int(n) * int(x) for N, n, x in strata if 0 < int(n) < int(N))
    exact_part = y - sampled
    low = 0.0 if sampled <= 0 else float(gamma.ppf(alpha / 2, sampled ** 2 / v, scale=v / sampled))
    high = 0.0 if w_max == 0 else float(gamma.ppf(1 - alpha / 2, (sampled + w_max) ** 2 / (v + w_max ** 2),
                                                  scale=(v + w_max ** 2) / (sampled + w_max)))
    est = exact_hits + y
    lo = max(seen, math.floor(exact_hits + exact_part + low + 1e-9))
    unmeasured = sum(int(N) for N, n, _ in strata if int(n) == 0)      # strata with no draw: wholly open
    hi = min(room, math.ceil(exact_hits + exact_part + high - 1e-9) + unmeasured)
    lo, hi = min(lo, math.floor(est)), max(hi, math.ceil(est))
    return float(est), int(lo), int(hi)


def neyman(sizes, spreads, total: int, already=None) -> np.ndarray:
    """Neyman allocation of ``total`` more draws over strata of ``sizes`` with standard
    deviations ``spreads`` (``n_h ∝ N_h S_h``), in integers by largest remainder, never past a
    stratum's units left (``already``: drawn so far).

    >>> neyman([100, 100], [0.5, 0.1], 12).tolist()
    [10, 2]
    """
    N = np.asarray(sizes, dtype=float)
    have = np.zeros_like(N) if already is None else np.asarray(already, dtype=float)
    left = N - have
    out = np.zeros(N.size, dtype=int)
    budget = int(total)
    while budget > 0 and left.sum() > out.sum():
        open_ = out < left
        want = N * np.asarray(spreads, dtype=float) * open_
        if want.sum() <= 0:
            want = left * open_
        share = want / want.sum() * budget
        add = np.minimum(np.floor(share).astype(int), (left - out).astype(int))
        rest = budget - int(add.sum())
        if rest > 0:
            order = np.argsort(-(share - np.floor(share)) - 1e9 * ~open_, kind="stable")
            for i in order:
                if rest == 0:
                    break
                if open_[i] and out[i] + add[i] < left[i]:
                    add[i] += 1
                    rest -= 1
        if add.sum() == 0:
            break
        out += add
        budget -= int(add.sum())
    return out
