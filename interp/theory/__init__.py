"""The theory, in numpy and scipy only (importing it loads no torch): power-law fits with
bootstrap intervals and the loss-floor rule that keeps floor points out of them, the resource
model of neural scaling (optimal allocation, composite loss, the Chinchilla conversion) and the
multilinear model of emergence with its calibrate-then-predict test against networks.

>>> from interp.theory import Multilinear, emergence_law
>>> round(emergence_law(Multilinear(alpha=0.9, n_skills=6).emergence_time(range(1, 7)), n_boot=50).exponent, 6)
1.9
"""
from .calibration import (PAPER_THRESHOLDS, Calibration, EmergenceTimes, calibrate, calibrate_history,
                          calibrated_strength, calibration_offset, emergence_law, emergence_step, emergence_times)
from .fits import PowerLawFit, fit_power_law
from .floor import FloorTest, loss_floor
from .multilinear import (RESOURCES, ComputeFrontier, Multilinear, ScalingCheck, ScalingLaw, skill_frequencies,
                          zipf_normalizer)
from .resource import (CHINCHILLA_EXPONENT, GrowthTest, OptimalAllocation, ParamsScaling, chinchilla_conversion,
                       composite_loss, exponent_from_ratio, homogeneous_growth, optimal_allocation)

__all__ = ["PowerLawFit", "fit_power_law", "FloorTest", "loss_floor",
           "CHINCHILLA_EXPONENT", "GrowthTest", "OptimalAllocation", "ParamsScaling", "chinchilla_conversion",
           "composite_loss", "exponent_from_ratio", "homogeneous_growth", "optimal_allocation",
           "skill_frequencies", "zipf_normalizer", "Multilinear", "ScalingLaw", "ScalingCheck", "ComputeFrontier",
           "RESOURCES", "calibration_offset", "calibrated_strength", "Calibration", "calibrate", "calibrate_history",
           "emergence_step", "emergence_times", "EmergenceTimes", "PAPER_THRESHOLDS", "emergence_law"]
