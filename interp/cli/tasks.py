"""Reading a task given on the command line (JSON text or a JSON file)."""
from __future__ import annotations

import json
from pathlib import Path


def load_task(spec: str):
    from models.tasks import Task

    try:
        import models.token_task  # noqa: F401  (registers TokenTask)
    except ImportError:
        pass
    text = Path(spec).read_text() if Path(spec).is_file() else spec
    try:
        config = json.loads(text)
    except ValueError:
        raise ValueError(f"--task={spec!r} is not allowed: expected task JSON such as "
                         f"'{{\"type\": \"Parallel\", \"beta\": 0.75}}' or a path to a JSON file") from None
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"--task={spec!r} is not allowed: expected a JSON object with a \"type\"")
    return Task.from_config(config)
