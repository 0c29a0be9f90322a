"""Emergence Fig. 3: loss vs compute, envelope C^(-α/(α+2)).

    python examples/emergence_fig3_compute.py                     # quick recipe, CPU
    python examples/emergence_fig3_compute.py --full --device cuda   # full recipe
    python examples/emergence_fig3_compute.py --out DIR           # default: runs/emergence_fig3_compute

Writes ``emergence_fig3_compute.png`` and ``emergence_fig3_compute.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/emergence_fig3_compute.py``;
``interp reproduce emergence_fig3_compute`` runs the same code.

The quick recipe (a 2-core CPU):

    alphas=[0.3, 0.6, 0.9], n_widths=25, n_compute=40, n_skills=100000

The full recipe (the papers' settings; a GPU job):

    alphas=[0.3, 0.6, 0.9], n_widths=97, n_compute=120, n_skills=100000

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig3_compute as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
