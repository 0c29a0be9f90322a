"""Emergence paper Fig. 1 (parameters panel): final skill strengths R_k/S vs the hidden width N
of a 2-layer ReLU MLP on multitask sparse parity (n_s = 5, n_b = 32, m = 3, α = 0.6, S = 5).
The form R_k/S = clip((N − (k−1)·N_c)/N_c, 0, 1) is calibrated on skill 1 (one constant N_c;
the paper fits N_c = 4) and predicts where skills 2..5 appear.

Quick recipe trades away: 8 widths from 2 to 32 instead of 12 from 2 to 48, 3 seeds instead
of 10, Adam lr 0.01 for 10 000 steps of 1 000 fresh samples: late skills may be limited by
training time as well as by width, which would bias the measured curves of skills 3..5 low."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import _kit as fk
from . import _parity

NAME = "emergence_fig1_params"
@dataclass(frozen=True)
class Recipe:
    """The knobs of this figure (see the module's docstring)."""

    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    steps: int
    lr: float
    batch: int


QUICK = Recipe(widths=(2, 4, 6, 8, 12, 16, 24, 32), seeds=(0, 1, 2), steps=10_000, lr=0.01, batch=1000)
FULL = Recipe(widths=(2, 4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48), seeds=tuple(range(10)), steps=30_000, lr=0.003, batch=4000)


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    r = recipe
    W = np.array(r.widths, dtype=float)
    R = np.stack([_parity.train_final_strength(w, r.seeds, r.steps, r.lr, r.batch, device=device)
                  for w in r.widths])                                   # [n_w, M, 5]
    fig, cal, claims = _parity.calibration_panel("parameters", W, R)
    return fk.finish(out_dir, NAME, fig, {"recipe": r, "widths": W, "strength": R, "calibration": cal.to_dict()},
                     claims, f"N_c = {cal.constant:.2f}.", t0)



def sweeps(r) -> list:
    return []
