"""Beyond the papers: how many neurons does a multitask-sparse-parity MLP spend on each skill?

Train 2-layer ReLU MLPs of several widths on multitask sparse parity (n_s = 5, α = 0.6, S = 5),
assign neurons to skills by mean ablation (``interp.allocate(method="ablation")``) and test the
resource model on them: (i) if skill k's loss fell as 1/N_k, the optimum would give
N_k ∝ sqrt(P_k) (App. C with a_k = P_k), i.e. an exponent 0.5 of N_k against P_k;
(ii) homogeneous growth: each skill's share N_k/N constant across widths
(``interp.homogeneous_growth``). Reported as found, agreement or not.

Each width trains its seeds as one ensemble; each member is allocated on its own, and the
fits pool the members (one point per member and skill), so their intervals carry the
seed-to-seed spread.

Quick recipe trades away: widths {16, 32, 64, 128} instead of up to 512, 3 seeds instead of 8,
Adam lr 0.01 for 10 000 steps (rare skills may not be learned at all: they then get no
neurons and drop out of the fits)."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

import models

from ..allocation import allocate
from ..experiments.runs import Sweep
from ..experiments.storage import load_run
from ..theory.resource import homogeneous_growth
from .claims import claim, fit_claim, safe_fit
from .drawing import figure, finish
from .recipes import runs_dir, train_runs
from . import parity_runs

NAME = "skill_resources"


@dataclass(frozen=True)
class Recipe:
    """Two-layer ReLU MLPs of each width, one per seed, Adam at ``lr`` without decay or
    penalties for ``steps`` steps of ``batch`` fresh samples."""

    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int
    lr: float
    batch: int


QUICK = Recipe(widths=(16, 32, 64, 128), seeds=(0, 1, 2), steps=10_000, lr=0.01, batch=1000)
FULL = Recipe(widths=(16, 32, 64, 128, 256, 512), seeds=tuple(range(8)), steps=30_000, lr=0.003, batch=4000)


def sweeps(r: Recipe) -> list:
    task = parity_runs.task()
    net = models.MLPConfig(d_in=task.d_in, widths=(r.widths[0],), d_out=1, activation="relu")
    train = models.TrainConfig(alpha=1.0, l1=0.0, l2=0.0, lr=r.lr, lr_decay=1.0, steps=r.steps, batch_size=r.batch,
                               eval_points=8, progress=False)
    return [Sweep.grid(net, task, train, over={"model.widths": [(w,) for w in r.widths], "model.seed": r.seeds})]


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    r = recipe
    task = parity_runs.task()
    p = np.asarray(task.weights, dtype=float)
    (sweep,) = sweeps(r)
    train_runs(out_dir, sweep, device)
    counts, strength, live = [], [], []
    for i, w in enumerate(r.widths):                  # each width's seeds, stacked as one ensemble
        runs = [load_run(runs_dir(out_dir), run) for run in sweep.runs[i * len(r.seeds):(i + 1) * len(r.seeds)]]
        allocs = allocate(models.Ensemble.stack([ck.model for ck in runs]), task, method="ablation")  # one per seed
        counts.append([[a.counts()[s] for s in task.subtasks] for a in allocs])
        live.append([a.n_live for a in allocs])
        strength.append(np.array([ck.history["skill_strength"][-1] for ck in runs], dtype=float))
    C = np.array(counts, dtype=float)                       # [n_widths, n_seeds, 5]
    S = np.array(strength)                                  # [n_widths, n_seeds, 5]
    learned = S > 0.5
    n_w, n_s = C.shape[:2]
    claims = []
    fig, (a, b) = figure(2)
    k = np.arange(1, 6)
    for i, w in enumerate(r.widths):
        a.errorbar(k, C[i].mean(0), yerr=C[i].std(0), fmt="o-", ms=4, capsize=2, color=f"C{i}", label=f"width {w}")
    a.set_xticks(k, [str(j) for j in k])
    a.set_xlabel("skill k (P_k ∝ k^-1.6)"), a.set_ylabel("neurons assigned (ablation)")
    a.set_title(f"neurons per skill, mean ± sd of {n_s} seeds"), a.legend(fontsize=7)
    # (i) N_k vs P_k at the widest net, over the members' learned skills with neurons
    i = n_w - 1
    ok = (C[i] > 0) & learned[i]                            # [n_seeds, 5]
    pk = np.broadcast_to(p, C[i].shape)
    sqrt_fit = safe_fit(pk[ok], C[i][ok], n_boot=300)
    b.loglog(pk[C[i] > 0], C[i][C[i] > 0], "o", color="C0", alpha=0.6, label=f"width {r.widths[i]}, each seed")
    if sqrt_fit is not None:
        g = np.logspace(np.log10(pk[ok].min()), np.log10(pk[ok].max()), 20)
        b.loglog(g, sqrt_fit.predict(g), "C0-", label=f"fit P^{sqrt_fit.exponent:.2f}")
        b.loglog(g, sqrt_fit.predict(g.max()) * (g / g.max()) ** 0.5, "k:", label="√P optimum")
    b.set_xlabel("skill frequency P_k"), b.set_ylabel("neurons N_k"), b.set_title("N_k vs P_k"), b.legend(fontsize=7)
    n_skills = int(ok.any(0).sum())
    points = f"{n_skills} learned skills with neurons, {int(ok.sum())} (seed, skill) points"
    claims.append(fit_claim("Skills: exponent of N_k vs P_k (widest net, learned skills)", sqrt_fit, 0.5,
                               "0.5 if ℓ_k ∝ 1/N_k (optimum)",
                               points + "; agree: 0.5 in our 95% CI and 0 (counts blind to frequency) outside it; "
                               "no test when the CI covers both", null=0.0, no_fit=points + ": too few to fit"))
    # (ii) homogeneous growth: one row per (width, seed), over the skills with neurons in every row
    rows = C.reshape(n_w * n_s, 5)
    keep = np.all(rows > 0, 0)
    growth = None
    if keep.sum() >= 2 and n_w >= 3:
        growth = homogeneous_growth(rows[:, keep], x=np.repeat(np.array(r.widths, float), n_s), n_boot=300)
        lo = min(iv[0] for iv in growth.ratio_slope_intervals)
        hi = max(iv[1] for iv in growth.ratio_slope_intervals)
        claims.append(claim("Skills: homogeneous growth across widths (largest |share exponent|)", "0 (homogeneous)",
                               float(np.max(np.abs(growth.ratio_slopes))), [lo, hi],
                               growth.homogeneous if hi - lo <= 2 else None,
                               f"skills {(np.flatnonzero(keep) + 1).tolist()} have neurons at every width and seed; "
                               "agree: every share's 95% CI covers 0; no test when the CIs span more than ±1 (a share "
                               "growing like the width itself could not be told apart)"))
    else:
        claims.append(claim("Skills: homogeneous growth across widths", "0 (homogeneous)", None, None, None,
                               "fewer than 2 skills have neurons at every width and seed: no test"))
    return finish(out_dir, NAME, fig, {"recipe": r, "frequencies": p, "counts": C, "live": live, "strength": S,
                                          "fit_counts_vs_P": sqrt_fit, "growth": growth}, claims,
                     "neurons per skill, mean over seeds: " + "; ".join(
                         f"w{w}: {np.round(C[j].mean(0), 1).tolist()}" for j, w in enumerate(r.widths)), t0)

