"""Resource model Fig. 8: live neurons per layer vs α (series task).

    python examples/fig8_layers.py                        # quick recipe, on the CPU
    python examples/fig8_layers.py --full --device cuda   # the papers' settings

Writes ``fig8_layers.png`` and ``fig8_layers.json`` into ``--out`` (default ``runs/fig8_layers``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/fig8_layers.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import fig8_layers as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
