"""Table 1 (issue 22): baseline variables and levels in words, and the standardised mean
difference of pilot vs other areas in each period, under the disclosure rules."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from report_fixtures import COHORTS, K, make_baseline

from pbr.registry.covariates import BASELINE_LABELS, baseline_label, level_label
from pbr.report.descriptive import baseline_section, smd_continuous, smd_proportion
from pbr.report.disclosure import DERIVED, Disclosure

# ---------------------------------------------------------------------------------------
# Table 1


def test_smd_formulas():
    assert smd_proportion(0.5, 0.5) == 0
    assert smd_proportion(0.6, 0.4) == pytest.approx(0.2 / math.sqrt(0.24))
    assert smd_proportion(0.0, 0.0) == 0 and math.isnan(smd_proportion(float("nan"), 0.3))
    assert smd_continuous(10, 2, 9, 4) == pytest.approx(1 / math.sqrt(10))
    assert math.isnan(smd_continuous(1, 0, 1, 0))


def test_table1_uses_labels_and_shows_the_smd_by_period():
    assert baseline_label("sex") == BASELINE_LABELS["sex"] == "Sex"
    assert level_label("sex", "F") == "female" and level_label("baseline_use", "no_top") == "no start TOP"
    assert level_label("referral_source", "criminal_justice") == "criminal justice"
    disc = Disclosure(K, active=False)
    (drug, _) = baseline_section(make_baseline(), COHORTS, {}, disc)
    disc.resolve()
    head = [str(c["text"]) for row in drug["head"] for c in row]
    assert "SMD, pilot vs other" in head and head[-2:] == ["pre", "post"]
    texts = [[str(c["text"]) for c in row] for row in drug["body"]]
    assert not any("age_group" in t for row in texts for t in row)
    assert any("Age group (years)" in row for row in texts)
    female = next(row for row in texts if "female" in row)
    # drug pre: pilot 4/214 female, other 2873 // 3 of 2873
    p1, p2 = 4 / 214, (2873 // 3) / 2873
    assert female[-2] == f"{smd_proportion(p1, p2):.2f}".replace("-", "−")
    assert not any(t in ("−0.00", "-0.00") for row in texts for t in row)  # 0.00, never minus zero


def test_table1_smd_from_a_small_count_is_suppressed_in_real_mode():
    disc = Disclosure(K, active=True)
    (drug, _) = baseline_section(make_baseline(), COHORTS, {}, disc)
    disc.resolve()
    texts = [[str(c["text"]) for c in row] for row in drug["body"]]
    female = next(row for row in texts if "female" in row)
    assert female[-2:] == [DERIVED, DERIVED]  # pilot female is 4 journeys in each period
    age = next(row for row in texts if "18-24" in row)
    assert DERIVED not in age[-2:] and all(re.fullmatch(r"−?\d\.\d\d", t) for t in age[-2:])


def test_baseline_fixture_has_a_small_pilot_level():
    b = make_baseline()
    assert ((b["variable"] == "sex") & (b["n"] < K) & (b["n"] > 0)).any()
    assert isinstance(b, pd.DataFrame)
