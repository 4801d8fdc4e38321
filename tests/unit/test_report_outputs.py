"""The report's results as data (issue 22): typed tables beside their Parquet, the data
dictionary (tables/columns.csv, docs/outputs.md) and findings.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import outputs_doc

from pbr.registry.published import FINAL_REPORT_DIRECTIONS
from pbr.report.cells import data_cell, header_cell, table
from pbr.report.disclosure import COMPLEMENT, Disclosure, Joined
from pbr.report.outputs import DID_COLUMNS, FINDINGS_KEYS, FLOW_COLUMNS
from pbr.report.tables import typed_table

ROOT = Path(__file__).resolve().parents[2]
#: tables not exported on their own: the provenance section's (package versions, data source,
#: checksums: not results) and the forest plot's numbers (the DiD table's, in tables/did.csv)
NOT_EXPORTED = {"tbl-versions", "tbl-source", "tbl-checksums", "fig-forest-numbers"}


def _view(disc: Disclosure) -> dict:
    head = [
        [
            header_cell("Outcome", rowspan=2),
            header_cell("Pilot", colspan=2),
            header_cell("OR (95% CI)", rowspan=2),
        ],
        [header_cell("pre"), header_cell("post")],
    ]
    body = []
    for i, (events, n) in enumerate([(45, 366), (3, 200)]):
        ev, den, rate = disc.rate(("e", i), events, ("n", i), n)
        ev2, den2, rate2 = disc.rate(("e2", i), events + 100, ("n2", i), n + 300)
        body.append(
            [
                data_cell(f"outcome {i}"),
                data_cell(Joined([rate, " (", ev, " / ", den, ")"]), cls="num count-cell"),
                data_cell(Joined([rate2, " (", ev2, " / ", den2, ")"]), cls="num count-cell"),
                data_cell("0.58 (0.41–0.81)" if i == 0 else "not significant"),
            ]
        )
    return table("caption", head, body, tid="tbl-x")


def test_typed_table_expands_spans_splits_composites_and_withholds_suppressed_values():
    disc = Disclosure(10, active=True)
    view = _view(disc)
    disc.resolve()
    frame, cols = typed_table(view)
    assert list(frame.columns) == [
        "outcome",
        "pilot_pre_proportion",
        "pilot_pre_proportion_marker",
        "pilot_pre_count",
        "pilot_pre_count_marker",
        "pilot_pre_denominator",
        "pilot_post_proportion",
        "pilot_post_count",
        "pilot_post_denominator",
        "or_95_pct_ci",
        "or_95_pct_ci_low",
        "or_95_pct_ci_high",
        "or_95_pct_ci_note",
    ]
    assert frame["pilot_pre_count"].tolist()[0] == 45 and pd.isna(frame["pilot_pre_count"][1])
    assert frame["pilot_pre_count_marker"].tolist()[1] == "<10"
    assert frame["pilot_pre_proportion_marker"].tolist()[1] == "[s]"
    assert frame["pilot_pre_proportion"][0] == pytest.approx(45 / 366)
    assert str(frame["pilot_pre_count"].dtype) == "Int64"
    assert frame["or_95_pct_ci"][0] == 0.58 and frame["or_95_pct_ci_high"][0] == 0.81
    assert frame["or_95_pct_ci_note"].tolist()[1] == "not significant"
    by_name = {c.name: c for c in cols}
    assert by_name["pilot_pre_count"].count and by_name["pilot_pre_denominator"].count
    assert not by_name["pilot_pre_proportion"].count and not by_name["or_95_pct_ci"].count
    assert by_name["pilot_post_count"].header == "Pilot / post: the count"


def test_typed_table_types_marks_percentages_bounds_and_empty_columns():
    head = [[header_cell(x) for x in ("Check", "Inside", "Share", "p", "Nothing", "Comment")]]
    body = [
        [
            data_cell("a"),
            data_cell("✓ yes"),
            data_cell("12.5%"),
            data_cell("<0.001"),
            data_cell(""),
            data_cell("x"),
        ],
        [
            data_cell("b"),
            data_cell("✗ no"),
            data_cell("7.0%"),
            data_cell("0.250"),
            data_cell("–"),
            data_cell("1"),
        ],
        [
            data_cell("c"),
            data_cell("–"),
            data_cell("1,234.0%"),
            data_cell("0.5"),
            data_cell(""),
            data_cell("y"),
        ],
    ]
    frame, _ = typed_table(table("c", head, body, tid="tbl-y"))
    assert frame["inside"].tolist()[:2] == [True, False] and pd.isna(frame["inside"][2])
    assert frame["share_pct"].tolist() == [12.5, 7.0, 1234.0]
    assert pd.isna(frame["p"][0]) and frame["p_marker"][0] == "<0.001" and frame["p"][1] == 0.25
    assert frame["nothing"].isna().all() and frame["nothing"].dtype == "float64"
    # a text column with one number in it stays text: nothing is read as a number by accident
    assert frame["comment"].tolist() == ["x", "1", "y"]


def _table_html(html: str, tid: str) -> str:
    start = html.index(f'<table id="{tid}"')
    return html[start : html.index("</table>", start)]


@pytest.mark.parametrize("mode", ["synthetic", "real"])
def test_every_table_the_report_shows_is_written_typed_as_csv_and_parquet(rendered, mode):
    html_path = rendered[mode]
    html = html_path.read_text()
    out = html_path.parent / "tables"
    ids = [t for t in re.findall(r'<table id="([^"]+)"', html) if t not in NOT_EXPORTED]
    names = {t.removeprefix("tbl-").replace("-", "_") for t in ids}
    assert len(names) >= 15
    # and the trend figures' rates, the one figure whose data is not a table
    assert {p.stem for p in out.glob("*.csv")} == names | {"columns", "trends"}
    assert {p.stem for p in out.glob("*.parquet")} == names | {"trends"}
    dictionary = pd.read_csv(out / "columns.csv")
    for tid in [*ids, "tbl-trends"]:
        name = tid.removeprefix("tbl-").replace("-", "_")
        parquet = pd.read_parquet(out / f"{name}.parquet")
        csv = pd.read_csv(out / f"{name}.csv")
        # the data dictionary lists every column, in order; the CSV holds the Parquet's values
        assert dictionary.loc[dictionary["table"] == name, "column"].tolist() == list(parquet.columns)
        assert list(csv.columns) == list(parquet.columns) and len(csv) == len(parquet)
        if name == "trends":
            continue
        # one row per body row of the HTML table
        body = _table_html(html, tid).split("<tbody>")[1]
        assert len(parquet) == body.count("<tr"), name
        for col in dictionary.loc[(dictionary["table"] == name) & dictionary["count"], "column"]:
            assert str(parquet[col].dtype) == "Int64"
            values = parquet[col].dropna()
            # every count is in the HTML as shown; in real-data mode none is small
            for v in values:
                assert f"{v:,}" in body, (name, col, v)
            if mode == "real":
                assert not values.between(1, 9).any(), (name, col)
        for col in [c for c in parquet.columns if c.endswith("_marker")]:
            markers = set(parquet[col].dropna())
            assert markers and all(m.startswith(("<", "≥", "[")) for m in markers), (name, col, markers)
    if mode == "real":  # the small cells are withheld, with their markers
        rates = pd.read_parquet(out / "rates_alcohol.parquet")
        assert (rates.filter(like="_marker").isin(["<10", COMPLEMENT, "[s]"])).any().any()


def test_did_table_and_flow_csv_columns_are_all_documented(rendered):
    did = pd.read_csv(rendered["synthetic"].parent / "did.csv")
    assert list(did.columns) == list(DID_COLUMNS)
    assert did["journeys"].dtype == "int64" and did["estimate"].dtype == "float64"
    flow = pd.read_csv(rendered["synthetic"].parent / "flow.csv")
    assert list(flow.columns) == list(FLOW_COLUMNS)
    assert flow["n"].dtype == "int64"


def _keys(doc: dict) -> set[str]:
    """Every documented key of a findings document, as FINDINGS_KEYS names them."""
    keys = set()
    for top, value in doc.items():
        if isinstance(value, list):
            keys.add(f"{top}[]")
            if top != "summary":  # the findings box's items: documented as a whole
                keys |= {f"{top}[].{k}" for rec in value for k in rec}
        else:
            keys.add(top)
    return keys


def test_findings_json_holds_each_published_finding_with_its_verdict_and_rule(rendered):
    for mode in ("synthetic", "real"):
        text = (rendered[mode].parent / "findings.json").read_text()
        doc = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in findings.json"))
        documented = " ".join(FINDINGS_KEYS)
        for key in _keys(doc):
            leaf = key.split(".")[-1]
            assert key in FINDINGS_KEYS or f".{leaf}" in documented, f"{key} is not in docs/outputs.md"
        did = pd.read_csv(rendered[mode].parent / "did.csv").set_index(["cohort", "outcome"])
        assert len(doc["findings"]) == did["published_source"].notna().sum()
        for rec in doc["findings"]:
            row = did.loc[(rec["cohort"], rec["outcome"])]
            assert rec["verdict_rule"] in doc["rules"]
            assert rec["reproduced"]["odds_ratio"] == pytest.approx(row["estimate"])
            if rec["verdict_rule"] == "published_inside_reproduced_ci" and rec["verdict"] in (
                "reproduced",
                "not reproduced",
            ):
                assert (rec["verdict"] == "reproduced") == bool(row["published_inside_headline_ci"])
        verdicts = {(r["cohort"], r["outcome"]): r["verdict"] for r in doc["findings"]}
        # the fixture: completion reproduced (0.58, 0.41-0.81 around 0.60); abstinence 1.20
        # (0.84-1.68) holds the published 1.50 inside: reproduced on that rule
        assert verdicts[("drug", "successful_completion")] == "reproduced"
        assert verdicts[("drug", "drug_related_death")] == "reproduced"  # published not significant, CI has 1
        assert doc["run"]["headline_method"] == "logit_score_wcb"
        assert [s["verdict"] for s in doc["summary"]].count("not a verdict") >= 1
        # the final report's directions: every finding listed, judged only where the run analysed it
        final = {(d["cohort"], d["outcome"]): d for d in doc["final_report"]}
        assert len(final) == len(FINAL_REPORT_DIRECTIONS)
        for (cohort, outcome), d in final.items():
            row = did.loc[(cohort, outcome)] if (cohort, outcome) in did.index else None
            if row is None:
                assert d["verdict"] == "not analysed in this run" and d["reproduced_direction"] is None
            elif d["reproduced_direction"] is not None:
                lo, hi = row["ci_low"], row["ci_high"]
                expect = "lower" if hi < 1 else "higher" if lo > 1 else "no change"
                assert d["reproduced_direction"] == expect
                assert (d["verdict"] == "reproduced") == (expect == d["published_direction"])
        # the fixture: drug completion 0.58 (0.41-0.81) is lower, as the final report says
        assert final[("drug", "successful_completion")]["verdict"] == "reproduced"
        assert final[("drug", "retention")]["verdict"] == "not analysed in this run"


def test_docs_outputs_md_is_generated_from_the_code(tmp_path):
    expected = outputs_doc(tmp_path)
    doc = ROOT / "docs" / "outputs.md"
    assert doc.read_text() == expected, (
        "docs/outputs.md is out of date: run `python tests/report_fixtures.py outputs-doc > docs/outputs.md`"
    )


def test_trend_points_are_the_plotted_rates_with_small_quarters_withheld():
    from report_fixtures import make_inputs

    from pbr.report.tables import trend_points

    trends = make_inputs().trends
    assert trends is not None and not trends.empty
    synthetic = trend_points(trends, Disclosure(10, active=False), "2010-04-01")
    assert len(synthetic) == len(trends) and synthetic["rate"].notna().all()
    assert synthetic["quarter_start"].iloc[0] == "2010-04-01"
    small = trends.assign(n=trends["n"].where(trends.index != trends.index[0], 5))
    small = small.assign(events=small["events"].clip(upper=small["n"]))
    real = trend_points(small, Disclosure(10, active=True), "2010-04-01")
    hidden = real[real["rate"].isna()]
    assert len(hidden) >= 1 and set(hidden["rate_marker"]) == {"<10"}
    assert real["rate"].notna().sum() == len(real) - len(hidden)
