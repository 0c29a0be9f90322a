"""Resource model App. C: minimise a/n1 + b/n2 with n1 + n2 fixed. The optimum has n1/n2 =
sqrt(a/b) at every total (homogeneous growth follows from hypotheses 1 and 3). With a ∝ β,
b ∝ 1-β this gives 1.73 at β = 0.75, against the 2.35 ± 0.24 the paper measured (a known
tension): ``interp.exponent_from_ratio`` turns a measured ratio into the subtask exponent it
would imply. Pure computation, no training (quick and full recipes are the same).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..theory.resource import composite_loss, exponent_from_ratio, optimal_allocation
from .claims import claim
from .drawing import figure, finish

NAME = "appC_allocation"


@dataclass(frozen=True)
class Recipe:
    """The β grid of the optimum's curve and the totals n1 + n2 it is solved at."""

    betas: tuple[float, ...] = tuple(np.linspace(0.5, 0.97, 48).tolist())
    totals: tuple[int, ...] = (10, 30, 100, 300, 1000)


QUICK = FULL = Recipe()


def sweeps(r: Recipe) -> list:
    return []


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    r = recipe
    betas = np.array(r.betas)
    ratios = np.array([[optimal_allocation([b, 1 - b], t).n for t in r.totals] for b in betas])  # [B, T, 2]
    rr = ratios[..., 0] / ratios[..., 1]
    spread = float(np.max(rr.max(1) / rr.min(1) - 1))
    # brute force on an integer grid, to check the solver, at β = 0.75 and N = 1000
    n1 = np.arange(1, 1000)
    brute = n1[np.argmin(0.75 / n1 + 0.25 / (1000 - n1))] / (1000 - n1[np.argmin(0.75 / n1 + 0.25 / (1000 - n1))])
    at = optimal_allocation([0.75, 0.25], 1000.0)
    opt075 = at.n[0] / at.n[1]
    p_paper = exponent_from_ratio([0.75, 0.25], 2.35)
    ours = None
    f3 = Path(out_dir) / "fig3_parallel.json"
    if f3.exists():
        d = json.loads(f3.read_text())
        rb = np.array(d["numbers"]["ratio_beta075"], dtype=float)
        if rb.size and np.isfinite(rb.mean()) and rb.mean() != 1:
            ours = float(rb.mean())
    totals = np.logspace(1, 3, 20)
    comp = composite_loss([0.75, 0.25], totals)
    slope = float(np.polyfit(np.log(totals), np.log(comp), 1)[0])

    fig, (a, b) = figure(2)
    a.plot(betas, rr[:, 0], "k-", label="optimum n1/n2 (any total)")
    a.plot(betas, np.sqrt(betas / (1 - betas)), "C1:", lw=2, label="√(β/(1-β))")
    a.errorbar([0.75], [2.35], yerr=[0.24], fmt="s", color="C3", label="paper measured 2.35 ± 0.24")
    if ours is not None:
        a.plot([0.75], [ours], "o", color="C0", label=f"ours (fig3, quick) {ours:.2f}")
    a.set_yscale("log"), a.set_xlabel("β"), a.set_ylabel("n1 / n2"), a.set_title("optimal allocation"), a.legend(fontsize=7)
    b.loglog(totals, comp, "k-", label=f"composite loss at optimum: slope {slope:.3f}")
    b.set_xlabel("total neurons N"), b.set_ylabel("a/n1 + b/n2 at optimum"), b.set_title("composite law"), b.legend(fontsize=7)

    claims = [claim("App C: optimal n1/n2 at β=0.75", "1.73", opt075, None, abs(opt075 - 1.7320508) < 1e-3,
                       f"integer brute force at N=1000: {brute:.3f}"),
              claim("App C: optimal n1/n2 independent of the total (max relative spread)", "0 (constant)", spread,
                       None, spread < 1e-6, f"totals {list(r.totals)}"),
              claim("App C: composite loss exponent at the optimum", "-1", slope, None, abs(slope + 1) < 1e-6, ""),
              claim("App C: subtask exponent implied by the paper's 2.35 at β=0.75", "1 (hypothesis 1)", p_paper,
                       [exponent_from_ratio([0.75, 0.25], 2.59), exponent_from_ratio([0.75, 0.25], 2.11)],
                       abs(p_paper - 1) < 0.1, "interval from 2.35 ± 0.24; disagreement = the paper's own tension")]
    if ours is not None and ours > 1:
        claims.append(claim("App C: subtask exponent implied by our fig3 N1/N2", "1", exponent_from_ratio([0.75, 0.25], ours),
                               None, None, "no test (quick ratio)"))
    return finish(out_dir, NAME, fig, {"betas": betas, "ratio": rr[:, 0], "totals": totals, "composite": comp,
                                          "opt_075": opt075, "brute_075": brute, "p_from_paper_ratio": p_paper},
                     claims, f"optimum √(β/(1-β)); the paper's 2.35 implies p = {p_paper:.2f}.", t0)

