"""Resource model Fig. 6: is N⁻¹ ensembling? Pair the x² network's neurons into symmetric
regressors (same bias, opposite weight; ``interp.pair_symmetric``) and correlate their error
functions (``interp.ensembling_test``). The paper finds correlations of ±1: the errors are not
independent, so ensembling (which would need independent errors) does not explain N⁻¹.

Quick recipe trades away: width 100 instead of 1000, 20 000 steps instead of 100 000 at α = 128.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _figkit as fk  # noqa: E402

import models  # noqa: E402
from interp.ensembling import ensembling_test  # noqa: E402

NAME = "fig6_ensembling"
QUICK = dict(width=100, alpha=128.0, steps=20_000, decay_every=4000, seed=0)
FULL = dict(width=1000, alpha=128.0, steps=100_000, decay_every=20_000, seed=0)


def run(out_dir, quick: bool = True, device: str = "cpu") -> dict:
    t0 = time.time()
    r = QUICK if quick else FULL
    task = models.tasks.Square()
    net = models.MLP(models.MLPConfig(d_in=1, widths=(r["width"],), d_out=1, seed=r["seed"])).to(device)
    res = models.train(net, task, models.TrainConfig(alpha=r["alpha"], steps=r["steps"], lr_decay_every=r["decay_every"],
                                                     progress=False, eval_points=10))
    ens = ensembling_test(res.model.cpu(), task)
    R = ens.n_regressors
    off = ens.corr[~np.eye(R, dtype=bool)] if R > 1 else np.array([np.nan])
    mean_abs = ens.mean_abs_corr
    q = np.percentile(np.abs(off), [5, 95]) if R > 1 else [np.nan, np.nan]

    fig, (a, b, c) = fk.figure(3)
    order = np.argsort(ens.x)
    for e in ens.errors:
        a.plot(ens.x[order], e[order], lw=0.8)
    a.set_xlabel("x"), a.set_ylabel("regressor error"), a.set_title(f"error functions ({R} regressors)")
    im = b.imshow(ens.corr, vmin=-1, vmax=1, cmap="RdBu_r")
    fig.colorbar(im, ax=b, label="correlation")
    b.set_xlabel("regressor"), b.set_ylabel("regressor"), b.set_title(f"error correlations, mean |r| = {mean_abs:.2f}")
    c.hist(off, bins=np.linspace(-1, 1, 41), color="C0")
    c.set_xlabel("correlation between two regressors' errors"), c.set_ylabel("pairs of regressors")
    c.set_title("distribution (paper: ±1)")

    claims = [fk.claim("Fig 6: mean |corr| of symmetric regressors' errors", "±1 (|r| ≈ 1)", mean_abs, q,
                       mean_abs > 0.8, "interval: 5th-95th percentile of |r|; agree: mean |r| > 0.8"),
              fk.claim("Fig 6: network loss vs ensembling prediction (MSE/R if independent)",
                       "ensembling does not explain N⁻¹", (ens.observed or np.nan) / ens.predicted_independent, None,
                       None if ens.observed is None else not 0.5 <= ens.observed / ens.predicted_independent <= 2,
                       "ours = network MSE / (mean regressor MSE / R); agree: outside [0.5, 2], i.e. the network "
                       "is not at the independent-errors 1/R law")]
    return fk.finish(out_dir, NAME, fig, {"recipe": r, "ensembling": ens.summary(), "corr": ens.corr, "mse": ens.mse},
                     claims, f"{R} regressors, mean |corr| {mean_abs:.2f}.", t0)


if __name__ == "__main__":
    fk.main(run, NAME, __doc__)
