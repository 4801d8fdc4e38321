"""Fit stage: the logistic DiD recovers a planted effect and agrees with statsmodels."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from pbr.fit import frame, models
from pbr.fit.spec import FitSpec

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
    res = models.fit_did(simulate(), FitSpec("drug", "y", COVS)).set_index("method")
    row = res.loc["logit_crv1"]
    assert row["ci_low"] < 0.6 < row["ci_high"]
    assert row["estimate"] < 1 and row["p_value"] < 0.05
    assert row["n_clusters"] == 40 and row["n_treated_clusters"] == 8
    assert res.loc["lpm_crv1", "estimate"] < 0


def test_null_effect_is_not_significant_and_ci_covers_one():
    res = models.fit_did(simulate(log_or=0.0, seed=11), FitSpec("drug", "y", COVS)).set_index("method")
    assert res.loc["logit_crv1", "ci_low"] < 1 < res.loc["logit_crv1", "ci_high"]


def test_statsmodels_agrees_with_the_main_engine():
    """Independent cross-check: coefficient to 1e-6, clustered standard error within 1%."""
    df = simulate()
    res = models.fit_did(df, FitSpec("drug", "y", COVS)).set_index("method").loc["logit_crv1"]
    d = frame.model_frame(df, "y", COVS, "quarter")
    glm = smf.glm(
        "y ~ did + C(age_group) + C(sex) + C(area_code) + C(period_fe)", data=d, family=sm.families.Binomial()
    ).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(d["area_code"])[0]})
    assert abs(glm.params["did"] - res["beta"]) < 1e-6
    assert abs(glm.bse["did"] / res["se"] - 1) < 0.01


def test_areas_without_events_are_dropped_and_reported():
    df = simulate()
    df.loc[df["area_code"].isin(["A020", "A021"]), "y"] = 0
    res = models.fit_did(df, FitSpec("drug", "y", COVS)).set_index("method").loc["logit_crv1"]
    assert res["dropped_clusters"] == 2
    assert res["dropped_rows"] == int(df["area_code"].isin(["A020", "A021"]).sum())
    assert "dropped (2 area(s))" in res["note"]
    assert res["n_clusters"] == 38


def test_a_covariate_level_without_outcome_variation_is_dropped_and_counted():
    """Two rows in their own covariate level, both with the outcome: perfectly predicted, so
    dropped (else that level's coefficient runs to infinity), counted, the same in every engine."""
    from pbr.fit import inference

    df = simulate()
    df.loc[:1, "age_group"] = "90+"
    df.loc[:1, "y"] = 1
    main = models.fit_did(df, FitSpec("drug", "y", COVS)).set_index("method")
    few = inference.few_cluster_rows(
        df, FitSpec("drug", "y", COVS), reps=99, ri_reps=99, lpm_ci=False, logit_ci=False
    )
    for res in (main.loc["logit_crv1"], main.loc["lpm_crv1"], few.iloc[0]):
        assert res["dropped_rows"] == 2 and res["dropped_clusters"] == 0
        assert res["n"] == len(df) - 2
        assert "2 rows without outcome variation" in res["note"]
    assert abs(few.set_index("method").loc["logit_score_wcb", "beta"] - main.loc["logit_crv1", "beta"]) < 1e-6


def test_no_events_among_treated_is_reported_not_fitted():
    df = simulate()
    df.loc[df["pilot"], "y"] = 0
    res = models.fit_did(df, FitSpec("drug", "y", COVS))
    assert res["estimate"].isna().all()
    assert res["note"].str.contains("not estimable").all()


@pytest.mark.parametrize("period", ["quarter"])
def test_outside_denominator_rows_are_excluded(period):
    df = simulate()
    df.loc[:99, "y"] = pd.NA
    res = models.fit_did(df, FitSpec("drug", "y", COVS, period_col=period)).set_index("method")
    assert res.loc["lpm_crv1", "n"] == len(df) - 100


@pytest.mark.parametrize("seed", [3, 5])
def test_exact_engine_equals_pyfixest(seed):
    """Both engines, same rows: the same estimate, interval, p-value and n. The LPM agrees to
    rounding; the logit to pyfixest's IRLS tolerance (it stops earlier: its standard errors
    differ from a tightly converged fit by up to 6e-5, relative; see the statsmodels test below).
    A rare covariate level makes the design uneven."""
    df = simulate(seed=seed)
    df.loc[:30, "age_group"] = "90+"
    exact = models.fit_did(df, FitSpec("drug", "y", COVS, engine="exact")).set_index("method")
    pyfixest = models.fit_did(df, FitSpec("drug", "y", COVS, engine="pyfixest")).set_index("method")
    for method, tol_beta, tol_se in (("logit_crv1", 1e-6, 1e-3), ("lpm_crv1", 1e-9, 1e-9)):
        a, b = exact.loc[method], pyfixest.loc[method]
        assert a["n"] == b["n"] and a["n_clusters"] == b["n_clusters"]
        assert abs(a["beta"] / b["beta"] - 1) < tol_beta, (method, a["beta"], b["beta"])
        assert abs(a["se"] / b["se"] - 1) < tol_se, (method, a["se"], b["se"])


@pytest.mark.parametrize("seed", [3, 5])
def test_exact_logit_equals_a_tightly_converged_statsmodels_fit(seed):
    """The exact engine against statsmodels' GLM run to tol 1e-14: coefficient to 1e-9 and the
    cluster-robust variance (before small-sample factors) to 1e-8, relative (measured: 1e-15)."""
    from pbr.fit import design

    df = simulate(seed=seed)
    df.loc[:30, "age_group"] = "90+"
    mf, _, _ = frame.drop_uninformative(frame.model_frame(df, "y", COVS, "quarter"), "y", COVS)
    glm = smf.glm(
        "y ~ did + C(age_group) + C(sex) + C(area_code) + C(period_fe)",
        data=mf,
        family=sm.families.Binomial(),
    ).fit(
        tol=1e-14,
        cov_type="cluster",
        cov_kwds={"groups": pd.factorize(mf["area_code"])[0], "use_correction": False},
    )
    d = design.build_design(mf, "y", COVS)
    fit = design.fit_terms(d, d.did, "logit")
    assert fit.converged and list(fit.kept) == [0]
    assert abs(fit.coef[0] - glm.params["did"]) < 1e-9
    assert abs(fit.vcov[0, 0] / design.crv1_factor(d, 1) / glm.bse["did"] ** 2 - 1) < 1e-8


def test_a_term_collinear_with_the_fixed_effects_is_left_out():
    """A term equal to an area dummy carries nothing beyond W: fit_terms drops it, keeps the rest."""
    from pbr.fit import design

    mf, _, _ = frame.drop_uninformative(frame.model_frame(simulate(), "y", COVS, "quarter"), "y", COVS)
    d = design.build_design(mf, "y", COVS)
    x = np.column_stack([d.did, (mf["area_code"] == "A001").to_numpy(float)])
    for family in ("logit", "linear"):
        fit = design.fit_terms(d, x, family)
        assert list(fit.kept) == [0] and fit.vcov.shape == (1, 1)
        alone = design.fit_terms(d, d.did, family)
        assert abs(fit.coef[0] - alone.coef[0]) < 1e-10


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="engine must be one of"):
        models.fit_did(simulate(), FitSpec("drug", "y", COVS, engine="stata"))
