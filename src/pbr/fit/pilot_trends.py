"""Per-pilot linear pre-trends: a pre-trend test that needs no cluster-robust variance over eight pilots.

The event study's joint pre-trend tests (:mod:`pbr.fit.event_study`) rest on a cluster-robust
variance (or its bootstrap, or re-assignments of the pilots) with eight treated areas; the
simulation study measured them at 5.8-6.1% pooled and up to 8% in single scenarios at nominal
5% (docs/inference.md). This module tests the pre-trend the way the per-pilot tests of
:mod:`pbr.fit.pilots` test the effect:

- **Per-pilot trend** (:func:`pilot_trends`): for each pilot area j, on the pre-period journeys
  of pilot j and every comparison area (the other pilots left out), the main model (logit and
  LPM; area + period fixed effects + covariates; the exact engine of :mod:`pbr.fit.design`)
  with one more term, pilot j x years since the study's start (each event-study bin at its
  first day: bin index x bin months / 12). Its coefficient b_j is pilot j's differential linear
  trend before the start (log odds, or probability, per year).
- **Tests** (:func:`pilot_trend_rows`): the b_j of different pilots are independent but for the
  shared comparison areas, and each is roughly normal, so the Ibragimov-Mueller t test and the
  Canay-Romano-Shaikh sign-change test (:func:`pbr.fit.pilots.pilot_test_rows`) test "no
  differential linear pre-trend on average" without a cluster-robust variance. Rows
  ``specification = "event_study_pretrend"`` (all pre-period journeys) and, given the outcome's
  window, ``"event_study_pretrend_clear"`` (only the pre-period journeys whose outcome window ends
  before the start, :func:`pbr.fit.timing.clear_of_start`), methods
  :data:`pbr.fit.pilots.PILOT_TESTS`; ``estimate`` = the mean trend as an odds ratio per year
  (logit) or a risk difference per year (LPM), with the test's interval.

What it does not test: pre-period departures that are not linear in time, or trends of
opposite sign that cancel over the pilots (the event study's joint tests see both). The
pilots' own trends are not shown one by one: with one treated area none has a valid interval.

Hand-written on :func:`pbr.fit.design.fit_terms` because no installed library fits the
per-pilot models with frequency weights at this speed (16 small fits per outcome);
``tests/unit/test_pilot_trends.py`` checks a trend against statsmodels on the subset and the
test against ``scipy.stats.ttest_1samp``.
"""

from __future__ import annotations

import logging
import math

import pandas as pd

from pbr.fit.design import build_design, fit_terms
from pbr.fit.estimability import fit_check, merge, verdict
from pbr.fit.frame import drop_note, drop_uninformative, model_frame
from pbr.fit.pilots import PER_PILOT, PilotFit, pilot_test_rows
from pbr.fit.spec import FitSpec, base_row, joined, results_frame
from pbr.fit.timing import BIN_MONTHS, clear_of_start

log = logging.getLogger(__name__)

#: The pre-trend specifications of the per-pilot trend tests: all pre-period journeys, and those
#: whose outcome window ends before the start.
TREND_SPECS = ("event_study_pretrend", "event_study_pretrend_clear")


def pre_period_frame(df: pd.DataFrame, spec: FitSpec, bin_col: str) -> pd.DataFrame:
    """The model frame (:func:`pbr.fit.frame.model_frame`, before drops) of the pre-period journeys,
    with ``years``: the first day of each journey's ``bin_col`` bin, in years since the origin."""
    if bin_col not in BIN_MONTHS:
        raise ValueError(f"bin_col must be one of {sorted(BIN_MONTHS)}, not {bin_col!r}")
    mask = df[spec.outcome].notna()
    mf = model_frame(df, spec.outcome, list(spec.covariates), spec.period_col)
    mf["years"] = df.loc[mask, bin_col].to_numpy(dtype=float) * BIN_MONTHS[bin_col] / 12
    if "start_date" in df.columns:
        mf["start_date"] = df.loc[mask, "start_date"].to_numpy()
    return mf.loc[mf["post"].to_numpy() <= 0].reset_index(drop=True)


def _trend_problems(sub: pd.DataFrame, area: str) -> list[str]:
    """Why pilot ``area``'s trend cannot be estimated on ``sub`` (after drops), before any fit."""
    own = sub["area_code"] == area
    if not own.any():
        return [f"no pre-period journeys of pilot {area} with outcome variation"]
    if own.all():
        return ["no comparison areas with pre-period journeys"]
    if sub.loc[own, "years"].nunique() < 2:
        return [f"pilot {area}'s pre-period journeys fall in one bin: no trend to estimate"]
    return []


def trend_fit(frame: pd.DataFrame, area: str, spec: FitSpec) -> PilotFit:
    """Pilot ``area``'s differential linear pre-trend against every comparison area of ``frame``
    (:func:`pre_period_frame`), logit and LPM; the tests' input (no rows of its own)."""
    keep = ~frame["pilot"].fillna(False).astype(bool) | (frame["area_code"] == area)
    sub, _, _ = drop_uninformative(frame.loc[keep], spec.outcome, spec.covariates)
    problems = _trend_problems(sub, area)
    d = build_design(sub, spec.outcome, list(spec.covariates)) if not problems else None
    own = (sub["area_code"] == area).to_numpy(dtype=float)
    beta, usable = {}, {}
    for family in PER_PILOT:
        b, check = math.nan, verdict(problems)
        if d is not None:
            x = own * sub["years"].to_numpy(dtype=float)
            fit = fit_terms(d, x, family)
            if len(fit.kept):
                b = float(fit.coef[0])
                check = fit_check(
                    family, b, converged=fit.converged, eta=fit.eta, did=own, term="the trend term"
                )
            else:
                check = fit_check(family, b, collinear=True, term="the trend term")
        status, _ = merge(check)
        beta[family], usable[family] = (b, True) if status != "not_estimable" else (math.nan, False)
    return PilotFit(area, beta, usable, [])


def pilot_trends(frame: pd.DataFrame, spec: FitSpec) -> list[PilotFit]:
    """:func:`trend_fit` for every pilot area of ``frame`` (:func:`pre_period_frame`)."""
    pilots = sorted(frame.loc[frame["pilot"].fillna(False).astype(bool), "area_code"].unique())
    return [trend_fit(frame, str(area), spec) for area in pilots]


def pilot_trend_rows(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    bin_col: str = "half_year",
    origin: str = "2010-04-01",
    window_days: int | None = None,
    post_from: str = "2012-04-01",
) -> pd.DataFrame:
    """The per-pilot trend tests (RESULT_COLUMNS) of one outcome in one cohort: specification
    ``event_study_pretrend`` and, with ``window_days`` (the outcome's window), ``_clear`` on the
    pre-period journeys whose window ends before ``post_from``."""
    frame = pre_period_frame(df, spec, bin_col)
    parts = [("event_study_pretrend", frame, "")]
    if window_days is not None and "start_date" in frame.columns:
        clear = clear_of_start(pd.to_datetime(frame["start_date"]), int(window_days), pd.Timestamp(post_from))
        parts.append(
            (
                "event_study_pretrend_clear",
                frame.loc[clear.to_numpy()].reset_index(drop=True),
                f"journeys whose {int(window_days)}-day outcome window reaches {pd.Timestamp(post_from).date()} "
                "left out",
            )
        )
    rows: list[dict] = []
    alpha = 1 - spec.confidence_level
    for specification, sub, words in parts:
        fits = pilot_trends(sub, spec)
        main, dropped_areas, dropped_rows = drop_uninformative(sub, spec.outcome, spec.covariates)
        base = base_row(spec, main, dropped_areas, dropped_rows, -1, specification)
        what = joined(
            f"per-pilot linear pre-trends: each pilot against all comparison areas on the pre-period journeys, "
            f"term pilot x years since {origin} ({bin_col} bins); estimate = the mean trend per year",
            words,
        )
        for family in PER_PILOT:
            for row in pilot_test_rows(fits, base, family, alpha):
                rows.append(row | {"note": joined(row["note"], what, drop_note(dropped_areas, dropped_rows))})
        log.info(
            "%s/%s %s: per-pilot trends of %d pilots", spec.cohort, spec.outcome, specification, len(fits)
        )
    return results_frame(rows)
