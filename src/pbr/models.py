"""Fit stage: difference-in-differences models for one outcome in one cohort.

Main model: logit P(y=1) = area FE + period FE + beta * (pilot x post) + covariates,
with standard errors clustered by area (CRV1 with pyfixest's small-sample defaults),
intervals on the z scale: OR = exp(beta), CI = exp(beta +- z SE). Companion: the linear
probability model with the same design; its estimate is a risk difference.

Two engines give the same numbers (the test suite checks coefficients and standard errors
against each other and against statsmodels): ``exact`` (the default; :mod:`pbr.design`,
IRLS and projections on the dummy design, no iterative demeaning) and ``pyfixest``
(``feglm``/``feols``). At scale 1.0 one outcome's logit takes 0.7 s with ``exact`` and 3-6 s
with pyfixest, and ``exact`` spares each fit job pyfixest's import and JIT (about 2 s).

Areas (or periods) in which the outcome never varies carry no information in a
fixed-effects logit (perfect prediction). They are dropped before fitting and the
numbers dropped are reported with the result, never silently.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from pbr import design

log = logging.getLogger(__name__)

RESULT_COLUMNS = [
    "cohort",
    "outcome",
    "specification",
    "method",
    "scale",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "beta",
    "se",
    "n",
    "events",
    "n_clusters",
    "n_treated_clusters",
    "dropped_clusters",
    "dropped_rows",
    "note",
]


ENGINES = ("exact", "pyfixest")


def check_engine(engine: str) -> None:
    """Raise ValueError unless ``engine`` is one of :data:`ENGINES`."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")


#: pyfixest options: no defensive copy of the frame, keep no data on the fitted object (the
#: estimates, their variance and N are kept). Both fits of one scale-1.0 outcome: 6.5 s -> 5.7 s.
LEAN = {"copy_data": False, "store_data": False, "lean": True}


def model_frame(analysis: pd.DataFrame, outcome: str, covariates: list[str], period_col: str) -> pd.DataFrame:
    """Rows in the outcome's denominator, with covariates as categorical strings ('unknown' for missing).

    The cluster and area fixed effect is ``analysis_area`` when present (an area split by
    the partial-pilot rule is two analysis areas), else ``area_code``; either way the
    column is named ``area_code`` in the returned frame.
    """
    area = "analysis_area" if "analysis_area" in analysis.columns else "area_code"
    cols = [area, "pilot", "did", period_col, outcome, *covariates]
    df = analysis.loc[analysis[outcome].notna(), cols].copy()
    df = df.rename(columns={area: "area_code"})
    df[outcome] = df[outcome].astype("int64")
    # categoricals: the same (sorted) levels as strings; pyfixest builds its design from them faster
    # (both fits of one scale-1.0 outcome 12.4 s -> 8.2 s, same estimates)
    for c in covariates:
        df[c] = df[c].astype("string").fillna("unknown").astype(str).astype("category")
    df["area_code"] = df["area_code"].astype(str)
    df["period_fe"] = df[period_col].astype("int64")
    return df.reset_index(drop=True)


def analysis_columns(outcomes: Sequence[str], covariates: Sequence[str], period_col: str) -> list[str]:
    """Columns of the analysis table the models of ``outcomes`` read (``analysis_area`` only where
    the partial-pilot rule made it; robustness checks also need the dates and bins)."""
    design = ["area_code", "analysis_area", "pilot", "did", "post", period_col]
    return [*design, "start_date", "half_year", "quarter", *outcomes, *covariates]


def drop_uninformative(
    df: pd.DataFrame, outcome: str, covariates: Sequence[str] = ()
) -> tuple[pd.DataFrame, int, int]:
    """Drop rows whose area, period or covariate level has an outcome all 0 or all 1.

    Such rows are perfectly predicted by their own dummy: they carry no information on the
    DiD, and left in they send that dummy's coefficient to infinity (a fit that converges
    slowly or not at all). Repeated until nothing changes; returns (data, areas dropped,
    rows dropped).
    """
    n0, areas0 = len(df), df["area_code"].nunique()
    while True:
        n = len(df)
        for col in ["area_code", "period_fe", *covariates]:
            mean = df.groupby(col, observed=True)[outcome].transform("mean")
            df = df.loc[~mean.isin([0.0, 1.0])]
        if len(df) == n:
            break
    df = df.reset_index(drop=True)
    for col in covariates:  # no empty levels left behind (a dummy of zeros)
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].cat.remove_unused_categories()
    return df, int(areas0 - df["area_code"].nunique()), n0 - len(df)


def drop_note(dropped_areas: int, dropped_rows: int) -> str:
    """What :func:`drop_uninformative` dropped, for a result row's note ('' when nothing)."""
    if not dropped_rows:
        return ""
    return (
        f"{dropped_rows} rows without outcome variation in their area, period or covariate level "
        f"dropped ({dropped_areas} area(s))"
    )


def _formula(outcome: str, covariates: list[str]) -> str:
    rhs = " + ".join(["did", *[f"C({c})" for c in covariates]])
    return f"{outcome} ~ {rhs} | area_code + period_fe"


def normal_quantile(confidence_level: float) -> float:
    """z such that a normal interval beta +- z SE has this confidence level."""
    return float(special.ndtri(0.5 + confidence_level / 2))


def normal_p_value(beta: float, se: float) -> float:
    """Two-sided p-value of beta / se against the standard normal."""
    return float(2 * special.ndtr(-abs(beta / se)))


def fit_did(
    analysis: pd.DataFrame,
    cohort: str,
    outcome: str,
    covariates: list[str],
    period_col: str = "quarter",
    confidence_level: float = 0.95,
    methods: tuple[str, ...] = ("logit_crv1", "lpm_crv1"),
    engine: str = "exact",
) -> pd.DataFrame:
    """Fit the logistic DiD and its linear companion; one result row per method (RESULT_COLUMNS).

    ``methods`` picks the models fitted (both by default; robustness refits may need one);
    ``engine`` is ``exact`` or ``pyfixest`` (the same numbers; see the module docstring).
    """
    check_engine(engine)
    df0 = model_frame(analysis, outcome, covariates, period_col)
    df, dropped_areas, dropped_rows = drop_uninformative(df0, outcome, covariates)
    z = normal_quantile(confidence_level)
    base = {
        "cohort": cohort,
        "outcome": outcome,
        "specification": "main",
        "n": len(df),
        "events": int(df[outcome].sum()),
        "n_clusters": int(df["area_code"].nunique()),
        "n_treated_clusters": int(df.loc[df["pilot"].astype(bool), "area_code"].nunique()),
        "dropped_clusters": dropped_areas,
        "dropped_rows": dropped_rows,
    }
    note = drop_note(dropped_areas, dropped_rows)
    if base["n_treated_clusters"] == 0 or df["did"].sum() == 0:
        reason = "not estimable: no pilot journeys in the post period with outcome variation"
        log.warning("%s/%s: %s", cohort, outcome, reason)
        return pd.DataFrame([_empty_row(base, m, reason) for m in methods], columns=RESULT_COLUMNS)

    if engine == "exact":
        d = design.build_design(df, outcome, covariates)  # once for both models

        def estimate(logit: bool) -> tuple[float, float, int, str]:
            return _did_exact(d, logit)
    else:

        def estimate(logit: bool) -> tuple[float, float, int, str]:
            return _did_pyfixest(df, outcome, covariates, logit)

    rows = []
    for method in methods:
        logit = method == "logit_crv1"
        beta, se, n, extra_note = estimate(logit)
        f = math.exp if logit else float
        rows.append(
            base
            | {
                "method": method,
                "scale": "odds_ratio" if logit else "risk_difference",
                "estimate": f(beta),
                "ci_low": f(beta - z * se),
                "ci_high": f(beta + z * se),
                "p_value": normal_p_value(beta, se),
                "beta": beta,
                "se": se,
                "n": n,
                "note": "; ".join(x for x in (note, extra_note) if x),
            }
        )
        if logit:
            r = rows[-1]
            log.info(
                "%s/%s: OR %.3f (%.3f-%.3f), n=%d",
                cohort,
                outcome,
                r["estimate"],
                r["ci_low"],
                r["ci_high"],
                n,
            )
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _did_exact(d: design.Design, logit: bool) -> tuple[float, float, int, str]:
    """(beta, se, n, note) of the DiD term by :func:`pbr.design.fit_terms`."""
    fit = design.fit_terms(d, d.did, "logit" if logit else "linear")
    if not len(fit.kept):
        return math.nan, math.nan, fit.n, "the DiD term is collinear with the fixed effects"
    note = "" if fit.converged else "logit IRLS did not converge (separation?)"
    return float(fit.coef[0]), math.sqrt(fit.vcov[0, 0]), fit.n, note


def _did_pyfixest(
    df: pd.DataFrame, outcome: str, covariates: list[str], logit: bool
) -> tuple[float, float, int, str]:
    """(beta, se, n, note) of the DiD term by pyfixest ``feglm`` (logit) or ``feols``."""
    import pyfixest as pf  # only here: its import and JIT cost about 2 s per process

    fml = _formula(outcome, covariates)
    if not logit:
        lpm = pf.feols(fml, data=df, vcov={"CRV1": "area_code"}, **LEAN)
        return float(lpm.coef()["did"]), float(lpm.se()["did"]), int(lpm._N), ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = pf.feglm(fml, data=df, family="logit", vcov={"CRV1": "area_code"}, **LEAN)
    note = _separation_note(caught, len(df), fit._N)
    return float(fit.coef()["did"]), float(fit.se()["did"]), int(fit._N), note


def _separation_note(caught: list, n_in: int, n_used: int) -> str:
    msgs = [str(w.message) for w in caught if "separation" in str(w.message)]
    if n_used < n_in or msgs:
        return f"pyfixest removed {n_in - n_used} rows for separation"
    return ""


def _empty_row(base: dict, method: str, reason: str) -> dict:
    return base | {
        "method": method,
        "scale": "odds_ratio" if method.startswith("logit") else "risk_difference",
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "beta": np.nan,
        "se": np.nan,
        "note": reason,
    }


def combine_results(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack per-model results into the tidy results table, sorted for stable output."""
    res = pd.concat(parts, ignore_index=True)[RESULT_COLUMNS]
    return res.sort_values(["cohort", "outcome", "specification", "method"], kind="mergesort").reset_index(
        drop=True
    )
