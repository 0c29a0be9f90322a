"""Resource model Fig. 7: neuron redundancy vs α (series task).

    python examples/fig7_redundancy.py                     # quick recipe, CPU
    python examples/fig7_redundancy.py --full --device cuda   # full recipe
    python examples/fig7_redundancy.py --out DIR           # default: runs/fig7_redundancy

Writes ``fig7_redundancy.png`` and ``fig7_redundancy.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/fig7_redundancy.py``;
``interp reproduce fig7_redundancy`` runs the same code.

The quick recipe (a 2-core CPU):

    alphas=10 values from 20.0 to 10240.0, seeds=(0,), steps=20000, decay_every=4000,
    widths=(80, 80, 80, 80)

The full recipe (the papers' settings; a GPU job):

    alphas=10 values from 20.0 to 10240.0, seeds=(0, 1, 2, 3), steps=300000,
    decay_every=60000, widths=(100, 100, 100, 100)

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig7_redundancy as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
