"""Resource model §4: from N⁻¹ to N_p^(-1/3) vs Chinchilla's 0.34.

    python examples/chinchilla.py                     # quick recipe, CPU
    python examples/chinchilla.py --full --device cuda   # full recipe
    python examples/chinchilla.py --out DIR           # default: runs/chinchilla

Writes ``chinchilla.png`` and ``chinchilla.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/chinchilla.py``;
``interp reproduce chinchilla`` runs the same code.

Its recipe (quick and full are the same):

    depth_exponents=31 values from 0.0 to 1.5

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import chinchilla as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
