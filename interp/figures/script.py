"""The entry point of the scripts in ``examples/``: one figure, quick or full, its claims printed."""
from __future__ import annotations

import argparse
import time


def main(figure) -> None:
    """Entry point of ``examples/<name>.py``: ``[--full] [--out DIR] [--device D]`` runs
    ``figure`` (a module of ``interp.figures``) with its QUICK or FULL recipe and prints its
    claims."""
    ap = argparse.ArgumentParser(description=(figure.__doc__ or "").split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="the paper's settings (meant for a GPU)")
    ap.add_argument("--out", default=f"runs/{figure.NAME}")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    t0 = time.time()
    res = figure.run(args.out, figure.FULL if args.full else figure.QUICK, device=args.device)
    for c in res.get("claims", []):
        iv = c.get("interval")
        print(f"- {c['claim']}: paper {c['paper']}, ours {c['ours']}"
              + (f" [{iv[0]:.3g}, {iv[1]:.3g}]" if iv else "") + f", agree: {c['agree']}")
    print(f"wrote {args.out}/{figure.NAME}.png and .json in {time.time() - t0:.0f} s")
