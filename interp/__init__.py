"""Analyses on any checkpoint: what a trained network allocates to each subtask, and the
scaling laws and emergence that follow.

>>> import interp
"""

# -- neuron accounting --
from .allocation import Allocation, agreement, allocate
from . import scorers
from .scorers import SCORERS, register_scorer
from .neurons import Redundancy, live_neurons, redundancy
from .clustering import Clusters, cluster_neurons
from .ensembling import Ensembling, ensembling_from_outputs, ensembling_test, pair_symmetric
from .probing import (IntermediateCorrelation, LinearProbe, correlations, linear_probe, probe_intermediate,
                      skill_strengths)
from . import bridge
from .bridge import boot_native, load_hf, wrap_hf

# -- scaling fits and the two theories --
from . import emergence, fits, scaling
from .fits import PowerLawFit, fit_power_law
from .scaling import (GrowthTest, OptimalAllocation, ParamsScaling, chinchilla_conversion, composite_loss,
                      exponent_from_ratio, homogeneous_growth, optimal_allocation)
from .sweep import SweepResult, sweep_alpha
from .emergence import (Calibration, Multilinear, calibrate, calibrate_history, calibrated_strength,
                        calibration_offset, emergence_law, emergence_step, skill_frequencies)
