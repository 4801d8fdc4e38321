"""Joint restricted wild cluster bootstraps (pbr.fit.joint) against brute-force recomputations."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from pbr.fit import joint, wild_bootstrap
from pbr.fit.design import build_design
from pbr.fit.draws import area_webb_weights
from pbr.fit.frame import model_rows
from pbr.fit.spec import FitSpec

COVS = ["age_group", "sex"]


def simulate(n=2500, n_areas=30, n_pilot=6, seed=2):
    """Journeys over 16 quarters (post from quarter 8) in areas of unequal size, two covariates."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 0.6, n_areas)
    area = rng.choice(n_areas, n, p=size / size.sum())
    quarter = rng.integers(0, 16, n)
    pilot = area < n_pilot
    age = rng.choice(["a", "b", "c"], n)
    sex = rng.choice(["F", "M"], n)
    lp = -0.6 + rng.normal(0, 0.4, n_areas)[area] + 0.03 * quarter + 0.3 * (age == "c")
    lp = lp + rng.normal(0, 0.15, (n_areas, 8))[area, quarter // 2]
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return pd.DataFrame(
        {
            "area_code": [f"E{a:03d}" for a in area],
            "pilot": pd.array(pilot, dtype="boolean"),
            "post": (quarter >= 8).astype("int64"),
            "did": (pilot & (quarter >= 8)).astype("int64"),
            "quarter": quarter,
            "half_year": quarter // 2,
            "age_group": age,
            "sex": sex,
            "y": pd.array(y, dtype="Int64"),
        }
    )


@pytest.fixture(scope="module")
def problem():
    """(design, P = post-period pilot x half-year terms, X = pre-period ones but the reference 3)."""
    mf, _, _ = model_rows(simulate(), FitSpec("drug", "y", COVS), ["half_year"])
    design = build_design(mf, "y", COVS)
    pilot = mf["pilot"].astype(bool).to_numpy()
    hy = mf["half_year"].to_numpy()
    p = np.column_stack([(pilot & (hy == b)).astype(float) for b in (4, 5, 6, 7)])
    x = np.column_stack([(pilot & (hy == b)).astype(float) for b in (0, 1, 2)])
    return design, p, x


def _dense(design, p):
    return np.hstack([design.W.toarray(), p])


def _cluster_quadratic(design, xt, e):
    """S'(sum_g s_g s_g')^-1 S with s_g = X~_g' e_g, by a loop over areas."""
    s = np.array([xt[design.area == g].T @ e[design.area == g] for g in range(design.n_areas)])
    tot = s.sum(axis=0)
    return float(tot @ np.linalg.solve(s.T @ s, tot))


def test_logit_draw_matches_brute_force(problem):
    design, p, x = problem
    parts = joint.logit_joint_parts(design, p, x)
    n_mat = _dense(design, p)
    fit = sm.GLM(design.y, n_mat, family=sm.families.Binomial()).fit(tol=1e-13)
    mu = fit.fittedvalues
    w, e = mu * (1 - mu), design.y - mu
    h = n_mat.T @ (w[:, None] * n_mat)
    xt = x - n_mat @ np.linalg.solve(h, n_mat.T @ (w[:, None] * x))
    v = area_webb_weights(design.area_codes, 3, seed=7)
    t_obs, t_star = joint.joint_stats(parts, v)
    assert t_obs == pytest.approx(_cluster_quadratic(design, xt, e), rel=1e-8)
    for b in range(3):
        e_star = v[design.area, b] * e
        e_star = e_star - w * (
            n_mat @ np.linalg.solve(h, n_mat.T @ e_star)
        )  # one Newton step of the nuisance
        assert t_star[b] == pytest.approx(_cluster_quadratic(design, xt, e_star), rel=1e-8)


def test_lpm_draw_matches_a_refit(problem):
    design, p, x = problem
    parts = joint.lpm_joint_parts(design, p, x)
    n_mat = _dense(design, p)
    restricted = sm.OLS(design.y, n_mat).fit()
    full_x = np.hstack([n_mat, x])
    bread = np.linalg.inv(full_x.T @ full_x)
    q = x.shape[1]
    v = area_webb_weights(design.area_codes, 3, seed=8)

    def crv1_wald(y):  # refit of the full model, CRV1 Wald / q by hand (no small-sample factor)
        coef = bread @ (full_x.T @ y)
        e = y - full_x @ coef
        meat = sum(
            np.outer(
                full_x[design.area == g].T @ e[design.area == g],
                full_x[design.area == g].T @ e[design.area == g],
            )
            for g in range(design.n_areas)
        )
        vcov = (bread @ meat @ bread)[-q:, -q:]
        return float(coef[-q:] @ np.linalg.solve(vcov, coef[-q:])) / q

    t_obs, t_star = joint.joint_stats(parts, v)
    assert t_obs * parts.factor == pytest.approx(crv1_wald(design.y), rel=1e-8)
    for b in range(3):
        y_star = restricted.fittedvalues + v[design.area, b] * restricted.resid
        assert t_star[b] == pytest.approx(crv1_wald(y_star), rel=1e-8)


def test_one_term_logit_is_the_squared_score_statistic(problem):
    design, _, _ = problem
    v = area_webb_weights(design.area_codes, 499, seed=3)
    parts = joint.logit_joint_parts(design, np.zeros((design.n, 0)), design.did)
    t_obs, t_star = joint.joint_stats(parts, v)
    t1, t1_star = wild_bootstrap.score_tstats(wild_bootstrap.logit_parts(design, 0.0), v)
    assert t_obs == pytest.approx(t1**2, rel=1e-8)
    np.testing.assert_allclose(t_star, t1_star**2, rtol=1e-8)
    assert joint.joint_pvalue(parts, v)[1] == pytest.approx(
        wild_bootstrap.score_pvalue(wild_bootstrap.logit_parts(design, 0.0), v)
    )


def test_null_pvalues_are_not_degenerate(problem):
    design, p, x = problem
    v = area_webb_weights(design.area_codes, 999, seed=1)
    for parts in (joint.logit_joint_parts(design, p, x), joint.lpm_joint_parts(design, p, x)):
        stat, pval = joint.joint_pvalue(parts, v)
        assert np.isfinite(stat) and stat > 0
        assert 0.0 < pval <= 1.0


@pytest.fixture(scope="module")
def pre_period():
    """(design of the pre-period journeys, their half-year bins, the tested bins 0-2, 5 assignments)."""
    df = simulate(n=3000, seed=5)
    mf, _, _ = model_rows(df[df["post"] == 0], FitSpec("drug", "y", COVS), ["half_year"])
    design = build_design(mf, "y", COVS)
    rng = np.random.default_rng(3)
    assign = np.zeros((5, design.n_areas))
    assign[0, design.treated] = 1
    for r in range(1, 5):
        assign[r, rng.choice(design.n_areas, int(design.treated.sum()), replace=False)] = 1
    return design, mf["half_year"].to_numpy(), [0, 1, 2], assign


@pytest.mark.parametrize("family", ["logit", "linear"])
def test_ri_joint_statistic_matches_brute_force(pre_period, family):
    """Each assignment's statistic is the cluster-robust score statistic of its own pilot x bin
    columns, computed densely (statsmodels fit of the model without them, then a dense partialling
    out), and for the logit also the joint bootstrap's observed statistic on those columns."""
    design, bins, tested, assign = pre_period
    got = joint.ri_joint_stats(design, bins, tested, assign, family)
    w_mat = design.W.toarray()
    if family == "logit":
        mu = sm.GLM(design.y, w_mat, family=sm.families.Binomial()).fit(tol=1e-13).fittedvalues
        w = mu * (1 - mu)
    else:
        mu, w = sm.OLS(design.y, w_mat).fit().fittedvalues, np.ones(design.n)
    e = design.y - mu
    for r in range(len(assign)):
        pilot = assign[r][design.area] > 0
        x = np.column_stack([(pilot & (bins == b)).astype(float) for b in tested])
        xt = x - w_mat @ np.linalg.solve(w_mat.T @ (w[:, None] * w_mat), w_mat.T @ (w[:, None] * x))
        assert got[r] == pytest.approx(_cluster_quadratic(design, xt, e), rel=1e-7)
        if family == "logit":
            parts = joint.logit_joint_parts(design, np.zeros((design.n, 0)), x)
            assert got[r] == pytest.approx(
                joint.joint_stats(parts, np.ones((design.n_areas, 1)))[0], rel=1e-7
            )
