"""Fit stage: the logistic DiD recovers a planted effect and agrees with statsmodels."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from pbr import models

COVS = ["age_group", "sex"]
LOG_OR = float(np.log(0.6))


def simulate(n=12000, n_areas=40, n_pilot=8, log_or=LOG_OR, seed=3):
    """Journeys with area and quarter effects, two covariates and a planted DiD odds ratio."""
    rng = np.random.default_rng(seed)
    area = rng.integers(0, n_areas, n)
    quarter = rng.integers(0, 8, n)
    pilot = area < n_pilot
    post = quarter >= 4
    age = rng.choice(["18-24", "25-29", "30+"], n)
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    area_eff = rng.normal(0, 0.3, n_areas)[area]
    lp = (
        -0.8 + area_eff + 0.05 * quarter + 0.3 * (age == "30+") - 0.2 * (sex == "F") + log_or * (pilot & post)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return pd.DataFrame(
        {
            "area_code": [f"A{a:03d}" for a in area],
            "pilot": pilot,
            "did": (pilot & post).astype(int),
            "quarter": quarter,
            "age_group": age,
            "sex": sex,
            "y": pd.array(y, dtype="Int64"),
        }
    )


def test_logit_did_recovers_planted_odds_ratio():
    res = models.fit_did(simulate(), "drug", "y", COVS).set_index("method")
    row = res.loc["logit_crv1"]
    assert row["ci_low"] < 0.6 < row["ci_high"]
    assert row["estimate"] < 1 and row["p_value"] < 0.05
    assert row["n_clusters"] == 40 and row["n_treated_clusters"] == 8
    assert res.loc["lpm_crv1", "estimate"] < 0


def test_null_effect_is_not_significant_and_ci_covers_one():
    res = models.fit_did(simulate(log_or=0.0, seed=11), "drug", "y", COVS).set_index("method")
    assert res.loc["logit_crv1", "ci_low"] < 1 < res.loc["logit_crv1", "ci_high"]


def test_statsmodels_agrees_with_pyfixest():
    """Independent cross-check: coefficient to 1e-6, clustered standard error within 1%."""
    df = simulate()
    res = models.fit_did(df, "drug", "y", COVS).set_index("method").loc["logit_crv1"]
    d = models.model_frame(df, "y", COVS, "quarter")
    glm = smf.glm(
        "y ~ did + C(age_group) + C(sex) + C(area_code) + C(period_fe)", data=d, family=sm.families.Binomial()
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(d["area_code"])[0]})
    assert abs(glm.params["did"] - res["beta"]) < 1e-6
    assert abs(glm.bse["did"] / res["se"] - 1) < 0.01


def test_areas_without_events_are_dropped_and_reported():
    df = simulate()
    df.loc[df["area_code"].isin(["A020", "A021"]), "y"] = 0
    res = models.fit_did(df, "drug", "y", COVS).set_index("method").loc["logit_crv1"]
    assert res["dropped_clusters"] == 2
    assert res["dropped_rows"] == int(df["area_code"].isin(["A020", "A021"]).sum())
    assert "dropped (2 area(s))" in res["note"]
    assert res["n_clusters"] == 38


def test_a_covariate_level_without_outcome_variation_is_dropped_and_counted():
    """Two rows in their own covariate level, both with the outcome: perfectly predicted, so
    dropped (else that level's coefficient runs to infinity), counted, the same in every engine."""
    from pbr import inference

    df = simulate()
    df.loc[:1, "age_group"] = "90+"
    df.loc[:1, "y"] = 1
    main = models.fit_did(df, "drug", "y", COVS).set_index("method")
    few = inference.few_cluster_rows(df, "drug", "y", COVS, reps=99, ri_reps=99, lpm_ci=False, logit_ci=False)
    for res in (main.loc["logit_crv1"], main.loc["lpm_crv1"], few.iloc[0]):
        assert res["dropped_rows"] == 2 and res["dropped_clusters"] == 0
        assert res["n"] == len(df) - 2
        assert "2 rows without outcome variation" in res["note"]
    assert abs(few.set_index("method").loc["logit_score_wcb", "beta"] - main.loc["logit_crv1", "beta"]) < 1e-6


def test_no_events_among_treated_is_reported_not_fitted():
    df = simulate()
    df.loc[df["pilot"], "y"] = 0
    res = models.fit_did(df, "drug", "y", COVS)
    assert res["estimate"].isna().all()
    assert res["note"].str.contains("not estimable").all()


@pytest.mark.parametrize("period", ["quarter"])
def test_outside_denominator_rows_are_excluded(period):
    df = simulate()
    df.loc[:99, "y"] = pd.NA
    res = models.fit_did(df, "drug", "y", COVS, period_col=period).set_index("method")
    assert res.loc["lpm_crv1", "n"] == len(df) - 100
