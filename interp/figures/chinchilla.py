"""Resource model §4: ℓ ∝ N⁻¹ in neurons becomes ℓ ∝ N_p^(-1/3) in parameters when depth ∝
width (N_p ≈ width²·depth), against Chinchilla's measured 0.34; widening at fixed depth gives
N_p^(-1/2) (``interp.chinchilla_conversion``). Our measured loss-vs-N exponents of Figs. 2C
and 3D (read from this output folder when they ran) are converted the same way. No training.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..theory.resource import chinchilla_conversion
from .claims import claim, covers
from .drawing import figure, finish

NAME = "chinchilla"


@dataclass(frozen=True)
class Recipe:
    """Depth ∝ width^γ for each γ of the curve."""

    depth_exponents: tuple[float, ...] = tuple(np.linspace(0, 1.5, 31).tolist())


QUICK = FULL = Recipe()


def sweeps(r: Recipe) -> list:
    return []


def _measured(out_dir):
    found = {}
    for name, key in (("fig2_square", "fit_loss_vs_N"), ("fig3_parallel", "fit_composite")):
        p = Path(out_dir) / f"{name}.json"
        if p.exists():
            f = json.loads(p.read_text())["numbers"][key]
            found[name] = (f["exponent"], f["exponent_interval"])
    return found


def run(out_dir, recipe: Recipe = QUICK, device: str = "cpu") -> dict:
    t0 = time.time()
    g = np.array(recipe.depth_exponents)
    theory = chinchilla_conversion(-1.0)
    fixed = chinchilla_conversion(-1.0, "fixed")
    curve = np.array([chinchilla_conversion(-1.0, float(x)).params_exponent for x in g])
    meas = _measured(out_dir)

    fig, (a,) = figure(1, size=(5.2, 3.6))
    a.plot(g, -curve, "k-", label="from ℓ ∝ N⁻¹: 1/(2+γ)")
    a.axhspan(0.34 - 0.01, 0.34 + 0.01, color="C3", alpha=0.3, label="Chinchilla 0.34")
    for j, (name, (e, iv)) in enumerate(meas.items()):
        s = chinchilla_conversion(float(e))
        lo, hi = sorted([-iv[0] / 3, -iv[1] / 3])
        a.errorbar([1.0 + 0.03 * j], [-s.params_exponent], yerr=[[-s.params_exponent - lo], [hi + s.params_exponent]],
                   fmt="o", color=f"C{j}", label=f"ours ({name}, quick): {-s.params_exponent:.2f}")
    a.set_xlabel("γ (depth ∝ width^γ)"), a.set_ylabel("−exponent of loss vs parameters")
    a.set_title("N⁻¹ → N_p^(-1/(2+γ))"), a.legend(fontsize=7)

    claims = [claim("§4: loss vs params, depth ∝ width, from ℓ ∝ N⁻¹", "-1/3 vs Chinchilla -0.34",
                       theory.params_exponent, None, abs(theory.params_exponent + 0.34) < 0.02,
                       "agree: within 0.02 of Chinchilla's 0.34"),
              claim("§4: loss vs params, fixed depth", "-1/2", fixed.params_exponent, None,
                       abs(fixed.params_exponent + 0.5) < 1e-9, "")]
    for name, (e, iv) in meas.items():
        s = chinchilla_conversion(float(e))
        civ = sorted([iv[0] / 3, iv[1] / 3])
        claims.append(claim(f"§4: our {name} exponent converted (depth ∝ width)", "-0.34 (Chinchilla)",
                               s.params_exponent, civ, covers(civ, -0.34), "agree: -0.34 in converted 95% CI"))
    return finish(out_dir, NAME, fig, {"gamma": g, "params_exponent": curve, "theory": theory.to_dict(),
                                          "fixed": fixed.to_dict(), "measured": meas}, claims,
                     f"N⁻¹ gives N_p^{theory.params_exponent:.3f} (Chinchilla -0.34).", t0)

