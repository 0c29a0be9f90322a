"""The x² sweep shared by Figs. 2 and 6: trained once per output folder and recipe
(``_figkit.cached_sweep``). Fig. 6 reads the networks at the α values of the paper's
scatter and error-function panels, ``SCATTER_ALPHAS``."""
from __future__ import annotations

import numpy as np

import _figkit as fk
import models

QUICK = dict(width=100, alphas=[1.0, 3.5, 9.0, 19.3, 45.0, 128.0, 256.0, 512.0], seeds=[0, 1, 2],
             steps=20_000, decay_every=4000)
FULL = dict(width=1000, alphas=np.logspace(0, np.log10(512), 16).round(2).tolist() + [3.5, 9.0, 19.3, 128.0],
            seeds=list(range(16)), steps=100_000, decay_every=20_000)
SCATTER_ALPHAS = (3.5, 9.0, 19.3, 128.0)


def square_sweep(out_dir, quick: bool = True, device: str = "cpu"):
    """Returns (task, recipe, SweepResult) for y = x² over the recipe's α × seeds."""
    r = QUICK if quick else FULL
    task = models.tasks.Square()
    net = models.MLPConfig(d_in=1, widths=(r["width"],), d_out=1)
    return task, r, fk.cached_sweep(out_dir, "square", quick, task, net, r, device)


def member_at(sweep, alpha: float, seed_index: int = 0) -> tuple[int, float]:
    """Index of the member nearest ``alpha`` (on a log scale) with the seed ``seeds[seed_index]``, and its α."""
    ia = int(np.argmin(np.abs(np.log(sweep.alphas / alpha))))
    return ia * len(sweep.seeds) + seed_index, float(sweep.alphas[ia])
