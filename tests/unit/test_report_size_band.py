"""The report says plainly, from the simulation study's per-scenario rates, in which scenarios no
method allowed to decide a verdict held its size inside 4-6% (issue #20's target)."""

from __future__ import annotations

import pandas as pd
import pytest
from report_fixtures import make_study_rates

from pbr.registry.methods import SizesError, study_rates
from pbr.report.methods import SIZE_BAND, STUDY_CHECKS, size_band_items, size_band_leads
from pbr.simstudy import sizes as registry_sizes


def test_the_items_name_the_lead_methods_span_and_the_scenarios_without_a_method_in_the_band():
    items = size_band_items(
        make_study_rates(), {"main": "logit_score_wcb", "placebo_2011": "logit_score_wcb"}
    )
    main, placebo = items
    assert main["check"].startswith("Main estimate") and placebo["check"] == "Placebo start"
    assert main["span"] == (
        "Logit, wild cluster score bootstrap (logit_score_wcb): 4.5% (four) to 7.2% (smallest) over 3 scenarios"
    )
    # smallest: both verdict methods outside 4-6% (CRV1 never decides, so its 17.5% is not "nearest")
    assert main["failing"] == ["smallest (nearest: lpm_wcb_webb 6.7%)"]
    assert main["methods"] == ["logit_score_wcb", "lpm_wcb_webb"] and main["scenarios"] == 3
    assert placebo["failing"] == ["smallest (nearest: logit_score_wcb 8.0%)"]
    # outside the band, but not beyond Monte Carlo error: 6.7% -+ 1.96 x 0.56% reaches 6%
    assert main["beyond_error"] == [] and placebo["beyond_error"] == []
    clear = make_study_rates().assign(
        rate=lambda t: t["rate"].where(
            ~((t["scenario"] == "smallest") & (t["method"] == "lpm_wcb_webb")), 0.09
        )
    )
    (main_clear,) = [i for i in size_band_items(clear, {}) if i["check"].startswith("Main")]
    assert main_clear["beyond_error"] == ["smallest"]  # 7.2% -+ 1.14% and 9.0% -+ 1.10%: both clear of 6%
    # a band that holds everything names no scenario; a missing lead gives no span
    (wide,) = size_band_items(make_study_rates()[lambda t: t["check"] == "main"], {}, band=(0.0, 0.2))
    assert wide["failing"] == [] and wide["span"] == ""
    assert size_band_items(pd.DataFrame(columns=["scenario", "check", "method", "rate"]), {}) == []
    assert SIZE_BAND == (0.04, 0.06)


def test_every_study_check_has_its_words_and_a_lead_from_one_vocabulary():
    # the study's checks as the registry names them are the report's checks, in its order
    assert set(registry_sizes.CHECK_NAMES.values()) == set(STUDY_CHECKS)
    leads = size_band_leads("head", "pre", "rob")
    assert leads == {
        "main": "head",
        "event_study_pretrend": "pre",
        "placebo_2011": "rob",
        "leave_one_out": "rob",
        "mason_2015": "rob",
        "donut": "rob",
    }


def test_the_report_prints_the_sentence(rendered):
    text = rendered["synthetic"].read_text()
    start = text.index('id="size-band"')
    block = text[start : text.index("</ul>", start)]
    assert "4&ndash;6%" in block
    assert "No method (logit_score_wcb, lpm_wcb_webb) inside the band in\n    1 of 3 scenarios" in block
    assert "smallest (nearest: lpm_wcb_webb 6.7%)" in block
    assert "in none of them beyond Monte Carlo error" in block


def test_study_rates_are_checked_and_written_from_the_performance_table(tmp_path):
    bad = make_study_rates().assign(rate=lambda t: t["rate"].where(t.index != 2, 1.4))
    bad.to_csv(tmp_path / "r.csv", index=False)
    with pytest.raises(SizesError, match=r"r.csv: rate outside \[0, 1\] \(row 4\)"):
        study_rates(tmp_path / "r.csv")
    assert study_rates(tmp_path / "missing.csv").empty
    perf = pd.DataFrame(
        {
            "scenario": ["base", "base", "or_0.6", "base"],
            "check": ["main", "placebo", "donut", "interval"],
            "method": ["logit_score_wcb"] * 4,
            "measure": ["size", "size", "power", "width"],
            "replicates": [2000, 500, 500, 100],
            "reject_truth": [0.05, float("nan"), float("nan"), float("nan")],
            "reject_truth_mc_se": [0.005, float("nan"), float("nan"), float("nan")],
            "reject_zero": [0.05, 0.06, 0.9, float("nan")],
            "reject_zero_mc_se": [0.005, 0.011, 0.013, float("nan")],
        }
    )
    rates = registry_sizes.rate_rows(perf)
    assert rates[["scenario", "check", "rate"]].values.tolist() == [
        ["base", "main", 0.05],
        ["base", "placebo_2011", 0.06],
    ]
