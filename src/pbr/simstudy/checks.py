"""The robustness checks and the interval widths on one replicate, through the fit stage's own
functions: the second part of the simulation study (issue #19: every verdict the report prints
uses a method whose size was measured; issue #20: median interval width on a subsample).

Its own rule (``sim_checks``) and table, so that adding it did not change the main study's jobs.
Rows in :data:`CHECK_COLUMNS` (:data:`pbr.simstudy.methods.PVALUE_COLUMNS` and ``width``).

Checks (``check`` column), each the pipeline's rows of :func:`pbr.fit.robustness.variant_rows`
on the variant's data (the report's verdicts use ``logit_score_wcb``; ``logit_crv1`` and
``lpm_crv1`` beside, for reference), ``p_zero`` only, without intervals:

``placebo``
    :func:`pbr.fit.robustness.placebo_frame`: pre-period journeys, a fake start on 1 April 2011.
    Its null (no effect before the start) holds in every scenario without a pre-trend.
``leave_one_out``
    :func:`pbr.fit.robustness.leave_out_frame`: one pilot left out, pilot ``r mod n`` of the
    sorted pilots in replicate ``r`` (every pilot in turn over the replicates, one fit per
    replicate: the report's count of leave-one-out intervals that exclude 1 is a sum of these).
``mason_2015``
    :func:`pbr.fit.robustness.mason_frame`: FY2011-12 against FY2012-13.
``donut``
    :func:`pbr.fit.timing.donut_frame` with a 12-month outcome window (:data:`WINDOW_DAYS`).

``interval``
    The main model's intervals (on the first ``interval_replicates`` replicates): ``width`` is
    the width of the 95% interval of ``logit_crv1`` and ``lpm_crv1`` (:func:`pbr.fit.models.fit_did`)
    and of ``logit_score_wcb`` and ``lpm_wcb_webb`` by test inversion
    (:func:`pbr.fit.inference.few_cluster_rows`), on the log-OR scale for the logit and the
    risk-difference scale for the LPM; ``p_truth`` and ``p_zero`` are empty (the main check has them).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pbr.fit import inference, models, robustness, timing
from pbr.fit.draws import Bootstrap
from pbr.simstudy.mechanism import ORIGIN, POST_FROM
from pbr.simstudy.methods import PVALUE_COLUMNS, SPEC, pvalue_table

#: The columns of a replicate's check table.
CHECK_COLUMNS = [*PVALUE_COLUMNS, "width"]
#: The robustness checks (the report's specifications they stand for).
ROBUSTNESS_CHECKS = ("placebo", "leave_one_out", "mason_2015", "donut")
#: The CRV1 rows of each check, as the pipeline's (:mod:`pbr.fit.robustness`: leave-one-out, the logit only).
VARIANT_CRV1 = {
    c: ("logit_crv1",) if c == "leave_one_out" else ("logit_crv1", "lpm_crv1") for c in ROBUSTNESS_CHECKS
}
#: The dates of the checks: the config defaults (``models.robustness``) on the study's quarters.
START = ORIGIN + pd.DateOffset(months=3 * POST_FROM)
PLACEBO_START, MASON_PRE_START, MASON_POST_END = "2011-04-01", "2011-04-01", "2013-03-31"
#: The donut's outcome window: a 12-month outcome.
WINDOW_DAYS = 365
#: The main model's methods whose interval width is measured.
INTERVAL_METHODS = ("logit_crv1", "lpm_crv1", "logit_score_wcb", "lpm_wcb_webb")


def variant_frames(df: pd.DataFrame, r: int) -> dict[str, pd.DataFrame]:
    """Each robustness check's data (:data:`ROBUSTNESS_CHECKS`) from replicate ``r``'s table."""
    pilots = robustness.pilot_areas(df, SPEC)
    return {
        "placebo": robustness.placebo_frame(df, PLACEBO_START),
        "leave_one_out": robustness.leave_out_frame(df, pilots[r % len(pilots)]),
        "mason_2015": robustness.mason_frame(df, MASON_PRE_START, str(START.date()), MASON_POST_END),
        "donut": timing.donut_frame(df, WINDOW_DAYS, START)[0],
    }


def robustness_pvalues(df: pd.DataFrame, r: int, reps: int, seed: int) -> list[dict]:
    """The robustness checks' rows on replicate ``r`` (p at no effect; the bootstrap's draws from ``seed``)."""
    out = []
    for check, frame in variant_frames(df, r).items():
        rows = robustness.variant_rows(
            frame,
            SPEC,
            check,
            "",
            methods=VARIANT_CRV1[check],
            bootstrap=Bootstrap(reps=reps, seed=seed),
            with_ci=False,
        )
        out += [
            _row(check, x.method, _scale(x.method, x.estimate), math.nan, x.p_value, math.nan)
            for x in rows.itertuples()
        ]
    return out


def _scale(method: str, value: float) -> float:
    """A fit row's number on the study's scale: log OR for the logit (rows give the OR), else as is."""
    return float(np.log(value)) if method.startswith("logit") else float(value)


def interval_widths(df: pd.DataFrame, reps: int, seed: int) -> list[dict]:
    """The widths of the main model's 95% intervals (:data:`INTERVAL_METHODS`) on one replicate."""
    rows = pd.concat(
        [
            models.fit_did(df, SPEC, methods=("logit_crv1", "lpm_crv1")),
            inference.few_cluster_rows(
                df, SPEC, methods=("logit_score_wcb", "lpm_wcb_webb"), reps=reps, seed=seed
            ),
        ],
        ignore_index=True,
    )
    out = []
    for x in rows.itertuples():
        width = _scale(x.method, x.ci_high) - _scale(x.method, x.ci_low)
        out.append(_row("interval", x.method, _scale(x.method, x.estimate), math.nan, math.nan, width))
    return out


def _row(check: str, method: str, estimate: float, p_truth: float, p_zero: float, width: float) -> dict:
    return {
        "check": check,
        "method": method,
        "estimate": float(estimate),
        "p_truth": p_truth,
        "p_zero": float(p_zero),
        "width": width,
    }


def replicate_checks(
    df: pd.DataFrame, *, scenario: str, r: int, robust: bool, interval: bool, reps: int, seed: int
) -> pd.DataFrame:
    """Replicate ``r``'s check rows (:data:`CHECK_COLUMNS`): the robustness checks if ``robust``, the
    interval widths if ``interval``. The draws come from ``[seed, r]`` through the area-keyed streams,
    as the main check's (:func:`pbr.simstudy.methods.replicate_pvalues`)."""
    draw_seed = int(seed) * 100003 + int(r)
    rows = (robustness_pvalues(df, r, reps, draw_seed) if robust else []) + (
        interval_widths(df, reps, draw_seed) if interval else []
    )
    return pvalue_table(rows, scenario, r, CHECK_COLUMNS)
