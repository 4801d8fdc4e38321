"""Alternative specifications: event study, placebo, leave-one-pilot-out, Mason 2015 window."""

import numpy as np
import pandas as pd
import pytest
from did_simulation import did_frame

from pbr.fit import draws, event_study, robustness, spec
from pbr.fit.spec import FitSpec

COVS = ["age_group", "sex"]


def simulate(n=20000, n_areas=60, n_pilot=8, log_or=0.0, pre_trend=0.0, seed=1):
    """Analysis-table-like journeys: 16 quarters from 1 Apr 2010 (post from quarter 8),
    start dates, area and quarter effects, two covariates, a planted DiD odds ratio and
    optionally a pilot-specific linear trend (log-odds per quarter) before the start."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 0.5, n_areas)
    area = rng.choice(n_areas, n, p=size / size.sum())
    quarter = rng.integers(0, 16, n)
    pilot = area < n_pilot
    post = quarter >= 8
    age = rng.choice(["18-29", "30-39", "40+"], n)
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    lp = (
        -0.8
        + rng.normal(0, 0.4, n_areas)[area]
        + 0.03 * quarter
        + 0.3 * (age == "40+")
        - 0.2 * (sex == "F")
        + rng.normal(0, 0.05, (n_areas, 8))[area, quarter // 2]
        + log_or * (pilot & post)
        + pre_trend * pilot * np.minimum(quarter - 7, 0)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    start = (np.datetime64("2010-04", "M") + 3 * quarter).astype("datetime64[D]") + rng.integers(0, 89, n)
    return did_frame(
        area, quarter, pilot, post, age, sex, y, half_year=quarter // 2, start_date=pd.to_datetime(start)
    )


@pytest.fixture(scope="module")
def effect_data():
    return simulate(log_or=np.log(0.4), seed=5)


@pytest.fixture(scope="module")
def event_effect(effect_data):
    return event_study.event_study(effect_data, FitSpec("drug", "y", COVS))


def test_event_study_recovers_the_effect_only_in_post_bins(event_effect):
    table, _ = event_effect
    for method, null in (("logit_crv1", 1.0), ("lpm_crv1", 0.0)):
        t = table.loc[table["method"] == method].set_index("bin")
        assert list(t.index) == list(range(8))
        assert t.loc[3, "is_reference"] and t.loc[3, "estimate"] == null  # last pre half-year
        pre, post = t.loc[[0, 1, 2]], t.loc[[4, 5, 6, 7]]
        assert ((pre["ci_low"] < null) & (null < pre["ci_high"])).all(), method
        assert (post["ci_high"] < null).all(), method
        assert not pre["is_post"].any() and post["is_post"].all()
    logit = table.loc[table["method"] == "logit_crv1"].set_index("bin")
    assert abs(np.log(logit.loc[[4, 5, 6, 7], "estimate"]).mean() - np.log(0.4)) < 0.3
    assert str(logit.loc[4, "bin_start"]) == "2012-04-01"


def test_pretrend_test_does_not_reject_under_parallel_trends(event_effect):
    _, summary = event_effect
    assert list(summary.columns) == spec.RESULT_COLUMNS
    assert (summary["specification"] == "event_study_pretrend").all()
    assert set(summary["method"]) == set(event_study.EVENT_STUDY_METHODS)
    assert (summary["p_value"] > 0.05).all(), summary["p_value"]
    assert summary["note"].str.contains("3 pre-period").all()
    assert set(summary["scale"]) == {"wald_chi2", "wald_F"}


def test_pretrend_test_rejects_a_planted_pretrend():
    _, summary = event_study.event_study(simulate(pre_trend=0.1, seed=6), FitSpec("drug", "y", COVS))
    p = summary.set_index("method")["p_value"]
    assert (p[["logit_crv1", "lpm_crv1"]] < 0.01).all(), p
    assert (p[["logit_score_wcb", "lpm_wcb_webb"]] < 0.05).all(), p


def test_placebo_gives_a_null(effect_data):
    res = robustness.placebo(effect_data, FitSpec("drug", "y", COVS)).set_index("method")
    assert (res["specification"] == "placebo_2011").all()
    assert res.loc["logit_crv1", "ci_low"] < 1 < res.loc["logit_crv1", "ci_high"]
    assert res.loc["lpm_crv1", "ci_low"] < 0 < res.loc["lpm_crv1", "ci_high"]
    assert res.loc["logit_crv1", "n"] == int((effect_data["post"] == 0).sum())
    assert res["note"].str.startswith("placebo: pre-period journeys only, fake start 2011-04-01").all()


def test_leave_one_out_returns_one_row_per_pilot_area(effect_data):
    res = robustness.leave_one_out(effect_data, FitSpec("drug", "y", COVS))
    assert len(res) == 8
    assert list(res["specification"]) == [f"leave_out_E{a:03d}" for a in range(8)]
    assert (res["n_treated_clusters"] == 7).all() and (res["method"] == "logit_crv1").all()
    assert (res["estimate"] < 1).all()
    both = robustness.leave_one_out(
        effect_data, FitSpec("drug", "y", COVS), methods=("logit_crv1", "lpm_crv1")
    )
    assert len(both) == 16


def test_mason_window(effect_data):
    res = robustness.mason_2015(effect_data, FitSpec("drug", "y", COVS)).set_index("method")
    in_window = effect_data["start_date"].between("2011-04-01", "2013-03-31")
    assert res.loc["logit_crv1", "n"] == int(in_window.sum())
    assert (res["specification"] == "mason_2015").all()
    assert res["note"].str.contains("journeys starting 2011-04-01 to 2013-03-31").all()
    assert res.loc["logit_crv1", "ci_high"] < 1
    assert "logit_re" not in res.index  # not a Mason outcome: no random-intercept fit by default
    both = robustness.mason_2015(effect_data, FitSpec("drug", "y", COVS), random_intercept=True)
    re_row = both.set_index("method").loc["logit_re"]
    assert re_row["n"] == res.loc["logit_crv1", "n"] and re_row["ci_high"] < 1  # planted OR 0.4
    assert abs(re_row["beta"] - res.loc["logit_crv1", "beta"]) < 0.1


def test_event_study_engines_agree(effect_data, event_effect):
    """The exact engine's event-study coefficients, intervals and pre-trend tests equal pyfixest's
    (the LPM to rounding; the logit to pyfixest's IRLS tolerance)."""
    table, summary = event_effect
    table_pf, summary_pf = event_study.event_study(effect_data, FitSpec("drug", "y", COVS, engine="pyfixest"))
    assert len(table) == len(table_pf) and (table["bin"].to_numpy() == table_pf["bin"].to_numpy()).all()
    for method, tol in (("logit_crv1", 1e-3), ("lpm_crv1", 1e-8)):
        a = table[table["method"] == method].reset_index(drop=True)
        b = table_pf[table_pf["method"] == method].reset_index(drop=True)
        assert np.allclose(a["beta"], b["beta"], rtol=tol / 100, atol=1e-12)
        assert np.allclose(a["se"], b["se"], rtol=tol, equal_nan=True)
        assert (a["n"] == b["n"]).all()
        sa = summary.set_index("method").loc[method]
        sb = summary_pf.set_index("method").loc[method]
        assert abs(sa["estimate"] / sb["estimate"] - 1) < 10 * tol
    boot = summary.set_index("method").loc[list(event_study.BOOTSTRAP_METHODS)]
    boot_pf = summary_pf.set_index("method").loc[list(event_study.BOOTSTRAP_METHODS)]
    assert np.allclose(
        boot["estimate"], boot_pf["estimate"], rtol=1e-6
    )  # the bootstraps always use the exact design
    assert (table["specification"] == "event_study").all()


def test_bootstrap_pretrend_rows(event_effect):
    """The WCR statistic is the CRV1 Wald F (same statistic, bootstrap p); the bootstraps' p-values lie
    above CRV1's (CRV1 over-rejects); the CRV1 rows say they are reference only."""
    _, summary = event_effect
    rows = summary.set_index("method")
    assert rows.loc["lpm_wcb_webb", "estimate"] == pytest.approx(rows.loc["lpm_crv1", "estimate"], rel=1e-10)
    assert rows.loc["lpm_wcb_webb", "p_value"] > rows.loc["lpm_crv1", "p_value"]
    assert rows.loc["logit_score_wcb", "scale"] == "wald_chi2"
    assert rows.loc[["logit_crv1", "lpm_crv1"], "note"].str.contains("CRV1, reference only").all()
    assert rows.loc["logit_score_wcb", "note"].startswith("joint test that the 3 pre-period")
    assert (rows.loc[list(event_study.BOOTSTRAP_METHODS), "status"] == "ok").all()


def test_event_study_with_one_pilot_is_not_estimable():
    """One pilot area: every pre-trend row, bootstraps included, is not estimable with the reason."""
    _, summary = event_study.event_study(simulate(n=4000, n_pilot=1, seed=2), FitSpec("drug", "y", COVS))
    assert len(summary) == 6 and (summary["status"] == "not_estimable").all()
    assert summary["note"].str.contains("pilot area").all() and summary["estimate"].isna().all()


@pytest.fixture(scope="module")
def small_effect():
    return simulate(n=8000, log_or=np.log(0.4), seed=5)


@pytest.fixture(scope="module")
def all_rows(small_effect):
    return robustness.robustness_rows(
        small_effect, FitSpec("drug", "y", COVS), bootstrap=draws.Bootstrap(reps=199), window_days=365
    )


def test_robustness_rows_stack_every_variant(all_rows):
    rows, table = all_rows
    assert list(rows.columns) == spec.RESULT_COLUMNS
    specs = set(rows["specification"])
    assert {"event_study_pretrend", "placebo_2011", "mason_2015"} <= specs
    assert {"event_study_pretrend_clear", "donut", "placebo_clear"} <= specs
    assert sum(s.startswith("leave_out_") for s in specs) == 8
    assert list(table.columns) == event_study.EVENT_STUDY_COLUMNS


def test_mason_only_variant_is_the_mason_rows_of_all(all_rows, small_effect):
    """variants='mason_2015' (an outcome of robustness.mason_outcomes alone): the Mason window's rows,
    the same as in the full set, and an empty event-study table with its columns; a wrong name fails."""
    rows, table = robustness.robustness_rows(
        small_effect, FitSpec("drug", "y", COVS), bootstrap=draws.Bootstrap(reps=199), variants="mason_2015"
    )
    assert set(rows["specification"]) == {"mason_2015"} and len(table) == 0
    assert list(table.columns) == event_study.EVENT_STUDY_COLUMNS
    full = all_rows[0][all_rows[0]["specification"] == "mason_2015"].reset_index(drop=True)
    pd.testing.assert_frame_equal(rows.reset_index(drop=True), full)
    with pytest.raises(ValueError, match="variants must be one of"):
        robustness.robustness_rows(small_effect, FitSpec("drug", "y", COVS), variants="mason")


def test_variants_carry_the_score_bootstrap(all_rows):
    rows, _ = all_rows
    score = rows[rows["method"] == "logit_score_wcb"].set_index("specification")
    for name in (
        "placebo_2011",
        "mason_2015",
        "donut",
        "placebo_clear",
        *[f"leave_out_E{a:03d}" for a in range(8)],
    ):
        assert name in score.index, name
    assert (score.loc[[f"leave_out_E{a:03d}" for a in range(8)], "n_treated_clusters"] == 7).all()
    assert score.loc["placebo_2011", "ci_low"] < 1 < score.loc["placebo_2011", "ci_high"]
    assert score.loc["mason_2015", "ci_high"] < 1
    crv1 = rows[rows["method"].str.endswith("_crv1") & ~rows["specification"].str.startswith("event_study")]
    assert crv1["note"].str.contains("CRV1, reference only").all()


def test_timing_variants(all_rows, small_effect):
    rows, table = all_rows
    by_spec = rows.set_index(["specification", "method"])
    start = small_effect["start_date"]
    crossing = (start < "2012-04-01") & (start + pd.Timedelta(days=365) >= pd.Timestamp("2012-04-01"))
    assert by_spec.loc[("donut", "logit_crv1"), "n"] == int((~crossing).sum())
    clear = by_spec.loc["event_study_pretrend_clear"]
    assert set(clear.index) == set(event_study.EVENT_STUDY_METHODS)
    assert clear["note"].str.contains(r"1 pre-period .* \(reference bin 1 = 2010-10-01\)").all()
    assert (
        clear["note"]
        .str.contains("bin\\(s\\) 2, 3 \\(outcome windows crossing the start\\) estimated, not tested")
        .all()
    )
    assert by_spec.loc[("placebo_clear", "logit_crv1"), "note"].startswith("placebo clear of the start")
    assert "fake start 2010-10-01" in by_spec.loc[("placebo_clear", "logit_crv1"), "note"]
    assert set(table["specification"]) == {"event_study", "event_study_clear"}
    ref = table[(table["specification"] == "event_study_clear") & table["is_reference"]]
    assert set(ref["bin"]) == {1}


def test_timing_variants_not_estimable_when_no_window_is_clear(effect_data):
    window = robustness.Timing(900, pd.Timestamp("2012-04-01"))
    _, summary = robustness.event_study_clear(
        effect_data, FitSpec("drug", "y", COVS), window, draws.Bootstrap(99)
    )
    assert (summary["status"] == "not_estimable").all()
    assert summary["note"].str.contains("no reference bin clear of the start").all()
    placebo = robustness.placebo_clear(effect_data, FitSpec("drug", "y", COVS), window, draws.Bootstrap(99))
    assert len(placebo) == 3 and (placebo["status"] == "not_estimable").all()
    assert placebo["note"].str.contains("no placebo clear of the start").all()
