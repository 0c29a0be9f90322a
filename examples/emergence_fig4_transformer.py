"""Emergence Fig. 4: transformer emergence times τ_k ∝ k^(α+1).

    python examples/emergence_fig4_transformer.py                        # quick recipe, on the CPU
    python examples/emergence_fig4_transformer.py --full --device cuda   # the papers' settings

Writes ``emergence_fig4_transformer.png`` and ``emergence_fig4_transformer.json`` into ``--out`` (default ``runs/emergence_fig4_transformer``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/emergence_fig4_transformer.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig4_transformer as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
