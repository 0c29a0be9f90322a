"""Experiments as data: runs and sweeps trained in this process or on Dask workers
(``runs``, ``executors``), the α sweep of one model (``alpha_sweep``), the papers' figures
reproduced (``reproduce``) and their budget ladders (``ladder``).

>>> from interp.experiments import Run, Sweep
>>> Sweep.__module__
'interp.experiments.runs'
"""
from .alpha_sweep import SweepResult, alpha_grid, sweep_alpha
from .runs import Run, Sweep, execute

__all__ = ["Run", "Sweep", "execute", "SweepResult", "alpha_grid", "sweep_alpha"]
