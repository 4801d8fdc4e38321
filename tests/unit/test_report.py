"""The HTML report: disclosure control, the DiD table's marks, a headless-Chromium load, determinism.

The report is rendered from small hand-built inputs (fast, and with small cells placed on
purpose); the browser test drives Chromium through the DevTools protocol over a pipe
(``--remote-debugging-pipe``), so no websocket client and no Playwright download are needed.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from report_fixtures import COHORTS, OUTCOMES, K, parse_cells, render, result_row, small_numbers

from pbr.registry.published import PUBLISHED_OR
from pbr.report.did import did_rows, did_section, planted_effects, raw_planted_effects
from pbr.report.disclosure import COMPLEMENT, DERIVED, Disclosure, protect
from pbr.report.figures import match_weight_figure
from pbr.report.render import TEMPLATE_DIR, git_commit

# ---------------------------------------------------------------------------------------
# Hand-built inputs


# ---------------------------------------------------------------------------------------
# Small-cell suppression


def test_small_count_and_its_complement_in_a_two_way_split_are_suppressed():
    status = protect({"T": 100, "a": 3, "b": 97}, [("T", ["a", "b"])], K)
    assert status == {"a": "primary", "b": "secondary"}


def test_zero_and_large_counts_are_shown():
    assert protect({"T": 100, "a": 0, "b": 100}, [("T", ["a", "b"])], K) == {}
    assert protect({"T": 30, "a": 10, "b": 20}, [("T", ["a", "b"])], K) == {}


def test_total_minus_shown_parts_does_not_reveal_a_suppressed_cell():
    values = {"T": 50, "a": 4, "b": 20, "c": 26}
    status = protect(values, [("T", ["a", "b", "c"])], K)
    assert status["a"] == "primary" and status["b"] == "secondary"  # the smallest other part
    assert "T" not in status and "c" not in status


def test_two_small_cells_whose_sum_is_small_get_a_third_suppressed():
    values = {"T": 100, "a": 3, "b": 4, "c": 93}
    status = protect(values, [("T", ["a", "b", "c"])], K)
    assert set(status) == {"a", "b", "c"}  # a + b = 7 would be T - c


def test_suppression_cascades_through_a_table_with_margins():
    # 2x2 with row and column totals: one small cell ends with all four inner cells hidden
    v = {"a": 3, "b": 40, "c": 50, "d": 60, "r1": 43, "r2": 110, "c1": 53, "c2": 100, "T": 153}
    rel = [
        ("r1", ["a", "b"]),
        ("r2", ["c", "d"]),
        ("c1", ["a", "c"]),
        ("c2", ["b", "d"]),
        ("T", ["r1", "r2"]),
    ]
    status = protect(v, rel, K)
    assert {"a", "b", "c", "d"} <= set(status)
    assert not {"r1", "r2", "c1", "c2", "T"} & set(status)


def test_priority_chooses_which_complement_to_suppress():
    # four cells = model n + dropped rows (not shown): the model n goes, not a cell
    v = {"a": 100, "b": 200, "c": 300, "d": 400, "n": 995, "x": 5}
    status = protect(
        v,
        [],
        K,
        shown=["a", "b", "c", "d", "n"],
        priority={"n": 0},
        balances=[(["a", "b", "c", "d"], ["n", "x"])],
    )
    assert status == {"n": "secondary"}


def test_rates_from_suppressed_counts_are_suppressed():
    d = Disclosure(K, active=True)
    e1, n1, r1 = d.rate("e1", 3, "n1", 200)  # few events
    e2, n2, r2 = d.rate("e2", 196, "n2", 200)  # few non-events: the events give them away
    e3, n3, r3 = d.rate("e3", 50, "n3", 200)
    d.resolve()
    assert (str(e1), str(n1), str(r1)) == ("<10", "200", DERIVED)
    assert str(e2) == COMPLEMENT and str(r2) == DERIVED and str(n2) == "200"
    assert (str(e3), str(n3), str(r3)) == ("50", "200", "25.0%")


def test_counts_that_do_not_add_up_are_hidden_with_real_data():
    d = Disclosure(K, active=True)
    cells = [d.count("T", 100), d.count("a", 40), d.count("b", 50)]
    d.relate("T", ["a", "b"])  # 100 != 90: an upstream table is wrong; hide rather than guess
    d.resolve()
    assert [str(c) for c in cells] == [COMPLEMENT] * 3


def test_nothing_is_suppressed_with_synthetic_data():
    d = Disclosure(K, active=False)
    e, n, r = d.rate("e", 3, "n", 5)
    d.resolve()
    assert (str(e), str(n), str(r)) == ("3", "5", "60.0%")


@st.composite
def systems(draw):
    """Random cells and random total = sum(parts) relations over them."""
    parts = draw(st.lists(st.integers(0, 40), min_size=2, max_size=7))
    values = {f"p{i}": v for i, v in enumerate(parts)}
    relations = []
    for j in range(draw(st.integers(1, 4))):
        idx = draw(st.lists(st.integers(0, len(parts) - 1), min_size=2, max_size=len(parts), unique=True))
        values[f"t{j}"] = sum(parts[i] for i in idx)
        relations.append((f"t{j}", [f"p{i}" for i in idx]))
    return values, relations


@settings(max_examples=200, deadline=None)
@given(systems())
def test_no_relation_gives_a_suppressed_cell_away(system):
    values, relations = system
    status = protect(values, relations, K)
    for c, v in values.items():
        assert (0 < v < K) <= (c in status)  # every small count is suppressed
    for total, parts in relations:
        hidden = [c for c in [total, *parts] if c in status]
        assert len(hidden) != 1  # never the only unknown of an equation
        hidden_parts = [c for c in parts if c in status]
        if hidden and total not in status:
            assert not 0 < sum(values[c] for c in hidden_parts) < K


# ---------------------------------------------------------------------------------------
# The DiD table's inside/outside mark


def _did_frame(headline_lo, headline_hi, crv_lo, crv_hi, estimate=0.62, outcome="successful_completion"):
    return pd.DataFrame(
        [
            result_row("drug", outcome, "main", "logit_crv1", estimate, crv_lo, crv_hi, 0.01, 1000, 300),
            result_row(
                "drug",
                outcome,
                "main",
                "logit_score_wcb",
                estimate,
                headline_lo,
                headline_hi,
                0.05,
                1000,
                300,
            ),
        ]
    )


def test_published_inside_the_headline_interval_is_marked_inside():
    pub = PUBLISHED_OR["successful_completion"][0]  # 0.60
    (row,) = did_rows(
        _did_frame(0.50, 0.70, 0.61, 0.64), ["drug"], ["successful_completion"], "logit_score_wcb"
    )
    assert row["published"] == pub and row["method"] == "logit_score_wcb"
    assert row["inside"] is True and row["inside_crv1"] is False
    assert (row["ci_low"], row["ci_high"]) == (0.50, 0.70)


def test_published_outside_the_headline_interval_is_marked_outside():
    (row,) = did_rows(
        _did_frame(0.61, 0.70, 0.50, 0.70), ["drug"], ["successful_completion"], "logit_score_wcb"
    )
    assert row["inside"] is False and row["inside_crv1"] is True
    disc = Disclosure(K, active=False)
    tbl = did_section([row], {}, "logit_score_wcb", disc, real=False, synthetic=False)
    disc.resolve()
    marks = [c for c in tbl["body"][0] if c.get("cls", "").startswith("mark")]
    assert marks[0]["cls"] == "mark-out" and "✗" in marks[0]["text"]
    assert marks[1]["cls"] == "mark-in" and "✓" in marks[1]["text"]


def test_an_effect_that_changes_in_the_second_post_year_has_no_planted_or():
    """effects.json's did_or is the first post year's OR where did_or_second_year differs: no single
    OR for the two-year DiD, so the planted column leaves it out; a constant one is kept."""
    effects = {
        "did_or": {"drug": {"successful_completion": 0.86, "abstinence": 1.5, "housing_problem": None}},
        "did_or_second_year": {"drug": {"successful_completion": 0.35, "abstinence": 1.5}},
    }
    assert planted_effects(effects) == {("drug", "abstinence"): 1.5}
    del effects["did_or_second_year"]  # a record from before the setting: every OR constant
    assert planted_effects(effects) == {("drug", "successful_completion"): 0.86, ("drug", "abstinence"): 1.5}


def test_an_effect_planted_as_a_raw_did_or_has_no_planted_adjusted_or():
    """Retention and unplanned discharge are planted as raw DiD ORs (the truth's discharge_effects):
    the adjusted DiD estimates another OR, so they are not planted ORs but raw ones, by cohort."""
    effects = {
        "did_or": {"drug": {"retention": 1.2, "abstinence": 1.5}, "alcohol": {"unplanned_discharge": 1.3}},
        "discharge_effects": {"alcohol": {"unplanned_discharge": {"recoded": 3}}, "drug": {"retention": {}}},
    }
    assert planted_effects(effects) == {("drug", "abstinence"): 1.5}
    assert raw_planted_effects(effects) == {
        ("drug", "retention"): 1.2,
        ("alcohol", "unplanned_discharge"): 1.3,
    }
    assert (
        raw_planted_effects({"did_or": {"drug": {"abstinence": 1.5}}}) == {}
        and raw_planted_effects(None) == {}
    )


def test_interval_ends_count_as_inside_and_missing_intervals_give_no_mark():
    (row,) = did_rows(
        _did_frame(0.60, 0.70, 0.5, 0.6), ["drug"], ["successful_completion"], "logit_score_wcb"
    )
    assert row["inside"] is True and row["inside_crv1"] is True
    (row,) = did_rows(
        _did_frame(np.nan, np.nan, 0.5, 0.7), ["drug"], ["successful_completion"], "logit_score_wcb"
    )
    # headline interval missing: no verdict, and CRV1 never takes its place (it is shown for reference)
    assert row["method"] == "logit_score_wcb" and row["inside"] is None and not row["verdict"].ok
    assert row["inside_crv1"] is None and "CRV1 shown for reference only" in row["note"]
    frame = _did_frame(0.5, 0.7, 0.5, 0.7).assign(cohort="alcohol")
    (row,) = did_rows(frame, ["alcohol"], ["successful_completion"], "logit_score_wcb")
    assert row["published"] is None and row["inside"] is None  # published values are for drug clients


def test_not_significant_findings_are_judged_by_whether_the_interval_includes_one():
    (row,) = did_rows(
        _did_frame(0.8, 1.3, 0.9, 1.1, 1.0, "drug_related_death"),
        ["drug"],
        ["drug_related_death"],
        "logit_score_wcb",
    )
    assert row["published"] is None and row["not_significant"] and row["includes_one"] is True
    (row,) = did_rows(
        _did_frame(1.1, 1.3, 1.1, 1.2, 1.2, "drug_related_death"),
        ["drug"],
        ["drug_related_death"],
        "logit_score_wcb",
    )
    assert row["includes_one"] is False


# ---------------------------------------------------------------------------------------
# The rendered report (parsed)


def test_real_mode_report_shows_no_small_count(rendered):
    p = parse_cells(rendered["real"])
    counts = [c for c in p.cells if "count" in c["attrs"].get("class", "")]
    assert counts, "count cells are marked with class 'count'"
    for c in counts:
        assert not small_numbers(c["text"]), c
    html = rendered["real"].read_text()
    assert "&lt;10" in html and COMPLEMENT in html and DERIVED in html
    # the small journeys cell (alcohol pilot post: 8) is hidden in every table it appears in
    assert not re.search(r"\(\d+ / 8\)", html)
    # a model's journeys = its four cells (one suppressed) + the journeys it dropped: suppressed too
    # (the CSV's counts are plain numbers; a withheld one is empty, its marker beside it)
    did = pd.read_csv(rendered["real"].parent / "did.csv")
    assert did["journeys"].dtype == "float64" and did["estimate"].dtype == "float64"
    alcohol = did[did["cohort"] == "alcohol"].set_index("outcome")
    assert pd.isna(alcohol.at["abstinence", "journeys"])
    assert alcohol.at["abstinence", "journeys_marker"] == COMPLEMENT
    # ... unless it equals a total already shown with two cells hidden (all journeys of the cohort)
    assert alcohol.at["successful_completion", "journeys"] == 6286
    assert pd.isna(alcohol.at["successful_completion", "journeys_marker"])
    assert set(did.loc[did["cohort"] == "drug", "journeys"]) == {6065, 3032}
    # model counts are not shown for every model
    for c in p.cells:
        if c["table"] == "tbl-all":
            assert c["text"] not in ("n", "Events")
    flow = pd.read_csv(rendered["real"].parent / "flow.csv")
    assert flow["n"].dtype == "float64"  # a plain number, empty when withheld
    shown = flow["n"].dropna()
    assert not shown.between(1, 9).any() and len(shown) > 0
    assert set(flow.loc[flow["n"].isna(), "n_marker"]) <= {"<10", COMPLEMENT}


def test_real_mode_flow_complements_hide_the_small_exclusion(rendered):
    flow = (rendered["real"].parent / "flow.csv").read_text().splitlines()
    persons = [x for x in flow if x.startswith("link,persons,ndtms_episodes")]
    kept = next(x for x in persons if ",kept," in x)
    dropped = next(x for x in persons if ",dropped," in x)
    # 17,100 in = 17,094 kept + 6 dropped: hiding only the 6 would leave it as 17,100 - 17,094
    assert dropped.endswith(",,<10") and kept.endswith(",," + COMPLEMENT)


def test_synthetic_report_shows_counts(rendered):
    html = rendered["synthetic"].read_text()
    assert "&lt;10" not in html and COMPLEMENT not in html
    assert "17,094" in html
    assert "engine <code>exact</code>" in html  # the methods name the model engine the config chose


def test_report_is_self_contained_and_accessible(rendered):
    for path in rendered.values():
        html = path.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:|//)""", html)
        assert "<script" not in html and "<link" not in html
        p = parse_cells(path)
        assert p.imgs and all(i.get("src", "").startswith("data:image/png;base64,") for i in p.imgs)
        assert all(len(i.get("alt", "")) > 40 for i in p.imgs)
        assert all(
            c["attrs"].get("scope") in ("col", "row", "colgroup", "rowgroup")
            for c in p.cells
            if c["tag"] == "th"
        )


def test_did_table_has_one_row_per_outcome_and_cohort(rendered):
    p = parse_cells(rendered["synthetic"])
    outcomes = [
        c["text"]
        for c in p.cells
        if c["table"] == "tbl-did" and c["tag"] == "th" and c["attrs"].get("scope") == "row"
    ]
    assert len(outcomes) == len(COHORTS) * len(OUTCOMES)
    html = rendered["synthetic"].read_text()
    assert "Published OR inside the reproduced 95% interval" in html
    did = pd.read_csv(rendered["synthetic"].parent / "did.csv")
    assert len(did) == len(COHORTS) * len(OUTCOMES)


def test_same_inputs_give_the_same_report_except_the_run_date(tmp_path, monkeypatch):
    # the commit is read once (another engineer's edit between the two renders must not flip '+dirty')
    commit = git_commit(TEMPLATE_DIR.parent)
    monkeypatch.setattr("pbr.report.render.git_commit", lambda repo: commit)
    a = render(tmp_path, run_date="2026-01-01 00:00 UTC", name="a")
    b = render(tmp_path, run_date="2027-06-30 12:34 UTC", name="b")
    la, lb = a.read_text().splitlines(), b.read_text().splitlines()
    assert len(la) == len(lb)
    diff = [(x, y) for x, y in zip(la, lb, strict=True) if x != y]
    assert len(diff) == 1  # the run date line
    assert 'id="run-date"' in diff[0][0] and "2026-01-01" in diff[0][0] and "2027-06-30" in diff[0][1]
    # the form tests/system/test_reproducibility.py blanks: exactly one "&middot; run <date>"
    assert len(re.findall(r"&middot; run [^<\n]*", a.read_text())) == 1
    for f in ("forest.png", "did.csv", "event_study.png", "trends.png", "flow.csv"):
        assert (a.parent / f).read_bytes() == (b.parent / f).read_bytes(), f
    figures = sorted(p.name for p in (a.parent / "figures").iterdir())
    assert figures == sorted(p.name for p in (b.parent / "figures").iterdir()) and figures
    for f in figures:
        assert (a.parent / "figures" / f).read_bytes() == (b.parent / "figures" / f).read_bytes(), f


def test_every_figure_shown_is_written_as_print_png_and_svg(rendered):
    """results/report/figures/ holds each figure the report shows (by its id) at 200 dpi and as SVG."""
    import xml.etree.ElementTree as ET

    from PIL import Image

    html = rendered["synthetic"].read_text()
    shown = set(re.findall(r'<figure[^>]*id="(fig-[^"]+)"', html)) - {"fig-placeholder"}
    folder = rendered["synthetic"].parent / "figures"
    written = {p.stem for p in folder.glob("*.png")}
    assert shown and shown <= written, (shown - written, written)
    assert written == {p.stem for p in folder.glob("*.svg")}
    for fid in written:
        with Image.open(folder / f"{fid}.png") as im:
            assert round(im.info["dpi"][0]) == 200, (fid, im.info.get("dpi"))
        root = ET.fromstring((folder / f"{fid}.svg").read_bytes())
        assert root.tag.endswith("svg"), fid


# ---------------------------------------------------------------------------------------
# Headless Chromium


def test_an_error_while_rendering_writes_nothing(tmp_path, monkeypatch):
    """The report and its tables are all rendered before any is written: an error in the last
    one (here the flow table) leaves no report that looks complete."""

    def broken(flow_sec, disc):
        raise RuntimeError("flow table failed")

    monkeypatch.setattr("pbr.report.render.flow_csv", broken)
    with pytest.raises(RuntimeError, match="flow table failed"):
        render(tmp_path)
    assert not list(tmp_path.rglob("*.*"))


def test_deterministic_linkage_pairs_give_no_weight_figure():
    """Exact-key pairs all weigh infinity: no histogram to draw, and no crash (real-data runs used
    to fail here with linkage.method: deterministic)."""
    pairs = {"deaths": pd.DataFrame({"match_weight": [np.inf, np.inf], "match_probability": [1.0, 1.0]})}
    assert match_weight_figure(pairs, 0.5, Disclosure(K, active=True)) is None
    pairs["offences"] = pd.DataFrame(
        {"match_weight": [np.inf, 3.0, 8.0], "match_probability": [1, 0.9, 0.99]}
    )
    fig = match_weight_figure(pairs, 0.5, Disclosure(K, active=False))
    assert fig is not None and "offences: weights from 3.0 to 8.0" in fig.alt and "deaths" not in fig.alt


def test_synthetic_report_shows_the_calibration_of_the_match_probabilities_real_does_not(rendered):
    """The fixture's deaths probabilities are calibrated, its offences ones over-confident (a pair
    with probability p is true with probability p^2): the table says which meets the 0.02 target."""
    cells = [
        c["text"] for c in parse_cells(rendered["synthetic"]).cells if c["table"] == "tbl-linkage-calibration"
    ]
    deaths, offences = cells.index("deaths"), cells.index("offences")
    assert cells[deaths + 4] == "met" and cells[offences + 4] == "not met"
    assert float(cells[offences + 1]) > 0.1 > float(cells[deaths + 1])
    assert "–" in cells[deaths + 2]  # the range over the two cells
    assert "tbl-linkage-calibration" not in rendered["real"].read_text()


def _table_cells(path, tid: str) -> list[str]:
    return [c["text"] for c in parse_cells(path).cells if c["table"] == tid]


def test_linkage_indicators_show_the_expected_errors_and_hide_them_with_a_suppressed_count(rendered):
    cells = _table_cells(rendered["synthetic"], "tbl-linkage-indicators")
    # drug, pilot, post, offences: 200 journeys, 66 linked, 6 grey, 1.3 expected false, 3.3 missed
    row = next(i for i in range(len(cells)) if cells[i : i + 4] == ["offences", "drug", "pilot", "post"])
    assert cells[row + 4] == "33.0% (66 / 200)"
    assert cells[row + 5] == "9.1%"
    assert cells[row + 6 : row + 9] == ["1.3", "3.3", "34.0%"]
    # real data: alcohol pilot post has 8 journeys and 0 death links; its counts are suppressed and the
    # expected errors computed from them hidden with them
    real = _table_cells(rendered["real"], "tbl-linkage-indicators")
    row = next(i for i in range(len(real)) if real[i : i + 4] == ["offences", "alcohol", "pilot", "post"])
    assert real[row + 4].startswith("[s]") and f"<{K}" in real[row + 4]
    assert real[row + 6 : row + 9] == ["[s]", "[s]", "[s]"]


def test_negative_controls_flag_a_control_the_headline_test_finds_moved():
    """The fixture's offences before the start moved (headline p 0.01), its grey links did not (0.6)."""
    from report_fixtures import make_results

    from pbr.report.estimates import negative_control_table

    tbl = negative_control_table(make_results())
    text = [[c["text"] for c in row] for row in tbl["body"]]
    prior = next(r for r in text if any("before the journey starts" in x for x in r))
    grey = next(r for r in text if any("offender link" in x for x in r))
    assert prior[-1] == "✗ changed (p < 0.05)" and "1.600" in prior
    assert grey[-1] == "✓ no change detected" and "0.900" in grey
    assert negative_control_table(make_results().iloc[0:0]) is None


def test_findings_count_the_negative_controls_and_name_the_changed_one(rendered):
    text = re.sub(r"<[^>]+>", " ", rendered["synthetic"].read_text())
    text = re.sub(r"\s+", " ", text)
    assert "Linkage negative controls showing no change in the pilots after April 2012: 1 of 2" in text
    assert "Changed: drug prior_offence (OR 1.600, p 0.010)" in text


def test_the_linkage_bounds_table_gives_the_range_and_the_tipping_point(rendered):
    from report_fixtures import make_link_bounds

    from pbr.fit.link_bounds import bounds_row

    cells = _table_cells(rendered["synthetic"], "tbl-linkage-bounds")
    b = bounds_row(make_link_bounds())
    assert cells[cells.index("drug") + 2] == f"{b['odds_ratio']:.3f}"
    low, high = cells[cells.index("drug") + 3].split("–")
    assert float(low) == pytest.approx(b["low"], abs=5e-4) and float(high) == pytest.approx(
        b["high"], abs=5e-4
    )
    assert float(low) < b["odds_ratio"] < float(high)
    # 150 pilot-post events against 100 elsewhere: 100 there would give OR 1, a third fewer
    assert cells[cells.index("drug") + 4] == "33% fewer events"
