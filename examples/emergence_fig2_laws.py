"""Emergence Fig. 2: multilinear model scaling laws vs theory.

    python examples/emergence_fig2_laws.py                        # quick recipe, on the CPU
    python examples/emergence_fig2_laws.py --full --device cuda   # the papers' settings

Writes ``emergence_fig2_laws.png`` and ``emergence_fig2_laws.json`` into ``--out`` (default ``runs/emergence_fig2_laws``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/emergence_fig2_laws.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig2_laws as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
