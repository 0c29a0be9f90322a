"""Beyond the papers: the resource model on SmolLM2-135M (30 × 1536 MLP neurons).

    python examples/lm_resources.py                        # quick recipe, on the CPU
    python examples/lm_resources.py --full --device cuda   # the papers' settings

Writes ``lm_resources.png`` and ``lm_resources.json`` into ``--out`` (default ``runs/lm_resources``) and
prints the claims beside the paper's. The figure, its recipes ``QUICK`` and ``FULL``, and what
the quick one trades away live in ``interp/figures/lm_resources.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import lm_resources as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
