"""Emergence paper Fig. 1 (data panel): final skill strengths R_k/S vs the size D of a fixed
training set, for the authors' 2-layer ReLU MLP (weights and biases N(0, init²)) on
multitask sparse parity (n_s = 5, n_b = 32, m = 3, α = 0.6, S = 5). The form
R_k/S = 1 − sqrt(max(0, 1 − D·p_k/D_c)) is calibrated on skill 1 (one constant D_c; the
paper fits 800) and predicts skills 2..5. The authors set D_c against runs of the one-skill
task (``skill_cnt: 1``) and reused it for five; the figure trains those runs too
(``single_skill``) and reports both estimators' constants.

Training as the authors ran it: plain SGD over the fixed set in batches of
D // max(1, D // 2000) (the whole set up to D = 3999), the learning rate 0.05 halved at epoch
0 and again every 10 000 epochs (so 0.025, then 0.0125, ...), 100 000 epochs, width 1000,
init 0.001, 10 repeats, D from 500 to 35 000. The quick recipe changes, for the CPU:
sizes 32 from 500 to 35 000 → 8 from 300 to 20 000, width 1000 → 128, epochs 100 000 → 1800
with decay_epochs 10 000 → 600 (the same halving at epoch 0 and every third of the run as
a tenth), seeds 10 → 3 repeats, and optimizer SGD → Adam with lr 0.05 → 0.01. Short runs
leave the small sets under-trained, which reads as lack of data: the fitted D_c was 3 299
at 300 epochs, 1 818 at 900 and 1 306 at 1 800 (the paper: 800). Full-batch
SGD from init 0.001 sits on its plateau for thousands of steps: at width 128, lr 0.4 and
3 000 epochs of the halving schedule it learned only skill 1 (R/S = 0.73) at D = 2000 in
two minutes of CPU."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .recipes import Ladder
from . import parity_runs

NAME = "emergence_fig1_data"
AUTHORS_SIZES = tuple(range(500, 10_001, 500)) + tuple(range(11_000, 15_001, 1000)) + tuple(range(20_000, 35_001, 5000))


@dataclass(frozen=True)
class Recipe:
    sizes: tuple[int, ...] = AUTHORS_SIZES   # training-set sizes D
    width: int = 1000                        # hidden ReLU units
    init: float = 0.001                      # std of every weight and bias at initialisation
    optimizer: str = "sgd"                   # plain SGD ('adam' in the quick recipe)
    lr: float = 0.05                         # halved at epoch 0, then every decay_epochs
    decay_epochs: int = 10_000
    epochs: int = 100_000                    # passes over the training set
    batch: int = 2000                        # D is cut into max(1, D // batch) equal batches per epoch
    seeds: tuple[int, ...] = tuple(range(10))
    random_positions: bool = True            # skill bits at seeded random disjoint positions
    single_skill: bool = True                # also train the one-skill task the authors set D_c on


FULL = Recipe()
QUICK = Recipe(sizes=(300, 600, 1000, 2000, 3000, 5000, 10_000, 20_000), width=128, optimizer="adam", lr=0.01,
               epochs=1800, decay_epochs=600, seeds=(0, 1, 2))
LADDER = Ladder("epochs", (1800, 5000, 15_000, 100_000),
                "the recipe path: epochs, width and seeds grow toward the authors' 100 000, 1 000 and 10, and the "
                "optimizer turns to their SGD at lr 0.05 for the two top rungs; the lr halves every third of the run at "
                "the quick rung, every fifth, then every tenth as the authors' (D_c and the skill-4 prediction "
                "were blamed on 1 800 epochs); the sizes D stay the quick ones",
                along=(("width", (128, 250, 500, 1000)), ("decay_epochs", (600, 1000, 1500, 10_000)),
                       ("optimizer", ("adam", "adam", "sgd", "sgd")),
                       ("lr", (0.01, 0.01, 0.05, 0.05)), ("seeds", ((0, 1, 2), (0, 1, 2), (0, 1, 2), tuple(range(10))))))


def schedule(r: Recipe, d: int) -> dict:
    """Batch, steps and learning-rate schedule of one training-set size ``d`` (in steps)."""
    per_epoch = max(1, d // r.batch)
    return dict(batch=d // per_epoch, steps=r.epochs * per_epoch, lr=r.lr / 2, lr_decay=0.5,
                decay_every=r.decay_epochs * per_epoch)


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    r = recipe
    D = np.array(r.sizes, dtype=float)

    def strengths(n_skills):                                                    # [n_D, M, n_skills]
        return np.stack([parity_runs.train_final_strength(r.width, r.seeds, init=r.init, optimizer=r.optimizer,
                                                          dataset_size=d, random_positions=r.random_positions,
                                                          n_skills=n_skills, device=device, **schedule(r, d))
                         for d in r.sizes])

    strength, single, trained = parity_runs.kept_strengths(
        out_dir, NAME, r, lambda: (strengths(5), strengths(1) if r.single_skill else None))
    return parity_runs.panel_result(out_dir, NAME, r, "data", D, strength, single, t0, trained)


def sweeps(r: Recipe) -> list:
    return []
