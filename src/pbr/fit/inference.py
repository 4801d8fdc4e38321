"""Few-cluster inference rows for the DiD: wild cluster bootstraps and randomisation inference.

Only 8 of the 149 areas are treated, so cluster-robust (CRV1) standard errors over-state
precision. This module gives the honest alternatives as result rows, all clustered by area
and all built on one exact partialling-out of the nuisance terms: the statistics of the
wild cluster bootstraps are in :mod:`pbr.fit.wild_bootstrap` (with the nuisance design), those
of randomisation inference in :mod:`pbr.fit.randomisation`; here are the rows (checks,
intervals by test inversion, notes), the logit's ATT and the headline statistic's draws.

Methods (row ``method`` names, see :func:`few_cluster_rows`)
-----------------------------------------------------------
``lpm_wcb_webb``
    Restricted wild cluster bootstrap (WCR) of the LPM's CRV1 t statistic, Webb weights
    per area; CI by test inversion (:func:`invert_test`). See :mod:`pbr.fit.wild_bootstrap`.
``logit_score_wcb``
    Wild cluster score bootstrap (Kline & Santos 2012) for the logit coefficient; CI (odds
    ratio scale) by test inversion, refitting the restricted logit at each trial delta.
    See :mod:`pbr.fit.wild_bootstrap`.
``logit_att_score_wcb``
    The same logit on the probability scale (scale ``risk_difference``): the average effect
    on the treated, ATT = mean over the pilot post-period journeys (did = 1) of
    expit(eta_i) - expit(eta_i - beta), eta from the unrestricted logit (:func:`logit_att`).
    p = the score bootstrap's (H0: beta = 0 is H0: ATT = 0). Interval: the ATT at each end
    delta of the ``logit_score_wcb`` interval, eta from the restricted logit at that delta
    (ATT(delta) rises with delta, so the ends map to the ends); an unbounded end of beta
    gives -1 or 1, the bound of a risk difference. The tests check the estimate and both
    ends against statsmodels GLM fits.
``lpm_ri`` / ``logit_ri``, ``lpm_ri_t`` / ``logit_ri_t``, ``lpm_ri_t_size`` / ``logit_ri_t_size``
    Randomisation inference over areas (raw coefficient, studentised, studentised within
    size strata); LPM: CI by inversion; logit: p only. See :mod:`pbr.fit.randomisation`.
    The raw-coefficient rows' note starts with :data:`RAW_RI_CAVEAT`, and no verdict uses them.

Draws
-----
Webb weights and re-assignments come from :mod:`pbr.fit.draws`, drawn per *area code*
(one random stream per area, seeded by ``seed``): an area gets the same weight in draw b,
and re-assignments over the same areas are the same, in every outcome and cohort, which
the Romano-Wolf adjustment of :mod:`pbr.fit.multiplicity` needs. :func:`headline_draws`
writes the headline statistic (``logit_score_wcb`` under beta = 0) and its draws for it.
Same data and seed, same numbers.

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
inversion are not run. Randomisation inference with so few distinct re-assignments that p
cannot reach the test level is a caveat (:func:`pbr.fit.randomisation.few_assignments_check`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from pbr.fit.design import Design, Projector, build_design, fit_did_logit
from pbr.fit.draws import area_assignments, area_webb_weights, size_strata
from pbr.fit.estimability import Estimability, estimability, fit_check, merge, verdict
from pbr.fit.frame import drop_note, model_rows, post_start
from pbr.fit.randomisation import RiLpm, few_assignments_check, ri_logit_stats, ri_pvalue
from pbr.fit.spec import (
    FitSpec,
    base_row,
    empty_row,
    estimate_row,
    family_of,
    joined,
    results_frame,
    scale_of,
)
from pbr.fit.wild_bootstrap import (
    LogitParts,
    WcrDraws,
    at_least_as_extreme,
    logit_parts,
    lpm_parts,
    score_pvalue,
    score_tstats,
)

log = logging.getLogger(__name__)


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
# Public entry points


METHODS = (
    "lpm_wcb_webb",
    "logit_score_wcb",
    "logit_att_score_wcb",
    "lpm_ri",
    "lpm_ri_t",
    "lpm_ri_t_size",
    "logit_ri",
    "logit_ri_t",
    "logit_ri_t_size",
)

#: The columns of :func:`headline_draws`.
DRAW_COLUMNS = ["cohort", "outcome", "draw", "statistic"]


def few_cluster_rows(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    reps: int = 9999,
    seed: int = 20120401,
    ri_reps: int = 9999,
    lpm_ci: bool = True,
    logit_ci: bool = True,
    methods: tuple[str, ...] = METHODS,
) -> pd.DataFrame:
    """Few-cluster inference rows (RESULT_COLUMNS) for one outcome in one cohort.

    ``reps`` bootstrap draws for the wild bootstraps, ``ri_reps`` re-assignments for RI.
    Rows use the same data as ``models.fit_did`` (same drops). ``estimate`` is the point
    estimate of the underlying model (LPM risk difference, logit odds ratio, or the logit's
    ATT as a risk difference); ``se`` is NaN (these methods give p-values and intervals,
    not standard errors).
    """
    return few_cluster_results(
        df, spec, reps=reps, seed=seed, ri_reps=ri_reps, lpm_ci=lpm_ci, logit_ci=logit_ci, methods=methods
    )[0]


def few_cluster_results(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    reps: int = 9999,
    seed: int = 20120401,
    ri_reps: int = 9999,
    lpm_ci: bool = True,
    logit_ci: bool = True,
    methods: tuple[str, ...] = METHODS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(:func:`few_cluster_rows`, :func:`headline_draws`) of one outcome from one fit: the model
    frame, design and logits are built once (rule infer_few_cluster writes both). The draws
    are empty unless ``methods`` has ``logit_score_wcb`` or its ATT and the logit is estimable."""
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
        return rows.frame(), rows.draws
    design = build_design(mf, spec.outcome, list(spec.covariates))
    if _did_collinear(design):
        for family in live:
            rows.not_estimable(family, pre[family], fit_check(family, np.nan, collinear=True))
        return rows.frame(), rows.draws
    draws = Draws.of(
        design,
        reps=reps,
        ri_reps=ri_reps,
        seed=seed,
        confidence_level=spec.confidence_level,
        methods=methods,
    )
    if "linear" in live:
        _linear_rows(rows, design, draws, pre["linear"], lpm_ci)
    if "logit" in live:
        _logit_rows(rows, design, draws, pre["logit"], logit_ci)
    return rows.frame(), rows.draws


def headline_draws(df: pd.DataFrame, spec: FitSpec, reps: int = 9999, seed: int = 20120401) -> pd.DataFrame:
    """The studentised score statistic of ``logit_score_wcb`` under H0: beta = 0 and its bootstrap draws.

    Columns :data:`DRAW_COLUMNS`: draw 0 is the observed statistic, draws 1..``reps`` the
    wild cluster score bootstrap's, with the Webb weights of :func:`pbr.fit.draws.area_webb_weights`
    (keyed by area code, so draw b perturbs an area alike in every outcome and cohort: the
    joint law a Romano-Wolf step-down over outcomes needs, :mod:`pbr.fit.multiplicity`).
    The same data, checks and draws as :func:`few_cluster_rows`, so the share of draws
    with |t*| >= |t| is that row's p-value. Not estimable: an empty frame with the columns.
    """
    return few_cluster_results(df, spec, reps=reps, seed=seed, logit_ci=False, methods=("logit_score_wcb",))[
        1
    ]


def _draw_frame(spec: FitSpec, t_obs: float, t_star: np.ndarray) -> pd.DataFrame:
    """:data:`DRAW_COLUMNS` of one model: draw 0 the observed statistic, then its bootstrap draws."""
    return pd.DataFrame(
        {
            "cohort": spec.cohort,
            "outcome": spec.outcome,
            "draw": np.arange(len(t_star) + 1, dtype=np.int64),
            "statistic": np.concatenate([[t_obs], t_star]),
        }
    )


def logit_att(eta: np.ndarray, did: np.ndarray, delta: float, freq: np.ndarray | None = None) -> float:
    """ATT on the probability scale: the mean over the ``did`` journeys of expit(eta) - expit(eta - delta).

    ``eta``: the linear predictor of a logit whose DiD coefficient is ``delta`` (the
    unrestricted fit at its estimate, or the restricted fit at a trial delta); ``freq``: the
    journeys each row stands for (1 each by default).
    """
    treated = did > 0
    weights = None if freq is None else freq[treated]
    change = special.expit(eta[treated]) - special.expit(eta[treated] - delta)
    return float(np.average(change, weights=weights))


class _Rows:
    """The rows of one :func:`few_cluster_rows` call, built with :mod:`pbr.fit.spec`."""

    def __init__(self, spec: FitSpec, base: dict, drops: str, methods: tuple[str, ...]):
        self.spec, self.base, self.drops, self.methods = spec, base, drops, methods
        self.of_family = {f: [m for m in methods if family_of(m) == f] for f in ("linear", "logit")}
        self.rows: list[dict] = []
        #: the headline statistic and its bootstrap draws (:func:`headline_draws`); empty until
        #: the score bootstrap runs
        self.draws = pd.DataFrame(
            {"cohort": [], "outcome": [], "draw": np.zeros(0, np.int64), "statistic": np.zeros(0)}
        )

    def not_estimable(self, family: str, *checks: Estimability) -> None:
        """Rows without numbers for every method of ``family``."""
        reason = merge(*checks)[1]
        log.warning("%s/%s %s methods: %s", self.spec.cohort, self.spec.outcome, family, reason)
        self.rows.extend(empty_row(self.base, m, reason, self.drops) for m in self.of_family[family])

    def add(
        self, method: str, beta: float, lo: float, hi: float, p: float, note: str, *checks, first: str = ""
    ) -> None:
        """A row with numbers; its interval goes through ``fit_check`` too (on the row's scale).
        The note: ``first`` (e.g. a validity condition), the checks' reason, ``note``, the drops."""
        open_note = "interval unbounded within the search range" if np.isinf([lo, hi]).any() else ""
        interval = fit_check("logit" if scale_of(method) == "odds_ratio" else "linear", beta, lo=lo, hi=hi)
        status, reason = merge(*checks, interval)
        text = joined(first, reason, note, open_note, self.drops)
        self.rows.append(estimate_row(self.base, method, beta, lo, hi, p, status=status, note=text))

    def frame(self) -> pd.DataFrame:
        """The rows in the order of ``methods``, as a RESULT_COLUMNS frame."""
        order = {m: i for i, m in enumerate(self.methods)}
        return results_frame(sorted(self.rows, key=lambda r: order[r["method"]]))


@dataclass(frozen=True)
class Draws:
    """The bootstrap weights and re-assignments shared by every method of one call, drawn per
    area code (:mod:`pbr.fit.draws`): the same for an area in every outcome and cohort."""

    v: np.ndarray  # Webb weights, areas x reps
    assign: np.ndarray  # observed assignment, then ri_reps random ones, (1 + ri_reps) x areas
    assign_size: np.ndarray | None  # the same within size strata; None unless asked for
    n_strata: int
    n_treated: int
    ri_check: Estimability
    size_check: Estimability
    reps: int
    ri_reps: int
    seed: int
    confidence_level: float

    @classmethod
    def of(
        cls, design: Design, *, reps: int, ri_reps: int, seed: int, confidence_level: float, methods
    ) -> Draws:
        """The draws ``methods`` need: re-assignments only for RI methods, within strata only for ``*_size``."""
        codes, treated = design.area_codes, design.treated
        observed = treated.astype(float)[None, :]
        v = area_webb_weights(codes, reps, seed)
        plain = any(m in _RI and not m.endswith("_size") for m in methods)
        assign = np.vstack([observed, area_assignments(codes, treated, ri_reps, seed)]) if plain else observed
        strata = size_strata(design.journeys_by_area(), treated)
        assign_size = (
            np.vstack([observed, area_assignments(codes, treated, ri_reps, seed, strata=strata)])
            if any(m in _RI and m.endswith("_size") for m in methods)
            else None
        )
        alpha = 1 - confidence_level
        ri_check = few_assignments_check(np.zeros(len(treated), dtype=np.int64), treated, alpha)
        size_check = few_assignments_check(strata, treated, alpha)
        n_strata = len(np.unique(strata))
        return cls(
            v=v,
            assign=assign,
            assign_size=assign_size,
            n_strata=n_strata,
            n_treated=int(treated.sum()),
            ri_check=ri_check,
            size_check=size_check,
            reps=reps,
            ri_reps=ri_reps,
            seed=seed,
            confidence_level=confidence_level,
        )

    @property
    def alpha(self) -> float:
        """The test level, 1 - confidence level."""
        return 1 - self.confidence_level

    @property
    def ci_text(self) -> str:
        return f"{100 * self.confidence_level:g}% CI by test inversion"

    def ri(self, method: str) -> tuple[np.ndarray, Estimability, str]:
        """(re-assignments, their check, their description) of an RI method: within size strata
        for ``*_size``."""
        common = f"{self.n_treated} treated per draw, {self.ri_reps} re-assignments, seed {self.seed}"
        if method.endswith("_size"):
            text = (
                f"randomisation inference within {self.n_strata} strata of areas of similar size (journeys in "
                "the model; each pilot exchanged only with areas of about its size, the stratum keeping its "
                f"number of pilots; a sensitivity), {common}"
            )
            assert self.assign_size is not None
            return self.assign_size, self.size_check, text
        return (
            self.assign,
            self.ri_check,
            f"randomisation inference over {self.assign.shape[1]} areas, {common}",
        )


#: What a raw-coefficient RI row's note starts with (:func:`few_cluster_rows`).
RAW_RI_CAVEAT = (
    "valid only if the pilots were exchangeable with other areas (coefficient statistic; "
    "not used for any verdict)"
)

#: The RI methods' statistic: 0 = coefficient, 1 = score-type t.
_RI = {
    "lpm_ri": 0,
    "lpm_ri_t": 1,
    "lpm_ri_t_size": 1,
    "logit_ri": 0,
    "logit_ri_t": 1,
    "logit_ri_t_size": 1,
}


def _linear_rows(rows: _Rows, design: Design, draws: Draws, pre: Estimability, with_ci: bool) -> None:
    """The LPM rows: the restricted wild cluster bootstrap and the RI statistics."""
    lpm = lpm_parts(design)
    se_scale = lpm.se_crv1_unscaled * math.sqrt(design.n_areas / max(design.n_areas - 1, 1))
    lpm_check = fit_check("linear", lpm.beta, se_scale)
    if lpm_check.status == "not_estimable":
        rows.not_estimable("linear", pre, lpm_check)
        return
    v, alpha = draws.v, draws.alpha
    if "lpm_wcb_webb" in rows.methods:
        log.info("%s/%s lpm_wcb_webb: %d draws", rows.spec.cohort, rows.spec.outcome, draws.reps)
        wcr = WcrDraws.of(lpm, v)
        p = wcr.pvalue(0.0)
        lo, hi = invert_test(wcr.pvalue, lpm.beta, se_scale, alpha) if with_ci else (np.nan, np.nan)
        note = (
            f"WCR (null imposed), Webb weights, {draws.reps} reps, seed {draws.seed}; "
            f"p two-sided symmetric = share |t*| >= |t| (CRV1 t)"
            + (f"; {draws.ci_text} (same draws for every delta)" if with_ci else "")
        )
        rows.add("lpm_wcb_webb", lpm.beta, lo, hi, p, note, pre, lpm_check)
    for method in (m for m in rows.methods if m.startswith("lpm_ri")):
        log.info("%s/%s %s: %d re-assignments", rows.spec.cohort, rows.spec.outcome, method, draws.ri_reps)
        assign, ri_check, text = draws.ri(method)
        ri = RiLpm(lpm, assign)

        def p_ri(delta: float, k: int = _RI[method], ri: RiLpm = ri) -> float:
            return ri_pvalue(ri.stats(delta)[k])

        p = p_ri(0.0)
        lo, hi = invert_test(p_ri, lpm.beta, se_scale, alpha) if with_ci else (np.nan, np.nan)
        stat = (
            "LPM coefficient"
            if _RI[method] == 0
            else "score-type t (sum of area scores / cluster-robust norm)"
        )
        note = f"{text}; statistic: {stat}; p = (1 + #|stat*| >= |stat|)/(1 + R)" + (
            f"; {draws.ci_text} under H0: y - delta*did unaffected by assignment" if with_ci else ""
        )
        first = RAW_RI_CAVEAT if _RI[method] == 0 else ""
        rows.add(method, lpm.beta, lo, hi, p, note, pre, lpm_check, ri_check, first=first)


@dataclass(frozen=True)
class _LogitFit:
    """The unrestricted logit (point estimate) and the no-effect logit's score quantities."""

    beta: float
    eta: np.ndarray  # linear predictor of the unrestricted fit
    check: Estimability
    null: LogitParts | None  # None when the logit is not estimable


def _logit_fit(design: Design, with_ri: bool) -> _LogitFit:
    """The same model as ``models.fit_did``'s logit, its checks, and the fit under H0: beta = 0."""
    beta, eta, converged = fit_did_logit(design)
    check = fit_check("logit", beta, converged=converged, eta=eta, did=design.did)
    if check.status == "not_estimable":
        return _LogitFit(beta, eta, check, None)
    null = logit_parts(design, 0.0, with_ri=with_ri)
    if not (np.isfinite(null.info) and null.info > 0):
        reason = "no information on the DiD term in the no-effect logit (zero efficient information)"
        return _LogitFit(beta, eta, verdict([reason]), None)
    return _LogitFit(beta, eta, check, null)


def _logit_rows(rows: _Rows, design: Design, draws: Draws, pre: Estimability, with_ci: bool) -> None:
    """The logit rows: the wild cluster score bootstrap (OR and ATT) and the RI statistics."""
    fit = _logit_fit(design, with_ri=any(m.startswith("logit_ri") for m in rows.methods))
    if fit.null is None:
        rows.not_estimable("logit", pre, fit.check)
        return
    if {"logit_score_wcb", "logit_att_score_wcb"} & set(rows.methods):
        _score_rows(rows, design, draws, fit, pre, with_ci)
    for method in (m for m in rows.methods if m.startswith("logit_ri")):
        log.info("%s/%s %s: %d re-assignments", rows.spec.cohort, rows.spec.outcome, method, draws.ri_reps)
        assign, ri_check, text = draws.ri(method)
        p = ri_pvalue(ri_logit_stats(fit.null, assign)[_RI[method]])
        stat = (
            "one-step logit coefficient from the no-effect model (efficient score / information)"
            if _RI[method] == 0
            else "score-type t from the no-effect logit"
        )
        note = f"{text}; statistic: {stat}; p = (1 + #|stat*| >= |stat|)/(1 + R); p-value only"
        first = RAW_RI_CAVEAT if _RI[method] == 0 else ""
        rows.add(method, fit.beta, np.nan, np.nan, p, note, pre, fit.check, ri_check, first=first)


def _score_rows(
    rows: _Rows, design: Design, draws: Draws, fit: _LogitFit, pre: Estimability, with_ci: bool
) -> None:
    """``logit_score_wcb`` (odds ratio) and ``logit_att_score_wcb`` (its ATT, risk difference)."""
    assert fit.null is not None
    log.info("%s/%s logit_score_wcb: %d draws", rows.spec.cohort, rows.spec.outcome, draws.reps)
    t_obs, t_star = score_tstats(fit.null, draws.v)
    p = float(np.mean(at_least_as_extreme(t_star, t_obs)))  # score_pvalue, keeping the draws
    rows.draws = _draw_frame(rows.spec, t_obs, t_star)
    lo = hi = np.nan
    if with_ci:
        cache = {"eta": fit.null.eta}

        def p_score(delta: float) -> float:
            parts = logit_parts(design, delta, eta_start=cache["eta"])
            cache["eta"] = parts.eta
            return score_pvalue(parts, draws.v)

        lo, hi = invert_test(p_score, fit.beta, 1 / math.sqrt(fit.null.info) * 2, draws.alpha, rel_tol=2e-3)
    note = (
        f"wild cluster score bootstrap (Kline-Santos; logit refitted under H0), Webb weights, "
        f"{draws.reps} reps, seed {draws.seed}; p two-sided symmetric on the studentised score"
    )
    if "logit_score_wcb" in rows.methods:
        ci_note = f"; {draws.ci_text} (OR scale), restricted logit refitted per delta" if with_ci else ""
        rows.add("logit_score_wcb", fit.beta, lo, hi, p, note + ci_note, pre, fit.check)
    if "logit_att_score_wcb" in rows.methods:
        att = logit_att(fit.eta, design.did, fit.beta, design.freq)
        ends = [_att_end(design, fit, x) for x in (lo, hi)]
        note = (
            "ATT on the probability scale among pilot post-period journeys implied by the logit: "
            "mean of expit(eta) - expit(eta - beta); p and interval from the " + note
        )
        if with_ci:
            note += (
                f"; interval: the ATT at the ends of the {draws.ci_text} of beta, from the restricted logit "
                "at each end (an unbounded end of beta gives -1 or 1, the bound of a risk difference)"
            )
        # the OR interval's verdict too: an unbounded end of beta is an ATT end at -1 or 1, no wider
        or_interval = fit_check("logit", fit.beta, lo=lo, hi=hi)
        rows.add("logit_att_score_wcb", att, min(ends), max(ends), p, note, pre, fit.check, or_interval)


def _att_end(design: Design, fit: _LogitFit, delta: float) -> float:
    """The ATT at an interval end ``delta`` of beta (restricted logit at delta); -1 / 1 when unbounded."""
    if np.isnan(delta):
        return np.nan
    if np.isinf(delta):
        return float(np.sign(delta))
    assert fit.null is not None
    return logit_att(logit_parts(design, delta, eta_start=fit.null.eta).eta, design.did, delta, design.freq)


def _did_collinear(design: Design) -> bool:
    """The DiD column lies in the span of the fixed effects and covariates (as ``design.fit_terms`` judges)."""
    x_t = Projector(design).resid(design.did)
    f = design.freq
    return bool((f * x_t) @ x_t <= 1e-10 * max(float((f * design.did) @ design.did), 1.0))
