"""Reading a task given on the command line (JSON text or a JSON file). Every problem is a
``ValueError`` naming the option and, for a file, the file."""
from __future__ import annotations

import json
import stat
from pathlib import Path

from models.validate import check

MAX_TASK_BYTES = 256 * 2**20
"""A task file larger than this is refused before it is read."""

_EXAMPLE = "task JSON such as '{\"type\": \"Parallel\", \"beta\": 0.75}' or a path to a JSON file"


def _read_task_file(option: str, spec: str) -> str:
    """The text of the task file ``spec``: an existing regular file (never a folder, FIFO or
    device, which are refused before they are opened), of at most ``MAX_TASK_BYTES``."""
    path = Path(spec)
    try:
        st = path.stat()
    except OSError as e:
        raise ValueError(f"{option}={spec!r} is not allowed: expected {_EXAMPLE} "
                         f"({'no such file' if isinstance(e, FileNotFoundError) else e.strerror or e})") from None
    check(not stat.S_ISDIR(st.st_mode), option, spec, "a JSON file, not a folder")
    check(stat.S_ISREG(st.st_mode), option, spec, "a regular JSON file (not a FIFO or device)")
    check(st.st_size <= MAX_TASK_BYTES, option, spec, f"a JSON file of at most {MAX_TASK_BYTES} bytes "
                                                      f"(this one has {st.st_size})")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{option}={spec!r} is not allowed: expected a readable UTF-8 JSON file ({e})") from None


def load_task(spec: str, option: str = "--task"):
    """The task ``spec`` describes: JSON text (an object with a ``"type"``) or the path of a
    file holding it."""
    from models.tasks import Task

    try:
        import models.token_task  # noqa: F401  (registers TokenTask)
    except ImportError:
        pass
    inline = spec.lstrip().startswith(("{", "["))
    text = spec if inline else _read_task_file(option, spec)
    source = "" if inline else f" in the file {spec}"
    try:
        config = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{option}={spec!r} is not allowed: expected {_EXAMPLE}; the text{source} is not JSON "
                         f"({e})") from None
    got = type(config).__name__ if not isinstance(config, dict) else "an object without \"type\""
    check(isinstance(config, dict) and "type" in config, option, spec,
          f"a JSON object with a \"type\"{source} (got {got})")
    try:
        return Task.from_config(config)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{option}={spec!r} is not allowed: expected a task the toolkit can build{source} ({e})") \
            from None
