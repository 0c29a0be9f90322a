"""Resource model Fig. 6: error correlations of symmetric regressors.

    python examples/fig6_ensembling.py                        # quick recipe, on the CPU
    python examples/fig6_ensembling.py --full --device cuda   # the papers' settings

Writes ``fig6_ensembling.png`` and ``fig6_ensembling.json`` into ``--out`` (default ``runs/fig6_ensembling``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/fig6_ensembling.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig6_ensembling as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
