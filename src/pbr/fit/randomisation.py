"""Randomisation inference over areas: the statistics of re-assigning "pilot" to other areas.

Methods (row ``method`` names; the rows, with their checks, notes and LPM intervals, are
built by :func:`pbr.fit.inference.few_cluster_rows`; the re-assignments are drawn per area
code by :func:`pbr.fit.draws.area_assignments`):

``lpm_ri`` / ``logit_ri``
    Randomisation inference over areas: R random re-assignments of "pilot" to as many
    areas as are treated in the data, among all areas in the data. Statistic: the LPM
    coefficient (exact, via Frisch-Waugh-Lovell: beta_S = 1_S'c / 1_S'G 1_S), and for
    the logit the one-step estimate from the no-effect logit fitted once (efficient
    score / efficient information, a fast stand-in for refitting the logit that agrees
    with refits in sign and ranking). p = (1 + #{|stat_perm| >= |stat_obs|}) / (1 + R)
    (:func:`ri_pvalue`). LPM CI by test inversion under the constant additive effect sharp null
    H0: y_i(0) = y_i - delta * did_i (exact breakpoints are step points of p(delta),
    located by Brent's method). Logit RI: p-value only (H0: the outcome does not depend on
    the pilot assignment). A raw coefficient's spread depends on the size of the areas
    that carry it, so these are valid only if the pilots were exchangeable with other
    areas (issue #19: the pilots include some of the largest and some of the smallest
    areas); their note starts so (:data:`pbr.fit.inference.RAW_RI_CAVEAT`), and no verdict uses them.
``lpm_ri_t`` / ``logit_ri_t``
    The same re-assignments with a studentised statistic (score-type t: the sum of the
    per-area efficient scores over its cluster-robust norm, residuals from the model
    fitted under H0). Studentising guards against treated areas that are larger or
    smaller than the rest (MacKinnon & Webb 2020). LPM: CI by inversion; logit: p only.
``lpm_ri_t_size`` / ``logit_ri_t_size``
    The studentised RI with re-assignments restricted to strata of areas of similar size
    (journeys per area in the model frame; :func:`pbr.fit.draws.size_strata`: one pilot
    per stratum with the areas nearest it in size rank), each stratum keeping its number
    of pilots: a sensitivity for pilots that are not exchangeable with areas of another
    size. LPM: CI by inversion; logit: p only.

The statistics are read from the cross-products of :mod:`pbr.fit.wild_bootstrap`
(:class:`~pbr.fit.wild_bootstrap.LpmParts`; :class:`~pbr.fit.wild_bootstrap.LogitParts`
fitted ``with_ri``). The LPM RI products that do not depend on delta are formed once per set
of re-assignments (:class:`RiLpm`), so each delta a test inversion tries costs O(G R), not
O(G^2 R). Randomisation inference with so few distinct re-assignments that p cannot reach
the test level (few areas; within size strata, the product over strata of the ways to place
each stratum's pilots) is a caveat (:func:`few_assignments_check`): p cannot fall below
1 / (number of assignments).
"""

from __future__ import annotations

import math

import numpy as np

from pbr.fit.estimability import Estimability, verdict
from pbr.fit.wild_bootstrap import LogitParts, LpmParts, at_least_as_extreme


def ri_lpm_stats(parts: LpmParts, assign: np.ndarray, delta: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """LPM coefficient and score-type t for each assignment row (R x G), under shift delta."""
    return RiLpm(parts, assign).stats(delta)


class RiLpm:
    """:func:`ri_lpm_stats` for many deltas (test inversion) on one set of assignments (R x G).

    Every G x G by G x R product is linear in delta, so it is formed once here, and each
    delta costs O(G R) instead of O(G^2 R).
    """

    def __init__(self, parts: LpmParts, assign: np.ndarray):
        self.num_y = assign @ parts.c_y
        self.num_x = assign @ (parts.gram_z @ parts.treated.astype(float))
        self.den = np.sum((assign @ parts.gram_z) * assign, axis=1)
        self.h_y = parts.h_y @ assign.T  # (G, R)
        self.h_x = parts.h_x @ assign.T

    def stats(self, delta: float) -> tuple[np.ndarray, np.ndarray]:
        """(coefficient, score-type t) of each assignment under H0: y - delta * did unaffected."""
        num = self.num_y - delta * self.num_x
        h = self.h_y - delta * self.h_x
        with np.errstate(divide="ignore", invalid="ignore"):
            return num / self.den, num / np.sqrt(np.sum(h**2, axis=0))


def ri_pvalue(stats_all: np.ndarray) -> float:
    """Row 0 is the observed assignment: p = (1 + #{|perm| >= |obs|}) / (1 + R)."""
    return float((1 + np.sum(at_least_as_extreme(stats_all[1:], stats_all[0]))) / len(stats_all))


def ri_logit_stats(parts: LogitParts, assign: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One-step coefficient and score-type t of each assignment row under the no-effect logit."""
    num = assign @ parts.c
    den = np.sum((assign @ parts.gram_z) * assign, axis=1)
    h = parts.h @ assign.T
    with np.errstate(divide="ignore", invalid="ignore"):
        return num / den, num / np.sqrt(np.sum(h**2, axis=0))


def few_assignments_check(strata: np.ndarray, treated: np.ndarray, alpha: float) -> Estimability:
    """Caveat when so few distinct assignments exist that RI cannot reach p <= alpha: with strata,
    their number is the product over strata of C(areas in the stratum, its treated areas)."""
    n_assign = 1
    for stratum in np.unique(strata):
        members = strata == stratum
        n_assign *= math.comb(int(members.sum()), int(treated[members].sum()))
    if n_assign * alpha >= 1:
        return verdict()
    n_strata = len(np.unique(strata))
    where = f"among {len(treated)}" if n_strata == 1 else f"within {n_strata} size strata of {len(treated)}"
    return verdict(
        caveats=[
            f"only {n_assign} distinct assignments of {int(treated.sum())} pilot areas {where}: a "
            f"randomisation p-value cannot fall much below 1/{n_assign}, so it cannot reach {alpha:g}"
        ]
    )
