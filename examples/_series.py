"""The series-task sweep shared by Figs. 4, 7 and 8: trained once per output folder and recipe
(``_figkit.cached_sweep``), so the three figures reuse one ensemble."""
from __future__ import annotations

import numpy as np

import _figkit as fk
import models

QUICK = dict(widths=(80, 80, 80, 80), alphas=[20.0 * 2 ** i for i in range(10)], seeds=[0], steps=20_000,
             decay_every=4000)
FULL = dict(widths=(100, 100, 100, 100), alphas=[20.0 * 2 ** i for i in range(10)], seeds=list(range(4)),
            steps=300_000, decay_every=60_000)


def series_sweep(out_dir, quick: bool = True, device: str = "cpu"):
    """Returns (task, recipe, ensemble, alphas[M], seeds[M], loss[M]) with members α-major."""
    r = QUICK if quick else FULL
    task = models.tasks.Series()
    net = models.MLPConfig(d_in=4, widths=tuple(r["widths"]), d_out=1)
    sw = fk.cached_sweep(out_dir, "series", quick, task, net, r, device)
    alphas = np.repeat(sw.alphas, len(sw.seeds))
    seeds = np.tile(np.array(sw.seeds), len(sw.alphas))
    return task, r, sw.model.cpu().eval(), alphas, seeds, sw.loss.astype(float).reshape(-1)
