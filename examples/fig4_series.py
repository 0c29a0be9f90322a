"""Resource model Fig. 4: series task, g in layer 3, loss vs N.

    python examples/fig4_series.py                     # quick recipe, CPU
    python examples/fig4_series.py --full --device cuda   # full recipe
    python examples/fig4_series.py --out DIR           # default: runs/fig4_series

Writes ``fig4_series.png`` and ``fig4_series.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/fig4_series.py``;
``interp reproduce fig4_series`` runs the same code.

The quick recipe (a 2-core CPU):

    alphas=10 values from 20.0 to 10240.0, seeds=(0,), steps=20000, decay_every=4000,
    widths=(80, 80, 80, 80)

The full recipe (the papers' settings; a GPU job):

    alphas=10 values from 20.0 to 10240.0, seeds=(0, 1, 2, 3), steps=300000,
    decay_every=60000, widths=(100, 100, 100, 100)

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig4_series as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
