"""Where a sweep's groups train: in this process, or on Dask workers.

An executor has ``threads`` (torch threads per task, None: torch's default) and
``run(fn, groups, on_start, **kwargs)``, which calls ``fn(group, threads=..., **kwargs)`` for
each group and yields ``(group, result, error)`` as each finishes (``error`` None on
success). A group that fails does not stop the others.

>>> InProcess().threads is None
True
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from models.validate import check


class InProcess:
    """Groups one after another in this process (the default: no server)."""

    def __init__(self, threads: int | None = None):
        if threads is not None:
            check(isinstance(threads, int) and threads >= 1, "threads", threads, "None or an integer ≥ 1")
        self.threads = threads

    def run(self, fn: Callable, groups: Sequence, on_start: Callable = lambda g: None,
            **kwargs) -> Iterator[tuple[Any, Any, BaseException | None]]:
        for group in groups:
            on_start(group)
            try:
                result = fn(group, threads=self.threads, **kwargs)
            except Exception as e:  # noqa: BLE001 - reported with the group; the others go on
                yield group, None, e
            else:
                yield group, result, None


class Dask:
    """Groups as tasks of a Dask distributed cluster.

    ``address`` None starts a ``LocalCluster`` of ``workers`` single-threaded worker
    processes on this machine (torch threads per task: cores // workers, so threads never
    outnumber cores); a scheduler address (``"tcp://host:8786"``) or a cluster object (e.g.
    ``dask_jobqueue.SLURMCluster``) uses that cluster (torch threads per task: ``threads``,
    default 1). A task whose worker dies is retried elsewhere (up to ``retries`` times for
    errors, and Dask's own allowed failures for lost workers); it resumes from its group's
    last checkpoint. Needs the ``cluster`` extra: ``pip install 'resource-interp[cluster]'``.
    """

    def __init__(self, address: Any = None, workers: int = 2, threads: int | None = None, retries: int = 3):
        check(address is None or isinstance(address, str) or hasattr(address, "scheduler_address"), "address",
              address, "None (a local cluster), a scheduler address 'tcp://host:port', or a Dask cluster object")
        check(isinstance(workers, int) and workers >= 1, "workers", workers, "an integer ≥ 1")
        if threads is not None:
            check(isinstance(threads, int) and threads >= 1, "threads", threads, "None or an integer ≥ 1")
        check(isinstance(retries, int) and retries >= 0, "retries", retries, "an integer ≥ 0")
        self.address, self.workers, self.retries = address, workers, retries
        self.threads = threads or (max(1, (os.cpu_count() or 1) // workers) if address is None else 1)

    @contextmanager
    def connect(self):
        """A ``distributed.Client`` on the cluster, in a ``with`` block; a ``LocalCluster``
        started here is closed with it."""
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("the Dask executor needs the cluster extra: pip install 'resource-interp[cluster]'") \
                from None
        if self.address is not None:
            with Client(self.address) as client:
                yield client
            return
        with LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            yield client

    def run(self, fn: Callable, groups: Sequence, on_start: Callable = lambda g: None,
            **kwargs) -> Iterator[tuple[Any, Any, BaseException | None]]:
        if not groups:
            return
        from distributed import as_completed

        with self.connect() as client:
            futures = {}
            for group in groups:
                fut = client.submit(fn, group, threads=self.threads, retries=self.retries, pure=False,
                                    key=f"group-{group.key}", **kwargs)
                futures[fut] = group
                on_start(group)
            for fut in as_completed(futures):
                try:
                    result = fut.result()
                except Exception as e:  # noqa: BLE001 - reported with the group; the others go on
                    yield futures[fut], None, e
                else:
                    yield futures[fut], result, None
