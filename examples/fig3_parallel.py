"""Resource model Fig. 3: two x² in parallel, N1/N2 and MSE ratios vs α and β.

    python examples/fig3_parallel.py                        # quick recipe, on the CPU
    python examples/fig3_parallel.py --full --device cuda   # the papers' settings

Writes ``fig3_parallel.png`` and ``fig3_parallel.json`` into ``--out`` (default ``runs/fig3_parallel``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/fig3_parallel.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig3_parallel as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
