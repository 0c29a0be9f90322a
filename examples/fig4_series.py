"""Resource model Fig. 4: series task, g in layer 3, loss vs N.

    python examples/fig4_series.py                        # quick recipe, on the CPU
    python examples/fig4_series.py --full --device cuda   # the papers' settings

Writes ``fig4_series.png`` and ``fig4_series.json`` into ``--out`` (default ``runs/fig4_series``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/fig4_series.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig4_series as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
