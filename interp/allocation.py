"""Which subtask each neuron serves, and how many serve each: ``interp.allocate(model, task, method=...)``.

One score matrix ``[neurons, subtasks]`` per site, filled by a registered scorer
(``interp.scorers``: ``weights``, ``ablation``, ``attribution``, ``verified``, ``census``,
``probe``), then a threshold. Scores are normalised so one threshold reads the same on every
model: for ``ablation``, ``attribution``, ``verified`` and ``census`` the score is the same
quantity, the mean loss change of a subtask when the neuron is replaced by its mean, divided by
that subtask's loss (measured exactly, estimated to first order, or measured where it matters
and estimated elsewhere); default threshold 0.01 for all four. ``weights`` (0.05) is the share
of a neuron's input variance from each subtask's inputs; ``probe`` (0.5) its ``|corr|`` with
the task's intermediate quantities.

A neuron is live under ``live_rule`` (``interp.neurons``: the paper's absolute variance >
1e-3 on the zoo, a rule relative to each site's scale on language models); a live neuron
serves subtask k when its score for k reaches the threshold and at least ``dominance`` (0.1)
of its largest score, so a side effect a tenth the size of a neuron's main effect does not
make it shared. It is then assigned to that subtask, to ``"shared"`` when it serves several,
or to ``"unallocated"`` when it serves none (dead neurons are always unallocated and are not
ablated: their score is 0).

Two outputs, kept apart: the decisions, neuron by neuron (``assigned``, ``neurons``,
``counts()``: the neurons certified), and the count, how many neurons serve each subtask with
its interval (``estimate()``; ``count_intervals()`` its interval). With exact scores and no
error they coincide; where scores are estimated or measured on a sample of the neurons they
do not, and the count is the number to cite.

``method="auto"`` reads ``weights`` off a one-hidden-layer zoo MLP, ablates exactly when the
live neurons are at most ``ABLATION_LIMIT``, and otherwise runs ``census`` (``interp.census``),
whose scores mean the same as ablation's and whose count carries an interval;
``Allocation.method`` says which ran and ``notes["auto"]`` why.

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
from models.atomic import write_text
from models.jsonable import jsonable
from models.tasks import Task
from models.validate import check, check_bool, check_number, check_seed, is_int, is_number

from .evaluation import check_n_samples, check_piece_memory, check_task, eval_pieces, failed_members, input_groups
from .neurons import live_mask, live_rule_for
from .report import allocation_table, plot_allocation
from .scorers import SCORERS, ScoreContext, check_options, output_of, progress_bar, scorer
from . import census  # noqa: F401  (registers method="census")
from .uncertainty import CountEstimate, bh_cutoff, census_estimate, count_interval, serve_pvalues, serving_mean

METHODS = ("auto", *sorted(SCORERS))
"""The built-in methods (``interp.scorers.SCORERS`` holds these and any registered later)."""
DEFAULT_THRESHOLDS = {name: s.default_threshold for name, s in SCORERS.items()}
SHARED, UNALLOCATED = "shared", "unallocated"
FDR = 0.05
"""Default false-discovery rate of the decisions "neuron serves subtask" (when scores have errors)."""
ABLATION_LIMIT = 4096
"""``auto`` ablates every live neuron exactly up to this many, and runs ``census`` beyond."""
BATCH_TOKENS = 512
"""Default size of a streamed piece, in tokens (a sample of a token task counts its length,
any other sample one), so peak memory does not grow with the evaluation set."""


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Allocation:
    """Neuron accounting of one network, or of every member of an ensemble.

    Per site (``sites``, in forward order): ``live [(M,) n]`` (bool), ``variance [(M,) n]``,
    ``mean [(M,) n]`` (the value mean ablation substitutes) and ``scores [(M,) n, K]`` (numpy), with ``subtasks`` naming the K columns (the task's
    subtasks, or its intermediate quantities for ``method="probe"``); ``losses [(M,) K]``
    are the subtask losses on the evaluation set (NaN for ``probe``); ``exact [(M,) n]``
    marks the scores measured exactly. An ensemble's allocation carries the member axis M
    (``n_members``): it is a sequence of per-member allocations (``alloc[i]``, ``for a in
    alloc``), and its counts are arrays over members. A single model's allocation is a
    sequence of one (itself). ``member``: which member this is (None for a single model or
    the whole ensemble). ``failed``: ensemble member -> what went wrong (failed in training,
    or NaN/inf activations or losses); a failed member has no live neurons, NaN losses, and
    NaN counts (``counts()``, ``n_live``, ...), never 0.

    Uncertainty (``ablation``, ``attribution``, ``verified``): ``stderr [(M,) n, K]`` holds each
    score's standard error over the evaluation samples and ``units [n]`` the counted units
    (tokens, or samples) each exact score used. A neuron then serves subtask k only when its
    score exceeds the threshold by more than chance allows: Benjamini-Hochberg at
    false-discovery rate ``fdr`` (0.05) over every live (neuron, subtask) pair; ``fdr=None``
    decides by the point estimate alone. ``count_intervals()`` gives each count an interval.
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
    live_rule: str = "absolute"
    n_members: int | None = None
    exact: dict[str, np.ndarray] | None = None
    failed: dict[int, str] = field(default_factory=dict)
    stderr: dict[str, np.ndarray] | None = None
    units: dict[str, np.ndarray] | None = None
    fdr: float | None = FDR
    mean: dict[str, np.ndarray] | None = None

    # -- an ensemble is a sequence of members ------------------------------------------
    def __len__(self) -> int:
        return self.n_members if self.n_members is not None else 1

    def __getitem__(self, i: int) -> "Allocation":
        check(isinstance(i, (int, np.integer)) and -len(self) <= i < len(self), "member", i,
              f"an index in [0, {len(self)})")
        if self.n_members is None:
            return self
        i = int(i) % self.n_members
        pick = lambda d: None if d is None else {s: d[s][i] for s in self.sites}  # noqa: E731
        return replace(self, live=pick(self.live), variance=pick(self.variance), scores=pick(self.scores),
                       exact=pick(self.exact), stderr=pick(self.stderr), mean=pick(self.mean), losses=self.losses[i],
                       member=i, n_members=None,
                       failed={i: self.failed[i]} if i in self.failed else {})

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def _one(self, what: str) -> None:
        check(self.n_members is None, "allocation", f"an ensemble of {self.n_members}",
              f"a single model's allocation for {what}: take one member with alloc[i]")

    def rethreshold(self, threshold: float | None = None, dominance: float | None = None,
                    live_threshold: float | None = None, live_rule: str | None = None,
                    fdr: float | None | str = "same") -> "Allocation":
        """The same scores under other thresholds, live rule or false-discovery rate (``fdr``:
        a rate in (0, 1), or None to decide by the point estimates; no model needed)."""
        changes = {}
        if fdr != "same":
            check(fdr is None or (is_number(fdr) and 0 < fdr < 1), "fdr", fdr, "None or a rate in (0, 1)")
            changes["fdr"] = None if fdr is None else float(fdr)
        if threshold is not None:
            check_number("threshold", threshold)
            changes["threshold"] = float(threshold)
        if dominance is not None:
            check_number("dominance", dominance, 0.0, 1.0)
            changes["dominance"] = float(dominance)
        if live_threshold is not None or live_rule is not None:
            rule = live_rule or self.live_rule
            lt = self.live_threshold if live_threshold is None else live_threshold
            check(rule in ("absolute", "relative"), "live_rule", rule, "'absolute' or 'relative'")
            check_number("live_threshold", lt, 0.0, what="a finite number ≥ 0")
            live = {s: live_mask(torch.nan_to_num(torch.from_numpy(np.asarray(self.variance[s], dtype=float))),
                                 rule, lt).numpy() for s in self.sites}
            if self.failed:   # a failed member stays without live neurons
                for s in self.sites:
                    if self.n_members is not None:
                        live[s][list(self.failed)] = False
                    else:
                        live[s][...] = False
            changes.update(live_threshold=float(lt), live_rule=rule, live=live)
        return replace(self, **changes)

    # -- per neuron --------------------------------------------------------------------
    def _site(self, site: str) -> str:
        check(site in self.sites, "site", site, f"one of {list(self.sites)}")
        return site

    def _point(self, site: str) -> np.ndarray:
        s = self.scores[site]
        top = s.max(-1, keepdims=True) if s.shape[-1] else np.zeros((*s.shape[:-1], 1))
        return self.live[site][..., None] & (s >= self.threshold) & (s >= self.dominance * top)

    def _tested(self) -> bool:
        return self.stderr is not None and self.fdr is not None

    def _cutoff(self) -> np.ndarray:
        """The Benjamini-Hochberg p-value cut-off over every live (neuron, subtask) pair, per
        member ``[(M,)]`` (computed once)."""
        cached = self.__dict__.get("_bh")
        if cached is None:
            # a pair never measured (infinite error) is not a test: it stays out of the count m
            p = [np.where(self.live[s][..., None] & np.isfinite(self.stderr[s]),
                          serve_pvalues(self.scores[s], self.stderr[s], self.threshold), np.nan) for s in self.sites]
            flat = np.concatenate([x.reshape(*x.shape[:-2], -1) for x in p], -1)   # [(M,) pairs]
            rows = flat.reshape(-1, flat.shape[-1])
            cached = np.array([bh_cutoff(r[np.isfinite(r)], self.fdr) for r in rows]).reshape(flat.shape[:-1])
            object.__setattr__(self, "_bh", cached)
        return cached

    def assigned(self, site: str) -> np.ndarray:
        """Which subtasks each neuron serves, ``bool [(M,) n, K]``: live, score at least the
        threshold and ``dominance`` of its largest, and (with standard errors) significantly
        above the threshold under the false-discovery control."""
        site = self._site(site)
        point = self._point(site)
        if not self._tested():
            return point
        p = serve_pvalues(self.scores[site], self.stderr[site], self.threshold)
        cut = np.asarray(self._cutoff())
        return point & (p <= cut[..., None, None]) & np.isfinite(self.stderr[site])

    def assignment(self, site: str) -> list:
        """Per neuron: its subtask's name, ``"shared"`` or ``"unallocated"`` (a list per member
        for an ensemble)."""
        a = self.assigned(site)
        if a.ndim == 3:
            return [self[m].assignment(site) for m in range(len(self))]
        n = a.sum(1)
        return [self.subtasks[int(row.argmax())] if c == 1 else (SHARED if c > 1 else UNALLOCATED)
                for row, c in zip(a, n)]

    def neurons(self, subtask: str, site: str | None = None,
                exclusive: bool = False) -> dict[str, np.ndarray] | np.ndarray:
        """Indices of the neurons serving ``subtask`` (only it, when ``exclusive``), per site or at one site."""
        self._one("neurons()")
        check(subtask in self.subtasks, "subtask", subtask, f"one of {list(self.subtasks)}")
        k = self.subtasks.index(subtask)

        def at(s):
            a = self.assigned(s)
            hit = a[:, k] & ((a.sum(1) == 1) if exclusive else True)
            return np.flatnonzero(hit)
        return at(site) if site is not None else {s: at(s) for s in self.sites}

    # -- counts ------------------------------------------------------------------------
    def _counted(self, n) -> Any:
        """A count (int, or ints ``[M]``), NaN where the member failed."""
        if np.ndim(n) == 0:
            return math.nan if self.failed else int(n)
        if not self.failed:
            return np.asarray(n, dtype=int)
        n = np.asarray(n, dtype=float)
        n[list(self.failed)] = np.nan
        return n

    def _total(self, per_site) -> Any:
        return self._counted(sum(per_site(s) for s in self.sites))

    def counts(self, exclusive: bool = False) -> dict[str, Any]:
        """Neurons assigned to each subtask over all sites, the decisions of ``assigned`` (a
        shared neuron counts for each of its subtasks unless ``exclusive``): ints, or arrays
        ``[M]`` for an ensemble. Where scores are uncertain, how many neurons truly serve is
        ``estimate()``, with its interval; these are the neurons certified one by one."""
        def at(s):
            a = self.assigned(s)
            if exclusive:
                a = a & (a.sum(-1, keepdims=True) == 1)
            return a.sum(-2)  # [(M,) K]
        tot = sum(at(s) for s in self.sites)
        return {name: self._counted(tot[..., k]) for k, name in enumerate(self.subtasks)}

    def estimate(self, confidence: float = 0.95) -> dict[str, Any]:
        """How many neurons serve each subtask: per subtask a ``CountEstimate`` (an estimate, an
        interval ``(low, high)`` at ``confidence`` that always holds it, and whether the interval
        is narrow enough to cite; a list over members for an ensemble). ``counts()`` are the
        decisions, neuron by neuron; this is the count.

        - ``census``: the design's Horvitz-Thompson estimate and Fay-Feuer interval
          (``interp.census``), recomputed at ``confidence`` from the design in ``notes``;
        - with standard errors (``ablation``, ``attribution``, ``verified``): each live neuron
          (whose score is at least ``dominance`` of its largest) serves with probability
          ``Φ((score − threshold)/SE)``; the estimate is their sum and the interval that of a sum
          of such coin flips (``interp.uncertainty.count_interval``). For ``verified`` only the
          exactly measured neurons enter, and the sampling bound on serving neurons left
          unverified (``notes["missed_upper_95_by_subtask"]``) widens the top;
        - without: the count itself, with no spread.
        """
        check(is_number(confidence) and 0 < confidence < 1, "confidence", confidence, "a number in (0, 1)")
        if self.n_members is not None:
            per = [m.estimate(confidence) for m in self]
            return {k: [p[k] for p in per] for k in self.subtasks}
        if self.failed:
            return {k: CountEstimate(math.nan, -1, -1, confidence) for k in self.subtasks}
        design = self.notes.get("census")
        if self.method == "census" and design:
            return {k: census_estimate(design[k], confidence) for k in self.subtasks}
        counts = self.counts()
        if self.stderr is None:
            return {k: CountEstimate(v, v, v, confidence) for k, v in counts.items()}
        verified = self.method == "verified" and self.exact is not None
        extra = (self.notes.get("missed_upper_95_by_subtask") or {}) if verified else {}
        out = {}
        for k, name in enumerate(self.subtasks):
            sc, se = [], []
            for s in self.sites:
                x = self.scores[s]
                top = x.max(-1, keepdims=True) if x.shape[-1] else np.zeros((*x.shape[:-1], 1))
                mask = self.live[s] & (x[:, k] >= self.dominance * top[:, 0])
                if verified:
                    mask &= self.exact[s]
                sc.append(x[mask, k])
                se.append(self.stderr[s][mask, k])
            sc, se = np.concatenate(sc), np.concatenate(se)
            low, high = count_interval(sc, se, self.threshold, confidence, float(extra.get(name, 0.0)))
            mean = serving_mean(sc, se, self.threshold)
            out[name] = CountEstimate(min(max(mean, low), high), low, high, confidence)
        return out

    def count_intervals(self, confidence: float = 0.95) -> dict[str, Any]:
        """Per subtask, the interval ``(low, high)`` of ``estimate()`` (for an ensemble, a list
        over members)."""
        def interval(e):
            return (math.nan, math.nan) if math.isnan(e.estimate) else tuple(e)    # a failed member: NaN
        est = self.estimate(confidence)
        if self.n_members is not None:
            return {k: [interval(e) for e in v] for k, v in est.items()}
        return {k: interval(e) for k, e in est.items()}

    @property
    def n_live(self):
        return self._total(lambda s: self.live[s].sum(-1))

    @property
    def n_shared(self):
        return self._total(lambda s: (self.assigned(s).sum(-1) > 1).sum(-1))

    @property
    def n_unallocated(self):
        """Neurons serving no subtask (dead ones included)."""
        return self._total(lambda s: (self.assigned(s).sum(-1) == 0).sum(-1))

    def by_layer(self) -> dict[str, dict[str, int]]:
        """Per site: neurons serving each subtask (exclusively), ``shared``, ``unallocated``
        (live but serving none), ``dead``, ``live`` and ``total``."""
        self._one("by_layer()")
        out = {}
        for s in self.sites:
            a = self.assigned(s)
            n = a.sum(1)
            row = {name: int((a[:, k] & (n == 1)).sum()) for k, name in enumerate(self.subtasks)}
            live = self.live[s]
            row.update(shared=int((n > 1).sum()), unallocated=int((live & (n == 0)).sum()),
                       dead=int((~live).sum()), live=int(live.sum()))
            if self.failed:   # nothing was counted
                row = {k: math.nan for k in row}
            out[s] = {**row, "total": int(live.size)}
        return out

    def ratio(self, a: str, b: str) -> float:
        """``counts()[a] / counts()[b]`` (inf when b has none, NaN when neither has)."""
        self._one("ratio()")
        c = self.counts()
        for name in (a, b):
            check(name in c, "subtask", name, f"one of {list(c)}")
        if c[b] == 0:
            return math.nan if c[a] == 0 else math.inf
        return c[a] / c[b]

    def ratios(self) -> dict[str, float]:
        """Each subtask's share of the neurons serving some subtask (shares sum to 1 without sharing)."""
        self._one("ratios()")
        c = self.counts()
        total = sum(c.values())
        return {k: (v / total if total else math.nan) for k, v in c.items()}

    # -- serialisation -------------------------------------------------------------------
    def to_dict(self, per_neuron: bool = True) -> dict:
        """JSON-ready: the settings, counts, per-layer table and (``per_neuron``) the
        per-neuron arrays; an ensemble's members under ``members``."""
        head = {"method": self.method, "subtasks": list(self.subtasks), "sites": list(self.sites),
                "threshold": self.threshold, "dominance": self.dominance, "fdr": self.fdr, "live_rule": self.live_rule,
                "live_threshold": self.live_threshold, "n_samples": self.n_samples, "notes": self.notes}
        if self.n_members is not None:
            return jsonable({**head, "n_members": self.n_members, "members": [m.to_dict(per_neuron) for m in self]})
        out = {**head, "member": self.member, "failed": self.failed.get(self.member) if self.failed else None,
               "losses": self.losses, "counts": self.counts(), "count_intervals": self.count_intervals(),
               "estimates": {k: e.to_dict() for k, e in self.estimate().items()},
               "by_layer": self.by_layer()}
        if per_neuron:
            # an infinite standard error (fewer than two samples) is written as -1, NaN (jsonable) as None
            out["neurons"] = {s: {"live": self.live[s], "variance": self.variance[s], "scores": self.scores[s],
                                  "assignment": self.assignment(s),
                                  **({"exact": self.exact[s]} if self.exact is not None else {}),
                                  **({"stderr": np.where(np.isfinite(self.stderr[s]), self.stderr[s], -1.0)}
                                     if self.stderr is not None else {}),
                                  **({"units": self.units[s]} if self.units is not None else {}),
                                  **({"mean": self.mean[s]} if self.mean is not None else {})}
                              for s in self.sites}
        return jsonable(out)

    @classmethod
    def from_dict(cls, d: dict) -> "Allocation":
        if "members" in d:
            members = [cls.from_dict({**{k: v for k, v in d.items() if k != "members"}, **m}) for m in d["members"]]
            stack = lambda f: None if getattr(members[0], f) is None else {  # noqa: E731
                s: np.stack([getattr(m, f)[s] for m in members]) for s in members[0].sites}
            failed = {i: m.failed[m.member] for i, m in enumerate(members) if m.failed}
            return replace(members[0], live=stack("live"), variance=stack("variance"), scores=stack("scores"),
                           exact=stack("exact"), stderr=stack("stderr"), mean=stack("mean"), losses=np.stack([m.losses for m in members]), member=None,
                           n_members=len(members), failed=failed)
        sites = tuple(d["sites"])
        k = len(d["subtasks"])
        check("neurons" in d, "allocation", "a summary without per-neuron arrays",
              "a to_dict(per_neuron=True) dictionary")
        has_exact = all("exact" in d["neurons"][s] for s in sites)
        has = lambda key: all(key in d["neurons"][s] for s in sites)  # noqa: E731
        # an infinite standard error (fewer than two samples) is written as -1
        se = lambda s: np.where(np.asarray(d["neurons"][s]["stderr"], dtype=float).reshape(-1, k) < 0, np.inf,  # noqa: E731
                                np.asarray(d["neurons"][s]["stderr"], dtype=float).reshape(-1, k))
        return cls(method=d["method"], subtasks=tuple(d["subtasks"]), sites=sites,
                   live={s: np.asarray(d["neurons"][s]["live"], dtype=bool) for s in sites},
                   variance={s: np.asarray(d["neurons"][s]["variance"], dtype=float) for s in sites},
                   scores={s: np.asarray(d["neurons"][s]["scores"], dtype=float).reshape(-1, k) for s in sites},
                   threshold=float(d["threshold"]), live_threshold=float(d["live_threshold"]),
                   losses=np.asarray([np.nan if v is None else v for v in d["losses"]], dtype=float),
                   n_samples=int(d["n_samples"]), member=d.get("member"), dominance=float(d.get("dominance", 0.0)),
                   notes=dict(d.get("notes", {})), live_rule=d.get("live_rule", "absolute"),
                   exact={s: np.asarray(d["neurons"][s]["exact"], dtype=bool) for s in sites} if has_exact else None,
                   failed={d.get("member"): d["failed"]} if d.get("failed") else {},
                   stderr={s: se(s) for s in sites} if has("stderr") else None,
                   units={s: np.asarray(d["neurons"][s]["units"], dtype=float) for s in sites} if has("units") else None,
                   mean={s: np.asarray(d["neurons"][s]["mean"], dtype=float) for s in sites} if has("mean") else None,
                   fdr=d.get("fdr"))

    def to_json(self, path: str | Path | None = None) -> str:
        """The ``to_dict`` as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=1)
        if path is not None:
            write_text(path, text)
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> "Allocation":
        """The allocation ``to_json`` wrote: its JSON text, or the path of a file holding it."""
        p = Path(text_or_path) if not str(text_or_path).lstrip().startswith("{") else None
        try:
            data = json.loads(p.read_text(encoding="utf-8") if p is not None else str(text_or_path))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            what = "a readable JSON file written by Allocation.to_json" if p is not None else "JSON text"
            raise ValueError(f"text_or_path={str(text_or_path)[:200]!r} is not allowed: expected {what} "
                             f"({type(e).__name__}: {e})") from None
        return cls.from_dict(data)

    # -- display (the code lives in interp.report, with the toolkit's other drawing) ----------
    def table(self) -> str:
        """A per-layer, per-subtask text table (one per member for an ensemble):
        ``interp.report.allocation_table``."""
        return allocation_table(self)

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        """A few lines: method, sites, live neurons and each subtask's count (``str`` gives the table)."""
        if self.n_members is not None:
            return (f"Allocation(method={self.method!r}, members={self.n_members}, sites={len(self.sites)}, "
                    f"subtasks={list(self.subtasks)})")
        n = sum(v.size for v in self.live.values())
        counts = ", ".join(f"{k}: {e.estimate:.4g} [{e.low}, {e.high}]" for k, e in self.estimate().items()) \
            if not self.failed else "failed"
        return (f"Allocation(method={self.method!r}, sites={len(self.sites)}, live={self.n_live} of {n},\n"
                f"           counts={{{counts}}})")

    def plot(self, ax=None):
        """Stacked bars per site: ``interp.report.plot_allocation``. Returns the axes."""
        return plot_allocation(self, ax)


# --------------------------------------------------------------------------------------------
# the analysis
# --------------------------------------------------------------------------------------------
def allocate(model: nn.Module, task: Task | None = None, method: str = "auto", *, inputs: Any = None,
             sites: str | Sequence[str] | None = None, threshold: float | None = None, dominance: float = 0.1,
             live_rule: str = "auto", live_threshold: float = 1e-3, n_samples: int = 4096, seed: int = 0,
             batch_size: int | None = None, batch_tokens: int = BATCH_TOKENS, max_elements: int = 2**24,
             progress: bool = True, options: dict | None = None, fdr: float | None = FDR) -> Allocation:
    """Account for the neurons of ``model`` on ``task``: live or not, a score per subtask, an
    assignment, and how many serve each subtask (see the module docs for the methods,
    thresholds and live rules). ``model``: a module, or a ``models.Checkpoint`` (its model, and
    the task saved with it when ``task`` is None).

    ``inputs``: the evaluation set (a ``Batch`` or a list of them); by default
    ``task.eval_batch(n_samples, Generator(seed))``. It streams in pieces of ``batch_size``
    samples, by default as many as fit in ``batch_tokens`` tokens (a token task's sample
    counts its sequence length), so peak memory is flat in the size of the evaluation set.
    ``sites``: default, the model's neuron sites. ``live_rule``: ``auto`` (relative on
    language models, the paper's absolute 1e-3 on the zoo), ``absolute`` or ``relative``,
    with ``live_threshold``. ``threshold`` (per-method default) and ``dominance`` decide which
    subtasks a live neuron serves; ``Allocation.rethreshold`` changes them afterwards.
    ``progress`` shows a bar on passes that take more than two seconds; ``options`` go to
    the scorer (e.g. ``{"candidates": 0.1, "sample": 256}`` for ``verified``).
    ``max_elements`` bounds the side-by-side ablation batches. ``fdr``: the false-discovery
    rate of the decisions "serves k" where scores carry standard errors (None: point estimates). An ensemble
    (``models.Ensemble``) gives one ``Allocation`` with a member axis, a sequence of members.

    >>> import models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=1, widths=(8,), d_out=1))
    >>> alloc = interp.allocate(net, models.tasks.Square(), method="ablation", n_samples=256)
    >>> alloc.method, sorted(alloc.counts()), alloc.live_rule
    ('ablation', ['x^2'], 'absolute')
    """
    from models.checkpoint import Checkpoint

    if isinstance(model, Checkpoint):
        task = model.task if task is None else task
        check(task is not None, "task", None, "a Task (this checkpoint was saved without one)")
        model = model.model
    check(isinstance(model, nn.Module), "model", type(model).__name__, "a torch nn.Module or a models.Checkpoint")
    check(task is not None, "task", None, "a Task (the subtasks to account for), or a Checkpoint that saved one")
    check(isinstance(method, str) and (method == "auto" or method in SCORERS), "method", method,
          f"one of {['auto', *sorted(SCORERS)]}")
    check_number("live_threshold", live_threshold, 0.0, what="a finite number ≥ 0")
    check(is_int(max_elements) and max_elements >= 1, "max_elements", max_elements, "an integer ≥ 1")
    check_number("dominance", dominance, 0.0, 1.0)
    check(threshold is None or (isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
                                and math.isfinite(threshold)), "threshold", threshold,
          "None (the method's default) or a finite number")
    check(batch_size is None or (is_int(batch_size) and batch_size >= 1), "batch_size", batch_size,
          "None (pieces of batch_tokens tokens) or an integer ≥ 1")
    check(is_int(batch_tokens) and batch_tokens >= 1, "batch_tokens", batch_tokens, "an integer ≥ 1")
    check(options is None or isinstance(options, dict), "options", options, "None or a dict of scorer settings")
    check(fdr is None or (is_number(fdr) and 0 < fdr < 1), "fdr", fdr, "None or a rate in (0, 1)")
    check_options(method, options or {})
    check_seed("seed", seed)
    check_bool("progress", progress)
    rule = live_rule_for(model, live_rule)
    check_task(model, task)
    if inputs is None:
        check_n_samples(n_samples, task)
    names = probes.resolve_sites(model, sites)
    if batch_size is None:
        probe = task.eval_batch(1, torch.Generator().manual_seed(0)) if inputs is None else inputs
        batch_size = max(1, batch_tokens // _tokens_per_sample(probe))
    check_piece_memory(model, batch_size, task.eval_count(n_samples) if inputs is None else None,
                       4 * (task.d_in + task.d_out) + 8)
    pieces = eval_pieces(model, task, inputs, n_samples, seed, batch_size)
    members = probes.n_members(model)

    notes = {"model": type(model).__name__, "task": _summary(task)}
    if method == "auto":
        method, notes["auto"] = _auto(model, task, names)

    intermediates = None
    if method == "probe":
        q = task.intermediates(pieces[0].x)
        check(len(q) > 0, "method", method,
              f"a task with intermediate quantities (task.intermediates); {task!r} has none")
        intermediates = list(q)
    base = base_pass(model, task, pieces, names, members, intermediates, progress)
    failed = dict(sorted({**base["failed"], **failed_members(model)}.items()))
    live = {s: live_mask(torch.nan_to_num(v, nan=0.0), rule, live_threshold) for s, v in base["var"].items()}
    for s in live:
        live[s][list(failed)] = False   # a failed member is not scored and counts nothing
    n_live = sum(int((live[s] if members is None else live[s].any(0)).sum()) for s in names)
    if notes.get("auto") == "large":
        method = "ablation" if n_live <= ABLATION_LIMIT else "census"
        notes["auto"] = (f"{n_live} live neurons: exact ablation of each" if method == "ablation" else
                         f"{n_live} live neurons > {ABLATION_LIMIT}: the census design (interp.census) counts them")
    if threshold is None:
        threshold = scorer(method).default_threshold
    ctx = ScoreContext(model=model, task=task, pieces=pieces, sites=names, base=base, live=live, members=members,
                       threshold=float(threshold), dominance=float(dominance), max_elements=max_elements,
                       progress=progress, seed=seed, options=dict(options or {}))
    with probes.evaluating(model):
        result = scorer(method)(ctx)
    columns = result.columns or tuple(task.subtasks)
    notes.update(result.notes)
    lead = (members,) if members else ()
    losses = base["losses"] if method != "probe" else torch.full((*lead, len(columns)), math.nan)
    losses = losses.double()
    if failed:
        losses[list(failed)] = math.nan
    scores = {s: np.nan_to_num(result.scores[s].double().numpy()) for s in names}
    for s in names:
        scores[s][list(failed)] = 0.0
    exact = None if result.exact is None else {s: result.exact[s].numpy().astype(bool) for s in names}
    stderr = None if result.stderr is None else {s: result.stderr[s].double().numpy().copy() for s in names}
    if stderr is not None:
        for s in names:
            stderr[s][np.isnan(stderr[s])] = np.inf
            stderr[s][list(failed)] = np.inf
    units = None if result.units is None else {s: result.units[s].double().numpy() for s in names}
    return Allocation(method=method, subtasks=tuple(columns), sites=tuple(names),
                      live={s: live[s].numpy().astype(bool) for s in names},
                      variance={s: base["var"][s].numpy() for s in names}, scores=scores,
                      threshold=float(threshold), live_threshold=float(live_threshold),
                      losses=losses.numpy(), n_samples=int(base["n_samples"]), member=None,
                      dominance=float(dominance), notes=notes, live_rule=rule, n_members=members, exact=exact,
                      failed=failed, stderr=stderr, units=units, fdr=fdr,
                      mean={s: base["mean"][s].double().numpy() for s in names})


def _tokens_per_sample(inputs) -> int:
    """A token task's sample is a sequence ``[L]`` of integer ids: L tokens; anything else 1."""
    first = inputs if not isinstance(inputs, (list, tuple)) or not inputs else inputs[0]
    x = getattr(first, "x", first)
    if isinstance(x, torch.Tensor) and x.dim() == 2 and not x.is_floating_point():
        return max(1, int(x.shape[1]))
    return 1


def _summary(task: Task) -> str:
    summary = getattr(task, "summary", None)
    return summary() if callable(summary) else repr(task)


def _auto(model: nn.Module, task: Task, names: list[str]) -> tuple[str, str]:
    weights = probes.mlp_weights(model)
    if weights is not None and len(weights) == 2 and input_groups(task) is not None:
        return "weights", "one hidden layer reading known input groups: weights"
    return "auto", "large"


def base_pass(model, task, pieces, names, members, intermediates, progress: bool = False) -> dict:
    """The pass every scorer starts from: over the evaluation ``pieces``, each site's activation
    moments (mean and variance per neuron, and correlations with ``intermediates`` when given)
    and the subtasks' weighted losses (``{"mean", "var", ...}``, each by site)."""
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

    with torch.no_grad(), probes.evaluating(model), probes.attached(model, names, on_act), \
            progress_bar(len(pieces), "statistics", progress) as bar:
        for batch in pieces:
            if intermediates:
                q = task.intermediates(batch.x)
                current["q"] = torch.stack([q[name].reshape(batch.x.shape[0]) for name in intermediates], -1)
            pred = output_of(model(batch.x))
            losses, w = task.sample_losses(pred, batch, len(lead))
            loss_sum += losses.detach().double().sum(-2).cpu()
            weight_sum += w.double().sum(0).cpu()
            n += batch.x.shape[0]
            bar.update(1)
    failed: dict[int, str] = {}
    for s in names:
        check(s in acc, "sites", s, "a site the forward pass runs through (this one never fired)")
        bad = probes.nonfinite_members(torch.stack([acc[s].mean, acc[s].m2], -2), members)
        probes.flag_nonfinite("activations", {m: f"NaN/inf at site {s}" for m in bad}, members, failed)
    losses = loss_sum / weight_sum.clamp_min(1e-300)
    bad = probes.nonfinite_members(losses, members)
    probes.flag_nonfinite("losses", {m: f"NaN/inf subtask losses {losses[m].tolist() if members else losses.tolist()} "
                                        f"(the model's outputs hold NaN/inf)" for m in bad}, members, failed)
    return {"mean": {s: acc[s].mean for s in names}, "var": {s: acc[s].var for s in names},
            "cross": {s: acc[s].cross_corr() for s in names} if intermediates else None,
            "intermediates": intermediates, "failed": failed,
            "losses": losses, "weight_sum": weight_sum, "n_samples": n}


def agreement(a: Allocation, b: Allocation, neurons: dict[str, np.ndarray] | None = None) -> dict:
    """How far two allocations of one model agree, over the neurons live in both (or the
    boolean masks ``neurons[site]``): per subtask, Spearman's rank correlation of the scores
    and the overlap (Jaccard index) of the neurons each assigns, with the sizes of both sets.

    >>> import models, interp
    >>> net = models.MLP(models.MLPConfig(d_in=2, widths=(16, 16), d_out=2))
    >>> task = models.tasks.Parallel(beta=0.5)
    >>> x = interp.allocate(net, task, method="ablation", n_samples=500)
    >>> interp.agreement(x, x)["spearman"]
    {'x1^2': 1.0, 'x2^2': 1.0}
    """
    from scipy.stats import spearmanr

    for name, al in (("a", a), ("b", b)):
        check(isinstance(al, Allocation) and al.n_members is None, name, type(al).__name__,
              "a single model's Allocation (take alloc[i] of an ensemble)")
    check(a.sites == b.sites and a.subtasks == b.subtasks, "b", f"sites {b.sites}, subtasks {b.subtasks}",
          f"the same sites and subtasks as a ({a.sites}, {a.subtasks})")
    sa, sb, asa, asb = [], [], [], []
    for s in a.sites:
        m = a.live[s] & b.live[s] if neurons is None else np.asarray(neurons[s], dtype=bool)
        sa.append(a.scores[s][m])
        sb.append(b.scores[s][m])
        asa.append(a.assigned(s)[m])
        asb.append(b.assigned(s)[m])
    sa, sb, asa, asb = (np.concatenate(v) for v in (sa, sb, asa, asb))
    out = {"neurons": int(sa.shape[0]), "spearman": {}, "jaccard": {}, "assigned_a": {}, "assigned_b": {}}
    for k, name in enumerate(a.subtasks):
        ok = sa.shape[0] > 2 and np.ptp(sa[:, k]) > 0 and np.ptp(sb[:, k]) > 0
        out["spearman"][name] = float(spearmanr(sa[:, k], sb[:, k]).statistic) if ok else None
        union = int((asa[:, k] | asb[:, k]).sum())
        out["jaccard"][name] = float((asa[:, k] & asb[:, k]).sum() / union) if union else None
        out["assigned_a"][name] = int(asa[:, k].sum())
        out["assigned_b"][name] = int(asb[:, k].sum())
    return out
