"""Resource model Fig. 2 (A-C): y = x², live neurons grow with α, loss vs live neurons ∝ N⁻¹.

One ensemble over α × seeds (SPEC A objective α·MSE + λ1·L1 + λ2·L2). Panel A: live neurons
vs α; panel B: each neuron's (w_i, b_i) at α ≈ 3.5, 9, 19.3, 128 with live neurons marked;
panel C: final loss vs live neurons with the fitted power law and its 95% band, the points on
a loss floor (``interp.theory.floor``'s rule) grey and left out of the fit.

Quick recipe trades away: width 100 instead of 1000 (so N saturates sooner at large α),
20 000 steps (lr × 0.3 every 4 000) instead of 100 000, 3 seeds instead of 16 and 8 α
values. Shorter runs leave L1 too little time to prune: at 6 000 steps the slope is about
-0.6 and large-α losses sit on an optimisation floor; by 20 000 steps it is near -1.
The sweep (``square_sweep.py``) is trained once per output folder and shared with Fig. 6.
"""
from __future__ import annotations

import time

import numpy as np

from ..neurons import live_neurons
from ..theory.floor import RULE as FLOOR_RULE
from .claims import exponent_claim, fit_claim, fit_off_floor, safe_fit
from .drawing import figure, finish
from .square_sweep import FULL, LADDER, QUICK, Recipe, SCATTER_ALPHAS, member_at, square_sweep, sweeps

NAME = "fig2_square"


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    task, sw = square_sweep(out_dir, recipe, device)
    alphas, live, loss = sw.alphas, sw.live.astype(float), sw.loss
    ok = (live > 0) & np.isfinite(loss) & (loss > 0)
    fit, floor = fit_off_floor(alphas[:, None], live, loss, n_boot=1000)    # None when N does not vary
    on = floor.on_floor
    n_fit = safe_fit(np.repeat(alphas[:, None], live.shape[1], 1), live)

    fig, (a, b, c) = figure(3)
    for s in range(live.shape[1]):
        a.scatter(alphas, live[:, s], s=14, color="C0", alpha=0.7, label="members" if s == 0 else None)
    a.plot(alphas, live.mean(1), color="C0")
    a.set_xscale("log"), a.set_yscale("log")
    a.set_xlabel("α (task weight)"), a.set_ylabel("live neurons N"), a.set_title("A: N grows with α")
    a.legend(fontsize=7)
    ens = sw.model.cpu()
    x = task.eval_batch(4096, __import__("torch").Generator().manual_seed(1)).x
    scatter = {}
    for j, target in enumerate(SCATTER_ALPHAS):
        i, a_i = member_at(sw, target)
        m = ens.member(i)
        w = m.layers[0].weight.detach()[:, 0].numpy()
        bb = m.layers[0].bias.detach().numpy()
        lv = live_neurons(m, x)["hidden.0"].numpy()
        b.scatter(w[~lv], bb[~lv], s=6, color=f"C{j}", alpha=0.15)
        b.scatter(w[lv], bb[lv], s=16, color=f"C{j}", marker="o", edgecolor="k", linewidth=0.4,
                  label=f"α={a_i:g}: {int(lv.sum())} live")
        scatter[f"{a_i:g}"] = {"w": w, "b": bb, "live": lv}
    b.set_xlabel("input weight w_i"), b.set_ylabel("bias b_i"), b.set_title("B: live (outlined) vs dead neurons")
    b.legend(fontsize=7)
    from interp.report import plot_power_law
    if fit is not None:
        plot_power_law(fit, live[ok & ~on], loss[ok & ~on], ax=c, xlabel="live neurons N", ylabel="test MSE",
                       reference=-1.0, label="x²", excluded=(live[ok & on], loss[ok & on]))
    else:
        c.loglog(live[ok], loss[ok], "o", color="C0", label="x² (no fit)")
        c.set_xlabel("live neurons N"), c.set_ylabel("test MSE"), c.legend(fontsize=7)
    c.set_title("C: loss vs N")

    claims = [fit_claim("Fig 2C: slope of loss vs live neurons, x²", fit, -1.0, "≈ -1",
                        f"agree: paper's value in our 95% bootstrap CI and 0 outside it (no test when it holds "
                        f"both); {floor.note()}", null=0.0),
              exponent_claim("Fig 2A: live neurons grow with α (exponent of N vs α)", "grows (no number)", n_fit,
                                lambda f: f.exponent_interval[0] > 0, "agree: exponent > 0")]
    numbers = {"recipe": recipe, "alphas": alphas, "seeds": sw.seeds, "live": live, "loss": loss,
               "fit_loss_vs_N": fit, "fit_N_vs_alpha": n_fit, "scatter": scatter,
               "loss_floor": {"rule": FLOOR_RULE, "alphas": floor.values, "p": floor.p, "on_floor": on}}
    return finish(out_dir, NAME, fig, numbers, claims,
                     f"loss ∝ N^{fmt_exponent(fit)} over {int((ok & ~on).sum())} members; N ∝ α^{fmt_exponent(n_fit)}.", t0)


def fmt_exponent(fit) -> str:
    return "?" if fit is None else f"{fit.exponent:.2f}"

