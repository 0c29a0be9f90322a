"""Resource model Fig. 3: two x² in parallel, N1/N2 and MSE ratios vs α and β.

    python examples/fig3_parallel.py                     # quick recipe, CPU
    python examples/fig3_parallel.py --full --device cuda   # full recipe
    python examples/fig3_parallel.py --out DIR           # default: runs/fig3_parallel

Writes ``fig3_parallel.png`` and ``fig3_parallel.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/fig3_parallel.py``;
``interp reproduce fig3_parallel`` runs the same code.

The quick recipe (a 2-core CPU):

    alphas=(16.0, 64.0, 256.0), seeds=(0, 1, 2), steps=20000, decay_every=4000,
    width=100, betas=(0.5, 0.75, 0.9, 0.95)

The full recipe (the papers' settings; a GPU job):

    alphas=(1.0, 4.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0), seeds=16 values from 0 to
    15, steps=100000, decay_every=20000, width=1000, betas=(0.5, 0.75, 0.85, 0.9, 0.95)

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig3_parallel as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
