"""On a machine with CUDA: the trainer's compiled step and ``allocate`` run there and agree
with the CPU (skipped without a GPU)."""
import pytest
import torch

import interp
import models

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_the_compiled_step_on_cuda_matches_the_cpu():
    cfg = models.MLPConfig(d_in=2, widths=(32,), d_out=2)
    train = models.TrainConfig(alpha=(4.0, 64.0), steps=200, batch_size=128, eval_points=3, progress=False,
                               compile="on")
    task = models.tasks.Parallel(0.75)
    cpu = models.train(models.Ensemble(cfg, seeds=(0, 1)), task, train)
    gpu = models.train(models.Ensemble(cfg, seeds=(0, 1)).cuda(), task, train)
    assert gpu.compiled and next(gpu.model.parameters()).is_cuda
    for a, b in zip(cpu.model.parameters(), gpu.model.parameters()):
        torch.testing.assert_close(a, b.cpu(), rtol=1e-3, atol=1e-4)


def test_allocate_on_cuda_matches_the_cpu():
    task = models.tasks.Parallel(0.75)
    net = models.train(models.MLP(models.MLPConfig(d_in=2, widths=(24,), d_out=2)), task,
                       models.TrainConfig(alpha=64, steps=300, progress=False)).model
    on_cpu = interp.allocate(net, task, method="ablation", progress=False)
    on_gpu = interp.allocate(net.cuda(), task, method="ablation", progress=False)
    assert on_gpu.counts() == on_cpu.counts()
    torch.testing.assert_close(torch.tensor(on_gpu.scores["hidden.0"]), torch.tensor(on_cpu.scores["hidden.0"]),
                               rtol=1e-3, atol=1e-5)


def test_a_language_model_bridge_asked_for_cuda_runs_there():
    from tiny_lms import tiny_gpt2
    from interp.lm import wrap_hf

    bridge = wrap_hf(tiny_gpt2(), device="cuda")
    assert all(p.is_cuda for p in bridge.parameters())


def test_a_transformer_family_member_is_counted_on_cuda_as_on_the_cpu():
    from interp.figures import lm_family

    r = lm_family.Recipe(d_model=(16,) * 3, d_mlp=(8, 16, 32), n_layers=1, seeds=(0, 1), steps=200, lr=3e-3,
                         batch=64, n_eval=8, tau=0.01, n_parity=2, n_bits=6)
    corpus = lm_family.corpus(r)
    net = models.train(models.ParityTransformer(lm_family.net(r, 1)), corpus, lm_family.train_config(r)).model
    held = corpus.held(r.n_eval, lm_family.EVAL_SEED)
    on_cpu = lm_family.measure(net.cpu(), held, corpus, r.tau)
    on_gpu = lm_family.measure(net.cuda(), held, corpus, r.tau)
    assert on_gpu["count"] == on_cpu["count"] and on_gpu["footprint"] == on_cpu["footprint"]
    assert torch.allclose(torch.as_tensor(on_gpu["loss"]), torch.as_tensor(on_cpu["loss"]), rtol=1e-4)
