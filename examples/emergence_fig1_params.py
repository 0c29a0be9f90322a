"""Emergence Fig. 1 (parameters): R_k vs width N.

    python examples/emergence_fig1_params.py                     # quick recipe, CPU
    python examples/emergence_fig1_params.py --full --device cuda   # full recipe
    python examples/emergence_fig1_params.py --out DIR           # default: runs/emergence_fig1_params

Writes ``emergence_fig1_params.png`` and ``emergence_fig1_params.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/emergence_fig1_params.py``;
``interp reproduce emergence_fig1_params`` runs the same code.

The quick recipe (a 2-core CPU):

    widths=[2, 4, 6, 8, 12, 16, 24, 32], seeds=[0, 1, 2], steps=10000, lr=0.01,
    batch=1000

The full recipe (the papers' settings; a GPU job):

    widths=12 values from 2 to 48, seeds=10 values from 0 to 9, steps=30000, lr=0.003,
    batch=4000

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig1_params as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
