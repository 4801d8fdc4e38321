"""The DiD over imputed link sets, combined by Rubin's rules (issue #21).

Each imputation (:mod:`pbr.link.imputation`) gives the linked outcomes again and the logit
DiD is fitted on each (CRV1, as the main fit). :func:`rubin` combines the M coefficients:
the mean, the within-imputation variance W (mean of the squared standard errors), the
between-imputation variance B, the total T = W + (1 + 1/M) B, the fraction of missing
information (1 + 1/M) B / T and the Barnard-Rubin (1999) degrees of freedom, with the
complete-data degrees of freedom of a cluster-robust fit: clusters - 1. Hand-written (a few
lines of arithmetic); the tests check it against statsmodels' MICE pooling.

:func:`combined_rows` writes, per cohort x linked outcome, the ``linkage_mi`` rows:

- ``logit_crv1``: Rubin's rules on the CRV1 fits (reference only, as every CRV1 row);
- the headline method (``logit_score_wcb``): its single-link-set interval, centred on the MI
  estimate and each side widened by sqrt(T / W), the share the imputations add to the
  variance of the CRV1 fits. The wild bootstrap is not re-run per imputation (cost: one score
  bootstrap with test inversion per imputation x outcome x cohort); the widening assumes
  linkage uncertainty adds the same share of variance to the bootstrap's reference
  distribution as to the model-based one. Its p-value is left empty: the verdicts of these
  rows rest on the interval, whose coverage the linkage benchmark measures.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from pbr.fit.spec import RESULT_COLUMNS, empty_row, estimate_row, joined, results_frame

#: the rows of :func:`combined_rows` are in RESULT_COLUMNS
__all__ = ["MI_SPECIFICATION", "RESULT_COLUMNS", "combined_rows", "rubin"]

#: the specification of the rows combined over imputed link sets
MI_SPECIFICATION = "linkage_mi"


def rubin(betas: np.ndarray, ses: np.ndarray, df_complete: float) -> dict[str, float]:
    """Rubin's rules for one coefficient over M imputations (``betas``, ``ses``): the pooled
    ``beta``, ``se`` (sqrt T), ``within`` (W), ``between`` (B), ``fmi`` ((1 + 1/M) B / T),
    ``ratio`` (sqrt(T / W)) and ``df`` (Barnard-Rubin with ``df_complete``)."""
    betas, ses = np.asarray(betas, dtype=float), np.asarray(ses, dtype=float)
    m = len(betas)
    if m < 2:
        raise ValueError(f"Rubin's rules need at least 2 imputations, got {m}")
    within = float(np.mean(ses**2))
    between = float(np.var(betas, ddof=1))
    total = within + (1 + 1 / m) * between
    gamma = (1 + 1 / m) * between / total if total > 0 else 0.0
    df_old = (m - 1) / gamma**2 if gamma > 0 else math.inf
    df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - gamma)
    df = 1 / (1 / df_old + 1 / df_obs) if math.isfinite(df_old) else df_obs
    return {
        "beta": float(np.mean(betas)),
        "se": math.sqrt(total),
        "within": within,
        "between": between,
        "fmi": gamma,
        "ratio": math.sqrt(total / within) if within > 0 else math.nan,
        "df": df,
    }


def combined_rows(
    imputed: pd.DataFrame, headline: pd.DataFrame, headline_method: str, confidence_level: float
) -> pd.DataFrame:
    """The ``linkage_mi`` rows (module docstring) of every cohort x outcome in ``imputed`` (the
    CRV1 logit rows of every imputation, column ``imputation``); ``headline``: the single-link
    set's rows of ``headline_method`` (specification main) to widen."""
    rows = []
    for (cohort, outcome), fits in imputed.groupby(["cohort", "outcome"], sort=True):
        ok = fits[fits["status"] != "not_estimable"]
        base = fits.iloc[0].to_dict() | {"specification": MI_SPECIFICATION}
        m = int(fits["imputation"].nunique())
        if len(ok) < 2 or len(ok) < len(fits):
            reason = f"not estimable: {len(fits) - len(ok)} of {m} imputed link sets gave no estimate"
            rows.append(empty_row(base, "logit_crv1", reason))
            rows.append(empty_row(base, headline_method, reason))
            continue
        pooled = rubin(ok["beta"].to_numpy(), ok["se"].to_numpy(), float(ok["n_clusters"].min()) - 1)
        rows.append(_crv1_row(base, pooled, m, confidence_level))
        single = headline[(headline["cohort"] == cohort) & (headline["outcome"] == outcome)]
        rows.append(_headline_row(base, single, headline_method, pooled, m))
    return results_frame(rows)


def _mi_note(pooled: dict, m: int) -> str:
    return (
        f"{m} imputed link sets combined by Rubin's rules; fraction of missing information "
        f"{pooled['fmi']:.3f}, variance ratio T/W {pooled['ratio'] ** 2:.3f}"
    )


def _crv1_row(base: dict, pooled: dict, m: int, confidence_level: float) -> dict:
    q = float(stats.t.ppf(0.5 + confidence_level / 2, pooled["df"]))
    beta, se = pooled["beta"], pooled["se"]
    p = float(2 * stats.t.sf(abs(beta / se), pooled["df"])) if se > 0 else math.nan
    note = joined(_mi_note(pooled, m), f"t with {pooled['df']:.1f} Barnard-Rubin degrees of freedom")
    return estimate_row(
        base, "logit_crv1", beta, beta - q * se, beta + q * se, p, status="ok", note=note, se=se
    )


def _headline_row(base: dict, single: pd.DataFrame, method: str, pooled: dict, m: int) -> dict:
    row = single[single["method"] == method]
    if row.empty or row["status"].iloc[0] == "not_estimable" or not np.isfinite(row["beta"].iloc[0]):
        return empty_row(base, method, f"not estimable: no {method} row of the single link set to widen")
    r = row.iloc[0]
    lo, hi = math.log(r["ci_low"]) if r["ci_low"] > 0 else -math.inf, math.log(r["ci_high"])
    k, beta = pooled["ratio"], pooled["beta"]
    note = joined(
        _mi_note(pooled, m),
        f"the single link set's {method} interval centred on the MI estimate, each side widened by "
        f"sqrt(T/W) = {k:.3f}; no p-value",
    )
    lo_mi, hi_mi = beta - k * (r["beta"] - lo), beta + k * (hi - r["beta"])
    return estimate_row(base, method, beta, lo_mi, hi_mi, math.nan, status=str(r["status"]), note=note)
