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

Every row carries ``status`` and ``min_cell_events`` from the checks of ``models``
(``estimability`` before, ``fit_check`` after each fit), so that no variant crashes or
prints an absurd number on sparse or degenerate data (no rows, every journey still open,
no pre or post period, one pilot area left, empty bins). Placebo, leave-one-out and Mason
rows are ``models.fit_did`` rows (each refit gets its own status). The event study adds
its own checks: no pilot journeys in the reference bin, or no pre-period bin besides it,
is not estimable; in the logit, a pilot x bin cell whose outcome is all 0 or all 1 has an
infinite coefficient, so its journeys and term are left out (the exact limit of the other
estimates; a caveat naming the bins), and a reference-bin cell without outcome variation
makes the logit not estimable; each term goes through ``models.fit_check`` (divergence,
non-finite standard errors, a risk difference outside [-1, 1]), and a singular covariance
of the pre-period terms leaves the Wald test not estimable. The coefficient table has rows
only for a model whose pre-trend row is estimable.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from pbr.fit import design, models

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
    effects stay at ``period_col`` (quarters by default, nested in the bins). Checks: see
    the module docstring.
    """
    models.check_engine(engine)
    z = models.normal_quantile(confidence_level)
    mf, dropped_areas, dropped_rows = _frame(df, outcome, covariates, period_col, [bin_col])
    post_from = models.post_start(df)
    pre_check = {f: models.estimability(mf, outcome, f, post_from) for f in ("logit", "linear")}
    pilot = mf["pilot"].fillna(False).astype(bool)
    bins = sorted(int(b) for b in mf[bin_col].unique())
    post_bins = {int(b) for b in mf.loc[mf["post"] > 0, bin_col].unique()}
    pre_bins = [b for b in bins if b not in post_bins]
    ref = int(ref_bin) if ref_bin is not None else (max(pre_bins) if pre_bins else (bins[0] if bins else -1))
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
        "min_cell_events": pre_check["logit"].min_cell_events,
    }
    d_all = None  # the design of the full frame, built once for the methods that use it (exact engine)
    for method in methods:
        logit = method.startswith("logit")
        family = "logit" if logit else "linear"
        scale = "wald_chi2" if logit else "wald_F"
        if pre_check[family].status == "not_estimable":
            reason = pre_check[family].reason
            log.warning("%s/%s event study %s: %s", cohort, outcome, method, reason)
            summary.append(
                models.empty_row(
                    base | {"n": len(mf)}, method, reason, models.drop_note(dropped_areas, dropped_rows)
                )
                | {"scale": scale}
            )
            continue
        data = _event_frame(mf, outcome, covariates, bin_col, ref, bins, logit, start)
        row_base = base | {
            "dropped_clusters": dropped_areas + data.dropped_clusters,
            "dropped_rows": dropped_rows + data.dropped_rows,
        }
        drop = models.drop_note(row_base["dropped_clusters"], row_base["dropped_rows"])
        checks = [pre_check[family], data.check]
        if data.dropped_rows:  # the reduced frame's own cells
            checks.append(models.estimability(data.mf, outcome, family, post_from))
        names = [_bin_name(b) for b in data.est_bins]
        pre_names = [_bin_name(b) for b in data.est_bins if b not in post_bins]
        if not pre_names:
            checks.append(
                models.verdict(
                    [
                        f"no pre-period pilot x {bin_col} bin besides the reference ({ref}): no pre-trend to test"
                    ]
                )
            )
        if any(c.status == "not_estimable" for c in checks):
            reason = models.merge(*checks)[1]
            log.warning("%s/%s event study %s: %s", cohort, outcome, method, reason)
            summary.append(
                models.empty_row(row_base | {"n": len(data.mf)}, method, reason, drop) | {"scale": scale}
            )
            continue
        if engine == "exact":
            if data.dropped_rows:
                d = design.build_design(data.mf, outcome, covariates)
            else:
                d_all = design.build_design(mf, outcome, covariates) if d_all is None else d_all
                d = d_all
        else:
            d = None
        rhs = " + ".join([*names, *[f"C({c})" for c in covariates]])
        res = _fit_terms(data.mf, d, names, f"{outcome} ~ {rhs} | area_code + period_fe", logit)
        coef, vcov = res.coef, res.vcov
        dropped_terms = [n for n in names if n not in coef.index]
        for b in data.est_bins:
            name = _bin_name(b)
            if name in coef.index:
                checks.append(
                    models.fit_check(
                        family,
                        float(coef[name]),
                        _se(vcov, name),
                        term=f"the pilot x {bin_col} {b} term",
                    )
                )
        pilot_rows = data.mf["pilot"].fillna(False).astype(bool).to_numpy(dtype=float)
        checks.append(
            models.fit_check(
                family,
                0.0,
                converged=res.converged,
                eta=res.eta,
                did=pilot_rows,
                term="the event-study terms",
            )
        )
        pre = [n for n in pre_names if n in coef.index]
        q = len(pre)
        stat = p = np.nan
        dist = ""
        if not q:
            checks.append(
                models.fit_check(
                    family, np.nan, collinear=True, term=f"every pre-period pilot x {bin_col} term"
                )
            )
        else:
            bvec = coef[pre].to_numpy()
            try:
                wald = float(bvec @ np.linalg.solve(vcov.loc[pre, pre].to_numpy(), bvec))
            except np.linalg.LinAlgError:
                wald = np.nan
            if not np.isfinite(wald) or wald < 0:
                checks.append(
                    models.verdict(
                        ["the covariance of the pre-period terms is singular or not finite (no Wald test)"]
                    )
                )
            elif logit:
                stat, p, dist = wald, float(special.chdtrc(q, wald)), f"chi2({q})"
            else:
                stat = wald / q
                p, dist = float(special.fdtrc(q, n_clusters - 1, stat)), f"F({q}, {n_clusters - 1})"
        if dropped_terms:
            checks.append(
                models.verdict(
                    caveats=[
                        f"pilot x {bin_col} term(s) {', '.join(dropped_terms)} collinear with the fixed effects, "
                        "left out"
                    ]
                )
            )
        status, reason = models.merge(*checks)
        if status == "not_estimable":
            log.warning("%s/%s event study %s: %s", cohort, outcome, method, reason)
            summary.append(models.empty_row(row_base | {"n": res.n}, method, reason, drop) | {"scale": scale})
            continue
        f = models.odds_ratio if logit else float
        for b in bins:
            name = _bin_name(b)
            is_ref = b == ref
            if not is_ref and name not in coef.index:
                continue  # no pilot journeys in this bin, left out (no outcome variation) or collinear
            beta = 0.0 if is_ref else float(coef[name])
            se = np.nan if is_ref else _se(vcov, name)
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
                    "n": res.n,
                    "n_clusters": n_clusters,
                }
            )
        summary.append(
            row_base
            | {
                "method": method,
                "scale": scale,
                "estimate": stat,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "p_value": p,
                "beta": np.nan,
                "se": np.nan,
                "n": res.n,
                "note": "; ".join(
                    x
                    for x in (
                        reason,
                        f"joint Wald test that the {q} pre-period pilot x {bin_col} coefficients are 0 "
                        f"(reference bin {ref} = {start(ref)}), CRV1 by area, {dist}; "
                        f"estimate = the test statistic",
                        drop,
                    )
                    if x
                ),
                "status": status,
            }
        )
    return (
        pd.DataFrame(coef_rows, columns=EVENT_STUDY_COLUMNS),
        pd.DataFrame(summary, columns=models.RESULT_COLUMNS),
    )


def _se(vcov: pd.DataFrame, name: str) -> float:
    v = float(vcov.loc[name, name])
    return math.sqrt(v) if v >= 0 else math.nan


class _EventFrame(NamedTuple):
    mf: pd.DataFrame  # the model's rows, with one 0/1 column per estimated pilot x bin term
    est_bins: list[int]  # bins with a term (not the reference, with pilot journeys, not left out)
    check: models.Estimability  # reference-bin problems, bins left out
    dropped_rows: int  # rows left out beyond the main drops (logit: cells without variation, then drops)
    dropped_clusters: int


def _event_frame(
    mf: pd.DataFrame,
    outcome: str,
    covariates: list[str],
    bin_col: str,
    ref: int,
    bins: list[int],
    logit: bool,
    start,
) -> _EventFrame:
    """The event-study frame of one model, and what the bins allow (see the module docstring)."""
    pilot = mf["pilot"].fillna(False).astype(bool)
    y = mf[outcome]
    fatal, caveats = [], []
    ref_cell = pilot & (mf[bin_col] == ref)
    if len(mf) and not ref_cell.any():
        fatal.append(
            f"no pilot journeys in the reference {bin_col} bin {ref}: the event-study terms are not identified"
        )
    elif logit and len(mf) and y[ref_cell].nunique() < 2:
        fatal.append(
            f"{'no events' if y[ref_cell].sum() == 0 else 'every journey an event'} in the pilot areas in the "
            f"reference {bin_col} bin {ref} ({start(ref)}): quasi-separation of every event-study term"
        )
    separated = []
    if logit and not fatal:
        for b in bins:
            cell = pilot & (mf[bin_col] == b)
            if b != ref and cell.any() and y[cell].nunique() < 2:
                separated.append(b)
    out, dropped_clusters, dropped_rows = mf, 0, 0
    if separated:
        cells = pilot & mf[bin_col].isin(separated)
        out, dropped_clusters, extra = models.drop_uninformative(mf.loc[~cells], outcome, covariates)
        dropped_rows = int(cells.sum()) + extra
        listed = ", ".join(f"{b} ({start(b)})" for b in separated)
        caveats.append(
            f"pilot x {bin_col} bin(s) {listed} without outcome variation: their {int(cells.sum())} journeys and "
            "terms left out of the logit (their coefficients are infinite; the others are the limit of the fit)"
        )
    out = out.copy()
    pilot_out = out["pilot"].fillna(False).astype(bool)
    est_bins = []
    for b in bins:
        col = (pilot_out & (out[bin_col] == b)).astype("int64")
        if b != ref and col.sum() > 0:
            out[_bin_name(b)] = col
            est_bins.append(b)
    return _EventFrame(out, est_bins, models.verdict(fatal, caveats), dropped_rows, dropped_clusters)


class _TermsResult(NamedTuple):
    coef: pd.Series
    vcov: pd.DataFrame
    n: int
    converged: bool
    eta: np.ndarray | None  # logit linear predictor, row-aligned with the frame (None if unknown)


def _fit_terms(
    mf: pd.DataFrame,
    d: design.Design | None,
    names: list[str],
    fml: str,
    logit: bool,
) -> _TermsResult:
    """Coefficients (by name) and CRV1 covariance of the terms ``names``, the rows used, and
    the logit's convergence and linear predictor.

    With a design ``d`` of ``mf``, the exact engine fits them; without, pyfixest (``fml``).
    Terms collinear with the fixed effects are left out of both, by either engine.
    """
    if d is not None:
        fit = design.fit_terms(d, mf[names].to_numpy(dtype=float), "logit" if logit else "linear")
        kept = [names[i] for i in fit.kept]
        return _TermsResult(
            pd.Series(fit.coef, index=kept, dtype=float),
            pd.DataFrame(fit.vcov, index=kept, columns=kept),
            fit.n,
            fit.converged,
            fit.eta,
        )
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
    eta = getattr(fit, "_Y_hat_link", None) if logit else None
    if eta is not None and len(eta) != len(mf):
        eta = None
    return _TermsResult(
        coef[kept], vcov.loc[kept, kept], int(fit._N), bool(getattr(fit, "convergence", True)), eta
    )


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
    origin: str = "2010-04-01",
    placebo_start: str = "2011-04-01",
    mason_pre_start: str = "2011-04-01",
    mason_post_end: str = "2013-03-31",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All variants for one outcome, as rule fit_robustness runs them: (rows in RESULT_COLUMNS,
    event-study coefficient table). ``origin`` is the study's first day (event-study bins count
    from it); the Mason 2015 window runs from ``mason_pre_start`` to ``mason_post_end``."""
    kw = {"period_col": period_col, "confidence_level": confidence_level, "engine": engine}
    es_table, es_rows = event_study(
        df, cohort, outcome, covariates, bin_col=event_bin_col, origin=origin, **kw
    )
    mason = {"pre_start": mason_pre_start, "post_end": mason_post_end}
    rows = pd.concat(
        [
            es_rows,
            placebo(df, cohort, outcome, covariates, fake_start=placebo_start, **kw),
            leave_one_out(df, cohort, outcome, covariates, **kw),
            mason_2015(df, cohort, outcome, covariates, **mason, **kw),
        ],
        ignore_index=True,
    )[models.RESULT_COLUMNS]
    return rows, es_table
