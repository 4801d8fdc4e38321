"""Mason 2015's random-intercept logit (pbr.fit.mixed) by maximum likelihood (adaptive
Gauss-Hermite quadrature): the quadrature against numerical integration, the gradient against
finite differences, frequency weights against expanded rows, and the fit against statsmodels'
Bayesian mixed logit (variational Bayes), the fixed-effects logit and the plain logit."""

import math

import numpy as np
import pandas as pd
import pytest
from did_simulation import did_frame
from scipy import integrate, sparse

from pbr.fit import mixed, models, robustness
from pbr.fit.frame import model_rows
from pbr.fit.spec import RESULT_COLUMNS, FitSpec
from pbr.registry.methods import may_decide, role_of

COVS = ("age_group", "sex")
SPEC = FitSpec("drug", "y", COVS)
LOG_OR = math.log(0.5)
#: A seed of simulate(area_sd=0) whose area SD estimate is at its bound
NO_AREA_VARIATION_SEED = 1


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


def arrays(df):
    """(y, X, names, area codes) of ``df``'s model frame."""
    mf, _, _ = model_rows(df, SPEC)
    return mixed.design_matrices(mf, SPEC)


def area_dummies(area):
    return sparse.csr_matrix((np.ones(len(area)), (np.arange(len(area)), area))).toarray()


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.fixture(scope="module")
def row(data):
    res = mixed.logit_re(data, SPEC, "mason_2015", "window")
    assert list(res.columns) == RESULT_COLUMNS and len(res) == 1
    return res.iloc[0]


@pytest.fixture(scope="module")
def small():
    """10 areas of about 40 journeys (small areas: the integrands furthest from normal), and a
    theta away from the optimum (the plain logit's coefficients + 0.1, area SD 0.7)."""
    y, x, _, area = arrays(simulate(n=400, n_areas=10, n_pilot=3, seed=5))
    assert len(y) == 400 and area.max() == 9
    theta = np.append(mixed.start_values(y, x, None, 10)[0][:-1] + 0.1, math.log(0.7))
    return y, x, area, theta


def by_integration(y, x, theta):
    """One area's log-likelihood at ``theta`` by scipy.integrate.quad over its intercept."""
    eta, s = x @ theta[:-1], math.exp(theta[-1])

    def log_lik(b):
        return float(np.sum(y * (eta + b) - np.logaddexp(0, eta + b)))

    top = log_lik(0.0)  # any constant near the integrand's peak: no underflow
    value, _ = integrate.quad(
        lambda b: math.exp(log_lik(b) - top - b * b / (2 * s * s)) / math.sqrt(2 * math.pi * s * s),
        -np.inf,
        np.inf,
        epsabs=0,
        epsrel=1e-13,
        limit=200,
    )
    return top + math.log(value)


def test_quadrature_equals_numerical_integration_area_by_area(small):
    # measured: 8e-9 relative at most with 9 nodes; the Laplace approximation (1 node) is 3e-4 off
    y, x, area, theta = small
    exact = [by_integration(y[area == j], x[area == j], theta) for j in range(10)]

    def per_area(nodes):
        return [
            mixed.RandomInterceptLogit(
                y[area == j], x[area == j], np.zeros((area == j).sum(), int), nodes=nodes
            ).loglik(theta, gradient=False)[0]
            for j in range(10)
        ]

    assert per_area(mixed.QUADRATURE_NODES) == pytest.approx(exact, rel=1e-6)
    assert per_area(1) != pytest.approx(exact, rel=1e-6)
    total = mixed.RandomInterceptLogit(y, x, area).loglik(theta, gradient=False)[0]
    assert total == pytest.approx(sum(exact), rel=1e-6)


def test_gradient_matches_central_differences(small):
    # Fisher's identity at the quadrature nodes; measured: 6e-7 of the largest component with 9
    # nodes (the nodes move with theta, which the identity leaves out), 0.3 with 1 node
    y, x, area, theta = small

    def error(nodes):
        model = mixed.RandomInterceptLogit(y, x, area, nodes=nodes)
        grad = model.loglik(theta)[1]
        h = 1e-5
        fd = [
            (model.loglik(theta + h * e, False)[0] - model.loglik(theta - h * e, False)[0]) / (2 * h)
            for e in np.eye(len(theta))
        ]
        return np.max(np.abs(grad - fd)) / np.max(np.abs(grad))

    assert error(mixed.QUADRATURE_NODES) < 1e-5
    assert error(1) > 1e-2


def test_information_is_minus_the_derivative_of_the_gradient(small):
    # Louis' identity against central differences of the gradient, symmetrised, at the optimum
    # and away from it; measured with 9 nodes: 2e-9 of the largest entry at the optimum, 3e-6 at
    # the small areas' theta (the nodes move with theta, which Fisher's and Louis' identities leave
    # out); with 1 node 0.6
    y, x, area, theta = small
    names = ["const", "pilot", "post", "did"] + [f"c{i}" for i in range(x.shape[1] - 4)]
    optimum = mixed.fit_re(y, x, names, area).coef

    def error(nodes, at):
        model = mixed.RandomInterceptLogit(y, x, area, nodes=nodes)
        h, eye = 1e-4, np.eye(len(at))
        fd = np.column_stack(
            [(model.loglik(at + h * e)[1] - model.loglik(at - h * e)[1]) / (2 * h) for e in eye]
        )
        fd = -(fd + fd.T) / 2
        return np.max(np.abs(model.information(at) - fd)) / np.max(np.abs(fd))

    assert error(mixed.QUADRATURE_NODES, optimum) < 1e-7 and error(mixed.QUADRATURE_NODES, theta) < 3e-5
    assert error(1, optimum) > 1e-2


def test_quadrature_nodes_barely_change_the_log_likelihood(data, row):
    # measured at the fit: 5 against 9 nodes 1e-8 relative, 15 against 9 4e-12
    y, x, names, area = arrays(data)
    fit = mixed.fit_re(y, x, names, area)
    assert fit.beta == pytest.approx(row["beta"], abs=1e-12)
    ll = {q: mixed.RandomInterceptLogit(y, x, area, nodes=q).loglik(fit.coef, False)[0] for q in (5, 9, 15)}
    assert ll[9] == pytest.approx(fit.loglik, rel=1e-12)
    assert ll[5] == pytest.approx(ll[9], rel=1e-6) and ll[15] == pytest.approx(ll[9], rel=1e-6)


def test_frequency_weights_equal_expanded_rows(small):
    # measured: log-likelihood identical, gradient 6e-14 relative; the fits 2e-13 apart
    y, x, area, theta = small
    w = np.random.default_rng(0).integers(1, 5, len(y)).astype(float)
    rep = np.repeat(np.arange(len(y)), w.astype(int))
    weighted = mixed.RandomInterceptLogit(y, x, area, w).loglik(theta)
    expanded = mixed.RandomInterceptLogit(y[rep], x[rep], area[rep]).loglik(theta)
    assert weighted[0] == pytest.approx(expanded[0], rel=1e-12)
    assert weighted[1] == pytest.approx(expanded[1], rel=1e-10, abs=1e-10 * np.max(np.abs(expanded[1])))
    names = ["const", "pilot", "post", "did"] + [f"c{i}" for i in range(x.shape[1] - 4)]
    a, b = mixed.fit_re(y, x, names, area, w), mixed.fit_re(y[rep], x[rep], names, area[rep])
    assert a.converged and b.converged
    assert a.beta == pytest.approx(b.beta, abs=1e-8) and a.se == pytest.approx(b.se, abs=1e-8)


def test_recovers_the_planted_odds_ratio_inside_its_interval(row):
    assert row["method"] == "logit_re" and row["scale"] == "odds_ratio" and row["status"] == "ok"
    assert row["specification"] == "mason_2015" and row["n_clusters"] == 40 and row["n_treated_clusters"] == 8
    assert row["ci_low"] < 0.5 < row["ci_high"]
    assert abs(row["beta"] - LOG_OR) < 2 * row["se"]
    assert row["estimate"] == pytest.approx(math.exp(row["beta"]))
    assert row["ci_high"] / row["ci_low"] == pytest.approx(math.exp(2 * 1.959964 * row["se"]), rel=1e-6)
    assert row["p_value"] == pytest.approx(math.erfc(abs(row["beta"] / row["se"]) / math.sqrt(2)), rel=1e-9)
    assert row["note"].startswith("window; random-intercept logit")
    assert "Wald interval (not cluster-robust)" in row["note"] and "SD of the area intercepts" in row["note"]
    assert "lower bound" not in row["note"]


def test_close_to_the_fixed_effects_logit_on_the_same_data(data, row):
    # area effects independent of pilot status: the within-area (FE) and random-intercept DiD
    # target the same OR; measured: log OR RE -0.658 (se 0.137), FE -0.660 (CRV1 SE 0.119)
    fe = models.fit_did(data, SPEC, methods=("logit_crv1",)).iloc[0]
    assert abs(row["beta"] - fe["beta"]) < 0.01
    assert row["se"] == pytest.approx(fe["se"], rel=0.3)


@pytest.fixture(scope="module")
def large():
    """60 areas of about 300 journeys, planted log OR log 0.5 and area SD 0.4: the fit, and the
    arrays."""
    y, x, names, area = arrays(simulate(n=18000, n_areas=60, n_pilot=8, seed=3))
    return mixed.fit_re(y, x, names, area), (y, x, names, area)


def test_against_statsmodels_variational_bayes(large):
    # the library cross-check: statsmodels' BinomialBayesMixedGLM.fit_vb (flat priors against
    # these data: fixed effects SD 10, log area SD 1); measured: DiD log OR ML -0.6007, VB
    # posterior mean -0.6021 (0.0014 apart, 0.015 se); area SD ML 0.457, VB exp(mean log SD) 0.464
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    fit, (y, x, names, area) = large
    z = sparse.csr_matrix((np.ones(len(y)), (np.arange(len(y)), area)))
    vb = BinomialBayesMixedGLM(y, x, z, np.zeros(60, dtype=int), vcp_p=1.0, fe_p=10.0).fit_vb(
        fit_method="L-BFGS-B", scale_fe=True
    )
    assert fit.converged and not fit.at_bound
    assert fit.beta == pytest.approx(vb.fe_mean[names.index("did")], abs=0.005)
    assert fit.area_sd == pytest.approx(math.exp(vb.vcp_mean[0]), abs=0.03)
    assert fit.area_sd == pytest.approx(0.4, abs=0.1)  # planted


def test_close_to_the_logit_with_area_dummies_on_large_areas(large):
    # with 300 journeys an area the area intercepts are nearly known: the DiD and its model-based
    # (not cluster-robust) SE are those of the logit with area dummies (statsmodels GLM);
    # measured: log OR -0.6007 against -0.6027, se 0.09440 against 0.09446
    import statsmodels.api as sm

    fit, (y, x, _, area) = large
    glm = sm.GLM(y, np.hstack([x[:, 2:], area_dummies(area)]), family=sm.families.Binomial()).fit()
    assert fit.beta == pytest.approx(glm.params[1], abs=0.005)  # post, did, covariates, areas
    assert fit.se == pytest.approx(glm.bse[1], rel=0.01)


def test_area_sd_at_its_bound_gives_the_plain_logit():
    # no planted area variation: the maximum sits at the bound, and the fit is the plain logit
    # (statsmodels GLM of y on X); measured: log OR 6e-9 apart, se 2e-7 relative
    import statsmodels.api as sm

    df = simulate(n=3000, n_areas=30, area_sd=0.0, seed=NO_AREA_VARIATION_SEED)
    res = mixed.logit_re(df, SPEC).iloc[0]
    y, x, _, _ = arrays(df)
    glm = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    assert res["status"] == "ok" and "lower bound" in res["note"]
    assert res["beta"] == pytest.approx(glm.params[3], abs=1e-6)
    assert res["se"] == pytest.approx(glm.bse[3], rel=1e-5)


def test_not_estimable_without_pilot_journeys(data):
    no_pilot = data.loc[~data["pilot"].astype(bool)]
    r = mixed.logit_re(no_pilot, FitSpec("drug", "y", COVS)).iloc[0]
    assert r["status"] == "not_estimable" and math.isnan(r["estimate"]) and r["note"]


def test_frequency_weights_give_the_same_row():
    small = simulate(n=1500, n_areas=20, n_pilot=4, seed=7)
    cols = ["area_code", "pilot", "post", "did", "quarter", "age_group", "sex", "y"]
    collapsed = small.groupby(cols, observed=True).size().rename("freq").reset_index()
    assert len(collapsed) < 0.7 * len(small)  # 990 rows
    a, b = mixed.logit_re(small, SPEC).iloc[0], mixed.logit_re(collapsed, SPEC).iloc[0]
    assert a["n"] == b["n"] == 1500
    assert b["beta"] == pytest.approx(a["beta"], abs=1e-8) and b["se"] == pytest.approx(a["se"], abs=1e-8)


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
