"""The model zoo: tasks, toy MLPs and ensembles, the sparse-parity transformer, the shared
trainer and checkpoints.

>>> import models
>>> task = models.tasks.Square()
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(16,), d_out=1))
>>> result = models.train(net, task, models.TrainConfig(alpha=8, steps=20, progress=False))
>>> sorted(result.history)
['loss', 'step', 'task_loss']
"""
__version__ = "0.1.0"

from . import tasks
from .checkpoint import Checkpoint, load, save
from .mlp import MLP, Ensemble, MLPConfig
from .token_task import TokenTask
from .train import TrainConfig, TrainingDiverged, TrainResult, train
from .transformer import ParityTransformer, ParityTransformerConfig

__all__ = ["tasks", "TokenTask", "MLP", "Ensemble", "MLPConfig", "ParityTransformer", "ParityTransformerConfig",
           "TrainConfig", "TrainResult", "TrainingDiverged", "train", "save", "load", "Checkpoint", "__version__"]
