"""Reading a task given on the command line: JSON text or a JSON file (``--task``), or text
files of a language model's subtasks (``--texts NAME=PATH``). Every problem is a ``ValueError``
naming the option and, for a file, the file."""
from __future__ import annotations

import json
import stat
from pathlib import Path

from models.validate import check

MAX_TASK_BYTES = 256 * 2**20
"""A task file (or a text file of ``--texts``) larger than this is refused before it is read."""

_EXAMPLE = "task JSON such as '{\"type\": \"Parallel\", \"beta\": 0.75}' or a path to a JSON file"


def read_text_file(option: str, spec: str, kind: str = "JSON", example: str = _EXAMPLE,
                   given: str | None = None) -> str:
    """The text of the file ``spec``: an existing regular file (never a folder, FIFO or
    device, which are refused before they are opened), of at most ``MAX_TASK_BYTES``, UTF-8.
    A refusal names ``option`` with ``given`` (what the user typed; default ``spec``)."""
    path = Path(spec)
    spec = spec if given is None else given
    try:
        st = path.stat()
    except OSError as e:
        raise ValueError(f"{option}={spec!r} is not allowed: expected {example} "
                         f"({'no such file' if isinstance(e, FileNotFoundError) else e.strerror or e})") from None
    check(not stat.S_ISDIR(st.st_mode), option, spec, f"a {kind} file, not a folder")
    check(stat.S_ISREG(st.st_mode), option, spec, f"a regular {kind} file (not a FIFO or device)")
    check(st.st_size <= MAX_TASK_BYTES, option, spec, f"a {kind} file of at most {MAX_TASK_BYTES} bytes "
                                                      f"(this one has {st.st_size})")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{option}={spec!r} is not allowed: expected a readable UTF-8 {kind} file ({e})") from None


def read_texts(specs: list[str], option: str = "--texts") -> dict[str, list[str]]:
    """``NAME=PATH`` pairs as ``{name: [text of PATH]}`` (a name given twice gathers its files),
    each file checked as ``read_text_file`` does. Refused naming the pair when malformed."""
    texts: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        check(bool(sep) and name.strip() != "" and path != "", option, spec,
              "NAME=PATH pairs, a subtask name and a UTF-8 text file (e.g. python=code.txt)")
        text = read_text_file(option, path, "text", "NAME=PATH with PATH an existing UTF-8 text file", given=spec)
        check(text.strip() != "", option, spec, "a text file holding some text")
        texts.setdefault(name.strip(), []).append(text)
    return texts


def add_import_option(p) -> None:
    """``--import MODULE_OR_FILE`` (repeatable): code of the user's own that registers tasks."""
    p.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE_OR_FILE",
                   help="import your own code first (a module name, or a .py file), e.g. one that registers a task "
                        "of your own with models.register_task, so that --task and checkpoints naming it load; "
                        "checkpoints never import code themselves")


def import_user_code(specs: list[str], option: str = "--import") -> None:
    """Import each module name or ``.py`` file of ``specs`` (the command line's ``--import``);
    one that is missing or raises is refused naming it."""
    import importlib
    import importlib.util
    import sys

    for spec in specs:
        path = Path(spec)
        if spec.endswith(".py"):
            check(path.is_file(), option, spec, "an existing .py file or an importable module name")
        try:
            if spec.endswith(".py"):
                name = f"interp_user_{path.stem}"
                module_spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(module_spec)
                sys.modules[name] = module
                module_spec.loader.exec_module(module)
            else:
                if "" not in sys.path and str(Path.cwd()) not in sys.path:
                    sys.path.insert(0, str(Path.cwd()))
                importlib.import_module(spec)
        except Exception as e:  # noqa: BLE001 - the user's code may raise anything (a ValueError too); name it
            raise ValueError(f"{option}={spec!r} is not allowed: expected code that imports "
                             f"({type(e).__name__}: {e})") from None


def load_task(spec: str, option: str = "--task"):
    """The task ``spec`` describes: JSON text (an object with a ``"type"``) or the path of a
    file holding it."""
    from models.tasks import Task

    inline = spec.lstrip().startswith(("{", "["))
    text = spec if inline else read_text_file(option, spec)
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
