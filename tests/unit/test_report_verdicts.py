"""The report never prints or counts a misleading row as a finding.

Each protection has a test that fails without it: rows the fit marks not estimable (no number,
not counted), rows with too few events or an uninformative interval (no verdict, not counted),
huge or tiny numbers (scientific notation, flagged), a pilot set other than the published
eight (a warning box), and counts inside notes and reasons in real-data mode (the disclosure
rule). The inputs are the small hand-built ones of ``test_report``, changed row by row.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import COHORTS, OUTCOMES, K, make_config, make_inputs, make_sizes, parse_cells

from pbr.config import config_hash
from pbr.fit.pilots import canay_romano_shaikh
from pbr.flow import flow_frame, flow_row
from pbr.registry.methods import SIZE_COLUMNS, p_floor
from pbr.registry.published import PUBLISHED_PILOT_AREAS
from pbr.report.cells import format_interval, format_number
from pbr.report.did import did_rows
from pbr.report.disclosure import redact_counts
from pbr.report.estimates import robustness_section
from pbr.report.findings import area_summary, summary_findings
from pbr.report.inputs import AREA_COLUMNS, ReportInputs, load_inputs
from pbr.report.render import render_report
from pbr.report.verdicts import (
    MAX_CI_RATIO,
    MIN_CELL_EVENTS,
    WORST_SCENARIO,
    interval_problem,
    lead_method,
    lead_methods,
    reaches_level,
)

HEADLINE = "logit_score_wcb"


# ---------------------------------------------------------------------------------------
# Helpers


def _set(results: pd.DataFrame, cohort: str, outcome: str, methods=None, **values) -> pd.DataFrame:
    """``results`` with ``values`` set on the main rows of one model (all methods by default)."""
    res = results.copy()
    for col in values:
        if col not in res.columns:
            res[col] = pd.Series([None] * len(res), dtype=object)
    sel = (res["cohort"] == cohort) & (res["outcome"] == outcome) & (res["specification"] == "main")
    if methods is not None:
        sel &= res["method"].isin(methods)
    for col, v in values.items():
        res.loc[sel, col] = v
    return res


def _render(tmp: Path, inputs: ReportInputs, real: bool = False, name: str = "r") -> Path:
    cfg = make_config(real)
    out = tmp / name
    render_report(
        inputs,
        cfg,
        config_hash(cfg),
        {},
        out / "report.html",
        run_date="2026-01-01 00:00 UTC",
        extra_outputs={"did_csv": out / "did.csv", "flow_csv": out / "flow.csv", "forest_png": out / "f.png"},
        method_sizes=make_sizes(),
    )
    return out / "report.html"


def _findings(results: pd.DataFrame, synthetic: bool = True) -> list[dict]:
    cfg = make_config()
    rows = did_rows(results, COHORTS, OUTCOMES, HEADLINE)
    rob = robustness_section(results, COHORTS, OUTCOMES, cfg)
    return summary_findings(rows, [], rob, HEADLINE, synthetic)


def _item(findings: list[dict], start: str) -> dict:
    (item,) = [f for f in findings if f["text"].startswith(start)]
    return item


def _did_row_cells(html: Path, cohort: str, outcome_label: str) -> list[str]:
    """The texts of the DiD table's row for one cohort and outcome (cells in order)."""
    cells = [c for c in parse_cells(html).cells if c["table"] == "tbl-did"]
    rows, cur = [], []
    for c in cells:
        if c["tag"] == "td" and c["text"] in COHORTS and cur and any(x["tag"] == "th" for x in cur):
            rows.append(cur)
            cur = []
        cur.append(c)
    rows.append(cur)
    for r in rows:
        texts = [c["text"] for c in r]
        if texts and texts[0] == cohort and outcome_label in texts:
            return texts
    raise AssertionError(f"no DiD row {cohort} / {outcome_label}")


def _findings_html(html: Path) -> str:
    text = html.read_text()
    return text[
        text.index('<section id="summary"') : text.index("</section>", text.index('<section id="summary"'))
    ]


# ---------------------------------------------------------------------------------------
# Not estimable


def test_a_not_estimable_row_is_neither_printed_as_numbers_nor_counted(tmp_path):
    inputs = make_inputs()
    # the fit says not estimable, yet the row carries numbers that would read "reproduced"
    inputs.results = _set(
        inputs.results,
        "drug",
        "successful_completion",
        status="not_estimable",
        note="too few pilot journeys in the post period with outcome variation",
        estimate=0.6,
        ci_low=0.5,
        ci_high=0.7,
    )
    (row,) = [
        r
        for r in did_rows(inputs.results, ["drug"], OUTCOMES, HEADLINE)
        if r["outcome_key"] == "successful_completion"
    ]
    assert row["verdict"].kind == "not_estimable" and row["inside"] is None and row["includes_one"] is None
    assert np.isnan(row["estimate"]) and np.isnan(row["ci_low"])

    findings = _findings(inputs.results)
    inside = _item(findings, "Published OR inside the reproduced 95% interval")
    assert "1 of 1 assessed (of 2;" in inside["text"]  # abstinence only; completion not counted
    assert "Successful completion" not in inside["detail"]
    side = _item(findings, "Reproduced OR on the same side of 1")
    assert "of 1 assessed" in side["text"]
    ne = _item(findings, "Not estimable (not counted above)")
    assert ne["ok"] is None and "1 of 6 DiD models" in ne["text"]
    assert "too few pilot journeys in the post period" in ne["detail"]

    html = _render(tmp_path, inputs)
    cells = _did_row_cells(html, "drug", "Successful completion (12 months)")
    assert "not estimable" in cells
    assert not any(re.fullmatch(r"0\.[5-7]00|0\.500–0\.700", t) for t in cells), cells
    assert "Not estimable: too few pilot journeys" in html.read_text()
    did = pd.read_csv(html.parent / "did.csv", dtype=str, keep_default_na=False).set_index(
        ["cohort", "outcome"]
    )
    r = did.loc[("drug", "successful_completion")]
    assert r["estimate"] == r["ci_low"] == r["published_inside_headline_ci"] == ""
    assert r["verdict"] == "not estimable" and r["status"] == "not_estimable"


def test_without_a_status_column_rows_are_ok_and_a_missing_estimate_is_not_estimable():
    res = make_inputs().results
    assert "status" not in res.columns and "min_cell_events" not in res.columns
    rows = did_rows(res, COHORTS, OUTCOMES, HEADLINE)
    assert all(r["status"] == "ok" and r["min_cell_events"] is None for r in rows)
    assert all(r["verdict"].ok for r in rows)
    # the fit's own way of saying so before the column existed
    res = _set(
        res,
        "drug",
        "abstinence",
        estimate=np.nan,
        ci_low=np.nan,
        ci_high=np.nan,
        note="not estimable: no pilot journeys",
    )
    (row,) = [r for r in did_rows(res, ["drug"], OUTCOMES, HEADLINE) if r["outcome_key"] == "abstinence"]
    assert row["verdict"].kind == "not_estimable" and row["status_reason"] == "no pilot journeys"


# ---------------------------------------------------------------------------------------
# Too few events, uninformative intervals


def test_too_few_events_gives_no_verdict_in_the_findings_and_the_did_table(tmp_path):
    inputs = make_inputs()
    inputs.results["min_cell_events"] = 500
    # abstinence: the published 1.50 lies inside 0.84-1.68, but a cell has 5 events
    inputs.results = _set(inputs.results, "drug", "abstinence", min_cell_events=MIN_CELL_EVENTS - 1)
    rows = did_rows(inputs.results, ["drug"], OUTCOMES, HEADLINE)
    (row,) = [r for r in rows if r["outcome_key"] == "abstinence"]
    assert row["verdict"].kind == "no_verdict" and "too few events" in row["verdict"].tags
    assert row["inside"] is None and row["inside_crv1"] is None

    findings = _findings(inputs.results)
    inside = _item(findings, "Published OR inside the reproduced 95% interval")
    assert "1 of 1 assessed (of 2;" in inside["text"] and "Abstinence" not in inside["detail"]
    nv = _item(findings, "Too few events or interval too wide for a verdict")
    assert nv["ok"] is None and "Abstinence at review (drug): too few events for a verdict" in nv["detail"]

    html = _render(tmp_path, inputs)
    cells = _did_row_cells(html, "drug", "Abstinence at review")
    assert cells.count("too few events for a verdict") == 2  # headline and CRV1 marks
    assert not any(t.startswith("✓") for t in cells)
    assert f"fewer than {MIN_CELL_EVENTS} events" in html.read_text()  # the rule, stated
    did = pd.read_csv(html.parent / "did.csv", dtype=str, keep_default_na=False).set_index(
        ["cohort", "outcome"]
    )
    assert did.loc[("drug", "abstinence"), "verdict"] == "too few events for a verdict"
    assert did.loc[("drug", "abstinence"), "published_inside_headline_ci"] == ""


@pytest.mark.parametrize(
    "lo, hi, tag",
    [
        (0.0, np.inf, "interval too wide"),  # unbounded: every value is "inside"
        (0.3, np.inf, "interval too wide"),
        (0.2, 5.0, "interval too wide"),  # ratio 25 > MAX_CI_RATIO
        (np.nan, np.nan, "interval too wide"),  # and no CRV1 either (below)
    ],
)
def test_an_uninformative_interval_gives_no_verdict(lo, hi, tag):
    res = make_inputs().results
    res = _set(res, "drug", "drug_related_death", methods=[HEADLINE], ci_low=lo, ci_high=hi)
    if np.isnan(lo):
        res = _set(res, "drug", "drug_related_death", methods=["logit_crv1"], ci_low=lo, ci_high=hi)
    (row,) = [
        r for r in did_rows(res, ["drug"], OUTCOMES, HEADLINE) if r["outcome_key"] == "drug_related_death"
    ]
    assert row["not_significant"] and tag in row["verdict"].tags
    assert row["includes_one"] is None  # an interval of 0 to infinity "includes 1": never a finding
    findings = _findings(res)
    ns = _item(findings, "Findings published as not significant")
    assert "none of the 1 could carry a verdict" in ns["text"] and ns["ok"] is None


def test_interval_rule_boundaries():
    assert interval_problem(0.5, 0.5 * MAX_CI_RATIO) == ""  # exactly the ratio: informative
    assert interval_problem(0.5, 0.5 * MAX_CI_RATIO * 1.01)
    assert interval_problem(0.0, 2.0) and interval_problem(0.1, np.inf)
    assert interval_problem(np.nan, 2.0) == "no interval"


def test_an_unbounded_headline_interval_is_not_counted_in_the_rendered_report(tmp_path):
    inputs = make_inputs()
    inputs.results = _set(
        inputs.results, "drug", "drug_related_death", methods=[HEADLINE], ci_low=0.0, ci_high=np.inf
    )
    html = _render(tmp_path, inputs)
    cells = _did_row_cells(html, "drug", "Drug-related death (12 months)")
    assert "interval too wide for a verdict" in cells and not any(t.startswith("✓") for t in cells)
    summary = _findings_html(html)
    assert (
        "Findings published as not significant whose reproduced interval includes 1: none of the 1" in summary
    )
    assert "the interval is unbounded" in summary


# ---------------------------------------------------------------------------------------
# Huge and tiny numbers


def test_huge_and_tiny_numbers_print_in_scientific_notation():
    assert format_number(1.7e95) == "1.7e+95"
    assert format_number(-2.5e7, 4) == "-2.5e+07"
    assert format_number(3.2e-7) == "3.2e-07"
    assert format_number(0.0004) == "4.0e-04" and format_number(0.0004, 4) == "0.0004"
    assert format_number(0.0) == "0.000" and format_number(123456.789) == "123456.789"
    assert format_interval(3.2e-7, 1.7e95) == "3.2e-07 to 1.7e+95"
    assert format_interval(-0.01, 0.05) == "−0.010 to 0.050"
    assert len(format_number(1.7e95)) < 10


def test_a_huge_estimate_is_flagged_and_never_a_long_string_of_digits(tmp_path):
    inputs = make_inputs()
    inputs.results = _set(
        inputs.results,
        "drug",
        "abstinence",
        methods=["logit_crv1", HEADLINE],
        estimate=1.7e95,
        ci_low=1.5e95,
        ci_high=1.9e95,
    )
    (row,) = [
        r for r in did_rows(inputs.results, ["drug"], OUTCOMES, HEADLINE) if r["outcome_key"] == "abstinence"
    ]
    assert "estimate implausible" in row["verdict"].tags and row["inside"] is None
    html = _render(tmp_path, inputs)
    text = html.read_text()
    assert not re.search(r"\d{20}", re.sub(r"base64,[A-Za-z0-9+/=]+", "", text))
    cells = _did_row_cells(html, "drug", "Abstinence at review")
    assert "1.7e+95" in cells and "1.5e+95 to 1.9e+95" in cells
    assert "estimate implausible for a verdict" in cells
    assert "Abstinence at review (drug)" in text.split("Left out:")[1].split(".")[0]  # not in the forest plot


# ---------------------------------------------------------------------------------------
# Areas


def _areas(names: list[str]) -> pd.DataFrame:
    rows = [
        {"area_code": f"P{i}", "area_name": n, "region": "X", "pilot": True, "pilot_sub_area": None}
        for i, n in enumerate(names)
    ]
    rows += [
        {
            "area_code": f"O{i}",
            "area_name": f"Other {i}",
            "region": "X",
            "pilot": False,
            "pilot_sub_area": None,
        }
        for i in range(141)
    ]
    return pd.DataFrame(rows)


def test_the_published_eight_give_no_warning_and_are_named(tmp_path):
    inputs = make_inputs()
    inputs.areas = _areas(list(PUBLISHED_PILOT_AREAS))
    html = _render(tmp_path, inputs).read_text()
    assert 'id="areas-warning"' not in html
    assert "Areas analysed: 8 pilot areas (Bracknell Forest, Enfield, Kent" in html
    assert "and 141 comparison areas" in html


@pytest.mark.parametrize("n", [7, 1])
def test_a_pilot_set_other_than_eight_shows_a_warning(tmp_path, n):
    inputs = make_inputs()
    inputs.results["n_treated_clusters"] = n
    inputs.areas = _areas(list(PUBLISHED_PILOT_AREAS[:n]))
    html = _render(tmp_path, inputs, name=f"p{n}")
    text = html.read_text()
    box = re.search(r'<div class="warning" role="note" id="areas-warning">(.*?)</div>', text, re.S)
    assert box, "no warning box"
    area = "pilot area" if n == 1 else "pilot areas"
    assert f"This run analysed {n} {area}; the published study had eight: Bracknell Forest" in box.group(1)
    assert f"Not among them: {', '.join(PUBLISHED_PILOT_AREAS[n:])}." in box.group(1)
    assert ("single pilot area" in box.group(1)) == (n == 1)
    # the summary and the inference section speak of the run's pilot areas, not a fixed eight
    assert re.search(rf"with only\s+{n} {area}, cluster-robust", text)
    assert f"With {n} {area}, cluster-robust standard errors" in text
    assert f"Pilot areas: this run analysed {n}, the published study eight" in _findings_html(html)


def test_areas_are_counted_from_the_results_without_a_lookup():
    res = make_inputs().results.assign(n_treated_clusters=7, n_clusters=150)
    a = area_summary(res, pd.DataFrame(), pd.DataFrame(), make_config())
    assert (a["pilot"], a["comparison"], a["names"]) == (7, 143, [])
    assert a["warning"].startswith("This run analysed 7 pilot areas; the published study had eight:")


def test_a_pilot_sub_area_is_named_and_still_the_published_area():
    areas = _areas(list(PUBLISHED_PILOT_AREAS))
    areas.loc[areas["area_name"] == "Kent", "pilot_sub_area"] = "west_kent"
    res = make_inputs().results
    cfg = make_config()
    cfg["study"]["partial_pilot_rule"] = "sub_area_pilot_rest_other"
    a = area_summary(res, areas, pd.DataFrame(), cfg)
    assert "Kent (West Kent only)" in a["names"] and a["warning"] is None
    cfg["study"]["partial_pilot_rule"] = "whole_area_pilot"
    assert "Kent" in area_summary(res, areas, pd.DataFrame(), cfg)["names"]


def test_a_pilot_area_other_than_the_published_ones_is_named_in_the_warning():
    names = [*PUBLISHED_PILOT_AREAS[:7], "Somewhere Else"]
    a = area_summary(make_inputs().results, _areas(names), pd.DataFrame(), make_config())
    assert a["pilot"] == 8 and a["warning"]
    assert (
        "Not among them: Wigan." in a["warning"]
        and "Not in the published study: Somewhere Else." in a["warning"]
    )


def test_load_inputs_reads_the_area_lookup_from_the_extracts(tmp_path):
    paths = {}
    for name, df in {
        "results": make_inputs().results,
        "rates": make_inputs().rates,
        "flow": make_inputs().flow,
        "areas": _areas(["Enfield"]),
        "ndtms_episodes": pd.DataFrame({"episode_id": ["e1"]}),
    }.items():
        paths[name] = tmp_path / f"{name}.parquet"
        df.to_parquet(paths[name])
    got = load_inputs(
        paths["results"], paths["rates"], [paths["flow"]], extracts=[paths["ndtms_episodes"], paths["areas"]]
    )
    assert list(got.areas.columns) == AREA_COLUMNS and got.areas["pilot"].sum() == 1


# ---------------------------------------------------------------------------------------
# Counts in notes and reasons (real-data mode)

DROP_NOTE = "9 rows without outcome variation in their area, period or covariate level dropped (1 area(s))"
# the counts planted in the notes and reasons below, in any of their forms
SMALL_IN_TEXT = re.compile(
    r"\b[1-9]\s+(?:rows|area\(s\)|events|pilot journeys|episodes)\b|non-events\)\s*=\s*[1-9]\b|removed\s+[1-9]\b"
)


def _noted_inputs() -> ReportInputs:
    inputs = make_inputs()
    res = _set(inputs.results, "drug", "successful_completion", note=DROP_NOTE)
    res = _set(
        res,
        "alcohol",
        "abstinence",
        status="caveat",
        note="only 4 events among pilot post journeys; min(events, non-events) = 4",
        min_cell_events=4,
    )
    res = _set(
        res,
        "drug",
        "drug_related_death",
        status="not_estimable",
        note="not estimable: 3 pilot journeys in the post period",
    )
    res = _set(
        res,
        "alcohol",
        "drug_related_death",
        methods=["logit_crv1"],
        note="pyfixest removed 5 rows for separation",
    )
    inputs.results = res
    flow = inputs.flow.copy()
    extra = flow_frame(
        [
            flow_row(
                "link",
                "persons",
                "ndtms_top",
                "TOP records",
                "flagged",
                "2 episodes with a duplicate TOP",
                40,
            )
        ]
    )
    inputs.flow = pd.concat([flow, extra], ignore_index=True)
    return inputs


def test_counts_in_notes_and_reasons_pass_the_disclosure_rule_in_real_mode(tmp_path):
    html = _render(tmp_path, _noted_inputs(), real=True, name="real")
    text = html.read_text()
    outputs = {"report.html": text} | {p.name: p.read_text() for p in html.parent.glob("*.csv")}
    assert set(outputs) == {"report.html", "did.csv", "flow.csv"}
    for name, body in outputs.items():
        bad = [m.group(0) for m in SMALL_IN_TEXT.finditer(body)]
        assert not bad, (name, bad)
    # the notes are still there, their counts replaced
    assert "&lt;10 rows without outcome variation" in text and "(&lt;10 area(s))" in text
    assert "only &lt;10 events among pilot post journeys" in text
    assert "&lt;10 pilot journeys in the post period" in text
    assert "&lt;10 episodes with a duplicate TOP" in text
    # the rule's own constant is not a count: it stays, in the HTML and the CSV
    assert f"fewer than {MIN_CELL_EVENTS} events or fewer than" in text and "fewer than ≥" not in text
    did = (html.parent / "did.csv").read_text()
    assert "<10 rows without outcome variation" in did and "removed <10 rows for separation" in did
    assert f"fewer than {MIN_CELL_EVENTS} events" in did
    # min_cell_events is a count too: in real mode shown only against the rule's constant
    cells = pd.read_csv(html.parent / "did.csv", dtype=str, keep_default_na=False).set_index(
        ["cohort", "outcome"]
    )
    assert cells.loc[("alcohol", "abstinence"), "min_cell_events"] == ""
    assert cells.loc[("alcohol", "abstinence"), "min_cell_events_marker"] == f"<{MIN_CELL_EVENTS}"
    assert "<10 episodes with a duplicate TOP" in (html.parent / "flow.csv").read_text()


def test_counts_in_notes_are_shown_with_synthetic_data(tmp_path):
    html = _render(tmp_path, _noted_inputs(), name="synthetic")
    text = html.read_text()
    assert DROP_NOTE in text and "only 4 events among pilot post journeys" in text
    assert "2 episodes with a duplicate TOP" in (html.parent / "flow.csv").read_text()


@pytest.mark.parametrize(
    "text, expected",
    [
        (DROP_NOTE, DROP_NOTE.replace("9 rows", "<10 rows").replace("(1 area", "(<10 area")),
        ("pyfixest removed 5 rows for separation", "pyfixest removed <10 rows for separation"),
        ("1,234 journeys dropped", "≥10 journeys dropped"),  # an exact large count could be differenced
        ("min(events, non-events) = 3", "min(events, non-events) = <10"),
        ("events: 12", "events: ≥10"),
        ("3 of 8 pilot areas", "<10 of <10 pilot areas"),
        ("0 rows", "0 rows"),
        # settings, decimals, dates and codes are not counts
        ("aged under 18 at journey start or age unknown", None),
        ("linked to an NDTMS person (p >= 0.5)", None),
        ("reference bin 3 = 2011-10-01; within 28 days", None),
        ("without E0012; logit_crv1; CRV1", None),
    ],
)
def test_redact_counts(text, expected):
    assert redact_counts(text, K, real=True) == (text if expected is None else expected)
    assert redact_counts(text, K, real=False) == text
    once = redact_counts(text, K, real=True)
    assert redact_counts(once, K, real=True) == once  # idempotent


def _worst(method: str, rate: float) -> tuple:
    return (method, "event_study_pretrend", f"{WORST_SCENARIO}: base", 500, rate, 0.01, "cmd")


def test_lead_method_is_the_one_whose_worst_scenario_is_nearest_the_level():
    """The stated rule: the candidate whose worst simulation scenario is nearest 5%; the default
    without study rows or on a tie."""
    sizes = pd.DataFrame(
        [_worst("logit_score_wcb", 0.11), _worst("logit_ri_t", 0.065), _worst("logit_crv1", 0.05)],
        columns=list(SIZE_COLUMNS),
    )
    cands = ("logit_score_wcb", "logit_ri_t")
    assert lead_method(sizes, "event_study_pretrend", cands, "logit_score_wcb", 0.05) == "logit_ri_t"
    assert lead_method(sizes, "main", cands, "logit_score_wcb", 0.05) == "logit_score_wcb"
    assert (
        lead_method(sizes.iloc[:0], "event_study_pretrend", cands, "logit_score_wcb", 0.05)
        == "logit_score_wcb"
    )
    tie = sizes.assign(rejection_rate=[0.06, 0.04, 0.05])
    assert lead_method(tie, "event_study_pretrend", cands, "logit_score_wcb", 0.05) == "logit_score_wcb"


def test_pretrend_verdict_follows_the_measured_lead_method():
    """With study rows that favour the pre-period RI, the pre-trend verdicts are its p's (here 0.01:
    detected) and the findings box names it; without them, the score bootstrap's (0.52)."""
    inputs = make_inputs()
    res = inputs.results
    extra = []
    for (c, o), _ in res[res["specification"] == "event_study_pretrend"].groupby(["cohort", "outcome"]):
        extra.append(
            {
                "cohort": c,
                "outcome": o,
                "specification": "event_study_pretrend",
                "method": "logit_ri_t",
                "scale": "wald_chi2",
                "estimate": 9.0,
                "p_value": 0.01,
                "status": "ok",
                "note": "",
                "n": 1000,
            }
        )
    inputs.results = pd.concat([res, pd.DataFrame(extra)], ignore_index=True)
    cfg = make_config()
    sizes = pd.DataFrame(
        [_worst("logit_score_wcb", 0.11), _worst("logit_ri_t", 0.05)], columns=list(SIZE_COLUMNS)
    )
    rob = robustness_section(inputs.results, COHORTS, OUTCOMES, cfg, sizes=sizes)
    assert rob["pretrend"] and all(t["method"] == "logit_ri_t" and t["detected"] for t in rob["pretrend"])
    assert all(
        "(verdict)" in t["text"] and t["text"].startswith("logit randomisation") for t in rob["pretrend"]
    )
    default = robustness_section(inputs.results, COHORTS, OUTCOMES, cfg)
    assert all(t["method"] == "logit_score_wcb" for t in default["pretrend"])


def test_lead_methods_order_the_measured_by_their_worst_scenario_then_the_unmeasured():
    sizes = pd.DataFrame(
        [
            _worst("logit_score_wcb", 0.082),
            _worst("logit_canay_romano_shaikh", 0.059),
            _worst("logit_ri_t", 0.116),
        ],
        columns=list(SIZE_COLUMNS),
    )
    cands = (
        "logit_score_wcb",
        "lpm_wcb_webb",
        "logit_ri_t",
        "logit_canay_romano_shaikh",
        "logit_ibragimov_mueller",
    )
    order = lead_methods(sizes, "event_study_pretrend", cands, "logit_score_wcb", 0.05)
    assert order == (
        "logit_canay_romano_shaikh",
        "logit_score_wcb",
        "logit_ri_t",
        "lpm_wcb_webb",
        "logit_ibragimov_mueller",
    )
    assert lead_methods(None, "event_study_pretrend", cands, "lpm_wcb_webb", 0.05)[0] == "lpm_wcb_webb"


@pytest.mark.parametrize(
    ("method", "g", "q", "floor"),
    [
        ("logit_canay_romano_shaikh", 149, 8, 2 / 256),
        ("lpm_canay_romano_shaikh", 149, 5, 0.0625),
        ("logit_ri_t", 10, 4, 1 / 210),
        ("logit_score_wcb", 10, 4, 0.0),
    ],
)
def test_p_floor_is_the_smallest_p_a_test_can_give(method, g, q, floor):
    assert p_floor(method, g, q) == pytest.approx(floor)
    row = {"method": method, "n_clusters": g, "n_treated_clusters": q}
    assert reaches_level(row, 0.05) is (floor <= 0.05)


def test_the_sign_change_floor_is_the_p_of_the_most_extreme_sample():
    """Cross-check with the test itself: q same-signed per-pilot estimates give the smallest p."""
    for q in (4, 5, 6, 8):
        b = np.linspace(1.0, 2.0, q)
        assert canay_romano_shaikh(b, 0.05)[3] == pytest.approx(p_floor("logit_canay_romano_shaikh", 149, q))


class _ShownRate:
    """A rate as the report's rates table holds it (``value``, ``hidden``)."""

    def __init__(self, value: float, hidden: bool = False):
        self.value, self.hidden = value, hidden


def _raw_rate_item(rates: dict, hidden: tuple = ()) -> dict:
    from pbr.registry.published import PUBLISHED_RAW_RATES
    from pbr.report.findings import _raw_rate_items

    cmp = {
        "cohort": "drug",
        "outcome": "successful_completion",
        "rates": {k: _ShownRate(v, k in hidden) for k, v in rates.items()},
        "published": PUBLISHED_RAW_RATES["successful_completion"],
        "unadjusted": "",
    }
    (item,) = _raw_rate_items([cmp])
    return item


def test_press_release_rates_are_met_within_one_point_and_the_unadjusted_or_within_0_03():
    """Issue #23's rule for the press release: every raw rate within 1 point, the unadjusted DiD OR
    within 0.03 of the published 0.555 (the same tolerances as bench/bench_calibration.py)."""
    from pbr.report.cells import unadjusted_odds_ratio

    published = {
        ("pilot", "pre"): 0.34,
        ("pilot", "post"): 0.24,
        ("other", "pre"): 0.27,
        ("other", "post"): 0.29,
    }
    near = {k: v + 0.009 for k, v in published.items()}
    assert abs(unadjusted_odds_ratio({k: _ShownRate(v) for k, v in near.items()}) - 0.561) < 5e-4
    assert _raw_rate_item(near)["ok"]
    off_by_1_5 = near | {("pilot", "post"): 0.255}
    assert not _raw_rate_item(off_by_1_5)["ok"]  # within the old 2-point rule, not within 1
    # every rate within 1 point, the unadjusted OR more than 0.03 from 0.555
    skewed = {
        ("pilot", "pre"): 0.331,
        ("pilot", "post"): 0.249,
        ("other", "pre"): 0.279,
        ("other", "post"): 0.281,
    }
    assert unadjusted_odds_ratio({k: _ShownRate(v) for k, v in skewed.items()}) > 0.555 + 0.03
    assert not _raw_rate_item(skewed)["ok"]
    item = _raw_rate_item(skewed, hidden=(("other", "post"),))  # a withheld rate: the OR is not judged
    assert item["ok"] and "met within 1" in item["text"] and "met within 0.03" in item["text"]
