"""Emergence paper Fig. 1 (data panel): final skill strengths R_k/S vs the size D of a fixed
training set, 2-layer ReLU MLP on multitask sparse parity (n_s = 5, n_b = 32, m = 3, α = 0.6,
S = 5). The form R_k/S = 1 − sqrt(max(0, 1 − D·p_k/D_c)) is calibrated on skill 1 (one
constant D_c; the paper fits 800) and predicts skills 2..5.

Quick recipe trades away: D ∈ {300, 1000, 3000, 10000} instead of 500..35 000, width 64, Adam
lr 0.01 for 2 000 steps (batch 1 000) instead of SGD to convergence, 2 seeds: skills the net
has not yet learned for lack of steps read as lack of data."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _figkit as fk  # noqa: E402
import _parity  # noqa: E402

from interp.emergence import calibrate  # noqa: E402

NAME = "emergence_fig1_data"
QUICK = dict(sizes=[300, 1000, 3000, 10000], width=64, seeds=[0, 1], steps=2000, lr=0.01, batch=1000)
FULL = dict(sizes=[500, 1000, 2000, 3500, 5000, 7500, 10000, 15000, 20000, 25000, 35000], width=128,
            seeds=list(range(10)), steps=30_000, lr=0.003, batch=4000)


def run(out_dir, quick: bool = True, device: str = "cpu") -> dict:
    t0 = time.time()
    r = QUICK if quick else FULL
    D = np.array(r["sizes"], dtype=float)
    R = np.stack([_parity.train_final_strength(r["width"], r["seeds"], r["steps"], r["lr"], min(r["batch"], d),
                                               dataset_size=d, device=device) for d in r["sizes"]])   # [n_D, M, 5]
    R = np.clip(R, 0, 1)
    p = np.asarray(_parity.task().weights, dtype=float)
    cal = calibrate("data", D, R[:, :, 0], frequencies=p, n_boot=300)
    grid = np.logspace(np.log10(D.min() / 2), np.log10(D.max() * 2), 200)
    pred = cal.predict(grid, [1, 2, 3, 4, 5])
    fig, (a,) = fk.figure(1, size=(5.2, 3.8))
    for k in range(5):
        a.errorbar(D, R[:, :, k].mean(1), yerr=R[:, :, k].std(1), fmt="o", ms=4, color=f"C{k}", label=f"skill {k + 1}")
        a.plot(grid, pred[:, k], color=f"C{k}", ls="--" if k else "-")
    a.set_xscale("log"), a.set_xlabel("training-set size D"), a.set_ylabel("R_k / S")
    a.set_title(f"calibrated on skill 1 (D_c = {cal.constant:.0f}), dashed: predictions"), a.legend(fontsize=7)
    claims = [fk.claim("Fig 1 (data): D_c fitted on skill 1", "800 (paper's fit)", cal.constant, cal.interval,
                       fk.covers(cal.interval, 800.0), "agree: 800 in our 95% CI")]
    meas = R.mean(1)
    pw = cal.predict(D, [1, 2, 3, 4, 5])
    for k in range(2, 6):
        err = float(np.sqrt(np.mean((meas[:, k - 1] - pw[:, k - 1]) ** 2)))
        claims.append(fk.claim(f"Fig 1 (data): skill {k} R/S, RMS error of the prediction from skill 1", "small",
                               err, None, err < 0.2, "over the sizes; agree: RMS < 0.2"))
    return fk.finish(out_dir, NAME, fig, {"recipe": r, "sizes": D, "strength": R, "calibration": cal.to_dict()},
                     claims, f"D_c = {cal.constant:.0f}.", t0)


if __name__ == "__main__":
    fk.main(run, NAME, __doc__)
