"""Emergence Fig. 2: multilinear model scaling laws vs theory.

    python examples/emergence_fig2_laws.py                     # quick recipe, CPU
    python examples/emergence_fig2_laws.py --full --device cuda   # full recipe
    python examples/emergence_fig2_laws.py --out DIR           # default: runs/emergence_fig2_laws

Writes ``emergence_fig2_laws.png`` and ``emergence_fig2_laws.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/emergence_fig2_laws.py``;
``interp reproduce emergence_fig2_laws`` runs the same code.

The quick recipe (a 2-core CPU):

    alphas=[0.3, 0.6, 0.9], skill_range=(30, 3000), n_points=15, n_skills=100000

The full recipe (the papers' settings; a GPU job):

    alphas=[0.3, 0.6, 0.9], skill_range=(100, 10000), n_points=30, n_skills=100000

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig2_laws as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
