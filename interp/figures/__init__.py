"""The papers' figures, one module each (plus a study beyond the papers).

A figure module has ``NAME``; a frozen dataclass ``Recipe`` with two instances, ``QUICK``
(a 2-core CPU) and ``FULL`` (the papers' settings); ``sweeps(recipe)``, the training runs it
needs (a list of ``interp.experiments.runs.Sweep``, empty when it computes without training); and
``run(out_dir, recipe=QUICK, device="cpu")``, which reads those runs (training any that are
missing), draws ``<NAME>.png``, writes ``<NAME>.json`` and returns a dict whose ``claims``
are rows ``{"claim", "paper", "ours", "interval", "agree", "note"}``.

``interp reproduce`` trains the sweeps of every asked figure first, through one executor
(runs two figures share are trained once), then draws; ``examples/<name>.py`` runs one.

``FIGURES`` registers every figure (name -> ``Figure``: its module and title, in the report's
order); ``load(name)`` imports one; ``main`` is the entry point of ``examples/<name>.py``;
``reproduce`` runs figures into one report and ``ladder`` runs one along its budget ladder.
Beside the figures: ``recipes`` (α sweeps and ladders declared), ``claims`` (rows of the claims
table), ``drawing`` (a figure's page).

>>> from interp import figures
>>> figures.load("fig2_square").QUICK.width
100
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from models.registry import Registry

from .script import main


@dataclass(frozen=True)
class Figure:
    """A registered figure: ``module`` is the dotted name of its module."""

    name: str
    module: str
    title: str

    def load(self) -> ModuleType:
        """Import the figure's module and check it has what the runner calls."""
        module = importlib.import_module(self.module)
        for attr in ("QUICK", "FULL", "run"):
            if not hasattr(module, attr):
                raise AttributeError(f"figure {self.name!r}: module {self.module} has no {attr}")
        return module


_TITLES = {
    "fig2_square": "Resource model Fig. 2: x², live neurons vs α, (w, b) scatter, loss vs N",
    "fig3_parallel": "Resource model Fig. 3: two x² in parallel, N1/N2 and MSE ratios vs α and β",
    "fig4_series": "Resource model Fig. 4: series task, g in layer 3, loss vs N",
    "fig5_functions": "Resource model Fig. 5: many 1-D functions, loss vs N",
    "fig6_ensembling": "Resource model Fig. 6: error correlations of symmetric regressors",
    "fig7_redundancy": "Resource model Fig. 7: neuron redundancy vs α (series task)",
    "fig8_layers": "Resource model Fig. 8: live neurons per layer vs α (series task)",
    "appC_allocation": "Resource model App. C: optimal allocation n1/n2 = sqrt(a/b)",
    "chinchilla": "Resource model §4: from N⁻¹ to N_p^(-1/3) vs Chinchilla's 0.34",
    "emergence_fig1_time": "Emergence Fig. 1 (time): calibrate on skill 1, predict skills 2..5",
    "emergence_fig1_data": "Emergence Fig. 1 (data): R_k vs data-set size D",
    "emergence_fig1_params": "Emergence Fig. 1 (parameters): R_k vs width N",
    "emergence_fig2_laws": "Emergence Fig. 2: multilinear model scaling laws vs theory",
    "emergence_fig3_compute": "Emergence Fig. 3: loss vs compute, envelope C^(-α/(α+2))",
    "emergence_fig4_transformer": "Emergence Fig. 4: transformer emergence times τ_k ∝ k^(α+1)",
    "skill_resources": "Beyond the papers: neurons per skill in sparse-parity MLPs",
    "lm_resources": "Beyond the papers: the resource model on SmolLM2-135M (30 × 1536 MLP neurons)",
    "lm_family": "Beyond the papers: the resource model across a width family of transformers trained from scratch",
}
FIGURES = Registry("figure")
"""Every figure, in the report's order: name -> ``Figure``."""
for _name, _title in _TITLES.items():
    FIGURES.add(_name, Figure(_name, f"{__name__}.{_name}", _title), reserve=True)


def load(name: str) -> ModuleType:
    """The figure module ``interp.figures.<name>``."""
    return FIGURES.lookup(name).load()
