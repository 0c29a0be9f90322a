import numpy as np
import pytest
import torch

import interp
import probes
from interp.lm import boot_native, is_hf_folder, load_hf
from tiny_lms import low_high_task, manual_ablation, tiny_gpt2
from models.token_task import TokenTask

VOCAB = 40


def _task(n_seq=4, length=6, seed=0):
    return low_high_task(VOCAB, 20, n_seq=n_seq, length=length, seed=seed)


@pytest.fixture(scope="module")
def native():
    return boot_native(n_layers=2, d_model=32, n_heads=4, d_mlp=48, d_vocab=VOCAB, n_ctx=16, seed=0)


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpt2")
    tiny_gpt2(folder, n_layer=2, n_embd=32, n_head=4, vocab_size=VOCAB, n_positions=16, seed=1)
    return folder


def test_native_bridge_sites_and_capture_match_run_with_cache(native):
    sites = probes.neuron_sites(native)
    assert sites == {"blocks.0.mlp.hook_post": 48, "blocks.1.mlp.hook_post": 48}
    tokens = torch.randint(0, VOCAB, (5, 7), generator=torch.Generator().manual_seed(0))
    got = probes.capture(native, tokens, stats=("mean", "var"), batch_size=2)
    _, cache = native.run_with_cache(tokens)
    for site in sites:
        ref = cache[site].reshape(-1, 48).double()
        assert got[site].n == 35
        assert torch.allclose(got[site].mean, ref.mean(0), atol=1e-6)
        assert torch.allclose(got[site].var, ref.var(0, correction=0), atol=1e-6)


def test_hf_model_from_a_local_folder_without_network(hf_folder, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert is_hf_folder(hf_folder) and not is_hf_folder(hf_folder / "nowhere")
    bridge = load_hf(hf_folder)
    assert list(probes.neuron_sites(bridge)) == ["blocks.0.mlp.hook_post", "blocks.1.mlp.hook_post"]
    from transformers import GPT2LMHeadModel
    ref = GPT2LMHeadModel.from_pretrained(str(hf_folder), local_files_only=True).eval()
    tokens = torch.randint(0, VOCAB, (3, 8))
    with torch.no_grad():
        assert torch.allclose(bridge(tokens), ref(tokens).logits, atol=1e-5)
    acts = probes.capture(bridge, tokens, stats=("var",))
    assert acts["blocks.1.mlp.hook_post"].var.shape == (128,)


@pytest.mark.parametrize("which", ["native", "hf"])
def test_allocate_on_a_bridge_is_the_mean_ablation_effect(which, native, hf_folder):
    bridge = native if which == "native" else load_hf(hf_folder)
    task = _task()
    batch = task.eval_batch(100, torch.Generator().manual_seed(0))
    whole = interp.allocate(bridge, task, method="ablation", inputs=batch, batch_size=100)
    pieces = interp.allocate(bridge, task, method="ablation", inputs=batch, batch_size=3)
    assert whole.method == "ablation" and whole.subtasks == ("low", "high")
    site = "blocks.1.mlp.hook_post" if which == "native" else "blocks.0.mlp.hook_post"
    for neuron in (0, 7):
        assert np.allclose(whole.scores[site][neuron], manual_ablation(bridge, task, batch, site, neuron),
                           rtol=1e-3, atol=1e-6)
    for s in whole.sites:  # streaming in pieces gives the same answer
        assert np.allclose(whole.scores[s], pieces.scores[s], rtol=1e-3, atol=1e-6)
        assert np.allclose(whole.variance[s], pieces.variance[s], rtol=1e-6)


def test_attribution_on_a_bridge_streams_and_picks_auto(native):
    task = _task()
    batch = task.eval_batch(100, torch.Generator().manual_seed(0))
    a = interp.allocate(native, task, method="attribution", inputs=batch, batch_size=100)
    b = interp.allocate(native, task, method="attribution", inputs=batch, batch_size=4)
    for s in a.sites:
        assert a.scores[s].shape == (48, 2) and np.abs(a.scores[s]).max() > 0
        assert np.allclose(a.scores[s], b.scores[s], rtol=1e-4, atol=1e-8)
    assert interp.allocate(native, task, inputs=batch).method == "ablation"  # small model: exact method


def test_clear_errors(native, tmp_path):
    too_big = TokenTask(sequences=(((1, 2, VOCAB + 5),),), d_vocab=VOCAB + 6)
    with pytest.raises(ValueError, match="task"):
        interp.allocate(native, too_big)
    with pytest.raises(ValueError, match="folder"):
        load_hf(tmp_path / "missing")
    with pytest.raises(ValueError, match="zoo MLP"):
        interp.allocate(native, _task(), method="weights")
    with pytest.raises(ValueError, match="blocks.0.mlp.hook_post"):
        probes.capture(native, torch.zeros(2, 3, dtype=torch.long), sites=["blocks.9.mlp.hook_post"])


def test_wrap_hf_puts_the_model_on_the_device_asked_for():
    """``boot_transformers(hf_model=...)`` records the device without moving the model: a
    bridge asked for a GPU ran on the CPU. The meta device shows the move without one."""
    from transformers import LlamaConfig, LlamaForCausalLM

    from interp.lm import wrap_hf

    hf = LlamaForCausalLM(LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                                      num_key_value_heads=2, vocab_size=64))
    bridge = wrap_hf(hf, device="meta")
    assert {p.device.type for p in bridge.parameters()} == {"meta"} and bridge.cfg.device == "meta"
