"""Resource model Fig. 8: live neurons per layer of the series network vs α: all layers grow
together (homogeneous growth across layers, tested with ``interp.homogeneous_growth``).

Quick recipe trades away: the briefly trained series ensemble of Fig. 4 (shared, cached in
the output folder), one seed per α, 20 000 steps; the paper's widths (four layers of 30).
"""
from __future__ import annotations

import time

import numpy as np

from ..theory.fits import fit_power_law
from ..neurons import live_neurons
from ..theory.resource import homogeneous_growth
from .claims import claim, safe_fit
from .drawing import figure, finish
from .series_sweep import FULL, LADDER, QUICK, Recipe, series_sweep, sweeps

NAME = "fig8_layers"


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    task, ens, alphas, seeds, loss = series_sweep(out_dir, recipe, device)
    lv = live_neurons(ens, task)
    sites = list(lv)
    counts = np.stack([lv[s].sum(-1).numpy() for s in sites], 1).astype(float)     # [M, L]
    ok = np.all(counts > 0, 1)
    growth = homogeneous_growth(counts[ok], x=alphas[ok], names=sites, n_boot=500)
    per_layer_fit = [safe_fit(alphas[ok], counts[ok, j], n_boot=300) for j in range(len(sites))]
    slopes = np.array([np.nan if f is None else f.exponent for f in per_layer_fit])
    width = np.array(recipe.widths, dtype=float)
    saturated = counts.max(0) >= 0.95 * width

    fig, (a,) = figure(1, size=(5.0, 3.6))
    ua = np.unique(alphas)
    for j, s in enumerate(sites):
        a.scatter(alphas, counts[:, j], s=10, color=f"C{j}", alpha=0.6)
        a.plot(ua, [counts[alphas == x, j].mean() for x in ua], color=f"C{j}",
               label=f"layer {j + 1}: N ∝ α^{slopes[j]:.2f}")
    a.set_xscale("log"), a.set_yscale("log"), a.set_xlabel("α"), a.set_ylabel("live neurons in layer")
    a.set_title("Fig. 8: live neurons per layer vs α"), a.legend(fontsize=7)

    lo = min(iv[0] for iv in growth.ratio_slope_intervals)
    hi = max(iv[1] for iv in growth.ratio_slope_intervals)
    claims = [claim("Fig 8: every layer grows with α (smallest per-layer exponent)", "all grow",
                       float(np.nanmin(slopes)) if np.isfinite(slopes).any() else None, None, bool(np.all([f is not None and f.exponent_interval[0] > 0 for f in per_layer_fit])),
                       "agree: every layer's N-vs-α exponent CI > 0"),
              claim("Fig 8: layers grow together (largest |exponent| of a layer's share vs α)", "≈ 0 (together)",
                       float(np.max(np.abs(growth.ratio_slopes))), [lo, hi], growth.homogeneous,
                       f"interval: union of the shares' CIs; agree: homogeneous_growth says all CIs cover 0; "
                       f"layers at ≥95% of width: {int(saturated.sum())}")]
    numbers = {"recipe": recipe, "alphas": alphas, "seeds": seeds, "sites": sites, "counts": counts, "growth": growth,
               "per_layer_exponent": slopes}
    return finish(out_dir, NAME, fig, numbers, claims,
                     "per-layer exponents of N vs α: " + ", ".join(f"{s:.2f}" for s in slopes), t0)

