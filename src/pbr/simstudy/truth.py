"""Each scenario's true targets, by large runs of its own mechanism rather than the planted value.

The planted odds ratio is conditional on the area x half-year shocks; the logit DiD fitted
without them estimates an attenuated (non-collapsible) log OR, and with heterogeneous or
opposite effects a weighted mean of the pilots' effects. The target of each estimator is
its mean over the mechanism at a size where its own sampling error is negligible: the mean
of the logit's DiD log OR and of the LPM's risk difference over ``runs`` replicates, each of
the geometry's journeys repeated ``scale`` times (the shocks and effects redrawn per run,
so the mean is over them too), with its Monte Carlo standard error.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from pbr.fit.design import build_design, fit_terms
from pbr.fit.frame import model_rows
from pbr.simstudy.mechanism import Geometry, replicate
from pbr.simstudy.methods import SPEC
from pbr.simstudy.scenarios import Scenario

log = logging.getLogger(__name__)

#: The columns of a scenario's target table.
TRUTH_COLUMNS = [
    "scenario",
    "planted_log_or",
    "target_log_or",
    "target_log_or_mc_se",
    "target_rd",
    "target_rd_mc_se",
    "runs",
    "scale",
]
#: Replicate numbers of the large runs (far from the study's replicates).
TRUTH_OFFSET = 10_000_000


def did_estimates(df: pd.DataFrame) -> tuple[float, float]:
    """(logit DiD log OR, LPM risk difference) of the main model on ``df``."""
    mf, _, _ = model_rows(df, SPEC)
    d = build_design(mf, "y", list(SPEC.covariates))
    return float(fit_terms(d, d.did, "logit").coef[0]), float(fit_terms(d, d.did, "linear").coef[0])


def targets(geometry: Geometry, scenario: Scenario, seed: int, runs: int, scale: int) -> pd.DataFrame:
    """The scenario's target row (:data:`TRUTH_COLUMNS`)."""
    est = []
    for k in range(runs):
        est.append(did_estimates(replicate(geometry, scenario, seed, TRUTH_OFFSET + k, scale=scale)))
        log.info(
            "%s truth: run %d of %d (%d journeys)", scenario.name, k + 1, runs, scale * scenario.journeys
        )
    a = np.array(est)
    se = a.std(axis=0, ddof=1) / math.sqrt(runs) if runs > 1 else np.full(2, math.nan)
    row = {
        "scenario": scenario.name,
        "planted_log_or": scenario.log_or,
        "target_log_or": float(a[:, 0].mean()),
        "target_log_or_mc_se": float(se[0]),
        "target_rd": float(a[:, 1].mean()),
        "target_rd_mc_se": float(se[1]),
        "runs": runs,
        "scale": scale,
    }
    return pd.DataFrame([row], columns=TRUTH_COLUMNS)
