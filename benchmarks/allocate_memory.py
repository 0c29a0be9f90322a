"""Neuron allocation on SmolLM2-135M: peak memory flat in the number of tokens, and the cost of
attribution against a bare forward+backward pass.

SmolLM2-135M (30 layers × 1536 MLP neurons, vocabulary 49 152; the ``lm`` extra) is loaded,
or with ``--model gpt2-small`` a GPT-2-small-shaped model with random weights is built locally.
A ``TokenTask`` with two subtasks (sequences of random ids from the lower and the upper half
of the vocabulary) is allocated with ``interp.allocate(method="attribution")`` and its
default arguments (pieces of 512 tokens) over each token count in ``--tokens``. Each count
runs in a fresh process, which reports:

- the peak resident memory above the process's baseline once the model is loaded, for the
  allocation and for a bare forward+backward pass (``loss.backward()`` over the same pieces);
- tokens per second of each, and their ratio (the cost of attribution in bare passes: it
  runs a statistics pass, then a forward and a backward pass per piece).

    python benchmarks/allocate_memory.py [--tokens 2000 20000] [--model smollm2|gpt2-small]
                                         [--seq-len 128] [--batch-size N] [--method attribution]

The default takes about five minutes on two idle cores.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path


def _rss_kib(field: str) -> int:
    """``VmRSS`` or ``VmHWM`` (peak) of this process in KiB, from /proc (ru_maxrss elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (``VmHWM``) to the current RSS; False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _model(args):
    if args.model == "smollm2":
        from interp.lm import load_smollm2
        return load_smollm2()
    from interp.lm import wrap_hf
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from tiny_lms import tiny_gpt2          # a randomly initialised GPT-2 of the given shape
    return wrap_hf(tiny_gpt2(n_layer=12, n_embd=768, n_head=12, n_inner=3072, vocab_size=50257,
                             n_positions=max(args.seq_len, 16), seed=0))


def _child(args) -> dict:
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import interp
    from models.token_task import TokenTask

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    bridge = _model(args)
    vocab = bridge.cfg.d_vocab
    n_seq = max(2, round(args.child / args.seq_len))
    g = torch.Generator().manual_seed(1)
    half = vocab // 2
    low = torch.randint(0, half, (n_seq // 2, args.seq_len), generator=g)
    high = torch.randint(half, vocab, (n_seq - n_seq // 2, args.seq_len), generator=g)
    task = TokenTask(sequences=(tuple(map(tuple, low.tolist())), tuple(map(tuple, high.tolist()))),
                     names=("low-half", "high-half"), d_vocab=vocab)
    batch = task.eval_batch(n_seq, g)
    tokens = batch.x.numel()
    per_piece = args.batch_size or max(1, interp.allocation.BATCH_TOKENS // args.seq_len)
    with torch.no_grad():  # warm-up, so lazy initialisation is not charged to either side
        bridge(batch.x[:per_piece])
    base = _rss_kib("VmRSS")

    exact = _reset_peak()
    t = time.perf_counter()
    for i in range(0, n_seq, per_piece):
        piece = type(batch)(*(v[i:i + per_piece] for v in batch))
        loss = task.subtask_losses(bridge(piece.x), piece).sum()
        loss.backward()
        bridge.zero_grad(set_to_none=True)
    bare_s = time.perf_counter() - t
    bare_peak = _rss_kib("VmHWM") - base

    _reset_peak()
    t = time.perf_counter()
    kw = {} if args.batch_size is None else {"batch_size": args.batch_size}
    alloc = interp.allocate(bridge, task, method=args.method, inputs=batch, progress=False, **kw)
    alloc_s = time.perf_counter() - t
    alloc_peak = _rss_kib("VmHWM") - base
    return {"tokens": tokens, "neurons": sum(a.size for a in alloc.live.values()), "method": alloc.method,
            "base_mib": base / 1024, "bare_peak_mib": bare_peak / 1024, "alloc_peak_mib": alloc_peak / 1024,
            "bare_tok_s": tokens / bare_s, "alloc_tok_s": tokens / alloc_s, "alloc_s": alloc_s,
            "exact_peak": exact, "live": alloc.n_live, "counts": alloc.counts()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=int, nargs="+", default=[2_000, 20_000], help="evaluation set sizes")
    p.add_argument("--model", default="smollm2", choices=["smollm2", "gpt2-small"])
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=None,
                   help="sequences per streamed piece (default: allocate's own, 512 tokens)")
    p.add_argument("--method", default="attribution", choices=["attribution", "verified", "ablation"])
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(args)))
        return 0
    print(f"model: {args.model}; sequences of {args.seq_len} tokens; "
          f"pieces: {args.batch_size or 'allocate default (512 tokens)'}")
    rows = []
    for n in args.tokens:
        cmd = [sys.executable, __file__, "--child", str(n)] + [
            a for k, v in vars(args).items() if k not in ("child", "tokens")
            if v is not None for a in (f"--{k.replace('_', '-')}", str(v))]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return out.returncode
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"  measured {r['tokens']} tokens in {r['alloc_s']:.0f}s", flush=True)
    print()
    head = (f"{'tokens':>8} {'method':>12} {'alloc peak':>11} {'fwd+bwd peak':>13} {'alloc tok/s':>12} "
            f"{'fwd+bwd tok/s':>14} {'cost':>6}")
    print(head)
    print(f"{'':>8} {'':>12} {'MiB':>11} {'MiB':>13}")
    for r in rows:
        print(f"{r['tokens']:>8} {r['method']:>12} {r['alloc_peak_mib']:>11.0f} {r['bare_peak_mib']:>13.0f} "
              f"{r['alloc_tok_s']:>12.0f} {r['bare_tok_s']:>14.0f} {r['bare_tok_s'] / r['alloc_tok_s']:>5.2f}x")
    print(f"(peaks: resident memory above the {rows[0]['base_mib']:.0f} MiB held once the model is loaded"
          + ("" if rows[0]["exact_peak"] else "; /proc peak reset unavailable, so peaks are process-wide") + "; "
          "cost: allocation time / bare forward+backward time over the same tokens)")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"allocation peak at {b['tokens']} tokens / at {a['tokens']} tokens: "
              f"{b['alloc_peak_mib'] / max(a['alloc_peak_mib'], 1e-9):.2f}x for "
              f"{b['tokens'] / a['tokens']:.0f}x the tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
