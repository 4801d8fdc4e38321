"""Mason 2015's random-intercept logit (pbr.fit.mixed): a planted OR recovered, checked against
the fixed-effects logit and statsmodels' Laplace fit on the same data."""

import math

import numpy as np
import pandas as pd
import pytest
from did_simulation import did_frame

from pbr.fit import mixed, models, robustness
from pbr.fit.frame import model_rows
from pbr.fit.spec import RESULT_COLUMNS, FitSpec
from pbr.registry.methods import may_decide, role_of

COVS = ("age_group", "sex")
LOG_OR = math.log(0.5)


def simulate(n=6000, n_areas=40, n_pilot=8, log_or=LOG_OR, area_sd=0.4, seed=3):
    """Journeys in 8 quarters (post from quarter 4) with normal area intercepts independent of
    pilot status, a post-period shift, two covariates and a planted DiD odds ratio."""
    rng = np.random.default_rng(seed)
    area = rng.integers(0, n_areas, n)
    quarter = rng.integers(0, 8, n)
    pilot, post = area < n_pilot, quarter >= 4
    age = rng.choice(["18-29", "30-39", "40+"], n)
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    lp = (
        -0.5
        + rng.normal(0, area_sd, n_areas)[area]
        + 0.2 * pilot
        + 0.1 * post
        + 0.3 * (age == "40+")
        - 0.2 * (sex == "F")
        + log_or * (pilot & post)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return did_frame(area, quarter, pilot, post, age, sex, y)


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.fixture(scope="module")
def row(data):
    res = mixed.logit_re(data, FitSpec("drug", "y", COVS), "mason_2015", "window")
    assert list(res.columns) == RESULT_COLUMNS and len(res) == 1
    return res.iloc[0]


def test_recovers_the_planted_odds_ratio_inside_its_interval(row):
    assert row["method"] == "logit_re" and row["scale"] == "odds_ratio" and row["status"] == "ok"
    assert row["specification"] == "mason_2015" and row["n_clusters"] == 40 and row["n_treated_clusters"] == 8
    assert row["ci_low"] < 0.5 < row["ci_high"]
    assert abs(row["beta"] - LOG_OR) < 2 * row["se"]
    assert row["estimate"] == pytest.approx(math.exp(row["beta"]))
    assert row["ci_high"] / row["ci_low"] == pytest.approx(math.exp(2 * 1.959964 * row["se"]), rel=1e-6)
    assert row["note"].startswith("window; random-intercept logit")
    assert "credible interval" in row["note"] and "SD of the area intercepts" in row["note"]


def test_close_to_the_fixed_effects_logit_on_the_same_data(data, row):
    # area effects independent of pilot status: the within-area (FE) and random-intercept DiD
    # target the same OR; measured: log OR RE -0.660 (se 0.137), FE -0.660 (CRV1 SE 0.119)
    fe = models.fit_did(data, FitSpec("drug", "y", COVS), methods=("logit_crv1",)).iloc[0]
    assert abs(row["beta"] - fe["beta"]) < 0.05
    assert row["se"] == pytest.approx(fe["se"], rel=0.3)


def test_its_se_is_the_fixed_effects_logits_model_based_se(data, row):
    # the random-intercept SD given the area SD against the model-based (not cluster-robust) SE of
    # the logit with area dummies and post (statsmodels GLM); measured: 0.137 against 0.138
    import statsmodels.api as sm

    spec = FitSpec("drug", "y", COVS)
    mf, _, _ = model_rows(data, spec)
    y, x, _, z = mixed.design_matrices(mf, spec)
    glm = sm.GLM(y, np.hstack([x[:, 2:], z.toarray()]), family=sm.families.Binomial()).fit()
    assert row["beta"] == pytest.approx(glm.params[1], abs=0.02)  # post, did, covariates, areas
    assert row["se"] == pytest.approx(glm.bse[1], rel=0.05)


def test_variational_bayes_against_laplace_and_the_area_sd(data):
    spec = FitSpec("drug", "y", COVS)
    mf, _, _ = model_rows(data, spec)
    y, x, names, z = mixed.design_matrices(mf, spec)
    assert names[:4] == ["const", "pilot", "post", "did"] and z.shape == (len(mf), 40)
    vb = mixed.fit_re(y, x, names, z, "vb")
    laplace = mixed.fit_re(y, x, names, z, "map")
    assert vb.converged and laplace.converged
    # measured: log OR VB -0.660, Laplace -0.653; SD given the area SD 0.137, Laplace 0.137,
    # mean-field VB 0.093 (it treats the DiD term as independent of pilot, post and the intercepts)
    assert abs(vb.beta - laplace.beta) < 0.05
    assert vb.sd == pytest.approx(laplace.sd, rel=0.05)
    assert vb.sd_library < 0.8 * laplace.sd
    assert 0.3 < vb.area_sd < 0.5 and 0.2 < laplace.area_sd < 0.5  # planted 0.4


def test_not_estimable_without_pilot_journeys(data):
    no_pilot = data.loc[~data["pilot"].astype(bool)]
    r = mixed.logit_re(no_pilot, FitSpec("drug", "y", COVS)).iloc[0]
    assert r["status"] == "not_estimable" and math.isnan(r["estimate"]) and r["note"]


def test_frequency_weights_give_the_same_fit(data):
    small = simulate(n=1500, n_areas=20, n_pilot=4, seed=7)
    cols = ["area_code", "pilot", "post", "did", "quarter", "age_group", "sex", "y"]
    collapsed = small.groupby(cols, observed=True).size().rename("freq").reset_index()
    spec = FitSpec("drug", "y", COVS)
    a, b = mixed.logit_re(small, spec).iloc[0], mixed.logit_re(collapsed, spec).iloc[0]
    assert a["n"] == b["n"] == 1500
    assert b["beta"] == pytest.approx(a["beta"], abs=0.02)


def test_reference_only():
    assert role_of("logit_re") == "reference" and not may_decide("logit_re")


def test_mason_2015_adds_the_row_for_mason_outcomes_only():
    df = simulate(n=3000, n_areas=30, seed=11)
    df["start_date"] = pd.Timestamp("2011-04-01") + pd.to_timedelta(df["quarter"] * 91 + 10, unit="D")
    df = df.rename(columns={"y": "successful_completion"})
    for outcome, expected in (("successful_completion", True), ("other", False)):
        frame = (
            df
            if outcome == "successful_completion"
            else df.rename(columns={"successful_completion": outcome})
        )
        res = robustness.mason_2015(frame, FitSpec("drug", outcome, COVS))
        assert ("logit_re" in set(res["method"])) is expected, outcome
        assert (res["specification"] == "mason_2015").all()
    res = robustness.mason_2015(frame, FitSpec("drug", "other", COVS), random_intercept=True)
    assert set(res["method"]) == {"logit_crv1", "lpm_crv1", "logit_re"}
