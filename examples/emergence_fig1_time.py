"""Emergence Fig. 1 (time): calibrate on skill 1, predict skills 2..5.

    python examples/emergence_fig1_time.py                        # quick recipe, on the CPU
    python examples/emergence_fig1_time.py --full --device cuda   # the papers' settings

Writes ``emergence_fig1_time.png`` and ``emergence_fig1_time.json`` into ``--out`` (default ``runs/emergence_fig1_time``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/emergence_fig1_time.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import emergence_fig1_time as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
