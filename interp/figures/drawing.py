"""A figure's page: panels without pyplot state, readable log axes, and the saved
``<name>.png`` and ``<name>.json`` that ``run()`` returns."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

from models.atomic import write_text, writing
from models.jsonable import jsonable


def figure(n_panels: int, size=(4.2, 3.4), rows: int = 1):
    """A matplotlib figure with ``rows`` rows of ``n_panels`` panels (no pyplot state); the
    axes come back as one list, row by row."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * n_panels, size[1] * rows), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(rows, n_panels, i + 1) for i in range(rows * n_panels)]


def finish(out_dir, name: str, fig, numbers: dict, claims: list[dict], summary: str = "", t0: float | None = None) -> dict:
    """Save ``<name>.png`` and ``<name>.json``; return the run() dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tidy(fig)
    with writing(out / f"{name}.png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    res = {"figure": name, "png": f"{name}.png", "claims": claims, "summary": summary,
           "numbers": jsonable(numbers)}
    if t0 is not None:
        res["seconds"] = round(time.time() - t0, 1)
    write_text(out / f"{name}.json", json.dumps(jsonable(res), indent=1))
    return res


def tidy(fig) -> None:
    """Readable log axes: no crowded minor-tick labels where two or more powers of ten show;
    plain labels where fewer do (matplotlib would write a single 10^1, or 2×10^1, 3×10^1, ...
    side by side): at 1, 2 and 5 × 10^k over one to two decades, at 1, 2, 3 and 5 × 10^k over
    half a decade to one, at every tick over less."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    def plain(keep):
        def fmt(v, _pos):
            m = v / 10 ** math.floor(math.log10(v) + 1e-9)
            return f"{v:g}" if keep is None or (round(m) in keep and abs(m - round(m)) < 1e-6) else ""
        return FuncFormatter(fmt)

    for ax in fig.axes:
        for axis, scale, lim in ((ax.xaxis, ax.get_xscale(), ax.get_xlim()),
                                 (ax.yaxis, ax.get_yscale(), ax.get_ylim())):
            if scale != "log" or min(lim) <= 0:
                continue
            lo, hi = math.log10(min(lim)), math.log10(max(lim))
            decades = math.floor(hi) - math.ceil(lo) + 1             # powers of ten inside the limits
            if decades >= 2:
                axis.set_minor_formatter(NullFormatter())
                continue
            axis.set_major_formatter(plain(None))
            axis.set_minor_formatter(plain((2, 5) if hi - lo > 1.08 else (2, 3, 5) if hi - lo > 0.5 else None))
