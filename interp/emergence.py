"""Emergence and scaling laws of the multitask sparse parity problem (SPEC B), in two parts:

- :mod:`interp.multilinear`: the exactly solvable multilinear model (closed-form dynamics,
  loss curves, the scaling laws and their computed prefactors);
- :mod:`interp.calibration`: calibrate-then-predict against neural networks, emergence steps
  and the τ_k ∝ k^b law.

This module gathers both under one name.

>>> from interp.emergence import Multilinear, emergence_law
>>> round(emergence_law(Multilinear(alpha=0.9, n_skills=6).emergence_time(range(1, 7)), n_boot=50).exponent, 6)
1.9
"""
from .calibration import (PAPER_THRESHOLDS, Calibration, EmergenceTimes, calibrate, calibrate_history,
                          calibrated_strength, calibration_offset, emergence_law, emergence_step, emergence_times)
from .multilinear import (RESOURCES, ComputeFrontier, Multilinear, ScalingCheck, ScalingLaw, skill_frequencies,
                          zipf_normalizer)

__all__ = ["skill_frequencies", "zipf_normalizer", "Multilinear", "ScalingLaw", "ScalingCheck", "ComputeFrontier",
           "calibration_offset", "calibrated_strength", "Calibration", "calibrate", "calibrate_history",
           "emergence_step", "emergence_times", "EmergenceTimes", "PAPER_THRESHOLDS", "emergence_law", "RESOURCES"]
