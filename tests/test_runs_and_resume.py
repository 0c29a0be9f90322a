"""Runs and sweeps as data, executed in-process: hashing, grouping, folders, the table,
skipping finished runs, and resuming after real SIGKILLs bitwise."""
import json
import os
import random
import runpy
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import models
from interp.experiments.executors import InProcess
from interp.experiments.runs import Run, Sweep, execute, load_run, table
from settings import tiny_train

TRAIN = tiny_train(steps=200, eval_points=4, lr_decay_every=100)
NET = models.MLPConfig(d_in=1, widths=(8,), d_out=1)


def small_sweep(**kw) -> Sweep:
    return Sweep.grid(NET, models.tasks.Square(), TRAIN, over={"train.alpha": [0.01, 1000.0], "model.seed": [0, 1, 2]},
                      **kw)


def test_run_key_is_a_stable_content_hash():
    run = Run(NET, models.tasks.Square(), models.TrainConfig(alpha=4))
    assert run.key == Run(NET, models.tasks.Square(), models.TrainConfig(alpha=4.0, progress=False)).key
    assert run.key != Run(NET, models.tasks.Square(), models.TrainConfig(alpha=5)).key
    assert run.key != Run(NET, models.tasks.Square(high=2.0), models.TrainConfig(alpha=4)).key
    # the same in a fresh interpreter (no dependence on hash randomisation or object ids)
    code = ("import models; from interp.experiments.runs import Run; print(Run(models.MLPConfig(d_in=1, widths=(8,), d_out=1), "
            "models.tasks.Square(), models.TrainConfig(alpha=4)).key)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"})
    assert out.stdout.strip() == run.key


def test_grid_order_groups_and_bad_axes():
    s = small_sweep()
    assert [(r.train.alpha, r.model.seed) for r in s.runs] == [(0.01, 0), (0.01, 1), (0.01, 2), (1000.0, 0), (1000.0, 1),
                                                               (1000.0, 2)]
    assert [len(g.runs) for g in s.groups()] == [6]
    assert [len(g.runs) for g in small_sweep(group_size=4).groups()] == [4, 2]
    assert len((s + small_sweep()).runs) == 6  # the same runs asked for twice are one set
    tf = models.ParityTransformerConfig(n_ctx=8, d_model=8, n_heads=2)
    ts = Sweep.grid(tf, models.tasks.SparseParity(2, 6, 3), TRAIN, over={"model.seed": [0, 1]})
    assert [len(g.runs) for g in ts.groups()] == [1, 1]  # transformers do not stack
    with pytest.raises(ValueError, match="over"):
        Sweep.grid(NET, models.tasks.Square(), TRAIN, over={"alpha": [1.0]})
    with pytest.raises(ValueError, match="over"):
        Sweep.grid(NET, models.tasks.Square(), TRAIN, over={"train.alfa": [1.0]})
    with pytest.raises(ValueError, match="train.alpha"):
        Run(NET, models.tasks.Square(), models.TrainConfig(alpha=(1.0, 2.0)))


def test_execute_writes_loadable_runs_and_a_table(tmp_path):
    s = small_sweep()
    out = execute(s, tmp_path, progress=False)
    assert list(out.status) == ["done"] * 6
    on_disk = pd.read_csv(tmp_path / "sweep.csv")
    np.testing.assert_allclose(on_disk.task_loss, out.task_loss, rtol=1e-12)
    # the sparsity pressure wins at α = 0.01, the task at α = 1000
    assert out[out["train.alpha"] == 0.01].task_loss.min() > out[out["train.alpha"] == 1000.0].task_loss.max()
    run = s.runs[4]
    ck = load_run(tmp_path, run)
    assert ck.task == run.task and ck.train_config.alpha == 1000.0 and ck.model.config.seed == 1
    # the stored live count is the one live_neurons gives on the stored model
    from interp import live_neurons
    x = run.task.eval_batch(4096, torch.Generator().manual_seed(12345)).x
    assert int(live_neurons(ck.model, x)["hidden.0"].sum()) == out.loc[4, "live.hidden.0"] == out.loc[4, "live"]
    assert json.loads((tmp_path / run.key / "run.json").read_text()) == run.to_config()
    assert not any(tmp_path.glob("_groups/*"))  # a group checkpoint goes once its runs are written


def test_a_member_trains_as_the_same_run_alone(tmp_path):
    together = execute(small_sweep(), tmp_path / "a", progress=False)
    alone = execute(small_sweep(group_size=1), tmp_path / "b", progress=False)
    np.testing.assert_allclose(alone.task_loss, together.task_loss, rtol=1e-4)
    assert list(alone.live) == list(together.live)


class Counting(InProcess):
    def __init__(self):
        super().__init__()
        self.trained = 0

    def run(self, fn, groups, on_start=lambda g: None, **kw):
        self.trained += len(groups)
        yield from super().run(fn, groups, on_start, **kw)


def test_a_rerun_skips_finished_runs_and_trains_only_new_ones(tmp_path):
    execute(small_sweep(), tmp_path, progress=False)
    stamp = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*/result.json")}
    ex = Counting()
    execute(small_sweep(), tmp_path, executor=ex, progress=False)
    assert ex.trained == 0
    bigger = Sweep.grid(NET, models.tasks.Square(), TRAIN, over={"train.alpha": [0.01, 1000.0], "model.seed": [0, 1, 2, 3]})
    out = execute(bigger, tmp_path, executor=ex, progress=False)
    assert ex.trained == 1 and list(out.status) == ["done"] * 8
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp  # finished runs untouched


def test_a_failing_group_keeps_what_finished(tmp_path):
    good = small_sweep()
    bad = Sweep.grid(models.MLPConfig(d_in=2, widths=(4,), d_out=1), models.tasks.Square(), TRAIN,
                     over={"model.seed": [0]})  # the model does not fit the task
    with pytest.raises(RuntimeError, match="1 of 2 groups failed"):
        execute(good + bad, tmp_path, progress=False)
    out = table(good + bad, tmp_path)
    assert list(out.status) == ["done"] * 6 + ["pending"]


# -- real kills ----------------------------------------------------------------------------
SCRIPT = textwrap.dedent("""
    import sys
    import models
    from interp.experiments.executors import InProcess
    from interp.experiments.runs import Sweep, execute
    train = models.TrainConfig(steps=250, batch_size=64, eval_size=128, eval_points=6, lr_decay_every=100,
                               progress=False)
    sweep = Sweep.grid(models.MLPConfig(d_in=1, widths=(16,), d_out=1), models.tasks.Square(), train,
                       over={"train.alpha": [2.0, 50.0], "model.seed": [0, 1, 2]}, group_size=3)
    if __name__ == "__main__":
        print("ready", flush=True)
        execute(sweep, sys.argv[1], executor=InProcess(threads=1), checkpoint_every=int(sys.argv[2]), progress=False)
        print("finished", flush=True)
""")


def _start(script: Path, root: Path, every: int) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, str(script), str(root), str(every)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def _weights(root: Path) -> dict:
    from safetensors.torch import load_file
    return {p.parent.name: load_file(str(p)) for p in sorted(root.glob("*/weights.safetensors"))}


@pytest.mark.slow
def test_killed_at_random_moments_and_rerun_ends_bitwise_identical(tmp_path):
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT)
    # the uninterrupted run, in this process (one thread, as the script runs it)
    sweep = runpy.run_path(str(script), run_name="definitions")["sweep"]
    execute(sweep, tmp_path / "straight", executor=InProcess(threads=1), checkpoint_every=10, progress=False)
    rng = random.Random(0)
    root, kills, mid_save = tmp_path / "killed", 0, 0
    windows = [(0.1, 0.5), (0.5, 1.0), (1.0, 1.5)]  # each kill in its own window: early, mid-way and late
    while kills < len(windows):
        p = _start(script, root, 1)  # a save every step: kills land mid-save too
        time.sleep(rng.uniform(*windows[kills]))
        if p.poll() is not None:
            break
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
        mid_save += any(root.glob("_groups/*/.*.tmp*"))  # a save was cut short
    p = _start(script, root, 1)
    assert p.stdout.read().strip() == "finished" and p.wait() == 0
    assert kills == len(windows), "the run finished before its kills: make it longer"
    straight, killed = _weights(tmp_path / "straight"), _weights(root)
    assert straight.keys() == killed.keys() and len(straight) == 6
    for key in straight:
        for name in straight[key]:
            assert torch.equal(straight[key][name], killed[key][name]), (key, name)
    a, b = pd.read_csv(tmp_path / "straight" / "sweep.csv"), pd.read_csv(root / "sweep.csv")
    pd.testing.assert_frame_equal(a, b)
    print(f"kills: {kills}, of which left a half-written state file: {mid_save}")


def test_a_half_written_state_file_is_never_resumed(tmp_path):
    """What a kill inside save leaves (a partial temporary file beside the last complete
    state) resumes from the complete state and ends as the uninterrupted run."""
    task = models.tasks.Square()
    cfg = tiny_train(steps=40, checkpoint_every=10, batch_size=32, eval_size=64, eval_points=4)
    straight = models.train(models.MLP(NET), task, cfg)
    models.train(models.MLP(NET), task, cfg.__class__(**{**cfg.__dict__, "steps": 20}), checkpoint=tmp_path)
    state = tmp_path / "train_state.safetensors"
    (tmp_path / ".train_state.safetensors.tmp999").write_bytes(state.read_bytes()[: state.stat().st_size // 2])
    resumed = models.train(models.MLP(NET), task, cfg, checkpoint=tmp_path)
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        assert torch.equal(a, b)


def test_failed_run_counts_no_neurons_not_zero(tmp_path):
    # α·loss ≈ 1e38 · 1e3 overflows float32 at step 0: that member fails, the other trains
    sweep = Sweep.grid(NET, models.tasks.Square(low=-10.0, high=10.0), TRAIN, over={"train.alpha": [1.0, 1e38]})
    out = execute(sweep, tmp_path, progress=False)
    failed = out[out.status == "failed"]
    assert len(failed) == 1 and failed["train.alpha"].item() == 1e38
    assert np.isnan(failed["live"].item()) and np.isnan(failed["live.hidden.0"].item())
    done = out[out.status == "done"]
    assert done["live"].item() >= 1
    result = json.loads((tmp_path / failed["key"].item() / "result.json").read_text())
    assert result["live"] == {"hidden.0": None}
