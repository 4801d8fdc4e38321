"""The ``statsmodels`` engine: the main models fitted by statsmodels and linearmodels as their
authors intend, a third check on the ``exact`` engine (:mod:`pbr.fit.design`) and pyfixest.

:func:`fit_terms` fits a few named terms of interest (the DiD term, or event-study terms) of
``y ~ terms + C(covariates) | area_code + period_fe`` and returns what
:func:`pbr.fit.design.fit_terms` returns, by name (:class:`LibraryFit`: coefficients, their
covariance clustered by area, journeys, convergence, the logit's linear predictor);
:mod:`pbr.fit.models` and :mod:`pbr.fit.event_study` dispatch to it when ``spec.engine`` is
``statsmodels``.

- Logit: ``statsmodels.api.GLM`` (Binomial, logit link, IRLS) on the terms and the dummies
  of every area, of the periods and of the covariate levels (first level dropped), with the
  rows' frequency weights (:data:`pbr.fit.counts.FREQ`) as ``freq_weights``;
  ``cov_type="cluster"`` by area. statsmodels' cluster sandwich with frequency weights is
  the expanded data's (the scores carry the weights once; its ``cov_type="clu"`` branch does
  not weight them again).
- Linear probability model: ``linearmodels.AbsorbingLS`` absorbing area and period, the
  terms and the covariate dummies as regressors, the frequency weights as ``weights``;
  ``cov_type="clustered"`` by area. linearmodels treats weights as precision weights
  (rows multiplied by sqrt(w), w rescaled to mean 1), so that its point estimate is the
  expanded data's and its cluster scores are sum_i w_i x_i e_i, the expanded data's too (the
  rescaling of w cancels in the sandwich): frequency weights are supported, with only the
  small-sample factor's N to set (below).

Small-sample factor. Both libraries are asked for the raw cluster sandwich (statsmodels
``use_correction=False``; linearmodels ``debiased=False``, which with AbsorbingLS applies
no factor at all) and the result is multiplied by the exact engine's CRV1 factor
(pyfixest 0.60's default ``ssc``, :func:`pbr.fit.design.crv1_factor`)::

    G / (G - 1) * (N - 1) / (N - k),   k = rank of the whole design - G + 1,

with G the areas (clusters), N the journeys (the frequency weights summed) and k counting the
terms, the covariate dummies and the period dummies but not the area dummies, which are
nested in the clusters (the ``+ 1`` is the intercept they stand for); the rank is the logit
design's after its pivoted QR (below) and, for the LPM, AbsorbingLS's ``df_model`` (the absorbed
dummies' columns plus the regressors kept: the rank unless the area and period effects are
confounded, e.g. some areas seen only in periods no other area has, where this k is too large).
Neither library's own correction gives it: statsmodels' ``use_correction=True`` is
G/(G-1) (n-1)/(n-K) with K counting every area dummy and n the rows, not the journeys;
linearmodels' ``debiased=True`` is G (n-1)/((G-1)(n-k-d)) with d counting the area dummies too
(it discounts an effect nested in the clusters only when it is the only absorbed effect) and n
again the rows. With the factor applied, the standard errors equal the exact engine's to its
convergence tolerance (tests/unit/test_library_engine.py: 1e-9 relative; measured 1e-12 and less).

Not estimable, never an error, as in the other engines: terms collinear with the fixed
effects and covariates are left out (for the logit, by the residual of each term after a
least-squares projection on the full-rank dummies, the exact engine's rule; for the LPM, by
``AbsorbingLS(drop_absorbed=True)``); with none left the fit has no coefficients and a
``note``. The logit's design is reduced to full column rank first (pivoted QR of the
dummies: statsmodels inverts the Hessian for the sandwich); a singular Hessian (vanishing
IRLS weights under separation) gives a NaN covariance; IRLS that did not converge is
reported (``converged``), and the linear predictor is returned for the divergence checks of
:func:`pbr.fit.estimability.fit_check`. IRLS runs to the exact engine's tolerance (a relative
change of the deviance below 1e-13, no absolute floor), so that a separated fit runs as far as
the exact engine's (a log odds ratio of -29.4 against -28.7 on tests/unit/test_estimability.py's
separated data) and meets the same checks: with statsmodels' default (an absolute change below
1e-8) it stopped earlier, and on the tiny test run a row the exact engine reports as not
estimable came out ok.

The design is dense (N x about 200 at scale 1.0) and IRLS solves a least-squares problem on it
at each step, so this engine is much slower than ``exact``: at scale 0.05, 1.57 s per ``fit_did``
(logit and LPM) against 0.075 s (pyfixest 0.18 s), single-threaded (bench/bench_models.py
``--engines-only``). It is a check, not the default.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import linalg

from pbr.fit.counts import freq_of

#: Relative size below which a term's residual after projection on the dummies counts as zero
#: (collinear), as in :func:`pbr.fit.design.fit_terms`.
COLLINEAR_TOL = 1e-10
#: statsmodels IRLS: converged when the deviance changes by less than ATOL + RTOL * deviance.
IRLS_ATOL, IRLS_RTOL, IRLS_MAXITER = 0.0, 1e-13, 100
#: How linearmodels absorbs area and period: unweighted, pyhdfe's Somaini-Wolak method (exact, not
#: iterative, for two effects; the one with fewer levels first); weighted rows (which pyhdfe does
#: not take), LSMR run to these tolerances rather than its defaults (1e-8), so that the LPM equals
#: the exact engine's to rounding.
HDFE_OPTIONS: dict[str, Any] = {"residualize_method": "sw"}
LSMR_OPTIONS: dict[str, Any] = {"atol": 1e-14, "btol": 1e-14}


class LibraryFit(NamedTuple):
    """The terms' estimates by name: the shape of ``pbr.fit.event_study._fit_terms``' result."""

    coef: pd.Series  # coefficients of the terms estimated (those not collinear), by name
    vcov: pd.DataFrame  # their CRV1 covariance by area, the exact engine's small-sample factor included
    n: int  # journeys used (the rows' frequency weights summed)
    converged: bool  # logit IRLS converged (True for the LPM)
    eta: np.ndarray | None  # logit linear predictor, row-aligned with the frame; None for the LPM
    note: str = ""  # why no term was estimated ('' when some were)


def crv1_factor(n: int, n_clusters: int, k: int) -> float:
    """G/(G-1) (N-1)/(N-k), the small-sample factor of the module docstring; NaN when undefined
    (a single cluster, or no residual degrees of freedom)."""
    if n_clusters < 2 or n <= k:
        return math.nan
    return n_clusters / (n_clusters - 1) * (n - 1) / (n - k)


def fit_terms(
    mf: pd.DataFrame, outcome: str, covariates: Sequence[str], names: Sequence[str], logit: bool
) -> LibraryFit:
    """Logit (statsmodels GLM) or LPM (linearmodels AbsorbingLS) of ``outcome`` on the columns
    ``names`` of the model frame ``mf`` (:func:`pbr.fit.frame.model_rows`), the covariates and
    area and period fixed effects, CRV1 by area; see the module docstring."""
    names = list(names)
    if logit:
        return _logit(mf, outcome, list(covariates), names)
    return _linear(mf, outcome, list(covariates), names)


def _collinear(n: int) -> LibraryFit:
    return LibraryFit(
        pd.Series(dtype=float),
        pd.DataFrame(dtype=float),
        n,
        True,
        None,
        "the term(s) of interest are collinear with the fixed effects (and covariates)",
    )


def _named(coef: np.ndarray, vcov: np.ndarray, kept: list[str], n: int, converged: bool, eta) -> LibraryFit:
    vcov = (vcov + vcov.T) / 2
    return LibraryFit(
        pd.Series(coef, index=kept, dtype=float),
        pd.DataFrame(vcov, index=kept, columns=kept),
        n,
        converged,
        eta,
    )


def _covariate_dummies(mf: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Dummies of each covariate's levels, the first (sorted) dropped."""
    parts = [
        pd.get_dummies(mf[c].astype(str), prefix=c, prefix_sep="=", drop_first=True, dtype=float)
        for c in covariates
    ]
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=mf.index)


def _logit(mf: pd.DataFrame, outcome: str, covariates: list[str], names: list[str]) -> LibraryFit:
    import statsmodels.api as sm  # only here: the exact engine's jobs never import it

    freq = freq_of(mf)
    n = round(float(freq.sum()))
    area = pd.get_dummies(mf["area_code"].astype(str), dtype=float)  # every area: no intercept
    period = pd.get_dummies(mf["period_fe"], prefix="period", drop_first=True, dtype=float)
    dummies = np.column_stack(
        [area.to_numpy(), period.to_numpy(), _covariate_dummies(mf, covariates).to_numpy()]
    )
    # full column rank (statsmodels inverts the Hessian): the independent columns of a pivoted QR
    r, piv = linalg.qr(dummies, mode="r", pivoting=True)
    diag = np.abs(np.diag(r))
    rank = int(np.sum(diag > COLLINEAR_TOL * diag[0])) if len(diag) else 0
    dummies = dummies[:, np.sort(piv[:rank])]
    # terms collinear with the dummies: (nearly) nothing left after projecting them out
    x = mf[names].to_numpy(dtype=float)
    q, _ = np.linalg.qr(dummies)
    x_t = x - q @ (q.T @ x)
    kept_idx = np.flatnonzero(
        np.sum(x_t * x_t, axis=0) > COLLINEAR_TOL * np.maximum(np.sum(x * x, axis=0), 1.0)
    )
    if not len(kept_idx):
        return _collinear(n)
    kept = [names[i] for i in kept_idx]
    design = np.column_stack([x[:, kept_idx], dummies])
    groups = pd.factorize(mf["area_code"])[0]
    model = sm.GLM(
        mf[outcome].to_numpy(dtype=float), design, family=sm.families.Binomial(), freq_weights=freq
    )
    fit_args = {"tol": IRLS_ATOL, "rtol": IRLS_RTOL, "maxiter": IRLS_MAXITER}
    with warnings.catch_warnings():
        # perfect separation, overflow under separation, convergence: reported by fit_check instead
        warnings.simplefilter("ignore")
        try:
            res = model.fit(
                cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}, **fit_args
            )
            vcov = np.asarray(res.cov_params(), dtype=float)[: len(kept), : len(kept)]
        except (np.linalg.LinAlgError, ValueError):  # singular Hessian (vanishing weights): no covariance
            res = model.fit(**fit_args)
            vcov = np.full((len(kept), len(kept)), np.nan)
    params = np.asarray(res.params, dtype=float)
    g = int(groups.max()) + 1
    factor = crv1_factor(n, g, len(kept) + rank - g + 1)
    return _named(
        params[: len(kept)],
        factor * vcov,
        kept,
        n,
        bool(getattr(res, "converged", True)),
        design @ params,
    )


def _linear(mf: pd.DataFrame, outcome: str, covariates: list[str], names: list[str]) -> LibraryFit:
    from linearmodels.iv.absorbing import AbsorbingLS  # only here, as statsmodels

    freq = freq_of(mf)
    n = round(float(freq.sum()))
    weighted = bool(np.any(freq != 1))
    exog = pd.concat([mf[names].astype(float), _covariate_dummies(mf, covariates)], axis=1)
    absorb = pd.DataFrame(
        {"period": pd.Categorical(mf["period_fe"]), "area": pd.Categorical(mf["area_code"].astype(str))},
        index=mf.index,
    )
    groups = pd.factorize(mf["area_code"])[0]
    model = AbsorbingLS(
        mf[outcome].astype(float), exog, absorb=absorb, weights=freq if weighted else None, drop_absorbed=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # AbsorbingEffectWarning: the collinear terms, reported below
        try:
            res = model.fit(
                cov_type="clustered",
                clusters=groups,
                debiased=False,
                method="lsmr" if weighted else "hdfe",
                absorb_options=LSMR_OPTIONS if weighted else HDFE_OPTIONS,
            )
        except ValueError as err:
            if "fully absorbed" in str(err):  # every regressor collinear with the effects
                return _collinear(n)
            raise
    kept = [c for c in names if c in res.params.index]
    if not kept:
        return _collinear(n)
    g = int(groups.max()) + 1
    k = int(res.df_model) - g + 1
    vcov = crv1_factor(n, g, k) * res.cov.loc[kept, kept].to_numpy(dtype=float)
    return _named(res.params[kept].to_numpy(dtype=float), vcov, kept, n, True, None)
