"""Resource model App. C: optimal allocation n1/n2 = sqrt(a/b).

    python examples/appC_allocation.py                     # quick recipe, CPU
    python examples/appC_allocation.py --full --device cuda   # full recipe
    python examples/appC_allocation.py --out DIR           # default: runs/appC_allocation

Writes ``appC_allocation.png`` and ``appC_allocation.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/appC_allocation.py``;
``interp reproduce appC_allocation`` runs the same code.

Its recipe (quick and full are the same):

    betas=48 values from 0.5 to 0.97, totals=(10, 30, 100, 300, 1000)

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import appC_allocation as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
