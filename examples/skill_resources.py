"""Beyond the papers: neurons per skill in sparse-parity MLPs.

    python examples/skill_resources.py                        # quick recipe, on the CPU
    python examples/skill_resources.py --full --device cuda   # the papers' settings

Writes ``skill_resources.png`` and ``skill_resources.json`` into ``--out`` (default ``runs/skill_resources``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/skill_resources.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import skill_resources as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
