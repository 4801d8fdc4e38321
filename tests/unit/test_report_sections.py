"""The report sections of issue 19: the headline method first on every check, CRV1 beside for
reference; pre-trend verdicts from the bootstrap p; RI roles; per-pilot evidence; timing;
composition and adjustment; the event-study figure with the clear-of-start reference.

Rendered from report_fixtures' issue-19 inputs (hand-built rows in the formats the fit writes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import (
    COHORTS,
    OUTCOMES,
    K,
    make_config,
    make_issue19_inputs,
    make_pilot_areas,
    make_results,
    parse_cells,
    render_issue19,
    result_row,
    small_numbers,
)

from pbr.registry.methods import METHOD_LABELS
from pbr.report.estimates import inference_section, pretrend_tests, reassignments, robustness_section
from pbr.report.figures import event_study_figure
from pbr.report.findings import summary_findings
from pbr.report.inputs import load_inputs
from pbr.report.pilots import pilot_section
from pbr.report.timing import straddle_text, timing_section

C, OUT = "drug", "successful_completion"


@pytest.fixture(scope="module")
def issue19(tmp_path_factory) -> dict[str, Path]:
    """The issue-19 fixture report, synthetic and real mode."""
    tmp = tmp_path_factory.mktemp("issue19")
    return {"synthetic": render_issue19(tmp), "real": render_issue19(tmp, real=True, name="real")}


def _pretrend_frame(p_crv1: float, p_boot: float | None) -> pd.DataFrame:
    """One event study's joint pre-trend tests: CRV1 (logit, LPM) and, unless None, the bootstraps."""
    rows = [
        result_row(C, OUT, "main", "logit_crv1", 0.6, 0.5, 0.7, 0.01, 1000, 300),
        result_row(C, OUT, "event_study_pretrend", "logit_crv1", 12.0, np.nan, np.nan, p_crv1, 1000, 300)
        | {"scale": "wald_chi2"},
        result_row(C, OUT, "event_study_pretrend", "lpm_crv1", 3.0, np.nan, np.nan, p_crv1, 1000, 300)
        | {"scale": "wald_F"},
    ]
    if p_boot is not None:
        rows += [
            result_row(
                C, OUT, "event_study_pretrend", "logit_score_wcb", 12.0, np.nan, np.nan, p_boot, 1000, 300
            )
            | {"scale": "wald_chi2"},
            result_row(C, OUT, "event_study_pretrend", "lpm_wcb_webb", 3.0, np.nan, np.nan, p_boot, 1000, 300)
            | {"scale": "wald_F"},
        ]
    return pd.DataFrame(rows)


def _cells(html: Path, table_id: str) -> list[str]:
    return [c["text"] for c in parse_cells(html).cells if c["table"] == table_id]


def _row(html: Path, table_id: str, name: str) -> list[str]:
    """The cells of the row whose row header is ``name`` (up to the next row header)."""
    cells = [
        c
        for c in parse_cells(html).cells
        if c["table"] == table_id
        and "repeat" not in c["attrs"].get("class", "").split()  # hidden in the table
    ]
    i = next(i for i, c in enumerate(cells) if c["tag"] == "th" and c["text"] == name)
    out = [cells[i]["text"]]
    for c in cells[i + 1 :]:
        if c["tag"] == "th":
            break
        out.append(c["text"])
    return out


# ---------------------------------------------------------------------------------------
# Pre-trend verdicts: the bootstrap p only


@pytest.mark.parametrize(("p_crv1", "p_boot", "detected"), [(0.01, 0.40, False), (0.60, 0.02, True)])
def test_pretrend_verdict_comes_from_the_bootstrap_p_not_crv1(p_crv1, p_boot, detected):
    """CRV1 and the bootstrap disagree: the verdict words, the findings box and the figure follow
    the bootstrap; CRV1's p is kept beside, for reference."""
    results = _pretrend_frame(p_crv1, p_boot)
    (test,) = pretrend_tests(results).values()
    assert test["p"] == p_boot and test["p_crv1"] == p_crv1 and test["lpm_p_crv1"] == p_crv1
    assert test["detected"] is detected
    assert test["verdict"] == ("pre-trend detected" if detected else "no pre-trend detected")
    rob = robustness_section(results, [C], [OUT], make_config())
    (pre,) = rob["pretrend"]
    assert pre["p"] == p_boot and pre["p_crv1"] == p_crv1
    findings = summary_findings([], [], rob, "logit_score_wcb", True, results=results)
    (item,) = [f for f in findings if f["text"].startswith("Pre-trend across")]
    assert item["ok"] is (not detected)  # one test: Holm's p is its p
    row = next(r for r in rob["table"]["body"] if any(c["text"] == "Pre-trend test" for c in r))
    comment = row[-2]["text"]
    assert (row[-5]["text"], row[-3]["text"]) == (f"{p_boot:.3f}", f"{p_crv1:.3f}")  # p, CRV1 p
    assert comment.startswith("pre-trend detected" if detected else "no pre-trend detected")
    assert "CRV1, for reference only" in comment


def test_the_tests_over_the_pilots_trends_decide_when_the_rule_leads_with_them():
    """The per-pilot trend tests (pbr.fit.pilot_trends) sit beside the joint tests; led by the
    Ibragimov-Mueller test, its p makes the verdict and its mean trend is worded per year."""
    results = pd.concat(
        [
            _pretrend_frame(0.01, 0.02),
            pd.DataFrame(
                [
                    result_row(C, OUT, "event_study_pretrend", m, est, lo, hi, p, 1000, 300)
                    for m, est, lo, hi, p in (
                        ("logit_ibragimov_mueller", 1.08, 0.95, 1.2, 0.30),
                        ("lpm_ibragimov_mueller", 0.01, -0.01, 0.03, 0.31),
                        ("logit_canay_romano_shaikh", 1.08, 0.9, 1.3, 0.27),
                    )
                ]
            ),
        ],
        ignore_index=True,
    )
    (test,) = pretrend_tests(results, lead="logit_ibragimov_mueller").values()
    assert test["method"] == "logit_ibragimov_mueller" and test["verdict_p"] == 0.30
    assert test["detected"] is False and test["p"] == 0.02 and test["lpm_crs_p"] is None
    assert test["text"].startswith(
        "logit Ibragimov-Müller t over the pilots' linear pre-trends (verdict): mean trend OR per year = 1.08"
    )
    assert (
        "LPM Ibragimov-Müller t over the pilots' linear pre-trends: mean trend per year (risk difference)"
        in (test["text"])
    )
    (score,) = pretrend_tests(results).values()
    assert score["method"] == "logit_score_wcb" and score["detected"] is True


def test_without_a_bootstrap_pretrend_test_there_is_no_verdict():
    (test,) = pretrend_tests(_pretrend_frame(0.01, None)).values()
    assert test["p"] is None and test["detected"] is None and test["p_crv1"] == 0.01
    assert test["verdict"].startswith("no verdict")


def test_a_not_estimable_bootstrap_pretrend_test_gives_no_p():
    results = _pretrend_frame(0.01, 0.3)
    results.loc[results["method"] == "logit_score_wcb", ["estimate", "p_value"]] = np.nan
    (test,) = pretrend_tests(results).values()
    assert test["p"] is None and test["detected"] is None and test["lpm_p"] == 0.3


# ---------------------------------------------------------------------------------------
# Robustness: headline first, CRV1 beside


def test_robustness_rows_show_the_headline_interval_first_and_crv1_beside(issue19):
    placebo = _row(issue19["synthetic"], "tbl-robustness", "Placebo start (2011-04-01, pre-period only)")
    assert placebo[1:6] == ["1.020", "0.700–1.500", "0.930", "0.800–1.300", "0.900"]
    head = _cells(issue19["synthetic"], "tbl-robustness")
    assert "Headline method (few-cluster)" in head and "CRV1, for reference only" in head
    threshold = _row(issue19["synthetic"], "tbl-robustness", "Linkage threshold 0.2 (main: 0.5)")
    assert threshold[2] == "0.400–2.200" and threshold[4] == "0.500–1.800"
    # the recall sensitivity names its recall, the main one and the equivalent threshold
    recall = _row(
        issue19["synthetic"], "tbl-robustness", "Assumed recall 0.6 (main: 0.8; links at p ≥ 0.429)"
    )
    assert recall[2] == "0.400–2.200"


def test_a_check_without_a_headline_row_says_so_and_shows_crv1_only_for_reference():
    results = make_results()  # robustness rows with CRV1 only
    rob = robustness_section(results, COHORTS, OUTCOMES, make_config())
    texts = [[c["text"] for c in row] for row in rob["table"]["body"]]
    placebo = next(r for r in texts if any(str(x).startswith("Placebo") for x in r))
    i = next(i for i, x in enumerate(placebo) if str(x).startswith("Placebo"))
    assert placebo[i + 2 : i + 4] == ["", ""]  # no headline interval or p
    assert placebo[i + 4] == "0.800–1.300"
    assert "no few-cluster row" in placebo[i + 6]


def test_mason_verdict_uses_the_headline_interval():
    """Published 0.859 lies inside CRV1 (0.78-0.95) but outside the headline interval (0.90-1.20)."""
    full = make_results()
    headline_mason = (full["specification"] == "mason_2015") & (full["method"] == "logit_score_wcb")
    results = full[~headline_mason]  # the fixture's own headline rows, replaced below
    crv = results[(results["specification"] == "mason_2015") & (results["method"] == "logit_crv1")].iloc[0]
    results = pd.concat(
        [
            results,
            pd.DataFrame([crv.to_dict() | {"method": "logit_score_wcb", "ci_low": 0.9, "ci_high": 1.2}]),
        ]
    )
    rob = robustness_section(results, COHORTS, OUTCOMES, make_config())
    (mason,) = rob["mason"]
    assert mason["inside"] is False and mason["ci"] == (0.9, 1.2)
    # without the headline row: no verdict at all, never CRV1's "inside"
    rob = robustness_section(full[~headline_mason], COHORTS, OUTCOMES, make_config())
    (mason,) = rob["mason"]
    assert mason["inside"] is None and not mason["verdict"].ok


def test_leave_one_out_counts_the_score_bootstrap_intervals(issue19):
    rob = robustness_section(make_issue19_inputs().results, COHORTS, OUTCOMES, make_config())
    comment = next(
        row[-2]["text"] for row in rob["table"]["body"] if any("Leave one" in str(c["text"]) for c in row)
    )
    # headline intervals: 0.38-0.90 and 0.58-1.00 and 0.78-1.10: one excludes 1; CRV1: all three
    assert "score-bootstrap interval (over the remaining pilots) excludes 1 in 1 of 3" in comment
    assert "CRV1, for reference only: excludes 1 in 3 of 3" in comment
    fits = _cells(issue19["synthetic"], "tbl-leave-out")
    assert "without E0012" in fits and "0.380–0.900" in fits


# ---------------------------------------------------------------------------------------
# Inference roles


def test_inference_rows_carry_their_role_and_reassignments():
    inputs = make_issue19_inputs()
    (drug, _) = inference_section(inputs.results, COHORTS, OUTCOMES, "logit_score_wcb")
    rows = [[c["text"] for c in r] for r in drug["body"]]
    by_method = {r[-7]: r for r in rows}
    raw = by_method[METHOD_LABELS["logit_ri"]]
    assert raw[-6] == "valid only if the pilots were exchangeable with other areas"
    assert "9,999 re-assignments" in raw[-1]
    size = by_method[METHOD_LABELS["lpm_ri_t_size"]]
    assert size[-6].startswith("sensitivity")
    assert by_method[METHOD_LABELS["logit_ri_t"]][-6].startswith("secondary check")
    assert by_method[METHOD_LABELS["logit_score_wcb"]][-6] == "headline"
    assert rows[0][1] == METHOD_LABELS["logit_score_wcb"]  # the headline first
    assert by_method[METHOD_LABELS["logit_crv1"]][-6].startswith("for reference only")


def test_reassignments_are_read_from_the_note():
    assert (
        reassignments("randomisation inference over 149 areas, 8 treated per draw, 9,999 re-assignments")
        == 9999
    )
    assert reassignments("WCR (null imposed), Webb weights, 9999 reps") is None
    assert reassignments(np.nan) is None


# ---------------------------------------------------------------------------------------
# Per-pilot evidence


def test_per_pilot_section_has_a_forest_plot_a_table_and_the_tests(issue19):
    html = issue19["synthetic"]
    p = parse_cells(html)
    assert any("Forest plot of the DiD odds ratio of each pilot area" in i.get("alt", "") for i in p.imgs)
    kent = _row(html, "tbl-pilots-drug-successful_completion", "Kent")
    assert kent[1:6] == ["P2", "0.950", "-0.63", "12.0", "80"]
    bracknell = _row(html, "tbl-pilots-drug-successful_completion", "Bracknell Forest")
    assert bracknell[4] == "30.0"  # leverage share in percent
    tests = _cells(html, "tbl-pilot-tests-drug-successful_completion")
    assert METHOD_LABELS["logit_ibragimov_mueller"] in tests and "0.011" in tests
    assert "Logit, Canay-Romano-Shaikh sign-change test" in tests and "0.016" in tests


def test_real_mode_per_pilot_table_shows_no_count(issue19):
    html = issue19["real"]
    cells = _cells(html, "tbl-pilots-drug-successful_completion")
    assert "Journeys" not in cells and "Events" not in cells
    wigan = _row(html, "tbl-pilots-drug-successful_completion", "Wigan")  # 6 journeys, 3 events
    for text in wigan[1:]:
        assert not small_numbers(text.replace("P7", "")), wigan
    assert "not shown in real-data mode" in html.read_text()


def test_per_pilot_section_reads_the_pilot_table_alone_and_codes_without_a_lookup():
    inputs = make_issue19_inputs()
    results = inputs.results[~inputs.results["specification"].str.startswith("pilot_")]
    (entry,) = pilot_section(results, make_pilot_areas(), pd.DataFrame(), COHORTS, OUTCOMES, real=False)
    body = [[c["text"] for c in r] for r in entry["table"]["body"]]
    assert [r[0] for r in body] == [f"P{i}" for i in range(8)]
    assert body[7][2] == "0.330" and "P7 0.33" in entry["figure"].alt
    assert "Ibragimov-Müller mean 0.61 (0.45–0.84), p = 0.011" in entry["figure"].alt


def test_no_per_pilot_rows_no_section_entry():
    assert pilot_section(make_results(), pd.DataFrame(), pd.DataFrame(), COHORTS, OUTCOMES, real=False) == []


def test_load_inputs_reads_the_pilot_table_when_given(tmp_path):
    inputs = make_issue19_inputs()
    paths = {}
    for name, df in {"results": inputs.results, "rates": inputs.rates, "flow": inputs.flow}.items():
        paths[name] = tmp_path / f"{name}.parquet"
        df.to_parquet(paths[name])
    make_pilot_areas().to_parquet(tmp_path / "pilot_areas.parquet")
    kw = {"results": paths["results"], "rates": paths["rates"], "flows": [paths["flow"]]}
    assert load_inputs(**kw).pilot_areas.empty
    read = load_inputs(**kw, pilot_areas=tmp_path / "pilot_areas.parquet").pilot_areas
    assert list(read["area_code"]) == [f"P{i}" for i in range(8)]


# ---------------------------------------------------------------------------------------
# Timing, composition, adjustment


def test_timing_table_and_the_straddle_sentence(issue19):
    cfg = make_config()
    assert "journeys starting from April 2011 to March 2012, before the pilots began on 1 April 2012" in (
        straddle_text(cfg)
    )
    donut = _row(
        issue19["synthetic"], "tbl-timing", "Donut: journeys whose outcome window crosses 2012-04-01 dropped"
    )
    assert donut[1:6] == ["0.610", "0.450–0.830", "0.004", "0.500–0.750", "0.001"]
    clear = _row(issue19["synthetic"], "tbl-timing", "Pre-trend test (pre-period clear of the start)")
    assert clear[3] == "0.660" and clear[5] == "0.410" and clear[6].startswith("no pre-trend detected")
    assert _row(issue19["synthetic"], "tbl-timing", "Placebo clear of the start")[2] == "0.700–1.350"
    # the placebo clear of the start is not counted twice in the robustness table
    assert "Placebo clear of the start" not in _cells(issue19["synthetic"], "tbl-robustness")
    assert timing_section(make_results(), COHORTS, OUTCOMES, cfg)["table"] is None


def test_composition_table_in_percentage_points_with_post_start_covariates_flagged(issue19):
    html = issue19["synthetic"]
    daily = _row(html, "tbl-composition", "baseline use: daily")
    assert daily[1:6] == ["3.10", "−0.90 to 7.10", "0.700", "1.10–5.10", "0.600"]
    assert "after the journey starts" in daily[6]
    assert "after the journey starts" not in " ".join(_row(html, "tbl-composition", "sex: female"))
    assert _row(html, "tbl-composition", "denominator: with start top")[1] == "-6.00"
    main = _row(html, "tbl-adjustment", "Covariates: every covariate (main)")
    assert main[1:3] == ["0.580", "0.406–0.812"] and "possibly affected by the scheme" in main[-1]
    none = _row(html, "tbl-adjustment", "Covariates: none")
    assert none[1:6] == ["0.520", "0.364–0.728", "0.020", "0.416–0.650", "0.001"]


def test_configured_post_start_covariates_are_the_ones_flagged(tmp_path):
    cfg = make_config()
    cfg["models"]["robustness"]["post_start_covariates"] = ["sex"]
    from pbr.report.composition import composition_table

    tbl = composition_table(make_issue19_inputs().results, COHORTS, cfg)
    flagged = [row for row in tbl["body"] if any("after the journey starts" in str(c["text"]) for c in row)]
    assert len(flagged) == 1 and any(c["text"] == "sex: female" for c in flagged[0])


def test_an_outcome_decided_at_the_start_shows_its_main_and_every_covariate_fit():
    """Issue #25: initiation's main model leaves out the start TOP; the adjustment table labels it
    so and shows the fit with every covariate beside it."""
    from pbr.report.composition import adjustment_table

    rows = []
    for spec, e in (("main", 0.59), ("all_covariates", 0.64), ("demographics", 0.59), ("unadjusted", 0.57)):
        crv = result_row(
            "drug", "treatment_initiation", spec, "logit_crv1", e, e * 0.8, e * 1.25, 0.001, 3000, 900
        )
        rows += [
            crv,
            crv | {"method": "logit_score_wcb", "ci_low": e * 0.7, "ci_high": e * 1.4, "p_value": 0.02},
        ]
    cfg = make_config()
    tbl = adjustment_table(pd.DataFrame(rows), ["drug"], ["treatment_initiation"], cfg)
    text = {c["text"]: row for row in tbl["body"] for c in row if isinstance(c.get("text"), str)}
    main = [c["text"] for c in text["Covariates: recorded before the start (main)"]]
    assert "0.590" in main
    assert any("are left out (models.start_outcome_covariates)" in str(t) for t in main)
    full = [c["text"] for c in text["Covariates: every covariate, start TOP included"]]
    assert "0.640" in full and any("partly adjusts for the outcome" in str(t) for t in full)
    cfg["models"]["start_outcome_covariates"] = "all"
    tbl = adjustment_table(pd.DataFrame(rows), ["drug"], ["treatment_initiation"], cfg)
    labels = {c["text"] for row in tbl["body"] for c in row if isinstance(c.get("text"), str)}
    assert "Covariates: every covariate (main)" in labels


# ---------------------------------------------------------------------------------------
# Event-study figure


def test_event_study_figure_draws_the_standard_study_and_marks_the_clear_reference():
    inputs = make_issue19_inputs()
    pt = pretrend_tests(inputs.results)
    fig = event_study_figure(inputs.event_study, pt, make_config())
    assert fig is not None
    assert fig.alt.count("Successful completion (12 months) (drug):") == 1  # one panel, not two
    assert "clear-of-start reference period from Oct 2010" in fig.alt
    assert "no pre-trend detected (logit score bootstrap p = 0.520)" in fig.alt
    # without the specification column (older tables): drawn, nothing shaded
    old = inputs.event_study[inputs.event_study["specification"] == "event_study"].drop(
        columns="specification"
    )
    fig = event_study_figure(old, pt, make_config())
    assert fig is not None and "clear-of-start" not in fig.alt


def test_the_issue19_report_renders_self_contained_with_every_new_section(issue19):
    for html in issue19.values():
        text = html.read_text()
        for sid in ('id="pilots"', 'id="composition"', 'id="timing"', 'id="tbl-timing"'):
            assert sid in text, sid
        assert 'href="#pilots"' in text and 'href="#composition"' in text
        p = parse_cells(html)
        assert all(i.get("src", "").startswith("data:image/png;base64,") for i in p.imgs)
    assert K == 10


def test_a_check_comment_carries_the_fits_caveat_once_without_the_methods_note():
    """A caveat row's note is the fit's caveat plus the method's description: the check shows the
    caveat (from the CRV1 row of the same fit) once, never the bootstrap's note, never 'caveat: caveat:'."""
    from pbr.report.checks import spec_check

    caveat = "caveat: 6 journeys fitted at probability 0 or 1"
    results = pd.DataFrame(
        [
            result_row(C, OUT, "main", "logit_crv1", 0.6, 0.5, 0.7, 0.01, 1000, 300, caveat)
            | {"status": "caveat"},
            result_row(
                C, OUT, "main", "logit_score_wcb", 0.6, 0.4, 0.9, 0.02, 1000, 300, caveat + "; Webb weights"
            )
            | {"status": "caveat"},
        ]
    )
    check = spec_check(results, C, OUT, "main", "Main")
    assert check.comment == "caveat: 6 journeys fitted at probability 0 or 1"


def test_only_the_fits_own_phrase_marks_an_interval_unbounded():
    """The ATT's note explains that an unbounded end of beta maps to -1 or 1: that is not a
    remark; the fit's phrase for an infinite interval end is."""
    from pbr.report.checks import UNBOUNDED, remarks

    row = {
        "status": "ok",
        "estimate": -0.01,
        "ci_low": -0.09,
        "ci_high": 0.09,
        "scale": "risk_difference",
        "min_cell_events": 100,
        "note": "interval: the ATT at the ends (an unbounded end of beta gives -1 or 1)",
    }
    assert UNBOUNDED not in remarks(row, str)
    assert UNBOUNDED in remarks(row | {"note": f"bootstrap; {UNBOUNDED}"}, str)


def _trend_tests_frame(crs_pilots: int, crs_p: float, im_p: float | None) -> pd.DataFrame:
    """The joint tests (p 0.01) and the tests over the pilots' trends: the CRS test on
    ``crs_pilots`` pilot areas, the IM test (not estimable when ``im_p`` is None)."""
    crs = result_row(
        C, OUT, "event_study_pretrend", "logit_canay_romano_shaikh", 1.1, 0.9, 1.3, crs_p, 1000, 300
    )
    im = result_row(
        C, OUT, "event_study_pretrend", "logit_ibragimov_mueller", 1.1, 0.9, 1.3, im_p, 1000, 300
    ) | (
        {}
        if im_p is not None
        else {
            "estimate": np.nan,
            "p_value": np.nan,
            "status": "not_estimable",
            "note": "not estimable: 1 of 8 pilot areas with a per-pilot estimate; the test needs at least 2",
        }
    )
    return pd.concat(
        [_pretrend_frame(0.01, 0.01), pd.DataFrame([crs | {"n_treated_clusters": crs_pilots}, im])],
        ignore_index=True,
    )


ORDER = ("logit_canay_romano_shaikh", "logit_ibragimov_mueller", "logit_score_wcb")


@pytest.mark.parametrize(
    ("crs_pilots", "im_p", "method", "why"),
    [
        (8, 0.40, "logit_canay_romano_shaikh", None),  # CRS on 8 pilots can reach 5%: it decides
        (5, 0.40, "logit_ibragimov_mueller", "cannot fall below 0.0625"),  # 2/2^5 > 0.05: IM decides
        (5, None, "logit_score_wcb", "cannot fall below 0.0625"),  # and without IM, the joint test
    ],
)
def test_the_next_method_by_the_rule_decides_where_the_lead_cannot(crs_pilots, im_p, method, why):
    """A test that cannot be computed, or whose p cannot fall to the level with so few pilot
    areas, never says "no pre-trend detected": the next method of the rule's order decides, and
    the text says why the ones before it did not."""
    results = _trend_tests_frame(crs_pilots, 0.30, im_p)
    (test,) = pretrend_tests(results, lead=ORDER).values()
    assert test["method"] == method
    p = {"logit_canay_romano_shaikh": 0.30, "logit_ibragimov_mueller": im_p, "logit_score_wcb": 0.01}[method]
    assert test["verdict_p"] == p and test["detected"] is (p < 0.05)
    assert [m for m, _ in test["passed_over"]] == list(ORDER[: ORDER.index(method)])
    if why:
        assert test["text"].startswith("not deciding here, ") and why in test["text"]
        if im_p is None:
            assert "1 of 8 pilot areas with a per-pilot estimate" in test["text"]
    findings = summary_findings(
        [], [], {"pretrend": [{"cohort": C, "outcome": OUT, **test}], "mason": []}, "logit_score_wcb", True
    )
    (item,) = [f for f in findings if f["text"].startswith("Pre-trend tests (")]
    assert item["method"] == method


def test_without_a_deciding_test_the_verdict_says_none_could_decide():
    results = _trend_tests_frame(5, 0.30, None)
    results = results[results["method"] != "logit_score_wcb"]
    (test,) = pretrend_tests(results, lead=ORDER).values()
    assert test["detected"] is None and test["verdict_p"] is None and test["method"] == ORDER[0]
    assert test["verdict"].startswith("no verdict: no pre-trend test allowed to decide")
    assert "cannot fall below" in test["reason"]


def test_findings_give_one_item_per_deciding_method_lead_first():
    """Two outcomes, the lead deciding one and the next method the other: two findings items,
    each naming its method, the lead's first."""
    a = _trend_tests_frame(8, 0.30, 0.40)
    b = _trend_tests_frame(5, 0.30, 0.02).assign(outcome="abstinence")
    tests = pretrend_tests(pd.concat([b, a], ignore_index=True), lead=ORDER)
    pre = [{"cohort": c, "outcome": o, **t} for (c, o), t in tests.items()]
    findings = summary_findings([], [], {"pretrend": pre, "mason": []}, "logit_score_wcb", True)
    items = [f for f in findings if f["text"].startswith("Pre-trend tests (")]
    assert [i["method"] for i in items] == ["logit_canay_romano_shaikh", "logit_ibragimov_mueller"]
    assert items[0]["ok"] is None and items[1]["ok"] is None and "Abstinence" in items[1]["text"]
    (family,) = [f for f in findings if f["text"].startswith("Pre-trend across")]
    assert family["ok"] is False and "Abstinence" in family["text"]  # Holm: 2 x 0.02 = 0.04 < 0.05
    assert "could not be computed or reach the level" in items[1]["detail"]


def test_the_pretrend_family_verdict_is_holms():
    """Three outcomes, one flagged alone at p 0.02: Holm's adjusted p is 3 x 0.02 = 0.06
    (statsmodels' multipletests), so the family shows no pre-trend; the detail gives the flag
    before adjustment and the 0.15 flags chance alone gives at 5%."""
    frames = [
        _trend_tests_frame(8, p, 0.5).assign(outcome=o)
        for o, p in (("abstinence", 0.02), ("successful_completion", 0.4), ("representation", 0.7))
    ]
    tests = pretrend_tests(pd.concat(frames, ignore_index=True), lead=ORDER)
    pre = [{"cohort": c, "outcome": o, **t} for (c, o), t in tests.items()]
    findings = summary_findings([], [], {"pretrend": pre, "mason": []}, "logit_score_wcb", True)
    (item,) = [f for f in findings if f["text"].startswith("Pre-trend across")]
    assert item["ok"] is True and item["method"] == "logit_canay_romano_shaikh"
    assert item["text"] == "Pre-trend across the 3 pre-trend tests after Holm's adjustment: 0"
    assert item["detail"].startswith("1 of 3 flagged at p < 0.05 before adjustment")
    assert "chance alone flags 0.15 on average" in item["detail"]
    (alone,) = [f for f in findings if f["text"].startswith("Pre-trend tests (")]
    assert alone["ok"] is None and "Abstinence" in alone["text"]
    sharper = [{**x, "verdict_p": 0.01, "detected": True} if x["outcome"] == "abstinence" else x for x in pre]
    findings = summary_findings([], [], {"pretrend": sharper, "mason": []}, "logit_score_wcb", True)
    (item,) = [f for f in findings if f["text"].startswith("Pre-trend across")]
    assert item["ok"] is False and "Abstinence" in item["text"]  # 3 x 0.01 = 0.03


def test_every_pretrend_method_has_a_name_and_a_short_name():
    from pbr.report.estimates import PRETREND_FIELDS, PRETREND_NAMES, PRETREND_SHORT

    methods = {m for _, _, m in PRETREND_FIELDS}
    assert set(PRETREND_NAMES) == methods == set(PRETREND_SHORT)


# ---------------------------------------------------------------------------------------
# Late death registration: the delay table (disclosure) and the sensitivity row


def _registration_lag() -> pd.DataFrame:
    """A registration-delay table (results/link/registration_lag.parquet) with one small cell."""
    rows = []
    cells = {("pilot", "pre"): (40, 3, 1), ("pilot", "post"): (36, 4, 0), ("other", "pre"): (400, 30, 2)}
    cells[("other", "post")] = (380, 25, 3)
    for kind, scale in (("linked", 1), ("drug_poisoning", 0)):
        for (g, p), (n, over6, over12) in cells.items():
            n, over6, over12 = (
                (n, over6, over12) if scale else (max(n // 10, 2), 1 if g == "pilot" else 12, 0)
            )
            if kind == "drug_poisoning" and (g, p) == ("pilot", "post"):
                n = 2  # a cell small enough to identify a person
            rows.append(
                [
                    kind,
                    g,
                    p,
                    n,
                    7.0 + n,
                    150.5,
                    over6,
                    over6 / n,
                    over12,
                    over12 / n,
                    pd.Timestamp("2014-10-01"),
                    -181,
                ]
            )
    rows.append(
        [
            "extract",
            "all",
            "all",
            9000,
            5.0,
            40.0,
            300,
            300 / 9000,
            60,
            60 / 9000,
            pd.Timestamp("2015-05-01"),
            31,
        ]
    )
    from pbr.derive.registration import LAG_COLUMNS

    return pd.DataFrame(rows, columns=LAG_COLUMNS)


@pytest.fixture(scope="module")
def registration_reports(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("registration")
    out = {}
    for mode in ("synthetic", "real"):
        inputs = make_issue19_inputs()
        inputs.registration_lag = _registration_lag()
        crv = [
            result_row(
                c, "drug_related_death", "registered_within_365d", "logit_crv1", 0.9, 0.5, 1.6, 0.7, 900, 28
            )
            for c in COHORTS
        ]
        wcb = [r | {"method": "logit_score_wcb", "ci_low": 0.3, "ci_high": 2.5, "p_value": 0.81} for r in crv]
        extra = [pd.DataFrame(crv), pd.DataFrame(wcb)]
        inputs.results = pd.concat([inputs.results, *extra], ignore_index=True)
        out[mode] = render_issue19(tmp, real=mode == "real", name=mode, inputs=inputs)
    return out


def test_the_registration_delay_table_renders_with_its_figures(registration_reports):
    row = _row(registration_reports["synthetic"], "tbl-registration-lag", "linked deaths")
    assert row == ["linked deaths", "pilot", "pre", "40", "47", "150", "7.5% (3)", "2.5% (1)"]
    html = registration_reports["synthetic"].read_text()
    assert "2015-05-01, 31 days after the end of the last outcome window (2015-03-31" in html
    assert "counts only deaths registered within 365 days" in html


def test_the_registration_delay_table_suppresses_a_small_cell(registration_reports):
    cells = [
        c for c in parse_cells(registration_reports["real"]).cells if c["table"] == "tbl-registration-lag"
    ]
    texts = [c["text"] for c in cells]
    i = next(
        i
        for i, c in enumerate(cells)
        if c["text"] == "drug poisonings" and texts[i + 1 : i + 3] == ["pilot", "post"]
    )
    # the count is suppressed, and the delay quantiles and shares computed from it with it
    assert texts[i + 3] == f"<{K}" and texts[i + 4] == texts[i + 5] == "[s]"
    assert texts[i + 6].startswith("[s]") and texts[i + 7].startswith("[s]")
    assert not [n for n in small_numbers(" ".join(texts)) if 0 < n < K and str(n) in texts]


def test_the_registration_sensitivity_is_judged_by_the_threshold_rows_method(registration_reports):
    row = _row(registration_reports["synthetic"], "tbl-robustness", "Registered within 365 days")
    assert row[2] == "0.300–2.500" and row[3] == "0.810" and row[4] == "0.500–1.600"
    assert "wild cluster score bootstrap (logit_score_wcb), as the linkage-threshold rows" in row[6]
    methods = _cells(registration_reports["synthetic"], "tbl-verdict-methods")
    assert any("late-registration sensitivity" in x for x in methods)
