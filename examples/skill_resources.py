"""Beyond the papers: neurons per skill in sparse-parity MLPs.

    python examples/skill_resources.py                     # quick recipe, CPU
    python examples/skill_resources.py --full --device cuda   # full recipe
    python examples/skill_resources.py --out DIR           # default: runs/skill_resources

Writes ``skill_resources.png`` and ``skill_resources.json`` (every number, and the paper's claims beside
ours) into the output folder, and prints the claims. What the figure trains, measures and
draws, and what the quick recipe trades away, is told in ``interp/figures/skill_resources.py``;
``interp reproduce skill_resources`` runs the same code.

The quick recipe (a 2-core CPU):

    widths=(16, 32, 64, 128), seeds=(0, 1, 2), steps=10000, lr=0.01, batch=1000

The full recipe (the papers' settings; a GPU job):

    widths=(16, 32, 64, 128, 256, 512), seeds=(0, 1, 2, 3, 4, 5, 6, 7), steps=30000,
    lr=0.003, batch=4000

Another recipe is one line away, e.g. ``dataclasses.replace(figure.QUICK, ...)`` passed
to ``figure.run(out_dir, recipe)``.
"""
from interp.figures import skill_resources as figure
from interp.figures._kit import main

if __name__ == "__main__":
    main(figure)
