"""Resource sweeps: train one ensemble over task weights α × seeds, count live neurons and
measure the loss of each member, and fit the law that ties them (SPEC A Fig. 2).

>>> import models, interp
>>> res = interp.sweep_alpha(models.tasks.Square(), models.MLPConfig(d_in=1, widths=(32,), d_out=1),
...                          alphas=(2.0, 64.0), seeds=(0,), train=models.TrainConfig(steps=30, progress=False))
>>> res.live.shape, res.loss.shape            # [n_alphas, n_seeds]
((2, 1), (2, 1))
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

import models
from models.validate import check

from .fits import PowerLawFit, fit_power_law
from .neurons import live_neurons


@dataclass(frozen=True)
class SweepResult:
    """``live[a, s]``: live neurons (all hidden layers) of the member with ``alphas[a]`` and
    ``seeds[s]``; ``loss[a, s]``: its held-out task loss at the end (NaN when it failed);
    ``failed``: member label -> what went wrong; ``model``: the trained ensemble, members in
    α-major order."""

    alphas: np.ndarray
    seeds: tuple[int, ...]
    live: np.ndarray
    loss: np.ndarray
    threshold: float
    steps: int
    failed: dict[str, str]
    model: models.Ensemble

    def fit(self, n_boot: int = 1000, seed: int = 0) -> PowerLawFit:
        """Power law of loss against live neurons over every member with N > 0:
        ``exponent`` is the log-log slope (SPEC A finds -1)."""
        ok = (self.live > 0) & np.isfinite(self.loss) & (self.loss > 0)
        check(ok.sum() >= 3, "sweep", f"{int(ok.sum())} usable members", "at least 3 members with live neurons")
        return fit_power_law(self.live[ok].astype(float), self.loss[ok], n_boot=n_boot, seed=seed)

    def table(self) -> str:
        """One row per α: live neurons and loss, mean ± sd over seeds."""
        rows = [f"{'alpha':>8} {'live N (mean ± sd)':>20} {'loss (mean ± sd)':>24}"]
        for a, n, l in zip(self.alphas, self.live, self.loss):
            rows.append(f"{a:>8.3g} {n.mean():>11.1f} ± {n.std():<6.1f} {np.nanmean(l):>13.3e} ± {np.nanstd(l):<9.2e}")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {"alphas": self.alphas.tolist(), "seeds": list(self.seeds), "live": self.live.tolist(),
                "loss": self.loss.tolist(), "threshold": self.threshold, "steps": self.steps, "failed": self.failed}

    def save(self, folder: str | Path) -> Path:
        """Write ``sweep.json`` and the trained ensemble (a checkpoint) into ``folder``."""
        folder = Path(folder)
        models.save(self.model, folder / "ensemble")
        (folder / "sweep.json").write_text(json.dumps(self.to_dict(), indent=1))
        return folder


def sweep_alpha(task: models.tasks.Task, net: models.MLPConfig, alphas: Sequence[float], seeds: Sequence[int],
                train: models.TrainConfig, threshold: float = 1e-3, n_inputs: int = 4096,
                checkpoint: str | Path | None = None, device: str | torch.device = "cpu") -> SweepResult:
    """Train ``len(alphas) × len(seeds)`` MLPs shaped by ``net`` as one ensemble (member
    (a, s) has task weight ``alphas[a]`` and init seed ``seeds[s]``; ``train.alpha`` is
    replaced), then count each member's live neurons (activation variance > ``threshold``
    over ``n_inputs`` held-out inputs) and read its final held-out loss.
    ``checkpoint`` makes the training resumable; ``device`` is where the ensemble trains."""
    alphas = np.asarray(alphas, dtype=float)
    seeds = tuple(int(s) for s in seeds)
    check(alphas.ndim == 1 and len(alphas) >= 1, "alphas", alphas.tolist(), "a non-empty list of numbers")
    check(len(seeds) >= 1, "seeds", seeds, "a non-empty list of integers")
    member_alpha = tuple(float(a) for a in np.repeat(alphas, len(seeds)))
    member_seed = seeds * len(alphas)
    ens = models.Ensemble(net, seeds=member_seed).to(device)
    res = models.train(ens, task, replace(train, alpha=member_alpha), checkpoint=checkpoint)
    x = task.eval_batch(n_inputs, torch.Generator().manual_seed(12345)).x.to(device)
    live = sum(m.sum(-1) for m in live_neurons(res.model, x, threshold=threshold).values())
    shape = (len(alphas), len(seeds))
    loss = np.asarray(res.history["task_loss"][-1], dtype=float).copy()
    loss[list(res.failed)] = np.nan
    failed = {f"alpha={member_alpha[i]:g}, seed={member_seed[i]}": msg for i, msg in res.failed.items()}
    return SweepResult(alphas, seeds, live.cpu().numpy().reshape(shape), loss.reshape(shape), threshold, train.steps,
                       failed, res.model)
