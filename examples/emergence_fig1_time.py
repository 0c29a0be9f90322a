"""Emergence Fig. 1 (time): calibrate on skill 1, predict skills 2..5.

    python examples/emergence_fig1_time.py                     # quick recipe, CPU
    python examples/emergence_fig1_time.py --full --device cuda   # full recipe
    python examples/emergence_fig1_time.py --out DIR           # default: runs/emergence_fig1_time

Writes ``emergence_fig1_time.png`` and ``emergence_fig1_time.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/emergence_fig1_time.py``;
``interp reproduce emergence_fig1_time`` runs the same code.

The quick recipe (a 2-core CPU):

    lr=0.05, batch=2000, steps=20000, repeats=5, width=64, init_std=0.01,
    eval_points=150, seed=0

The full recipe (the papers' settings; a GPU job):

    lr=0.02, batch=4000, steps=30000, repeats=10, width=64, init_std=0.01,
    eval_points=150, seed=0

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig1_time as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
