"""Resource model Fig. 7: neuron redundancy vs α (series task).

    python examples/fig7_redundancy.py                        # quick recipe, on the CPU
    python examples/fig7_redundancy.py --full --device cuda   # the papers' settings

Writes ``fig7_redundancy.png`` and ``fig7_redundancy.json`` into ``--out`` (default ``runs/fig7_redundancy``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/fig7_redundancy.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig7_redundancy as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
