"""The simulation study's parts: scenarios, mechanism, methods (against the fit stage's rows),
targets and performance measures."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pbr.fit import inference, models
from pbr.fit.counts import FREQ
from pbr.registry.methods import SIZE_COLUMNS
from pbr.report.verdicts import WORST_SCENARIO
from pbr.simstudy import mechanism, methods, performance, scenarios, tables, truth
from pbr.simstudy import sizes as registry_sizes
from pbr.simstudy.methods import SPEC

SCHEMA = yaml.safe_load((Path(__file__).resolve().parents[2] / "config" / "schema.yaml").read_text())[
    "properties"
]["simulation"]["properties"]


def test_the_scenario_vocabulary_is_the_configs():
    assert SCHEMA["scenarios"]["items"]["enum"] == list(scenarios.SCENARIOS)
    assert SCHEMA["scenarios"]["default"] == list(scenarios.SCENARIOS)
    with pytest.raises(ValueError, match="unknown simulation scenario 'nope'"):
        scenarios.scenario("nope")


def test_each_scenario_departs_from_the_base_in_what_it_names():
    base = dataclasses.asdict(scenarios.BASE)
    for name, (_, changes) in scenarios.SCENARIOS.items():
        s = dataclasses.asdict(scenarios.scenario(name))
        differs = {k for k in base if k not in ("name", "aim") and s[k] != base[k]}
        assert differs == set(changes), name
    assert scenarios.scenario("base").null and scenarios.scenario("weak_null").null is False
    assert scenarios.scenario("base", 5000).journeys == 5000


@pytest.fixture(scope="module")
def sizes():
    return mechanism.area_sizes(3)


def test_geometries_treat_the_areas_they_say(sizes):
    codes, w, pilots, kent = sizes
    assert len(codes) == 149 and pilots.sum() == 8 and pilots[kent]
    order = np.argsort(w)
    treated, _ = mechanism.treated_areas("largest", w, pilots, kent)
    assert set(np.flatnonzero(treated)) == set(order[-8:])
    treated, _ = mechanism.treated_areas("smallest", w, pilots, kent)
    assert set(np.flatnonzero(treated)) == set(order[:8])
    treated, w2 = mechanism.treated_areas("dominant", w, pilots, kent)
    assert w2[kent] / w2[treated].sum() == pytest.approx(0.4)
    treated, _ = mechanism.treated_areas("seven", w, pilots, kent)
    assert treated.sum() == 7 and not treated[np.flatnonzero(pilots)[np.argmax(w[pilots])]]
    treated, _ = mechanism.treated_areas("four", w, pilots, kent)
    assert treated.sum() == 4 and (treated <= pilots).all()
    assert mechanism.treated_areas("exchangeable", w, pilots, kent)[0] is None


def test_a_replicate_is_an_analysis_table_with_the_scenarios_prevalence():
    sc = scenarios.scenario("base", 20000)
    g = mechanism.build_geometry(sc, 5)
    df = mechanism.replicate(g, sc, 5, 0)
    assert np.average(df["p_true"], weights=df[FREQ]) == pytest.approx(0.4, abs=0.02)
    assert df[FREQ].sum() == 20000 and (df[FREQ] > 0).all()
    cell = ["area_code", "quarter", "sex"]
    assert df.groupby(cell).size().max() <= 2 and not df.duplicated([*cell, "y"]).any()
    assert set(df["quarter"]) == set(range(16)) and df["post"].eq(df["quarter"] >= 8).all()
    assert (df["did"] == (df["pilot"] & (df["post"] == 1))).all() and df["pilot"].groupby(
        df["area_code"]
    ).nunique().max() == 1
    rare = scenarios.scenario("prevalence_0.005", 20000)
    rare_df = mechanism.replicate(mechanism.build_geometry(rare, 5), rare, 5, 0)
    assert np.average(rare_df["p_true"], weights=rare_df[FREQ]) == pytest.approx(0.005, rel=0.3)


def test_collapsed_replicates_give_the_journeys_p_values():
    """A replicate's rows stand for their journeys (frequency weights): every method's estimate
    and p-values are those of the same journeys one row each."""
    sc = scenarios.scenario("base", 4000)
    df = mechanism.replicate(mechanism.build_geometry(sc, 13), sc, 13, 0)
    journeys = df.loc[df.index.repeat(df[FREQ])].drop(columns=FREQ).reset_index(drop=True)
    assert len(journeys) == 4000 and len(df) < 0.8 * len(journeys)
    kw = {
        "scenario": "base",
        "r": 0,
        "target": (0.1, 0.01),
        "screening": True,
        "reps": 99,
        "ri_reps": 99,
        "seed": 3,
    }
    a, b = methods.replicate_pvalues(df, **kw), methods.replicate_pvalues(journeys, **kw)
    pd.testing.assert_frame_equal(a, b, rtol=1e-7, atol=1e-10)


def test_replicates_do_not_depend_on_order_or_chunking():
    sc = scenarios.scenario("exchangeable", 5000)
    g = mechanism.build_geometry(sc, 7)
    a = mechanism.replicate(g, sc, 7, 3)
    mechanism.replicate(g, sc, 7, 1)
    pd.testing.assert_frame_equal(a, mechanism.replicate(mechanism.build_geometry(sc, 7), sc, 7, 3))
    assert not a["pilot"].equals(mechanism.replicate(g, sc, 7, 4)["pilot"])  # exchangeable: redrawn


def test_opposite_effects_average_zero_over_treated_journeys():
    w = np.array([5.0, 1.0, 2.0, 3.0, 1.0, 1.0])
    treated = np.array([True, True, True, True, False, False])
    sc = scenarios.scenario("weak_null")
    eff = mechanism.area_effects(sc, treated, w, np.random.default_rng(1))
    assert np.sum(eff * w * treated) == pytest.approx(0.0, abs=1e-12)
    assert (eff[~treated] == 0).all() and np.sign(eff[treated]).tolist().count(1) == 2


def test_shocks_have_the_stated_sd_and_ar1_correlation():
    sc = scenarios.scenario("ar1")
    treated = np.zeros(20000, dtype=bool)
    u = mechanism.shocks(sc, 20000, treated, np.random.default_rng(2))
    assert u.std() == pytest.approx(0.1, rel=0.02)
    assert np.corrcoef(u[:, 0], u[:, 1])[0, 1] == pytest.approx(0.5, abs=0.03)
    sc = scenarios.scenario("pilot_post_var")
    treated[:10000] = True
    u = mechanism.shocks(sc, 20000, treated, np.random.default_rng(2))
    assert u[:10000, 4:].std() / u[10000:, 4:].std() == pytest.approx(2.0, rel=0.03)


@pytest.fixture(scope="module")
def rep():
    sc = scenarios.scenario("base", 8000)
    return mechanism.replicate(mechanism.build_geometry(sc, 11), sc, 11, 0)


def test_main_p_values_at_zero_are_the_pipelines_rows(rep):
    """At target 0, every bootstrap and RI p-value is the fit stage's row for the same seed and
    draws; CRV1 is models.fit_did's (exact engine)."""
    seed = 77
    got = pd.DataFrame(methods.main_pvalues(rep, (0.0, 0.0), 199, 199, seed)).set_index("method")
    rows = inference.few_cluster_rows(
        rep, SPEC, reps=199, ri_reps=199, seed=seed, lpm_ci=False, logit_ci=False
    )
    rows = pd.concat([rows, models.fit_did(rep, SPEC)]).set_index("method")
    for method in methods.MAIN_METHODS:
        assert got.loc[method, "p_zero"] == pytest.approx(rows.loc[method, "p_value"], abs=1e-12), method
        assert got.loc[method, "p_truth"] == got.loc[method, "p_zero"], method
    assert math.exp(got.loc["logit_crv1", "estimate"]) == pytest.approx(
        rows.loc["logit_crv1", "estimate"], rel=1e-9
    )


def test_p_values_at_the_estimate_do_not_reject(rep):
    """Tested at its own estimate, a test cannot reject: the LPM's WCR and CRV1 give p = 1."""
    b_logit, b_lpm = truth.did_estimates(rep)
    got = pd.DataFrame(methods.main_pvalues(rep, (b_logit, b_lpm), 199, 199, 3)).set_index("method")
    assert got.loc["lpm_wcb_webb", "p_truth"] == 1.0 and got.loc["lpm_crv1", "p_truth"] == pytest.approx(1.0)
    assert (
        got.loc["logit_crv1", "p_truth"] == pytest.approx(1.0) and got.loc["logit_score_wcb", "p_truth"] > 0.5
    )


def test_targets_of_a_null_scenario_are_about_zero():
    sc = scenarios.scenario("base", 5000)
    t = truth.targets(mechanism.build_geometry(sc, 2), sc, 2, runs=3, scale=2).iloc[0]
    assert abs(t["target_log_or"]) < 4 * t["target_log_or_mc_se"] + 0.02 and t["runs"] == 3
    assert performance.test_targets(sc, t) == (0.0, 0.0)
    effect = scenarios.scenario("or_0.6", 5000)
    assert performance.test_targets(effect, t) == (t["target_log_or"], t["target_rd"])


def test_performance_rates_and_their_monte_carlo_errors():
    p = pd.DataFrame(
        {
            "scenario": ["base"] * 4 + ["or_0.6"] * 4,
            "replicate": [0, 1, 2, 3] * 2,
            "check": ["main"] * 8,
            "method": ["logit_score_wcb"] * 8,
            "estimate": [0.1, -0.1, 0.2, 0.0, -0.4, -0.6, -0.5, -0.5],
            "p_truth": [0.01, 0.5, 0.6, 0.7, 0.04, 0.2, 0.3, np.nan],
            "p_zero": [0.01, 0.5, 0.6, 0.7, 0.01, 0.02, 0.3, 0.04],
        }
    )
    t = pd.DataFrame(
        {"scenario": ["base", "or_0.6"], "target_log_or": [0.3, -0.45], "target_rd": [0.0, -0.1]}
    )
    chosen = {n: scenarios.scenario(n) for n in ("base", "or_0.6")}
    out = performance.performance(p, t, chosen).set_index("scenario")
    assert out.loc["base", "measure"] == "size" and out.loc["or_0.6", "measure"] == "power"
    assert out.loc["base", "reject_truth"] == 0.25 and out.loc["base", "reject_truth_mc_se"] == pytest.approx(
        math.sqrt(0.25 * 0.75 / 4)
    )
    assert out.loc["base", "bias"] == pytest.approx(0.05)  # null: tested and judged at 0, not 0.3
    assert (
        out.loc["or_0.6", "reject_truth"] == pytest.approx(1 / 3) and out.loc["or_0.6", "reject_zero"] == 0.75
    )
    assert out.loc["or_0.6", "bias"] == pytest.approx(-0.5 + 0.45)
    assert performance.measure(scenarios.scenario("or_0.6"), "pretrend") == "size"
    assert performance.measure(scenarios.scenario("pretrend"), "pretrend") == "power"


def test_registry_sizes_pool_the_true_nulls_and_name_the_worst_scenario():
    """The study's rows for the report: main pooled over every scenario at its target; the other
    checks only where their null holds; the worst scenario is the farthest from 0.05."""
    perf = pd.DataFrame(
        [
            ("base", "main", "logit_score_wcb", "size", 100, 0.05, 0.02, 0.05, 0.02),
            ("or_0.6", "main", "logit_score_wcb", "power", 300, 0.09, 0.01, 0.9, 0.01),
            ("base", "pretrend", "logit_score_wcb", "size", 100, math.nan, math.nan, 0.03, 0.01),
            ("pretrend", "pretrend", "logit_score_wcb", "power", 100, math.nan, math.nan, 0.7, 0.04),
        ],
        columns=[
            "scenario",
            "check",
            "method",
            "measure",
            "replicates",
            "reject_truth",
            "reject_truth_mc_se",
            "reject_zero",
            "reject_zero_mc_se",
        ],
    )
    rows = registry_sizes.size_rows(perf, "cmd").set_index(["check", "scenario"])["rejection_rate"]
    main = rows.loc["main"]
    assert main.iloc[0] == pytest.approx((0.05 * 100 + 0.09 * 300) / 400)
    assert main.index[1].endswith(": or_0.6") and main.iloc[1] == 0.09
    pre = rows.loc["event_study_pretrend"]
    assert len(pre) == 2 and (pre == 0.03).all() and pre.index[1].endswith(": base")
    assert main.index[1] == f"{WORST_SCENARIO}: or_0.6"
    old = pd.DataFrame(
        [
            ("logit_score_wcb", "main", "bench", 300, 0.06, 0.01, "b"),
            ("logit_score_wcb", "donut", "bench", 300, 0.07, 0.01, "b"),
        ],
        columns=list(SIZE_COLUMNS),
    )
    out = registry_sizes.merged(old, registry_sizes.size_rows(perf, "cmd"))
    assert set(out.loc[out["check"] == "main", "command"]) == {"cmd"} and (out["check"] == "donut").sum() == 1


def test_docs_tables_pivot_scenarios_by_method_with_mc_ses():
    perf = pd.DataFrame(
        {
            "scenario": ["base", "base", "or_0.6"],
            "check": ["main"] * 3,
            "method": ["logit_score_wcb", "logit_crv1", "logit_score_wcb"],
            "replicates": [2000, 2000, 2000],
            "reject_truth": [0.051, 0.11, 0.06],
            "reject_truth_mc_se": [0.005, 0.007, 0.0053],
            "target_log_or": [0.0, 0.0, -0.5],
        }
    )
    text = tables.pivot_markdown(perf, "main", "reject_truth", ("logit_score_wcb", "logit_crv1"), "T")
    lines = text.splitlines()
    assert lines[2] == "| scenario | target log OR | `logit_score_wcb` (2,000) | `logit_crv1` (2,000) |"
    assert lines[4] == "| base | 0.000 | 0.051 (0.005) | 0.110 (0.007) |"
    assert lines[5] == "| or_0.6 | -0.500 | 0.060 (0.005) |  |"
