"""Analyses on any checkpoint: what a trained network allocates to each subtask, and the
scaling laws and emergence that follow.

Names load on first use (``interp.allocate`` imports the allocation module then), so
``import interp`` stays light: TransformerLens, scipy, scikit-learn, networkx and matplotlib
are imported by the analyses that need them.

>>> import interp
>>> interp.allocate.__module__
'interp.allocation'
"""
from models.lazy import lazy_names

_NAMES = {
    # -- neuron accounting --
    ".allocation": ["Allocation", "SCORERS", "agreement", "allocate"],   # SCORERS through allocation: census registered
    ".scorers": ["register_scorer"],
    ".neurons": ["LiveNeurons", "Redundancy", "live_neurons", "redundancy"],
    ".clustering": ["Clusters", "cluster_neurons"],
    ".ensembling": ["Ensembling", "ensembling_from_outputs", "ensembling_test", "pair_symmetric"],
    ".intermediates": ["IntermediateCorrelation", "LinearProbe", "correlations", "linear_probe", "probe_intermediate",
                      "skill_strengths"],
    ".lm": ["boot_native", "load_hf", "load_smollm2", "wrap_hf"],
    # -- scaling fits and the two theories (numpy and scipy only) --
    ".theory.fits": ["PowerLawFit", "fit_power_law"],
    ".theory.resource": ["GrowthTest", "OptimalAllocation", "ParamsScaling", "chinchilla_conversion",
                         "composite_loss", "exponent_from_ratio", "homogeneous_growth", "optimal_allocation"],
    ".theory.multilinear": ["Multilinear", "skill_frequencies"],
    ".theory.calibration": ["Calibration", "calibrate", "calibrate_history", "calibrated_strength",
                            "calibration_offset", "emergence_law", "emergence_step", "emergence_times"],
    # -- experiments: runs as data, trained in this process or on Dask workers --
    ".experiments.alpha_sweep": ["SweepResult", "alpha_grid", "sweep_alpha"],
    ".experiments.runs": ["Run", "Sweep"],
    ".experiments.execution": ["execute"],
}
_SUBMODULES = ["allocation", "scorers", "uncertainty", "evaluation", "neurons", "clustering", "ensembling",
               "intermediates", "lm", "report", "theory", "experiments", "figures", "cli"]
_WHERE = {name: module for module, names in _NAMES.items() for name in names}

__all__ = sorted(_WHERE) + _SUBMODULES


__getattr__, __dir__ = lazy_names(__name__, _WHERE, _SUBMODULES)
