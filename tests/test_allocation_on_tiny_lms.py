"""Allocation on language models of real architectures without a download: tiny random
GPT-2- and Llama-shaped Hugging Face models saved to folders, loaded through the public bridge,
under every method, the live rules, ``auto`` and the command line."""
import json

import numpy as np
import pytest
import torch

import interp
import probes
from interp.lm import load_hf
from tiny_lms import low_high_task, tiny_gpt2, tiny_llama
from interp.cli import main
from interp.neurons import live_mask, live_neurons

pytestmark = pytest.mark.slow

VOCAB = 48


def _task(seed=0, n_seq=4, length=8):
    return low_high_task(VOCAB, 24, start=2, n_seq=n_seq, length=length, seed=seed)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    tiny_gpt2(root / "gpt2", n_layer=2, n_embd=32, n_head=4, vocab_size=VOCAB, n_positions=32, seed=1)
    tiny_llama(root / "llama", n_layer=2, d_model=32, n_head=4, n_kv_head=2, d_mlp=64, vocab_size=VOCAB, seed=2)
    return root


@pytest.mark.parametrize("shape, width", [("gpt2", 128), ("llama", 64)])
def test_folders_load_through_the_public_bridge_with_their_tokenizer(folders, shape, width, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bridge = load_hf(folders / shape)
    assert probes.neuron_sites(bridge) == {f"blocks.{i}.mlp.hook_post": width for i in range(2)}
    ids = bridge.tokenizer("t5 t6 t7", add_special_tokens=False)["input_ids"]
    assert ids == [5, 6, 7]
    from transformers import AutoModelForCausalLM
    ref = AutoModelForCausalLM.from_pretrained(str(folders / shape), local_files_only=True).eval()
    x = torch.randint(0, VOCAB, (2, 9))
    with torch.no_grad():
        assert torch.allclose(bridge(x), ref(x).logits, atol=1e-4)


def test_random_llama_is_all_dead_under_the_absolute_rule_and_alive_under_the_relative_one(folders):
    bridge = load_hf(folders / "llama")
    x = torch.randint(0, VOCAB, (16, 12), generator=torch.Generator().manual_seed(0))
    var = probes.capture(bridge, x, stats=("var",))["blocks.0.mlp.hook_post"].var
    assert var.max() < 1e-3                                # the toy threshold's scale is far off
    absolute = live_neurons(bridge, x, rule="absolute")
    relative = live_neurons(bridge, x)                     # auto: relative on a language model
    assert all(not m.any() for m in absolute.values())
    assert all(m.float().mean() > 0.9 for m in relative.values())
    # a neuron silenced by hand is dead under the relative rule too
    var[3] = 0.0
    assert not live_mask(var, "relative")[3] and live_mask(var, "relative").sum() == var.numel() - 1


@pytest.mark.parametrize("method", ["ablation", "attribution", "verified"])
def test_every_method_on_both_shapes(folders, method):
    task = _task()
    for shape in ("gpt2", "llama"):
        bridge = load_hf(folders / shape)
        options = {"budget": None} if method == "verified" else None     # every candidate and sampled neuron
        alloc = interp.allocate(bridge, task, method=method, progress=False, options=options)
        assert alloc.method == method and alloc.live_rule == "relative" and alloc.n_live > 0
        assert alloc.notes["task"].startswith("TokenTask(low: 4 seq, 28 counted tokens")
        if method == "ablation":
            assert all(np.array_equal(alloc.exact[s], alloc.live[s]) for s in alloc.sites)
        if method == "verified":  # the top 64 of the screen and a random 128 of the rest
            assert all((alloc.exact[s] <= alloc.live[s]).all() for s in alloc.sites)
            n = min(alloc.n_live, 64 + 128)
            assert sum(int(alloc.exact[s].sum()) for s in alloc.sites) == n


def test_verified_scores_are_exact_ablation_where_measured_and_bound_the_rest(folders):
    bridge = load_hf(folders / "gpt2")
    task = _task(length=10)
    exact = interp.allocate(bridge, task, method="ablation", progress=False)
    ver = interp.allocate(bridge, task, method="verified", progress=False,
                          options={"candidates": 0.1, "min_candidates": 8, "sample": 40, "budget": None,
                                   "sequential": False})
    n = sum(int(v.sum()) for v in ver.exact.values())
    assert ver.notes["n_candidates"] == 26 and ver.notes["n_sample"] == 40 and n == 66
    for s in ver.sites:
        m = ver.exact[s]
        assert np.allclose(ver.scores[s][m], exact.scores[s][m], rtol=1e-6, atol=1e-9)
    assert 0 <= ver.notes["missed_estimate"] <= ver.notes["missed_upper_95"] <= 256 - 26
    assert 0 <= ver.notes["misassigned_estimate"] <= ver.notes["misassigned_upper_95"] <= 256 - 26
    assert 0 <= ver.notes["sample_misassigned"] <= ver.notes["n_sample"]
    rho = ver.notes["screen_agreement"]["spearman_first_order_vs_exact"]
    assert set(rho) == {"low", "high"}


def test_auto_records_what_ran_and_why(folders, monkeypatch):
    bridge = load_hf(folders / "llama")
    alloc = interp.allocate(bridge, _task(), progress=False)
    assert alloc.method == "ablation" and "exact ablation" in alloc.notes["auto"]
    monkeypatch.setattr(interp.allocation, "ABLATION_LIMIT", 16)    # a model "too large" to ablate whole
    big = interp.allocate(bridge, _task(), progress=False, options={"census": 4, "region": 8, "ablations": 20})
    assert big.method == "census" and "census design" in big.notes["auto"]
    assert set(big.notes["census"]) == set(big.subtasks) and "census design" in big.table()
    assert all(e.low <= e.estimate <= e.high for e in big.estimate().values())


def test_cli_on_a_llama_folder_prints_a_task_summary_not_token_ids(folders, tmp_path, capsys):
    task = _task()
    (tmp_path / "task.json").write_text(json.dumps(task.to_config(inline=True)))
    out = tmp_path / "a.json"
    assert main(["allocate", str(folders / "llama"), "--task", str(tmp_path / "task.json"), "--batch-size", "2",
                 "--json", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "task: TokenTask(low: 4 seq, 28 counted tokens; high: 4 seq" in text
    assert str(task.sequences[0][0][:3])[1:-1] not in text              # no token ids
    assert "live=relative>0.001" in text and "method: ablation (auto:" in text
    data = json.loads(out.read_text())
    assert data["live_rule"] == "relative" and data["notes"]["task"].startswith("TokenTask(low")
    assert main(["allocate", str(folders / "llama"), "--task", str(tmp_path / "task.json"), "--batch-size",
                 "0"]) == 2
    assert "--batch-size=0" in capsys.readouterr().err
