"""The tests' training settings, in one place (a plain module, since some tests build their
configs at import time).

``TINY`` is the tiny run the trainer, checkpoint, run and sweep tests start from: a few dozen
steps of small batches, no progress bar. A test changes only what it depends on, visibly at its
call: ``tiny_train(steps=200, eval_points=4)``. ``ONE_STEP`` is the smallest run there is, for
the refusal tests, where nothing should train at all."""
import models

TINY = dict(steps=60, batch_size=64, eval_size=128, eval_points=5, progress=False)
ONE_STEP = dict(steps=1, batch_size=8, eval_size=8, eval_points=1, progress=False)


def tiny_train(**changes) -> models.TrainConfig:
    """``TrainConfig`` of the tiny run with ``changes`` applied (any field, ``steps`` included)."""
    return models.TrainConfig(**{**TINY, **changes})
