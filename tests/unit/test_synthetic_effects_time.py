"""Planted effects that change over time (``synthetic.effects_second_year``).

A journey referred in the second post year (from ``post_start`` + 12 months) carries the
second year's planted OR. The checks: the default second-year ORs written out give the default
extract byte for byte, and null ones that of second-year ORs equal to the first year's; set, the
pilot post rates and the raw DiD ORs per post year, computed here from the truth journeys, follow
the planted ORs within binomial error.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from extract_hashes import table_hash

from pbr.synthetic import generator, params
from pbr.synthetic.model import new_model
from pbr.synthetic.months import second_year_start

SECOND_YEAR = pd.Timestamp("2013-04-01")
#: first / second post year ORs planted: drug completion falls further, alcohol's turns around
PLANTED = {
    ("drug", "successful_completion"): (0.86, 0.42),
    ("alcohol", "successful_completion"): (0.80, 1.50),
}
#: binomial standard errors allowed (two-sided, about 1 in 400 by chance per check)
SDS = 3.0


def _config(scale: float, seed: int) -> dict:
    first: dict = {"drug": {}, "alcohol": {}}
    second: dict = {"drug": {}, "alcohol": {}}
    for (cohort, outcome), (a, b) in PLANTED.items():
        first[cohort][outcome], second[cohort][outcome] = a, b
    return {"scale": scale, "seed": seed, "effects": first, "effects_second_year": second}


@pytest.fixture(scope="module")
def varying() -> generator.SyntheticExtract:
    """Scale 0.15 (about 750 drug and 870 alcohol pilot journeys per post year; ~4 s)."""
    return generator.generate(params.SyntheticParams.from_config(_config(0.15, 11)))


def _cells(ex: generator.SyntheticExtract, cohort: str, outcome: str) -> pd.DataFrame:
    """Rate and n of ``outcome`` per cell: pilot/other x pre / post first year / post second year,
    from the truth journeys (study journeys, the outcome's denominator)."""
    j = ex.truth["journeys"]
    j = j[j["in_study"].astype(bool) & j["cohort"].eq(cohort) & j[outcome].notna()]
    year = np.where(j["period"].eq("pre"), "pre", np.where(j["start_date"] >= SECOND_YEAR, "post2", "post1"))
    group = np.where(j["pilot"].astype(bool), "pilot", "other")
    y = j[outcome].astype(float)
    return y.groupby([group, year]).agg(["mean", "size"]).rename(columns={"mean": "rate", "size": "n"})


def _log_did(cells: pd.DataFrame, post: str) -> tuple[float, float]:
    """Raw log DiD OR of post year ``post`` against the pre window, and its binomial SE."""
    keys = [("pilot", post), ("pilot", "pre"), ("other", post), ("other", "pre")]
    p = np.array([cells.loc[k, "rate"] for k in keys])
    n = np.array([cells.loc[k, "n"] for k in keys])
    logit = np.log(p / (1 - p))
    return float(logit[0] - logit[1] - logit[2] + logit[3]), float(np.sqrt((1 / (n * p * (1 - p))).sum()))


def _rate_se(cells: pd.DataFrame, key: tuple[str, str]) -> float:
    p, n = cells.loc[key, "rate"], cells.loc[key, "n"]
    return float(np.sqrt(p * (1 - p) / n))


# --------------------------------------------------------------------------- the default is unchanged


def _same_extract(a: generator.SyntheticExtract, b: generator.SyntheticExtract) -> bool:
    """The same bytes (tables, truth) and the same effects record but for the echoed settings."""
    for kind in ("tables", "truth"):
        for name, df in getattr(a, kind).items():
            if table_hash(df) != table_hash(getattr(b, kind)[name]):
                return False
    x, y = (dict(e.effects) for e in (a, b))
    x.pop("params"), y.pop("params")
    return json.dumps(x, sort_keys=True) == json.dumps(y, sort_keys=True)


def test_second_year_effects_set_to_their_values_give_the_same_extract():
    """The default second-year ORs written out give the default extract; every second-year OR null
    gives the extract of second-year ORs equal to the first year's (the setting's meaning of null),
    which is not the default one (issue #23: the defaults change over the post period)."""
    base_cfg = {"scale": 0.01, "seed": 9}
    default = params.SyntheticParams()
    resolved = {
        c: dict(default.effects_second_year.resolved(default.effects)[c]) for c in ("drug", "alcohol")
    }
    first_year = {
        c: {o: float(getattr(getattr(default.effects, c), o)) for o in params.OUTCOMES} for c in resolved
    }
    nulls = {c: dict.fromkeys(params.OUTCOMES) for c in ("drug", "alcohol")}
    base = generator.generate(params.SyntheticParams.from_config(base_cfg))
    written = generator.generate(
        params.SyntheticParams.from_config({**base_cfg, "effects_second_year": resolved})
    )
    assert _same_extract(base, written)
    null = generator.generate(params.SyntheticParams.from_config({**base_cfg, "effects_second_year": nulls}))
    constant = generator.generate(
        params.SyntheticParams.from_config({**base_cfg, "effects_second_year": first_year})
    )
    assert _same_extract(null, constant)
    assert not _same_extract(null, base)


def test_the_effects_record_keeps_its_keys_and_adds_the_second_year():
    ex = generator.generate(params.SyntheticParams(scale=0.005, seed=3))
    e = ex.effects
    # issue #23's defaults: drug completion 0.86 in the first post year (Mason 2015), 0.35 in the second
    assert e["did_or"]["drug"]["successful_completion"] == 0.86
    assert e["did_or_second_year"]["drug"]["successful_completion"] == 0.35
    # abstinence's second-year OR is null: the first year's
    assert e["did_or_second_year"]["drug"]["abstinence"] == e["did_or"]["drug"]["abstinence"]
    resolved = params.SyntheticParams().effects_second_year.resolved(params.EffectsParams())
    assert e["did_or_second_year"] == {
        c: resolved[c] | {o: e["did_or"][c][o] for o in params.DISCHARGE_OUTCOMES}
        for c in ("drug", "alcohol")
    }
    assert e["second_year_start"] == "2013-04-01"
    cal = e["calibration"]["drug"]["successful_completion"]
    for key in ("targets", "intercept_pilot", "intercept_other", "post_effect", "log_did_or", "did_or"):
        assert key in cal
    assert (cal["did_or"], cal["did_or_second_year"]) == (0.86, 0.35)
    assert 0 < cal["implied_pilot_post"] < 1 and 0.3 < cal["second_year_share"] < 0.7
    assert set(e["realised_by_post_year"]["drug"]["successful_completion"]) == {
        "pilot_post_first_year",
        "other_post_first_year",
        "raw_did_or_first_year",
        "pilot_post_second_year",
        "other_post_second_year",
        "raw_did_or_second_year",
    }
    json.dumps(e)


# --------------------------------------------------------------------------- the mechanism


def test_linear_predictor_uses_the_post_year_of_each_journey():
    p = params.SyntheticParams.from_config(
        {"effects": {"drug": {"abstinence": 2.0}}, "effects_second_year": {"drug": {"abstinence": 0.5}}}
    )
    model = new_model(p, {o: np.zeros(1) for o in params.OUTCOMES})
    treated = np.array([True, True, True, False, False])
    post = np.array([False, True, True, True, True])
    year2 = np.array([False, False, True, False, True])
    n = len(treated)
    lp = model.linear_predictor(
        "abstinence",
        np.zeros(n, dtype=np.int64),
        treated,
        post,
        np.zeros(n, dtype=np.int64),
        np.zeros(n),
        year2,
    )
    np.testing.assert_allclose(lp, np.log([1.0, 2.0, 0.5, 1.0, 1.0]))
    # without the year, the first year's OR (the behaviour before the setting existed)
    lp1 = model.linear_predictor(
        "abstinence", np.zeros(n, dtype=np.int64), treated, post, np.zeros(n, dtype=np.int64), np.zeros(n)
    )
    np.testing.assert_allclose(lp1, np.log([1.0, 2.0, 2.0, 1.0, 1.0]))


def test_second_year_starts_twelve_months_after_post_start():
    assert second_year_start("2012-04-01") == (
        np.datetime64("2013-04-01") - np.datetime64("1970-01-01")
    ).astype(int)
    assert second_year_start("2012-11-01") == (
        np.datetime64("2013-11-01") - np.datetime64("1970-01-01")
    ).astype(int)


def test_settings_are_checked():
    with pytest.raises(ValueError, match=r"effects_second_year\.drug\.abstinence must be > 0 or null"):
        params.SyntheticParams.from_config({"effects_second_year": {"drug": {"abstinence": 0}}})
    with pytest.raises(ValueError, match="must be a number or null"):
        params.SyntheticParams.from_config({"effects_second_year": {"drug": {"abstinence": "more"}}})
    with pytest.raises(ValueError, match=r"unknown key synthetic\.effects_second_year\.drug\.abstinance"):
        params.SyntheticParams.from_config({"effects_second_year": {"drug": {"abstinance": 1.0}}})
    p = params.SyntheticParams.from_config({"effects_second_year": {"alcohol": {"abstinence": 3}}})
    assert p.effects_second_year.odds_ratio(p.effects, "alcohol", "abstinence") == 3.0
    # the first year's: abstinence has no second-year default
    assert p.effects_second_year.odds_ratio(p.effects, "drug", "abstinence") == p.effects.drug.abstinence


# --------------------------------------------------------------------------- what the truth shows


@pytest.mark.parametrize(("cohort", "outcome"), list(PLANTED))
def test_raw_did_or_per_post_year_is_near_the_planted_one(varying, cohort, outcome):
    cells = _cells(varying, cohort, outcome)
    for post, planted in zip(("post1", "post2"), PLANTED[(cohort, outcome)], strict=True):
        log_did, se = _log_did(cells, post)
        assert abs(log_did - np.log(planted)) < SDS * se, (post, np.exp(log_did), planted, se)
        # the test can tell the years apart: the other year's OR is far outside the tolerance
        other = PLANTED[(cohort, outcome)][post == "post1"]
        assert abs(np.log(other) - np.log(planted)) > 2 * SDS * se


@pytest.mark.parametrize(("cohort", "outcome"), list(PLANTED))
def test_pilot_post_rates_move_with_the_planted_ors_and_other_areas_do_not(varying, cohort, outcome):
    cells = _cells(varying, cohort, outcome)
    first, second = PLANTED[(cohort, outcome)]
    step = cells.loc[("pilot", "post2"), "rate"] - cells.loc[("pilot", "post1"), "rate"]
    se = np.hypot(_rate_se(cells, ("pilot", "post1")), _rate_se(cells, ("pilot", "post2")))
    assert np.sign(step) == np.sign(second - first) and abs(step) > SDS * se, (step, se)
    other_step = cells.loc[("other", "post2"), "rate"] - cells.loc[("other", "post1"), "rate"]
    other_se = np.hypot(_rate_se(cells, ("other", "post1")), _rate_se(cells, ("other", "post2")))
    assert abs(other_step) < SDS * other_se, (other_step, other_se)


@pytest.mark.parametrize(("cohort", "outcome"), list(PLANTED))
def test_the_effects_record_matches_the_truth_per_post_year(varying, cohort, outcome):
    cells = _cells(varying, cohort, outcome)
    rec = varying.effects["realised_by_post_year"][cohort][outcome]
    cal = varying.effects["calibration"][cohort][outcome]
    first, second = PLANTED[(cohort, outcome)]
    assert varying.effects["did_or"][cohort][outcome] == cal["did_or"] == first
    assert varying.effects["did_or_second_year"][cohort][outcome] == cal["did_or_second_year"] == second
    for post, year in (("post1", "first_year"), ("post2", "second_year")):
        for group in ("pilot", "other"):
            got = rec[f"{group}_post_{year}"]
            assert got["n"] == cells.loc[(group, post), "n"]
            assert got["rate"] == pytest.approx(cells.loc[(group, post), "rate"], abs=1e-6)
        assert rec[f"raw_did_or_{year}"] == pytest.approx(np.exp(_log_did(cells, post)[0]), rel=1e-5)
        # the calibration's implied pilot post rate of the year, within binomial error of the realised
        implied = cal[f"implied_pilot_post_{year}"]
        assert abs(cells.loc[("pilot", post), "rate"] - implied) < SDS * _rate_se(cells, ("pilot", post))
    # the whole post period's implied rate mixes the years by their shares
    share = cal["second_year_share"]
    mix = (1 - share) * cal["implied_pilot_post_first_year"] + share * cal["implied_pilot_post_second_year"]
    assert cal["implied_pilot_post"] == pytest.approx(mix, abs=1e-5)


def test_the_bench_windows_agree_with_the_effects_record(varying):
    """bench/bench_effect_profile.py's window DiD: the Jones window is the record's raw DiD OR, its
    second-year window the record's second-year one."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "bench_effect_profile.py"
    spec = importlib.util.spec_from_file_location("bench_effect_profile", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    win = bench.windows("2012-04-01")
    for cohort, outcome in PLANTED:
        jones = bench.window_did(
            varying.truth["journeys"], cohort, outcome, *win["Jones (2 pre vs 2 post years)"]
        )
        year2 = bench.window_did(
            varying.truth["journeys"], cohort, outcome, *win["second post year vs 2 pre years"]
        )
        assert jones["raw_did_or"] == pytest.approx(
            varying.effects["realised"][cohort][outcome]["raw_did_or"], rel=1e-5
        )
        rec = varying.effects["realised_by_post_year"][cohort][outcome]
        assert year2["raw_did_or"] == pytest.approx(rec["raw_did_or_second_year"], rel=1e-5)
        mason = bench.window_did(
            varying.truth["journeys"], cohort, outcome, *win["Mason (FY11-12 vs FY12-13)"]
        )
        assert mason["pilot_post"]["n"] == rec["pilot_post_first_year"]["n"]


def _bench(name: str):
    """A bench script imported as a module (bench/ is not a package)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_calibration_bench_reads_the_truth_as_the_effects_record(varying):
    """bench/bench_calibration.py's analysis table of the truth: its raw cells over the two-year
    windows are the effects record's realised rates (the press-release and unadjusted-OR checks),
    its Mason window's pilot post cell the first post year's, and the adjusted fit runs on it."""
    from pbr.config import load_config

    bench = _bench("bench_calibration")
    frame = bench.analysis_frame(varying.truth["journeys"], "drug", "2010-04-01")
    post_start, year = pd.Timestamp("2012-04-01"), pd.DateOffset(years=1)
    jones = bench.in_window(
        frame, (pd.Timestamp("2010-04-01"), post_start), (post_start, post_start + 2 * year)
    )
    mason = bench.in_window(frame, (post_start - year, post_start), (post_start, post_start + year))
    assert len(jones) == len(frame)  # every study journey is in the two-year windows
    for outcome in ("successful_completion", "abstinence", "treatment_initiation"):
        cells = bench.raw_cells(jones, outcome)
        rec = varying.effects["realised"]["drug"][outcome]
        for key, (n, rate) in cells.items():
            assert n == rec[key]["n"] and rate == pytest.approx(rec[key]["rate"], abs=1e-6), (outcome, key)
        # the record's OR is from its rates rounded to 6 decimals: near 0.99 the odds magnify that
        assert bench.raw_or(cells) == pytest.approx(rec["raw_did_or"], rel=1e-3)
        first = varying.effects["realised_by_post_year"]["drug"][outcome]["pilot_post_first_year"]
        assert bench.raw_cells(mason, outcome)["pilot_post"][0] == first["n"]
    config = load_config(Path(__file__).resolve().parents[2] / "config" / "config.yaml")
    fit = bench.adjusted(jones, "drug", "successful_completion", config["models"], "quarter")
    assert fit["status"] != "not_estimable" and fit["ci_low"] < fit["estimate"] < fit["ci_high"] < 1


def test_the_calibration_bench_says_which_unadjusted_ors_an_adjusted_interval_needs():
    """With adjusted / unadjusted 0.9 and an interval of +-0.1 on the log scale, an adjusted interval
    holding 0.6 needs an unadjusted OR of 0.6 / 0.9 / e^0.1 to 0.6 e^0.1 / 0.9."""
    bench = _bench("bench_calibration")
    fit = {"estimate": 0.45, "ci_low": 0.45 * np.exp(-0.1), "ci_high": 0.45 * np.exp(0.1)}
    ratio, lo, hi = bench.needed_unadjusted(fit, 0.5, 0.6)
    assert ratio == pytest.approx(0.9)
    assert (lo, hi) == pytest.approx((0.6 / 0.9 / np.exp(0.1), 0.6 * np.exp(0.1) / 0.9))
    assert np.isnan(
        bench.raw_or(
            {"pilot_pre": (5, 0.0), "pilot_post": (5, 0.2), "other_pre": (5, 0.2), "other_post": (5, 0.2)}
        )
    )
