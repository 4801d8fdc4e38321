"""Mason et al.'s (2015) own model: a random-intercept logistic DiD over the areas.

Mason et al. (Addiction 2015) fitted a multilevel logit with a random intercept per area on
FY2011-12 (pre) against FY2012-13 (post)::

    logit P(y = 1) = a + b1 pilot + b2 post + b3 pilot x post + covariates + u_area,
    u_area ~ N(0, s^2),

and reported exp(b3) as the DiD odds ratio. :func:`logit_re` fits that model (method
``logit_re``) on the same model frame as the fixed-effects rows of the specification
(:func:`pbr.fit.frame.model_rows`: the outcome's denominator, the covariates of ``spec`` as
categorical dummies, areas, periods and covariate levels without outcome variation
dropped), so the two differ only by the model: a random area intercept, ``pilot`` and
``post`` in place of the area and period fixed effects. Rows with frequency weights
(:data:`pbr.fit.counts.FREQ`) are expanded to one row per journey (the library takes no
weights).

Library and what the interval means
-----------------------------------
statsmodels' ``BinomialBayesMixedGLM`` (:mod:`statsmodels.genmod.bayes_mixed_glm`), the
only mixed-model logit in the lock file, is Bayesian: Gaussian priors on the fixed effects
(SD ``fe_p``, here :data:`FE_PRIOR_SD` = 10 on the logit scale, flat against the data) and on
the log SD of the area intercepts (SD ``vcp_p``, the library's 1). It fits by ``fit_map``
(joint posterior mode and Laplace approximation) or ``fit_vb`` (mean-field variational
Bayes). We use ``fit_vb`` (L-BFGS-B, fixed-effect columns standardised inside the fit and
back-transformed, ``scale_fe``): on the small run's Mason frame ``fit_map`` is unusable,
since the joint mode over the area intercepts and their log SD collapses the area SD towards
0 (1.9e-7 by L-BFGS-B, 4.4e-5 by Newton-CG, BFGS stopping after 6,871 iterations without
converging) and the DiD term then depends on the optimiser (log OR -0.297 against -0.430);
VB, which averages over the area intercepts, gives an area SD of 0.238 and log OR -0.438
with any optimiser or scaling (-0.4379 to -0.4383).

The row's ``estimate`` is exp of the VB posterior mean of b3. Its ``se`` is *not* the VB
posterior SD: mean-field VB treats b3 as independent of ``pilot``, ``post`` and the area
intercepts, with which it is correlated, and so understates it (tests/unit/test_mixed.py:
0.093 against 0.137 by ``fit_map``'s Laplace approximation on simulated data where that is
well behaved). ``se`` is :func:`conditional_sd` instead, the Laplace approximation of the
posterior SD given the area SD at its VB value (the inverse Hessian of minus the log
posterior in the fixed effects and the area intercepts, at the VB means: 0.137 on those
data, and 0.138 the model-based SE of the logit with area dummies); the VB SD is kept in
the row's note. Neither is a frequentist standard error: the
interval exp(mean +- z se) is an approximate 95% Bayesian credible interval under the model
(normal area intercepts constant over the window) and the priors, which leaves out the
uncertainty of the area SD. With flat priors and many journeys it is close to the
model-based (not cluster-robust) Wald interval of a maximum-likelihood GLMM: it allows for
between-area variation of the level, not for area-by-period shocks, which with 8 pilot
areas matter (CRV1 over-rejects for the same reason). ``p_value`` is the normal
approximation 2 Phi(-|mean| / se), for reading beside Mason's own p-values. The method has
no measured size: it is shown for reference and decides no verdict
(:mod:`pbr.registry.methods`, role ``reference``).

Cost and the figures on a realistic frame
-----------------------------------------
Measured on the small run's analysis table (/work/main/results/small/derive/analysis_drug.parquet,
config/small.yaml, scale 0.05) in the Mason window, the default covariates, on the shared
2-core machine: successful completion (7,563 journeys in the model frame, 148 areas, 32
fixed-effect columns) 8.1-9.5 s per fit over three runs (fit_vb with BFGS and no scaling
27 s, L-BFGS-B without scaling 11 s); declined to continue (5,628 journeys, 92 areas)
2.0-2.4 s. Command::

    PYTHONPATH=src .venv/bin/python -c "
    import time, pandas as pd; from pbr.config import load_config; from pbr.fit import mixed, robustness
    from pbr.fit.spec import FitSpec
    df = pd.read_parquet('results/small/derive/analysis_drug.parquet')
    models = load_config('config/config.yaml')['models']
    frame = robustness.mason_frame(df, '2011-04-01', '2012-04-01', '2013-03-31')
    for o in mixed.MASON_OUTCOMES:
        t = time.perf_counter(); r = mixed.logit_re(frame, FitSpec.from_config('drug', o, models, 'quarter'))
        print(o, round(time.perf_counter() - t, 2), 's', r[['n', 'estimate', 'ci_low', 'ci_high']].values)"

The estimates there: successful completion OR 0.645 (0.420-0.991; se 0.219, VB SD 0.162, area
SD 0.238) against the fixed-effects logit's 0.669 (CRV1 0.501-0.895, SE 0.148; its model-based,
not cluster-robust, SE is 0.221, statsmodels GLM with area and quarter dummies: the same as
``se`` here, so the random-intercept interval is wider than CRV1's because CRV1 is small with
8 pilot areas, not because the model differs); declined to continue 4.43 (1.71-11.49) against
4.74 (1.86-12.04). In the tiny workflow test run (scale 0.02) the fit takes under 3 s: OR 0.349
(0.177-0.687) against the fixed-effects 0.345 (CRV1 0.223-0.535).

That is more than a few seconds per outcome at scale 0.05 (and grows with the journeys), so
:func:`pbr.fit.robustness.mason_2015` fits it only for Mason's own outcomes,
:data:`MASON_OUTCOMES` (successful completion, declined to continue: the outcomes with a
published Mason 2015 value), when they are robustness outcomes (by default successful
completion only); config ``models.robustness.mason_random_intercept: false`` turns it off.
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import sparse

from pbr.fit.counts import FREQ
from pbr.fit.estimability import estimability, fit_check, merge
from pbr.fit.frame import drop_note, model_rows, post_start
from pbr.fit.spec import (
    FitSpec,
    base_row,
    empty_row,
    estimate_row,
    joined,
    normal_p_value,
    results_frame,
)
from pbr.registry.published import PUBLISHED_MASON_2015

log = logging.getLogger(__name__)

#: The method name of the random-intercept logit's rows.
METHOD = "logit_re"
#: Prior SD of the fixed effects (logit scale): flat against the data of any realistic frame.
FE_PRIOR_SD = 10.0
#: Prior SD of the log SD of the area intercepts (the library's default).
RE_PRIOR_SD = 1.0
#: The outcomes the random-intercept logit is fitted for (those Mason et al. 2015 published).
MASON_OUTCOMES = tuple(PUBLISHED_MASON_2015)
#: What every row of the method says of itself.
NOTE = (
    "random-intercept logit (Mason 2015's model: pilot, post, pilot x post, covariates, area intercept), "
    "variational Bayes: posterior mean and approximate 95% credible interval (not a frequentist interval), "
    "for reference only"
)


def design_matrices(
    mf: pd.DataFrame, spec: FitSpec
) -> tuple[np.ndarray, np.ndarray, list[str], sparse.csr_matrix]:
    """(y, X, names of X's columns, Z) of a model frame: X = intercept, pilot, post, did (= pilot x
    post) and the covariates' dummies (first level the reference); Z = one indicator per area."""
    y = mf[spec.outcome].to_numpy(dtype=float)
    fixed = pd.DataFrame(
        {
            "const": 1.0,
            "pilot": mf["pilot"].fillna(False).astype(bool).astype(float),
            "post": mf["post"].astype(float),
            "did": mf["did"].astype(float),
        }
    )
    if spec.covariates:
        dummies = pd.get_dummies(mf[list(spec.covariates)], drop_first=True, dtype=float)
        fixed = pd.concat([fixed, dummies.reset_index(drop=True)], axis=1)
    codes, _ = pd.factorize(mf["area_code"], sort=True)
    z = sparse.csr_matrix((np.ones(len(mf)), (np.arange(len(mf)), codes)), shape=(len(mf), codes.max() + 1))
    return y, fixed.to_numpy(), list(fixed.columns), z


class ReFit(NamedTuple):
    """One random-intercept fit: ``did``'s coefficient (VB posterior mean, or the posterior mode
    by ``fit_map``), the library's posterior SD of it (``sd_library``: mean-field VB's or the
    Laplace one), the SD given the area SD (``sd``: :func:`conditional_sd`; the Laplace one for
    ``fit_map``), convergence, and the SD of the area intercepts (exp of its log's mean or mode)."""

    beta: float
    sd: float
    sd_library: float
    converged: bool
    area_sd: float


def fit_re(y: np.ndarray, x: np.ndarray, names: list[str], z: sparse.csr_matrix, method: str = "vb") -> ReFit:
    """Fit the random-intercept logit by ``fit_vb`` (``method="vb"``, the row's) or ``fit_map``
    (``"map"``, Laplace; for comparison only, see the module docstring)."""
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    model = BinomialBayesMixedGLM(
        y, x, z, np.zeros(z.shape[1], dtype=int), vcp_p=RE_PRIOR_SD, fe_p=FE_PRIOR_SD, fep_names=names
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        if method == "map":
            fit = model.fit_map(
                method="L-BFGS-B", rng=0
            )  # not scale_fe: the library leaves cov unscaled then
        else:
            fit = model.fit_vb(fit_method="L-BFGS-B", scale_fe=True, rng=0)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    k = names.index("did")
    area_sd = float(np.exp(fit.vcp_mean[0]))
    sd_library = float(fit.fe_sd[k])
    if method == "map":
        return ReFit(float(fit.fe_mean[k]), sd_library, sd_library, converged, area_sd)
    # scale_fe back-transforms the slopes only: the intercept is still that of the centred columns
    fe = np.array(fit.fe_mean, dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scaled = scale > 1e-8
    fe[names.index("const")] -= float(mean[scaled] @ fe[scaled])
    sd = conditional_sd(x, z, fe, fit.vc_mean, area_sd, k)
    return ReFit(float(fit.fe_mean[k]), sd, sd_library, converged, area_sd)


def conditional_sd(
    x: np.ndarray, z: sparse.csr_matrix, fe: np.ndarray, u: np.ndarray, area_sd: float, k: int
) -> float:
    """The SD of fixed effect ``k`` by the Laplace approximation given the area SD: the inverse of
    the Hessian of minus the log posterior in the fixed effects and area intercepts,
    [X Z]' W [X Z] + diag(1 / FE_PRIOR_SD^2, 1 / area_sd^2) with W = mu (1 - mu), at (``fe``,
    ``u``). The same formula as the information a frequentist GLMM fit gives the fixed effects
    given its variance estimate; unlike mean-field VB it keeps their correlation with the
    intercepts (NaN when singular)."""
    eta = x @ fe + z @ u
    mu = 1 / (1 + np.exp(-eta))
    w = mu * (1 - mu)
    zw = z.multiply(w[:, None]).tocsr()
    top = np.hstack([x.T @ (x * w[:, None]), np.asarray(zw.T @ x).T])
    bottom = np.hstack([np.asarray(zw.T @ x), (z.T @ zw).toarray()])
    h = np.vstack([top, bottom])
    h[np.diag_indices(x.shape[1])] += 1 / FE_PRIOR_SD**2
    idx = np.arange(x.shape[1], h.shape[0])
    h[idx, idx] += 1 / max(area_sd, 1e-8) ** 2
    try:
        e = np.zeros(h.shape[0])
        e[k] = 1.0
        v = float(np.linalg.solve(h, e)[k])
    except np.linalg.LinAlgError:
        return math.nan
    return math.sqrt(v) if v > 0 else math.nan


def logit_re(
    df: pd.DataFrame, spec: FitSpec, specification: str = "mason_2015", note: str = ""
) -> pd.DataFrame:
    """One ``logit_re`` row (``pbr.fit.spec.RESULT_COLUMNS``) of the random-intercept logistic
    DiD of ``df`` (columns ``area_code``, ``pilot``, ``post``, ``did``, the outcome, the
    covariates); ``note`` goes before the method's own. Not estimable (a row without numbers,
    never an error) when :func:`estimability` or :func:`fit_check` says so."""
    mf, dropped_areas, dropped_rows = model_rows(df, spec)
    pre = estimability(mf, spec.outcome, "logit", post_start(df))
    base = base_row(spec, mf, dropped_areas, dropped_rows, pre.min_cell_events, specification)
    dropped = drop_note(dropped_areas, dropped_rows)
    if pre.status == "not_estimable":
        log.warning("%s/%s %s %s: %s", spec.cohort, spec.outcome, specification, METHOD, pre.reason)
        return results_frame([empty_row(base, METHOD, pre.reason, note, dropped)])
    if FREQ in mf.columns:  # one row per journey: the library takes no weights
        mf = mf.loc[mf.index.repeat(mf[FREQ].round().astype(int))].reset_index(drop=True)
    y, x, names, z = design_matrices(mf, spec)
    if np.linalg.matrix_rank(x) < x.shape[1]:  # e.g. no pilot or no post journeys left
        during = fit_check("logit", math.nan, collinear=True)
        fit = ReFit(math.nan, math.nan, math.nan, True, math.nan)
    else:
        fit = fit_re(y, x, names, z)
        lo, hi = fit.beta - spec.z * fit.sd, fit.beta + spec.z * fit.sd
        during = fit_check("logit", fit.beta, fit.sd, lo=lo, hi=hi, converged=fit.converged)
    status, reason = merge(pre, during)
    if status == "not_estimable":
        log.warning("%s/%s %s %s: %s", spec.cohort, spec.outcome, specification, METHOD, reason)
        return results_frame([empty_row(base, METHOD, reason, note, NOTE, dropped)])
    own = (
        f"{NOTE}; SD of the area intercepts {fit.area_sd:.3f}; mean-field VB posterior SD {fit.sd_library:.3f} "
        f"(interval from {fit.sd:.3f}, given the area SD)"
    )
    row = estimate_row(
        base,
        METHOD,
        fit.beta,
        fit.beta - spec.z * fit.sd,
        fit.beta + spec.z * fit.sd,
        normal_p_value(fit.beta, fit.sd),
        se=fit.sd,
        note=joined(note, reason, own, dropped),
        status=status,
    )
    log.info(
        "%s/%s %s %s: OR %.3f (%.3f-%.3f)",
        spec.cohort,
        spec.outcome,
        specification,
        METHOD,
        row["estimate"],
        row["ci_low"],
        row["ci_high"],
    )
    return results_frame([row])
