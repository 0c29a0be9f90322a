"""Emergence Fig. 1 (data): R_k vs data-set size D.

    python examples/emergence_fig1_data.py                     # quick recipe, CPU
    python examples/emergence_fig1_data.py --full --device cuda   # full recipe
    python examples/emergence_fig1_data.py --out DIR           # default: runs/emergence_fig1_data

Writes ``emergence_fig1_data.png`` and ``emergence_fig1_data.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/emergence_fig1_data.py``;
``interp reproduce emergence_fig1_data`` runs the same code.

The quick recipe (a 2-core CPU):

    sizes=[300, 600, 1000, 2000, 3000, 5000, 10000, 20000], width=64, seeds=[0, 1, 2],
    steps=5000, lr=0.01, batch=1000

The full recipe (the papers' settings; a GPU job):

    sizes=11 values from 500 to 35000, width=128, seeds=10 values from 0 to 9,
    steps=30000, lr=0.003, batch=4000

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig1_data as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
