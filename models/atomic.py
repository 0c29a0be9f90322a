"""Files written whole or not at all: write beside the target, then rename over it.

A reader (or a process resumed after a kill at any moment) sees the old file or the new
one, never half of one.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "out.json"
>>> write_text(path, '{"a": 1}')
>>> path.read_text()
'{"a": 1}'
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def writing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error, rename
    it over ``path`` (one atomic step), else delete it."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def remove(path: str | Path) -> list[str]:
    """Delete the file (or link) ``path`` and the half-written copies ``writing`` leaves
    beside it when a process is killed mid-write; returns the names removed."""
    path = Path(path)
    removed = []
    for p in [path, *path.parent.glob(f".{path.name}.tmp*")]:
        if p.is_file() or p.is_symlink():
            p.unlink()
            removed.append(p.name)
    return removed


def write_text(path: str | Path, text: str) -> None:
    """``path.write_text(text)``, atomically."""
    with writing(path) as tmp:
        tmp.write_text(text)
