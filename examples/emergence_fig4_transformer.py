"""Emergence Fig. 4: transformer emergence times τ_k ∝ k^(α+1).

    python examples/emergence_fig4_transformer.py                     # quick recipe, CPU
    python examples/emergence_fig4_transformer.py --full --device cuda   # full recipe
    python examples/emergence_fig4_transformer.py --out DIR           # default: runs/emergence_fig4_transformer

Writes ``emergence_fig4_transformer.png`` and ``emergence_fig4_transformer.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/emergence_fig4_transformer.py``;
``interp reproduce emergence_fig4_transformer`` runs the same code.

The quick recipe (a 2-core CPU):

    d_model=48, n_bits=15, steps=6000, lr=0.0015, batch=512, seed=0, eval_points=60

The full recipe (the papers' settings; a GPU job):

    d_model=512, n_bits=32, steps=50000, lr=0.001, batch=2048, seed=0, eval_points=200

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig4_transformer as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
