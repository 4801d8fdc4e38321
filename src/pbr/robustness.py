"""Alternative specifications of the DiD (robustness checks).

Every function takes the analysis-table-like frame (columns area_code, pilot, did, post,
quarter, half_year, start_date, the outcome and the covariates) and returns rows in
``models.RESULT_COLUMNS`` with ``specification`` set:

- :func:`event_study`: pilot x period-bin interactions (half-years by default, reference
  = the last pre-period bin) in the logit and the LPM, CRV1 by area. Returns a tidy
  coefficient table (``EVENT_STUDY_COLUMNS``) and one summary row per model,
  ``specification="event_study_pretrend"``, whose ``estimate`` is the joint Wald
  statistic that all pre-period coefficients are zero (logit: chi2(q); LPM: F(q, G-1))
  and ``p_value`` its p-value.
- :func:`placebo`: a fake start date inside the pre-period (default 1 April 2011) on
  pre-period journeys only, ``specification="placebo_2011"``.
- :func:`leave_one_out`: the main model dropping one pilot area at a time,
  ``specification="leave_out_<area_code>"``.
- :func:`mason_2015`: FY2011-12 (pre) against FY2012-13 (post) only,
  ``specification="mason_2015"``. Mason et al. (2015) fitted a multilevel
  random-intercept logit over areas; here a fixed-effects logit (area and period FE)
  stands in for it, which targets the same within-area DiD odds ratio.

Model conventions are those of ``models.fit_did``: logit and LPM with area and period fixed
effects, CRV1 by area (pyfixest small-sample defaults), z-based intervals, areas, periods
and covariate levels without outcome variation dropped and reported; the same two engines
(``engine="exact"`` or ``"pyfixest"``).
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pandas as pd
from scipy import special

from pbr import design, models

log = logging.getLogger(__name__)

EVENT_STUDY_COLUMNS = [
    "cohort",
    "outcome",
    "method",
    "scale",
    "bin_col",
    "bin",
    "bin_start",
    "is_reference",
    "is_post",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "beta",
    "se",
    "n",
    "n_clusters",
]

_MONTHS = {"quarter": 3, "half_year": 6, "year": 12}


def _frame(
    df: pd.DataFrame, outcome: str, covariates: list[str], period_col: str, extra: list[str]
) -> tuple[pd.DataFrame, int, int]:
    """``models.model_frame`` (same rows and drops as the main fit) plus ``extra`` columns."""
    mask = df[outcome].notna()
    mf = models.model_frame(df, outcome, covariates, period_col)
    for col in extra:
        if col not in mf.columns:
            mf[col] = df.loc[mask, col].to_numpy()
    return models.drop_uninformative(mf, outcome, covariates)


def _bin_name(b: int) -> str:
    return f"es_{b}" if b >= 0 else f"es_m{-b}"


def event_study(
    df: pd.DataFrame,
    cohort: str,
    outcome: str,
    covariates: list[str],
    *,
    bin_col: str = "half_year",
    ref_bin: int | None = None,
    period_col: str = "quarter",
    origin: str = "2010-04-01",
    confidence_level: float = 0.95,
    methods: tuple[str, ...] = ("logit_crv1", "lpm_crv1"),
    engine: str = "exact",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Event study: (tidy coefficient table, summary rows with the joint pre-trend test).

    ``bin_col`` holds integer period indices since ``origin`` (quarter / half_year /
    year); ``ref_bin`` defaults to the last bin with pre-period journeys. Period fixed
    effects stay at ``period_col`` (quarters by default, nested in the bins).
    """
    z = models.normal_quantile(confidence_level)
    mf, dropped_areas, dropped_rows = _frame(df, outcome, covariates, period_col, [bin_col, "post"])
    pilot = mf["pilot"].fillna(False).astype(bool)
    bins = sorted(int(b) for b in mf[bin_col].unique())
    post_bins = {int(b) for b in mf.loc[mf["post"].astype(int) == 1, bin_col].unique()}
    pre_bins = [b for b in bins if b not in post_bins]
    ref = int(ref_bin) if ref_bin is not None else (max(pre_bins) if pre_bins else bins[0])
    est_bins = []
    for b in bins:
        col = (pilot & (mf[bin_col] == b)).astype("int64")
        if b != ref and col.sum() > 0:
            mf[_bin_name(b)] = col
            est_bins.append(b)
    names = [_bin_name(b) for b in est_bins]
    rhs = " + ".join([*names, *[f"C({c})" for c in covariates]])
    fml = f"{outcome} ~ {rhs} | area_code + period_fe"
    n_clusters = int(mf["area_code"].nunique())
    step = _MONTHS.get(bin_col)

    def start(b: int):
        return (pd.Timestamp(origin) + pd.DateOffset(months=step * b)).date() if step else pd.NaT

    coef_rows, summary = [], []
    base = {
        "cohort": cohort,
        "outcome": outcome,
        "specification": "event_study_pretrend",
        "events": int(mf[outcome].sum()),
        "n_clusters": n_clusters,
        "n_treated_clusters": int(mf.loc[pilot, "area_code"].nunique()),
        "dropped_clusters": dropped_areas,
        "dropped_rows": dropped_rows,
    }
    models.check_engine(engine)
    d = design.build_design(mf, outcome, covariates) if engine == "exact" else None  # once for both methods
    for method in methods:
        logit = method.startswith("logit")
        coef, vcov, n_used = _fit_terms(mf, d, names, fml, logit)
        f = math.exp if logit else float
        for b in bins:
            name = _bin_name(b)
            is_ref = b == ref
            if not is_ref and name not in coef.index:
                continue  # no pilot journeys in this bin, or dropped as collinear
            beta = 0.0 if is_ref else float(coef[name])
            se = np.nan if is_ref else math.sqrt(vcov.loc[name, name])
            coef_rows.append(
                {
                    "cohort": cohort,
                    "outcome": outcome,
                    "method": method,
                    "scale": "odds_ratio" if logit else "risk_difference",
                    "bin_col": bin_col,
                    "bin": b,
                    "bin_start": start(b),
                    "is_reference": is_ref,
                    "is_post": b in post_bins,
                    "estimate": f(beta),
                    "ci_low": np.nan if is_ref else f(beta - z * se),
                    "ci_high": np.nan if is_ref else f(beta + z * se),
                    "p_value": np.nan if is_ref else models.normal_p_value(beta, se),
                    "beta": beta,
                    "se": se,
                    "n": n_used,
                    "n_clusters": n_clusters,
                }
            )
        pre = [_bin_name(b) for b in est_bins if b in pre_bins and _bin_name(b) in coef.index]
        q = len(pre)
        if q:
            bvec = coef[pre].to_numpy()
            wald = float(bvec @ np.linalg.solve(vcov.loc[pre, pre].to_numpy(), bvec))
            if logit:
                stat, p, scale, dist = wald, float(special.chdtrc(q, wald)), "wald_chi2", f"chi2({q})"
            else:
                stat = wald / q
                p, scale = float(special.fdtrc(q, n_clusters - 1, stat)), "wald_F"
                dist = f"F({q}, {n_clusters - 1})"
        else:
            stat = p = np.nan
            scale, dist = ("wald_chi2", "chi2(0)") if logit else ("wald_F", "F(0)")
        summary.append(
            base
            | {
                "method": method,
                "scale": scale,
                "estimate": stat,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "p_value": p,
                "beta": np.nan,
                "se": np.nan,
                "n": n_used,
                "note": (
                    f"joint Wald test that the {q} pre-period pilot x {bin_col} coefficients are 0 "
                    f"(reference bin {ref} = {start(ref)}), CRV1 by area, {dist}; "
                    f"estimate = the test statistic"
                    + (f"; {models.drop_note(dropped_areas, dropped_rows)}" if dropped_rows else "")
                ),
            }
        )
    return (
        pd.DataFrame(coef_rows, columns=EVENT_STUDY_COLUMNS),
        pd.DataFrame(summary, columns=models.RESULT_COLUMNS),
    )


def _fit_terms(
    mf: pd.DataFrame,
    d: design.Design | None,
    names: list[str],
    fml: str,
    logit: bool,
) -> tuple[pd.Series, pd.DataFrame, int]:
    """Coefficients (by name) and CRV1 covariance of the terms ``names``, and the rows used.

    With a design ``d`` of ``mf``, the exact engine fits them; without, pyfixest (``fml``).
    Terms collinear with the fixed effects are left out of both, by either engine.
    """
    if d is not None:
        fit = design.fit_terms(d, mf[names].to_numpy(dtype=float), "logit" if logit else "linear")
        kept = [names[i] for i in fit.kept]
        return pd.Series(fit.coef, index=kept), pd.DataFrame(fit.vcov, index=kept, columns=kept), fit.n
    import pyfixest as pf  # only here: its import and JIT cost about 2 s per process

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if logit:
            fit = pf.feglm(fml, data=mf, family="logit", vcov={"CRV1": "area_code"})
        else:
            fit = pf.feols(fml, data=mf, vcov={"CRV1": "area_code"})
    coefnames = [str(c) for c in fit._coefnames]
    coef = pd.Series(np.asarray(fit.coef(), dtype=float), index=coefnames)
    vcov = pd.DataFrame(np.asarray(fit._vcov, dtype=float), index=coefnames, columns=coefnames)
    kept = [c for c in names if c in coef.index]
    return coef[kept], vcov.loc[kept, kept], int(fit._N)


def _relabel(res: pd.DataFrame, specification: str, note: str) -> pd.DataFrame:
    res = res.copy()
    res["specification"] = specification
    res["note"] = [note if not n else f"{note}; {n}" for n in res["note"].fillna("")]
    return res


def _did_from(
    df: pd.DataFrame, post_start: pd.Timestamp, cohort: str, outcome: str, covariates: list[str], **fit
) -> pd.DataFrame:
    """:func:`models.fit_did` on ``df`` (not modified) with ``post`` = journey starts on or after
    ``post_start`` and ``did`` = pilot x that post; ``fit`` goes to ``fit_did``."""
    post = df["start_date"] >= post_start
    sub = df.assign(
        post=post.astype("int64"), did=(df["pilot"].fillna(False).astype(bool) & post).astype("int64")
    )
    return models.fit_did(sub, cohort, outcome, covariates, **fit)


def placebo(
    df: pd.DataFrame,
    cohort: str,
    outcome: str,
    covariates: list[str],
    *,
    fake_start: str = "2011-04-01",
    period_col: str = "quarter",
    confidence_level: float = 0.95,
    engine: str = "exact",
) -> pd.DataFrame:
    """Placebo DiD: pre-period journeys only, 'post' from a fake start date."""
    pre = df.loc[df["post"].astype(int) == 0]
    fake = pd.Timestamp(fake_start)
    res = _did_from(
        pre,
        fake,
        cohort,
        outcome,
        covariates,
        period_col=period_col,
        confidence_level=confidence_level,
        engine=engine,
    )
    label = str(fake.year) if (fake.month, fake.day) == (4, 1) else fake.strftime("%Y%m%d")
    return _relabel(
        res,
        f"placebo_{label}",
        f"placebo: pre-period journeys only, fake start {fake.date()} (expect no effect)",
    )


def leave_one_out(
    df: pd.DataFrame,
    cohort: str,
    outcome: str,
    covariates: list[str],
    *,
    period_col: str = "quarter",
    confidence_level: float = 0.95,
    engine: str = "exact",
    methods: tuple[str, ...] = ("logit_crv1",),
) -> pd.DataFrame:
    """The main model refitted once per pilot area, without that area."""
    in_denominator = df[outcome].notna() & df["pilot"].fillna(False).astype(bool)
    pilots = sorted(df.loc[in_denominator, "area_code"].astype(str).unique())
    parts = []
    for area in pilots:
        res = models.fit_did(
            df.loc[df["area_code"].astype(str) != area],
            cohort,
            outcome,
            covariates,
            period_col=period_col,
            confidence_level=confidence_level,
            methods=methods,
            engine=engine,
        )
        parts.append(_relabel(res, f"leave_out_{area}", f"pilot area {area} left out"))
    if not parts:
        return pd.DataFrame(columns=models.RESULT_COLUMNS)
    return pd.concat(parts, ignore_index=True)[models.RESULT_COLUMNS]


def mason_2015(
    df: pd.DataFrame,
    cohort: str,
    outcome: str,
    covariates: list[str],
    *,
    pre_start: str = "2011-04-01",
    post_start: str = "2012-04-01",
    post_end: str = "2013-03-31",
    period_col: str = "quarter",
    confidence_level: float = 0.95,
    engine: str = "exact",
) -> pd.DataFrame:
    """Mason et al. (2015) window: FY2011-12 (pre) against FY2012-13 (post)."""
    start = df["start_date"]
    sub = df.loc[(start >= pd.Timestamp(pre_start)) & (start <= pd.Timestamp(post_end))]
    res = _did_from(
        sub,
        pd.Timestamp(post_start),
        cohort,
        outcome,
        covariates,
        period_col=period_col,
        confidence_level=confidence_level,
        engine=engine,
    )
    return _relabel(
        res,
        "mason_2015",
        f"journeys starting {pre_start} to {post_end}, post from {post_start}; fixed-effects logit "
        "(area + period FE) stands in for Mason et al.'s multilevel random-intercept logit",
    )


def robustness_rows(
    df: pd.DataFrame,
    cohort: str,
    outcome: str,
    covariates: list[str],
    *,
    period_col: str = "quarter",
    confidence_level: float = 0.95,
    engine: str = "exact",
    event_bin_col: str = "half_year",
    placebo_start: str = "2011-04-01",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All variants for one outcome: (rows in RESULT_COLUMNS, event-study coefficient table)."""
    kw = {"period_col": period_col, "confidence_level": confidence_level, "engine": engine}
    es_table, es_rows = event_study(df, cohort, outcome, covariates, bin_col=event_bin_col, **kw)
    rows = pd.concat(
        [
            es_rows,
            placebo(df, cohort, outcome, covariates, fake_start=placebo_start, **kw),
            leave_one_out(df, cohort, outcome, covariates, **kw),
            mason_2015(df, cohort, outcome, covariates, **kw),
        ],
        ignore_index=True,
    )[models.RESULT_COLUMNS]
    return rows, es_table
