"""The series-task sweep shared by Figs. 4, 7 and 8: trained once per output folder and recipe,
cached under ``<out>/_cache/series_<recipe>/`` so the three figures reuse one ensemble."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

import models
from interp.sweep import sweep_alpha

QUICK = dict(widths=(40, 40, 40, 40), alphas=[2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0, 1280.0, 2560.0,
                                              10240.0], seeds=[0], steps=20_000, decay_every=4000)
FULL = dict(widths=(100, 100, 100, 100), alphas=[20.0 * 2 ** i for i in range(10)], seeds=list(range(4)),
            steps=300_000, decay_every=60_000)


def series_sweep(out_dir, quick: bool = True, device: str = "cpu"):
    """Returns (task, recipe, ensemble, alphas[M], seeds[M], loss[M]) with members α-major."""
    r = QUICK if quick else FULL
    task = models.tasks.Series()
    folder = Path(out_dir) / "_cache" / f"series_{'quick' if quick else 'full'}"
    if (folder / "sweep.json").exists():
        d = json.loads((folder / "sweep.json").read_text())
        ens = models.load(folder / "ensemble").model
        loss = np.array(d["loss"], dtype=float)
    else:
        cfg = models.TrainConfig(steps=r["steps"], lr_decay_every=r["decay_every"], progress=False, eval_points=10)
        net = models.MLPConfig(d_in=4, widths=tuple(r["widths"]), d_out=1)
        sw = sweep_alpha(task, net, r["alphas"], r["seeds"], cfg, device=device)
        sw.model.cpu()
        sw.save(folder)
        ens, loss = sw.model, sw.loss.astype(float)
    alphas = np.repeat(np.array(r["alphas"]), len(r["seeds"]))
    seeds = np.tile(np.array(r["seeds"]), len(r["alphas"]))
    return task, r, ens.cpu().eval(), alphas, seeds, np.asarray(loss, dtype=float).reshape(-1)
