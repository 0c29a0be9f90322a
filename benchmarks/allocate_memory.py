"""Neuron allocation on a GPT-2-small-shaped model: memory stays flat as the evaluation set grows.

A Hugging Face ``GPT2LMHeadModel`` with GPT-2 small's shape (12 layers, d_model 768, 12 heads,
3072 MLP neurons per layer = 36 864 neurons) is built locally with random weights (nothing
downloads) and wrapped in a TransformerLens 4 bridge. A ``TokenTask`` with two subtasks
(sequences drawn from the lower and the upper half of the vocabulary) is allocated with
``interp.allocate`` (``attribution`` by default, what ``auto`` picks for a model this size)
over each token count in ``--tokens``. Each count runs in a fresh process, which reports:

- the peak resident memory above the process's baseline after the model is built, for
  allocation and for a bare forward pass (``torch.no_grad``, same batches);
- tokens per second of allocation beside those of the bare forward pass.

Peaks should be close for every token count: statistics stream in batches of
``--batch-size`` sequences, and nothing per token is kept. (The allocator settles over the
first few batches, so compare counts of several batches each: a one-batch run peaks lower.)

    python benchmarks/allocate_memory.py [--tokens 4000 40000] [--seq-len 128] [--batch-size 8]
                                         [--vocab 50257] [--method attribution] [--threads N]

The default (4k and 40k tokens) takes about five minutes on two idle cores;
``--tokens 10000 100000`` about twelve. Attribution costs about four forward passes per token
(a statistics pass, then a forward and a backward pass).
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


def _child(args) -> dict:
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import interp
    from interp.bridge import tiny_gpt2, wrap_hf
    from models.token_task import TokenTask

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    hf = tiny_gpt2(n_layer=args.layers, n_embd=args.d_model, n_head=args.heads, n_inner=args.d_mlp,
                   vocab_size=args.vocab, n_positions=max(args.seq_len, 16), seed=0)
    bridge = wrap_hf(hf)
    n_seq = max(2, round(args.child / args.seq_len))
    g = torch.Generator().manual_seed(1)
    half = args.vocab // 2
    low = torch.randint(0, half, (n_seq // 2, args.seq_len), generator=g)
    high = torch.randint(half, args.vocab, (n_seq - n_seq // 2, args.seq_len), generator=g)
    task = TokenTask(sequences=(tuple(map(tuple, low.tolist())), tuple(map(tuple, high.tolist()))),
                     names=("low-half", "high-half"), d_vocab=args.vocab)
    batch = task.eval_batch(n_seq, g)
    tokens = batch.x.numel()
    with torch.no_grad():  # warm-up, so lazy initialisation is not charged to either side
        bridge(batch.x[: args.batch_size])
    base = _rss_kib("VmRSS")

    exact = _reset_peak()
    t = time.perf_counter()
    with torch.no_grad():
        for piece in batch.x.split(args.batch_size):
            bridge(piece)
    fwd_s = time.perf_counter() - t
    fwd_peak = _rss_kib("VmHWM") - base

    _reset_peak()
    t = time.perf_counter()
    alloc = interp.allocate(bridge, task, method=args.method, inputs=batch, batch_size=args.batch_size,
                            threshold=1e-4)
    alloc_s = time.perf_counter() - t
    alloc_peak = _rss_kib("VmHWM") - base
    return {"tokens": tokens, "neurons": sum(a.size for a in alloc.live.values()), "method": alloc.method,
            "base_mib": base / 1024, "forward_peak_mib": fwd_peak / 1024, "alloc_peak_mib": alloc_peak / 1024,
            "forward_tok_s": tokens / fwd_s, "alloc_tok_s": tokens / alloc_s, "alloc_s": alloc_s,
            "exact_peak": exact, "live": alloc.n_live, "counts": alloc.counts()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tokens", type=int, nargs="+", default=[4_000, 40_000], help="evaluation set sizes")
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--batch-size", type=int, default=8, help="sequences per streamed batch")
    p.add_argument("--method", default="attribution", choices=["auto", "attribution", "ablation"])
    p.add_argument("--layers", type=int, default=12)
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--d-mlp", type=int, default=3072)
    p.add_argument("--vocab", type=int, default=50257)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(args)))
        return 0
    shape = (f"{args.layers} layers x {args.d_mlp} MLP neurons, d_model {args.d_model}, vocab {args.vocab}, "
             f"sequences of {args.seq_len}, batches of {args.batch_size}")
    print(f"GPT-2-small-shaped bridge (random weights, built locally): {shape}")
    rows = []
    for n in args.tokens:
        cmd = [sys.executable, __file__, "--child", str(n)] + [
            a for k, v in vars(args).items() if k not in ("child", "tokens")
            for a in (f"--{k.replace('_', '-')}", str(v))]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TQDM_DISABLE": "1"})
        if out.returncode != 0:
            print(out.stderr[-3000:], file=sys.stderr)
            return out.returncode
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"  measured {r['tokens']} tokens in {r['alloc_s']:.0f}s", flush=True)
    print()
    head = (f"{'tokens':>8} {'method':>12} {'alloc peak':>11} {'fwd peak':>9} {'alloc tok/s':>12} "
            f"{'fwd tok/s':>10} {'ratio':>6}")
    print(head)
    print(f"{'':>8} {'':>12} {'MiB':>11} {'MiB':>9}")
    for r in rows:
        print(f"{r['tokens']:>8} {r['method']:>12} {r['alloc_peak_mib']:>11.0f} {r['forward_peak_mib']:>9.0f} "
              f"{r['alloc_tok_s']:>12.0f} {r['forward_tok_s']:>10.0f} {r['forward_tok_s'] / r['alloc_tok_s']:>5.1f}x")
    print(f"(peaks: resident memory above the {rows[0]['base_mib']:.0f} MiB held once the model is built"
          + ("" if rows[0]["exact_peak"] else "; /proc peak reset unavailable, so peaks are process-wide") + ")")
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        print(f"allocation peak at {b['tokens']} tokens / at {a['tokens']} tokens: "
              f"{b['alloc_peak_mib'] / max(a['alloc_peak_mib'], 1e-9):.2f}x for "
              f"{b['tokens'] / a['tokens']:.0f}x the tokens")
    return 0


if __name__ == "__main__":
    sys.exit(main())
