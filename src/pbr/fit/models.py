"""Fit stage: difference-in-differences models for one outcome in one cohort.

Main model: logit P(y=1) = area FE + period FE + beta * (pilot x post) + covariates,
with standard errors clustered by area (CRV1 with pyfixest's small-sample defaults),
intervals on the z scale: OR = exp(beta), CI = exp(beta +- z SE). Companion: the linear
probability model with the same design; its estimate is a risk difference.

Three engines give the same numbers (the test suite checks coefficients and standard errors
against each other): ``exact`` (the default; :mod:`pbr.fit.design`, IRLS and projections on
the dummy design, no iterative demeaning), ``pyfixest`` (``feglm``/``feols``) and
``statsmodels`` (:mod:`pbr.fit.library_engine`: statsmodels' GLM with the fixed effects as
dummies for the logit, linearmodels' ``AbsorbingLS`` for the LPM, each with its own cluster
sandwich times the exact engine's small-sample factor). ``exact`` is the fastest per fit and
spares each fit job the libraries' imports (bench/bench_models.py measures all three).
Rows with frequency weights (:data:`pbr.fit.counts.FREQ`) need ``exact`` or ``statsmodels``.

Areas (or periods) in which the outcome never varies carry no information in a
fixed-effects logit (perfect prediction). They are dropped before fitting
(:func:`pbr.fit.frame.model_rows`) and the numbers dropped are reported with the result,
never silently. Each row goes through :func:`pbr.fit.estimability.estimability` before and
:func:`pbr.fit.estimability.fit_check` after its fit, and is built by
:mod:`pbr.fit.spec`. A DiD term collinear with the fixed effects gives a not-estimable
row, never an error.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

from pbr.fit import design, library_engine
from pbr.fit.counts import FREQ
from pbr.fit.estimability import estimability, fit_check, merge
from pbr.fit.frame import drop_note, model_rows, post_start
from pbr.fit.spec import (
    FitSpec,
    base_row,
    empty_row,
    estimate_row,
    family_of,
    joined,
    normal_p_value,
    results_frame,
)

log = logging.getLogger(__name__)

#: pyfixest options: no defensive copy of the frame, keep no data on the fitted object (the
#: estimates, their variance and N are kept): less memory and time per fit, same numbers.
LEAN = {"copy_data": False, "store_data": False, "lean": True}


def formula(outcome: str, covariates: Sequence[str], terms: Sequence[str] = ("did",)) -> str:
    """The pyfixest formula: outcome ~ terms (the DiD by default) + covariates | area + period FE."""
    rhs = " + ".join([*terms, *[f"C({c})" for c in covariates]])
    return f"{outcome} ~ {rhs} | area_code + period_fe"


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
    analysis: pd.DataFrame, spec: FitSpec, methods: tuple[str, ...] = ("logit_crv1", "lpm_crv1")
) -> pd.DataFrame:
    """Fit the logistic DiD and its linear companion; one result row per method (RESULT_COLUMNS).

    ``methods`` picks the models fitted (both by default; robustness refits may need one);
    ``spec.engine`` is ``exact``, ``pyfixest`` or ``statsmodels`` (the same numbers; see the
    module docstring).
    Each row goes through :func:`estimability` before and :func:`fit_check` after its fit.
    """
    df, dropped_areas, dropped_rows = model_rows(analysis, spec)
    post_from = post_start(analysis)
    pre = {f: estimability(df, spec.outcome, f, post_from) for f in ("logit", "linear")}
    base = base_row(spec, df, dropped_areas, dropped_rows, pre["logit"].min_cell_events)
    note = drop_note(dropped_areas, dropped_rows)
    fitter = _DidFitter(df, spec)
    rows = []
    for method in methods:
        family = family_of(method)
        if pre[family].status == "not_estimable":
            log.warning("%s/%s %s: %s", spec.cohort, spec.outcome, method, pre[family].reason)
            rows.append(empty_row(base, method, pre[family].reason, note))
            continue
        rows.append(_did_row(spec, base, method, fitter.fit(family == "logit"), pre[family], note))
    return results_frame(rows)


class _DidFitter:
    """Fits the DiD term of one model frame by ``spec.engine``; the exact engine's design is
    built once for both models."""

    def __init__(self, df: pd.DataFrame, spec: FitSpec):
        self.df, self.spec = df, spec
        self.design: design.Design | None = None

    def fit(self, logit: bool) -> _DidFit:
        if self.spec.engine == "pyfixest":
            return _did_pyfixest(self.df, self.spec.outcome, self.spec.covariates, logit)
        if self.spec.engine == "statsmodels":
            return _did_library(self.df, self.spec, logit)
        if self.design is None:
            self.design = design.build_design(self.df, self.spec.outcome, list(self.spec.covariates))
        return _did_exact(self.design, logit)


def _did_row(spec: FitSpec, base: dict, method: str, fit: _DidFit, pre, note: str) -> dict:
    """The result row of one fitted DiD term (not estimable when :func:`fit_check` says so)."""
    family = family_of(method)
    lo, hi = fit.beta - spec.z * fit.se, fit.beta + spec.z * fit.se
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
    status, reason = merge(pre, during)
    if status == "not_estimable":
        log.warning("%s/%s %s: %s", spec.cohort, spec.outcome, method, reason)
        return empty_row(base | {"n": fit.n}, method, reason, note, fit.note)
    row = estimate_row(
        base,
        method,
        fit.beta,
        lo,
        hi,
        normal_p_value(fit.beta, fit.se),
        se=fit.se,
        n=fit.n,
        note=joined(reason, note, fit.note),
        status=status,
    )
    if family == "logit":
        log.info(
            "%s/%s: OR %.3f (%.3f-%.3f), n=%d%s",
            spec.cohort,
            spec.outcome,
            row["estimate"],
            row["ci_low"],
            row["ci_high"],
            fit.n,
            f" [{reason}]" if reason else "",
        )
    return row


def _did_exact(model_design: design.Design, logit: bool) -> _DidFit:
    """The DiD term by :func:`pbr.fit.design.fit_terms` (NaN and ``collinear`` when collinear with W)."""
    fit = design.fit_terms(model_design, model_design.did, "logit" if logit else "linear")
    if not len(fit.kept):
        return _DidFit(math.nan, math.nan, fit.n, collinear=True)
    return _DidFit(
        float(fit.coef[0]),
        _sqrt(fit.vcov[0, 0]),
        fit.n,
        converged=fit.converged,
        eta=fit.eta,
        did=model_design.did,
    )


def _sqrt(v: float) -> float:
    """sqrt of a variance; NaN (not an error) for a negative or NaN one."""
    return math.sqrt(v) if v >= 0 else math.nan


def _did_library(df: pd.DataFrame, spec: FitSpec, logit: bool) -> _DidFit:
    """The DiD term by statsmodels (logit) or linearmodels (:mod:`pbr.fit.library_engine`)."""
    fit = library_engine.fit_terms(df, spec.outcome, spec.covariates, ["did"], logit)
    if "did" not in fit.coef.index:
        return _DidFit(math.nan, math.nan, fit.n, collinear=True)
    return _DidFit(
        float(fit.coef["did"]),
        _sqrt(float(fit.vcov.loc["did", "did"])),
        fit.n,
        converged=fit.converged,
        eta=fit.eta,
        did=df["did"].to_numpy(dtype=float),
    )


def _did_pyfixest(df: pd.DataFrame, outcome: str, covariates: tuple[str, ...], logit: bool) -> _DidFit:
    """The DiD term by pyfixest ``feglm`` (logit) or ``feols``; rows with frequency weights
    (:data:`pbr.fit.counts.FREQ`) need the exact or statsmodels engine (ValueError)."""
    if FREQ in df.columns:
        raise ValueError(
            f"rows with frequency weights ({FREQ!r}) need the exact or statsmodels engine, not pyfixest"
        )
    import pyfixest as pf  # only here: its import and JIT cost about 2 s per process

    formula_text = formula(outcome, covariates)
    if not logit:
        lpm = pf.feols(formula_text, data=df, vcov={"CRV1": "area_code"}, **LEAN)
        if "did" not in lpm.coef().index:
            return _DidFit(math.nan, math.nan, int(lpm._N), collinear=True)
        return _DidFit(float(lpm.coef()["did"]), float(lpm.se()["did"]), int(lpm._N))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # not lean: the linear predictor is kept for fit_check (N floats)
        fit = pf.feglm(
            formula_text, data=df, family="logit", vcov={"CRV1": "area_code"}, **(LEAN | {"lean": False})
        )
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
