"""The series-task sweep shared by Figs. 4, 7 and 8: its recipes and its runs (trained once
per output folder, so the three figures read the same networks)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import models

from .recipes import Ladder
from .recipes import alpha_grid, alpha_sweep, SweepRecipe


@dataclass(frozen=True)
class Recipe(SweepRecipe):
    """The α × seeds sweep of SiLU MLPs with hidden ``widths`` on F = sqrt((x1-x2)² + (x3-x4)²)."""

    widths: tuple[int, ...]


QUICK = Recipe(widths=(80, 80, 80, 80), alphas=tuple(20.0 * 2 ** i for i in range(10)), seeds=(0,), steps=20_000,
               decay_every=4000)
FULL = Recipe(widths=(100, 100, 100, 100), alphas=tuple(20.0 * 2 ** i for i in range(10)), seeds=tuple(range(4)),
              steps=300_000, decay_every=60_000)
LADDER = Ladder("steps", (20_000, 40_000, 80_000, 300_000),
                "the large-α slope, the redundancy share and the layers' drift are blamed on 20 000 of the paper's "
                "300 000 steps")
TASK = models.tasks.Series()


def net(r: Recipe) -> models.MLPConfig:
    return models.MLPConfig(d_in=4, widths=tuple(r.widths), d_out=1)


def sweeps(r: Recipe) -> list:
    return [alpha_grid(TASK, net(r), r)]


def series_sweep(out_dir, r: Recipe, device: str = "cpu"):
    """Returns (task, ensemble, alphas[M], seeds[M], loss[M]) with members α-major."""
    sw = alpha_sweep(out_dir, TASK, net(r), r, device)
    alphas = np.repeat(sw.alphas, len(sw.seeds))
    seeds = np.tile(np.array(sw.seeds), len(sw.alphas))
    return TASK, sw.model.cpu().eval(), alphas, seeds, sw.loss.astype(float).reshape(-1)
