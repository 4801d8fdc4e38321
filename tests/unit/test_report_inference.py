"""Honest inference in the report (issue 19): every verdict is made by a method allowed to make
one, CRV1 is shown for reference only, raw-coefficient RI never decides, and the report says
which method made each verdict with its measured size.

Also: the method vocabulary (:mod:`pbr.registry.methods`) and its measured-sizes loader, the
reproduction in two steps, the absolute effects, the multiplicity-adjusted p-values, the
minimum detectable ORs and the equivalence statement. The inputs are the hand-built ones of
``report_fixtures`` (with the honest-inference rows of ``add_honest_rows``), changed row by
row; ``tests/report_sizes.csv`` holds made-up sizes (a fixture, not a measurement).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from report_fixtures import (
    COHORTS,
    MDE,
    METHODS,
    OUTCOMES,
    SIZES_CSV,
    make_config,
    make_inputs,
    make_results,
    make_sizes,
    parse_cells,
)

from pbr.registry import methods as registry
from pbr.report import cells
from pbr.report.did import DidSettings, did_rows, rule_out_text
from pbr.report.estimates import pretrend_tests, robustness_section
from pbr.report.findings import summary_findings
from pbr.report.methods import verdict_methods, verdict_methods_table

HEADLINE = "logit_score_wcb"
#: every method named in issue 19's interfaces
INTERFACE_METHODS = {
    *METHODS,
    "lpm_ri_t_size",
    "logit_ri_t_size",
    "logit_att_score_wcb",
    "logit_per_pilot",
    "lpm_per_pilot",
    "logit_ibragimov_mueller",
    "lpm_ibragimov_mueller",
    "logit_canay_romano_shaikh",
    "lpm_canay_romano_shaikh",
}


def _set(
    res: pd.DataFrame, cohort: str, outcome: str, method: str, spec: str = "main", **values
) -> pd.DataFrame:
    """``res`` with ``values`` set on one row."""
    res = res.copy()
    sel = (
        (res["cohort"] == cohort)
        & (res["outcome"] == outcome)
        & (res["specification"] == spec)
        & (res["method"] == method)
    )
    assert sel.sum() == 1, (cohort, outcome, spec, method)
    for k, v in values.items():
        res.loc[sel, k] = v
    return res


def _row(res: pd.DataFrame, outcome: str, cohort: str = "drug", settings: DidSettings | None = None) -> dict:
    (row,) = [
        r
        for r in did_rows(res, COHORTS, OUTCOMES, HEADLINE, settings=settings)
        if r["outcome_key"] == outcome and r["cohort"] == cohort
    ]
    return row


def _findings(res: pd.DataFrame, planted: dict | None = None, planted_raw: dict | None = None) -> list[dict]:
    rows = did_rows(res, COHORTS, OUTCOMES, HEADLINE, planted, planted_raw=planted_raw)
    rob = robustness_section(res, COHORTS, OUTCOMES, make_config())
    return summary_findings(rows, [], rob, HEADLINE, True, results=res)


def _item(findings: list[dict], start: str) -> dict:
    (item,) = [f for f in findings if f["text"].startswith(start)]
    return item


# ---------------------------------------------------------------------------------------
# The vocabulary


def test_every_interface_method_is_in_the_registry_with_its_role():
    assert set(registry.METHODS) >= INTERFACE_METHODS
    roles = {m: registry.role_of(m) for m in INTERFACE_METHODS}
    assert {m for m, r in roles.items() if r == "exchangeable_only"} == {"logit_ri", "lpm_ri"}
    assert roles["logit_crv1"] == roles["lpm_crv1"] == "reference"
    verdict = {m for m, r in roles.items() if r == "verdict"}
    assert {"logit_score_wcb", "lpm_wcb_webb", "logit_ri_t", "lpm_ri_t", "logit_ri_t_size"} <= verdict
    assert {"logit_ibragimov_mueller", "lpm_canay_romano_shaikh"} <= verdict
    assert not registry.may_decide("unknown_method")  # an unknown method never decides
    assert registry.METHODS["logit_att_score_wcb"].reporting_scale == "risk_difference"
    assert registry.METHODS["logit_ibragimov_mueller"].reporting_scale == "odds_ratio"
    assert registry.METHODS["lpm_wcb_webb"].family == "linear"


def test_the_report_labels_are_the_registry_labels():
    assert cells.METHOD_LABELS is registry.METHOD_LABELS and cells.SHORT_LABELS is registry.SHORT_LABELS
    assert cells.SHORT_LABELS["logit_score_wcb"] == "wild cluster score bootstrap"


# ---------------------------------------------------------------------------------------
# Measured sizes


def test_measured_sizes_reads_the_fixture_and_a_missing_file_reads_empty(tmp_path):
    sizes = make_sizes()
    assert list(sizes.columns) == list(registry.SIZE_COLUMNS)
    assert set(sizes["method"]) == {"logit_score_wcb", "lpm_wcb_webb", "logit_ri_t"}
    (main,) = [s for s in registry.sizes_of(sizes, HEADLINE) if s["check"] == "main DiD"]
    assert main["rejection_rate"] == 0.05 and main["replicates"] == 200
    empty = registry.measured_sizes(tmp_path / "absent.csv")
    assert empty.empty and list(empty.columns) == list(registry.SIZE_COLUMNS)
    assert registry.sizes_of(empty, HEADLINE) == []


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.drop(columns="mc_se"), "missing column(s) mc_se"),
        (lambda d: d.assign(method="logit_bogus"), "unknown method"),
        (lambda d: d.assign(rejection_rate=1.5), "rejection_rate outside [0, 1]"),
        (lambda d: d.assign(mc_se=-0.1), "mc_se missing or negative"),
        (lambda d: d.assign(replicates=0), "replicates below 1"),
        (lambda d: d.assign(command=""), "no command"),
    ],
)
def test_a_malformed_sizes_file_is_an_error_naming_the_problem(tmp_path, change, message):
    path = tmp_path / "sizes.csv"
    change(pd.read_csv(SIZES_CSV)).to_csv(path, index=False)
    with pytest.raises(registry.SizesError, match=re.escape(message)):
        registry.measured_sizes(path)


# ---------------------------------------------------------------------------------------
# Verdicts: the headline method, never CRV1 nor raw-coefficient RI


def test_crv1_never_decides_a_verdict():
    res = make_results()
    # CRV1 excludes the published 1.50 and 1; the headline interval includes both
    res = _set(res, "drug", "abstinence", "logit_crv1", ci_low=1.05, ci_high=1.2, p_value=0.001)
    findings = _findings(res)
    for f in findings:
        if f["ok"] is not None and f["method"]:
            assert registry.may_decide(f["method"]), f
    crv1_items = [f for f in findings if f["method"] == "logit_crv1"]
    assert crv1_items and all(
        f["ok"] is None and f["text"].startswith("For reference only") for f in crv1_items
    )
    # step 2 names the change of conclusion
    step2 = _item(findings, "Step 2, honest inference")
    assert (
        "Abstinence at review ✗: significant under CRV1, not under the wild cluster score bootstrap"
        in step2["detail"]
    )
    assert step2["method"] == HEADLINE


def test_without_a_headline_interval_there_is_no_verdict_and_crv1_does_not_stand_in():
    res = _set(make_results(), "drug", "successful_completion", HEADLINE, ci_low=np.nan, ci_high=np.nan)
    row = _row(res, "successful_completion")
    assert not row["verdict"].ok and row["inside"] is None and row["significant"] is None
    assert row["inside_crv1"] is None and "CRV1 shown for reference only" in row["note"]
    res = res[~((res["method"] == HEADLINE) & (res["outcome"] == "abstinence"))]
    row = _row(res, "abstinence")
    assert not row["verdict"].ok and "no Logit, wild cluster score bootstrap result" in row["note"]


def test_the_pretrend_item_counts_the_headline_tests_only():
    res = make_results()
    # the CRV1 test flags a pre-trend; the bootstrap test does not: no flag
    res = _set(res, "drug", "successful_completion", "logit_crv1", "event_study_pretrend", p_value=0.01)
    item = _item(_findings(res), "Pre-trend tests (logit score bootstrap)")
    assert item["ok"] is None and item["text"].endswith("0 of 1") and item["method"] == HEADLINE
    family = _item(_findings(res), "Pre-trend across the 1 pre-trend test ")
    assert family["ok"] is True and family["method"] == HEADLINE
    (test,) = pretrend_tests(res, lead=HEADLINE).values()
    assert test["p"] == 0.45 and test["p_crv1"] == 0.01 and test["method"] == HEADLINE
    res = _set(res, "drug", "successful_completion", HEADLINE, "event_study_pretrend", p_value=0.02)
    item = _item(_findings(res), "Pre-trend tests (logit score bootstrap)")
    assert "Successful completion (12 months) (drug)" in item["text"]
    family = _item(_findings(res), "Pre-trend across the 1 pre-trend test ")
    assert family["ok"] is False and "Successful completion (12 months) (drug)" in family["text"]
    # without the score bootstrap's test, the next method by the rule decides (here the LPM WCR's
    # p 0.50), and the findings say so
    res = res[~((res["specification"] == "event_study_pretrend") & (res["method"] == HEADLINE))]
    item = _item(_findings(res), "Pre-trend tests (LPM wild bootstrap)")
    assert item["method"] == "lpm_wcb_webb" and item["text"].endswith("0 of 1")
    family = _item(_findings(res), "Pre-trend across the 1 pre-trend test ")
    assert family["ok"] is True and family["method"] == "lpm_wcb_webb"
    # without any test allowed to decide: the CRV1 test is for reference only, never a verdict
    res = res[~((res["specification"] == "event_study_pretrend") & (res["method"] == "lpm_wcb_webb"))]
    item = _item(
        _findings(res), "For reference only, not a verdict (no wild cluster score bootstrap pre-trend"
    )
    assert item["ok"] is None and item["method"] == "logit_crv1"


def test_the_planted_check_uses_the_headline_interval_only():
    res = make_results()
    # the planted 0.60 lies inside the CRV1 interval, outside the headline one
    res = _set(res, "drug", "successful_completion", HEADLINE, ci_low=0.3, ci_high=0.55)
    res = _set(res, "drug", "successful_completion", "logit_crv1", ci_low=0.5, ci_high=0.7)
    res = _set(res, "drug", "successful_completion", "logit_ri", p_value=0.5)
    planted = {("drug", "successful_completion"): 0.6}
    item = _item(_findings(res, planted), "Synthetic check: planted OR inside the headline interval")
    assert item["ok"] is False and item["method"] == HEADLINE and "0 of 1" in item["text"]


def test_the_planted_check_names_raw_planted_outcomes_as_not_compared():
    """An outcome planted as a raw DiD OR is neither counted nor marked: the item names it, raw."""
    res = make_results()
    planted = {("drug", "successful_completion"): 0.6}
    item = _item(
        _findings(res, planted, {("drug", "abstinence"): 1.3}),
        "Synthetic check: planted OR inside the headline interval",
    )
    assert (
        "1 of 1" in item["text"] and "not compared: Abstinence at review (drug, raw 1.30)" in item["detail"]
    )
    item = _item(_findings(res, planted), "Synthetic check: planted OR inside the headline interval")
    assert "not compared" not in item["detail"]


def test_the_mason_item_uses_the_headline_row_and_crv1_only_for_reference():
    res = make_results()
    res = _set(res, "drug", "successful_completion", HEADLINE, "mason_2015", ci_low=0.88, ci_high=1.1)
    item = _item(_findings(res), "Mason 2015 ORs inside the reproduced interval")
    assert item["ok"] is False and item["method"] == HEADLINE  # 0.859 outside 0.88-1.1; CRV1 has it inside
    res = res[~((res["specification"] == "mason_2015") & (res["method"] == HEADLINE))]
    item = _item(
        _findings(res), "For reference only, not a verdict (no wild cluster score bootstrap fit of the Mason"
    )
    assert item["ok"] is None


def test_the_mason_item_quotes_the_random_intercept_model_and_keeps_the_headline_verdict():
    # Mason's own model (logit_re) excludes the published 0.859; the headline interval 0.74-1.01 has it
    res = _set(
        make_results(), "drug", "successful_completion", "logit_re", "mason_2015", ci_low=0.6, ci_high=0.8
    )
    item = _item(_findings(res), "Mason 2015 ORs inside the reproduced interval")
    assert item["ok"] is True and item["method"] == HEADLINE
    quoted = (
        "random-intercept logit (Mason's model, for reference only): "
        "OR 0.840, 95% model-based interval 0.600–0.800"
    )
    assert quoted in item["detail"]
    rob = robustness_section(res, COHORTS, OUTCOMES, make_config())
    comment = next(
        row[-2]["text"]
        for row in rob["table"]["body"]
        if any("Mason 2015 window" in str(c["text"]) for c in row)
    )
    assert quoted in comment
    # without the row: nothing quoted
    res = res[res["method"] != "logit_re"]
    assert "random-intercept" not in _item(_findings(res), "Mason 2015 ORs inside")["detail"]


# ---------------------------------------------------------------------------------------
# Reproduction in two steps; multiplicity; absolute effects; what a null can rule out


def test_step_one_compares_the_point_estimate_within_the_tolerance():
    res = make_results()  # successful completion 0.58 against 0.60 (ratio 1.034); abstinence 1.2 against 1.5
    row = _row(res, "successful_completion")
    assert row["ratio"] == pytest.approx(0.60 / 0.58) and row["within_tolerance"] is True
    assert row["inside_published"] is True  # 0.58 in 0.53-0.67
    row = _row(res, "abstinence")
    assert row["within_tolerance"] is False and row["inside_published"] is False
    assert _row(res, "abstinence", settings=DidSettings(tolerance=1.3))["within_tolerance"] is True
    item = _item(_findings(res), "Step 1, point estimates: reproduced OR within a factor 1.10")
    assert item["text"].endswith("1 of 2") and item["ok"] is False
    # abstinence's ratio 1.25 is outside the factor, but its headline interval holds the published 1.5
    assert "ratio 1.034" in item["detail"] and item["detail"].endswith(
        "within sampling error (the published OR lies inside the reproduced 95% interval, next item): "
        "Abstinence at review"
    )
    res = _set(res, "drug", "abstinence", HEADLINE, ci_low=1.0, ci_high=1.4)
    item = _item(_findings(res), "Step 1, point estimates: reproduced OR within a factor 1.10")
    assert item["ok"] is False and "sampling error" not in item["detail"]
    assert DidSettings.of(make_config() | {"report": {"reproduction_tolerance": 1.25}}).tolerance == 1.25


def test_multiplicity_counts_the_findings_that_stay_significant():
    res = make_results()  # successful completion: p 0.01, Holm 0.03, Romano-Wolf 0.02 in both cohorts
    res = _set(res, "alcohol", "successful_completion", HEADLINE, p_holm=0.09)
    item = _item(_findings(res), "Multiplicity")
    assert "2 significant at p < 0.05" in item["text"] and "after Holm: 1" in item["text"]
    assert "after Romano-Wolf: 2" in item["text"] and item["ok"] is None
    assert "Successful completion (12 months) (alcohol" in item["detail"]
    row = _row(res, "successful_completion", "alcohol")
    assert row["significant_holm"] is False and row["significant_romano_wolf"] is True


def test_absolute_effects_and_the_minimum_detectable_or():
    res = make_results()
    row = _row(res, "abstinence")
    assert (row["att"], row["att_low"], row["att_high"]) == (-0.021, -0.043, 0.004)
    assert (row["rd"], row["rd_low"], row["rd_high"]) == (0.02, -0.01, 0.05)
    assert row["significant"] is False and (row["mde_low"], row["mde_high"]) == MDE
    assert row["rule_out"] == "could rule out ORs below 0.55 or above 1.70 at 80% power"
    assert _row(res, "successful_completion")["rule_out"] == ""  # significant: nothing to rule out
    no_mde = _set(res, "drug", "abstinence", HEADLINE, mde_low=np.nan, mde_high=np.nan)
    assert _row(no_mde, "abstinence")["rule_out"] == "minimum detectable OR not computed"


def test_the_equivalence_statement_follows_the_margin():
    res = make_results()  # abstinence: headline 0.84-1.68; drug-related death 0.63-1.26
    wide, narrow = DidSettings(margin=1.8), DidSettings(margin=1.25)
    assert "; equivalent within the margin 0.56–1.80" in rule_out_text(_row(res, "abstinence"), wide)
    assert "not shown equivalent within 0.80–1.25" in rule_out_text(_row(res, "abstinence"), narrow)
    cfg = make_config()
    assert DidSettings.of(cfg).margin is None
    cfg["models"]["equivalence_margin_or"] = 1.5
    assert DidSettings.of(cfg).margin == 1.5
    cfg["models"]["equivalence_margin_or"] = 1.0  # m must exceed 1
    assert DidSettings.of(cfg).margin is None


# ---------------------------------------------------------------------------------------
# The rendered report


def test_the_report_says_which_method_made_each_verdict_with_its_size(html):
    """Every verdict-role method the report uses has a row in the sizes fixture, and each
    verdict in the findings box names its method."""
    text = html.read_text()
    summary = text[
        text.index('<section id="summary"') : text.index("</section>", text.index('<section id="summary"'))
    ]
    verdicts = summary.count('<li class="ok">') + summary.count('<li class="not-ok">')
    method_verdicts = summary.count("Decided by:")
    assert verdicts and method_verdicts == verdicts
    assert summary.count("Decided by: the logit DiD point estimates") == 3  # step 1: no inference method
    sizes = make_sizes()
    table_cells = [c for c in parse_cells(html).cells if c["table"] == "tbl-verdict-methods"]
    used = {m for m in registry.METHODS if any(f"({m})" == c["text"][-len(m) - 2 :] for c in table_cells)}
    assert HEADLINE in used
    for m in used:
        assert registry.may_decide(m), f"{m} made a verdict but its role is {registry.role_of(m)}"
        assert registry.sizes_of(sizes, m), f"{m} made a verdict but has no row in the sizes fixture"
    texts = [c["text"] for c in table_cells]
    assert "5.0% (MC SE 1.5%, 200 replicates)" in texts and "size not measured" not in texts


def test_a_verdict_method_without_a_measured_size_says_so():
    inputs = make_inputs()
    findings = _findings(inputs.results)
    verdicts = verdict_methods(findings, HEADLINE, did_rows(inputs.results, COHORTS, OUTCOMES, HEADLINE))
    assert set(verdicts) == {HEADLINE}
    sizes = make_sizes()
    tbl = verdict_methods_table(verdicts, sizes[sizes["method"] != HEADLINE])
    texts = [c["text"] for row in tbl["body"] for c in row]
    assert "size not measured" in texts
    tbl = verdict_methods_table(verdicts, sizes)
    texts = [c["text"] for row in tbl["body"] for c in row]
    assert "size not measured" not in texts and len(tbl["body"]) == 2  # two checks measured
    # a verdict of another section, by a method without a measured size, says so
    verdicts = verdict_methods(findings, HEADLINE, [], extra={"lpm_canay_romano_shaikh": ["per-pilot test"]})
    tbl = verdict_methods_table(verdicts, sizes)
    (row,) = [r for r in tbl["body"] if "(lpm_canay_romano_shaikh)" in r[0]["text"]]
    assert [c["text"] for c in row][-1] == "size not measured" and "per-pilot test" in row[2]["text"]


def test_the_did_table_and_csv_show_the_new_columns(html):
    text = html.read_text()
    for head in ("Holm p", "Romano-Wolf p", "ATT (logit, headline CI)", "CRV1, for reference only"):
        assert head in text
    assert "−2.1 (−4.3 to 0.4)" in text  # the ATT in percentage points
    assert "could rule out ORs below 0.55 or above 1.70 at 80% power" in text
    did = pd.read_csv(html.parent / "did.csv").set_index(["cohort", "outcome"])
    for col in ("p_holm", "p_romano_wolf", "att", "lpm_risk_difference", "mde_low", "point_within_tolerance"):
        assert col in did.columns
    assert did.loc[("drug", "successful_completion"), "p_holm"] == 0.03
    assert bool(did.loc[("drug", "successful_completion"), "point_within_tolerance"]) is True
    assert did.loc[("drug", "abstinence"), "att"] == -0.021


@pytest.fixture(scope="module")
def html(rendered):
    """The synthetic-mode report of conftest's session fixture."""
    return rendered["synthetic"]


def test_raw_coefficient_ri_is_labelled_valid_only_under_exchangeability(html):
    for m in ("logit_ri", "lpm_ri"):
        assert registry.EXCHANGEABLE_NOTE in registry.METHOD_LABELS[m]
    assert registry.EXCHANGEABLE_NOTE == "valid only if the pilots were exchangeable with other areas"
    text = html.read_text()
    assert f"Logit, randomisation inference (coefficient; {registry.EXCHANGEABLE_NOTE})" in text


def test_a_crv1_headline_is_flagged_and_the_crv1_reference_reads_p_crv1():
    res = make_results()
    rows = did_rows(res, COHORTS, OUTCOMES, "logit_crv1")
    rob = robustness_section(res, COHORTS, OUTCOMES, make_config())
    findings = summary_findings(rows, [], rob, "logit_crv1", True, results=res)
    assert findings[0]["ok"] is False and "its size is not honest" in findings[0]["text"]
    # without bootstrap pre-trend rows, the CRV1 tests are counted for reference, by their CRV1 p
    res = _set(res, "drug", "successful_completion", "logit_crv1", "event_study_pretrend", p_value=0.01)
    res = res[~((res["specification"] == "event_study_pretrend") & (res["method"] != "logit_crv1"))]
    rob = robustness_section(res, COHORTS, OUTCOMES, make_config())
    findings = summary_findings(rows, [], rob, HEADLINE, True, results=res)
    item = _item(findings, "For reference only, not a verdict (no wild cluster score bootstrap pre-trend")
    assert item["text"].endswith("1 of 1") and item["ok"] is None


def test_sections_can_report_their_verdicts_to_the_methods_section():
    from pbr.report.render import section_verdicts

    sections = {
        "rows": [],
        "robustness": {"verdicts": {HEADLINE: ["pre-trend detected"]}},
        "pilots": {
            "verdicts": {"logit_ibragimov_mueller": ["per-pilot t test"], HEADLINE: ["leave-one-out"]}
        },
        "flow": None,
    }
    assert section_verdicts(sections) == {
        HEADLINE: ["pre-trend detected", "leave-one-out"],
        "logit_ibragimov_mueller": ["per-pilot t test"],
    }


def test_the_pretrend_verdict_follows_the_configured_headline():
    """With the LPM bootstrap as headline, its pre-trend p makes the verdict; a not-estimable
    headline row is named with its reason, not silently counted."""
    res = make_results()
    res = _set(res, "drug", "successful_completion", "lpm_wcb_webb", "event_study_pretrend", p_value=0.01)
    (test,) = pretrend_tests(res, lead="lpm_wcb_webb").values()
    assert test["method"] == "lpm_wcb_webb" and test["detected"] is True and test["p"] == 0.45
    (test,) = pretrend_tests(res).values()
    assert test["method"] == HEADLINE and test["detected"] is False
    res = _set(
        res,
        "drug",
        "successful_completion",
        HEADLINE,
        "event_study_pretrend",
        status="not_estimable",
        p_value=np.nan,
        note="not estimable: no events in the pilots",
    )
    (test,) = pretrend_tests(res).values()
    assert test["detected"] is None and test["tested"] and test["reason"] == "no events in the pilots"


def test_the_methods_state_denominators_the_covariate_rule_and_the_overlap_rule(html):
    """Issue #25: every outcome's denominator, which outcomes leave out the start-TOP covariates,
    and what the journeys do with overlapping episodes, in the methods section."""
    from pbr.config import validate_config
    from pbr.registry.outcomes import OUTCOMES
    from pbr.report.methods import covariate_rule

    text = html.read_text()
    methods = text[text.index("<dt>Journeys</dt>") : text.index("<dt>Inference</dt>")]
    shown = [o for o in OUTCOMES if f"<strong>{o.label}</strong>" in methods]
    assert len(shown) == 3  # the fixture's outcomes
    for o in shown:
        assert f"<strong>{o.label}</strong> (denominator: {o.denominator})" in methods
    assert "journeys.overlap_rule: merge" in methods
    # the fixture has no outcome decided at the start; the default config has three
    assert "Every outcome is adjusted for the same covariates." in methods
    cfg = validate_config({})
    rule = covariate_rule(cfg)
    assert rule.startswith(
        "Treatment initiation, Waiting time over 3 weeks, Declined to continue (Mason 2015) are"
    )
    assert "leave out baseline_use, baseline_functioning" in rule
    cfg["models"]["start_outcome_covariates"] = "all"
    assert "like the other outcomes (models.start_outcome_covariates: all)" in covariate_rule(cfg)
