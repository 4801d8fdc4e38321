"""Issue 22, report fixes a reader can see: the forest plot's numbers and axis, readable log
ticks, the inference comparison as one figure per cohort, the main table stacking on a narrow
page, and the small-data banner (Table 1: test_report_table1.py)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import matplotlib.ticker
from markupsafe import Markup
from report_fixtures import (
    COHORTS,
    OUTCOMES,
    make_config,
    make_results,
    parse_cells,
    render,
)

from pbr.report.figures import (
    forest_limits,
    forest_numbers,
    forest_plot,
    inference_figures,
    log_axis,
    log_ticks,
)
from pbr.report.layout import column_labels, small_data_banner, soft_breaks, stacked
from pbr.report.verdicts import Verdict


def _row(outcome: str, est: float, lo: float, hi: float, ok: bool = True, published=None) -> dict:
    return {
        "outcome_key": outcome,
        "cohort": "drug",
        "verdict": Verdict("ok") if ok else Verdict("no_verdict", ("too few events",), "few"),
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "crv1_low": lo * 1.1,
        "crv1_high": hi / 1.1,
        "published": published,
        "published_low": None if published is None else published * 0.9,
        "published_high": None if published is None else published * 1.1,
        "planted": None,
    }


# ---------------------------------------------------------------------------------------
# Forest plot


def test_one_very_wide_interval_does_not_set_the_forest_axis():
    rows = [
        _row("successful_completion", 0.58, 0.41, 0.81),
        _row("abstinence", 1.12, 0.95, 1.31),
        _row("drug_related_death", 0.9, 0.63, 1.26),
        _row("housing_problem", 1.3, 0.02, 80.0, ok=False),  # one very wide interval
    ]
    lo, hi = forest_limits(rows)
    assert (lo, hi) == (0.2, 2.0)  # from the bulk, not 0.02-80
    assert forest_limits(rows[:3]) == (0.3, 2.0)
    # every point estimate stays on the axis; the axis never exceeds the widest limits
    assert forest_limits([_row("abstinence", 7.0, 5.0, 9.0)]) == (0.5, 20.0)
    assert forest_limits([_row("abstinence", 1.0, 1e-9, 1e9)] * 4) == (0.01, 100.0)


def test_the_forest_plot_prints_each_rows_numbers_and_says_how_the_axis_was_chosen():
    rows = [
        _row("abstinence", 1.12, 0.95, 1.31, published=1.5),
        _row("drug_related_death", 1.3, 0.02, 80.0, ok=False),
    ]
    assert forest_numbers(rows[0]) == ("1.12 (0.95–1.31)", "1.50 (1.35–1.65)")
    fig = forest_plot(rows, "wild cluster score bootstrap")
    assert fig.numbers[0][1:] == ("1.12 (0.95–1.31)", "1.50 (1.35–1.65)")
    assert fig.numbers[1] == ("Drug-related death (12 months) (drug) †", "1.30 (0.02–80.00)", "")
    assert "set by the bulk of the intervals" in fig.caption and "cut at the edge (arrow)" in fig.caption


def test_the_report_shows_the_forest_numbers_as_an_html_table(rendered):
    html = rendered["synthetic"].read_text()
    cells = parse_cells(rendered["synthetic"])
    numbers = [c["text"] for c in cells.cells if c["table"] == "fig-forest-numbers"]
    assert "0.58 (0.41–0.81)" in numbers  # successful completion, reproduced (headline interval)
    assert "0.60 (0.53–0.67)" in numbers  # its published OR and interval
    assert html.index('id="fig-forest"') < html.index('id="fig-forest-numbers"')


# ---------------------------------------------------------------------------------------
# Log-axis ticks


def test_log_ticks_are_few_round_numbers():
    assert log_ticks(0.3, 3.0) == [0.3, 0.5, 0.7, 1, 1.5, 2, 3]
    assert log_ticks(0.2, 2.0) == [0.2, 0.3, 0.5, 0.7, 1, 1.5, 2]
    for lo, hi in [(0.01, 100), (0.2, 5), (0.8, 1.25), (0.05, 0.5), (1e-3, 1e3)]:
        ticks = log_ticks(lo, hi)
        assert 2 <= len(ticks) <= 7 and all(lo <= t <= hi for t in ticks), (lo, hi, ticks)


def test_log_axis_labels_major_ticks_only():
    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(0.4, 2.5)
    log_axis(ax.yaxis, 0.4, 2.5)
    fig.canvas.draw()
    assert isinstance(ax.yaxis.get_minor_formatter(), matplotlib.ticker.NullFormatter)
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and len(labels) <= 7 and "1" in labels
    assert all(t.get_text() == "" for t in ax.yaxis.get_minorticklabels())
    plt.close(fig)


def test_event_study_minor_ticks_carry_no_labels(monkeypatch):
    from report_fixtures import make_event_study

    from pbr.report import figures

    seen = []
    real = figures.log_axis
    monkeypatch.setattr(figures, "log_axis", lambda axis, lo, hi: (seen.append((lo, hi)), real(axis, lo, hi)))
    fig = figures.event_study_figure(make_event_study(), {}, make_config())
    assert fig is not None and seen  # every panel's y axis went through log_axis


# ---------------------------------------------------------------------------------------
# Inference compared


def test_one_inference_figure_per_cohort_with_every_interval_method():
    figs = inference_figures(make_results(), COHORTS, OUTCOMES, "logit_score_wcb")
    assert list(figs) == COHORTS
    alt = figs["drug"].alt
    assert "Successful completion (12 months), wild cluster score bootstrap: 0.58 (0.41–0.81)" in alt
    assert "CRV1 cluster-robust: 0.58 (0.46–0.72)" in alt
    assert "RI (studentised, LPM): 2.0 (−1.0 to 5.0)" in alt
    assert inference_figures(make_results().iloc[0:0], COHORTS, OUTCOMES, "logit_score_wcb") == {}


def test_the_inference_axes_come_from_the_bulk_of_the_intervals():
    from pbr.report.figures import _linear_limits

    items = [{"estimate": e, "ci_low": e - 2, "ci_high": e + 2} for e in (-5, 0, 3, 4)]
    items.append({"estimate": 0, "ci_low": -100, "ci_high": 1})  # one very wide interval
    assert _linear_limits(items) == (-19.0, 17.0)  # quartiles -7 and 5, widened by 12 either way
    results = make_results()
    wide = (results["cohort"] == "drug") & (results["method"] == "lpm_wcb_webb")
    wide &= results["outcome"] == "abstinence"
    results.loc[wide, "ci_low"] = -1.0  # -100 percentage points
    alt = inference_figures(results, COHORTS, OUTCOMES, "logit_score_wcb")["drug"].alt
    assert "Abstinence at review, wild cluster restricted bootstrap (LPM): 2.0 (−100.0 to 5.0)" in alt


def test_the_logit_att_is_drawn_in_percentage_points_whatever_its_row_says():
    from report_fixtures import make_inputs

    results = make_inputs().results
    assert (results.loc[results["method"] == "logit_att_score_wcb", "scale"] == "odds_ratio").all()
    alt = inference_figures(results, COHORTS, OUTCOMES, "logit_score_wcb")["drug"].alt
    assert "Successful completion (12 months), ATT, score bootstrap: −2.1 (−4.3 to 0.4)" in alt


def test_the_inference_tables_are_folded_under_details(rendered):
    html = rendered["synthetic"].read_text()
    section = html[html.index('id="inference"') : html.index('id="robustness"')]
    assert section.count('<figure id="fig-inference-') == len(COHORTS)
    details = section[section.index('<details id="inference-tables">') :]
    assert all(f'id="tbl-inference-{c}"' in details for c in COHORTS)
    assert section.index("<figure") < section.index("<details")


# ---------------------------------------------------------------------------------------
# The main table on a narrow page


def test_column_labels_expand_spans():
    head = [
        [{"text": "A", "rowspan": 2}, {"text": "G", "colspan": 2}, {"text": "B", "rowspan": 2}],
        [{"text": "x"}, {"text": "y"}],
    ]
    assert column_labels(head) == ["A", "G: x", "G: y", "B"]
    t = stacked({"head": head, "body": [[{"text": 1}, {"text": 2, "colspan": 2}, {"text": 3}]]})
    assert [c["label"] for c in t["body"][0]] == ["A", "G: x / G: y", "B"] and t["stack"] == "stack"
    assert stacked(t, narrow=True)["stack"] == "stack-narrow"


def test_a_card_repeats_the_cells_spanning_rows_above_it():
    """A row under a cell spanning rows carries a hidden copy of it (class repeat) at its column,
    labelled like it, so each card names its cohort and outcome; the table itself is unchanged."""
    head = [[{"text": "Cohort"}, {"text": "Outcome"}, {"text": "Check"}, {"text": "OR"}]]
    body = [
        [
            {"text": "drug", "rowspan": 3, "cls": ""},
            {"text": "Death", "rowspan": 2, "cls": "x"},
            {"text": "main"},
            {"text": "0.5"},
        ],
        [{"text": "placebo"}, {"text": "1.0"}],
        [{"text": "Crime"}, {"text": "main"}, {"text": "0.9"}],
    ]
    t = stacked({"head": head, "body": body}, narrow=True)
    texts = [[c["text"] for c in row] for row in t["body"]]
    assert texts == [
        ["drug", "Death", "main", "0.5"],
        ["drug", "Death", "placebo", "1.0"],
        ["drug", "Crime", "main", "0.9"],
    ]
    assert [[c["label"] for c in row] for row in t["body"]] == [["Cohort", "Outcome", "Check", "OR"]] * 3
    repeats = [[c.get("cls", "") for c in row[:2]] for row in t["body"]]
    assert repeats == [["", "x"], ["repeat", "x repeat"], ["repeat", ""]]
    assert all(c.get("rowspan", 1) == 1 for row in t["body"][1:] for c in row)
    assert body[1] == [{"text": "placebo"}, {"text": "1.0"}]  # the view passed in is not changed


def test_soft_breaks_after_underscores_and_slashes_only():
    assert str(soft_breaks("logit_score_wcb")) == "logit_<wbr>score_<wbr>wcb"
    assert str(soft_breaks("results/s01/x <b>")) == "results/<wbr>s01/<wbr>x &lt;b&gt;"
    assert str(soft_breaks("denominator:representation")) == "denominator:<wbr>representation"
    assert str(soft_breaks("a_ b / c: 0.140–0.382")) == "a_ b / c: 0.140–0.382"
    assert str(soft_breaks(Markup("<a href='#n_1'>[1]</a>"))) == "<a href='#n_1'>[1]</a>"
    assert str(soft_breaks(1234)) == "1234"


def test_the_wide_tables_stack_and_their_repeats_are_hidden_in_the_table(rendered):
    html = rendered["synthetic"].read_text()
    for tid in ("tbl-robustness", "tbl-inference-drug", "tbl-flow", "tbl-linkage-negative-control"):
        assert f'id="{tid}" class="stack-narrow"' in html, tid
    assert 'id="tbl-all" class="stack"' in html and "logit_<wbr>score_<wbr>wcb" in html
    robustness = html[html.index('id="tbl-robustness"') :]
    robustness = robustness[: robustness.index("</table>")]
    assert 'class="repeat" data-label="Cohort"' in robustness
    css = (Path(__file__).resolve().parents[2] / "report" / "report.css").read_text()
    assert "td.repeat, th.repeat { display: none; }" in css
    assert "@media screen and (max-width: 1180px)" in css


def test_every_did_cell_carries_its_column_label(rendered):
    cells = [c for c in parse_cells(rendered["synthetic"]).cells if c["table"] == "tbl-did"]
    body = [c for c in cells if "data-label" in c["attrs"]]
    assert len(body) >= len(COHORTS) * len(OUTCOMES) * 15
    labels = {c["attrs"]["data-label"] for c in body}
    assert "Published OR (95% CI), Jones 2018" in labels and "Cohort" in labels
    html = rendered["synthetic"].read_text()
    assert 'id="tbl-did" class="stack"' in html and 'id="tbl-rates-drug" class="stack-narrow"' in html
    css = (Path(__file__).resolve().parents[2] / "report" / "report.css").read_text()
    assert "content: attr(data-label)" in css and "@media print" in css


# ---------------------------------------------------------------------------------------
# The small-data banner


def _verdict_rows(n_ok: int, n: int) -> list[dict]:
    return [{"verdict": Verdict("ok") if i < n_ok else Verdict("not_estimable")} for i in range(n)]


def test_small_data_banner_shown_and_not_shown():
    cfg = make_config()
    cfg["simulation"] = {"journeys": 150_000}
    big = [{"cohort": "drug", "total": 303_116}, {"cohort": "alcohol", "total": 100_000}]
    assert small_data_banner(_verdict_rows(6, 6), big, cfg) is None
    assert small_data_banner(_verdict_rows(3, 6), big, cfg) is None  # half carry a verdict
    few = small_data_banner(_verdict_rows(2, 6), big, cfg)
    assert few and few["reasons"][0].startswith("only 2 of the 6 models")
    small = small_data_banner(_verdict_rows(6, 6), [{"cohort": "drug", "total": 15_000}], cfg)
    assert small and "fewer than the 150,000 per model" in small["reasons"][0]
    assert "larger scale" in small["todo"]
    cfg["data"]["source"] = "real"
    assert "indicative" in small_data_banner(_verdict_rows(0, 6), big, cfg)["todo"]


def test_the_report_shows_the_banner_only_for_a_small_run(rendered, tmp_path, monkeypatch):
    html = rendered["synthetic"].read_text()  # the fixture's cohorts: about 6,000 journeys each
    assert 'id="small-data-banner"' in html
    assert html.index('id="small-data-banner"') < html.index('id="summary"')
    import report_fixtures

    def big_config(real: bool = False) -> dict:
        cfg = make_config(real)
        cfg["simulation"]["journeys"] = 1000
        return cfg

    monkeypatch.setattr(report_fixtures, "make_config", big_config)
    assert 'id="small-data-banner"' not in render(tmp_path).read_text()


# ---------------------------------------------------------------------------------------
# Figures drawn once per format


def test_a_figure_is_laid_out_once_and_drawn_once_per_format(monkeypatch):
    """One layout pass (nothing rasterised), then the print PNG and the SVG: three draws in all,
    where savefig's bbox_inches="tight" laid the figure out again for each of three formats (six);
    the report's PNG is the print PNG halved, at 100 dpi."""
    import io

    import matplotlib.figure
    from PIL import Image

    from pbr.report import figures

    draws = []
    draw = matplotlib.figure.Figure.draw
    monkeypatch.setattr(matplotlib.figure.Figure, "draw", lambda self, r: draws.append(r) or draw(self, r))
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    ax.set_title("a title that sets the tight box")
    fig.tight_layout()
    out = figures._figure(fig, "alt", "caption", "fig-x")
    assert len(draws) == 3
    with Image.open(io.BytesIO(out.print_png)) as big, Image.open(io.BytesIO(out.png)) as small:
        assert small.size == ((big.width + 1) // 2, (big.height + 1) // 2)
        assert round(small.info["dpi"][0]) == 100 and round(big.info["dpi"][0]) == 200
        png_width_pt = big.width / 200 * 72
    svg_width_pt = float(re.search(rb'<svg[^>]* width="([\d.]+)pt"', out.svg).group(1))
    assert abs(svg_width_pt - png_width_pt) < 1, (svg_width_pt, png_width_pt)  # one tight box
