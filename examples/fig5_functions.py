"""Resource model Fig. 5: many 1-D functions, loss vs N.

    python examples/fig5_functions.py                        # quick recipe, on the CPU
    python examples/fig5_functions.py --full --device cuda   # the papers' settings

Writes ``fig5_functions.png`` and ``fig5_functions.json`` into ``--out`` (default ``runs/fig5_functions``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/fig5_functions.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig5_functions as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
