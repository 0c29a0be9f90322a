"""Emergence paper Fig. 1 (data panel): final skill strengths R_k/S vs the size D of a fixed
training set, 2-layer ReLU MLP on multitask sparse parity (n_s = 5, n_b = 32, m = 3, α = 0.6,
S = 5). The form R_k/S = 1 − sqrt(max(0, 1 − D·p_k/D_c)) is calibrated on skill 1 (one
constant D_c; the paper fits 800) and predicts skills 2..5.

Quick recipe trades away: 8 sizes D from 300 to 20 000 instead of 11 from 500 to 35 000,
width 64, Adam lr 0.01 for 5 000 steps (batch 1 000) instead of SGD to convergence, 3 seeds
instead of 10: skills the net has not yet learned for lack of steps read as lack of data."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from . import _kit as fk
from . import _parity

NAME = "emergence_fig1_data"
@dataclass(frozen=True)
class Recipe:
    """The knobs of this figure (see the module's docstring)."""

    sizes: tuple[int, ...]
    width: int
    seeds: tuple[int, ...]
    steps: int
    lr: float
    batch: int


QUICK = Recipe(sizes=(300, 600, 1000, 2000, 3000, 5000, 10000, 20000), width=64, seeds=(0, 1, 2), steps=5000, lr=0.01, batch=1000)
FULL = Recipe(sizes=(500, 1000, 2000, 3500, 5000, 7500, 10000, 15000, 20000, 25000, 35000), width=128, seeds=tuple(range(10)), steps=30_000, lr=0.003, batch=4000)


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    r = recipe
    D = np.array(r.sizes, dtype=float)
    R = np.stack([_parity.train_final_strength(r.width, r.seeds, r.steps, r.lr, min(r.batch, d),
                                               dataset_size=d, device=device) for d in r.sizes])   # [n_D, M, 5]
    fig, cal, claims = _parity.calibration_panel("data", D, R)
    return fk.finish(out_dir, NAME, fig, {"recipe": r, "sizes": D, "strength": R, "calibration": cal.to_dict()},
                     claims, f"D_c = {cal.constant:.0f}.", t0)



def sweeps(r) -> list:
    return []
