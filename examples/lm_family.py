"""Beyond the papers: the resource model across a width family of transformers trained from
scratch on a corpus of known skills.

    python examples/lm_family.py                        # quick recipe, on the CPU
    python examples/lm_family.py --full --device cuda   # the FULL recipe

Writes ``lm_family.png`` and ``lm_family.json`` into ``--out`` (default ``runs/lm_family``) and
prints the claims beside the hypotheses they test. The figure, its recipes ``QUICK`` and
``FULL`` live in ``interp/figures/lm_family.py``; to change a knob, pass
``dataclasses.replace(figure.QUICK, ...)`` to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import lm_family as figure
from interp.figures import main

if __name__ == "__main__":
    main(figure)
