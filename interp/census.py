"""How many neurons serve each subtask, with an interval: ``interp.allocate(..., method="census")``.

The count: ``N_k(τ)``, the number of live neurons whose exact mean ablation raises subtask k's
loss on the evaluation samples by more than ``τ`` (``tau``; relative to the subtask's loss
ℓ_k by default, 0.01 = 1% of ℓ_k; ``tau_units="nats"`` reads it in nats per counted token).
A neuron that enters the count by measurement is ablated on every evaluation sample of
subtask k, so its change is known exactly: the only uncertainty is which neurons were measured.

Per subtask, within ``ablations`` single-neuron ablations:

1. a screen estimates every live neuron's change (``screen``: ``attribution``, the first-order
   ``g·(mean − a)``, or ``ig``, its integral along the path to the mean, ``ig_steps`` points);
2. the neurons are ranked by the screen's magnitude (``rank="magnitude"``, the default: on
   SmolLM2's last layer, exhaustively ablated, the signed attribution ranked 3 of its 15
   servers among the bottom 410 of 46 080 neurons, a first-order sign opposite to the exact
   change, and the magnitude ranked all 15 within the top 2 616), or by its signed value
   (``rank="signed"``); the top ``census`` neurons are measured, each, and the census goes on
   down the ranking ``step`` at a time while at least ``stop_share`` of the last ``step`` serve,
   up to ``growth_share`` of the ablation budget (default half: on SmolLM2's arithmetic, where
   servers are dense far down the ranking, a census free to grow took 368 of 400 ablations and
   left 32 for the 45 700 neurons below, whose interval then ran to 11 452; capped, it stopped
   at 192 and the count read 252 [116, 1 322]);
3. the next ``region`` ranks fall into ``strata`` strata of geometrically growing size; a
   ``pilot`` of each is measured, then the rest of the budget goes by Neyman allocation (a
   budget that covers the region measures it whole, and it is exact);
4. the ranks beyond, the tail, are either one more stratum (``tail="sample"``, the default) or
   group-tested (``tail="groups"``): blocks of ``block`` neurons of one site (each site's in a
   random order) are ablated jointly, every block or, with ``clusters``, that many drawn at
   random (the servers they hold then expanded like a stratum of blocks). A block whose change
   stays below ``τ + L`` holds no server; ``L`` is a low quantile of the summed change of
   ``block − 1`` tail neurons, the lower of one resampled from a random ``tail_pilot`` of single
   tail neurons and of a normal law with twice the pilot's spread, less the largest
   non-additivity seen. A block above is split in halves, down to single neurons, which are
   measured. Each split checks additivity (the block's change against its halves'), and the
   largest violation is reported and widens ``L`` (a model whose neurons do not add clears few
   blocks, and its neurons are measured one by one). First, ``checks`` blocks built around
   known servers must show them (else the tested neurons stay open: the interval says so),
   and the tail pilot ablated together must add up;
5. the count is the servers measured plus the Horvitz-Thompson estimate over the strata (a
   stratum's pilot counted as measured and the estimate resting on the draws after it; where
   no draw followed a pilot, the pilot is the sample), with
   a Fay-Feuer interval (``interp.uncertainty.stratified_count``); a tail that could not be
   cleared within ``blocks`` block ablations leaves the interval open up to its size.

Which neurons serve (decisions) stays apart: a measured pair is certified under the
false-discovery control of ``interp.allocate`` (``Allocation.assigned``); unmeasured pairs are
never certified. ``Allocation.estimate()`` gives the counts; ``notes["census"]`` the design.
``count_servers`` (``interp.census_design``) is the design on its own, for any ``measure`` function
(planted tests); this module runs it on a model.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from models.validate import check, is_int

from .census_design import Design, count_servers
from .evaluation import per_sample_subtasks
from .scorers import SCORERS, ScoreContext, Scores, attribution_sums, exact_ablation, progress_bar, register_scorer
from .uncertainty import Deltas

__all__ = ["Design", "count_servers", "census_scorer", "settings", "OPTIONS"]


OPTIONS = ("screen", "ig_steps", "tau_units", *(f for f in Design.__dataclass_fields__))
"""The ``allocate(options=...)`` settings ``census`` reads."""


# --------------------------------------------------------------------------------------------
# the scorer: the design on a model, one subtask at a time
# --------------------------------------------------------------------------------------------
def settings(options: dict) -> tuple[str, int, str, Design]:
    """``(screen, ig_steps, tau_units, Design)`` from ``allocate(options=...)``, each checked."""
    opts = dict(options)
    kind = opts.pop("screen", "attribution")
    check(kind in ("attribution", "ig"), "options['screen']", kind, "'attribution' or 'ig'")
    steps = opts.pop("ig_steps", 4)
    check(is_int(steps) and steps >= 2, "options['ig_steps']", steps, "an integer ≥ 2")
    units = opts.pop("tau_units", "relative")
    check(units in ("relative", "nats"), "options['tau_units']", units, "'relative' (to the subtask's loss) or 'nats'")
    unknown = sorted(str(k) for k in opts if k not in Design.__dataclass_fields__)
    check(not unknown, "options", unknown, f"settings that method='census' reads: {sorted(OPTIONS)}")
    return kind, steps, units, Design(**opts)


@register_scorer("census", 0.01, "mean-ablation loss change / subtask loss: exact where the census design "
                                 "measured it (on every sample of the subtask), the screen's estimate elsewhere",
                 options=OPTIONS, validate=settings)
def census_scorer(ctx: ScoreContext) -> Scores:
    """``method="census"`` (module docs). ``ctx.threshold`` is τ; ``options``: ``screen``
    (``attribution`` or ``ig``), ``ig_steps`` (4), ``tau_units`` (``relative`` or ``nats``) and
    the ``Design`` fields. Notes: ``census`` per subtask (the estimate, its interval, the design
    and the work), ``tau`` and ``tau_units``."""
    check(ctx.members is None, "model", "an ensemble", "a single model for method='census' (take alloc[i]'s member)")
    kind, steps, units, design = settings(ctx.options)
    t0 = time.perf_counter()
    sums = attribution_sums(ctx, path_steps=steps if kind == "ig" else 1)
    t_screen = time.perf_counter() - t0
    K = len(ctx.task.subtasks)
    flat = [(s, j) for s in ctx.sites for j in ctx.live[s].nonzero().flatten().tolist()]
    site_of = np.array([ctx.sites.index(s) for s, _ in flat], dtype=int)
    neuron = np.array([j for _, j in flat], dtype=int)
    scores = {s: sums["signed"][s].clone() for s in ctx.sites}
    stderr = {s: torch.full_like(scores[s], math.inf) for s in ctx.sites}
    exact = {s: torch.zeros(scores[s].shape[0], dtype=torch.bool) for s in ctx.sites}
    units_used = {s: torch.zeros(scores[s].shape[0], dtype=torch.float64) for s in ctx.sites}
    losses = ctx.base["losses"].double()
    out = {}
    bar = progress_bar(K, "census", ctx.progress)
    for k, name in enumerate(ctx.task.subtasks):
        bar.set_postfix_str(name)
        t1 = time.perf_counter()
        pieces = _pieces_of(ctx, k)
        tau = float(ctx.threshold) if units == "relative" else float(ctx.threshold) / max(float(losses[k]), 1e-30)
        single = {s: Deltas((), scores[s].shape[0], K) for s in ctx.sites}

        def measure(ids: np.ndarray, k=k, pieces=pieces, single=single) -> np.ndarray:
            want = {s: torch.as_tensor(neuron[ids][site_of[ids] == i], dtype=torch.long)
                    for i, s in enumerate(ctx.sites) if (site_of[ids] == i).any()}
            exact_ablation(ctx, want, pieces=pieces, stats=single)
            scored = {s: single[s].score()[:, k] for s in want}             # once per site
            return np.array([float(scored[ctx.sites[site_of[i]]][neuron[i]]) for i in ids])

        def measure_blocks(blocks: list, k=k, pieces=pieces) -> np.ndarray:
            vals = np.zeros(len(blocks))
            mine = {s: [b for b, blk in enumerate(blocks) if site_of[blk[0]] == i] for i, s in enumerate(ctx.sites)}
            mine = {s: v for s, v in mine.items() if v}
            stats = exact_ablation(ctx, {s: [torch.as_tensor(neuron[blocks[b]]) for b in v] for s, v in mine.items()},
                                   pieces=pieces, joint=True)      # one pass records every site's stream
            for s, v in mine.items():
                vals[v] = stats[s].score()[:, k].numpy()
            return vals

        screen = np.concatenate([sums["signed"][s][ctx.live[s], k].numpy() for s in ctx.sites])
        est, rec = count_servers(screen, tau, measure, measure_blocks, site_of, design, seed=ctx.seed + k)
        for s in ctx.sites:
            m = single[s].m[:, k] > 0
            scores[s][m, k] = single[s].score()[m, k]
            stderr[s][m, k] = single[s].stderr()[m, k]
            exact[s] |= m
            units_used[s] = torch.maximum(units_used[s], single[s].units)
        rec.pop("measured")
        rec.update(estimate=est.to_dict(), seconds=round(time.perf_counter() - t1, 2),
                   tau_relative=tau, tokens=sum(_units(p) for p in pieces))
        out[name] = rec
        bar.update(1)
    bar.close()
    notes = {"census": out, "tau": float(ctx.threshold), "tau_units": units, "screen": kind,
             "screen_seconds": round(t_screen, 2), "n_live": len(flat)}
    return Scores(scores, exact=exact, notes=notes, stderr=stderr, units=units_used)


def _units(piece) -> int:
    w = piece.y if piece.y.dim() == 2 and not piece.y.is_floating_point() else None
    return int((w >= 0).sum()) if w is not None else int(piece.x.shape[0])


def _pieces_of(ctx: ScoreContext, k: int) -> list:
    """The evaluation pieces holding subtask k's samples: only its own where every sample
    belongs to one subtask, else every piece."""
    from models.tasks import Batch

    if not all(per_sample_subtasks(p) for p in ctx.pieces):
        return list(ctx.pieces)
    out = []
    for p in ctx.pieces:
        rows = (p.subtask == k).nonzero().flatten()
        if rows.numel():
            out.append(Batch(*(t[rows] for t in p)))
    return out


SCORERS.reserved.add("census")   # the toolkit's own method
