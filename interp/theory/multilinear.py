"""The exactly solvable multilinear model of emergence and scaling laws (SPEC B): theory.

Data: skill k (k = 1..n_s) is drawn with probability P_k ∝ k^-(α+1), where α is the paper's
α (the Zipf exponent is α + 1; both public codebases call α + 1 ``alpha``). Skills are an
orthogonal basis g_k with E[g_k g_l] = P_k δ_kl and the target is S·Σ_k g_k.

Model: f = Σ_{k≤N} a_k b_k g_k, loss L = ½ Σ_k P_k (S − R_k)² with skill strength
R_k = a_k b_k (R_k = 0 for k > N). Gradient flow with learning rate η:

    da_k/dt = η P_k (S − a_k b_k) b_k,     db_k/dt = η P_k (S − a_k b_k) a_k.

a_k² − b_k² is conserved, which gives R_k(t) in closed form. For a_k(0) = b_k(0) = init:
R_k/S = 1 / (1 + c·exp(−2 η P_k S t)) with c = S/init² − 1 — a sigmoid: skill k emerges
at a time ∝ 1/P_k ∝ k^(α+1). Finite data (D samples, d_k of skill k) replaces P_k by d_k/D
in the dynamics; finite parameters keep only the first N skills. From these: L ∝ T^(−α/(α+1)),
L ∝ D^(−α/(α+1)), L ∝ N^(−α) and, along the compute frontier C = N·T, L ∝ C^(−α/(α+2)).
:class:`Multilinear` evaluates the model exactly (sums over skills are exact up to
``exact_skills`` and use the Hurwitz zeta function plus a quadrature beyond, so n_s may be
huge or infinite), measures those exponents, and computes the prefactors from integrals.
Pure maths: numpy and scipy only. One role, the exact model, in one module (over 450 lines):
its laws, checks and compute frontier are methods of ``Multilinear`` and the small results
they return.

>>> m = Multilinear(alpha=0.6, n_skills=5, scale=5.0, lr=0.05, init=0.1)
>>> r = m.strength([0.0, 1e3, 1e5])            # [n_T, n_skills], R_k/S
>>> r.shape, bool(r[-1, 0] > 0.99), bool(r[0, 0] < 0.01)
((3, 5), True, True)
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy import integrate, optimize, special

from models.validate import check, is_real

from .fits import PowerLawFit, _short, fit_power_law

__all__ = ["skill_frequencies", "zipf_normalizer", "Multilinear", "ScalingLaw", "ScalingCheck", "ComputeFrontier",
           "RESOURCES"]

RESOURCES = ("time", "data", "parameters")
_LAWS = ("time", "data", "parameters", "compute")



# ----------------------------------------------------------------------------------------
# Skill frequencies
# ----------------------------------------------------------------------------------------

def zipf_normalizer(n_skills, alpha: float) -> float:
    """Z = Σ_{k=1}^{n_s} k^-(α+1) (``n_skills`` may be ``math.inf`` when α > 0).

    >>> round(zipf_normalizer(math.inf, 1.0), 6)   # ζ(2) = π²/6
    1.644934
    """
    check(is_real(alpha) and math.isfinite(alpha) and alpha >= 0, "alpha", alpha,
           "a finite number ≥ 0 (the paper's α; Zipf exponent α+1)")
    check(is_real(n_skills) and n_skills >= 1 and (math.isinf(n_skills) or float(n_skills).is_integer()),
           "n_skills", n_skills, "an integer ≥ 1 or math.inf")
    check(not (math.isinf(n_skills) and alpha == 0), "n_skills", n_skills, "finite when alpha = 0")
    s = alpha + 1.0
    if n_skills <= 100_000:
        k = np.arange(1, int(n_skills) + 1, dtype=np.float64)
        return float(np.sum(k[::-1] ** -s))
    if alpha == 0:
        return float(special.digamma(n_skills + 1.0) + np.euler_gamma)
    tail = 0.0 if math.isinf(n_skills) else float(special.zeta(s, n_skills + 1.0))
    return float(special.zeta(s) - tail)


def skill_frequencies(n_skills: int, alpha: float) -> np.ndarray:
    """P_k = k^-(α+1) / Σ_j j^-(α+1), ``[n_skills]``, with the paper's α.

    >>> skill_frequencies(3, 0.0).round(4).tolist()
    [0.5455, 0.2727, 0.1818]
    """
    check(isinstance(n_skills, (int, np.integer)) and not isinstance(n_skills, bool) and 1 <= n_skills <= 10**8,
           "n_skills", n_skills, "an integer in [1, 1e8] (use Multilinear.frequency for more)")
    z = zipf_normalizer(int(n_skills), alpha)
    return np.arange(1, n_skills + 1, dtype=np.float64) ** -(alpha + 1.0) / z


# ----------------------------------------------------------------------------------------
# The multilinear model
# ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScalingLaw:
    """A theoretical power law L = prefactor · x^exponent (exponent signed, < 0)."""

    resource: str
    exponent: float
    prefactor: float

    def predict(self, x) -> np.ndarray:
        return self.prefactor * np.asarray(x, dtype=np.float64) ** self.exponent

    def to_dict(self) -> dict:
        return {"resource": self.resource, "exponent": self.exponent, "prefactor": self.prefactor}


@dataclass(frozen=True)
class ScalingCheck:
    """A law measured on the model (``fit`` over ``x``, ``y``) beside the theory."""

    resource: str
    theory: ScalingLaw
    fit: PowerLawFit
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)

    @property
    def exponent_error(self) -> float:
        """Measured − theoretical exponent."""
        return self.fit.exponent - self.theory.exponent

    @property
    def prefactor_ratio(self) -> float:
        """Measured / theoretical prefactor."""
        return self.fit.prefactor / self.theory.prefactor

    def to_dict(self) -> dict:
        return {"resource": self.resource, "theory": self.theory.to_dict(), "fit": self.fit.to_dict(),
                "exponent_error": self.exponent_error, "prefactor_ratio": self.prefactor_ratio,
                "x_range": [float(self.x.min()), float(self.x.max())]}


@dataclass(frozen=True)
class ComputeFrontier:
    """Best loss at each compute C = N·T over the model widths N: ``loss[i]`` at ``compute[i]``
    is reached with width ``width[i]``."""

    compute: np.ndarray
    loss: np.ndarray
    width: np.ndarray
    widths: np.ndarray = field(repr=False)
    losses: np.ndarray = field(repr=False)  # [n_widths, n_compute]

    def to_dict(self) -> dict:
        return {"compute": self.compute.tolist(), "loss": self.loss.tolist(), "width": self.width.tolist()}


_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


@dataclass(frozen=True)
class Multilinear:
    """The multilinear model f = Σ a_k b_k g_k on n_s power-law-distributed skills.

    alpha: the paper's α > 0 (P_k ∝ k^-(α+1)); n_skills: n_s (integer or ``math.inf``);
    scale: S; lr: η (T counts gradient-descent steps of size η, taken as continuous
    gradient-flow time); init: a_k(0); init_b: b_k(0) (default = init, the paper's balanced start);
    exact_skills: skills summed term by term before switching to the Hurwitz-zeta tail and
    quadrature (only matters when n_s is larger).

    >>> m = Multilinear(alpha=0.6, n_skills=100_000)
    >>> law = m.law("parameters")
    >>> round(law.exponent, 3), round(law.prefactor, 4)   # L = S²/(2αZ)·N^-α
    (-0.6, 0.3648)
    """

    alpha: float
    n_skills: float = 100_000
    scale: float = 1.0
    lr: float = 1.0
    init: float = 0.1
    init_b: float | None = None
    exact_skills: int = 20_000

    def __post_init__(self):
        check(is_real(self.alpha) and math.isfinite(self.alpha) and self.alpha > 0, "alpha", self.alpha,
               "a finite number > 0 (the paper's α; Zipf exponent α+1)")
        check(is_real(self.n_skills) and self.n_skills >= 1
               and (math.isinf(self.n_skills) or float(self.n_skills).is_integer()),
               "n_skills", self.n_skills, "an integer ≥ 1 or math.inf")
        check(is_real(self.scale) and math.isfinite(self.scale) and self.scale > 0, "scale", self.scale,
               "a finite number > 0 (S)")
        check(is_real(self.lr) and math.isfinite(self.lr) and self.lr > 0, "lr", self.lr, "a finite number > 0")
        check(is_real(self.init) and math.isfinite(self.init), "init", self.init, "a finite number (a_k(0))")
        if self.init_b is not None:
            check(is_real(self.init_b) and math.isfinite(self.init_b), "init_b", self.init_b,
                   "a finite number (b_k(0)) or None")
        check(isinstance(self.exact_skills, (int, np.integer)) and 100 <= self.exact_skills <= 10**7,
               "exact_skills", self.exact_skills, "an integer in [100, 1e7]")
        check(self.r0 < self.scale, "init", self.init, f"init·init_b < scale={self.scale}")
        check(self.r0 > 0 or self.delta != 0, "init", self.init,
               "init·init_b > 0, or init² ≠ init_b² (otherwise R_k stays at a saddle)")

    # -- basic quantities ---------------------------------------------------------------
    @property
    def b0(self) -> float:
        return self.init if self.init_b is None else float(self.init_b)

    @property
    def r0(self) -> float:
        """R_k(0) = a_k(0)·b_k(0)."""
        return float(self.init) * self.b0

    @property
    def delta(self) -> float:
        """The conserved a_k² − b_k²."""
        return float(self.init) ** 2 - self.b0 ** 2

    @property
    def balanced(self) -> bool:
        return self.delta == 0.0

    @property
    def offset_c(self) -> float:
        """c = S/R_k(0) − 1 of the balanced closed form."""
        return self.scale / self.r0 - 1.0

    @property
    def normalizer(self) -> float:
        """Z = Σ_{k≤n_s} k^-(α+1)."""
        return zipf_normalizer(self.n_skills, self.alpha)

    @property
    def frequencies(self) -> np.ndarray:
        """P_k for all skills, ``[n_s]`` (finite n_s ≤ 1e8 only)."""
        check(math.isfinite(self.n_skills) and self.n_skills <= 10**8, "n_skills", self.n_skills,
               "≤ 1e8 to list every frequency (use frequency(k))")
        return self.frequency(np.arange(1, int(self.n_skills) + 1))

    def frequency(self, k) -> np.ndarray:
        """P_k for 1-based skill indices ``k`` (any shape)."""
        k = np.asarray(k, dtype=np.float64)
        return k ** -(self.alpha + 1.0) / self.normalizer

    def _skills(self, skills) -> np.ndarray:
        if skills is None:
            check(math.isfinite(self.n_skills) and self.n_skills <= 10_000, "skills", skills,
                   "a list of 1-based skill indices when n_skills > 10000")
            return np.arange(1, int(self.n_skills) + 1)
        k = np.atleast_1d(np.asarray(skills))
        check(k.ndim == 1 and k.size > 0 and np.issubdtype(k.dtype, np.integer) and bool(np.all(k >= 1))
               and bool(np.all(k <= self.n_skills)), "skills", _short(k),
               f"1-based integer skill indices in [1, {self.n_skills}]")
        return k.astype(np.int64)

    # -- closed-form dynamics -------------------------------------------------------------
    def _F(self, r):
        """Antiderivative with dF/dR = 1/((S − R)·(a² + b²)), a² + b² = sqrt(δ² + 4R²)."""
        S, d2 = self.scale, self.delta ** 2
        sq = math.sqrt(4 * S * S + d2)
        num = 2 * d2 + 8 * S * r + 2 * sq * np.sqrt(d2 + 4 * r * r)
        with np.errstate(divide="ignore"):
            return np.log(num / (S - r)) / sq

    def rho(self, u) -> np.ndarray:
        """R/S as a function of rescaled time u = rate·t (rate = η·P_k), closed form.

        Balanced start: 1/(1 + c·e^{−2Su}); otherwise F(R) = F(R_0) + u is inverted by
        bisection (F is the closed-form antiderivative above, monotone in R).
        """
        u = np.asarray(u, dtype=np.float64)
        S = self.scale
        if self.balanced:
            return special.expit(2.0 * S * u - math.log(self.offset_c))
        target = self._F(self.r0) + u
        lo = np.full(u.shape, math.log(S) - 46.0)          # S − R tiny: R → S
        hi = np.full(u.shape, math.log(S - self.r0))        # R = R_0
        for _ in range(64):
            mid = 0.5 * (lo + hi)
            above = self._F(S - np.exp(mid)) > target       # R(mid) has gone past the target
            lo = np.where(above, mid, lo)
            hi = np.where(above, hi, mid)
        r = S - np.exp(0.5 * (lo + hi))
        return np.where(u <= 0, self.r0, r) / S

    def _rates(self, skills, counts):
        if counts is None:
            return self.lr * self.frequency(skills)
        d = np.asarray(counts, dtype=np.float64)
        check(d.ndim == 1 and math.isfinite(self.n_skills) and d.size == self.n_skills and bool(np.all(d >= 0))
               and d.sum() > 0, "counts", _short(d), f"{self.n_skills} observation counts ≥ 0, not all zero")
        return self.lr * d[skills - 1] / d.sum()

    def strength(self, T, skills=None, *, counts=None, n_params=None) -> np.ndarray:
        """R_k(T)/S in closed form, ``[n_T, n_selected]``.

        T: times ≥ 0; skills: 1-based indices (default all, n_s ≤ 10000); counts: ``[n_s]``
        observations d_k of each skill in a training set of D = Σ d_k samples (finite-data
        model: the rate η·P_k becomes η·d_k/D); n_params: model width N (skills k > N have
        R_k = 0).
        """
        T = np.atleast_1d(np.asarray(T, dtype=np.float64))
        check(T.ndim == 1 and bool(np.all(np.isfinite(T)) and np.all(T >= 0)), "T", _short(T),
               "a 1-D array of finite times ≥ 0")
        k = self._skills(skills)
        rates = self._rates(k, counts)
        out = self.rho(T[:, None] * rates[None, :])
        if counts is not None:
            out = np.where(rates[None, :] > 0, out, self.r0 / self.scale)
        if n_params is not None:
            check(is_real(n_params) and n_params >= 0, "n_params", n_params, "a number ≥ 0")
            out = np.where(k[None, :] <= n_params, out, 0.0)
        return out

    def integrate(self, T, skills=None, *, counts=None, rtol: float = 1e-11, atol: float = 1e-13) -> np.ndarray:
        """R_k(T)/S by numerical integration of the a_k, b_k equations (scipy DOP853),
        ``[n_T, n_selected]``; the check on :meth:`strength`."""
        T = np.atleast_1d(np.asarray(T, dtype=np.float64))
        check(T.ndim == 1 and bool(np.all(np.isfinite(T)) and np.all(T >= 0)), "T", _short(T),
               "a 1-D array of finite times ≥ 0")
        k = self._skills(skills)
        rates = self._rates(k, counts)
        S, m = self.scale, k.size

        def rhs(_, y):
            a, b = y[:m], y[m:]
            g = rates * (S - a * b)
            return np.concatenate([g * b, g * a])

        y0 = np.concatenate([np.full(m, float(self.init)), np.full(m, self.b0)])
        order = np.argsort(T)
        ts = T[order]
        sol = integrate.solve_ivp(rhs, (0.0, float(ts[-1]) if ts[-1] > 0 else 1.0), y0, method="DOP853",
                                  t_eval=ts, rtol=rtol, atol=atol)
        if not sol.success:  # pragma: no cover
            raise RuntimeError(f"integration failed: {sol.message}")
        r = (sol.y[:m] * sol.y[m:]).T / S
        out = np.empty_like(r)
        out[order] = r
        return out

    def emergence_time(self, skills, threshold: float = 0.05, *, counts=None) -> np.ndarray:
        """Time τ_k at which R_k/S first reaches ``threshold``, closed form, ``[n_selected]``
        (τ_k = [F(θS) − F(R_0)] / (η P_k) ∝ k^(α+1); 0 if R_k(0)/S ≥ θ, inf if never)."""
        check(is_real(threshold) and 0 < threshold < 1, "threshold", threshold, "a number in (0, 1)")
        k = self._skills(skills)
        rates = self._rates(k, counts)
        if self.r0 >= threshold * self.scale:
            return np.zeros(k.size)
        gap = float(self._F(threshold * self.scale) - self._F(self.r0))
        with np.errstate(divide="ignore"):
            return np.where(rates > 0, gap / rates, np.inf)

    # -- sums over skills ----------------------------------------------------------------
    def _hurwitz_tail(self, n) -> np.ndarray:
        """Σ_{k>n}^{n_s} k^-(α+1) (not normalised), for n ≥ 0 (array)."""
        n = np.asarray(n, dtype=np.float64)
        s = self.alpha + 1.0
        end = 0.0 if math.isinf(self.n_skills) else special.zeta(s, self.n_skills + 1.0)
        return np.maximum(special.zeta(s, n + 1.0) - end, 0.0)

    def mass_beyond(self, n) -> np.ndarray:
        """Σ_{k>n} P_k: the frequency mass of skills beyond index n (array n ≥ 0)."""
        n = np.minimum(np.asarray(n, dtype=np.float64), float(self.n_skills))
        if math.isfinite(self.n_skills) and self.n_skills <= self.exact_skills:
            tails = np.append(np.cumsum(self.frequencies[::-1])[::-1], 0.0)  # tails[j] = Σ_{k>j} P_k
            return tails[np.clip(n.astype(np.int64), 0, int(self.n_skills))]
        return self._hurwitz_tail(n) / self.normalizer

    def _zipf_sum(self, phi, phi0, upto) -> np.ndarray:
        """Σ_{k=1}^{upto} P_k·φ(P_k), ``[B]``.

        phi(P ``[m]``) → ``[B, m]``; phi0 ``[B]`` = φ(0). Exact for k ≤ exact_skills; beyond,
        φ0 times the Hurwitz tail plus a Gauss-Legendre (midpoint Euler-Maclaurin) integral of
        P(k)·(φ(P(k)) − φ0) over log k, which decays fast once the skills are out of reach.
        """
        upto = min(float(upto), float(self.n_skills))
        K = int(min(upto, self.exact_skills))
        phi0 = np.asarray(phi0, dtype=np.float64)
        total = np.zeros(phi0.shape)
        for start in range(0, K, 8192):
            k = np.arange(start + 1, min(K, start + 8192) + 1, dtype=np.float64)
            p = self.frequency(k)
            total += phi(p) @ p
        if upto > K:
            total += phi0 * (self._hurwitz_tail(K) - self._hurwitz_tail(upto)) / self.normalizer
            lo = math.log(K + 0.5)
            hi = min(math.log(upto + 0.5), lo + 90.0)
            edges = np.linspace(lo, hi, max(2, int(math.ceil((hi - lo) / 0.5)) + 1))
            mids = 0.5 * (edges[1:] + edges[:-1])
            half = 0.5 * (edges[1:] - edges[:-1])
            s = (mids[:, None] + half[:, None] * _GL_X[None, :]).reshape(-1)
            w = (half[:, None] * _GL_W[None, :]).reshape(-1)
            kk = np.exp(s)
            p = self.frequency(kk)
            total += (phi(p) - phi0[:, None]) @ (p * kk * w)
            # Euler-Maclaurin: Σ_{k=a}^{b} g(k) = ∫_{a-½}^{b+½} g − [g'(b+½) − g'(a-½)]/24 + …
            ends = np.array([math.exp(lo), math.exp(hi)])
            eps = 1e-4
            kp, km = ends * (1 + eps), ends * (1 - eps)
            gp = (phi(self.frequency(kp)) - phi0[:, None]) * self.frequency(kp)
            gm = (phi(self.frequency(km)) - phi0[:, None]) * self.frequency(km)
            slope = (gp - gm) / (2 * eps * ends)
            total -= (slope[:, 1] - slope[:, 0]) / 24.0
        return total

    # -- loss curves ---------------------------------------------------------------------
    def loss_time(self, T, n_params=None) -> np.ndarray:
        """L(T) = ½ Σ_k P_k (S − R_k(T))² with infinite data, ``[n_T]``; n_params = width N
        (skills beyond N are never learned)."""
        T = np.atleast_1d(np.asarray(T, dtype=np.float64))
        check(T.ndim == 1 and bool(np.all(np.isfinite(T)) and np.all(T >= 0)), "T", _short(T),
               "a 1-D array of finite times ≥ 0")
        N = self.n_skills if n_params is None else n_params
        check(is_real(N) and N >= 0, "n_params", n_params, "a number ≥ 0 or None")
        S = self.scale
        phi = lambda p: (1.0 - self.rho(self.lr * T[:, None] * p[None, :])) ** 2  # noqa: E731
        phi0 = np.full(T.shape, (1.0 - self.r0 / S) ** 2)
        learned = self._zipf_sum(phi, phi0, N) if N >= 1 else np.zeros(T.shape)
        return 0.5 * S * S * (learned + self.mass_beyond(N))

    def loss_data(self, D, T=None, *, seed=None) -> np.ndarray:
        """L(D) after training to convergence (T=None) on D samples, averaged over data sets:
        ½ (S − R_0)² Σ_k P_k (1 − P_k)^D (a skill seen at least once is learned exactly).
        With a finite T, one data set per D is drawn (``seed`` required, n_s ≤ 1e7) and the
        finite-data dynamics are run to T. ``[n_D]``."""
        D = np.atleast_1d(np.asarray(D, dtype=np.float64))
        check(D.ndim == 1 and bool(np.all(np.isfinite(D)) and np.all(D >= 0)), "D", _short(D),
               "a 1-D array of data-set sizes ≥ 0")
        S = self.scale
        if T is None:
            def phi(p):
                return np.exp(D[:, None] * np.log1p(-np.minimum(p, 1 - 1e-16))[None, :])
            return 0.5 * (S - self.r0) ** 2 * self._zipf_sum(phi, np.ones(D.shape), self.n_skills)
        check(is_real(T) and math.isfinite(T) and T >= 0, "T", T, "a finite time ≥ 0 or None")
        check(isinstance(seed, (int, np.integer)) and not isinstance(seed, bool), "seed", seed,
               "an integer when T is finite (a data set is drawn)")
        check(math.isfinite(self.n_skills) and self.n_skills <= 10**7, "n_skills", self.n_skills,
               "≤ 1e7 to draw data sets")
        check(bool(np.all(D == np.round(D))), "D", _short(D), "integers")
        rng = np.random.default_rng(seed)
        p = self.frequencies
        out = np.empty(D.size)
        for i, d in enumerate(D.astype(np.int64)):
            if d == 0:
                r = np.full(p.size, self.r0 / S)
            else:
                counts = rng.multinomial(d, p)
                rate = self.lr * counts / d
                r = np.where(counts > 0, self.rho(T * rate), self.r0 / S)
            out[i] = 0.5 * S * S * np.sum(p * (1.0 - r) ** 2)
        return out

    def loss_params(self, N) -> np.ndarray:
        """L(N) = ½ S² Σ_{k>N} P_k: a width-N model trained to convergence, ``[n_N]``."""
        N = np.atleast_1d(np.asarray(N, dtype=np.float64))
        check(N.ndim == 1 and bool(np.all(np.isfinite(N)) and np.all(N >= 0)), "N", _short(N), "widths ≥ 0")
        return 0.5 * self.scale ** 2 * self.mass_beyond(np.floor(N))

    def compute_frontier(self, C, widths=None) -> ComputeFrontier:
        """Best loss at compute C = N·T over widths N (default: 24 per decade up to
        min(n_s, 1e4)), with the width that reaches it."""
        C = np.atleast_1d(np.asarray(C, dtype=np.float64))
        check(C.ndim == 1 and bool(np.all(np.isfinite(C)) and np.all(C > 0)), "C", _short(C), "compute values > 0")
        if widths is None:
            top = min(float(self.n_skills), 1e4)
            widths = np.unique(np.round(np.logspace(0, math.log10(top), int(24 * math.log10(top)) + 1)))
        w = np.unique(np.asarray(widths, dtype=np.float64))
        check(w.ndim == 1 and bool(np.all(w >= 1) and np.all(w == np.round(w))), "widths", _short(w),
               "integer widths ≥ 1")
        losses = np.stack([self.loss_time(C / n, n_params=n) for n in w])
        best = np.argmin(losses, axis=0)
        return ComputeFrontier(compute=C, loss=losses[best, np.arange(C.size)], width=w[best], widths=w,
                               losses=losses)

    # -- theory: exponents and prefactors ------------------------------------------------
    def _decay_integral(self, lower: float = 0.0) -> float:
        """∫_lower^∞ u^{−1/(α+1)} (1 − ρ(u))² du, the time-law integral."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", integrate.IntegrationWarning)
            return self._decay_integral_raw(lower)

    def _decay_integral_raw(self, lower: float) -> float:
        e = -1.0 / (self.alpha + 1.0)
        S = self.scale
        f = lambda u: (1.0 - self.rho(np.asarray(u)).item()) ** 2  # noqa: E731
        u_star = max(float(self._F(0.5 * S) - self._F(self.r0)), 1e-12) if self.r0 < 0.5 * S else 1.0
        total = 0.0
        if lower < u_star:
            if lower == 0.0:
                val, _ = integrate.quad(f, 0.0, u_star, weight="alg", wvar=(e, 0.0), limit=200, epsabs=0, epsrel=1e-11)
            else:
                val, _ = integrate.quad(lambda u: u ** e * f(u), lower, u_star, limit=200, epsabs=0, epsrel=1e-11)
            total += val
            start = u_star
        else:
            start = lower
        val, _ = integrate.quad(lambda u: u ** e * f(u), start, np.inf, limit=200, epsabs=0, epsrel=1e-11)
        return total + val

    def law(self, resource: str) -> ScalingLaw:
        """Theoretical power law for ``resource`` in 'time', 'data', 'parameters', 'compute',
        with the prefactor computed from the model's constants (continuum limit over skills):

        - time: L = ½S²·Z^{−1/(α+1)}/(α+1)·η^{−α/(α+1)}·∫₀^∞ u^{−1/(α+1)}(1−ρ(u))² du · T^{−α/(α+1)}
        - data: L = ½(S−R₀)²·Z^{−1/(α+1)}/(α+1)·Γ(α/(α+1)) · D^{−α/(α+1)}
        - parameters: L = ½S²/(αZ) · N^{−α}
        - compute: L = ½S²·η^{−α/(α+2)}·Z^{−2/(α+2)}·min_x G(x) · C^{−α/(α+2)}, with
          G(x) = x^{−α/((α+1)(α+2))}·J(x)/(α+1) + x^{α/(α+2)}/α, J(x) the time integral from x.
        """
        check(resource in _LAWS, "resource", resource, f"one of {_LAWS}")
        a, S, Z, eta = self.alpha, self.scale, self.normalizer, self.lr
        half = 0.5 * S * S
        if resource == "time":
            pre = half * Z ** (-1 / (a + 1)) / (a + 1) * eta ** (-a / (a + 1)) * self._decay_integral()
            return ScalingLaw("time", -a / (a + 1), float(pre))
        if resource == "data":
            pre = 0.5 * (S - self.r0) ** 2 * Z ** (-1 / (a + 1)) / (a + 1) * special.gamma(a / (a + 1))
            return ScalingLaw("data", -a / (a + 1), float(pre))
        if resource == "parameters":
            return ScalingLaw("parameters", -a, float(half / (a * Z)))
        g_min = self._compute_g_min()
        pre = half * eta ** (-a / (a + 2)) * Z ** (-2 / (a + 2)) * g_min
        return ScalingLaw("compute", -a / (a + 2), float(pre))

    def _compute_g_min(self) -> float:
        a = self.alpha

        def g(log_x):
            x = math.exp(log_x)
            j = self._decay_integral(lower=x)
            return x ** (-a / ((a + 1) * (a + 2))) * j / (a + 1) + x ** (a / (a + 2)) / a

        grid = np.linspace(-8.0, 8.0, 33)
        vals = np.array([g(v) for v in grid])
        i = int(np.clip(np.argmin(vals), 1, grid.size - 2))
        res = optimize.minimize_scalar(g, bounds=(grid[i - 1], grid[i + 1]), method="bounded",
                                       options={"xatol": 1e-9})
        return float(res.fun)

    def paper_constants(self) -> dict:
        """The prefactors in the units the paper's code uses: time
        A_T / (½S²·(ηS)^{−α/(α+1)}) and compute A_C / (½S²)."""
        a, S = self.alpha, self.scale
        t = self.law("time").prefactor / (0.5 * S * S * (self.lr * S) ** (-a / (a + 1)))
        c = self.law("compute").prefactor / (0.5 * S * S)
        return {"time": float(t), "compute": float(c)}

    def scaling_laws(self, skill_range=(30, 3000), n_points: int = 25, *, level: float = 0.95,
                     n_boot: int = 200, seed: int = 0, resources=_LAWS) -> tuple[ScalingCheck, ...]:
        """Measure each law on the model over the range where skills ``skill_range`` are at the
        frontier, and set it beside the theory. Ranges: time [τ(k_lo), τ(k_hi)] (τ at R/S = ½),
        data [1/P_{k_lo}, 1/P_{k_hi}], parameters [k_lo, k_hi], compute
        [k_lo·τ(k_lo), k_hi·τ(k_hi)] with widths up to 10·k_hi.

        >>> m = Multilinear(alpha=0.9, n_skills=math.inf)
        >>> (c,) = m.scaling_laws((10, 300), 12, resources=("parameters",), n_boot=50)
        >>> abs(c.exponent_error) < 0.02
        True
        """
        k_lo, k_hi = skill_range
        check(is_real(k_lo) and is_real(k_hi) and 1 <= k_lo < k_hi <= self.n_skills, "skill_range",
               skill_range, f"(k_lo, k_hi) with 1 ≤ k_lo < k_hi ≤ n_skills={self.n_skills}")
        check(isinstance(n_points, int) and n_points >= 5, "n_points", n_points, "an integer ≥ 5")
        for r in resources:
            check(r in _LAWS, "resources", resources, f"a subset of {_LAWS}")
        out = []
        for r in resources:
            if r == "time":
                t_lo, t_hi = self.emergence_time([int(k_lo), int(k_hi)], 0.5)
                x = np.logspace(math.log10(t_lo), math.log10(t_hi), n_points)
                y = self.loss_time(x)
            elif r == "data":
                p_lo, p_hi = self.frequency([k_lo, k_hi])
                x = np.logspace(math.log10(1 / p_lo), math.log10(1 / p_hi), n_points)
                y = self.loss_data(x)
            elif r == "parameters":
                x = np.unique(np.round(np.logspace(math.log10(k_lo), math.log10(k_hi), n_points)))
                y = self.loss_params(x)
            else:
                t_lo, t_hi = self.emergence_time([int(k_lo), int(k_hi)], 0.5)
                x = np.logspace(math.log10(k_lo * t_lo), math.log10(k_hi * t_hi), n_points)
                top = min(float(self.n_skills), 10.0 * k_hi)
                widths = np.unique(np.round(np.logspace(0, math.log10(top), int(40 * math.log10(top)) + 1)))
                y = self.compute_frontier(x, widths).loss
            fit = fit_power_law(x, y, level=level, n_boot=n_boot, seed=seed)
            out.append(ScalingCheck(r, self.law(r), fit, x, y))
        return tuple(out)
