"""Resource model Fig. 7: neuron redundancy in the series task rises with α.

Redundancy of a live neuron = number of other live neurons in its layer whose activations
correlate above 0.75 (``interp.redundancy``). The paper: the fraction with nonzero
redundancy rises with α and is under one half near α = 640, where the loss turns to N⁻¹.

Quick recipe trades away: the small, briefly trained series ensemble of Fig. 4 (shared,
cached in the output folder), widths 24 instead of the paper's larger layers.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _figkit as fk  # noqa: E402
from _series import FULL, QUICK, series_sweep  # noqa: E402,F401

from interp.neurons import redundancy  # noqa: E402
from interp.fits import fit_power_law  # noqa: E402

NAME = "fig7_redundancy"


def run(out_dir, quick: bool = True, device: str = "cpu") -> dict:
    t0 = time.time()
    task, r, ens, alphas, seeds, loss = series_sweep(out_dir, quick, device)
    red = redundancy(ens, task, threshold=0.75)
    frac = np.asarray(red.fraction(), dtype=float)                   # [M], all layers pooled
    per_layer = {s: np.asarray(red.fraction(s), dtype=float) for s in red.counts}
    ua = np.unique(alphas)
    mean = np.array([frac[alphas == a].mean() for a in ua])
    rho = float(np.corrcoef(np.log(alphas), frac)[0, 1]) if frac.std() > 0 else float("nan")
    # bootstrap interval on the correlation over members
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(500):
        i = rng.integers(0, frac.size, frac.size)
        if frac[i].std() > 0 and np.log(alphas[i]).std() > 0:
            boots.append(np.corrcoef(np.log(alphas[i]), frac[i])[0, 1])
    iv = np.percentile(boots, [2.5, 97.5]) if boots else [np.nan, np.nan]
    near = frac[(alphas >= 320) & (alphas <= 1280)]

    fig, (a,) = fk.figure(1, size=(5.0, 3.6))
    for j, (s, f) in enumerate(per_layer.items()):
        a.plot(ua, [f[alphas == x].mean() for x in ua], marker="o", ms=3, color=f"C{j}", label=f"layer {j + 1}")
    a.plot(ua, mean, color="k", lw=2, label="all layers")
    a.axvline(640, color="gray", ls=":", label="α = 640")
    a.axhline(0.5, color="gray", ls="--", lw=0.8)
    a.set_xscale("log"), a.set_xlabel("α"), a.set_ylabel("fraction with nonzero redundancy")
    a.set_ylim(-0.02, 1.02), a.set_title("Fig. 7: redundancy (corr > 0.75) vs α"), a.legend(fontsize=7)

    claims = [fk.claim("Fig 7: redundancy fraction rises with α (corr with log α)", "rises", rho, iv,
                       iv[0] > 0, "agree: 95% bootstrap CI of the correlation > 0"),
              fk.claim("Fig 7: redundancy fraction near α = 640 (320-1280)", "< 0.5", float(near.mean()),
                       [float(near.min()), float(near.max())], near.mean() < 0.5, "interval: min-max over members")]
    numbers = {"recipe": r, "alphas": alphas, "seeds": seeds, "fraction": frac, "fraction_per_layer": per_layer,
               "redundancy": red}
    return fk.finish(out_dir, NAME, fig, numbers, claims,
                     f"fraction with nonzero redundancy goes {mean[0]:.2f} → {mean[-1]:.2f} from α={ua[0]:g} to {ua[-1]:g}.",
                     t0)


if __name__ == "__main__":
    fk.main(run, NAME, __doc__)
