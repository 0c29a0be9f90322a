"""Emergence paper Fig. 3: loss vs compute C = N·T for model widths N from 10¹ to 10⁴; the
envelope (best width at each C) follows C^(-α/(α+2)).

Drawn at the authors' settings (S = 5, a_k(0) = b_k(0) = 0.1, η = 1, so c = S/init² − 1 = 499,
n_s = 50 000 skills). The compute prefactor A_C is computed by ``interp.theory.multilinear`` and set
beside the constants the authors' code hard-codes (0.68, 0.70, 0.64, "computed by
mathematica", in units of ½S²), with the residual; it is also checked against the model's
own frontier L·C^(α/(α+2)).

Quick recipe scales down only the grid: 25 widths and 40 compute points instead of 97 and
120. Pure computation (no network)."""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..theory.fits import fit_power_law
from ..theory.multilinear import Multilinear
from .claims import claim
from .drawing import figure, finish

NAME = "emergence_fig3_compute"


@dataclass(frozen=True)
class Recipe:
    alphas: tuple[float, ...] = (0.3, 0.6, 0.9)   # the paper's α (Zipf exponent α+1)
    n_widths: int = 97                            # widths N, log-spaced over 10..10⁴
    n_compute: int = 120                          # compute values C on the envelope
    n_skills: int = 50_000                        # n_s of the authors' curves
    scale: float = 5.0                            # S
    init: float = 0.1                             # a_k(0) = b_k(0)
    lr: float = 1.0                               # η


FULL = Recipe()
QUICK = Recipe(n_widths=25, n_compute=40)
PAPER_COMPUTE = {0.3: 0.68, 0.6: 0.70, 0.9: 0.64}   # the authors' hard-coded A_C/(½S²)


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    r = recipe
    widths = np.unique(np.round(np.logspace(1, 4, r.n_widths)))
    fig, axes = figure(len(r.alphas))
    claims, numbers = [], {"recipe": asdict(r), "widths": widths}
    half = 0.5 * r.scale ** 2
    for ax, a in zip(axes, r.alphas):
        m = Multilinear(alpha=a, n_skills=r.n_skills, scale=r.scale, init=r.init, lr=r.lr)
        t_lo, t_hi = m.emergence_time([10, 1000], 0.5)
        C = np.logspace(math.log10(10 * t_lo), math.log10(1000 * t_hi), r.n_compute)
        fr = m.compute_frontier(C, widths)
        for i in range(0, len(widths), max(1, len(widths) // 8)):
            ax.loglog(C, fr.losses[i], lw=0.7, color="gray", alpha=0.6)
        ax.loglog(C, fr.loss, "k-", lw=2, label="envelope (best width)")
        law = m.law("compute")
        ax.loglog(C, law.predict(C), "C3--", label=f"theory C^{law.exponent:.3f}")
        if a in PAPER_COMPUTE:
            ax.loglog(C, half * PAPER_COMPUTE[a] * C ** law.exponent, "C0:", label=f"authors' constant {PAPER_COMPUTE[a]}")
        inner = (fr.width > widths.min()) & (fr.width < widths.max())
        fit = fit_power_law(C[inner], fr.loss[inner], n_boot=200)
        ax.set_xlabel("compute C = N·T"), ax.set_ylabel("loss"), ax.set_title(f"α = {a} (widths 10..10⁴, gray)")
        ax.legend(fontsize=7)
        claims.append(claim(f"Fig 3: compute-optimal exponent, α={a}", f"{-a / (a + 2):.3f} (theory)", fit.exponent,
                               fit.exponent_interval, abs(fit.exponent + a / (a + 2)) < 0.03,
                               "envelope where the best width is inside the grid; agree: within 0.03"))
        const = law.prefactor / half                                   # A_C / (½S²)
        limit = Multilinear(alpha=a, n_skills=math.inf, scale=r.scale, init=r.init, lr=r.lr).law("compute").prefactor / half
        measured = float(np.median(fr.loss[inner] * C[inner] ** (a / (a + 2))))
        if a in PAPER_COMPUTE:
            paper = PAPER_COMPUTE[a]
            resid = const / paper - 1
            claims.append(claim(f"Fig 3: compute prefactor A_C/(½S²), α={a}, computed at the authors' settings",
                                   paper, const, None, abs(resid) < 0.02,
                                   f"S={r.scale:g}, init {r.init:g}, η={r.lr:g}, n_s={r.n_skills:g}: residual "
                                   f"{resid:+.1%} (n_s → ∞: {limit:.3f}, {limit / paper - 1:+.1%}); the model's own "
                                   f"frontier gives {measured / half:.3f}; agree: within 2%"))
        claims.append(claim(f"Fig 3: compute prefactor, theory / the model's own frontier, α={a}", "1 (exact law)",
                               law.prefactor / measured, None, abs(law.prefactor / measured - 1) < 0.05,
                               f"frontier L·C^(α/(α+2)) median {measured:.3f} vs law {law.prefactor:.3f} "
                               f"(n_s = {r.n_skills:g}; the paper notes the α = 0.3 frontier falls faster at finite "
                               "n_s); agree: within 5%"))
        numbers[str(a)] = {"compute": C, "envelope": fr.loss, "best_width": fr.width, "fit": fit,
                           "theory": law.to_dict(), "constant": const, "constant_infinite_skills": limit,
                           "paper_constant": PAPER_COMPUTE.get(a), "frontier_prefactor": measured,
                           "frontier_constant": measured / half}
    return finish(out_dir, NAME, fig, numbers, claims,
                     "compute frontier of the multilinear model at the authors' settings.", t0)


def sweeps(r: Recipe) -> list:
    return []
