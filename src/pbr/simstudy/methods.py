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
    ``logit_score_wcb``, ``lpm_wcb_webb``, ``logit_ri_t``, ``lpm_ri_t`` (pre-period randomisation
    inference), ``logit_crv1``, ``lpm_crv1``), ``p_zero`` only: their
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

import pandas as pd

from pbr.fit.design import build_design, fit_terms
from pbr.fit.draws import Bootstrap
from pbr.fit.event_study import event_study
from pbr.fit.frame import model_rows
from pbr.fit.inference import Draws
from pbr.fit.pilots import pilot_rows
from pbr.fit.randomisation import RiLpm, ri_logit_stats, ri_pvalue
from pbr.fit.spec import FitSpec, normal_p_value
from pbr.fit.wild_bootstrap import LogitParts, LpmParts, WcrDraws, logit_parts, lpm_parts, score_pvalue

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
#: The candidates for the method the report leads with (and CRV1 beside them): run on every
#: replicate; the randomisation-inference rows of :data:`MAIN_METHODS` on the screening ones.
HEADLINE_CANDIDATES = ("logit_crv1", "logit_score_wcb", "lpm_crv1", "lpm_wcb_webb")
#: The checks: ``main`` on every replicate (its RI rows on the screening replicates only), the
#: others on the screening replicates.
CHECKS = ("main", "pretrend", "per_pilot")
SPEC = FitSpec("drug", "y", ("sex",))


def main_pvalues(
    df: pd.DataFrame, target: tuple[float, float], reps: int, ri_reps: int, seed: int, with_ri: bool = True
) -> list[dict]:
    """The main model's methods (:data:`MAIN_METHODS`; without ``with_ri``, those of
    :data:`HEADLINE_CANDIDATES` only) on one replicate: estimate, p at the target (``target`` =
    (logit log OR, LPM risk difference)) and at 0. The draws are the pipeline's
    (:class:`pbr.fit.inference.Draws`)."""
    mf, _, _ = model_rows(df, SPEC)
    d = build_design(mf, "y", list(SPEC.covariates))
    methods = MAIN_METHODS if with_ri else HEADLINE_CANDIDATES
    draws = Draws.of(d, reps=reps, ri_reps=ri_reps, seed=seed, confidence_level=0.95, methods=methods)
    t_logit, t_lpm = target
    out: list[dict] = []
    logit = fit_terms(d, d.did, "logit")
    lpm = fit_terms(d, d.did, "linear")
    for method, fit, truth in (("logit_crv1", logit, t_logit), ("lpm_crv1", lpm, t_lpm)):
        b, se = float(fit.coef[0]), math.sqrt(float(fit.vcov[0, 0]))
        out.append(_row(method, b, normal_p_value(b - truth, se), normal_p_value(b, se)))
    b_logit = float(logit.coef[0])
    at = {delta: logit_parts(d, delta, with_ri=with_ri) for delta in {0.0, t_logit}}
    v = draws.v
    out.append(_row("logit_score_wcb", b_logit, score_pvalue(at[t_logit], v), score_pvalue(at[0.0], v)))
    parts = lpm_parts(d)
    wcr = WcrDraws.of(parts, v)  # the draws multiplied once for both nulls
    out.append(_row("lpm_wcb_webb", parts.beta, wcr.pvalue(t_lpm), wcr.pvalue(0.0)))
    if with_ri:
        out += _ri_rows(at, parts, draws, target, b_logit)
    return [r | {"check": "main"} for r in out]


def _ri_rows(
    at: dict[float, LogitParts], parts: LpmParts, draws: Draws, target: tuple[float, float], b_logit: float
) -> list[dict]:
    """The randomisation-inference rows (plain and within size strata) of the logit and the LPM."""
    t_logit, t_lpm = target
    out = []
    assert draws.assign_size is not None
    for suffix, a in (("", draws.assign), ("_size", draws.assign_size)):
        truth_stats, zero_stats = ri_logit_stats(at[t_logit], a), ri_logit_stats(at[0.0], a)
        if suffix == "":
            out.append(_row("logit_ri", b_logit, ri_pvalue(truth_stats[0]), ri_pvalue(zero_stats[0])))
        out.append(_row(f"logit_ri_t{suffix}", b_logit, ri_pvalue(truth_stats[1]), ri_pvalue(zero_stats[1])))
    for suffix, a in (("", draws.assign), ("_size", draws.assign_size)):
        ri = RiLpm(parts, a)
        truth_stats, zero_stats = ri.stats(t_lpm), ri.stats(0.0)
        if suffix == "":
            out.append(_row("lpm_ri", parts.beta, ri_pvalue(truth_stats[0]), ri_pvalue(zero_stats[0])))
        out.append(_row(f"lpm_ri_t{suffix}", parts.beta, ri_pvalue(truth_stats[1]), ri_pvalue(zero_stats[1])))
    return out


def pretrend_pvalues(df: pd.DataFrame, reps: int, ri_reps: int, seed: int) -> list[dict]:
    """The event study's joint pre-trend tests on one replicate (p at no pre-trend)."""
    _, rows = event_study(df, SPEC, bootstrap=Bootstrap(reps=reps, seed=seed, ri_reps=ri_reps))
    return zero_rows(rows, "event_study_pretrend", "pretrend")


def per_pilot_pvalues(df: pd.DataFrame) -> list[dict]:
    """Ibragimov-Mueller and Canay-Romano-Shaikh over the per-pilot DiDs on one replicate (p at 0)."""
    rows, _ = pilot_rows(df, SPEC)
    return zero_rows(rows, "per_pilot", "per_pilot")


def zero_rows(rows: pd.DataFrame, specification: str, check: str) -> list[dict]:
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
    screening: bool,
    reps: int,
    ri_reps: int,
    seed: int,
) -> pd.DataFrame:
    """Replicate ``r``'s p-values (:data:`PVALUE_COLUMNS`): the main model's headline candidates
    always; on a ``screening`` replicate also its RI rows and the other checks (:data:`CHECKS`).
    The draws of replicate r come from ``[seed, r]`` through the area-keyed streams."""
    draw_seed = int(seed) * 100003 + int(r)
    rows = main_pvalues(df, target, reps, ri_reps, draw_seed, with_ri=screening)
    if screening:
        rows += pretrend_pvalues(df, reps, ri_reps, draw_seed) + per_pilot_pvalues(df)
    return pvalue_table(rows, scenario, r)


def pvalue_table(
    rows: list[dict], scenario: str, r: int, columns: list[str] = PVALUE_COLUMNS
) -> pd.DataFrame:
    """Replicate ``r``'s rows (check, method, estimate, p_truth, p_zero, ...) as a table of ``columns``."""
    out = pd.DataFrame(rows, columns=[c for c in columns if c not in ("scenario", "replicate")])
    out.insert(0, "replicate", int(r))
    out.insert(0, "scenario", scenario)
    return out[columns]
