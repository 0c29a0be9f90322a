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


PANELS = {  # resource -> (panel label, constant's name, paper's fitted value, x label, what x counts, log x)
    "data": ("data", "D_c", 800.0, "training-set size D", "sizes", True),
    "parameters": ("params", "N_c", 4.0, "hidden width N", "widths", False),
}


def calibration_panel(resource: str, x, strength):
    """Calibrate on skill 1 and predict skills 2..5 for the data or parameter panel of Fig. 1.

    x: sizes or widths ``[n]``; strength: final R_k/S ``[n, M, 5]`` (clipped to [0, 1] here).
    Returns (figure, calibration, claims): measured means ± std, the calibrated curve of
    skill 1 (solid) and the predictions for skills 2..5 (dashed); one claim on the fitted
    constant and one RMS claim per predicted skill."""
    from ..emergence import calibrate
    from . import _kit as fk

    label, const_name, paper, xlabel, xs, logx = PANELS[resource]
    x = np.asarray(x, dtype=float)
    R = np.clip(np.asarray(strength, dtype=float), 0, 1)
    p = np.asarray(task().weights, dtype=float)
    cal = calibrate(resource, x, R[:, :, 0], frequencies=p, n_boot=300)
    grid = np.logspace(np.log10(x.min() / 2), np.log10(x.max() * 2), 200) if logx else np.linspace(1, x.max(), 200)
    pred = cal.predict(grid, [1, 2, 3, 4, 5])
    fig, (a,) = fk.figure(1, size=(5.2, 3.8))
    for k in range(5):
        a.errorbar(x, R[:, :, k].mean(1), yerr=R[:, :, k].std(1), fmt="o", ms=4, color=f"C{k}", label=f"skill {k + 1}")
        a.plot(grid, pred[:, k], color=f"C{k}", ls="--" if k else "-")
    if logx:
        a.set_xscale("log")
    a.set_xlabel(xlabel), a.set_ylabel("R_k / S")
    a.set_title(f"{const_name} = {cal.constant:.3g} fitted on skill 1 (solid);\nskills 2-5 predicted from it (dashed)",
                fontsize=9)
    a.legend(fontsize=7)
    claims = [fk.claim(f"Fig 1 ({label}): {const_name} fitted on skill 1", f"{paper:g} (paper's fit)", cal.constant,
                       cal.interval, fk.covers(cal.interval, paper), f"agree: {paper:g} in our 95% CI")]
    meas, pw = R.mean(1), cal.predict(x, [1, 2, 3, 4, 5])
    for k in range(2, 6):
        err = float(np.sqrt(np.mean((meas[:, k - 1] - pw[:, k - 1]) ** 2)))
        claims.append(fk.claim(f"Fig 1 ({label}): skill {k} R/S, RMS error of the prediction from skill 1", "small",
                               err, None, err < 0.2, f"over the {xs}; agree: RMS < 0.2"))
    return fig, cal, claims
