"""Emergence Fig. 1 (data): R_k vs data-set size D.

    python examples/emergence_fig1_data.py                        # quick recipe, on the CPU
    python examples/emergence_fig1_data.py --full --device cuda   # the papers' settings

Writes ``emergence_fig1_data.png`` and ``emergence_fig1_data.json`` into ``--out`` (default ``runs/emergence_fig1_data``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/emergence_fig1_data.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig1_data as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
