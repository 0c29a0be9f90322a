"""Sweeps on a real Dask cluster: a LocalCluster of 2 worker processes on this machine."""
import os
import signal
import threading
import time

import pandas as pd
import pytest

import models
from interp.experiments.executors import Dask, InProcess
from interp.experiments.runs import Sweep, execute
from settings import tiny_train

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


def sweep(steps: int = 150) -> Sweep:
    train = tiny_train(steps=steps, eval_points=4, lr_decay_every=100)
    return Sweep.grid(models.MLPConfig(d_in=1, widths=(16,), d_out=1), models.tasks.Square(), train,
                      over={"train.alpha": [0.1, 10.0, 1000.0], "model.seed": [0, 1]}, group_size=2)


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c


def test_a_sweep_on_two_workers_equals_the_in_process_one(cluster, tmp_path):
    s = sweep()
    assert len(s.runs) == 6 and len(s.groups()) == 3
    on_dask = execute(s, tmp_path / "dask", executor=Dask(cluster), progress=False)
    in_process = execute(s, tmp_path / "local", executor=InProcess(threads=1), progress=False)
    assert list(on_dask.status) == ["done"] * 6
    pd.testing.assert_frame_equal(on_dask, in_process)


def test_a_worker_killed_mid_task_loses_no_run(cluster, tmp_path):
    s = sweep(steps=800)
    root = tmp_path / "dask"
    with distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
    killed = []

    def kill_one_once_training():
        deadline = time.time() + 60
        while time.time() < deadline and not any(root.glob("_groups/*/train_state.safetensors")):
            time.sleep(0.05)
        pid = next(iter(pids.values()))
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_one_once_training)
    killer.start()
    out = execute(s, root, executor=Dask(cluster), checkpoint_every=100, progress=False)
    killer.join()
    assert killed, "no worker was killed"
    assert list(out.status) == ["done"] * 6  # 0 runs lost
    reference = execute(s, tmp_path / "local", executor=InProcess(threads=1), progress=False)
    pd.testing.assert_frame_equal(out, reference)  # the retried task resumed to the same result
