"""The census design on its own: ``Design`` (its settings) and ``count_servers`` (one
subtask's count with its interval, for any ``measure`` function: a model's exact ablations
through ``interp.census``, or planted changes in tests). The design is told in ``interp.census``'s
module docs."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
from scipy.stats import norm

from models.validate import check, is_int, is_number

from .uncertainty import CountEstimate, budget_for_target, neyman, stratified_count


@dataclass(frozen=True)
class Design:
    """The census design's settings (see the module docs); ``ablations`` per subtask."""

    census: int = 32
    step: int = 16
    stop_share: float = 0.25
    growth_share: float = 0.5
    region: int = 128
    strata: int = 4
    pilot: int = 8
    ablations: int = 384
    tail: str = "sample"
    block: int = 128
    tail_pilot: int = 32
    checks: int = 4
    blocks: int | None = 256
    clusters: int | None = 96
    quantile: float = 0.001
    confidence: float = 0.95
    rank: str = "magnitude"

    def __post_init__(self):
        for name in ("census", "step", "region", "strata", "pilot", "ablations", "block", "tail_pilot", "checks"):
            v = getattr(self, name)
            one = name in ("strata", "block", "step")
            check(is_int(v) and v >= int(one), name, v, "an integer ≥ 1" if one else "an integer ≥ 0")
        check(is_number(self.stop_share) and 0 < self.stop_share <= 1, "stop_share", self.stop_share,
              "a share in (0, 1]")
        check(is_number(self.growth_share) and 0 < self.growth_share <= 1, "growth_share", self.growth_share,
              "a share in (0, 1]")
        check(self.tail in ("groups", "sample"), "tail", self.tail, "'groups' or 'sample'")
        check(self.rank in ("magnitude", "signed"), "rank", self.rank, "'magnitude' or 'signed'")
        check(self.blocks is None or (is_int(self.blocks) and self.blocks >= 0), "blocks", self.blocks,
              "None (no limit) or an integer ≥ 0")
        check(self.clusters is None or (is_int(self.clusters) and self.clusters >= 1), "clusters", self.clusters,
              "None (every tail block) or an integer ≥ 1")
        check(is_number(self.quantile) and 0 < self.quantile < 0.5, "quantile", self.quantile, "a number in (0, 0.5)")
        check(is_number(self.confidence) and 0 < self.confidence < 1, "confidence", self.confidence,
              "a number in (0, 1)")


def _geometric_edges(start: int, stop: int, parts: int) -> list[int]:
    """Rank boundaries cutting ``[start, stop)`` into ``parts`` strata whose sizes double."""
    n = stop - start
    if n <= 0:
        return [start]
    w = np.array([2.0 ** i for i in range(parts)])
    cuts = start + np.round(np.cumsum(w) / w.sum() * n).astype(int)
    return sorted({start, *[int(c) for c in cuts if start < c <= stop], stop})


def count_servers(screen: np.ndarray, tau: float, measure: Callable[[np.ndarray], np.ndarray],
                  measure_blocks: Callable[[list], np.ndarray] | None = None, groups: np.ndarray | None = None,
                  design: Design = Design(), seed: int = 0) -> tuple[CountEstimate, dict]:
    """The design of the module docs for one subtask, over units ``0..n-1`` ranked by
    ``screen [n]``: ``measure(ids) -> changes [len(ids)]`` (exact), ``measure_blocks(list of
    ids) -> joint changes`` (for group tests), ``groups [n]`` (a unit's site: blocks stay within
    one). Returns the count with its interval and a record of the design (``measured``: unit ->
    change).

    >>> rng = np.random.default_rng(0)
    >>> truth = np.where(np.arange(500) < 20, 1.0, 0.0)
    >>> est, rec = count_servers(truth + rng.normal(0, 0.1, 500), 0.5, lambda ids: truth[ids],
    ...                          lambda blocks: np.array([truth[b].sum() for b in blocks]),
    ...                          design=Design(census=16, region=64, ablations=160, tail="groups", block=16))
    >>> est.estimate, tuple(est)
    (20.0, (20, 20))
    """
    screen = np.asarray(screen, dtype=float)
    key = np.abs(screen) if design.rank == "magnitude" else screen
    key = np.nan_to_num(key, nan=-np.inf)
    n = screen.size
    groups = np.zeros(n, dtype=int) if groups is None else np.asarray(groups)
    rng = np.random.default_rng(seed)
    order = np.argsort(-key, kind="stable")
    measured: dict[int, float] = {}
    spent = [0]

    def take(ids) -> np.ndarray:
        ids = np.asarray([i for i in ids if int(i) not in measured], dtype=int)
        if ids.size:
            vals = np.asarray(measure(ids), dtype=float)
            check(vals.shape == ids.shape, "measure", f"an answer of shape {vals.shape}", f"shape {ids.shape}")
            measured.update(zip(ids.tolist(), vals.tolist()))
            spent[0] += ids.size
        return ids

    def hits(ids) -> int:
        return int(sum(measured[int(i)] > tau for i in ids))

    budget = design.ablations
    groups_on = design.tail == "groups"
    # 1. census, growing while servers go on
    n_census = min(n, design.census, budget)
    take(order[:n_census])
    keep = design.pilot * design.strata + (design.tail_pilot if groups_on else 0)
    cap = max(n_census, int(design.growth_share * budget))     # the rest is left to sample what lies below
    while n_census < n and spent[0] + design.step <= min(budget - keep, cap):
        last = order[max(0, n_census - design.step):n_census]
        if not last.size or np.mean([measured[int(i)] > tau for i in last]) < design.stop_share:
            break
        take(order[n_census:n_census + design.step])
        n_census = min(n, n_census + design.step)
    census = order[:n_census]
    # 2. strata down to the tail, each piloted
    tail_start = min(n, n_census + design.region) if groups_on else n
    edges = _geometric_edges(n_census, tail_start, design.strata)
    strata = [order[a:b] for a, b in zip(edges[:-1], edges[1:])]
    drawn = [rng.permutation(s) for s in strata]        # each stratum's units in a random order
    got = np.zeros(len(strata), dtype=int)
    tail = order[tail_start:]
    tests = _GroupTests(tau, take, measured, measure_blocks, groups, design, rng) if groups_on else None
    if tests is not None and tail.size:
        tests.pilot(tail)
    room = budget - spent[0]
    for h, st in enumerate(strata):
        k = min(design.pilot, st.size, max(room, 0))
        take(drawn[h][:k])
        got[h], room = k, room - k
    piloted = got.copy()
    # 3. the rest of the budget over the strata by Neyman allocation, from the pilots' hit rates
    room = budget - spent[0]
    allocated = room > 0 and bool(strata)          # the pilots' hit rates set the draws that follow
    if allocated:
        x = np.array([hits(drawn[h][:got[h]]) for h in range(len(strata))])
        p = (x + 0.5) / (got + 1.0)
        more = neyman([st.size for st in strata], np.sqrt(p * (1 - p)), room, got)
        for h, m in enumerate(more):
            take(drawn[h][got[h]:got[h] + m])
            got[h] += m
    tail_found, tail_row = 0, None
    if tests is not None and tail.size:
        tail_found = tests.pilot_hits()
        blocks = tests.blocks(tail)
        if design.clusters is None or design.clusters >= len(blocks):
            tail_found += tests.clear(blocks)                 # every block: the tail is counted
        else:                                                # a random sample of blocks, expanded
            pick = rng.choice(len(blocks), size=design.clusters, replace=False)
            x = tests.clear([blocks[i] for i in pick])
            tail_row = [len(blocks), int(design.clusters), int(x)]
    census_hits = hits(census)
    record = {"tau": tau, "n": n, "census": int(n_census), "census_hits": census_hits, "strata": [],
              "design": asdict(design)}
    exact = census_hits + tail_found
    rows = []
    for h, st in enumerate(strata):
        x, p = hits(drawn[h][:got[h]]), int(piloted[h])
        row = {"ranks": [int(edges[h]), int(edges[h + 1])], "size": int(st.size), "sampled": int(got[h]),
               "hits": x, "pilot": p}
        if allocated and got[h] > p:
            # the pilot set how many more to draw, so it is counted as it is (exact) and the
            # estimate rests on the draws after it, a simple random sample of the stratum's rest
            pilot_hits = hits(drawn[h][:p])
            exact += pilot_hits
            row["estimator"] = [int(st.size) - p, int(got[h]) - p, x - pilot_hits]
        else:       # no draw after the pilot (the budget ended): the pilot is the stratum's sample
            row["estimator"] = [int(st.size), int(got[h]), x]
        rows.append(tuple(row["estimator"]))
        record["strata"].append(row)
    uncleared = tests.uncleared if tests is not None else 0
    if tail_row is not None and uncleared:
        # the sampled blocks were not all resolved: they say nothing of the blocks not drawn, so
        # every tail neuron not cleared or measured stays open
        uncleared = int(tail.size) - tests.cleared - tests.single_units - int(tests.pilot_ids.size)
        tail_row = None
    if tail_row is not None:
        rows.append(tuple(tail_row))
    est, low, high = stratified_count(exact, rows, design.confidence)
    open_rate = tests.open_rate() if tests is not None else 0.0
    est, high = est + uncleared * open_rate, high + uncleared     # the open neurons at the tested tail's rate
    if tests is not None:
        record["tail"] = {**tests.record(), "size": int(tail.size), "servers_found": int(tail_found),
                          "clusters": tail_row, "open": int(uncleared)}
    note = f"{uncleared} neurons were not cleared within the block budget" if uncleared else ""
    if tests is not None and tests.warning:
        note = "; ".join(x for x in (note, tests.warning) if x)
    record.update(single_ablations=spent[0], block_ablations=tests.used if tests is not None else 0,
                  exact_hits=int(exact), measured=measured)
    return (CountEstimate(est, low, high, design.confidence, spent[0] + record["block_ablations"],
                          budget_for_target(rows, spent[0], exact, design.confidence, uncleared), note), record)


class _GroupTests:
    """Group tests (module docs, step 4) sharing one block budget, one pilot of single tail
    neurons and one record of the largest non-additivity seen."""

    def __init__(self, tau, take, measured, measure_blocks, groups, design: Design, rng):
        check(measure_blocks is not None, "measure_blocks", None, "a function measuring blocks jointly for tail='groups'")
        self.tau, self.take, self.measured, self.measure_blocks = tau, take, measured, measure_blocks
        self.groups, self.design, self.rng = groups, design, rng
        self.used = self.cleared = self.splits = self.uncleared = 0
        self.worst, self.quant, self.warning = 0.0, {}, ""
        self.checked, self.failed, self.detections = False, False, []
        self.single_units = self.found_total = 0
        self.base = np.zeros(0)
        self.pilot_ids = np.zeros(0, dtype=int)

    def pilot(self, tail: np.ndarray) -> None:
        """Single tail neurons at random: the spread of non-servers' changes that a block's rest may sum to."""
        self.pilot_ids = self.take(self.rng.choice(tail, size=min(self.design.tail_pilot, tail.size), replace=False))
        self.base = np.array([self.measured[int(i)] for i in self.pilot_ids if self.measured[int(i)] <= self.tau])

    def low_sum(self, size: int) -> float:
        """A low quantile of the summed change of ``size`` tail non-servers: the lower of one
        resampled from the tail pilot and of a normal law with twice the pilot's spread (a small
        pilot sees few of the rare large negatives, and correlated neurons add more than
        independent ones); -inf without a pilot."""
        if size <= 0:
            return 0.0
        vals = self.base
        if vals.size == 0:
            return -math.inf
        if size not in self.quant:
            draws = self.rng.choice(vals, size=(4000, size), replace=True).sum(1)
            spread = 2 * math.sqrt(size) * float(vals.std(ddof=1)) if vals.size > 1 else math.inf
            normal = size * float(vals.mean()) - float(norm.isf(self.design.quantile)) * spread
            self.quant[size] = min(float(np.quantile(draws, self.design.quantile)), normal)
        return self.quant[size]

    def blocks(self, units: np.ndarray) -> list:
        """``units`` not yet measured, in blocks of ``design.block`` within each site, each
        site's units in a random order (so no block gathers the largest changes)."""
        units = np.array([i for i in units if int(i) not in self.measured], dtype=int)
        out = []
        for g in np.unique(self.groups[units]) if units.size else []:
            mine = self.rng.permutation(units[self.groups[units] == g])
            out += [mine[i:i + self.design.block] for i in range(0, mine.size, self.design.block)]
        return out

    def clear(self, pending: list) -> int:
        """Group-test the ``pending`` blocks: the servers found in them."""
        m, tau = self.measured, self.tau
        found = 0
        units = np.concatenate(pending) if pending else np.zeros(0, dtype=int)
        if not self.checked and units.size:
            self._detection_checks(units)
        if self.failed:
            self.uncleared += units.size
            return int(found)
        limit = math.inf if self.design.blocks is None else self.design.blocks
        joint: dict[tuple, float] = {}
        while pending:
            if self.used >= limit:
                self.uncleared += sum(b.size for b in pending if b.size > 1)
                pending = [b for b in pending if b.size == 1]
                if not pending:
                    break
            singles = [b for b in pending if b.size == 1]
            multi = [b for b in pending if b.size > 1][:max(0, int(min(1e9, limit - self.used)))]
            rest = [b for b in pending if b.size > 1][len(multi):]
            if singles:
                self.take(np.concatenate(singles))
                found += sum(m[int(b[0])] > tau for b in singles)
                self.single_units += len(singles)
            nxt = []
            if multi:
                vals = np.asarray(self.measure_blocks(multi), dtype=float)
                self.used += len(multi)
                for b, d in zip(multi, vals):
                    joint[tuple(b.tolist())] = float(d)
                    if d < tau + self.low_sum(b.size - 1) - self.worst:
                        self.cleared += b.size
                    else:
                        half = b.size // 2
                        nxt += [b[:half], b[half:]]
                        self.splits += 1
            pending = nxt + rest
            self._check(joint)
        self.found_total += int(found)
        if self.worst > 0.5 * tau and not self.failed:
            self.warning = (f"non-additive blocks: a block's change differed from its halves' sum by "
                            f"{self.worst:.3g} (τ = {tau:.3g}); the bound on untested neurons leans on additivity")
        return int(found)

    def _detection_checks(self, units: np.ndarray) -> None:
        """Before trusting a cleared block: blocks made of a known server (the weakest measured)
        and ``block − 1`` untested units of its site must show it, and the tail pilot ablated
        together must change the loss by the sum of its neurons' changes. A server hidden by its
        block fails the group tests: every unit they would clear stays open."""
        self.checked = True
        m, tau, b = self.measured, self.tau, self.design.block
        servers = sorted((v, i) for i, v in m.items() if v > tau)
        blocks, shown = [], []
        for v, i in servers:
            same = units[self.groups[units] == self.groups[i]]
            if same.size and len(blocks) < self.design.checks:
                rest = self.rng.choice(same, size=min(b - 1, same.size), replace=False)
                blocks.append(np.concatenate([[i], rest]))
                shown.append(v)
        pilot = [i for i in self.pilot_ids if self.groups[i] == self.groups[self.pilot_ids[0]]] if self.pilot_ids.size else []
        if len(pilot) > 1:
            blocks.append(np.asarray(pilot[:b], dtype=int))
        if not blocks:
            return
        vals = np.asarray(self.measure_blocks(blocks), dtype=float)
        self.used += len(blocks)
        for blk, d in zip(blocks[:len(shown)], vals):
            if d < tau + self.low_sum(blk.size - 1) - self.worst:
                self.failed = True
        self.detections = [{"server_change": float(v), "block_change": float(d)} for v, d in zip(shown, vals)]
        if len(pilot) > 1:
            self.worst = max(self.worst, abs(vals[-1] - sum(m[int(i)] for i in pilot[:b])))
        if self.failed:
            self.warning = ("a block holding a known server cleared the group test (its neurons' changes do not add): "
                            "the untested neurons stay open")

    def _check(self, joint: dict) -> None:
        """Additivity: each split block against its two halves, once both are measured."""
        for parent, d in list(joint.items()):
            h = len(parent) // 2
            a, c = parent[:h], parent[h:]
            va = joint.get(a, self.measured.get(a[0]) if len(a) == 1 else None)
            vc = joint.get(c, self.measured.get(c[0]) if len(c) == 1 else None)
            if va is not None and vc is not None:
                self.worst = max(self.worst, abs(d - va - vc))
                joint.pop(parent)

    def pilot_hits(self) -> int:
        """Servers among the tail pilot's single neurons."""
        return int(sum(self.measured[int(i)] > self.tau for i in self.pilot_ids))

    def open_rate(self) -> float:
        """Servers per unit among the tail neurons the group tests resolved (cleared or measured):
        the rate the estimate gives neurons left open by the block budget."""
        return self.found_total / max(self.cleared + self.single_units, 1)

    def record(self) -> dict:
        return {"open_rate": self.open_rate(), "block": self.design.block, "block_ablations": self.used, "cleared": int(self.cleared),
                "splits": self.splits, "uncleared": int(self.uncleared), "pilot": int(self.pilot_ids.size),
                "pilot_hits": self.pilot_hits(),
                "additivity_worst": self.worst, "warning": self.warning, "detection_checks": self.detections,
                "detection_failed": self.failed,
                "assumption": "a block's change is the sum of its neurons' changes (checked at each split)"}
