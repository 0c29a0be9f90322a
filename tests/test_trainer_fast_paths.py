"""The trainer's fast paths: data drawn in blocks of steps, divergence checked every few
steps, and the compiled step (few tests, smallest sizes: each compiles for some seconds)."""
import importlib

import numpy as np
import pytest
import torch

import models
from models.tasks import Parallel, Square
from settings import TINY

trainer = importlib.import_module("models.trainer")  # the module of models.train


def _equal(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def _cut_and_resume(monkeypatch, make, task, cfg, folder, at: int):
    """(an uninterrupted run, a run into ``folder`` interrupted when it asks for step ``at``'s
    batch and then resumed), each on a fresh ``make()``."""
    straight = models.train(make(), task, cfg)
    real = trainer._Data.batch

    def cut(self, step):
        if step == at:
            raise KeyboardInterrupt("power cut")
        return real(self, step)

    monkeypatch.setattr(trainer._Data, "batch", cut)
    with pytest.raises(KeyboardInterrupt):
        models.train(make(), task, cfg, checkpoint=folder)
    monkeypatch.setattr(trainer._Data, "batch", real)
    return straight, models.train(make(), task, cfg, checkpoint=folder)


@pytest.mark.parametrize("dataset_size", [None, 40])
def test_ensemble_streams_equal_solo_streams_across_blocks(monkeypatch, dataset_size):
    monkeypatch.setattr(trainer, "MAX_BLOCK_STEPS", 7)
    cfg = models.TrainConfig(batch_size=16, dataset_size=dataset_size, seed=2)
    ens, solo = trainer._Data(Parallel(0.5), cfg, [4, 8, 9]), trainer._Data(Parallel(0.5), cfg, [8])
    assert ens.block == 7
    seen = set()
    for step in range(30):
        b, s = ens.batch(step), solo.batch(step)
        assert b.x.shape == (3, 16, 2) and s.x.shape == (16, 2)
        assert torch.equal(b.x[1], s.x) and torch.equal(b.y[1], s.y)
        seen.add(tuple(b.x[0].flatten().tolist()))
    assert len(seen) == 30  # every step a new batch, block boundaries included


@pytest.mark.parametrize("dataset_size", [None, 40])
def test_resume_mid_block_is_bitwise(tmp_path, monkeypatch, dataset_size):
    monkeypatch.setattr(trainer, "MAX_BLOCK_STEPS", 7)  # saves at 20 and 40 fall inside blocks
    make = lambda: models.Ensemble(models.MLPConfig(d_in=2, widths=(8,), d_out=2), seeds=(0, 1))
    cfg = models.TrainConfig(alpha=(1.0, 4.0), checkpoint_every=20, dataset_size=dataset_size, check_every=6,
                             **TINY)
    straight, resumed = _cut_and_resume(monkeypatch, make, Parallel(0.7), cfg, tmp_path / "run", at=47)
    _equal(resumed.model, straight.model)
    for k in straight.history:
        np.testing.assert_array_equal(resumed.history[k], straight.history[k])


def _poison_at(monkeypatch, net, step, member=None):
    """Set one weight of ``net`` (of ensemble ``member``) to NaN just before ``step`` runs."""
    real = trainer._Data.batch

    def batch(self, s):
        if s == step:
            with torch.no_grad():
                w = next(iter(net.parameters()))
                (w[member] if member is not None else w).view(-1)[0] = float("nan")
        return real(self, s)

    monkeypatch.setattr(trainer._Data, "batch", batch)


def test_member_diverging_mid_run_rolls_back_to_last_check(monkeypatch):
    cfg_net = models.MLPConfig(d_in=1, widths=(8,), d_out=1)
    cfg = models.TrainConfig(alpha=(2.0, 3.0, 4.0), check_every=10, **dict(TINY, eval_points=2))
    clean = models.train(models.Ensemble(cfg_net, seeds=(0, 1, 2)), Square(), cfg)
    at50 = models.train(models.Ensemble(cfg_net, seeds=(0, 1, 2)), Square(),
                        models.TrainConfig(alpha=(2.0, 3.0, 4.0), **dict(TINY, steps=50)))
    net = models.Ensemble(cfg_net, seeds=(0, 1, 2))
    _poison_at(monkeypatch, net, 57, member=1)
    res = models.train(net, Square(), cfg)
    assert list(res.failed) == [1] and "nan at step 57" in res.failed[1]
    _equal(res.model.member(1), at50.model.member(1))  # the state of the last check, frozen
    for i in (0, 2):  # the others never noticed
        for a, b in zip(res.model.member(i).parameters(), clean.model.member(i).parameters()):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_single_model_diverging_mid_run_raises_rolled_back(monkeypatch, tmp_path):
    net = models.MLP(models.MLPConfig(d_in=1, widths=(8,), d_out=1))
    cfg = models.TrainConfig(check_every=10, **TINY)
    at50 = models.train(models.MLP(models.MLPConfig(d_in=1, widths=(8,), d_out=1)), Square(),
                        models.TrainConfig(**dict(TINY, steps=50)))
    _poison_at(monkeypatch, net, 53)
    with pytest.raises(models.TrainingDiverged, match="diverged at step 53") as err:
        models.train(net, Square(), cfg, checkpoint=tmp_path / "run")
    assert err.value.result.history["step"][-1] <= 50
    _equal(net, at50.model)
    assert models.load(tmp_path / "run").history["step"][-1] <= 50


@pytest.mark.slow
def test_compiled_step_matches_eager_and_solo(monkeypatch):
    """Adam with weight decay, two hidden layers (the small-fan and the matrix-product layers), members run one
    per compiled call (forced here; wide ensembles do so on the CPU)."""
    monkeypatch.setattr(models.steps, "CHUNK_ELEMENTS", 64 * 16)
    cfg_net = models.MLPConfig(d_in=2, widths=(16, 8), d_out=2)
    seeds, alphas = (3, 5), (2.0, 32.0)
    kw = dict(TINY, lr_decay_every=30, weight_decay=1e-3)  # Adam with weight decay, as torch does it
    task = Parallel(0.75)
    on = models.train(models.Ensemble(cfg_net, seeds), task, models.TrainConfig(alpha=alphas, compile="on", **kw))
    off = models.train(models.Ensemble(cfg_net, seeds), task, models.TrainConfig(alpha=alphas, compile="off", **kw))
    assert on.compiled and 0 < on.warmup_s <= on.train_s
    assert not off.compiled and off.warmup_s == 0
    for a, b in zip(on.model.parameters(), off.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(on.history["loss"], off.history["loss"], rtol=1e-3, atol=1e-7)
    solo = models.train(models.MLP(models.MLPConfig(d_in=2, widths=(16, 8), d_out=2, seed=seeds[1])), task,
                        models.TrainConfig(alpha=alphas[1], compile="on", **kw))
    for a, b in zip(on.model.member(1).parameters(), solo.model.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_compiled_resume_is_bitwise(tmp_path, monkeypatch):
    """SGD with momentum and weight decay: the compiled step's state is the optimizer's own."""
    make = lambda: models.Ensemble(models.MLPConfig(d_in=1, widths=(8,), d_out=1), seeds=(0, 1))
    cfg = models.TrainConfig(alpha=(1.0, 3.0), optimizer="sgd", lr=0.01, momentum=0.9, weight_decay=1e-3,
                             checkpoint_every=20, compile="on", **TINY)
    straight, resumed = _cut_and_resume(monkeypatch, make, Square(), cfg, tmp_path / "run", at=33)
    _equal(resumed.model, straight.model)


def test_compile_switch_is_validated():
    with pytest.raises(ValueError, match="compile='yes'"):
        models.TrainConfig(compile="yes")
    with pytest.raises(ValueError, match="check_every"):
        models.TrainConfig(check_every=0)
    task = models.tasks.SparseParity(n_skills=2, n_bits=6, bits_per_skill=1)
    net = models.ParityTransformer(models.ParityTransformerConfig(n_ctx=task.d_in, d_model=8, n_heads=2))
    with pytest.raises(ValueError, match="compile='on'.*ParityTransformer"):
        models.train(net, task, models.TrainConfig(compile="on", **TINY))
    # auto: eager for short runs, compiled for long ones, never for other models
    from models.trainer import use_compiled
    ens = models.Ensemble(models.MLPConfig(d_in=1, widths=(100,), d_out=1), seeds=tuple(range(21)))
    assert not use_compiled(ens, models.TrainConfig(steps=1000))
    assert use_compiled(ens, models.TrainConfig(steps=100_000))
    assert not use_compiled(ens, models.TrainConfig(steps=100_000, compile="off"))
    assert not use_compiled(net, models.TrainConfig(steps=10**9))


def test_auto_falls_back_to_eager_when_compiling_fails(monkeypatch):
    def broken(name):
        def fn(*args):
            raise RuntimeError("no C++ compiler")
        return fn

    monkeypatch.setattr(models.steps, "_compiled", broken)
    monkeypatch.setattr(trainer, "AUTO_COMPILE_WORK", 0)  # auto compiles even this small run
    make = lambda: models.Ensemble(models.MLPConfig(d_in=1, widths=(8,), d_out=1), seeds=(0, 1))
    cfg = models.TrainConfig(alpha=(1.0, 3.0), **TINY)
    off = models.train(make(), Square(), models.TrainConfig(alpha=(1.0, 3.0), compile="off", **TINY))
    with pytest.warns(RuntimeWarning, match="compiled training step failed .*no C.. compiler"):
        res = models.train(make(), Square(), cfg)
    assert not res.compiled
    _equal(res.model, off.model)  # the same run as eager from the start
    with pytest.raises(RuntimeError, match="no C"):  # "on" means on
        models.train(make(), Square(), models.TrainConfig(alpha=(1.0, 3.0), compile="on", **TINY))


def test_compiler_checks_start_once_and_compile_on_one_thread():
    """The check of the vector ISA the compiler picks starts in a background thread once per
    process, that ISA is the one the compiler then picks (checked: it builds), and the first CPU
    compilation runs with one compile thread, torch's setting restored after."""
    import threading
    from torch._inductor import config as inductor
    models.steps.start_compiler_checks()
    for t in [t for t in threading.enumerate() if t.name.startswith("check ")]:
        t.join()
    models.steps.start_compiler_checks()  # a second call starts nothing
    assert not [t for t in threading.enumerate() if t.name.startswith("check ")]
    plan = models.steps._isa_plan()
    if plan is not None:  # an x86 CPU: the pick is the ISA checked, and it builds
        isa, listed, target = plan
        assert isa.pick_vec_isa() is target and bool(target)
        assert isa.valid_vec_isa_list()[0] is listed[0]
    before = inductor.compile_threads
    with models.steps._one_compiler_thread(torch.device("cpu")):
        assert inductor.compile_threads == 1
    assert inductor.compile_threads == before
