"""Emergence Fig. 3: loss vs compute, envelope C^(-α/(α+2)).

    python examples/emergence_fig3_compute.py                        # quick recipe, on the CPU
    python examples/emergence_fig3_compute.py --full --device cuda   # the papers' settings

Writes ``emergence_fig3_compute.png`` and ``emergence_fig3_compute.json`` into ``--out`` (default ``runs/emergence_fig3_compute``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/emergence_fig3_compute.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig3_compute as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
