"""Few-cluster inference for the DiD: wild cluster bootstraps and randomisation inference.

Only 8 of the 149 areas are treated, so cluster-robust (CRV1) standard errors over-state
precision. This module gives the honest alternatives, all clustered by area and all
built on one exact partialling-out of the nuisance terms.

Nuisance design
---------------
The area, period and covariate dummies form the sparse design ``W`` of :mod:`pbr.fit.design`:
every projection on it is exact, and every quantity the methods below need is a small
cross-product (k x G or G x G, G = number of areas), so re-assignments and bootstrap
draws cost microseconds each.

Methods (row ``method`` names, see :func:`few_cluster_rows`)
-----------------------------------------------------------
``lpm_wcb_webb``
    Restricted wild cluster bootstrap (WCR, "WCR-11") of the LPM's CRV1 t statistic,
    Webb six-point weights drawn per area. In each draw the bootstrap sample is refitted
    on the full design, so the bootstrap t uses refitted residuals (exactly; the test
    suite checks one draw against a pyfixest refit). p = share of the B draws with
    |t*| >= |t| (symmetric, two-sided). CI = {delta: p(delta) > alpha} by test inversion
    (same draws for every delta), found by stepping outward from the estimate, then Brent's method.
    (pyfixest's own ``Feols.wildboottest`` needs the optional ``wildboottest`` package,
    which is not in this environment; this implementation replaces it.)
``logit_score_wcb``
    Wild cluster *score* bootstrap (Kline & Santos 2012) for the logit coefficient: the
    logit is fitted under H0: beta = delta (offset delta * did), the per-area efficient
    scores s_g (did partialled out of the nuisance terms with the IRLS weights) are
    perturbed by Webb weights, and the studentised score T = sum s_g / sqrt(sum s_g^2)
    is compared with its bootstrap law; the bootstrap denominator includes the one-step
    re-estimation of the nuisance parameters (the analogue of WCR's refit). The CI
    (odds-ratio scale) inverts the test by refitting the restricted logit at each
    trial delta. Never uses ``Felogit.wildboottest`` (which bootstraps the LPM; P-B1).
``lpm_ri`` / ``logit_ri``
    Randomisation inference over areas: R random re-assignments of "pilot" to as many
    areas as are treated in the data, among all areas in the data. Statistic: the LPM
    coefficient (exact, via Frisch-Waugh-Lovell: beta_S = 1_S'c / 1_S'G 1_S), and for
    the logit the one-step estimate from the no-effect logit fitted once (efficient
    score / efficient information, a fast stand-in for refitting the logit that agrees
    with refits in sign and ranking). p = (1 + #{|stat_perm| >= |stat_obs|}) / (1 + R).
    LPM CI by test inversion under the constant additive effect sharp null
    H0: y_i(0) = y_i - delta * did_i (exact breakpoints are step points of p(delta),
    located by Brent's method). Logit RI: p-value only (H0: the outcome does not depend on
    the pilot assignment).
``lpm_ri_t`` / ``logit_ri_t``
    The same re-assignments with a studentised statistic (score-type t: the sum of the
    per-area efficient scores over its cluster-robust norm, residuals from the model
    fitted under H0). Studentising guards against treated areas that are larger or
    smaller than the rest (MacKinnon & Webb 2020). LPM: CI by inversion; logit: p only.

All draws come from ``numpy.random.default_rng(seed)``; same data and seed, same numbers.

Estimability
------------
Every row carries ``status`` and ``min_cell_events`` (``pbr.fit.spec.RESULT_COLUMNS``) from the
checks shared with ``models.fit_did`` (:mod:`pbr.fit.estimability`): ``estimability`` on the
model frame before anything is fitted (per family: a group x period cell without outcome
variation makes the logit methods not estimable and the LPM methods a caveat), then ``fit_check`` on
the point estimate (logit: divergence of the unrestricted fit or of its linear predictor
on the pilot post-period journeys, non-convergence, zero efficient information; LPM: a
risk difference outside [-1, 1] or a zero standard error) and on each row's interval
(beyond odds ratios 1e-6..1e6 or unbounded, or beyond [-1, 1]: caveat). A not-estimable
family gives rows without numbers for all its methods, and its bootstrap and test
inversion are not run. Randomisation inference with fewer distinct re-assignments than
``ri_reps`` (few areas) is a caveat: p cannot fall below 1 / (number of assignments).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import optimize, special

from pbr.fit.design import Design, Projector, build_design, fit_logit
from pbr.fit.estimability import Estimability, estimability, fit_check, merge, verdict
from pbr.fit.frame import drop_note, model_rows, post_start
from pbr.fit.spec import FitSpec, base_row, empty_row, estimate_row, family_of, joined, results_frame

log = logging.getLogger(__name__)

WEBB_WEIGHTS = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])


def webb_weights(n_clusters: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """G x B matrix of Webb six-point weights (+-sqrt(1/2), +-1, +-sqrt(3/2), prob 1/6 each)."""
    return WEBB_WEIGHTS[rng.integers(0, 6, size=(n_clusters, reps))]


def random_assignments(n_areas: int, n_treated: int, reps: int, rng: np.random.Generator) -> np.ndarray:
    """reps x G 0/1 matrix: each row marks n_treated areas drawn without replacement."""
    order = np.argsort(rng.random((reps, n_areas)), axis=1)[:, :n_treated]
    m = np.zeros((reps, n_areas))
    np.put_along_axis(m, order, 1.0, axis=1)
    return m


def _ge(stat: np.ndarray, obs: float | np.ndarray) -> np.ndarray:
    """|stat| >= |obs| with a relative tolerance for floating-point ties."""
    a = np.abs(obs)
    return np.abs(stat) >= a - 1e-10 * np.maximum(a, 1e-300)


def invert_test(
    pfun: Callable[[float], float], est: float, scale: float, alpha: float, rel_tol: float = 1e-4
) -> tuple[float, float]:
    """{delta: p(delta) > alpha}: the crossing on each side of ``est``, to within ``rel_tol * scale``.

    Steps outward from ``est`` in multiples of ``scale`` (doubling) until p <= alpha; if no
    rejection within 2^12 scales, that end is +-inf. Between the last accepted and the first
    rejected step, :func:`_crossing` finds the crossing to within the tolerance, as bisection
    would, in fewer calls of ``pfun``.
    """
    bounds = []
    for sign in (-1.0, 1.0):
        inside, p_in, step = est, 1.0, scale
        outside: tuple[float, float] | None = None  # (x, p) of the first rejected step
        for _ in range(13):
            trial = est + sign * step
            p = pfun(trial)
            if p <= alpha:
                outside = (trial, p)
                break
            inside, p_in, step = trial, p, step * 2
        if outside is None:
            bounds.append(sign * np.inf)
            continue
        bounds.append(_crossing(pfun, (inside, p_in), outside, alpha, rel_tol * scale))
    return bounds[0], bounds[1]


def _crossing(
    pfun: Callable[[float], float],
    inside: tuple[float, float],
    outside: tuple[float, float],
    alpha: float,
    tol: float,
) -> float:
    """Where p falls to alpha between ``inside`` (x, p > alpha) and ``outside`` (x, p <= alpha).

    Brent's method (``scipy.optimize.brentq``, bracketing, so it always ends) on the normal
    quantile of p, on which a test's p-value is close to linear in delta; it stops when the
    bracket is within ``tol``. p may be a step function (bootstrap, randomisation): the
    answer is then a step point, to within ``tol``, as bisection would find.
    """
    known = {inside[0]: inside[1], outside[0]: outside[1]}
    z_alpha = special.ndtri(1 - alpha / 2)

    def f(x: float) -> float:  # < 0 where accepted, >= 0 where rejected
        if x not in known:
            known[x] = pfun(x)
        p = known[x]
        if p <= alpha:  # keep the sign exact: p <= alpha is a rejection
            return max(float(special.ndtri(1 - max(p, 1e-12) / 2) - z_alpha), 1e-300)
        return min(float(special.ndtri(1 - min(p, 1.0) / 2) - z_alpha), -1e-300)

    return float(optimize.brentq(f, inside[0], outside[0], xtol=tol, rtol=4 * np.finfo(float).eps))


# ---------------------------------------------------------------------------------------
# LPM: exact wild cluster restricted bootstrap


@dataclass
class LpmParts:
    """Cross-products of the LPM after partialling out W (see module docstring)."""

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
    proj = Projector(design)
    y_t = proj.resid(design.y)
    x_t = proj.resid(design.did)
    xx = float(x_t @ x_t)
    beta = float(x_t @ y_t) / xx
    s_y, s_x = design.by_area(x_t * y_t), design.by_area(x_t * x_t)
    q = s_y - beta * s_x
    F = design.wt_by_area(x_t)
    E_y = design.wt_by_area(y_t)
    a_y = F.T @ proj.solve(E_y)
    a_x = F.T @ proj.solve(F)
    Z = design.z_matrix()
    post = design.post_column()
    WtZ = np.asarray((design.WT @ Z).todense())
    B = proj.solve(WtZ)
    gram_z = np.diag(design.by_area(post)) - WtZ.T @ B
    c_y = design.by_area(post * y_t)
    h_y = np.diag(c_y) - E_y.T @ B
    h_x = np.diag(design.by_area(post * x_t)) - F.T @ B
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


def wcr_tstats(parts: LpmParts, v: np.ndarray, delta: float = 0.0) -> tuple[float, np.ndarray]:
    """Observed t and bootstrap t* (WCR, H0: beta = delta) for weight matrix v (G x B).

    Both without the CRV1 small-sample factor, which cancels in the comparison.
    """
    s = parts.s_y - delta * parts.s_x
    a = parts.a_y - delta * parts.a_x
    xx = parts.s_x.sum()
    t_obs = (parts.beta - delta) / parts.se_crv1_unscaled
    num = s @ v  # (B,) = x~'x~ (beta* - delta)
    q = s[:, None] * v - a @ v - parts.s_x[:, None] * (num / xx)[None, :]
    return t_obs, num / np.sqrt(np.sum(q**2, axis=0))


def wcr_pvalue(parts: LpmParts, v: np.ndarray, delta: float = 0.0) -> float:
    """Symmetric two-sided WCR p-value: share of draws with |t*| >= |t|."""
    t_obs, t_star = wcr_tstats(parts, v, delta)
    return float(np.mean(_ge(t_star, t_obs)))


# ---------------------------------------------------------------------------------------
# Randomisation inference over areas


def ri_lpm_stats(parts: LpmParts, assign: np.ndarray, delta: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """LPM coefficient and score-type t for each assignment row (R x G), under shift delta."""
    c = parts.c_y - delta * (parts.gram_z @ parts.treated.astype(float))
    num = assign @ c
    den = np.sum((assign @ parts.gram_z) * assign, axis=1)
    h = (parts.h_y - delta * parts.h_x) @ assign.T  # (G, R)
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den, num / np.sqrt(np.sum(h**2, axis=0))


def _ri_p(stats_all: np.ndarray) -> float:
    """Row 0 is the observed assignment: p = (1 + #{|perm| >= |obs|}) / (1 + R)."""
    return float((1 + np.sum(_ge(stats_all[1:], stats_all[0]))) / len(stats_all))


# ---------------------------------------------------------------------------------------
# Logit: restricted fit, efficient scores, score bootstrap and RI


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
    _, eta, _ = fit_logit(design.W, design.y, offset=off, eta_start=eta_start, gram=design.gram)
    p = special.expit(eta)
    w = p * (1 - p)
    e = design.y - p
    proj = Projector(design, w)
    x_t = design.did - design.W @ proj.coef(design.did)
    s = design.by_area(x_t * e)
    info = float(np.sum(w * x_t * x_t))
    F = design.wt_by_area(w * x_t)
    E = design.wt_by_area(e)
    a = F.T @ proj.solve(E)
    parts = LogitParts(delta=delta, eta=eta, s=s, info=info, a=a, treated=design.treated)
    if with_ri:
        Z = design.z_matrix()
        post = design.post_column()
        WtwZ = np.asarray((design.WT @ (sp.diags(w) @ Z)).todense())
        B = proj.solve(WtwZ)
        ze = design.by_area(post * e)
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
    return float(np.mean(_ge(t_star, t_obs)))


def ri_logit_stats(parts: LogitParts, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-step coefficient and score-type t of each assignment row under the no-effect logit."""
    num = assign @ parts.c
    den = np.sum((assign @ parts.gram_z) * assign, axis=1)
    h = parts.h @ assign.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den, num / np.sqrt(np.sum(h**2, axis=0))


# ---------------------------------------------------------------------------------------
# Public entry point


METHODS = ("lpm_wcb_webb", "logit_score_wcb", "lpm_ri", "lpm_ri_t", "logit_ri", "logit_ri_t")


def few_cluster_rows(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    reps: int = 9999,
    seed: int = 20120401,
    ri_reps: int = 999,
    lpm_ci: bool = True,
    logit_ci: bool = True,
    methods: tuple[str, ...] = METHODS,
) -> pd.DataFrame:
    """Few-cluster inference rows (RESULT_COLUMNS) for one outcome in one cohort.

    ``reps`` bootstrap draws for the wild bootstraps, ``ri_reps`` re-assignments for RI.
    Rows use the same data as ``models.fit_did`` (same drops). ``estimate`` is the point
    estimate of the underlying model (LPM risk difference or logit odds ratio); ``se``
    is NaN (these methods give p-values and intervals, not standard errors).
    """
    mf, dropped_areas, dropped_rows = model_rows(df, spec)
    pre = {f: estimability(mf, spec.outcome, f, post_start(df)) for f in ("logit", "linear")}
    base = base_row(spec, mf, dropped_areas, dropped_rows, pre["logit"].min_cell_events)
    rows = _Rows(spec, base, drop_note(dropped_areas, dropped_rows), methods)
    live = []
    for family in ("linear", "logit"):
        if rows.of_family[family] and pre[family].status == "not_estimable":
            rows.not_estimable(family, pre[family])
        elif rows.of_family[family]:
            live.append(family)
    if not live:
        return rows.frame()
    design = build_design(mf, spec.outcome, list(spec.covariates))
    if _did_collinear(design):
        for family in live:
            rows.not_estimable(family, pre[family], fit_check(family, np.nan, collinear=True))
        return rows.frame()
    draws = _Draws.of(design, reps=reps, ri_reps=ri_reps, seed=seed, confidence_level=spec.confidence_level)
    if "linear" in live:
        _linear_rows(rows, design, draws, pre["linear"], lpm_ci)
    if "logit" in live:
        _logit_rows(rows, design, draws, pre["logit"], logit_ci)
    return rows.frame()


class _Rows:
    """The rows of one :func:`few_cluster_rows` call, built with :mod:`pbr.fit.spec`."""

    def __init__(self, spec: FitSpec, base: dict, drops: str, methods: tuple[str, ...]):
        self.spec, self.base, self.drops, self.methods = spec, base, drops, methods
        self.of_family = {f: [m for m in methods if family_of(m) == f] for f in ("linear", "logit")}
        self.rows: list[dict] = []

    def not_estimable(self, family: str, *checks: Estimability) -> None:
        """Rows without numbers for every method of ``family``."""
        reason = merge(*checks)[1]
        log.warning("%s/%s %s methods: %s", self.spec.cohort, self.spec.outcome, family, reason)
        self.rows.extend(empty_row(self.base, m, reason, self.drops) for m in self.of_family[family])

    def add(self, method: str, beta: float, lo: float, hi: float, p: float, note: str, *checks) -> None:
        """A row with numbers; its interval goes through ``fit_check`` too."""
        open_note = "interval unbounded within the search range" if np.isinf([lo, hi]).any() else ""
        interval = fit_check(family_of(method), beta, lo=lo, hi=hi)
        status, reason = merge(*checks, interval)
        text = joined(reason, note, open_note, self.drops)
        self.rows.append(estimate_row(self.base, method, beta, lo, hi, p, status=status, note=text))

    def frame(self) -> pd.DataFrame:
        """The rows in the order of ``methods``, as a RESULT_COLUMNS frame."""
        order = {m: i for i, m in enumerate(self.methods)}
        return results_frame(sorted(self.rows, key=lambda r: order[r["method"]]))


@dataclass(frozen=True)
class _Draws:
    """The bootstrap weights and re-assignments shared by every method of one call."""

    v: np.ndarray  # Webb weights, reps x areas
    assign: np.ndarray  # observed assignment, then ri_reps random ones, (1 + ri_reps) x areas
    n_treated: int
    ri_check: Estimability
    reps: int
    ri_reps: int
    seed: int
    confidence_level: float

    @classmethod
    def of(cls, design: Design, *, reps: int, ri_reps: int, seed: int, confidence_level: float) -> _Draws:
        n_treated = int(design.treated.sum())
        v = webb_weights(design.n_areas, reps, np.random.default_rng([seed, 1]))
        random = random_assignments(design.n_areas, n_treated, ri_reps, np.random.default_rng([seed, 2]))
        assign = np.vstack([design.treated.astype(float)[None, :], random])
        ri_check = _ri_check(design.n_areas, n_treated, 1 - confidence_level)
        return cls(v, assign, n_treated, ri_check, reps, ri_reps, seed, confidence_level)

    @property
    def alpha(self) -> float:
        """The test level, 1 - confidence level."""
        return 1 - self.confidence_level

    @property
    def ci_text(self) -> str:
        return f"{100 * self.confidence_level:g}% CI by test inversion"

    def ri_text(self, n_areas: int) -> str:
        return (
            f"randomisation inference over {n_areas} areas, {self.n_treated} treated per draw, "
            f"{self.ri_reps} re-assignments, seed {self.seed}"
        )


def _linear_rows(rows: _Rows, design: Design, draws: _Draws, pre: Estimability, with_ci: bool) -> None:
    """The LPM rows: the restricted wild cluster bootstrap and the two RI statistics."""
    lpm = lpm_parts(design)
    se_scale = lpm.se_crv1_unscaled * math.sqrt(design.n_areas / max(design.n_areas - 1, 1))
    lpm_check = fit_check("linear", lpm.beta, se_scale)
    if lpm_check.status == "not_estimable":
        rows.not_estimable("linear", pre, lpm_check)
        return
    v, alpha = draws.v, draws.alpha
    if "lpm_wcb_webb" in rows.methods:
        p = wcr_pvalue(lpm, v, 0.0)
        lo, hi = (
            invert_test(lambda x: wcr_pvalue(lpm, v, x), lpm.beta, se_scale, alpha)
            if with_ci
            else (np.nan, np.nan)
        )
        note = (
            f"WCR (null imposed), Webb weights, {draws.reps} reps, seed {draws.seed}; "
            f"p two-sided symmetric = share |t*| >= |t| (CRV1 t)"
            + (f"; {draws.ci_text} (same draws for every delta)" if with_ci else "")
        )
        rows.add("lpm_wcb_webb", lpm.beta, lo, hi, p, note, pre, lpm_check)
    for method, k in (("lpm_ri", 0), ("lpm_ri_t", 1)):
        if method not in rows.methods:
            continue

        def p_ri(delta: float, k: int = k) -> float:
            return _ri_p(ri_lpm_stats(lpm, draws.assign, delta)[k])

        p = p_ri(0.0)
        lo, hi = invert_test(p_ri, lpm.beta, se_scale, alpha) if with_ci else (np.nan, np.nan)
        stat = "LPM coefficient" if k == 0 else "score-type t (sum of area scores / cluster-robust norm)"
        note = f"{draws.ri_text(design.n_areas)}; statistic: {stat}; p = (1 + #|stat*| >= |stat|)/(1 + R)" + (
            f"; {draws.ci_text} under H0: y - delta*did unaffected by assignment" if with_ci else ""
        )
        rows.add(method, lpm.beta, lo, hi, p, note, pre, lpm_check, draws.ri_check)


def _logit_rows(rows: _Rows, design: Design, draws: _Draws, pre: Estimability, with_ci: bool) -> None:
    """The logit rows: the wild cluster score bootstrap and the two RI statistics."""
    # Point estimate: the unrestricted logit (same model as models.fit_did's).
    w_full = sp.hstack([design.W, sp.csr_matrix(design.did[:, None])], format="csr")
    coef, eta, converged = fit_logit(w_full, design.y, gram=lambda w: design.gram_with(w, design.did))
    beta = float(coef[-1])
    logit_check = fit_check("logit", beta, converged=converged, eta=eta, did=design.did)
    null_parts = logit_parts(design, 0.0, with_ri=True) if logit_check.status != "not_estimable" else None
    if null_parts is not None and not (np.isfinite(null_parts.info) and null_parts.info > 0):
        logit_check = verdict(
            ["no information on the DiD term in the no-effect logit (zero efficient information)"]
        )
    if logit_check.status == "not_estimable" or null_parts is None:
        rows.not_estimable("logit", pre, logit_check)
        return
    if "logit_score_wcb" in rows.methods:
        p = score_pvalue(null_parts, draws.v)
        lo = hi = np.nan
        if with_ci:
            cache = {"eta": null_parts.eta}

            def p_score(delta: float) -> float:
                parts = logit_parts(design, delta, eta_start=cache["eta"])
                cache["eta"] = parts.eta
                return score_pvalue(parts, draws.v)

            lo, hi = invert_test(p_score, beta, 1 / math.sqrt(null_parts.info) * 2, draws.alpha, rel_tol=2e-3)
        note = (
            f"wild cluster score bootstrap (Kline-Santos; logit refitted under H0), Webb weights, "
            f"{draws.reps} reps, seed {draws.seed}; p two-sided symmetric on the studentised score"
            + (f"; {draws.ci_text} (OR scale), restricted logit refitted per delta" if with_ci else "")
        )
        rows.add("logit_score_wcb", beta, lo, hi, p, note, pre, logit_check)
    for method, k in (("logit_ri", 0), ("logit_ri_t", 1)):
        if method not in rows.methods:
            continue
        p = _ri_p(ri_logit_stats(null_parts, draws.assign)[k])
        stat = (
            "one-step logit coefficient from the no-effect model (efficient score / information)"
            if k == 0
            else "score-type t from the no-effect logit"
        )
        note = f"{draws.ri_text(design.n_areas)}; statistic: {stat}; p = (1 + #|stat*| >= |stat|)/(1 + R); p-value only"
        rows.add(method, beta, np.nan, np.nan, p, note, pre, logit_check, draws.ri_check)


def _did_collinear(design: Design) -> bool:
    """The DiD column lies in the span of the fixed effects and covariates (as ``design.fit_terms`` judges)."""
    x_t = Projector(design).resid(design.did)
    return bool(x_t @ x_t <= 1e-10 * max(float(design.did @ design.did), 1.0))


def _ri_check(n_areas: int, n_treated: int, alpha: float) -> Estimability:
    """Caveat when so few distinct assignments exist that RI cannot reach p <= alpha."""
    n_assign = math.comb(n_areas, n_treated)
    if n_assign * alpha >= 1:
        return verdict()
    return verdict(
        caveats=[
            f"only {n_assign} distinct assignments of {n_treated} pilot areas among {n_areas}: a "
            f"randomisation p-value cannot fall much below 1/{n_assign}, so it cannot reach {alpha:g}"
        ]
    )
