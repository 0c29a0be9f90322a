"""Resource model Fig. 2: x², live neurons vs α, (w, b) scatter, loss vs N.

    python examples/fig2_square.py                     # quick recipe, CPU
    python examples/fig2_square.py --full --device cuda   # full recipe
    python examples/fig2_square.py --out DIR           # default: runs/fig2_square

Writes ``fig2_square.png`` and ``fig2_square.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/fig2_square.py``;
``interp reproduce fig2_square`` runs the same code.

The quick recipe (a 2-core CPU):

    alphas=(1.0, 3.5, 9.0, 19.3, 45.0, 128.0, 256.0, 512.0), seeds=(0, 1, 2),
    steps=20000, decay_every=4000, width=100

The full recipe (the papers' settings; a GPU job):

    alphas=20 values from 1.0 to 128.0, seeds=16 values from 0 to 15, steps=100000,
    decay_every=20000, width=1000

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig2_square as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
