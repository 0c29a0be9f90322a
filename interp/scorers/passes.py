"""What every scorer's passes share: the output of a forward pass (``output_of``), what one
pass over a batch costs (``sample_size``), and the progress bar shown on long passes."""
from __future__ import annotations

import torch


def progress_bar(total: int, desc: str, show: bool):
    """A tqdm bar shown on passes that take more than two seconds (``show`` False: none)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=not show, delay=2.0, leave=False, unit="step")


def output_of(out) -> torch.Tensor:
    return out.logits if hasattr(out, "logits") else out


def sample_size(batch) -> int:
    """What one pass over ``batch`` costs, in positions: a token task's sample counts its
    length, any other sample one."""
    x = batch.x
    return int(x.shape[0] * x.shape[1]) if x.dim() == 2 and not x.is_floating_point() else int(x.shape[0])

