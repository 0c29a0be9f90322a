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
import tempfile
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

import models
from models.atomic import write_text
from models.validate import check, check_number, check_seed

from ..evaluation import check_n_samples
from ..theory.fits import PowerLawFit, fit_power_law
from ..neurons import live_neurons
from .execution import EVAL_INPUTS, EVAL_SEED, execute
from .runs import Sweep
from .storage import load_run


@dataclass(frozen=True)
class SweepResult:
    """``live[a, s]``: live neurons (all hidden layers) of the member with ``alphas[a]`` and
    ``seeds[s]``, and ``loss[a, s]`` its held-out task loss at the end (both NaN when it
    failed); ``failed``: member label -> what went wrong; ``model``: the trained ensemble,
    members in α-major order."""

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
            rows.append(f"{a:>8.3g} {np.nanmean(n):>11.1f} ± {np.nanstd(n):<6.1f} {np.nanmean(l):>13.3e} ± "
                        f"{np.nanstd(l):<9.2e}")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {"alphas": self.alphas.tolist(), "seeds": list(self.seeds), "live": self.live.tolist(),
                "loss": self.loss.tolist(), "threshold": self.threshold, "steps": self.steps, "failed": self.failed}

    def save(self, folder: str | Path) -> Path:
        """Write ``sweep.json`` and the trained ensemble (a checkpoint) into ``folder``."""
        folder = Path(folder)
        models.save(self.model, folder / "ensemble")
        write_text(folder / "sweep.json", json.dumps(self.to_dict(), indent=1))
        return folder


def alpha_grid(task: models.tasks.Task, net: models.MLPConfig, alphas: Sequence[float], seeds: Sequence[int],
               train: models.TrainConfig) -> Sweep:
    """The runs of :func:`sweep_alpha`: α-major, ``len(alphas) × len(seeds)``, one ensemble."""
    alphas = np.asarray(alphas, dtype=float)
    check(alphas.ndim == 1 and len(alphas) >= 1, "alphas", alphas.tolist(), "a non-empty list of numbers")
    check(len(seeds) >= 1, "seeds", tuple(seeds), "a non-empty list of integers")
    seeds = [int(s) if isinstance(s, np.integer) else s for s in seeds]
    for i, s in enumerate(seeds):
        check_seed(f"seeds[{i}]", s)
    return Sweep.grid(net, task, replace(train, alpha=1.0),
                      over={"train.alpha": alphas, "model.seed": [int(s) for s in seeds]})


def sweep_alpha(task: models.tasks.Task, net: models.MLPConfig, alphas: Sequence[float], seeds: Sequence[int],
                train: models.TrainConfig, threshold: float = 1e-3, n_inputs: int = EVAL_INPUTS,
                checkpoint: str | Path | None = None, device: str | torch.device = "cpu", executor=None) -> SweepResult:
    """Train ``len(alphas) × len(seeds)`` MLPs shaped by ``net`` (member (a, s) has task
    weight ``alphas[a]`` and init seed ``seeds[s]``; ``train.alpha`` is replaced) as the runs
    of one :class:`interp.experiments.runs.Sweep`, then count each member's live neurons (activation
    variance > ``threshold`` over ``n_inputs`` held-out inputs) and read its final held-out
    loss. ``checkpoint`` is the sweep's folder (runs kept there are not trained again, an
    interrupted one resumes; None: a temporary folder); ``device`` is where it trains and
    ``executor`` what trains it (see :mod:`interp.experiments.executors`)."""
    check_number("threshold", threshold, 0.0, what="a finite number ≥ 0")
    check_n_samples(n_inputs, task)
    alphas = np.asarray(alphas, dtype=float)
    seeds = tuple(int(s) if isinstance(s, np.integer) else s for s in seeds)
    sweep = alpha_grid(task, net, alphas, seeds, train)
    with tempfile.TemporaryDirectory() if checkpoint is None else nullcontext(checkpoint) as root:
        out = execute(sweep, root, executor, device=str(device), progress=train.progress)
        ens = models.Ensemble.stack([load_run(root, run).model for run in sweep.runs]).to(device)
    shape = (len(alphas), len(seeds))
    failed_rows = out[out.status == "failed"]
    loss = np.where(out.status == "failed", np.nan, out.task_loss.to_numpy(dtype=float))
    if threshold == 1e-3 and n_inputs == EVAL_INPUTS:  # the counts each run kept
        live = out.live.to_numpy()
    else:
        x = task.eval_batch(n_inputs, torch.Generator().manual_seed(EVAL_SEED)).x.to(device)
        live = sum(m.sum(-1) for m in live_neurons(ens, x, threshold=threshold).values()).cpu().numpy()
    if (out.status == "failed").any():   # a failed member counts nothing: NaN, never 0 live neurons
        live = np.where(out.status == "failed", np.nan, live.astype(float))
    failed = {f"alpha={r['train.alpha']:g}, seed={r['model.seed']}": r["message"] for _, r in failed_rows.iterrows()}
    return SweepResult(alphas, seeds, live.reshape(shape), loss.reshape(shape), threshold, train.steps, failed, ens)
