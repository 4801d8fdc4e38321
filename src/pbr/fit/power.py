"""Minimum detectable odds ratio at 80% power under the headline method, on the study's geometry.

A finding that is not significant says "no effect" only if an effect of interest would
have been detected. For each outcome x cohort this module gives the smallest odds ratio
below 1 (``mde_low``) and above 1 (``mde_high``) that the wild cluster score bootstrap
(``logit_score_wcb``, :mod:`pbr.fit.inference`) detects with the target power at the test
level, with the study's own areas, sizes and covariates.

Why an approximation
--------------------
Brute force would simulate R data sets at each trial odds ratio and run the score
bootstrap on each: one full-data replicate (``few_cluster_rows``, logit_score_wcb only,
B = 999, no interval) took 11.8 s at 20,000 journeys in 149 areas on the shared 2-core
machine (load about 10; ``bench/bench_inference.simulate(20000, seed=1)``), so R = 1000
replicates at a dozen trial odds ratios would take about 40 hours per outcome. Instead everything
is done in the space of per-area scores, where one replicate costs one G x G x B product
(G areas) for every trial odds ratio at once (64 ms per replicate at G = 149, B = 999 and
97 trial odds ratios on the same loaded machine):

- From the logit fitted at its estimate (:func:`noise_space`; :func:`fitted_parts`: the DiD
  log-OR held at its estimate, :func:`pbr.fit.wild_bootstrap.logit_parts` at delta = beta_hat;
  at 0 when the logit does not converge): per-area efficient scores s_g (the DiD column
  partialled out of the nuisance design with the IRLS weights, x~, times the residuals), each
  divided by sqrt(1 - h_g), h_g = I_g / I (fitting the effect shrinks an area's score
  variance by 1 - h_g); the one-step nuisance map ``a``; and the per-area information
  I_g = sum_{i in g} w_i x~_i^2 (what a DiD log-OR beta adds to area g's score to first
  order: the restricted fit's residuals move by beta w x~).
- A replicate under log-OR beta draws s_rep = u_g s_g + beta I_g, u Webb weights per area
  (:func:`pbr.fit.draws.area_webb_weights`, stream ``power``): the data's own within-area
  noise, re-signed and re-scaled per area as a wild bootstrap does, plus the effect. The
  nuisance scores move the same way (area h's by u_h, plus beta times area h's
  x~-weighted design), so the replicate's one-step map is a_rep = a diag(u) + beta a_x,
  a_x = F'(W'wW)^-1 F (F: area h's column W_h' w_h x~_h).
- Its p-value is the score bootstrap's: studentised sum t = sum s_rep / sqrt(sum s_rep^2)
  against t*_b = s_rep'v_b / sqrt(sum_g (s_rep,g v_gb - (a_rep v_b)_g)^2), B bootstrap
  weights v, exactly as :func:`pbr.fit.wild_bootstrap.score_tstats` does for the data.
- Power(beta) = share of replicates with p <= alpha, on a grid of beta (multiples of the
  robust standard error sqrt(sum s_g^2) / I, the same u and v for every beta, so power is
  close to monotone); the MDE in each direction is the first crossing of the target on the
  running maximum of power, interpolated linearly between grid points.

The approximation is first order in beta (it ignores the change of the IRLS weights with
the effect) and takes the realised per-area scores as the noise scale. They are taken at the
estimate, where they sum to zero: the no-effect fit's scores carry the data's own effect,
about beta_hat I_g, which the re-weighting would turn into noise, inflating the MDE of every
outcome with an effect (session 9's default run: treatment initiation, OR 0.165, MDEs
0.204 / 4.888). Centring shrinks the scores of the areas that carry the design (Kent's
h_g is about 0.3), hence the leverage adjustment.

``bench/bench_power.py`` checks it against full-data replicates (each refitted and
bootstrapped, 149 areas, 6,000 journeys, B = 399) at a planted odds ratio near the MDE, paired
data set by data set (``.venv/bin/python bench/bench_power.py --budget 300``, session 10):
at OR 0.414, brute-force power 0.734 (MC SE 0.038, 139 data sets); score space on the
data sets' null twins 0.744 (paired difference -0.010, SE 0.036), on the planted data
sets themselves 0.658 (+0.076, SE 0.035: conservative where there is an effect, since
the first-order step ignores how the effect changes the weights); from the no-effect fit's
scores, as before session 10, 0.358 (+0.376, SE 0.042). The test suite checks that power is about alpha at
beta = 0 and rises with |beta|, that I_g is the first-order change of the restricted scores,
and that a data set with a large planted effect gets about its null twin's MDE.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from pbr.fit.design import Design, Projector, build_design, fit_did_logit
from pbr.fit.draws import area_webb_weights
from pbr.fit.estimability import estimability
from pbr.fit.frame import model_rows, post_start
from pbr.fit.spec import FitSpec, joined
from pbr.fit.wild_bootstrap import LogitParts, at_least_as_extreme, logit_parts
from pbr.logs import Progress

log = logging.getLogger(__name__)

#: The method whose power is computed (the headline).
POWER_METHOD = "logit_score_wcb"
#: The columns of the power table.
POWER_COLUMNS = ["cohort", "outcome", "method", "mde_low", "mde_high", "power_reps", "note"]
#: The beta grid: multiples of the robust standard error, 0 to GRID_MAX in GRID_POINTS steps.
GRID_MAX, GRID_POINTS = 12.0, 49


@dataclass(frozen=True)
class ScoreSpace:
    """The per-area quantities of the no-effect logit a power replicate is built from."""

    s: np.ndarray  # (G,) efficient scores
    info_g: np.ndarray  # (G,) per-area information sum_{i in g} w x~^2
    a: np.ndarray  # (G,G) one-step nuisance map of the data
    a_x: np.ndarray  # (G,G) its change per unit beta
    area_codes: np.ndarray  # (G,)
    delta: float = 0.0  # the DiD log-OR the logit was fitted at (the estimate, or 0)
    leverage_adjusted: bool = False  # scores divided by sqrt(1 - I_g / I) (noise_space)

    @property
    def robust_se(self) -> float:
        """sqrt(sum s_g^2) / I: the cluster-robust standard error of beta at the no-effect fit."""
        return float(np.sqrt(np.sum(self.s**2)) / self.info_g.sum())


def score_space(design: Design, parts: LogitParts) -> ScoreSpace:
    """:class:`ScoreSpace` of ``design`` from the logit fitted with the DiD log-OR held at
    ``parts.delta`` (:func:`pbr.fit.wild_bootstrap.logit_parts`), scores as fitted."""
    p = special.expit(parts.eta)
    w = p * (1 - p)
    proj = Projector(design, w)
    x_t = design.did - design.W @ proj.coef(design.did)
    F = design.wt_by_area(w * x_t)
    return ScoreSpace(
        s=parts.s,
        info_g=design.by_area(w * x_t * x_t),
        a=parts.a,
        a_x=F.T @ proj.solve(F),
        area_codes=design.area_codes,
        delta=parts.delta,
    )


def noise_space(design: Design) -> ScoreSpace:
    """The :class:`ScoreSpace` the MDE simulates from: the logit's at its estimate
    (:func:`fitted_parts`), each area's score divided by sqrt(1 - h_g), h_g = I_g / I its share of
    the information on the DiD term. Fitting the effect shrinks each area's score variance by
    (1 - h_g) (exactly, when the scores' variance is the information), most in the pilots that
    carry the design; the division undoes it, as HC2 does for residuals."""
    space = score_space(design, fitted_parts(design))
    h = np.clip(space.info_g / space.info_g.sum(), 0.0, 0.99)
    return dataclasses.replace(space, s=space.s / np.sqrt(1.0 - h), leverage_adjusted=True)


def fitted_parts(design: Design) -> LogitParts:
    """The score quantities of the logit at its estimate (the DiD logit's beta held fixed): the
    per-area scores are the data's noise around the fitted model, free of its effect (they sum
    to zero). The no-effect fit's scores would carry the effect, beta I_g, as if it were noise."""
    beta, eta, converged = fit_did_logit(design)
    if not (converged and np.isfinite(beta)):
        return logit_parts(design, 0.0)
    return logit_parts(design, beta, eta_start=eta)


@dataclass(frozen=True)
class BootstrapTerms:
    """The parts of a replicate's bootstrap statistics that do not depend on the replicate."""

    v: np.ndarray  # (G,B) bootstrap weights
    Q: np.ndarray  # (G,B) I v - a_x v: the change of the bootstrap scores per unit beta
    c2: np.ndarray  # (B,) sum_g Q^2
    num_i: np.ndarray  # (B,) I'v

    @classmethod
    def of(cls, space: ScoreSpace, v: np.ndarray) -> BootstrapTerms:
        """The terms for bootstrap weights v (G x B)."""
        Q = space.info_g[:, None] * v - space.a_x @ v
        return cls(v=v, Q=Q, c2=np.sum(Q * Q, axis=0), num_i=space.info_g @ v)


def replicate_pvalues(
    space: ScoreSpace, betas: np.ndarray, u_r: np.ndarray, terms: BootstrapTerms
) -> np.ndarray:
    """Score bootstrap p-value (K,) of the replicate s_rep = u_r s + beta I at each beta of ``betas`` (K,).

    The bootstrap denominator is quadratic in beta: q = P + beta Q with P = (u s) v - a (u v),
    so one G x G x B product serves every beta.
    """
    v = terms.v
    s_r = u_r * space.s
    P = s_r[:, None] * v - space.a @ (u_r[:, None] * v)
    c0, c1 = np.sum(P * P, axis=0), np.sum(P * terms.Q, axis=0)
    b = np.asarray(betas, dtype=float)[:, None]
    S = s_r[None, :] + b * space.info_g[None, :]  # K x G
    with np.errstate(divide="ignore", invalid="ignore"):
        a_obs = np.abs(S.sum(axis=1) / np.sqrt(np.sum(S * S, axis=1)))[:, None]
        num = (s_r @ v)[None, :] + b * terms.num_i[None, :]
        t_star = num / np.sqrt(np.maximum(c0[None, :] + 2 * b * c1[None, :] + b**2 * terms.c2[None, :], 0.0))
    return np.mean(at_least_as_extreme(t_star, a_obs), axis=1)


def score_space_power(
    space: ScoreSpace, betas: np.ndarray, u: np.ndarray, v: np.ndarray, alpha: float
) -> np.ndarray:
    """Power of the score bootstrap at each log-OR in ``betas``: the share of replicates (columns
    of u, G x R) whose :func:`replicate_pvalues` (bootstrap weights v, G x B) are <= alpha."""
    terms = BootstrapTerms.of(space, v)
    rejections = np.zeros(len(betas))
    reps = u.shape[1]
    progress = Progress(log, "power replicates", reps)
    for r in range(reps):
        rejections += replicate_pvalues(space, betas, u[:, r], terms) <= alpha
        progress.step(r + 1)
    return rejections / reps


def first_crossing(grid: np.ndarray, power: np.ndarray, target: float) -> float:
    """The smallest |beta| on ``grid`` (increasing |beta|) where the running maximum of power
    reaches ``target``, interpolated linearly; NaN when it never does."""
    pw = np.maximum.accumulate(power)
    hit = np.flatnonzero(pw >= target)
    if not len(hit):
        return math.nan
    k = int(hit[0])
    if k == 0:
        return float(grid[0])
    x0, x1, p0, p1 = grid[k - 1], grid[k], pw[k - 1], pw[k]
    return float(x0 + (x1 - x0) * (target - p0) / (p1 - p0)) if p1 > p0 else float(x1)


def minimum_detectable(
    space: ScoreSpace, *, target: float, alpha: float, replicates: int, bootstrap_reps: int, seed: int
) -> tuple[float, float, float, float]:
    """(mde_low, mde_high, power at OR 1, largest |log OR| searched): the odds ratios below and above
    1 detected with power ``target`` (NaN when not reached within the grid)."""
    u = area_webb_weights(space.area_codes, replicates, seed, stream="power")
    v = area_webb_weights(space.area_codes, bootstrap_reps, seed, stream="bootstrap")
    steps = np.linspace(0.0, GRID_MAX, GRID_POINTS) * space.robust_se
    betas = np.concatenate([-steps[::-1], steps[1:]])
    power = score_space_power(space, betas, u, v, alpha)
    mid = len(steps) - 1
    low = first_crossing(steps, power[mid::-1], target)
    high = first_crossing(steps, power[mid:], target)
    return math.exp(-low), math.exp(high), float(power[mid]), float(steps[-1])


def power_table(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    target: float = 0.8,
    replicates: int = 1000,
    bootstrap_reps: int = 999,
    seed: int = 20120401,
) -> pd.DataFrame:
    """The power row (:data:`POWER_COLUMNS`) of one outcome in one cohort; NaN MDEs and the reason
    when the logit is not estimable."""
    mf, _, _ = model_rows(df, spec)
    pre = estimability(mf, spec.outcome, "logit", post_start(df))
    row = {"cohort": spec.cohort, "outcome": spec.outcome, "method": POWER_METHOD, "power_reps": replicates}
    if pre.status == "not_estimable":
        return pd.DataFrame(
            [row | {"mde_low": math.nan, "mde_high": math.nan, "note": pre.reason}], columns=POWER_COLUMNS
        )
    design = build_design(mf, spec.outcome, list(spec.covariates))
    space = noise_space(design)
    if not (np.isfinite(space.robust_se) and space.info_g.sum() > 0):
        reason = "not estimable: no information on the DiD term in the no-effect logit"
        return pd.DataFrame(
            [row | {"mde_low": math.nan, "mde_high": math.nan, "note": reason}], columns=POWER_COLUMNS
        )
    alpha = 1 - spec.confidence_level
    low, high, size, searched = minimum_detectable(
        space, target=target, alpha=alpha, replicates=replicates, bootstrap_reps=bootstrap_reps, seed=seed
    )
    unreached = [
        f"power stays below {target:g} for odds ratios {'down to' if side == 'low' else 'up to'} "
        f"{math.exp(-searched if side == 'low' else searched):.3g}"
        for side, value in (("low", low), ("high", high))
        if math.isnan(value)
    ]
    note = joined(
        f"score-space simulation of {POWER_METHOD} (per-area scores of the logit at OR "
        f"{math.exp(space.delta):.3g}, leverage-adjusted and Webb-reweighted, plus beta x per-area "
        f"information): "
        f"{replicates} replicates, {bootstrap_reps} bootstrap draws, "
        f"seed {seed}; power {target:g} at level {alpha:g}; simulated rejection at OR 1: {size:.3f}",
        *unreached,
    )
    log.info("%s/%s: MDE OR %.3f / %.3f (size %.3f)", spec.cohort, spec.outcome, low, high, size)
    return pd.DataFrame([row | {"mde_low": low, "mde_high": high, "note": note}], columns=POWER_COLUMNS)


def attach_mde(results: pd.DataFrame, power: pd.DataFrame) -> pd.DataFrame:
    """``results`` (RESULT_COLUMNS) with ``mde_low`` / ``mde_high`` of ``power`` (:data:`POWER_COLUMNS`)
    copied onto each outcome x cohort's row of specification ``main`` and the power table's method,
    unless that row is not estimable (no finding to qualify)."""
    out = results.copy()
    keys = ["cohort", "outcome", "method"]
    mde = power.set_index(keys)[["mde_low", "mde_high"]]
    main = (out["specification"] == "main") & (out["status"] != "not_estimable")
    index = pd.MultiIndex.from_frame(out.loc[main, keys])
    found = mde.reindex(index)
    out.loc[main, "mde_low"] = found["mde_low"].to_numpy()
    out.loc[main, "mde_high"] = found["mde_high"].to_numpy()
    return out
