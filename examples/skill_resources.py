"""Beyond the papers: how many neurons does a multitask-sparse-parity MLP spend on each skill?

Train 2-layer ReLU MLPs of several widths on multitask sparse parity (n_s = 5, α = 0.6, S = 5),
assign neurons to skills by mean ablation (``interp.allocate(method="ablation")``) and test the
resource model on them: (i) if skill k's loss fell as 1/N_k, the optimum would give
N_k ∝ sqrt(P_k) (App. C with a_k = P_k), i.e. an exponent 0.5 of N_k against P_k;
(ii) homogeneous growth: each skill's share N_k/N constant across widths
(``interp.homogeneous_growth``). Reported as found, agreement or not.

Quick recipe trades away: widths {16, 32, 64, 128} instead of up to 512, one seed, Adam lr
0.01 for 10 000 steps (rare skills may not be learned at all: they then get no neurons and
drop out of the fits)."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _figkit as fk  # noqa: E402
import _parity  # noqa: E402

import models  # noqa: E402
from interp.allocation import allocate  # noqa: E402
from interp.fits import fit_power_law  # noqa: E402
from interp.scaling import homogeneous_growth  # noqa: E402

NAME = "skill_resources"
QUICK = dict(widths=[16, 32, 64, 128], seed=0, steps=10_000, lr=0.01, batch=1000)
FULL = dict(widths=[16, 32, 64, 128, 256, 512], seed=0, steps=30_000, lr=0.003, batch=4000)


def run(out_dir, quick: bool = True, device: str = "cpu") -> dict:
    t0 = time.time()
    r = QUICK if quick else FULL
    task = _parity.task()
    p = np.asarray(task.weights, dtype=float)
    counts, strength, live = [], [], []
    for w in r["widths"]:
        cfg = models.MLPConfig(d_in=task.d_in, widths=(w,), d_out=1, activation="relu", seed=r["seed"])
        res = models.train(models.MLP(cfg).to(device), task,
                           models.TrainConfig(alpha=1.0, l1=0.0, l2=0.0, lr=r["lr"], lr_decay=1.0, steps=r["steps"],
                                              batch_size=r["batch"], eval_points=8, progress=False))
        al = allocate(res.model.cpu(), task, method="ablation")
        c = al.counts()
        counts.append([c[s] for s in task.subtasks])
        live.append(al.n_live)
        strength.append(np.asarray(res.history["skill_strength"][-1], dtype=float))
    C = np.array(counts, dtype=float)                       # [n_widths, 5]
    S = np.array(strength)
    learned = S > 0.5
    claims = []
    fig, (a, b) = fk.figure(2)
    for i, w in enumerate(r["widths"]):
        a.plot(np.arange(1, 6), C[i], "o-", color=f"C{i}", label=f"width {w}")
    a.set_xlabel("skill k (P_k ∝ k^-1.6)"), a.set_ylabel("neurons assigned (ablation)"), a.set_title("neurons per skill")
    a.legend(fontsize=7)
    # (i) N_k vs P_k at the widest net, over learned skills with neurons
    i = len(r["widths"]) - 1
    ok = (C[i] > 0) & learned[i]
    sqrt_fit = fit_power_law(p[ok], C[i, ok], n_boot=300) if ok.sum() >= 3 else None
    b.loglog(p[C[i] > 0], C[i, C[i] > 0], "o", color="C0", label=f"width {r['widths'][i]}")
    if sqrt_fit is not None:
        g = np.logspace(np.log10(p[ok].min()), np.log10(p[ok].max()), 20)
        b.loglog(g, sqrt_fit.predict(g), "C0-", label=f"fit P^{sqrt_fit.exponent:.2f}")
        b.loglog(g, sqrt_fit.predict(g.max()) * (g / g.max()) ** 0.5, "k:", label="√P optimum")
    b.set_xlabel("skill frequency P_k"), b.set_ylabel("neurons N_k"), b.set_title("N_k vs P_k"), b.legend(fontsize=7)
    claims.append(fk.claim("Skills: exponent of N_k vs P_k (widest net, learned skills)", "0.5 if ℓ_k ∝ 1/N_k (optimum)",
                           None if sqrt_fit is None else sqrt_fit.exponent,
                           None if sqrt_fit is None else sqrt_fit.exponent_interval,
                           None if sqrt_fit is None else fk.decides(sqrt_fit.exponent_interval, 0.5, 0.0),
                           f"{int(ok.sum())} learned skills with neurons" + (
                               "; agree: 0.5 in our 95% CI and 0 (counts blind to frequency) outside it; "
                               "no test when the CI covers both" if sqrt_fit else ": too few to fit")))
    keep = np.all(C > 0, 0)
    growth = None
    if keep.sum() >= 2 and len(r["widths"]) >= 3:
        growth = homogeneous_growth(C[:, keep], x=np.array(r["widths"], float), n_boot=300)
        lo = min(iv[0] for iv in growth.ratio_slope_intervals)
        hi = max(iv[1] for iv in growth.ratio_slope_intervals)
        claims.append(fk.claim("Skills: homogeneous growth across widths (largest |share exponent|)", "0 (homogeneous)",
                               float(np.max(np.abs(growth.ratio_slopes))), [lo, hi],
                               growth.homogeneous if hi - lo <= 2 else None,
                               f"{int(keep.sum())} skills with neurons at every width; agree: every share's 95% CI "
                               "covers 0; no test when the CIs span more than ±1 (a share growing like the width "
                               "itself could not be told apart)"))
    else:
        claims.append(fk.claim("Skills: homogeneous growth across widths", "0 (homogeneous)", None, None, None,
                               "fewer than 2 skills have neurons at every width: no test"))
    return fk.finish(out_dir, NAME, fig, {"recipe": r, "frequencies": p, "counts": C, "live": live, "strength": S,
                                          "fit_counts_vs_P": sqrt_fit, "growth": growth}, claims,
                     "neurons per skill: " + "; ".join(f"w{w}: {C[j].astype(int).tolist()}"
                                                       for j, w in enumerate(r["widths"])), t0)


if __name__ == "__main__":
    fk.main(run, NAME, __doc__)
