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
(:data:`pbr.fit.counts.FREQ`) enter the likelihood weighted, as that many journeys.

Maximum likelihood by adaptive Gauss-Hermite quadrature
--------------------------------------------------------
No well-kept Python library fits a frequentist mixed logit (a GLMM): statsmodels' only
mixed-model logit, ``BinomialBayesMixedGLM``, is Bayesian (``fit_vb``, mean-field variational
Bayes, took 872 s on the paper-scale frame; ``fit_map``, the joint posterior mode, collapses
the area SD towards 0 on the small run's Mason frame and its DiD term then depends on the
optimiser). So the likelihood is written here, with numpy and scipy, the way lme4's
``glmer(nAGQ = Q)`` and Stata's ``melogit`` compute it, and checked against libraries in
tests/unit/test_mixed.py. With theta = (beta, tau = log s) and eta = X beta:

- per area j, the mode b_j of g_j(b) = sum_i w_i [y_i (eta_i + b) - log(1 + exp(eta_i + b))]
  - b^2 / (2 s^2) (w the frequency weights) by a Newton iteration over all areas at once (steps
  halved where g_j would fall), and the curvature c_j = sum_i w_i p_i (1 - p_i) + 1 / s^2
  there, s_j = c_j^(-1/2);
- the area's log-likelihood by :data:`QUADRATURE_NODES` (9) Gauss-Hermite nodes z_q, weights
  v_q, centred and scaled by the mode: l_j = log(sqrt(2) s_j) + logsumexp_q[log v_q + z_q^2 +
  g_j(b_j + sqrt(2) s_j z_q)] - log(2 pi s^2) / 2, and l = sum_j l_j;
- its gradient by Fisher's identity, the complete-data score averaged over each area's
  posterior with the normalised quadrature weights omega_jq: X_j' w (y - p_jq) for beta,
  b_jq^2 / s^2 - 1 for tau; the observed information by Louis' identity (the posterior mean of
  minus the complete-data Hessian less the posterior variance of the score, by the same
  quadrature), symmetrised;
- L-BFGS-B (scipy) from the plain logit (:func:`pbr.fit.design.fit_logit`) and s = 0.3, in
  coordinates scaled by the Cholesky factor of the plain logit's information (12-17
  iterations on the Mason frames, 34 where s runs to its bound), s bounded below by
  :data:`AREA_SD_MIN`. The row's convergence flag is the optimiser's (and the area modes').

Checked (tests/unit/test_mixed.py): the quadrature against scipy.integrate.quad area by area
(8e-9 relative with 9 nodes; the Laplace approximation, 1 node, 3e-4), the gradient and the
information against central differences (6e-7 and 3e-6 of the largest entry on areas of 40
journeys away from the optimum, 2e-9 for the information at it), frequency weights against
expanded rows (identical), and the fit on simulated data (60 areas of 300 journeys, area SD
0.4) against ``BinomialBayesMixedGLM.fit_vb`` (DiD log OR 0.0014 apart, area SD 0.457 against
0.464), the logit with area dummies (0.002 apart, se 0.0944 against 0.0945) and, with the area
SD at its bound, the plain logit (6e-9 apart, se 2e-7 relative). On the Mason frames 5 against 9 nodes change the
log-likelihood by 3e-9 relative at most and the DiD estimate and se by under 1e-6, 15 nodes by
1e-11.

What the interval means
-----------------------
The row's ``estimate`` is exp(b3) at the maximum likelihood, ``se`` the square root of b3's
entry of the inverse observed information (over beta and tau), the interval exp(b3 +- z se),
a model-based Wald interval, and ``p_value`` the normal approximation 2 Phi(-|b3| / se). It is
model-based, not cluster-robust: it allows for between-area variation of the level (normal
area intercepts constant over the window), not for area-by-period shocks, which with 8 pilot
areas matter (CRV1 over-rejects for the same reason). The method has no measured size: it is
shown for reference and decides no verdict (:mod:`pbr.registry.methods`, role
``reference``). When the area SD stops at its lower bound (no between-area variation found,
lme4's "singular fit") the note says so and se is that of the fixed effects with s held there,
in effect the plain logit's.

Cost and the figures on a realistic frame
-----------------------------------------
Measured in the Mason window, the default covariates, on the shared 2-core machine (load
3.5-4 from other work) with one BLAS thread (``OMP_NUM_THREADS=1``; with OpenBLAS's default 2
threads on the loaded machine the dense products wait on each other, 2-7 times slower), three
runs each:

- the small run (/work/main/results/small/derive/analysis_drug.parquet, config/small.yaml,
  scale 0.05): successful completion (7,563 journeys, 148 areas, 32 fixed-effect columns)
  0.11 s per fit (fit_vb: 8.1-9.5 s); declined to continue (5,628 journeys, 92 areas) 0.15 s
  (fit_vb 2.0-2.4 s);
- paper scale (scale 1.0, 151,223 journeys, 149 areas): successful completion 3.9-4.2 s
  (fit_vb: 872 s), declined to continue 2.7-2.9 s.

Command (the path of the scale-1 table in place of the small run's for paper scale)::

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python -c "
    import time, pandas as pd; from pbr.config import load_config; from pbr.fit import mixed, robustness
    from pbr.fit.spec import FitSpec
    df = pd.read_parquet('results/small/derive/analysis_drug.parquet')
    models = load_config('config/config.yaml')['models']
    frame = robustness.mason_frame(df, '2011-04-01', '2012-04-01', '2013-03-31')
    for o in mixed.MASON_OUTCOMES:
        t = time.perf_counter(); r = mixed.logit_re(frame, FitSpec.from_config('drug', o, models, 'quarter'))
        print(o, round(time.perf_counter() - t, 2), 's', r[['estimate', 'ci_low', 'ci_high', 'se', 'note']].values)"

The estimates: at scale 0.05, successful completion OR 0.651 (0.424-1.000; se 0.219, area SD
0.227; fit_vb 0.645, 0.420-0.991, area SD 0.238) against the fixed-effects logit's 0.669 (CRV1
0.501-0.895, SE 0.148; its model-based, not cluster-robust, SE is 0.221, statsmodels GLM with
area and quarter dummies: about ``se`` here, so the random-intercept interval is wider
than CRV1's because CRV1 is small with 8 pilot areas, not because the model differs);
declined to continue 4.43 (1.77-11.10; the area SD at its bound: the profile log-likelihood
falls from s = 1e-4 to 0.05, 0.1, 0.2: -850.55, -850.63, -850.86, -851.85; fit_vb 4.43,
1.71-11.49) against the fixed-effects 4.74 (1.86-12.04). At scale 1, successful completion
OR 0.647 (0.590-0.710; se 0.047, area SD 0.251), as fit_vb's 0.647 (0.590-0.710); declined to
continue 5.23 (4.24-6.47; area SD 0.215).

:func:`pbr.fit.robustness.mason_2015` fits it for Mason's own outcomes, :data:`MASON_OUTCOMES`
(successful completion, declined to continue: the outcomes with a published Mason 2015 value),
when they are robustness outcomes (by default successful completion only); config
``models.robustness.mason_random_intercept: false`` turns it off.
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.polynomial.hermite import hermgauss
from scipy import linalg, optimize, sparse, special

from pbr.fit import design
from pbr.fit.counts import freq_of
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
#: Gauss-Hermite nodes per area of the adaptive quadrature (lme4's nAGQ, Stata's intpoints).
QUADRATURE_NODES = 9
#: The optimiser's start of the SD of the area intercepts (logit scale).
AREA_SD_START = 0.3
#: Lower bound of the SD of the area intercepts: a fit that stops there found no between-area
#: variation (lme4's "singular fit"); its se then holds the area SD fixed there.
AREA_SD_MIN = 1e-4
#: Newton steps per area for the modes of the area intercepts, and the step that counts as converged.
MODE_MAXITER = 100
MODE_TOL = 1e-10
#: The optimiser's stopping rules (L-BFGS-B on minus the log-likelihood in the coordinates of
#: :func:`start_values`, where its Hessian is near the identity): stop when no step lowers it or
#: the largest gradient component is below gtol (1e-8: the coefficients to about 1e-9).
OPTIMISER = {"maxiter": 2000, "ftol": 0.0, "gtol": 1e-8}
#: The outcomes the random-intercept logit is fitted for (those Mason et al. 2015 published).
MASON_OUTCOMES = tuple(PUBLISHED_MASON_2015)
#: What every row of the method says of itself.
NOTE = (
    "random-intercept logit (Mason 2015's model: pilot, post, pilot x post, covariates, area intercept), "
    f"maximum likelihood by adaptive Gauss-Hermite quadrature ({QUADRATURE_NODES} nodes): "
    "model-based Wald interval (not cluster-robust), for reference only"
)


def design_matrices(mf: pd.DataFrame, spec: FitSpec) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """(y, X, names of X's columns, area codes 0..J-1) of a model frame: X = intercept, pilot,
    post, did (= pilot x post) and the covariates' dummies (first level the reference)."""
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
    return y, fixed.to_numpy(), list(fixed.columns), codes


def softplus(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log(1 + exp(e)) and expit(e), both from one exp(-|e|) (no overflow; several times faster
    than ``np.logaddexp(0, e)``, which dominated the fit's time)."""
    t = np.exp(-np.abs(e))
    return np.maximum(e, 0.0) + np.log1p(t), np.where(e >= 0, 1.0, t) / (1.0 + t)


class _Quadrature(NamedTuple):
    """One evaluation's quadrature: the log-likelihood, s^2, the nodes (areas x Q), the fitted
    probabilities at them (rows x Q) and the normalised weights (areas x Q)."""

    ll: float
    s2: float
    nodes: np.ndarray
    p: np.ndarray
    omega: np.ndarray


class RandomInterceptLogit:
    """The marginal log-likelihood of the random-intercept logit
    logit P(y_i = 1) = x_i' beta + b_area(i), b_j ~ N(0, s^2), over theta = (beta, log s), by
    adaptive Gauss-Hermite quadrature, with its gradient. ``weights``: frequency weights (a row
    stands for that many journeys; default 1). The modes of the area intercepts are kept
    between calls as the next call's start."""

    def __init__(
        self,
        y: np.ndarray,
        x: np.ndarray,
        area: np.ndarray,
        weights: np.ndarray | None = None,
        nodes: int = QUADRATURE_NODES,
    ) -> None:
        self.y = np.asarray(y, dtype=float)
        self.x = np.asarray(x, dtype=float)
        self.area = np.asarray(area, dtype=np.intp)
        self.w = np.ones_like(self.y) if weights is None else np.asarray(weights, dtype=float)
        self.wy = self.w * self.y
        self.n_areas = int(self.area.max()) + 1
        n = len(self.y)
        # sums over each area's rows: one sparse product for a vector or n x Q matrix
        self._sum_by_area = sparse.csr_matrix(
            (np.ones(n), (self.area, np.arange(n))), shape=(self.n_areas, n)
        )
        z, wq = hermgauss(nodes)
        self.z = z
        self.log_wq = np.log(wq) + z**2  # the Gauss-Hermite weights times exp(z^2), logged
        self.modes = np.zeros(self.n_areas)
        self.modes_converged = True

    def _by_area(self, v: np.ndarray) -> np.ndarray:
        return np.asarray(self._sum_by_area @ v)

    def _g(self, eta: np.ndarray, b: np.ndarray, s2: float) -> np.ndarray:
        """Per area: the log-likelihood of its rows given its intercept ``b`` plus log N(b; 0, s^2)
        without its constant."""
        e = eta + b[self.area]
        return self._by_area(self.wy * e - self.w * softplus(e)[0]) - b**2 / (2 * s2)

    def area_modes(self, eta: np.ndarray, s2: float) -> tuple[np.ndarray, np.ndarray]:
        """The mode of each area's integrand (a vectorised Newton from the last modes, steps
        halved where the integrand would fall) and the curvature there,
        sum w p (1 - p) + 1 / s^2."""
        b = self.modes.copy()
        g = self._g(eta, b, s2)
        converged = False
        for _ in range(MODE_MAXITER):
            p = special.expit(eta + b[self.area])
            step = (self._by_area(self.wy - self.w * p) - b / s2) / (
                self._by_area(self.w * p * (1 - p)) + 1 / s2
            )
            new = b + step
            g_new = self._g(eta, new, s2)
            for _ in range(50):  # concave: a short enough step never lowers it
                worse = g_new < g - 1e-12 * (1 + np.abs(g))
                if not worse.any():
                    break
                step[worse] /= 2
                new = b + step
                g_new = self._g(eta, new, s2)
            b, g = new, g_new
            if np.max(np.abs(step)) < MODE_TOL:
                converged = True
                break
        p = special.expit(eta + b[self.area])
        self.modes, self.modes_converged = b, converged
        return b, self._by_area(self.w * p * (1 - p)) + 1 / s2

    def _quadrature(self, theta: np.ndarray) -> _Quadrature:
        beta, tau = np.asarray(theta[:-1], dtype=float), float(theta[-1])
        s2 = math.exp(2 * tau)
        eta = self.x @ beta
        b, curvature = self.area_modes(eta, s2)
        sd = 1 / np.sqrt(curvature)
        nodes = b[:, None] + math.sqrt(2) * sd[:, None] * self.z[None, :]  # areas x Q
        e = eta[:, None] + nodes[self.area]  # rows x Q
        log1pexp, p = softplus(e)
        terms = self._by_area(self.wy[:, None] * e - self.w[:, None] * log1pexp)
        terms += self.log_wq[None, :] - nodes**2 / (2 * s2)
        lse = special.logsumexp(terms, axis=1)
        ll = float(np.sum(np.log(math.sqrt(2) * sd) + lse) - self.n_areas * 0.5 * math.log(2 * math.pi * s2))
        return _Quadrature(ll, s2, nodes, p, np.exp(terms - lse[:, None]))

    def loglik(self, theta: np.ndarray, gradient: bool = True) -> tuple[float, np.ndarray]:
        """The log-likelihood at ``theta`` = (beta, log s) and its gradient (Fisher's identity:
        the expected complete-data score under each area's posterior, by the same quadrature;
        zeros when not ``gradient``)."""
        q = self._quadrature(theta)
        if not gradient:
            return q.ll, np.zeros(len(theta))
        fitted = np.sum(q.omega[self.area] * q.p, axis=1)
        d_beta = (
            self.wy - self.w * fitted
        ) @ self.x  # not x.T @ (...): 100 times slower on the shared machine
        d_tau = float(np.sum(q.omega * (q.nodes**2 / q.s2 - 1)))
        return q.ll, np.append(d_beta, d_tau)

    def information(self, theta: np.ndarray) -> np.ndarray:
        """The observed information (minus the Hessian of the log-likelihood) at ``theta`` by
        Louis' identity, the derivative of Fisher's: per area, the posterior mean of minus the
        complete-data Hessian less the posterior variance of the complete-data score, both by
        the same quadrature (tests/unit/test_mixed.py checks it against central differences of
        :meth:`loglik`'s gradient)."""
        q = self._quadrature(theta)
        k = self.x.shape[1]
        omega_rows = q.omega[self.area]
        # the complete-data score per area and node: X_j' w (y - p_q) and b_q^2 / s^2 - 1
        score = np.empty((self.n_areas, len(self.z), k + 1))
        for j in range(len(self.z)):
            score[:, j, :k] = self._by_area(self.x * (self.wy - self.w * q.p[:, j])[:, None])
        score[:, :, k] = q.nodes**2 / q.s2 - 1
        mean = np.einsum("jq,jqk->jk", q.omega, score)
        info = -(np.einsum("jq,jqk,jql->kl", q.omega, score, score) - mean.T @ mean)
        curvature = self.w * np.sum(omega_rows * q.p * (1 - q.p), axis=1)
        info[:k, :k] += self.x.T @ (self.x * curvature[:, None])
        info[k, k] += float(np.sum(q.omega * 2 * q.nodes**2 / q.s2))
        return (info + info.T) / 2


class ReFit(NamedTuple):
    """One random-intercept fit: the coefficients (``names``; the last entry of ``coef`` is the
    log SD of the area intercepts), their covariance (inverse observed information), ``did``'s
    coefficient and standard error, convergence, the SD of the area intercepts (whether at its
    lower bound :data:`AREA_SD_MIN`), the log-likelihood and the optimiser's iterations."""

    beta: float
    se: float
    converged: bool
    area_sd: float
    at_bound: bool
    loglik: float
    iterations: int
    coef: np.ndarray
    cov: np.ndarray


def start_values(
    y: np.ndarray, x: np.ndarray, weights: np.ndarray | None, n_areas: int
) -> tuple[np.ndarray, np.ndarray]:
    """The optimiser's start and scale: the plain logit of y on X (the pipeline's IRLS,
    :func:`pbr.fit.design.fit_logit`) and log :data:`AREA_SD_START`; the Cholesky factor of that
    logit's information X' W X, and 2 x the areas for the log SD (the information of log s from J
    known intercepts), which the optimiser works in (its coordinates u = L' (theta - start))."""
    w = np.ones_like(y) if weights is None else weights
    coef, eta, _ = design.fit_logit(sparse.csr_matrix(x), y, freq=w)
    p = special.expit(eta)
    info = np.zeros((x.shape[1] + 1, x.shape[1] + 1))
    info[:-1, :-1] = x.T @ (x * (w * p * (1 - p))[:, None])
    info[-1, -1] = 2.0 * n_areas
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:  # fitted probabilities of 0 or 1 (separation): the diagonal only
        chol = np.diag(np.sqrt(np.maximum(np.diag(info), 1.0)))
    return np.append(coef, math.log(AREA_SD_START)), chol


def fit_re(
    y: np.ndarray,
    x: np.ndarray,
    names: list[str],
    area: np.ndarray,
    weights: np.ndarray | None = None,
    nodes: int = QUADRATURE_NODES,
) -> ReFit:
    """Maximum likelihood of the random-intercept logit: L-BFGS-B on minus the log-likelihood
    (:class:`RandomInterceptLogit`) from and scaled by :func:`start_values`, the log area SD
    bounded below by log :data:`AREA_SD_MIN`; covariance the inverse observed information
    (of the fixed effects alone when the area SD stops at its bound)."""
    model = RandomInterceptLogit(y, x, area, weights, nodes)
    start, chol = start_values(y, x, weights, model.n_areas)

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = model.loglik(start + linalg.solve_triangular(chol.T, u, lower=False))
        return -ll, -linalg.solve_triangular(chol, grad, lower=True)

    # u's last coordinate is log s's, scaled: the bound on log s is one on it
    bounds = [(None, None)] * x.shape[1] + [((math.log(AREA_SD_MIN) - start[-1]) * chol[-1, -1], None)]
    res = optimize.minimize(
        objective, np.zeros(len(start)), jac=True, method="L-BFGS-B", bounds=bounds, options=OPTIMISER
    )
    theta = start + linalg.solve_triangular(chol.T, res.x, lower=False)
    log.debug("logit_re: %s after %d iterations, %d evaluations", res.message, res.nit, res.nfev)
    at_bound = bool(theta[-1] <= math.log(AREA_SD_MIN) + 1e-8)
    info = model.information(theta)
    k = names.index("did")
    free = np.arange(len(theta) - 1) if at_bound else np.arange(len(theta))
    cov = np.full((len(theta), len(theta)), math.nan)
    with contextlib.suppress(np.linalg.LinAlgError):  # singular: se NaN, not estimable
        cov[np.ix_(free, free)] = np.linalg.inv(info[np.ix_(free, free)])
    var = cov[k, k]
    se = math.sqrt(var) if np.isfinite(var) and var > 0 else math.nan
    converged = bool(res.success) and model.modes_converged
    return ReFit(
        float(theta[k]),
        se,
        converged,
        math.exp(theta[-1]),
        at_bound,
        -float(res.fun),
        int(res.nit),
        theta,
        cov,
    )


def logit_re(
    df: pd.DataFrame, spec: FitSpec, specification: str = "mason_2015", note: str = ""
) -> pd.DataFrame:
    """One ``logit_re`` row (``pbr.fit.spec.RESULT_COLUMNS``) of the random-intercept logistic
    DiD of ``df`` (columns ``area_code``, ``pilot``, ``post``, ``did``, the outcome, the
    covariates, optionally :data:`pbr.fit.counts.FREQ`); ``note`` goes before the method's own.
    Not estimable (a row without numbers, never an error) when :func:`estimability` or
    :func:`fit_check` says so."""
    mf, dropped_areas, dropped_rows = model_rows(df, spec)
    pre = estimability(mf, spec.outcome, "logit", post_start(df))
    base = base_row(spec, mf, dropped_areas, dropped_rows, pre.min_cell_events, specification)
    dropped = drop_note(dropped_areas, dropped_rows)
    if pre.status == "not_estimable":
        log.warning("%s/%s %s %s: %s", spec.cohort, spec.outcome, specification, METHOD, pre.reason)
        return results_frame([empty_row(base, METHOD, pre.reason, note, dropped)])
    y, x, names, area = design_matrices(mf, spec)
    weights = freq_of(mf)
    if np.linalg.matrix_rank(x) < x.shape[1]:  # e.g. no pilot or no post journeys left
        during = fit_check("logit", math.nan, collinear=True)
        fit = None
    else:
        fit = fit_re(y, x, names, area, weights)
        lo, hi = fit.beta - spec.z * fit.se, fit.beta + spec.z * fit.se
        during = fit_check("logit", fit.beta, fit.se, lo=lo, hi=hi, converged=fit.converged)
    status, reason = merge(pre, during)
    if status == "not_estimable" or fit is None:
        log.warning("%s/%s %s %s: %s", spec.cohort, spec.outcome, specification, METHOD, reason)
        return results_frame([empty_row(base, METHOD, reason, note, NOTE, dropped)])
    bound = f" (at its lower bound {AREA_SD_MIN:g}: no between-area variation found)" if fit.at_bound else ""
    own = f"{NOTE}; SD of the area intercepts {fit.area_sd:.3f}{bound}"
    row = estimate_row(
        base,
        METHOD,
        fit.beta,
        fit.beta - spec.z * fit.se,
        fit.beta + spec.z * fit.se,
        normal_p_value(fit.beta, fit.se),
        se=fit.se,
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
