"""Fit stage: difference-in-differences models for one outcome in one cohort.

Main model: logit P(y=1) = area FE + period FE + beta * (pilot x post) + covariates,
with standard errors clustered by area (CRV1 with pyfixest's small-sample defaults),
intervals on the z scale: OR = exp(beta), CI = exp(beta +- z SE). Companion: the linear
probability model with the same design; its estimate is a risk difference.

Two engines give the same numbers (the test suite checks coefficients and standard errors
against each other and against statsmodels): ``exact`` (the default; :mod:`pbr.fit.design`,
IRLS and projections on the dummy design, no iterative demeaning) and ``pyfixest``
(``feglm``/``feols``). At scale 1.0 one outcome's logit takes 0.7 s with ``exact`` and 3-6 s
with pyfixest, and ``exact`` spares each fit job pyfixest's import and JIT (about 2 s).

Areas (or periods) in which the outcome never varies carry no information in a
fixed-effects logit (perfect prediction). They are dropped before fitting and the
numbers dropped are reported with the result, never silently.

Estimability
------------
Every result row (here, in :mod:`pbr.fit.inference` and in :mod:`pbr.fit.robustness`) carries a
``status`` -- ``ok``, ``caveat`` or ``not_estimable`` -- with the reason in words in
``note`` whenever it is not ``ok``, and ``min_cell_events``: over the four cells pilot /
other areas x pre / post period of the model's rows, the smallest of min(events,
non-events). Not-estimable rows carry no numbers (estimate, interval, p, beta, se NaN).
The checks live here, in two functions every row builder calls:

- :func:`estimability`, before fitting, on the model frame: no rows; no control areas;
  fewer than 2 pilot areas with journeys both before and after the start (cluster-robust
  and few-cluster inference need at least 2; with none the DiD term is not identified); no
  pre or no post period; an empty group x period cell (no comparison: the DiD term is
  collinear with the fixed effects); a group x period cell whose outcome is all 0 or all 1
  (quasi-separation of the DiD term: the logit's MLE is infinite, so not estimable; the
  linear model's risk difference exists, so a caveat); fewer than :data:`SPARSE_CELL`
  events or non-events in a cell (a caveat: sparse-data bias, unstable intervals).
- :func:`fit_check`, after fitting: no finite estimate or standard error; a DiD log odds
  ratio beyond +-:data:`MAX_LOG_OR` (separation the cell checks missed: the IRLS runs off
  towards infinity; pyfixest stops near 18, the exact engine near 29); pilot post-period
  journeys fitted at probability 0 or 1 (|log odds| > :data:`MAX_ETA`); a risk difference
  outside [-1, 1]; and, as caveats, logit IRLS not converged (with nothing else wrong),
  other journeys fitted at probability 0 or 1 (separation among the nuisance terms), an
  interval beyond the possible range (risk difference) or beyond odds ratios 1e-6..1e6
  (or unbounded).

A DiD term collinear with the fixed effects gives a not-estimable row, never an error.
Odds ratios are exponentiated with :func:`odds_ratio` (no overflow error: ``inf``).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from pbr.fit import design

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
    "status",
    "min_cell_events",
]

#: Values of the ``status`` column, from best to worst.
STATUSES = ("ok", "caveat", "not_estimable")

#: |log odds ratio| of the DiD (or an event-study term) beyond which the logit is taken to have
#: diverged (separation): OR outside [4.5e-5, 22026], far beyond any credible effect of a
#: service change. Separated fits stop further out (pyfixest near 18, the exact engine near 29).
MAX_LOG_OR = 10.0
#: |linear predictor| beyond which a journey counts as fitted at probability 0 or 1 (p < 1e-13):
#: no finite logit gets there on these outcomes; a separated one does.
MAX_ETA = 30.0
#: Fewer events (or non-events) than this in a group x period cell: a caveat (sparse data).
SPARSE_CELL = 5
#: Odds-ratio interval ends outside [1 / ..., ...]: a caveat (the data say next to nothing).
MAX_OR_INTERVAL = 1e6


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
    column is named ``area_code`` in the returned frame. ``post`` (0/1, float) is the
    analysis table's, or derived by :func:`post_indicator` where the table has none.
    """
    area = "analysis_area" if "analysis_area" in analysis.columns else "area_code"
    cols = [area, "pilot", "did", period_col, outcome, *covariates]
    mask = analysis[outcome].notna()
    df = analysis.loc[mask, cols].copy()
    df = df.rename(columns={area: "area_code"})
    df[outcome] = df[outcome].astype("int64")
    # categoricals: the same (sorted) levels as strings; pyfixest builds its design from them faster
    # (both fits of one scale-1.0 outcome 12.4 s -> 8.2 s, same estimates)
    for c in covariates:
        df[c] = df[c].astype("string").fillna("unknown").astype(str).astype("category")
    df["area_code"] = df["area_code"].astype(str)
    df["period_fe"] = df[period_col].astype("int64")
    df["post"] = post_indicator(analysis, period_col).loc[mask].to_numpy()
    return df.reset_index(drop=True)


def post_indicator(analysis: pd.DataFrame, period_col: str) -> pd.Series:
    """``post`` as float 0/1: the analysis table's column where present, else 1 from the first
    period that has a pilot post-period journey (``did``) on (0 throughout without one)."""
    if "post" in analysis.columns:
        return analysis["post"].astype("float64")
    first = analysis.loc[analysis["did"].astype(bool), period_col].min()
    return (analysis[period_col] >= first).astype("float64")


def post_start(analysis: pd.DataFrame) -> pd.Timestamp | None:
    """The first journey start in the post period, to word reasons ("from April 2012"); None
    without ``start_date`` and ``post`` columns or post-period journeys."""
    if "start_date" not in analysis.columns or "post" not in analysis.columns:
        return None
    first = analysis.loc[analysis["post"].astype("float64") > 0, "start_date"].min()
    return None if pd.isna(first) else pd.Timestamp(first)


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


# ---------------------------------------------------------------------------------------
# Estimability: the checks every result row goes through (see the module docstring)


@dataclass(frozen=True)
class Estimability:
    """Verdict on a model before fitting (:func:`estimability`) or after (:func:`fit_check`).

    Unpacks as ``status, reason, min_cell_events = estimability(...)``.
    """

    status: str  # one of STATUSES
    reason: str  # in words, '' when ok: "not estimable: ...[; caveat: ...]" or "caveat: ..."
    min_cell_events: int = -1  # from estimability(); -1 from fit_check (not counted there)
    fatal: tuple[str, ...] = ()  # the problems that make it not estimable
    caveats: tuple[str, ...] = ()  # the problems that leave a usable estimate

    def __iter__(self):
        return iter((self.status, self.reason, self.min_cell_events))


def family_of(method: str) -> str:
    """'logit' for logit_* methods, else 'linear'."""
    return "logit" if method.startswith("logit") else "linear"


def _check_family(family: str) -> None:
    if family not in ("logit", "linear"):
        raise ValueError(f"family must be 'logit' or 'linear', not {family!r}")


def verdict(
    fatal: Sequence[str] = (), caveats: Sequence[str] = (), min_cell_events: int = -1
) -> Estimability:
    """The :class:`Estimability` of these problems: not estimable with any ``fatal`` one, else a
    caveat with any ``caveats``, else ok; the reason lists them (duplicates once)."""
    fatal, caveats = tuple(dict.fromkeys(fatal)), tuple(dict.fromkeys(caveats))
    parts = (["not estimable: " + "; ".join(fatal)] if fatal else []) + (
        ["caveat: " + "; ".join(caveats)] if caveats else []
    )
    status = "not_estimable" if fatal else ("caveat" if caveats else "ok")
    return Estimability(status, "; ".join(parts), min_cell_events, fatal, caveats)


def merge(*checks: Estimability) -> tuple[str, str]:
    """(worst status, reason) of several verdicts on one row: all their problems in one reason."""
    v = verdict([x for c in checks for x in c.fatal], [x for c in checks for x in c.caveats])
    return v.status, v.reason


def _period_words(post_from: pd.Timestamp | None) -> tuple[str, str, str]:
    """How to say (pre period, post period, both) in a reason."""
    if post_from is None:
        return "in the pre period", "in the post period", "both in the pre and in the post period"
    return f"before {post_from:%B %Y}", f"from {post_from:%B %Y}", f"both before and from {post_from:%B %Y}"


def estimability(
    mf: pd.DataFrame, outcome: str, family: str = "logit", post_from: pd.Timestamp | None = None
) -> Estimability:
    """Can the DiD of this model frame (after :func:`drop_uninformative`) be estimated at all?

    Checks, before any fit: rows left; control areas; at least 2 pilot areas with journeys
    both before and after the start; pre and post periods; and the four cells pilot /
    control areas x pre / post: none empty (else no comparison), none with the outcome all
    0 or all 1 (quasi-separation of the DiD term: not estimable for the logit, a caveat for
    the linear model) and, as a caveat, none with fewer than :data:`SPARSE_CELL` events or
    non-events. ``post`` is the frame's column (else derived as :func:`post_indicator`
    does); ``post_from`` (:func:`post_start`) only words the reasons. Returns the status,
    the reason and ``min_cell_events`` (the cells' smallest min(events, non-events)).
    """
    _check_family(family)
    if not len(mf):
        return verdict(
            [
                "no journeys left in the model (none in the outcome's denominator, or none in an area, "
                "period and covariate level with outcome variation)"
            ],
            [],
            0,
        )
    before, after, both_periods = _period_words(post_from)
    y = mf[outcome].to_numpy(dtype=float)
    pilot = mf["pilot"].fillna(False).astype(bool).to_numpy()
    if "post" in mf.columns:
        post = mf["post"].to_numpy(dtype=float) > 0
    else:
        post = post_indicator(mf, "period_fe").to_numpy() > 0
    cells = []
    for in_pilot, group in ((True, "pilot areas"), (False, "control areas")):
        for in_post, when in ((True, after), (False, before)):
            m = (pilot == in_pilot) & (post == in_post)
            k, e = int(m.sum()), int(y[m].sum())
            cells.append((f"the {group} {when}", k, e))
    min_cell = min(min(e, k - e) for _, k, e in cells)

    fatal: list[str] = []
    caveats: list[str] = []
    if pilot.all():
        fatal.append("no control areas (every area left in the model is a pilot area)")
    if not pilot.any():
        fatal.append("no pilot areas left in the model")
    if not post.any():
        fatal.append(f"no post period (no journeys {after})")
    if post.all():
        fatal.append(f"no pre period (no journeys {before})")
    if pilot.any() and post.any() and not post.all():
        periods = pd.Series(post[pilot]).groupby(mf["area_code"].to_numpy()[pilot]).nunique()
        both = sorted(periods.index[periods == 2])
        if not both:
            fatal.append(f"no pilot area has journeys {both_periods}: the DiD term is not identified")
        elif len(both) == 1:
            fatal.append(
                f"a single treated area ({both[0]} is the only pilot area with journeys {both_periods}): "
                "cluster-robust and few-cluster inference need at least 2"
            )
    if not fatal:
        for label, k, e in cells:
            if k == 0:
                fatal.append(
                    f"no journeys in {label}: nothing to compare the pilot areas' change with "
                    "(the DiD term is collinear with the fixed effects)"
                )
            elif e in (0, k):
                what = "no events" if e == 0 else "every journey an event"
                text = f"{what} in {label} ({e} of {k} journeys): quasi-separation of the DiD term"
                if family == "logit":
                    fatal.append(text)
                else:
                    caveats.append(
                        f"{text} (the logit is not estimable; the risk difference rests on a cell without "
                        "outcome variation)"
                    )
        label, k, e = min(cells, key=lambda c: min(c[2], c[1] - c[2]))
        if not fatal and 0 < min(e, k - e) < SPARSE_CELL:
            what = f"{e} event(s)" if e <= k - e else f"{k - e} journey(s) without the event"
            caveats.append(
                f"sparse data: only {what} among the {k} journeys in {label} (the sparsest group x period "
                "cell): estimates and intervals from so few are unstable"
            )
    return verdict(fatal, caveats, min_cell)


def fit_check(
    family: str,
    beta: float,
    se: float | None = None,
    *,
    lo: float | None = None,
    hi: float | None = None,
    converged: bool = True,
    eta: np.ndarray | None = None,
    did: np.ndarray | None = None,
    collinear: bool = False,
    term: str = "the DiD term",
) -> Estimability:
    """Did the fit of ``term`` (coefficient ``beta``, standard error ``se``, interval ``lo``-``hi``
    on the coefficient scale) give a usable number? Never raises, never exponentiates.

    Not estimable: ``term`` collinear with the fixed effects; no finite estimate (or, when
    ``se`` is given, no finite positive standard error); for the logit, |beta| >
    :data:`MAX_LOG_OR`, pilot post-period journeys (``did`` rows) with a linear predictor
    ``eta`` beyond :data:`MAX_ETA`, or IRLS not converged on top of another of these; for
    the linear model, a risk difference outside [-1, 1]. Caveats: other journeys fitted at
    probability 0 or 1 (separation among the nuisance terms, which leaves ``term`` at its
    limit), IRLS not converged alone, and an interval beyond odds ratios 1e-6..1e6 or beyond
    the range [-1, 1] of a risk difference.
    """
    _check_family(family)
    fatal: list[str] = []
    caveats: list[str] = []
    if collinear:
        fatal.append(
            f"{term} is collinear with the fixed effects: the pilot areas' change cannot be told apart "
            "from area and period effects"
        )
        return verdict(fatal, caveats)
    if not np.isfinite(beta):
        fatal.append(f"the fit gave no finite estimate of {term}")
    elif se is not None and not (np.isfinite(se) and se > 0):
        fatal.append(f"no finite standard error for {term} (too few journeys or areas for the parameters)")
    logit = family == "logit"
    if logit and np.isfinite(beta) and abs(beta) > MAX_LOG_OR:
        fatal.append(
            f"{term} ran to a log odds ratio of {beta:.1f} (beyond +-{MAX_LOG_OR:g}): the logit diverges "
            "(separation)"
        )
    if logit and eta is not None:
        extreme = np.abs(eta) > MAX_ETA
        on_did = int(extreme[did > 0].sum()) if did is not None and len(did) == len(eta) else 0
        if on_did:
            fatal.append(
                f"{on_did} pilot post-period journeys fitted at probability 0 or 1: quasi-separation of "
                f"{term}"
            )
        elif extreme.any() and not fatal:
            caveats.append(
                f"{int(extreme.sum())} journeys fitted at probability 0 or 1 (quasi-separation among the fixed "
                f"effects or covariates; {term} is estimated at its limit)"
            )
    if logit and not converged:
        (fatal if fatal else caveats).append("the logit IRLS did not converge (estimate from its last step)")
    if not logit and np.isfinite(beta) and abs(beta) > 1:
        fatal.append(
            f"{term} gives a risk difference of {beta:.3g}, outside [-1, 1]: the linear model does not fit"
        )
    if not fatal and lo is not None and hi is not None and not (np.isnan(lo) or np.isnan(hi)):
        if logit and (lo < -math.log(MAX_OR_INTERVAL) or hi > math.log(MAX_OR_INTERVAL)):
            caveats.append(
                f"interval beyond odds ratios {1 / MAX_OR_INTERVAL:g} to {MAX_OR_INTERVAL:g}: the data say next "
                f"to nothing on {term}"
            )
        if not logit and (lo < -1 or hi > 1):
            caveats.append(
                "interval beyond [-1, 1], the possible range of a risk difference: too few data for "
                "its approximation"
            )
    return verdict(fatal, caveats)


def odds_ratio(log_odds: float) -> float:
    """exp(log_odds) without an overflow error (``inf``; ``nan`` stays ``nan``)."""
    with np.errstate(over="ignore"):
        return float(np.exp(log_odds))


class _DidFit(NamedTuple):
    beta: float
    se: float
    n: int
    converged: bool = True
    eta: np.ndarray | None = None  # logit linear predictor, row-aligned with ``did`` when given
    did: np.ndarray | None = None
    collinear: bool = False
    note: str = ""


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
    Each row goes through :func:`estimability` before and :func:`fit_check` after its fit.
    """
    check_engine(engine)
    df0 = model_frame(analysis, outcome, covariates, period_col)
    df, dropped_areas, dropped_rows = drop_uninformative(df0, outcome, covariates)
    z = normal_quantile(confidence_level)
    post_from = post_start(analysis)
    pre = {f: estimability(df, outcome, f, post_from) for f in ("logit", "linear")}
    base = {
        "cohort": cohort,
        "outcome": outcome,
        "specification": "main",
        "n": len(df),
        "events": int(df[outcome].sum()),
        "n_clusters": int(df["area_code"].nunique()),
        "n_treated_clusters": int(df.loc[df["pilot"].fillna(False).astype(bool), "area_code"].nunique()),
        "dropped_clusters": dropped_areas,
        "dropped_rows": dropped_rows,
        "min_cell_events": pre["logit"].min_cell_events,
    }
    note = drop_note(dropped_areas, dropped_rows)
    d = None
    rows = []
    for method in methods:
        family = family_of(method)
        logit = family == "logit"
        if pre[family].status == "not_estimable":
            log.warning("%s/%s %s: %s", cohort, outcome, method, pre[family].reason)
            rows.append(empty_row(base, method, pre[family].reason, note))
            continue
        if engine == "exact":
            d = design.build_design(df, outcome, covariates) if d is None else d  # once for both models
            fit = _did_exact(d, logit)
        else:
            fit = _did_pyfixest(df, outcome, covariates, logit)
        lo, hi = fit.beta - z * fit.se, fit.beta + z * fit.se
        during = fit_check(
            family,
            fit.beta,
            fit.se,
            lo=lo,
            hi=hi,
            converged=fit.converged,
            eta=fit.eta,
            did=fit.did,
            collinear=fit.collinear,
        )
        status, reason = merge(pre[family], during)
        if status == "not_estimable":
            log.warning("%s/%s %s: %s", cohort, outcome, method, reason)
            rows.append(empty_row(base | {"n": fit.n}, method, reason, note, fit.note))
            continue
        f = odds_ratio if logit else float
        rows.append(
            base
            | {
                "method": method,
                "scale": "odds_ratio" if logit else "risk_difference",
                "estimate": f(fit.beta),
                "ci_low": f(lo),
                "ci_high": f(hi),
                "p_value": normal_p_value(fit.beta, fit.se),
                "beta": fit.beta,
                "se": fit.se,
                "n": fit.n,
                "note": "; ".join(x for x in (reason, note, fit.note) if x),
                "status": status,
            }
        )
        if logit:
            r = rows[-1]
            log.info(
                "%s/%s: OR %.3f (%.3f-%.3f), n=%d%s",
                cohort,
                outcome,
                r["estimate"],
                r["ci_low"],
                r["ci_high"],
                fit.n,
                f" [{reason}]" if reason else "",
            )
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _did_exact(d: design.Design, logit: bool) -> _DidFit:
    """The DiD term by :func:`pbr.fit.design.fit_terms` (NaN and ``collinear`` when collinear with W)."""
    fit = design.fit_terms(d, d.did, "logit" if logit else "linear")
    if not len(fit.kept):
        return _DidFit(math.nan, math.nan, fit.n, collinear=True)
    return _DidFit(
        float(fit.coef[0]), _sqrt(fit.vcov[0, 0]), fit.n, converged=fit.converged, eta=fit.eta, did=d.did
    )


def _sqrt(v: float) -> float:
    """sqrt of a variance; NaN (not an error) for a negative or NaN one."""
    return math.sqrt(v) if v >= 0 else math.nan


def _did_pyfixest(df: pd.DataFrame, outcome: str, covariates: list[str], logit: bool) -> _DidFit:
    """The DiD term by pyfixest ``feglm`` (logit) or ``feols``."""
    import pyfixest as pf  # only here: its import and JIT cost about 2 s per process

    fml = _formula(outcome, covariates)
    if not logit:
        lpm = pf.feols(fml, data=df, vcov={"CRV1": "area_code"}, **LEAN)
        if "did" not in lpm.coef().index:
            return _DidFit(math.nan, math.nan, int(lpm._N), collinear=True)
        return _DidFit(float(lpm.coef()["did"]), float(lpm.se()["did"]), int(lpm._N))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # not lean: the linear predictor is kept for fit_check (N floats)
        fit = pf.feglm(fml, data=df, family="logit", vcov={"CRV1": "area_code"}, **(LEAN | {"lean": False}))
    note = _separation_note(caught, len(df), fit._N)
    if "did" not in fit.coef().index:
        return _DidFit(math.nan, math.nan, int(fit._N), collinear=True, note=note)
    eta = getattr(fit, "_Y_hat_link", None)
    return _DidFit(
        float(fit.coef()["did"]),
        float(fit.se()["did"]),
        int(fit._N),
        converged=bool(getattr(fit, "convergence", True)),
        eta=None if eta is None else np.asarray(eta, dtype=float),
        did=df["did"].to_numpy(dtype=float) if len(df) == fit._N else None,
        note=note,
    )


def _separation_note(caught: list, n_in: int, n_used: int) -> str:
    msgs = [str(w.message) for w in caught if "separation" in str(w.message)]
    if n_used < n_in or msgs:
        return f"pyfixest removed {n_in - n_used} rows for separation"
    return ""


def empty_row(base: dict, method: str, reason: str, *notes: str) -> dict:
    """A not-estimable row: no numbers, the reason (then ``notes``) in ``note``."""
    return base | {
        "method": method,
        "scale": "odds_ratio" if method.startswith("logit") else "risk_difference",
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "beta": np.nan,
        "se": np.nan,
        "note": "; ".join(x for x in (reason, *notes) if x),
        "status": "not_estimable",
    }


def combine_results(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack per-model results into the tidy results table, sorted for stable output."""
    res = pd.concat(parts, ignore_index=True)
    missing = [c for c in RESULT_COLUMNS if c not in res.columns]
    if missing:
        raise ValueError(
            f"result parts lack the column(s) {missing}: written by an older version of the fit code; "
            "re-run the fit rules"
        )
    res = res[RESULT_COLUMNS]
    return res.sort_values(["cohort", "outcome", "specification", "method"], kind="mergesort").reset_index(
        drop=True
    )
