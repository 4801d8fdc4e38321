"""Per-pilot linear pre-trends and the Ibragimov-Mueller / Canay-Romano-Shaikh tests on them
(pbr.fit.pilot_trends): each trend against statsmodels on its subset, the tests against scipy and
the pilots module, a planted trend found, the clear-of-the-start variant's journeys."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from did_simulation import simulate_journeys
from scipy import stats

from pbr.fit import pilot_trends, pilots
from pbr.fit.frame import drop_uninformative
from pbr.fit.spec import RESULT_COLUMNS, FitSpec

SPEC = FitSpec("drug", "y", ("age_group", "sex"))


def journeys(pretrend=0.0, seed=3, n=6000):
    """simulate_journeys with the event-study bins and start dates the trends read."""
    df = simulate_journeys(n=n, n_areas=30, n_pilot=8, seed=seed, pretrend=pretrend)
    df["half_year"] = df["quarter"] // 2
    df["start_date"] = pd.to_datetime("2010-04-01") + pd.to_timedelta(df["quarter"] * 91, unit="D")
    return df


@pytest.fixture(scope="module")
def data():
    return journeys()


def test_each_pilots_trend_equals_statsmodels_on_its_subset(data):
    frame = pilot_trends.pre_period_frame(data, SPEC, "half_year")
    assert set(frame["years"]) == {0.0, 0.5, 1.0, 1.5} and (frame["post"] == 0).all()
    area = sorted(frame.loc[frame["pilot"].astype(bool), "area_code"].unique())[2]
    fit = pilot_trends.trend_fit(frame, area, SPEC)
    keep = ~frame["pilot"].astype(bool) | (frame["area_code"] == area)
    sub, _, _ = drop_uninformative(frame.loc[keep], "y", SPEC.covariates)
    sub = sub.assign(trend=(sub["area_code"] == area) * sub["years"])
    fml = "y ~ trend + C(area_code) + C(period_fe) + C(age_group) + C(sex)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logit = smf.logit(fml, sub).fit(disp=0, method="newton", maxiter=100)
    ols = smf.ols(fml, sub).fit()
    assert fit.beta["logit"] == pytest.approx(logit.params["trend"], rel=1e-6, abs=1e-8)
    assert fit.beta["linear"] == pytest.approx(ols.params["trend"], rel=1e-8, abs=1e-10)
    assert fit.usable == {"logit": True, "linear": True}


def test_the_tests_are_the_pilots_modules_on_the_per_pilot_trends(data):
    rows = pilot_trends.pilot_trend_rows(data, SPEC, window_days=180, post_from="2012-04-01")
    assert list(rows.columns) == RESULT_COLUMNS
    assert set(rows["specification"]) == set(pilot_trends.TREND_SPECS)
    frame = pilot_trends.pre_period_frame(data, SPEC, "half_year")
    fits = pilot_trends.pilot_trends(frame, SPEC)
    assert len(fits) == 8
    for family, scale in (("logit", math.exp), ("linear", float)):
        b = np.array([f.beta[family] for f in fits])
        im = rows[
            (rows["specification"] == "event_study_pretrend")
            & (rows["method"] == pilots.PILOT_TESTS[family][0])
        ]
        crs = rows[
            (rows["specification"] == "event_study_pretrend")
            & (rows["method"] == pilots.PILOT_TESTS[family][1])
        ]
        assert im["p_value"].iloc[0] == pytest.approx(stats.ttest_1samp(b, 0.0).pvalue, rel=1e-10)
        assert im["estimate"].iloc[0] == pytest.approx(scale(b.mean()), rel=1e-12)
        assert crs["p_value"].iloc[0] == pytest.approx(pilots.crs_pvalue(b), rel=1e-12)
        assert "per-pilot linear pre-trends" in im["note"].iloc[0]


def test_a_planted_pilot_trend_is_found_and_none_is_found_where_none_was_planted():
    planted = 0.6  # log odds per year in every pilot
    with_trend = pilot_trends.pilot_trend_rows(journeys(pretrend=planted, seed=7, n=20000), SPEC)
    im = with_trend[with_trend["method"] == "logit_ibragimov_mueller"].iloc[0]
    assert im["p_value"] < 0.01
    assert math.log(im["estimate"]) == pytest.approx(planted, abs=0.25)
    assert im["ci_low"] < math.exp(planted) < im["ci_high"]
    flat = pilot_trends.pilot_trend_rows(journeys(pretrend=0.0, seed=7, n=20000), SPEC)
    im0 = flat[flat["method"] == "logit_ibragimov_mueller"].iloc[0]
    assert im0["ci_low"] < 1.0 < im0["ci_high"]


def test_the_clear_variant_keeps_only_journeys_whose_window_ends_before_the_start(data):
    rows = pilot_trends.pilot_trend_rows(data, SPEC, window_days=180, post_from="2012-04-01")
    clear = rows[rows["specification"] == "event_study_pretrend_clear"].iloc[0]
    full = rows[rows["specification"] == "event_study_pretrend"].iloc[0]
    pre = data[(data["post"] == 0) & data["y"].notna()]
    ends_before = pre["start_date"] + pd.Timedelta(days=180) < pd.Timestamp("2012-04-01")
    assert clear["n"] + clear["dropped_rows"] == int(ends_before.sum())
    assert full["n"] + full["dropped_rows"] == len(pre)
    assert "180-day outcome window reaches 2012-04-01 left out" in clear["note"]


def test_a_pilot_seen_in_one_bin_only_is_left_out_with_a_caveat(data):
    df = data.copy()
    lone = sorted(df.loc[df["pilot"].astype(bool), "area_code"].unique())[0]
    df = df[~((df["area_code"] == lone) & (df["post"] == 0) & (df["half_year"] != 3))]
    rows = pilot_trends.pilot_trend_rows(df, SPEC)
    im = rows[rows["method"] == "lpm_ibragimov_mueller"].iloc[0]
    assert im["n_treated_clusters"] == 7 and im["status"] == "caveat"
    assert "1 pilot area(s) without a per-pilot estimate left out" in im["note"]
    with pytest.raises(ValueError, match="bin_col must be one of"):
        pilot_trends.pre_period_frame(df, SPEC, "month")


def test_without_pilots_every_row_is_not_estimable_and_says_why_first(data):
    for frame in (data.iloc[:0], data.assign(pilot=False, did=0), data[data["post"] == 1]):
        rows = pilot_trends.pilot_trend_rows(frame, SPEC, window_days=365)
        assert len(rows) == 8 and (rows["status"] == "not_estimable").all()
        assert (
            rows["note"].str.startswith("not estimable: 0 of 0 pilot areas with a per-pilot estimate").all()
        )
        assert rows["p_value"].isna().all()
