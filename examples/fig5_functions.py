"""Resource model Fig. 5: many 1-D functions, loss vs N.

    python examples/fig5_functions.py                     # quick recipe, CPU
    python examples/fig5_functions.py --full --device cuda   # full recipe
    python examples/fig5_functions.py --out DIR           # default: runs/fig5_functions

Writes ``fig5_functions.png`` and ``fig5_functions.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/fig5_functions.py``;
``interp reproduce fig5_functions`` runs the same code.

The quick recipe (a 2-core CPU):

    alphas=(4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0), seeds=(0, 1), steps=15000,
    decay_every=3000, functions=('x^2', '|x|', 'exp', 'gauss', 'sin^2'), nets=((60,),
    (20, 20), (15, 15, 15))

The full recipe (the papers' settings; a GPU job):

    alphas=12 values from 1.0 to 2048.0, seeds=(0, 1, 2, 3), steps=100000,
    decay_every=20000, functions=10 values from cos to |x|, nets=((1000,), (200, 200),
    (150, 150, 150))

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig5_functions as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
