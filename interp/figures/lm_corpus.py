"""The text of the SmolLM2 study (``interp.figures.lm_resources``), built from what the
environment holds or the study generates: ``python`` (source code of PyTorch modules,
``TEXT_MODULES``), ``prose`` (the English of their docstrings), ``arithmetic`` (generated sums
"a + b = c", only the answer's tokens count) and ``counting`` (generated runs "n, n+1, ...");
``study_task`` cuts them into a ``TokenTask``."""
from __future__ import annotations

import numpy as np

from models.offline_text import MORE_TEXT, TEXT_MODULES, torch_text  # noqa: F401  (the study's text, named from here too)

SUBTASKS = ("python", "prose", "arithmetic", "counting")


def _generated(seed: int, tokens: int) -> tuple[str, list, str, list]:
    """(arithmetic text, answer spans, counting text, counted spans), long enough for about
    ``tokens`` counted tokens each (an answer counts 2-3 tokens, a run about 35)."""
    g = np.random.default_rng(seed)
    arith, spans = "", []
    for _ in range(400 + tokens):
        a, b = (int(v) for v in g.integers(10, 100, 2))
        line = f"{a} + {b} = "
        spans.append((len(arith) + len(line), len(arith) + len(line) + len(str(a + b))))
        arith += line + f"{a + b}\n"
    count, cspans = "", []
    for _ in range(60 + tokens // 15):
        start = int(g.integers(1, 500))
        run = ", ".join(str(start + i) for i in range(12)) + ".\n"
        first = len(str(start)) + 2
        cspans.append((len(count) + first, len(count) + len(run)))
        count += run
    return arith, spans, count, cspans


def _windows(text, tokenizer, seq_len, tokens, spans=None, part=None, name="text"):
    """Windows of ``seq_len`` tokens cut one after another from ``text`` (from its first or
    second half with ``part`` 0 or 1), as many as hold ``tokens`` counted tokens, spread evenly
    over the text; each with its counted positions (≥ 1): those whose token lies inside one of
    the character ``spans`` (every position when None)."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offs = enc["input_ids"], enc["offset_mapping"]
    n_all = len(ids) // seq_len
    first, last = (0, n_all) if part is None else ((0, n_all // 2) if part == 0 else (n_all // 2, n_all))
    lo = np.array([s for s, _ in spans]) if spans else None
    hi = np.array([e for _, e in spans]) if spans else None

    def counted(w):
        s = w * seq_len
        if spans is None:
            return tuple(range(1, seq_len))
        return tuple(p for p in range(1, seq_len) if ((lo <= offs[s + p][0]) & (offs[s + p][0] < hi)).any())

    windows = list(range(first, last))
    per = np.mean([len(counted(w)) for w in windows[:: max(1, len(windows) // 50)]]) if windows else 0
    want = int(np.ceil(tokens / max(per, 1e-9))) if per else len(windows) + 1
    if want > len(windows):
        raise ValueError(f"tokens={tokens} is not allowed: expected at most about {int(per * len(windows))} "
                         f"counted tokens of {name} per subtask at seq_len={seq_len}"
                         f"{'' if part is None else ' in half of the text'} (its text holds {len(ids)} tokens)")
    seqs, poss, total = [], [], 0
    for w in np.linspace(first, last - 1, want).astype(int):
        pos = counted(w)
        if not pos:
            continue
        seqs.append(tuple(int(t) for t in ids[w * seq_len:(w + 1) * seq_len]))
        poss.append(pos)
        total += len(pos)
    return tuple(seqs), tuple(poss)


def study_task(tokenizer, tokens: int = 4096, seq_len: int = 64, seed: int = 0, part: int | None = None):
    """The study's ``TokenTask``: python, prose, arithmetic (answers count), counting, each
    with about ``tokens`` counted tokens in sequences of ``seq_len``; ``part`` 0 or 1 takes them
    from the first or second half of each text only (two disjoint samples)."""
    from models.token_task import TokenTask

    code, prose = torch_text(chars=(12 if part is None else 24) * tokens)   # about 5 characters a token, and room
    arith, aspans, count, cspans = _generated(seed, 2 * tokens if part is not None else tokens)
    parts = [_windows(code, tokenizer, seq_len, tokens, part=part, name="python"),
             _windows(prose, tokenizer, seq_len, tokens, part=part, name="prose"),
             _windows(arith, tokenizer, seq_len, tokens, aspans, part=part, name="arithmetic"),
             _windows(count, tokenizer, seq_len, tokens, cspans, part=part, name="counting")]
    return TokenTask(sequences=tuple(p[0] for p in parts), positions=tuple(p[1] for p in parts), names=SUBTASKS,
                     d_vocab=int(len(tokenizer)))
