"""The simulation study's robustness checks and interval widths (pbr.simstudy.checks) are the fit
stage's rows on the same data and draws, and the performance table measures them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pbr.fit import inference, models, robustness
from pbr.fit.draws import Bootstrap
from pbr.simstudy import checks, mechanism, performance, scenarios, tables
from pbr.simstudy import sizes as registry_sizes
from pbr.simstudy.methods import SPEC


@pytest.fixture(scope="module")
def rep():
    sc = scenarios.scenario("base", 8000)
    return mechanism.replicate(mechanism.build_geometry(sc, 11), sc, 11, 0)


def _p(rows: pd.DataFrame, method: str) -> float:
    return float(rows.set_index("method").loc[method, "p_value"])


def test_robustness_rows_are_the_pipelines_checks(rep):
    """Each check's p-values are those of the fit stage's own check on the same replicate and draws
    (placebo, the leave-one-out fit of pilot r mod 8, the Mason window, the donut of a 12-month outcome)."""
    r, seed = 11, 5
    got = pd.DataFrame(checks.robustness_pvalues(rep, r, 99, seed))
    assert set(got["check"]) == set(checks.ROBUSTNESS_CHECKS)
    bs = Bootstrap(reps=99, seed=seed)
    pilots = robustness.pilot_areas(rep, SPEC)
    assert len(pilots) == 8
    window = robustness.Timing(365, pd.Timestamp("2012-04-01"))
    loo = robustness.leave_one_out(rep, SPEC, bootstrap=bs)
    expected = {
        "placebo": robustness.placebo(rep, SPEC, bootstrap=bs),
        "leave_one_out": loo[loo["specification"] == f"leave_out_{pilots[r % 8]}"],
        "mason_2015": robustness.mason_2015(rep, SPEC, bootstrap=bs),
        "donut": robustness.donut(rep, SPEC, window, bs),
    }
    for check, rows in expected.items():
        mine = got[got["check"] == check].set_index("method")
        assert set(mine.index) == set(rows["method"]), check
        for m in mine.index:
            assert mine.loc[m, "p_zero"] == pytest.approx(_p(rows, m), abs=1e-12), (check, m)
            est = rows.set_index("method").loc[m, "estimate"]
            assert mine.loc[m, "estimate"] == pytest.approx(math.log(est) if m.startswith("logit") else est)
    assert got["p_truth"].isna().all() and got["width"].isna().all()


def test_leave_one_out_turns_through_the_pilots(rep):
    pilots = robustness.pilot_areas(rep, SPEC)
    left = [
        sorted(set(pilots) - set(checks.variant_frames(rep, r)["leave_one_out"]["area_code"].astype(str)))
        for r in range(9)
    ]
    assert left == [[pilots[r % 8]] for r in range(9)]


def test_interval_widths_are_the_pipelines_intervals(rep):
    got = pd.DataFrame(checks.interval_widths(rep, 99, 3)).set_index("method")
    assert list(got.index) == list(checks.INTERVAL_METHODS)
    crv1 = models.fit_did(rep, SPEC, methods=("logit_crv1", "lpm_crv1")).set_index("method")
    wcb = inference.few_cluster_rows(rep, SPEC, methods=("logit_score_wcb", "lpm_wcb_webb"), reps=99, seed=3)
    wcb = wcb.set_index("method")
    both = pd.concat([crv1, wcb])
    for m in checks.INTERVAL_METHODS:
        lo, hi = both.loc[m, "ci_low"], both.loc[m, "ci_high"]
        want = math.log(hi / lo) if m.startswith("logit") else hi - lo
        assert got.loc[m, "width"] == pytest.approx(want, rel=1e-12), m
    # the CRV1 interval of the log OR is 2 x 1.96 x its SE
    assert got.loc["logit_crv1", "width"] == pytest.approx(
        2 * 1.959964 * crv1.loc["logit_crv1", "se"], rel=1e-4
    )
    # with 8 treated areas the bootstrap intervals are wider than CRV1's
    assert got.loc["logit_score_wcb", "width"] > got.loc["logit_crv1", "width"]


def test_replicate_checks_picks_its_parts(rep):
    both = checks.replicate_checks(rep, scenario="base", r=0, robust=True, interval=True, reps=99, seed=1)
    assert list(both.columns) == checks.CHECK_COLUMNS
    assert set(both["check"]) == {*checks.ROBUSTNESS_CHECKS, "interval"} and (both["replicate"] == 0).all()
    only = checks.replicate_checks(rep, scenario="base", r=0, robust=False, interval=True, reps=99, seed=1)
    assert set(only["check"]) == {"interval"}
    none = checks.replicate_checks(rep, scenario="base", r=0, robust=False, interval=False, reps=99, seed=1)
    assert none.empty and list(none.columns) == checks.CHECK_COLUMNS


def test_median_width_and_its_distribution_free_error():
    w = pd.Series(np.arange(1.0, 101.0))
    med, se, n = performance.median_width(w)
    # order statistics 40 and 61 of 1..100 bound the median's 95% interval
    assert (med, n) == (50.5, 100) and se == pytest.approx((61 - 40) / (2 * 1.959964))
    assert performance.median_width(pd.Series([np.nan]))[2] == 0
    assert (
        performance.median_width(pd.Series([1.0, np.inf, np.inf]))[0] == np.inf
    )  # unbounded intervals count


def test_the_checks_measure_size_where_their_null_holds():
    pre = scenarios.scenario("pretrend")
    eff = scenarios.scenario("or_0.6")
    assert performance.measure(eff, "placebo") == "size" and performance.measure(pre, "placebo") == "power"
    assert (
        performance.measure(eff, "donut") == "power"
        and performance.measure(scenarios.BASE, "donut") == "size"
    )
    assert performance.measure(scenarios.BASE, "interval") == "width"
    rows = pd.DataFrame(
        {
            "scenario": ["base"] * 6 + ["or_0.6"] * 2,
            "replicate": [0, 1, 0, 1, 0, 1, 0, 1],
            "check": ["placebo"] * 2 + ["interval"] * 2 + ["main"] * 2 + ["placebo"] * 2,
            "method": ["logit_score_wcb"] * 8,
            "estimate": [0.1] * 8,
            "p_truth": [np.nan] * 4 + [0.5, 0.01] + [np.nan] * 2,
            "p_zero": [0.01, 0.5, np.nan, np.nan, 0.5, 0.01, 0.02, 0.03],
            "width": [np.nan, np.nan, 0.2, 0.4, np.nan, np.nan, np.nan, np.nan],
        }
    )
    truth = pd.DataFrame(
        {"scenario": ["base", "or_0.6"], "target_log_or": [0.0, -0.5], "target_rd": [0.0, -0.1]}
    )
    perf = performance.performance(rows, truth, {"base": scenarios.BASE, "or_0.6": eff})
    by = perf.set_index(["scenario", "check"])
    assert (
        by.loc[("base", "placebo"), "reject_zero"] == 0.5 and by.loc[("base", "placebo"), "measure"] == "size"
    )
    assert by.loc[("base", "interval"), "median_width"] == pytest.approx(0.3)
    assert by.loc[("base", "interval"), "replicates"] == 2
    assert math.isnan(by.loc[("base", "main"), "median_width"])
    study = registry_sizes.size_rows(perf, "cmd")
    # the placebo's size enters the registry under the report's specification; widths do not
    assert set(study["check"]) == {"main", "placebo_2011"}
    placebo = study[(study["check"] == "placebo_2011") & study["scenario"].str.contains("pooled")]
    assert placebo["replicates"].tolist() == [4] and placebo["rejection_rate"].tolist() == [0.75]


def test_docs_tables_put_the_checks_side_by_side():
    perf = pd.DataFrame(
        {
            "scenario": ["base", "base", "smallest"],
            "check": ["placebo", "donut", "placebo"],
            "method": ["logit_score_wcb"] * 3,
            "replicates": [500, 500, 480],
            "reject_zero": [0.05, 0.062, 0.071],
            "reject_zero_mc_se": [0.0097, 0.0108, 0.0117],
            "target_log_or": [0.0, 0.0, 0.0],
        }
    )
    text = tables.pivot_markdown(perf, ("placebo", "donut"), "reject_zero", ("logit_score_wcb",), "T")
    lines = text.splitlines()
    assert (
        lines[2]
        == "| scenario | target log OR | placebo: `logit_score_wcb` (500) | donut: `logit_score_wcb` (500) |"
    )
    assert lines[4] == "| base | 0.000 | 0.050 (0.010) | 0.062 (0.011) |"
    assert lines[5] == "| smallest | 0.000 | 0.071 (0.012) |  |"
