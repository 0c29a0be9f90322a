"""Shared setup of the emergence paper's Fig. 1 data and parameter panels (SPEC B)."""
from __future__ import annotations

import numpy as np

import models

TASK = dict(n_skills=5, n_bits=32, bits_per_skill=3, alpha=0.6, scale=5.0)


def task():
    return models.tasks.SparseParity(**TASK)


def train_final_strength(width: int, seeds, steps: int, lr: float, batch: int, dataset_size=None, device="cpu",
                         decay_every: int = 10**9, optimizer: str = "adam"):
    """Train one ensemble (one member per seed) and return its final R_k/S, ``[M, n_skills]``."""
    t = task()
    cfg = models.MLPConfig(d_in=t.d_in, widths=(width,), d_out=1, activation="relu")
    net = models.Ensemble(cfg, seeds=tuple(seeds)).to(device)
    tc = models.TrainConfig(alpha=1.0, l1=0.0, l2=0.0, optimizer=optimizer, lr=lr, lr_decay=0.5,
                            lr_decay_every=decay_every, steps=steps, batch_size=batch, dataset_size=dataset_size,
                            eval_size=5000, eval_points=8, progress=False)
    res = models.train(net, t, tc)
    return np.asarray(res.history["skill_strength"][-1], dtype=float)
