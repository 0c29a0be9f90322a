"""The result of ``interp.allocate``: ``Allocation``, which subtask each neuron serves and how
many serve each, for one network or every member of an ensemble; its decisions, counts and
their intervals, its JSON form and its display. ``Allocation.from_scores`` builds one from a
scorer's answer and the first pass's statistics.

One class over 450 lines: its methods are the result's one role (each reads the same arrays,
and splitting them off would only hand the class's fields to functions elsewhere)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from models.atomic import write_text
from models.jsonable import jsonable
from models.validate import check, check_number, is_number

from .neurons import live_mask
from .report import allocation_table, plot_allocation
from .scorers import Scores
from .uncertainty import CountEstimate, bh_cutoff, census_estimate, count_interval, serve_pvalues, serving_mean

SHARED, UNALLOCATED = "shared", "unallocated"
FDR = 0.05
"""Default false-discovery rate of the decisions "neuron serves subtask" (when scores have errors)."""


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

    @classmethod
    def from_scores(cls, method: str, result: Scores, base: dict, live: dict[str, torch.Tensor], *,
                    subtasks: tuple[str, ...], sites: list[str], members: int | None, failed: dict[int, str],
                    threshold: float, dominance: float, live_threshold: float, live_rule: str,
                    notes: dict, fdr: float | None) -> "Allocation":
        """The allocation of the scorer ``method``'s answer ``result`` (a registered method, never
        ``"auto"``: the caller has chosen) at ``sites``, from the first pass's statistics ``base``
        (``interp.allocation.base_pass``) and the ``live`` masks; ``subtasks``: the task's, the
        columns unless ``result`` names its own. A ``failed`` member (index -> what went wrong)
        keeps NaN losses, zero scores and infinite standard errors; ``notes`` are recorded with
        the scorer's own added."""
        check(isinstance(method, str) and method != "auto", "method", method,
              "the method that ran (a registered scorer's name, not 'auto')")
        columns = result.columns or tuple(subtasks)
        notes = {**notes, **result.notes}
        lead = (members,) if members else ()
        losses = base["losses"] if method != "probe" else torch.full((*lead, len(columns)), math.nan)
        losses = losses.double()
        if failed:
            losses[list(failed)] = math.nan
        scores = {s: np.nan_to_num(result.scores[s].double().numpy()) for s in sites}
        for s in sites:
            scores[s][list(failed)] = 0.0
        exact = None if result.exact is None else {s: result.exact[s].numpy().astype(bool) for s in sites}
        stderr = None if result.stderr is None else {s: result.stderr[s].double().numpy().copy() for s in sites}
        if stderr is not None:
            for s in sites:
                stderr[s][np.isnan(stderr[s])] = np.inf
                stderr[s][list(failed)] = np.inf
        units = None if result.units is None else {s: result.units[s].double().numpy() for s in sites}
        return cls(method=method, subtasks=tuple(columns), sites=tuple(sites),
                   live={s: live[s].numpy().astype(bool) for s in sites},
                   variance={s: base["var"][s].numpy() for s in sites}, scores=scores,
                   threshold=float(threshold), live_threshold=float(live_threshold),
                   losses=losses.numpy(), n_samples=int(base["n_samples"]), member=None,
                   dominance=float(dominance), notes=notes, live_rule=live_rule, n_members=members, exact=exact,
                   failed=failed, stderr=stderr, units=units, fdr=fdr,
                   mean={s: base["mean"][s].double().numpy() for s in sites})

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
