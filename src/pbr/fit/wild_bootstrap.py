"""Exact wild cluster bootstraps of the DiD coefficient: the LPM's restricted bootstrap (WCR)
and the logit's wild cluster score bootstrap, on one exact partialling-out of the nuisance terms.

The rows of these methods (their checks, intervals by test inversion, notes) are built by
:func:`pbr.fit.inference.few_cluster_rows`; the same cross-products also carry the pieces
randomisation inference reads (:mod:`pbr.fit.randomisation`), and the power simulation
(:mod:`pbr.fit.power`) reuses the logit's. Every sum over rows is weighted by the design's
frequency weights (``Design.freq``), so a table of identical journeys collapsed into one row
with their count gives the journeys' statistics exactly.

Nuisance design
---------------
The area, period and covariate dummies form the sparse design ``W`` of :mod:`pbr.fit.design`:
every projection on it is exact, and every quantity the methods below need is a small
cross-product (k x G or G x G, G = number of areas), so re-assignments and bootstrap
draws cost microseconds each.

Methods (row ``method`` names of :func:`pbr.fit.inference.few_cluster_rows`)
---------------------------------------------------------------------------
``lpm_wcb_webb`` (:func:`lpm_parts`, :func:`wcr_tstats`, :func:`wcr_pvalue`)
    Restricted wild cluster bootstrap (WCR, "WCR-11") of the LPM's CRV1 t statistic,
    Webb six-point weights drawn per area. In each draw the bootstrap sample is refitted
    on the full design, so the bootstrap t uses refitted residuals (exactly; the test
    suite checks one draw against a pyfixest refit). p = share of the B draws with
    |t*| >= |t| (symmetric, two-sided). CI = {delta: p(delta) > alpha} by test inversion
    (same draws for every delta), found by stepping outward from the estimate, then Brent's method.
    (pyfixest's own ``Feols.wildboottest`` needs the optional ``wildboottest`` package,
    which is not in this environment; this implementation replaces it.)
``logit_score_wcb`` (:func:`logit_parts`, :func:`score_tstats`, :func:`score_pvalue`)
    Wild cluster *score* bootstrap (Kline & Santos 2012) for the logit coefficient: the
    logit is fitted under H0: beta = delta (offset delta * did), the per-area efficient
    scores s_g (did partialled out of the nuisance terms with the IRLS weights) are
    perturbed by Webb weights, and the studentised score T = sum s_g / sqrt(sum s_g^2)
    is compared with its bootstrap law; the bootstrap denominator includes the one-step
    re-estimation of the nuisance parameters (the analogue of WCR's refit). The CI
    (odds-ratio scale) inverts the test by refitting the restricted logit at each
    trial delta. Never uses ``Felogit.wildboottest`` (which bootstraps the LPM; P-B1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import special

from pbr.fit.design import Design, Projector, fit_logit


def at_least_as_extreme(stat: np.ndarray, obs: float | np.ndarray) -> np.ndarray:
    """|stat| >= |obs| with a relative tolerance for floating-point ties (the two-sided
    comparison of every bootstrap and randomisation p-value)."""
    a = np.abs(obs)
    return np.abs(stat) >= a - 1e-10 * np.maximum(a, 1e-300)


# ---------------------------------------------------------------------------------------
# LPM: exact wild cluster restricted bootstrap


@dataclass
class LpmParts:
    """Cross-products of the LPM after partialling out W (see module docstring), with the pieces
    randomisation inference reads (:mod:`pbr.fit.randomisation`)."""

    beta: float
    se_crv1_unscaled: float  # sqrt(sum_g (x~_g'u_g)^2) / x~'x~, no small-sample factor
    s_y: np.ndarray  # (G,) x~_g'y~_g
    s_x: np.ndarray  # (G,) x~_g'x~_g
    a_y: np.ndarray  # (G,G) F'(W'W)^-1 E_y
    a_x: np.ndarray  # (G,G) F'(W'W)^-1 F
    # randomisation-inference pieces (areas)
    c_y: np.ndarray  # (G,) z~_a'y~
    gram_z: np.ndarray  # (G,G) Z~'Z~
    h_y: np.ndarray  # (G,G) H[g,a] = sum_{i in g} z~_a,i y~_i
    h_x: np.ndarray  # (G,G) same with x~ (observed did) in place of y~
    treated: np.ndarray  # (G,) bool, observed assignment


def lpm_parts(design: Design) -> LpmParts:
    """Partial W out of y, did and the area x post columns once; keep only small matrices."""
    f = design.freq  # every sum over rows is a sum over journeys
    proj = Projector(design)
    y_t = proj.resid(design.y)
    x_t = proj.resid(design.did)
    fx = f * x_t
    xx = float(fx @ x_t)
    beta = float(fx @ y_t) / xx
    s_y, s_x = design.by_area(fx * y_t), design.by_area(fx * x_t)
    q = s_y - beta * s_x
    F = design.wt_by_area(fx)
    E_y = design.wt_by_area(f * y_t)
    a_y = F.T @ proj.solve(E_y)
    a_x = F.T @ proj.solve(F)
    Z = design.z_matrix()
    post = design.post_column()
    WtZ = np.asarray((design.WT @ (sp.diags(f) @ Z)).todense())
    B = proj.solve(WtZ)
    gram_z = np.diag(design.by_area(f * post)) - WtZ.T @ B
    c_y = design.by_area(f * post * y_t)
    h_y = np.diag(c_y) - E_y.T @ B
    h_x = np.diag(design.by_area(post * fx)) - F.T @ B
    return LpmParts(
        beta=beta,
        se_crv1_unscaled=float(np.sqrt(np.sum(q**2)) / xx),
        s_y=s_y,
        s_x=s_x,
        a_y=a_y,
        a_x=a_x,
        c_y=c_y,
        gram_z=gram_z,
        h_y=h_y,
        h_x=h_x,
        treated=design.treated,
    )


@dataclass(frozen=True)
class WcrDraws:
    """The WCR statistic for the draws v (G x B) as a function of the null delta, reduced once.

    Every piece is linear in delta: the bootstrap numerator num(delta) = n0 - delta n1 (B,) and the
    per-area scores q(delta) = R0 - delta R1 (G x B), with R0 = s_y v - a_y v - s_x (s_y'v)/x'x and
    R1 the same with x for y. So sum_g q^2 = S00 - 2 delta S01 + delta^2 S11 with S.. (B,) the
    column sums of R0 R0, R0 R1 and R1 R1, computed here once: each delta of a test inversion then
    costs O(B), where the direct form costs a G x B product (at paper scale, 149 areas and 9,999
    draws, most of each p-value's time). The tests check it against the direct form.
    """

    parts: LpmParts
    n0: np.ndarray  # (B,) s_y'v
    n1: np.ndarray  # (B,) s_x'v
    s00: np.ndarray  # (B,)
    s01: np.ndarray  # (B,)
    s11: np.ndarray  # (B,)

    @classmethod
    def of(cls, parts: LpmParts, v: np.ndarray) -> WcrDraws:
        xx = parts.s_x.sum()
        n0, n1 = parts.s_y @ v, parts.s_x @ v
        r0 = parts.s_y[:, None] * v - parts.a_y @ v - parts.s_x[:, None] * (n0 / xx)[None, :]
        r1 = parts.s_x[:, None] * v - parts.a_x @ v - parts.s_x[:, None] * (n1 / xx)[None, :]
        return cls(parts, n0, n1, np.sum(r0 * r0, axis=0), np.sum(r0 * r1, axis=0), np.sum(r1 * r1, axis=0))

    def tstats(self, delta: float = 0.0) -> tuple[float, np.ndarray]:
        """Observed t and bootstrap t* under H0: beta = delta (:func:`wcr_tstats`)."""
        t_obs = (self.parts.beta - delta) / self.parts.se_crv1_unscaled
        num = self.n0 - delta * self.n1  # (B,) = x~'x~ (beta* - delta)
        ss = np.maximum(self.s00 - 2 * delta * self.s01 + delta * delta * self.s11, 0.0)
        return t_obs, num / np.sqrt(ss)

    def pvalue(self, delta: float = 0.0) -> float:
        """Symmetric two-sided WCR p-value under H0: beta = delta (:func:`wcr_pvalue`)."""
        t_obs, t_star = self.tstats(delta)
        return float(np.mean(at_least_as_extreme(t_star, t_obs)))


def wcr_tstats(parts: LpmParts, v: np.ndarray, delta: float = 0.0) -> tuple[float, np.ndarray]:
    """Observed t and bootstrap t* (WCR, H0: beta = delta) for weight matrix v (G x B).

    Both without the CRV1 small-sample factor, which cancels in the comparison. For many deltas
    with the same draws, :class:`WcrDraws` computes the products with v once.
    """
    return WcrDraws.of(parts, v).tstats(delta)


def wcr_pvalue(parts: LpmParts, v: np.ndarray, delta: float = 0.0) -> float:
    """Symmetric two-sided WCR p-value: share of draws with |t*| >= |t|."""
    return WcrDraws.of(parts, v).pvalue(delta)


# ---------------------------------------------------------------------------------------
# Logit: restricted fit, efficient scores, score bootstrap (and the RI pieces)


@dataclass
class LogitParts:
    """Logit fitted under H0: beta = delta, and its efficient-score cross-products."""

    delta: float
    eta: np.ndarray  # linear predictor of the restricted fit (warm start for the next delta)
    s: np.ndarray  # (G,) per-area efficient scores of did
    info: float  # efficient information for beta
    a: np.ndarray  # (G,G) one-step nuisance re-estimation map
    treated: np.ndarray
    # RI pieces (only when with_ri=True)
    c: np.ndarray | None = None  # (G,) efficient score of each area's post column
    gram_z: np.ndarray | None = None  # (G,G) weighted Z~'Z~
    h: np.ndarray | None = None  # (G,G) per-cluster efficient scores of each area's column


def logit_parts(
    design: Design, delta: float = 0.0, eta_start: np.ndarray | None = None, with_ri: bool = False
) -> LogitParts:
    """Fit the logit without did (offset delta * did) and build the score quantities."""
    off = delta * design.did
    f = design.freq
    _, eta, _ = fit_logit(
        design.W, design.y, offset=off, eta_start=eta_start, gram=design.gram, freq=f, WT=design.WT
    )
    p = special.expit(eta)
    w = f * p * (1 - p)
    e = design.y - p
    proj = Projector(design, w)
    x_t = design.did - design.W @ proj.coef(design.did)
    s = design.by_area(f * x_t * e)
    info = float(np.sum(w * x_t * x_t))
    F = design.wt_by_area(w * x_t)
    E = design.wt_by_area(f * e)
    a = F.T @ proj.solve(E)
    parts = LogitParts(delta=delta, eta=eta, s=s, info=info, a=a, treated=design.treated)
    if with_ri:
        Z = design.z_matrix()
        post = design.post_column()
        WtwZ = np.asarray((design.WT @ (sp.diags(w) @ Z)).todense())
        B = proj.solve(WtwZ)
        ze = design.by_area(f * post * e)
        parts.gram_z = np.diag(design.by_area(w * post)) - WtwZ.T @ B
        parts.c = ze - B.T @ E.sum(axis=1)
        parts.h = np.diag(ze) - E.T @ B
    return parts


def score_tstats(parts: LogitParts, v: np.ndarray) -> tuple[float, np.ndarray]:
    """Observed studentised score and its wild-bootstrap draws (weights v, G x B)."""
    t_obs = parts.s.sum() / np.sqrt(np.sum(parts.s**2))
    q = parts.s[:, None] * v - parts.a @ v
    return float(t_obs), (parts.s @ v) / np.sqrt(np.sum(q**2, axis=0))


def score_pvalue(parts: LogitParts, v: np.ndarray) -> float:
    """Wild cluster score bootstrap p-value: the share of draws t* at least as extreme as t (:func:`score_tstats`)."""
    t_obs, t_star = score_tstats(parts, v)
    return float(np.mean(at_least_as_extreme(t_star, t_obs)))
