"""The x² sweep shared by Figs. 2 and 6 (and ``interp sweep``): its recipes and its runs.
Fig. 6 reads the networks at the α values of the paper's scatter and error-function
panels, ``SCATTER_ALPHAS``."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import models

from .recipes import CPU_BUDGET, QUICK_SCHEDULE, Departure, Ladder
from .recipes import alpha_grid, alpha_sweep, SweepRecipe


@dataclass(frozen=True)
class Recipe(SweepRecipe):
    """The α × seeds sweep of one-hidden-layer SiLU MLPs of ``width`` on y = x²."""

    width: int


QUICK = Recipe(width=100, alphas=(1.0, 3.5, 9.0, 19.3, 45.0, 128.0, 256.0, 512.0), seeds=(0, 1, 2), steps=20_000,
               decay_every=4000)
FULL = Recipe(width=1000, alphas=tuple(np.logspace(0, np.log10(512), 16).round(2).tolist() + [3.5, 9.0, 19.3, 128.0]),
              seeds=tuple(range(16)), steps=100_000, decay_every=20_000)
LADDER = Ladder("width", (100, 250, 500, 1000),
                "the recipe path: width, steps and seeds grow together toward the paper's 1 000 neurons, 100 000 "
                "steps (the decay keeps its share, reaching every 20 000) and 16 seeds; the α grid stays the quick "
                "one's, inside the paper's range",
                along=(("steps", (20_000, 40_000, 70_000, 100_000)),
                       ("seeds", ((0, 1, 2), (0, 1, 2), (0, 1, 2), tuple(range(16))))))
DEPARTURES = {
    "QUICK": (
        Departure("width", 1000, 100, CPU_BUDGET + " (the ladder widens to 1 000)"),
        *QUICK_SCHEDULE,
        Departure("seeds", 16, 3, CPU_BUDGET),
    ),
    "FULL": (),
}
"""How the recipes depart from Song et al. §2: "a single hidden layer with 1000 neurons", "we
sweep α ∈ [1, 512]", Adam, "total epochs set to 100000", lr 0.01 "reduced by a factor of 0.3
every 20000 epochs", "batch size is set to 500", n_seeds = 16 for each α (Fig. 2C)."""
SCATTER_ALPHAS = (3.5, 9.0, 19.3, 128.0)
TASK = models.tasks.Square()


def net(r: Recipe) -> models.MLPConfig:
    return models.MLPConfig(d_in=1, widths=(r.width,), d_out=1)


def sweeps(r: Recipe) -> list:
    return [alpha_grid(TASK, net(r), r)]


def square_sweep(out_dir, r: Recipe, device: str = "cpu"):
    """Returns (task, SweepResult) for y = x² over the recipe's α × seeds."""
    return TASK, alpha_sweep(out_dir, TASK, net(r), r, device)


def member_at(sweep, alpha: float, seed_index: int = 0) -> tuple[int, float]:
    """Index of the member nearest ``alpha`` (on a log scale) with the seed ``seeds[seed_index]``, and its α."""
    ia = int(np.argmin(np.abs(np.log(sweep.alphas / alpha))))
    return ia * len(sweep.seeds) + seed_index, float(sweep.alphas[ia])
