"""Resource model Fig. 2: x², live neurons vs α, (w, b) scatter, loss vs N.

    python examples/fig2_square.py                        # quick recipe, on the CPU
    python examples/fig2_square.py --full --device cuda   # the papers' settings

Writes ``fig2_square.png`` and ``fig2_square.json`` into ``--out`` (default ``runs/fig2_square``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/fig2_square.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig2_square as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
