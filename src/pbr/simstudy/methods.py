"""Every method of the pipeline on one replicate: its estimate, its p-value at the truth and at
no effect, through the fit stage's own functions (common random numbers across methods).

Checks (``check`` column of :data:`PVALUE_COLUMNS`):

``main``
    The DiD of the main model: CRV1 (``logit_crv1``, ``lpm_crv1``: normal p, as
    :mod:`pbr.fit.models`), the wild bootstraps (``logit_score_wcb``: the score bootstrap
    with the logit refitted under H0: beta = delta; ``lpm_wcb_webb``: WCR) and randomisation
    inference (``*_ri``, ``*_ri_t``, ``*_ri_t_size``), each tested at the scenario's target
    (``p_truth``: the logit's log OR target for ``logit_*``, the LPM's risk-difference target
    for ``lpm_*``; :mod:`pbr.simstudy.truth`) and at no effect (``p_zero``). Rejection at the
    truth is 1 - coverage of the interval each method's test inverts into.
``pretrend``
    The event study's joint pre-trend tests (:func:`pbr.fit.event_study.event_study`:
    ``logit_score_wcb``, ``lpm_wcb_webb``, ``logit_crv1``, ``lpm_crv1``), ``p_zero`` only: their
    truth is "no pre-trend" in every scenario but ``pretrend`` (where rejection is power).
``per_pilot``
    Ibragimov-Mueller and Canay-Romano-Shaikh over the per-pilot DiDs
    (:func:`pbr.fit.pilots.pilot_rows`), ``p_zero`` only (their target, the unweighted mean of
    the pilots' effects, is the main target only when effects are homogeneous).

The randomisation inference of the logit at a delta other than 0 refits the logit with the
observed did's offset (:func:`pbr.fit.wild_bootstrap.logit_parts` with ``with_ri``), as the
LPM's RI shifts y by delta times the observed did.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pbr.fit.design import build_design, fit_terms
from pbr.fit.draws import Bootstrap, area_assignments, area_webb_weights, size_strata
from pbr.fit.event_study import event_study
from pbr.fit.frame import model_rows
from pbr.fit.pilots import pilot_rows
from pbr.fit.randomisation import RiLpm, ri_logit_stats, ri_pvalue
from pbr.fit.spec import FitSpec, normal_p_value
from pbr.fit.wild_bootstrap import logit_parts, lpm_parts, score_pvalue, wcr_pvalue

#: The columns of a replicate's p-value table.
PVALUE_COLUMNS = ["scenario", "replicate", "check", "method", "estimate", "p_truth", "p_zero"]
#: The main model's methods (the headline candidates).
MAIN_METHODS = (
    "logit_crv1",
    "logit_score_wcb",
    "logit_ri",
    "logit_ri_t",
    "logit_ri_t_size",
    "lpm_crv1",
    "lpm_wcb_webb",
    "lpm_ri",
    "lpm_ri_t",
    "lpm_ri_t_size",
)
#: Which checks a replicate runs: ``main`` always, the others on the screening replicates.
CHECKS = ("main", "pretrend", "per_pilot")
SPEC = FitSpec("drug", "y", ("age_group", "sex"))


def main_pvalues(
    df: pd.DataFrame, target: tuple[float, float], reps: int, ri_reps: int, seed: int
) -> list[dict]:
    """The main model's methods (:data:`MAIN_METHODS`) on one replicate: estimate, p at the target
    (``target`` = (logit log OR, LPM risk difference)) and at 0."""
    mf, _, _ = model_rows(df, SPEC)
    d = build_design(mf, "y", list(SPEC.covariates))
    v = area_webb_weights(d.area_codes, reps, seed)
    observed = d.treated.astype(float)[None, :]
    strata = size_strata(np.bincount(d.area, minlength=d.n_areas), d.treated)
    assign = {
        "": np.vstack([observed, area_assignments(d.area_codes, d.treated, ri_reps, seed)]),
        "_size": np.vstack(
            [observed, area_assignments(d.area_codes, d.treated, ri_reps, seed, strata=strata)]
        ),
    }
    t_logit, t_lpm = target
    out: list[dict] = []
    logit = fit_terms(d, d.did, "logit")
    lpm = fit_terms(d, d.did, "linear")
    for method, fit, truth in (("logit_crv1", logit, t_logit), ("lpm_crv1", lpm, t_lpm)):
        b, se = float(fit.coef[0]), math.sqrt(float(fit.vcov[0, 0]))
        out.append(_row(method, b, normal_p_value(b - truth, se), normal_p_value(b, se)))
    b_logit = float(logit.coef[0])
    at = {delta: logit_parts(d, delta, with_ri=True) for delta in {0.0, t_logit}}
    out.append(_row("logit_score_wcb", b_logit, score_pvalue(at[t_logit], v), score_pvalue(at[0.0], v)))
    for suffix, a in assign.items():
        truth_stats, zero_stats = ri_logit_stats(at[t_logit], a), ri_logit_stats(at[0.0], a)
        if suffix == "":
            out.append(_row("logit_ri", b_logit, ri_pvalue(truth_stats[0]), ri_pvalue(zero_stats[0])))
        out.append(_row(f"logit_ri_t{suffix}", b_logit, ri_pvalue(truth_stats[1]), ri_pvalue(zero_stats[1])))
    parts = lpm_parts(d)
    out.append(_row("lpm_wcb_webb", parts.beta, wcr_pvalue(parts, v, t_lpm), wcr_pvalue(parts, v, 0.0)))
    for suffix, a in assign.items():
        ri = RiLpm(parts, a)
        truth_stats, zero_stats = ri.stats(t_lpm), ri.stats(0.0)
        if suffix == "":
            out.append(_row("lpm_ri", parts.beta, ri_pvalue(truth_stats[0]), ri_pvalue(zero_stats[0])))
        out.append(_row(f"lpm_ri_t{suffix}", parts.beta, ri_pvalue(truth_stats[1]), ri_pvalue(zero_stats[1])))
    return [r | {"check": "main"} for r in out]


def pretrend_pvalues(df: pd.DataFrame, reps: int, seed: int) -> list[dict]:
    """The event study's joint pre-trend tests on one replicate (p at no pre-trend)."""
    _, rows = event_study(df, SPEC, bootstrap=Bootstrap(reps=reps, seed=seed))
    return _zero_rows(rows, "event_study_pretrend", "pretrend")


def per_pilot_pvalues(df: pd.DataFrame) -> list[dict]:
    """Ibragimov-Mueller and Canay-Romano-Shaikh over the per-pilot DiDs on one replicate (p at 0)."""
    rows, _ = pilot_rows(df, SPEC)
    return _zero_rows(rows, "per_pilot", "per_pilot")


def _zero_rows(rows: pd.DataFrame, specification: str, check: str) -> list[dict]:
    """The result rows of ``specification`` as ``check`` rows with their p at 0 (no p at the truth)."""
    rows = rows[rows["specification"] == specification]
    return [{"check": check, **_row(r.method, r.estimate, math.nan, r.p_value)} for r in rows.itertuples()]


def _row(method: str, estimate: float, p_truth: float, p_zero: float) -> dict:
    return {"method": method, "estimate": estimate, "p_truth": p_truth, "p_zero": p_zero}


def replicate_pvalues(
    df: pd.DataFrame,
    *,
    scenario: str,
    r: int,
    target: tuple[float, float],
    checks: tuple[str, ...],
    reps: int,
    ri_reps: int,
    seed: int,
) -> pd.DataFrame:
    """Every check of ``checks`` (:data:`CHECKS`) on replicate ``r`` (:data:`PVALUE_COLUMNS`);
    the draws of replicate r come from ``[seed, r]`` through the area-keyed streams."""
    draw_seed = int(seed) * 100003 + int(r)
    rows = main_pvalues(df, target, reps, ri_reps, draw_seed) if "main" in checks else []
    if "pretrend" in checks:
        rows += pretrend_pvalues(df, reps, draw_seed)
    if "per_pilot" in checks:
        rows += per_pilot_pvalues(df)
    out = pd.DataFrame(rows, columns=[c for c in PVALUE_COLUMNS if c not in ("scenario", "replicate")])
    out.insert(0, "replicate", int(r))
    out.insert(0, "scenario", scenario)
    return out[PVALUE_COLUMNS]
