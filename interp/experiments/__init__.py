"""Experiments as data: runs and sweeps trained in this process or on Dask workers
(``runs``: what to train, ``storage``: where results live, ``execution`` and ``executors``:
the training), and the α sweep of one model (``alpha_sweep``). The papers' figures
build on them (``interp.figures``).

>>> from interp.experiments import Run, Sweep
>>> Sweep.__module__
'interp.experiments.runs'
"""
from .alpha_sweep import SweepResult, alpha_grid, sweep_alpha
from .execution import execute
from .runs import Run, Sweep

__all__ = ["Run", "Sweep", "execute", "SweepResult", "alpha_grid", "sweep_alpha"]
