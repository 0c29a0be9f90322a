"""Resource model Fig. 6: is N⁻¹ ensembling? Pair each x² network's live neurons into symmetric
regressors (same bias, opposite weight; ``interp.pair_symmetric``) and correlate their error
functions (``interp.ensembling_test``) at α ≈ 3.5, 9, 19.3 and 128, as the paper does. The
paper finds correlations of ±1 in most cases: the errors are not independent, so ensembling
(which would need independent errors) does not explain N⁻¹.

One row per α (the first seed): the (w, b) plane with the pairs joined (live neurons left
unpaired marked x), the regressors' error functions, their correlation matrix. The claims pool
every network of the sweep at those α (all seeds) that holds at least two regressors: the mean
|r| is each network's mean over its pairs, averaged over the networks with a t interval over
them, and agrees when that whole interval lies above 0.8.

Only neurons that are mirror images are paired: relative distance to the other's reflection
at most ``MAX_DISTANCE`` = 0.2. The greedy matching alone pairs every live neuron, leftovers
included; over the quick sweep's networks at these α its 49 pairs fall at 0-0.17 (mirror
pairs) and 0.25-0.98 (same-sign weights or unlike biases), hence the cut. The claims' note
also gives the mean |r| with every greedy pair kept. The second claim asks whether any network's
loss sits at the independent-errors 1/R law (``Ensembling.at_independent_law``: its ratio to
that law within [R^-½, R^½], nearer on the log scale to 1, independent errors, than to R,
identical ones); a fixed band [0.5, 2] could not read two regressors, whose identical errors give 2.

Quick recipe: the networks of Fig. 2's quick sweep (``square_sweep.py``: width 100, 20 000 steps,
3 seeds), read back from its cache when Fig. 2 ran first.
"""
from __future__ import annotations

import time

import numpy as np

from ..ensembling import ensembling_test
from .claims import claim, geo_mean, seed_interval
from .drawing import figure, finish
from .square_sweep import FULL, LADDER, QUICK, Recipe, SCATTER_ALPHAS, member_at, square_sweep, sweeps

NAME = "fig6_ensembling"
MAX_DISTANCE = 0.2


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    task, sw = square_sweep(out_dir, recipe, device)
    ens = sw.model.cpu()
    fig, axes = figure(3, size=(4.2, 2.8), rows=len(SCATTER_ALPHAS))
    per_alpha, off, ratios, at_law, off_all, per_net, im = {}, [], [], [], [], [], None
    for row, target in enumerate(SCATTER_ALPHAS):
        tests = []
        for s in range(len(sw.seeds)):
            i, a_i = member_at(sw, target, s)
            try:
                tests.append(ensembling_test(ens, task, member=i, max_distance=MAX_DISTANCE))
                every = ensembling_test(ens, task, member=i)
                off_all.extend(np.abs(every.corr[~np.eye(every.n_regressors, dtype=bool)]).tolist())
            except ValueError:          # no mirror pair of live neurons: no regressor to test
                tests.append(None)
        for t in tests:
            if t is not None and t.n_regressors >= 2:
                pairs = t.corr[~np.eye(t.n_regressors, dtype=bool)]
                off.extend(pairs.tolist())
                per_net.append(float(np.abs(pairs).mean()))
                ratios.append(t.loss_ratio)
                at_law.append(t.at_independent_law())
        per_alpha[f"{a_i:g}"] = [None if t is None else t.summary() for t in tests]
        a, b, c = axes[3 * row: 3 * row + 3]
        t = tests[0]
        m = ens.member(member_at(sw, target, 0)[0])
        w, bb = m.layers[0].weight.detach()[:, 0].numpy(), m.layers[0].bias.detach().numpy()
        a.scatter(w, bb, s=5, color="0.75")
        if t is not None:
            a.scatter(w[t.unpaired], bb[t.unpaired], marker="x", s=25, color="k")
            for k, (p, q) in enumerate(t.pairs):
                a.plot([w[p], w[q]], [bb[p], bb[q]], "o-", ms=4, lw=1, color=f"C{k % 10}")
            order = np.argsort(t.x)
            for k, e in enumerate(t.errors):
                b.plot(t.x[order], e[order], lw=0.9, color=f"C{k % 10}")
            im = c.imshow(t.corr, vmin=-1, vmax=1, cmap="RdBu_r")
            ticks = np.arange(0, t.n_regressors, t.n_regressors // 8 + 1)
            c.set_xticks(ticks), c.set_yticks(ticks)
            c.set_title(f"error correlations, mean |r| = {t.mean_abs_corr:.2f}" if t.n_regressors > 1
                        else "error correlations (one regressor)", fontsize=9)
        a.set_ylabel(f"α = {a_i:g}\nbias b_i")
        b.set_ylabel("regressor error")
        c.set_ylabel("regressor")
        n = 0 if t is None else len(t.pairs)
        a.set_title(f"{n} mirror pair{'' if n == 1 else 's'} (joined), x: unpaired", fontsize=9)
        b.set_title("error functions", fontsize=9)
    axes[-3].set_xlabel("input weight w_i"), axes[-2].set_xlabel("x"), axes[-1].set_xlabel("regressor")
    if im is not None:
        fig.colorbar(im, ax=axes[2::3], label="correlation", shrink=0.6)

    off, ratios = np.abs(np.array(off)), np.array(ratios)
    mean_abs, iv = seed_interval(per_net) if per_net else (None, None)   # a t interval over the networks
    q = np.percentile(off, [5, 95]) if off.size else [float("nan")] * 2
    claims = [claim(f"Fig 6: mean |corr| of symmetric regressors' errors (α ∈ {{3.5, 9, 19.3, 128}})",
                       "±1 (|r| ≈ 1)", mean_abs, iv, None if iv is None else bool(iv[0] > 0.8),
                       f"{off.size // 2} pairs of regressors in {len(per_net)} networks (seeds × α); ours: the mean "
                       f"over networks of each one's mean |r|, interval: t over the networks; 5th-95th percentile of "
                       f"|r| over pairs {q[0]:.2f}-{q[1]:.2f}; share with |r| > 0.9: "
                       f"{float(np.mean(off > 0.9)) if off.size else float('nan'):.2f}; mean |r| with every greedy "
                       f"pair kept: {np.mean(off_all):.2f}; agree: the whole interval above 0.8"),
              claim("Fig 6: network loss vs ensembling prediction (MSE/R if independent)",
                       "ensembling does not explain N⁻¹", geo_mean(ratios) if ratios.size else None,
                       [float(ratios.min()), float(ratios.max())] if ratios.size else None,
                       None if not ratios.size else not any(at_law),
                       "ours = network MSE / (mean regressor MSE / R), geometric mean, interval min-max over the "
                       f"networks ({sum(at_law)} of {len(at_law)} at the law); agree: every network outside "
                       "[R^-½, R^½] (nearer on the log scale to 1, independent errors, than to R, identical ones; "
                       "[0.5, 2] at R = 4)")]
    return finish(out_dir, NAME, fig, {"recipe": recipe, "ensembling": per_alpha, "abs_corr": off, "loss_ratio": ratios},
                     claims, f"{ratios.size} networks with ≥ 2 regressors, mean |corr| "
                     + ("—" if mean_abs is None else f"{mean_abs:.2f}") + ".", t0)

