"""Per-pilot evidence: per-pilot DiDs, Ibragimov-Mueller and Canay-Romano-Shaikh tests, leverage shares."""

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest
from did_simulation import simulate_journeys
from scipy import linalg, stats

from pbr.fit import pilots
from pbr.fit.design import build_design
from pbr.fit.frame import model_rows
from pbr.fit.spec import RESULT_COLUMNS, FitSpec

COVS = ["age_group", "sex"]
SPEC = FitSpec("drug", "y", COVS)


def simulate(n=3000, n_areas=30, n_pilot=8, log_or=0.0, seed=1):
    """:func:`did_simulation.simulate_journeys` with this module's number of areas."""
    return simulate_journeys(n, n_areas, n_pilot, log_or, seed)


@pytest.fixture(scope="module")
def data():
    return simulate(n=4000, log_or=np.log(0.6), seed=5)


@pytest.fixture(scope="module")
def fitted(data):
    return pilots.pilot_rows(data, SPEC)


# ---------------------------------------------------------------------------------------
# The two tests against brute force


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ibragimov_mueller_equals_scipy_one_sample_t(seed):
    b = np.random.default_rng(seed).normal(0.2, 0.5, 7)
    mean, lo, hi, p, se = pilots.ibragimov_mueller(b, 0.05)
    ref = stats.ttest_1samp(b, 0.0)
    ci = ref.confidence_interval(0.95)
    assert mean == pytest.approx(b.mean())
    assert p == pytest.approx(ref.pvalue, rel=1e-10)
    assert (lo, hi) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert se == pytest.approx(stats.sem(b))


def brute_crs_p(b, delta=0.0):
    """Sign-change p-value by enumerating every sign vector with itertools (independent of the module)."""
    d = np.asarray(b) - delta
    q = len(d)

    def abs_t(x):
        return abs(np.mean(x) / (np.std(x, ddof=1) / math.sqrt(q)))

    t_obs = abs_t(d)
    hits = [abs_t(np.array(s) * d) >= t_obs - 1e-12 for s in itertools.product([1, -1], repeat=q)]
    return sum(hits) / len(hits)


@pytest.mark.parametrize(("seed", "q", "delta"), [(0, 8, 0.0), (1, 6, 0.1), (2, 8, -0.3), (3, 5, 0.0)])
def test_canay_romano_shaikh_p_equals_enumeration(seed, q, delta):
    b = np.random.default_rng(seed).normal(0.3, 0.4, q)
    assert pilots.crs_pvalue(b, delta) == pytest.approx(brute_crs_p(b, delta), abs=1e-12)


def test_canay_romano_shaikh_interval_inverts_the_test():
    b = np.random.default_rng(4).normal(-0.4, 0.3, 8)
    mean, lo, hi, p = pilots.canay_romano_shaikh(b, 0.05)
    assert p == pytest.approx(brute_crs_p(b))
    assert lo < mean < hi
    eps = 1e-3 * (hi - lo)
    # just inside each end the test accepts, just outside it rejects (brute-force p-values)
    assert brute_crs_p(b, lo + eps) > 0.05 and brute_crs_p(b, hi - eps) > 0.05
    assert brute_crs_p(b, lo - eps) <= 0.05 and brute_crs_p(b, hi + eps) <= 0.05


def test_sign_vectors_are_all_distinct_and_identity_first():
    s = pilots.sign_vectors(5)
    assert s.shape == (32, 5) and (s[0] == 1).all()
    assert len({tuple(r) for r in s}) == 32


# ---------------------------------------------------------------------------------------
# Per-pilot fits


def test_rows_hold_every_pilot_and_the_tests(fitted):
    rows, areas = fitted
    assert list(rows.columns) == RESULT_COLUMNS
    per_pilot = rows[rows["specification"].str.startswith("pilot_")]
    assert len(per_pilot) == 16 and set(per_pilot["method"]) == {"logit_per_pilot", "lpm_per_pilot"}
    assert per_pilot[["ci_low", "ci_high", "p_value"]].isna().all().all()
    assert per_pilot["note"].str.contains("one treated area").all()
    assert (per_pilot["n_treated_clusters"] == 1).all()
    tests = rows[rows["specification"] == "per_pilot"].set_index("method")
    assert set(tests.index) == {
        "logit_ibragimov_mueller",
        "lpm_ibragimov_mueller",
        "logit_canay_romano_shaikh",
        "lpm_canay_romano_shaikh",
    }
    # the tests run on the per-pilot coefficients of the rows (OR scale for the logit)
    b = per_pilot.loc[per_pilot["method"] == "logit_per_pilot", "beta"].to_numpy()
    im = pilots.ibragimov_mueller(b, 0.05)
    assert tests.loc["logit_ibragimov_mueller", "estimate"] == pytest.approx(math.exp(im[0]))
    assert tests.loc["logit_ibragimov_mueller", "p_value"] == pytest.approx(im[3])
    assert tests.loc["logit_canay_romano_shaikh", "p_value"] == pytest.approx(brute_crs_p(b))
    assert (tests["status"] == "ok").all()
    assert len(areas) == 8 and np.allclose(areas["odds_ratio"], np.exp(areas["beta"]))


def test_per_pilot_coefficient_equals_pyfixest_on_the_subset(data, fitted):
    rows, _ = fitted
    area = "E002"
    sub = data[~data["pilot"].astype(bool) | (data["area_code"] == area)]
    mf, _, _ = model_rows(sub, SPEC)
    fml = "y ~ did + C(age_group) + C(sex) | area_code + period_fe"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logit = pf.feglm(fml, data=mf, family="logit")
        lpm = pf.feols(fml, data=mf)
    got = rows[rows["specification"] == f"pilot_{area}"].set_index("method")["beta"]
    assert got["logit_per_pilot"] == pytest.approx(float(logit.coef()["did"]), abs=1e-6)
    assert got["lpm_per_pilot"] == pytest.approx(float(lpm.coef()["did"]), abs=1e-8)


def test_leverage_shares_equal_a_dense_projection(data, fitted):
    _, areas = fitted
    mf, _, _ = model_rows(data, SPEC)
    d = build_design(mf, "y", COVS)
    W = d.W.toarray()
    for weights, column in (
        (np.ones(d.n), "leverage_share"),
        (pilots.logit_null_weights(d), "leverage_share_logit"),
    ):
        sw = np.sqrt(weights)
        gamma = linalg.lstsq(W * sw[:, None], d.did * sw)[0]
        x_t = d.did - W @ gamma
        contrib = pd.Series(weights * x_t**2).groupby(mf["area_code"].to_numpy()).sum()
        share = contrib / contrib.sum()
        got = areas.set_index("area_code")[column]
        assert np.allclose(got, share.loc[got.index], atol=1e-10)
        # the pilots' shares sum to the treated rows' share of the identifying variation
        treated = mf["pilot"].astype(bool).to_numpy()
        assert got.sum() == pytest.approx((weights * x_t**2)[treated].sum() / (weights * x_t**2).sum())
        assert 0 < got.sum() < 1


def test_pilot_without_events_is_not_estimable_and_the_tests_say_how_many():
    df = simulate(n=4000, log_or=0.0, seed=6)
    gone = (df["area_code"] == "E001") & (df["post"] == 1)
    df.loc[gone, "y"] = 0
    rows, areas = pilots.pilot_rows(df, SPEC)
    e001 = rows[rows["specification"] == "pilot_E001"].set_index("method")
    assert e001.loc["logit_per_pilot", "status"] == "not_estimable"
    assert "no events" in e001.loc["logit_per_pilot", "note"]
    assert np.isnan(e001.loc["logit_per_pilot", "estimate"])
    tests = rows[rows["specification"] == "per_pilot"].set_index("method")
    assert "7 of 8 pilot areas" in tests.loc["logit_ibragimov_mueller", "note"]
    assert tests.loc["logit_ibragimov_mueller", "n_treated_clusters"] == 7
    assert tests.loc["logit_ibragimov_mueller", "status"] == "caveat"
    assert (
        "1 pilot area(s) without a per-pilot estimate left out"
        in tests.loc["logit_canay_romano_shaikh", "note"]
    )
    assert "8 of 8 pilot areas" in tests.loc["lpm_ibragimov_mueller", "note"]  # the LPM keeps E001 (a caveat)
    assert np.isnan(areas.set_index("area_code").loc["E001", "beta"])


@pytest.mark.parametrize(
    ("n_pilot", "crs_status", "im_status"),
    [(5, "caveat", "ok"), (3, "not_estimable", "ok"), (1, "not_estimable", "not_estimable")],
)
def test_few_pilots_give_caveats_or_not_estimable_rows(n_pilot, crs_status, im_status):
    rows, _ = pilots.pilot_rows(simulate(n=3000, n_pilot=n_pilot, seed=7), SPEC)
    tests = rows[rows["specification"] == "per_pilot"].set_index("method")
    assert tests.loc["lpm_canay_romano_shaikh", "status"] == crs_status
    assert tests.loc["lpm_ibragimov_mueller", "status"] == im_status
    if crs_status == "caveat":
        assert "cannot fall below 0.0625" in tests.loc["lpm_canay_romano_shaikh", "note"]
        assert np.isinf(tests.loc["lpm_canay_romano_shaikh", "ci_high"])


def test_no_pilot_journeys_give_no_pilot_rows_and_not_estimable_tests():
    df = simulate(n=2000, seed=8)
    df = df[~df["pilot"].astype(bool)]
    rows, areas = pilots.pilot_rows(df, SPEC)
    assert not rows["specification"].str.startswith("pilot_").any()
    assert (rows["status"] == "not_estimable").all() and len(rows) == 4
    assert areas.empty and list(areas.columns) == pilots.PILOT_AREA_COLUMNS
