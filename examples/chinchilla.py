"""Resource model §4: from N⁻¹ to N_p^(-1/3) vs Chinchilla's 0.34.

    python examples/chinchilla.py                        # quick recipe, on the CPU
    python examples/chinchilla.py --full --device cuda   # the papers' settings

Writes ``chinchilla.png`` and ``chinchilla.json`` into ``--out`` (default ``runs/chinchilla``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/chinchilla.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import chinchilla as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
