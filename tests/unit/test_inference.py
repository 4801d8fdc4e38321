"""Few-cluster inference: wild cluster bootstraps and randomisation inference over areas."""

import math
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
import scipy.sparse as sp
from did_simulation import did_frame
from scipy import stats

from pbr.fit import draws, inference, models, randomisation, spec, wild_bootstrap
from pbr.fit.design import build_design, fit_logit
from pbr.fit.frame import model_rows
from pbr.fit.spec import FitSpec

COVS = ["age_group", "sex"]
FML = "y ~ did + C(age_group) + C(sex) | area_code + period_fe"


def simulate(n=3000, n_areas=40, n_pilot=8, log_or=0.0, seed=1, shock_sd=0.1, size_sd=0.6):
    """Journeys by area x quarter (16 quarters from Apr 2010, post from quarter 8), unequal
    area sizes, area x half-year shocks, two covariates and a planted DiD odds ratio."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, size_sd, n_areas)
    area = rng.choice(n_areas, n, p=size / size.sum())
    quarter = rng.integers(0, 16, n)
    pilot = area < n_pilot
    post = quarter >= 8
    age = rng.choice(["18-29", "30-39", "40+"], n)
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    shocks = rng.normal(0, shock_sd, (n_areas, 8))[area, quarter // 2]
    lp = (
        -0.8
        + rng.normal(0, 0.4, n_areas)[area]
        + 0.03 * quarter
        + 0.3 * (age == "40+")
        - 0.2 * (sex == "F")
        + shocks
        + log_or * (pilot & post)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    return did_frame(area, quarter, pilot, post, age, sex, y, half_year=quarter // 2)


@pytest.fixture(scope="module")
def effect_rows():
    df = simulate(n=6000, log_or=np.log(0.35), seed=3)
    return inference.few_cluster_rows(
        df, FitSpec("drug", "y", COVS), reps=1999, seed=7, ri_reps=999
    ).set_index("method")


@pytest.fixture(scope="module")
def null_rows():
    df = simulate(n=4000, log_or=0.0, seed=4)
    return inference.few_cluster_rows(
        df, FitSpec("drug", "y", COVS), reps=1999, seed=7, ri_reps=999
    ).set_index("method")


@pytest.fixture(scope="module")
def design():
    df = simulate(n=3000, log_or=np.log(0.6), seed=3)
    mf, _, _ = model_rows(df, FitSpec("drug", "y", COVS))
    return mf, build_design(mf, "y", COVS)


def _refit_frame(mf, d, assign_row):
    out = mf.copy()
    chosen = d.area_codes[assign_row > 0]
    out["did"] = (out["area_code"].isin(chosen) & (out["post"] > 0)).astype("int64")
    return out


def test_all_methods_reject_a_large_planted_effect(effect_rows):
    assert (effect_rows["p_value"] < 0.05).all(), effect_rows["p_value"]
    assert effect_rows.loc["lpm_ri", "estimate"] < 0
    assert effect_rows.loc["logit_ri", "estimate"] < 1
    for m in ("lpm_wcb_webb", "lpm_ri", "lpm_ri_t"):
        assert effect_rows.loc[m, "ci_high"] < 0
    assert effect_rows.loc["logit_score_wcb", "ci_high"] < 1


def test_no_method_rejects_a_null(null_rows):
    assert (null_rows["p_value"] > 0.05).all(), null_rows["p_value"]
    for m in ("lpm_wcb_webb", "lpm_ri", "lpm_ri_t"):
        assert null_rows.loc[m, "ci_low"] < 0 < null_rows.loc[m, "ci_high"]
    assert null_rows.loc["logit_score_wcb", "ci_low"] < 1 < null_rows.loc["logit_score_wcb", "ci_high"]


def test_rows_follow_the_result_format_and_match_the_main_fit(effect_rows):
    df = simulate(n=6000, log_or=np.log(0.35), seed=3)
    main = models.fit_did(df, FitSpec("drug", "y", COVS)).set_index("method")
    assert sorted(effect_rows.reset_index().columns) == sorted(spec.RESULT_COLUMNS)
    # point estimates are those of the underlying models (own IRLS logit vs pyfixest feglm)
    assert abs(effect_rows.loc["logit_score_wcb", "beta"] - main.loc["logit_crv1", "beta"]) < 1e-6
    assert abs(effect_rows.loc["lpm_wcb_webb", "beta"] - main.loc["lpm_crv1", "beta"]) < 1e-8
    assert (effect_rows["n"] == main.loc["logit_crv1", "n"]).all()
    assert (effect_rows["n_treated_clusters"] == 8).all()
    assert effect_rows.loc[["logit_ri", "logit_ri_t"], "ci_low"].isna().all()
    assert effect_rows.loc["lpm_wcb_webb", "note"].startswith("WCR (null imposed), Webb weights, 1999 reps")


def test_intervals_agree_with_p_values(effect_rows, null_rows):
    """Test inversion: 0 (or OR 1) lies outside the CI exactly when p <= alpha."""
    for rows in (effect_rows, null_rows):
        pairs = [
            (m, 0) for m in ("lpm_wcb_webb", "lpm_ri", "lpm_ri_t", "lpm_ri_t_size", "logit_att_score_wcb")
        ]
        for m, null in [*pairs, ("logit_score_wcb", 1)]:
            inside = rows.loc[m, "ci_low"] < null < rows.loc[m, "ci_high"]
            assert inside == (rows.loc[m, "p_value"] > 0.05), m


def test_ri_p_values_are_deterministic_given_a_seed():
    df = simulate(n=2000, log_or=np.log(0.7), seed=9)
    kw = {"reps": 199, "ri_reps": 999, "lpm_ci": False, "logit_ci": False}
    a = inference.few_cluster_rows(df, FitSpec("drug", "y", COVS), seed=11, **kw)
    b = inference.few_cluster_rows(df, FitSpec("drug", "y", COVS), seed=11, **kw)
    c = inference.few_cluster_rows(df, FitSpec("drug", "y", COVS), seed=12, **kw)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["p_value"], c["p_value"])


def test_fast_lpm_ri_statistic_equals_a_full_refit(design):
    mf, d = design
    parts = wild_bootstrap.lpm_parts(d)
    assign = draws.area_assignments(d.area_codes, d.treated, 4, seed=5)
    for delta in (0.0, 0.07):
        fast, _ = randomisation.ri_lpm_stats(parts, assign, delta)
        for r in range(len(assign)):
            refit = _refit_frame(mf, d, assign[r])
            refit["y"] = mf["y"] - delta * mf["did"]  # the sharp null's shifted outcome
            beta = pf.feols(FML, data=refit).coef()["did"]
            assert abs(beta - fast[r]) < 1e-8


def test_observed_assignment_reproduces_the_estimate(design):
    mf, d = design
    parts = wild_bootstrap.lpm_parts(d)
    beta, _ = randomisation.ri_lpm_stats(parts, d.treated.astype(float)[None, :])
    fit = pf.feols(FML, data=mf, vcov={"CRV1": "area_code"})
    assert abs(beta[0] - fit.coef()["did"]) < 1e-10
    assert abs(parts.beta - fit.coef()["did"]) < 1e-10
    # unscaled CRV1 times pyfixest's small-sample factor = pyfixest's CRV1 SE (K counts the
    # period FE levels, which are not nested in the area clusters)
    g, n, k = d.n_areas, d.n, fit._k + mf["period_fe"].nunique()
    assert abs(parts.se_crv1_unscaled * np.sqrt(g / (g - 1) * (n - 1) / (n - k)) / fit.se()["did"] - 1) < 1e-6


def test_logit_score_statistic_ranks_like_full_refits(design):
    mf, d = design
    parts = wild_bootstrap.logit_parts(d, 0.0, with_ri=True)
    assign = np.vstack([d.treated.astype(float), draws.area_assignments(d.area_codes, d.treated, 7, seed=7)])
    one_step, score_t = randomisation.ri_logit_stats(parts, assign)
    refits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for row in assign:
            fit = pf.feglm(FML, data=_refit_frame(mf, d, row), family="logit", vcov={"CRV1": "area_code"})
            refits.append((fit.coef()["did"], fit.tstat()["did"]))
    beta, tstat = np.array(refits).T
    assert (np.sign(one_step) == np.sign(beta)).all()
    assert (np.sign(score_t) == np.sign(tstat)).all()
    assert stats.spearmanr(np.abs(one_step), np.abs(beta)).statistic > 0.95
    assert stats.spearmanr(np.abs(score_t), np.abs(tstat)).statistic > 0.9
    assert np.max(np.abs(one_step - beta)) < 0.02


def test_wcr_bootstrap_draw_equals_an_explicit_refit(design):
    """One WCR draw by the fast algebra = restricted fit, wild residuals, full CRV1 refit."""
    mf, d = design
    parts = wild_bootstrap.lpm_parts(d)
    v = draws.area_webb_weights(d.area_codes, 2, seed=1)
    dummies = "y_r ~ C(age_group) + C(sex) + C(area_code) + C(period_fe)"
    for delta in (0.0, -0.05):
        t_obs, t_star = wild_bootstrap.wcr_tstats(parts, v, delta)
        data = mf.assign(y_r=mf["y"] - delta * mf["did"])
        restricted = pf.feols(dummies, data=data)
        fitted = restricted.predict()
        resid = data["y_r"].to_numpy() - fitted
        full = pf.feols(FML, data=mf, vcov={"CRV1": "area_code"})
        t_full = (full.coef()["did"] - delta) / full.se()["did"]
        for b in range(v.shape[1]):
            data["y"] = fitted + delta * data["did"] + v[d.area, b] * resid
            boot = pf.feols(FML, data=data, vcov={"CRV1": "area_code"})
            t_boot = (boot.coef()["did"] - delta) / boot.se()["did"]
            # both sides omit / include the same small-sample factor
            assert abs(t_star[b] / t_obs - t_boot / t_full) < 1e-8


def _direct_wcr_tstats(parts, v, delta):
    """The WCR statistic by its direct G x B form (the algebra WcrDraws reduces)."""
    s = parts.s_y - delta * parts.s_x
    a = parts.a_y - delta * parts.a_x
    num = s @ v
    q = s[:, None] * v - a @ v - parts.s_x[:, None] * (num / parts.s_x.sum())[None, :]
    return (parts.beta - delta) / parts.se_crv1_unscaled, num / np.sqrt(np.sum(q**2, axis=0))


def test_wcr_reduced_form_equals_the_direct_form_at_every_delta(design):
    """WcrDraws's O(B) quadratic form in delta gives the direct G x B statistic, near and far from
    the estimate, and so the same p-values."""
    _, d = design
    parts = wild_bootstrap.lpm_parts(d)
    v = draws.area_webb_weights(d.area_codes, 999, seed=3)
    wcr = wild_bootstrap.WcrDraws.of(parts, v)
    for delta in (parts.beta, 0.0, parts.beta + 0.01, parts.beta - 0.2, 1.5, -3.0):
        t_obs, t_star = wcr.tstats(delta)
        t_obs_direct, t_star_direct = _direct_wcr_tstats(parts, v, delta)
        assert t_obs == t_obs_direct
        np.testing.assert_allclose(t_star, t_star_direct, rtol=1e-9, atol=1e-12)
        direct_p = float(np.mean(wild_bootstrap.at_least_as_extreme(t_star_direct, t_obs_direct)))
        assert wcr.pvalue(delta) == pytest.approx(direct_p, abs=2 / 999)


def test_logit_fit_matches_pyfixest(design):
    mf, d = design
    coef, _, _ = fit_logit(sp.hstack([d.W, sp.csr_matrix(d.did[:, None])], format="csr"), d.y)
    fit = pf.feglm(FML, data=mf, family="logit", vcov={"CRV1": "area_code"})
    assert abs(coef[-1] - fit.coef()["did"]) < 1e-8


def test_score_bootstrap_is_centred_at_the_restricted_fit(design):
    """At delta = the logit MLE the efficient score is ~0; far from it, the test rejects."""
    _, d = design
    coef, _, _ = fit_logit(sp.hstack([d.W, sp.csr_matrix(d.did[:, None])], format="csr"), d.y)
    v = draws.area_webb_weights(d.area_codes, 999, seed=3)
    at_mle = wild_bootstrap.logit_parts(d, float(coef[-1]))
    assert abs(at_mle.s.sum()) < 1e-6
    assert wild_bootstrap.score_pvalue(at_mle, v) > 0.99
    assert wild_bootstrap.score_pvalue(wild_bootstrap.logit_parts(d, float(coef[-1]) + 2.0), v) < 0.05


def test_webb_weights_and_assignments():
    codes = np.array([f"E{a:03d}" for a in range(149)])
    v = draws.area_webb_weights(codes[:10], 60000, seed=0)
    assert set(np.round(np.unique(v) ** 2, 12)) == {0.5, 1.0, 1.5}
    assert abs(v.mean()) < 0.01 and abs((v**2).mean() - 1) < 0.01
    a = draws.area_assignments(codes, np.arange(149) < 8, 500, seed=0)
    assert (a.sum(axis=1) == 8).all()
    assert a.mean(axis=0).min() > 0.01  # every area gets treated sometimes


def test_draws_of_an_area_do_not_change_when_another_area_is_dropped():
    """Webb weights are keyed by area code; a re-assignment that did not pick the dropped area
    is the same without it. The rows use exactly these draws (the WCR p recomputed from them)."""
    df = simulate(n=3000, seed=5)
    full = build_design(model_rows(df, FitSpec("drug", "y", COVS))[0], "y", COVS)
    df.loc[df["area_code"] == "E030", "y"] = 0  # E030 has no outcome variation: dropped
    mf, _, _ = model_rows(df, FitSpec("drug", "y", COVS))
    less = build_design(mf, "y", COVS)
    keep = np.isin(full.area_codes, less.area_codes)
    assert keep.sum() == len(full.area_codes) - 1 == len(less.area_codes)
    np.testing.assert_array_equal(
        draws.area_webb_weights(full.area_codes, 50, 3)[keep], draws.area_webb_weights(less.area_codes, 50, 3)
    )
    a_full = draws.area_assignments(full.area_codes, full.treated, 300, 3)
    a_less = draws.area_assignments(less.area_codes, less.treated, 300, 3)
    untouched = a_full[:, ~keep][:, 0] == 0
    assert 0 < untouched.sum() < 300
    np.testing.assert_array_equal(a_full[untouched][:, keep], a_less[untouched])
    rows = inference.few_cluster_rows(
        df, FitSpec("drug", "y", COVS), reps=99, seed=3, lpm_ci=False, methods=("lpm_wcb_webb",)
    )
    p = wild_bootstrap.wcr_pvalue(
        wild_bootstrap.lpm_parts(less), draws.area_webb_weights(less.area_codes, 99, 3)
    )
    assert rows["p_value"].iloc[0] == p


def test_size_strata_ri_keeps_each_stratums_treated_count(design):
    _, d = design
    sizes = np.bincount(d.area, minlength=d.n_areas)
    strata = draws.size_strata(sizes, d.treated)
    assign = draws.area_assignments(d.area_codes, d.treated, 400, 9, strata=strata)
    for s in np.unique(strata):
        members = strata == s
        assert d.treated[members].sum() == 1  # one pilot per stratum
        assert (assign[:, members].sum(axis=1) == d.treated[members].sum()).all()
    # each stratum's sizes are a contiguous run of the sorted sizes (areas of similar size)
    order = np.argsort(sizes, kind="stable")
    assert (np.diff(strata[order]) >= 0).all()


def test_dropped_areas_are_excluded_from_reassignment():
    df = simulate(n=3000, seed=5)
    df.loc[df["area_code"].isin(["E030", "E031"]), "y"] = 0
    rows = inference.few_cluster_rows(
        df, FitSpec("drug", "y", COVS), reps=199, ri_reps=199, lpm_ci=False, logit_ci=False
    )
    assert (rows["n_clusters"] == 38).all() and (rows["dropped_clusters"] == 2).all()
    assert rows.loc[rows["method"] == "lpm_ri", "note"].str.contains("over 38 areas, 8 treated").all()


def test_not_estimable_without_treated_events():
    df = simulate(n=2000, seed=6)
    df.loc[df["pilot"].astype(bool), "y"] = 0
    rows = inference.few_cluster_rows(df, FitSpec("drug", "y", COVS), reps=99, ri_reps=99)
    assert rows["p_value"].isna().all() and rows["note"].str.contains("not estimable").all()


def test_singular_weighted_gram_falls_back_to_least_squares():
    """Vanishing IRLS weights (fitted probabilities at 0 or 1) make the Gram matrix singular."""
    from pbr.fit.design import _solve_psd

    gram = np.array([[1.0, 1.0], [1.0, 1.0]])
    x = _solve_psd(gram, np.array([2.0, 2.0]))
    np.testing.assert_allclose(gram @ x, [2.0, 2.0])
    np.testing.assert_allclose(x, [1.0, 1.0])  # the minimum-norm solution


def test_extreme_log_odds_interval_end_is_infinite_not_an_error():
    """A rare outcome's inverted interval can end at a huge log odds (scale 0.1 deaths crashed)."""
    row = spec.estimate_row({}, "logit_score_wcb", 0.0, -np.inf, 1000.0, 0.5, status="ok", note="")
    assert (row["estimate"], row["ci_low"], row["ci_high"]) == (1.0, 0.0, float("inf"))
    row = spec.estimate_row({}, "lpm_ri", 0.1, -np.inf, np.inf, 0.5, status="ok", note="")
    assert (row["ci_low"], row["ci_high"], row["scale"]) == (-np.inf, np.inf, "risk_difference")


def test_gram_and_cross_tabulations_equal_sparse_products(design):
    """The Gram matrix from the factors' cross-tabulations is W' diag(w) W exactly."""
    _, d = design
    w = np.random.default_rng(5).random(d.n)
    sparse_gram = (d.WT @ sp.diags(w) @ d.W).toarray()
    np.testing.assert_allclose(d.gram(w), sparse_gram, rtol=1e-12, atol=1e-9)
    by_area = sp.csr_matrix((w, (np.arange(d.n), d.area)), shape=(d.n, d.n_areas))
    np.testing.assert_allclose(d.wt_by_area(w), (d.WT @ by_area).toarray(), rtol=1e-12, atol=1e-9)
    full = d.gram_with(w, d.did)
    X = sp.hstack([d.W, sp.csr_matrix(d.did[:, None])], format="csr")
    np.testing.assert_allclose(full, (X.T @ sp.diags(w) @ X).toarray(), rtol=1e-12, atol=1e-9)


def test_gram_counts_covariate_blocks_over_cells_and_works_without_covariates():
    """The covariates' blocks are counted over the distinct covariate cells (fewer than the rows),
    the plan is built once and reused for other weights; without covariates no cells are needed."""
    df = simulate(n=2000, seed=4)
    for covs in (COVS, []):
        mf, _, _ = model_rows(df, FitSpec("drug", "y", covs))
        d = build_design(mf, "y", covs)
        for seed in (1, 2):
            w = np.random.default_rng(seed).random(d.n)
            np.testing.assert_allclose(d.gram(w), (d.WT @ sp.diags(w) @ d.W).toarray(), rtol=1e-12, atol=1e-9)
        assert d._plan is not None and (0 < d._plan.n_cells < d.n if covs else d._plan.n_cells == 0)


def test_gram_keeps_only_independent_columns():
    """A covariate that repeats another (collinear dummies) is dropped from W and from the Gram."""
    df = simulate(n=1500, seed=2)
    df["sex_copy"] = df["sex"]
    mf, _, _ = model_rows(df, FitSpec("drug", "y", [*COVS, "sex_copy"]))
    d = build_design(mf, "y", [*COVS, "sex_copy"])
    assert d.W.shape[1] == len(d.columns)
    w = np.random.default_rng(1).random(d.n)
    np.testing.assert_allclose(d.gram(w), (d.WT @ sp.diags(w) @ d.W).toarray(), rtol=1e-12, atol=1e-9)
    assert np.linalg.matrix_rank(d.gram(np.ones(d.n))) == d.W.shape[1]


def test_test_inversion_finds_the_crossings_in_few_evaluations():
    """Smooth p: both ends within the tolerance of the exact crossing, in far fewer calls than
    bisection; step p (a bootstrap's): each end is within the tolerance of a step point."""
    calls = []

    def p_smooth(delta):
        calls.append(delta)
        return float(2 * stats.norm.sf(abs(delta - 1.0) / 0.5))

    lo, hi = inference.invert_test(p_smooth, 1.0, 0.5, 0.05, rel_tol=1e-4)
    half = 0.5 * stats.norm.isf(0.025)
    assert abs(lo - (1.0 - half)) <= 0.5e-4 and abs(hi - (1.0 + half)) <= 0.5e-4
    assert len(calls) <= 16, len(calls)  # bisection to the same tolerance takes about 30

    draws = np.random.default_rng(3).normal(size=999)

    def p_step(delta):
        return float(np.mean(np.abs(draws) >= abs(delta - 1.0) / 0.5))

    lo, hi = inference.invert_test(p_step, 1.0, 0.5, 0.05, rel_tol=1e-4)
    for end, side in ((lo, -1), (hi, 1)):
        assert p_step(end - side * 0.5e-4) > 0.05 >= p_step(end + side * 0.5e-4)


def test_ill_conditioned_weighted_gram_is_solved_without_a_warning():
    """Near-zero IRLS weights: least squares, and no LinAlgWarning per step in the rule's log."""
    from pbr.fit.design import _solve_psd

    gram = np.diag([1.0, 1e-17])  # positive definite, reciprocal condition below machine epsilon
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x = _solve_psd(gram, np.array([2.0, 0.0]))
    np.testing.assert_allclose(x, [2.0, 0.0])


def test_att_equals_a_statsmodels_glm_with_and_without_the_did_term():
    """The ATT (and its interval ends) recomputed with statsmodels: the unrestricted GLM predicted
    on the pilot post-period journeys with and without the DiD term; the restricted GLM (offset
    delta * did) at the ends of the OR interval."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    df = simulate(n=2500, n_areas=14, n_pilot=4, log_or=np.log(0.6), seed=8)
    fs = FitSpec("drug", "y", COVS)
    rows = inference.few_cluster_rows(
        df, fs, reps=199, seed=2, methods=("logit_score_wcb", "logit_att_score_wcb")
    ).set_index("method")
    mf, _, _ = model_rows(df, fs)
    mf = mf.assign(y=mf["y"].astype(float), did=mf["did"].astype(float))
    rhs = "C(age_group) + C(sex) + C(area_code) + C(period_fe)"
    glm = smf.glm(f"y ~ did + {rhs}", data=mf, family=sm.families.Binomial()).fit(tol=1e-12)
    on = mf[mf["did"] > 0]
    att = float(np.mean(glm.predict(on) - glm.predict(on.assign(did=0.0))))
    att_row = rows.loc["logit_att_score_wcb"]
    assert att_row["scale"] == "risk_difference" and att_row["estimate"] == att_row["beta"]
    assert abs(att_row["estimate"] - att) < 1e-7
    assert abs(np.log(rows.loc["logit_score_wcb", "estimate"]) - glm.params["did"]) < 1e-6
    ends = []
    for odds in rows.loc["logit_score_wcb", ["ci_low", "ci_high"]]:
        delta = float(np.log(odds))
        restricted = smf.glm(
            f"y ~ {rhs}", data=mf, family=sm.families.Binomial(), offset=delta * mf["did"]
        ).fit(tol=1e-12)
        p = restricted.fittedvalues[mf["did"] > 0]
        ends.append(float(np.mean(p - 1 / (1 + np.exp(-(np.log(p / (1 - p)) - delta))))))
    np.testing.assert_allclose(att_row[["ci_low", "ci_high"]].astype(float), ends, atol=1e-7)
    assert att_row["ci_low"] < att_row["estimate"] < att_row["ci_high"]
    assert att_row["p_value"] == rows.loc["logit_score_wcb", "p_value"]
    assert att_row["note"].startswith("ATT on the probability scale")


def test_att_of_an_unbounded_or_interval_ends_at_the_bound_with_the_ors_caveat():
    """A rare outcome's OR interval runs to 0 or infinity: the ATT end is -1 or 1, and the ATT
    row keeps the OR row's caveat (the data say next to nothing), not a clean 'ok'."""
    df = simulate(n=1500, n_areas=12, n_pilot=3, seed=4)
    df["y"] = (df["y"].astype(int) * (np.random.default_rng(1).random(len(df)) < 0.06)).astype("Int64")
    rows = inference.few_cluster_rows(
        df, FitSpec("drug", "y", COVS), reps=199, seed=1, methods=("logit_score_wcb", "logit_att_score_wcb")
    ).set_index("method")
    odds, att = rows.loc["logit_score_wcb"], rows.loc["logit_att_score_wcb"]
    assert odds["ci_low"] == 0 or np.isinf(odds["ci_high"]), odds[["ci_low", "ci_high"]]
    assert att["ci_low"] == -1 or att["ci_high"] == 1
    assert odds["status"] == att["status"] == "caveat"
    assert "interval beyond odds ratios" in att["note"]


def test_raw_coefficient_ri_is_labelled_and_size_strata_are_counted():
    df = simulate(n=1500, n_areas=6, n_pilot=2, seed=3)
    rows = inference.few_cluster_rows(
        df, FitSpec("drug", "y", COVS), reps=99, ri_reps=99, lpm_ci=False, logit_ci=False
    ).set_index("method")
    for m in ("lpm_ri", "logit_ri"):
        assert rows.loc[m, "note"].startswith("valid only if the pilots were exchangeable with other areas")
    assert not rows.loc["lpm_ri_t", "note"].startswith("valid only")
    mf, _, _ = model_rows(df, FitSpec("drug", "y", COVS))
    d = build_design(mf, "y", COVS)
    strata = draws.size_strata(np.bincount(d.area), d.treated)
    n_assign = int(np.prod([math.comb(int((strata == s).sum()), 1) for s in np.unique(strata)]))
    assert n_assign < 15  # C(6, 2) = 15 without strata
    assert "only 15 distinct assignments of 2 pilot areas among 6" in rows.loc["lpm_ri_t", "note"]
    assert (
        f"only {n_assign} distinct assignments of 2 pilot areas within 2 size strata"
        in (rows.loc["lpm_ri_t_size", "note"])
    )
    assert "within 2 strata of areas of similar size" in rows.loc["logit_ri_t_size", "note"]
    # the row's p is the studentised RI over exactly the within-strata re-assignments
    assign = np.vstack(
        [d.treated[None].astype(float), draws.area_assignments(d.area_codes, d.treated, 99, 20120401, strata)]
    )
    _, t = randomisation.ri_lpm_stats(wild_bootstrap.lpm_parts(d), assign)
    assert (
        rows.loc["lpm_ri_t_size", "p_value"]
        == (1 + np.sum(np.abs(t[1:]) >= np.abs(t[0]) * (1 - 1e-10))) / 100
    )
