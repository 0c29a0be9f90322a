"""Resource model App. C: optimal allocation n1/n2 = sqrt(a/b).

    python examples/appC_allocation.py                        # quick recipe, on the CPU
    python examples/appC_allocation.py --full --device cuda   # the papers' settings

Writes ``appC_allocation.png`` and ``appC_allocation.json`` into ``--out`` (default ``runs/appC_allocation``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/appC_allocation.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import appC_allocation as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
