"""The model zoo: tasks, toy MLPs and ensembles, the sparse-parity transformer, the shared
trainer and checkpoints.

Names load on first use, so ``import models`` stays light (the zoo's models pull in
TransformerLens for their hook points when first touched).

>>> import models
>>> task = models.tasks.Square()
>>> net = models.MLP(models.MLPConfig(d_in=1, widths=(16,), d_out=1))
>>> result = models.train(net, task, models.TrainConfig(alpha=8, steps=20, progress=False))
>>> sorted(result.history)
['loss', 'step', 'task_loss']
"""
from .lazy import lazy_names

__version__ = "0.1.0"

_WHERE = {
    "Checkpoint": ".checkpoint", "load": ".checkpoint", "save": ".checkpoint",
    "MLP": ".mlp", "Ensemble": ".mlp", "MLPConfig": ".mlp",
    "TokenTask": ".token_task", "DataTask": ".data_task", "SkillTokens": ".skill_tokens",
    "Task": ".tasks", "Batch": ".tasks", "register_task": ".tasks",
    "TrainConfig": ".config", "TrainingDiverged": ".config", "TrainResult": ".config", "train": ".trainer",
    "ParityTransformer": ".transformer", "ParityTransformerConfig": ".transformer",
}
_SUBMODULES = ["tasks", "checkpoint", "mlp", "token_task", "skill_tokens", "data_task", "transformer", "config",
               "objective", "steps", "trainer", "validate", "registry", "jsonable", "offline_text"]

__all__ = ["tasks", "Task", "Batch", "register_task", "TokenTask", "SkillTokens", "DataTask", "MLP", "Ensemble",
           "MLPConfig", "ParityTransformer", "ParityTransformerConfig",
           "TrainConfig", "TrainResult", "TrainingDiverged", "train", "save", "load", "Checkpoint", "__version__"]


__getattr__, __dir__ = lazy_names(__name__, _WHERE, _SUBMODULES)
