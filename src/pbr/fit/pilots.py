"""Per-pilot evidence: a DiD for each pilot area, tests built on them, and each pilot's leverage.

Eight pilot areas adapted the scheme differently, and few-cluster inference on the pooled
DiD says nothing about how the effect is spread over them. This module gives:

- **Per-pilot DiD** (:func:`per_pilot_fits`): for each pilot area j, the main model (logit
  and LPM; area + period fixed effects + covariates; the exact engine of
  :mod:`pbr.fit.design`) on pilot j and all comparison areas, the other pilots left out.
  Rows ``specification = "pilot_<area_code>"``, methods ``logit_per_pilot`` and
  ``lpm_per_pilot``: estimate and coefficient only. With one treated area no cluster-robust
  interval is valid (the cluster-robust variance rests on one cluster's score), so none is
  given; the per-pilot coefficients feed the two tests below.
- **Ibragimov-Mueller (2010)** (:func:`ibragimov_mueller`): with q independent, roughly
  normal per-pilot coefficients b_j of a common mean, t = mean / (sd / sqrt(q)) is Student t
  with q - 1 degrees of freedom (and conservative at the usual test levels when the
  variances differ, their argument after Bakirov and Szekely 2006): p from t(q-1), interval
  mean +- t_{q-1} sd / sqrt(q).
- **Canay-Romano-Shaikh (2017)** (:func:`canay_romano_shaikh`): a sign-change randomisation
  test on the same b_j, valid when each b_j is approximately symmetric about the common
  mean: statistic |t|, p = share of all 2^q sign vectors s with |t(s * b)| >= |t(b)|.
  Because s and -s give the same |t|, p is never below 2 / 2^q (1/16 for q = 5, 1/32 for
  q = 6), so with q <= 5 pilots it cannot reach 0.05 (a caveat); with fewer than 4 it is not
  reported. The interval inverts the test for H0: mean = delta (applied to b_j - delta).
- **Leverage** (:func:`leverage_shares`): the DiD column partialled out of the nuisance
  design of the full main model (all pilots), x~ = did - W (W'W)^-1 W'did; pilot j's share
  of the identifying variation is sum_{i in j} x~_i^2 / sum_i x~_i^2 (the LPM's: the
  coefficient is sum x~ y / sum x~^2, so the share is the weight of area j's rows in it).
  The comparison areas' rows hold the rest. ``leverage_share`` reports this one;
  ``leverage_share_logit`` the same with the IRLS weights of the no-effect logit
  (x~ partialled out with those weights, shares of sum w x~^2), the logit's analogue. The
  pilot-area table (:data:`PILOT_AREA_COLUMNS`) also holds each pilot's per-pilot logit
  coefficient, odds ratio and LPM risk difference, and its own journeys and events (``n``,
  ``events``) in the main model's rows.

The tests are hand-written because no installed library offers them (a few lines each);
the test suite checks them against ``scipy.stats.ttest_1samp`` and an independent
enumeration of the 2^q sign vectors, the per-pilot coefficient against pyfixest on the
subset, and the leverage shares against a dense least-squares projection.

Not-estimable pilots (e.g. no outcome variation among their journeys) give rows without
numbers and the reason; the tests use the pilots with estimates and say how many.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from pbr.fit.counts import freq_of
from pbr.fit.design import Design, Projector, build_design, fit_logit, fit_terms
from pbr.fit.estimability import estimability, fit_check, merge, verdict
from pbr.fit.frame import drop_note, drop_uninformative, model_frame, post_start
from pbr.fit.inference import invert_test
from pbr.fit.spec import FitSpec, base_row, empty_row, estimate_row, joined, results_frame
from pbr.fit.wild_bootstrap import at_least_as_extreme
from pbr.registry.methods import p_floor

log = logging.getLogger(__name__)

#: The per-pilot methods, by family.
PER_PILOT = {"logit": "logit_per_pilot", "linear": "lpm_per_pilot"}
#: The tests on the per-pilot coefficients, by family.
PILOT_TESTS = {
    "logit": ("logit_ibragimov_mueller", "logit_canay_romano_shaikh"),
    "linear": ("lpm_ibragimov_mueller", "lpm_canay_romano_shaikh"),
}
#: Fewest pilots with estimates for each test (IM needs a standard deviation; CRS with
#: fewer than 4 has at most 8 sign vectors, p >= 1/4).
MIN_PILOTS = {"ibragimov_mueller": 2, "canay_romano_shaikh": 4}
#: The columns of the pilot-area table.
PILOT_AREA_COLUMNS = [
    "cohort",
    "outcome",
    "area_code",
    "beta",
    "odds_ratio",
    "risk_difference",
    "leverage_share",
    "leverage_share_logit",
    "n",
    "events",
]

ONE_AREA_NOTE = (
    "one treated area: no valid cluster-robust interval; used by the Ibragimov-Mueller and "
    "Canay-Romano-Shaikh tests"
)


# ---------------------------------------------------------------------------------------
# The two tests on q per-pilot coefficients


def t_statistic(b: np.ndarray) -> np.ndarray:
    """One-sample t of each row of b (.. x q): mean / (sd / sqrt(q)), sd with q - 1 degrees of freedom."""
    b = np.asarray(b, dtype=float)
    q = b.shape[-1]
    sd = np.std(b, axis=-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(b, axis=-1) / (sd / math.sqrt(q))


def ibragimov_mueller(b: np.ndarray, alpha: float) -> tuple[float, float, float, float, float]:
    """(mean, lower, upper, p, se) of the Ibragimov-Mueller t test on the coefficients b (q >= 2)."""
    b = np.asarray(b, dtype=float)
    q = len(b)
    mean, se = float(b.mean()), float(b.std(ddof=1) / math.sqrt(q))
    t = float(t_statistic(b))
    # Student t by scipy.special (the same functions scipy.stats.t calls; importing scipy.stats
    # costs each job about 0.3 s)
    p = float(2 * special.stdtr(q - 1, -abs(t))) if np.isfinite(t) else math.nan
    half = float(special.stdtrit(q - 1, 1 - alpha / 2)) * se
    return mean, mean - half, mean + half, p, se


def sign_vectors(q: int) -> np.ndarray:
    """All 2^q vectors of +-1 (2^q x q), the identity first."""
    bits = (np.arange(2**q)[:, None] >> np.arange(q)[None, :]) & 1
    return 1.0 - 2.0 * bits


def crs_pvalue(b: np.ndarray, delta: float = 0.0, signs: np.ndarray | None = None) -> float:
    """Sign-change p-value of H0: mean = delta: share of sign vectors with |t(s (b - delta))| >= |t(b - delta)|."""
    d = np.asarray(b, dtype=float) - delta
    signs = sign_vectors(len(d)) if signs is None else signs
    t_all = np.abs(t_statistic(signs * d[None, :]))
    t_obs = abs(float(t_statistic(d)))
    if not np.isfinite(t_obs):  # all b_j equal to delta: nothing to tell apart
        return 1.0
    return float(np.mean(at_least_as_extreme(t_all, t_obs)))


def canay_romano_shaikh(b: np.ndarray, alpha: float) -> tuple[float, float, float, float]:
    """(mean, lower, upper, p) of the Canay-Romano-Shaikh sign-change test on b; the interval
    inverts the test ({delta: p(delta) > alpha}; +-inf where it never rejects)."""
    b = np.asarray(b, dtype=float)
    signs = sign_vectors(len(b))
    mean = float(b.mean())
    p = crs_pvalue(b, 0.0, signs)
    scale = float(b.std(ddof=1) / math.sqrt(len(b)))
    if not (np.isfinite(scale) and scale > 0) or 2 / len(signs) > alpha:
        return mean, -math.inf, math.inf, p
    lo, hi = invert_test(lambda d: crs_pvalue(b, d, signs), mean, scale, alpha)
    return mean, lo, hi, p


# ---------------------------------------------------------------------------------------
# Leverage


def leverage_shares(design: Design, w: np.ndarray | None = None) -> np.ndarray:
    """Each area's share (G,) of sum w x~^2, x~ = did partialled out of W (weighted by w)."""
    weights = design.freq if w is None else w
    x_t = Projector(design, w).resid(design.did)
    by_area = design.by_area(weights * x_t * x_t)
    total = by_area.sum()
    return by_area / total if total > 0 else np.full(design.n_areas, np.nan)


def logit_null_weights(design: Design) -> np.ndarray:
    """IRLS weights p(1 - p) of the no-effect logit (y on the nuisance design only), times the
    rows' frequency weights."""
    _, eta, _ = fit_logit(design.W, design.y, gram=design.gram, freq=design.freq, WT=design.WT)
    p = special.expit(eta)
    return design.freq * p * (1 - p)


# ---------------------------------------------------------------------------------------
# Per-pilot fits


@dataclass(frozen=True)
class PilotFit:
    """One pilot area's DiD against the comparison areas: a coefficient per family (NaN when
    not estimable) and the rows."""

    area: str
    beta: dict[str, float]  # family -> coefficient (NaN when not estimable)
    usable: dict[str, bool]  # family -> a coefficient the tests may use
    rows: list[dict]


def fit_one_pilot(frame: pd.DataFrame, area: str, spec: FitSpec, post_from) -> PilotFit:
    """Pilot ``area`` against every comparison area of ``frame`` (a model frame before drops)."""
    keep = ~frame["pilot"].fillna(False).astype(bool) | (frame["area_code"] == area)
    sub, dropped_areas, dropped_rows = drop_uninformative(frame.loc[keep], spec.outcome, spec.covariates)
    pre = {f: estimability(sub, spec.outcome, f, post_from, min_pilot_areas=1) for f in ("logit", "linear")}
    base = base_row(spec, sub, dropped_areas, dropped_rows, pre["logit"].min_cell_events, f"pilot_{area}")
    drops = drop_note(dropped_areas, dropped_rows)
    d = build_design(sub, spec.outcome, list(spec.covariates)) if len(sub) else None
    beta, usable, rows = {}, {}, []
    for family, method in PER_PILOT.items():
        b, during = math.nan, verdict()
        if pre[family].status != "not_estimable" and d is not None:
            fit = fit_terms(d, d.did, family)
            if len(fit.kept):
                b = float(fit.coef[0])
                during = fit_check(family, b, converged=fit.converged, eta=fit.eta, did=d.did)
            else:
                during = fit_check(family, b, collinear=True)
        status, reason = merge(pre[family], during)
        if status == "not_estimable":
            rows.append(empty_row(base, method, reason, drops))
            b = math.nan
        else:
            note = joined(reason, ONE_AREA_NOTE, drops)
            rows.append(estimate_row(base, method, b, math.nan, math.nan, math.nan, status=status, note=note))
        beta[family], usable[family] = b, status != "not_estimable"
    return PilotFit(area, beta, usable, rows)


def per_pilot_fits(frame: pd.DataFrame, spec: FitSpec, post_from) -> list[PilotFit]:
    """:func:`fit_one_pilot` for every pilot area in ``frame`` (a model frame before drops)."""
    pilots = sorted(frame.loc[frame["pilot"].fillna(False).astype(bool), "area_code"].unique())
    fits = []
    for i, area in enumerate(pilots, 1):
        fits.append(fit_one_pilot(frame, str(area), spec, post_from))
        log.info("%s/%s: pilot %s fitted (%d of %d)", spec.cohort, spec.outcome, area, i, len(pilots))
    return fits


def pilot_test_rows(fits: list[PilotFit], base: dict, family: str, alpha: float) -> list[dict]:
    """The Ibragimov-Mueller and Canay-Romano-Shaikh rows of one family on the usable pilots
    (a caveat when pilots without an estimate are left out)."""
    b = np.array([f.beta[family] for f in fits if f.usable[family]])
    q, total = len(b), len(fits)
    used = f"{q} of {total} pilot areas with a per-pilot estimate"
    left_out = [f"{total - q} pilot area(s) without a per-pilot estimate left out"] if q < total else []
    base = base | {"n_treated_clusters": q}
    rows = []
    for method, test in zip(PILOT_TESTS[family], ("ibragimov_mueller", "canay_romano_shaikh"), strict=True):
        if q < MIN_PILOTS[test]:
            rows.append(
                empty_row(base, method, f"not estimable: {used}; the test needs at least {MIN_PILOTS[test]}")
            )
            continue
        if test == "ibragimov_mueller":
            mean, lo, hi, p, se = ibragimov_mueller(b, alpha)
            check = verdict(caveats=left_out)
            note = f"Ibragimov-Mueller t test on {used}: t(q-1) p-value and interval (per-pilot coefficients)"
            rows.append(
                estimate_row(
                    base, method, mean, lo, hi, p, se=se, status=check.status, note=joined(check.reason, note)
                )
            )
            continue
        mean, lo, hi, p = canay_romano_shaikh(b, alpha)
        floor = p_floor(method, None, q)
        coarse = (
            [
                f"with {q} pilots the sign-change p-value cannot fall below {floor:.3g}, above the test level "
                f"{alpha:g} (interval unbounded)"
            ]
            if floor > alpha
            else []
        )
        check = verdict(caveats=[*left_out, *coarse])
        note = (
            f"Canay-Romano-Shaikh sign-change test on {used}: all {2**q} sign vectors, statistic |t|; "
            "interval by test inversion"
        )
        rows.append(
            estimate_row(base, method, mean, lo, hi, p, status=check.status, note=joined(check.reason, note))
        )
    return rows


def pilot_rows(df: pd.DataFrame, spec: FitSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-pilot rows and tests (RESULT_COLUMNS) and the pilot-area table for one outcome in one cohort."""
    post_from = post_start(df)
    frame = model_frame(df, spec.outcome, list(spec.covariates), spec.period_col)
    fits = per_pilot_fits(frame, spec, post_from)
    main, dropped_areas, dropped_rows = drop_uninformative(frame, spec.outcome, spec.covariates)
    base = base_row(spec, main, dropped_areas, dropped_rows, -1, "per_pilot")
    alpha = 1 - spec.confidence_level
    rows = [r for f in fits for r in f.rows]
    for family in ("logit", "linear"):
        rows += pilot_test_rows(fits, base, family, alpha)
    return results_frame(rows), pilot_area_table(main, fits, spec)


def pilot_area_table(main: pd.DataFrame, fits: list[PilotFit], spec: FitSpec) -> pd.DataFrame:
    """One row per pilot area: per-pilot coefficients, leverage shares in the main model, journeys, events."""
    lev: dict[str, float] = {}
    lev_logit: dict[str, float] = {}
    if len(main) and main["did"].astype(bool).any():
        d = build_design(main, spec.outcome, list(spec.covariates))
        codes = [str(c) for c in d.area_codes]
        lev = dict(zip(codes, leverage_shares(d), strict=True))
        lev_logit = dict(zip(codes, leverage_shares(d, logit_null_weights(d)), strict=True))
    weights = freq_of(main)
    y_by_area = (
        pd.DataFrame({"size": weights, "sum": weights * main[spec.outcome].to_numpy(dtype=float)})
        .groupby(main["area_code"].to_numpy())
        .sum()
    )
    rows = []
    for f in fits:
        n, events = y_by_area.loc[f.area] if f.area in y_by_area.index else (0, 0)
        rows.append(
            {
                "cohort": spec.cohort,
                "outcome": spec.outcome,
                "area_code": f.area,
                "beta": f.beta["logit"],
                "odds_ratio": math.exp(f.beta["logit"]) if np.isfinite(f.beta["logit"]) else math.nan,
                "risk_difference": f.beta["linear"],
                "leverage_share": lev.get(f.area, math.nan),
                "leverage_share_logit": lev_logit.get(f.area, math.nan),
                "n": int(n),
                "events": int(events),
            }
        )
    return pd.DataFrame(rows, columns=PILOT_AREA_COLUMNS)
