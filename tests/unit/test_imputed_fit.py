"""Rubin's rules over imputed link sets (pbr.fit.imputed), against statsmodels' MICE pooling."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from pbr.fit import imputed


def test_rubin_pools_as_statsmodels_mice_does():
    from statsmodels.imputation.mice import MICE

    rng = np.random.default_rng(3)
    betas, ses = rng.normal(-0.3, 0.05, 20), rng.uniform(0.08, 0.12, 20)
    fits = [
        SimpleNamespace(_results=SimpleNamespace(params=np.array([1.0 + b / 2, b]),
                                                 cov_params=lambda s=s: np.diag([0.01, s**2])), scale=1.0)
        for b, s in zip(betas, ses, strict=True)
    ]  # fmt: skip
    mice = MICE.__new__(MICE)
    mice.results_list, mice.exog_names, mice.endog_names, mice.model_class = fits, ["const", "did"], "y", None
    pooled_sm = mice.combine()
    got = imputed.rubin(betas, ses, df_complete=148)
    assert got["beta"] == pytest.approx(float(pooled_sm.params[1]))
    assert got["se"] ** 2 == pytest.approx(float(pooled_sm.cov_params()[1, 1]))
    assert got["fmi"] == pytest.approx(float(pooled_sm.frac_miss_info[1]))
    assert got["ratio"] == pytest.approx(math.sqrt(got["se"] ** 2 / np.mean(ses**2)))
    # Barnard-Rubin: below both the complete-data and the large-sample degrees of freedom
    assert 0 < got["df"] < 148 and got["df"] < (20 - 1) / got["fmi"] ** 2


def test_identical_imputations_give_the_single_fit_and_the_complete_data_df():
    got = imputed.rubin(np.full(5, 0.2), np.full(5, 0.1), df_complete=7)
    assert (got["beta"], got["se"], got["between"], got["fmi"], got["ratio"]) == pytest.approx(
        (0.2, 0.1, 0, 0, 1)
    )
    assert got["df"] == pytest.approx(8 / 10 * 7)
    with pytest.raises(ValueError, match="at least 2"):
        imputed.rubin(np.array([0.1]), np.array([0.1]), 7)


def _fits(betas, ses, status="ok") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cohort": "drug", "outcome": "acquisitive_crime", "specification": "main", "method": "logit_crv1",
            "beta": betas, "se": ses, "n": 1000, "events": 100, "n_clusters": 149, "n_treated_clusters": 8,
            "status": status, "imputation": np.arange(1, len(betas) + 1),
        }
    )  # fmt: skip


def test_combined_rows_widen_the_headline_interval_by_the_variance_ratio():
    betas, ses = np.array([-0.2, -0.1, -0.3, -0.2]), np.full(4, 0.1)
    headline = pd.DataFrame(
        {"cohort": ["drug"], "outcome": ["acquisitive_crime"], "method": ["logit_score_wcb"], "status": ["ok"],
         "beta": [-0.25], "ci_low": [math.exp(-0.6)], "ci_high": [math.exp(0.05)]}
    )  # fmt: skip
    rows = imputed.combined_rows(_fits(betas, ses), headline, "logit_score_wcb", 0.95)
    assert list(rows.columns) == imputed.RESULT_COLUMNS and set(rows["specification"]) == {"linkage_mi"}
    pooled = imputed.rubin(betas, ses, 148)
    crv1 = rows[rows["method"] == "logit_crv1"].iloc[0]
    assert crv1["estimate"] == pytest.approx(math.exp(-0.2)) and crv1["se"] == pytest.approx(pooled["se"])
    head = rows[rows["method"] == "logit_score_wcb"].iloc[0]
    k = pooled["ratio"]
    assert k > 1
    assert math.log(head["ci_low"]) == pytest.approx(-0.2 - k * 0.35)
    assert math.log(head["ci_high"]) == pytest.approx(-0.2 + k * 0.30)
    assert np.isnan(head["p_value"]) and "widened by sqrt(T/W)" in head["note"]


def test_a_failed_imputation_leaves_no_pooled_estimate():
    fits = _fits(np.array([-0.2, np.nan, -0.1]), np.array([0.1, np.nan, 0.1]))
    fits.loc[1, "status"] = "not_estimable"
    rows = imputed.combined_rows(
        fits, pd.DataFrame(columns=["cohort", "outcome", "method"]), "logit_score_wcb", 0.95
    )
    assert (rows["status"] == "not_estimable").all() and rows["note"].str.contains("1 of 3 imputed").all()
