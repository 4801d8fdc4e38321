"""The HTML report: disclosure control, the DiD table's marks, a headless-Chromium load, determinism.

The report is rendered from small hand-built inputs (fast, and with small cells placed on
purpose); the browser test drives Chromium through the DevTools protocol over a pipe
(``--remote-debugging-pipe``), so no websocket client and no Playwright download are needed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import select
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbr.config import config_hash, load_config
from pbr.flow import flow_frame, flow_row
from pbr.report.did import did_rows, did_section
from pbr.report.disclosure import COMPLEMENT, DERIVED, Disclosure, protect
from pbr.report.figures import match_weight_figure
from pbr.report.inputs import ReportInputs
from pbr.report.published import PUBLISHED_OR
from pbr.report.render import TEMPLATE_DIR, git_commit, render_report

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / ".test-artifacts"
K = 10
COHORTS = ["drug", "alcohol"]
OUTCOMES = ["successful_completion", "abstinence", "drug_related_death"]
METHODS = [
    "logit_crv1",
    "logit_score_wcb",
    "logit_ri",
    "logit_ri_t",
    "lpm_crv1",
    "lpm_wcb_webb",
    "lpm_ri",
    "lpm_ri_t",
]
# analysed journeys per cohort x group x period; alcohol pilot post is a small cell on purpose
JOURNEYS = {
    ("drug", "pilot", "pre"): 214,
    ("drug", "pilot", "post"): 200,
    ("drug", "other", "pre"): 2873,
    ("drug", "other", "post"): 2778,
    ("alcohol", "pilot", "pre"): 226,
    ("alcohol", "pilot", "post"): 8,
    ("alcohol", "other", "pre"): 2967,
    ("alcohol", "other", "post"): 3085,
}


# ---------------------------------------------------------------------------------------
# Hand-built inputs


def make_config(real: bool = False) -> dict:
    cfg = load_config(ROOT / "config" / "config.yaml")
    cfg["models"]["outcomes"] = list(OUTCOMES)
    cfg["models"]["robustness"]["outcomes"] = ["successful_completion"]
    cfg["report"]["small_cell_threshold"] = K
    if real:
        cfg["data"]["source"] = "real"
        cfg["data"]["real"]["directory"] = "/secure/extracts"
    return cfg


def _result(cohort, outcome, spec, method, est, lo, hi, p, n, events, note="") -> dict:
    return {
        "cohort": cohort,
        "outcome": outcome,
        "specification": spec,
        "method": method,
        "scale": "odds_ratio" if method.startswith("logit") else "risk_difference",
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": p,
        "beta": np.log(est) if method.startswith("logit") and est > 0 else est,
        "se": 0.1,
        "n": n,
        "events": events,
        "n_clusters": 149,
        "n_treated_clusters": 8,
        "dropped_clusters": 0,
        "dropped_rows": 0,
        "note": note,
    }


def make_results() -> pd.DataFrame:
    rows = []
    ors = {"successful_completion": 0.58, "abstinence": 1.2, "drug_related_death": 0.9}
    rates = make_rates()
    for c in COHORTS:
        n = sum(v for k, v in JOURNEYS.items() if k[0] == c)
        for o in OUTCOMES:
            e = ors[o]
            n = int(rates.loc[(rates["cohort"] == c) & (rates["outcome"] == o), "n"].sum())
            for m in METHODS:
                if m.startswith("logit"):
                    lo, hi = (e * 0.8, e * 1.25) if m == "logit_crv1" else (e * 0.7, e * 1.4)
                    if m.endswith(("_ri", "_ri_t")):
                        lo = hi = np.nan
                    rows.append(_result(c, o, "main", m, e, lo, hi, 0.04, n, 500))
                else:
                    rows.append(_result(c, o, "main", m, 0.02, -0.01, 0.05, 0.2, n, 500))
        for t in ("0.2", "0.9"):
            for m in ("logit_crv1", "lpm_crv1"):
                rows.append(
                    _result(c, "drug_related_death", f"linkage_threshold_{t}", m, 0.95, 0.5, 1.8, 0.8, n, 30)
                )
    c, o = "drug", "successful_completion"
    n = sum(v for k, v in JOURNEYS.items() if k[0] == c)
    rows.append(
        _result(c, o, "event_study_pretrend", "logit_crv1", 3.1, np.nan, np.nan, 0.38, n, 500)
        | {"scale": "wald_chi2"}
    )
    rows.append(
        _result(c, o, "event_study_pretrend", "lpm_crv1", 1.0, np.nan, np.nan, 0.40, n, 500)
        | {"scale": "wald_F"}
    )
    rows.append(_result(c, o, "placebo_2011", "logit_crv1", 1.02, 0.8, 1.3, 0.9, n // 2, 250))
    for i, a in enumerate(["E0012", "E0041", "E0061"]):
        rows.append(
            _result(c, o, f"leave_out_{a}", "logit_crv1", 0.55 + 0.03 * i, 0.45, 0.75, 0.01, n - 50, 480)
        )
    rows.append(_result(c, o, "mason_2015", "logit_crv1", 0.86, 0.78, 0.95, 0.003, n // 2, 250))
    return pd.DataFrame(rows)


def make_event_study() -> pd.DataFrame:
    rows = []
    for b in range(8):
        for m in ("logit_crv1", "lpm_crv1"):
            ref = b == 3
            est = 1.0 if ref else (1.0 if b < 4 else 0.6)
            est = est if m.startswith("logit") else (0.0 if ref else est - 1)
            rows.append(
                {
                    "cohort": "drug",
                    "outcome": "successful_completion",
                    "method": m,
                    "scale": "odds_ratio" if m.startswith("logit") else "risk_difference",
                    "bin_col": "half_year",
                    "bin": b,
                    "bin_start": (pd.Timestamp("2010-04-01") + pd.DateOffset(months=6 * b))
                    .date()
                    .isoformat(),
                    "is_reference": ref,
                    "is_post": b >= 4,
                    "estimate": est,
                    "ci_low": np.nan if ref else (est * 0.7 if m.startswith("logit") else est - 0.05),
                    "ci_high": np.nan if ref else (est * 1.4 if m.startswith("logit") else est + 0.05),
                    "p_value": np.nan if ref else 0.3,
                    "beta": 0.0,
                    "se": np.nan if ref else 0.1,
                    "n": 6065,
                    "n_clusters": 149,
                }
            )
    return pd.DataFrame(rows)


def _events(c: str, o: str, g: str, p: str, n: int) -> int:
    if o == "drug_related_death":
        return {"pilot": 3, "other": 25}[g] if c == "drug" else (0 if g == "pilot" else 12)
    share = {"successful_completion": 0.3, "abstinence": 0.22}[o]
    return round(n * share)


def make_rates() -> pd.DataFrame:
    rows = []
    for (c, g, p), n in JOURNEYS.items():
        for o in OUTCOMES:
            nn = n if o != "abstinence" else max(n // 2, 1)
            rows.append(
                {
                    "cohort": c,
                    "outcome": o,
                    "group": g,
                    "period": p,
                    "n": nn,
                    "events": _events(c, o, g, p, nn),
                }
            )
    df = pd.DataFrame(rows)
    df["rate"] = df["events"] / df["n"]
    return df


def make_trends() -> pd.DataFrame:
    rows = []
    for (c, g, p), n in JOURNEYS.items():
        for q in range(8):
            quarter = q if p == "pre" else q + 8
            for o in OUTCOMES:
                nq = max(n // 8, 1)
                ev = min(_events(c, o, g, p, n) // 8 + (q % 3), nq)
                rows.append(
                    {"cohort": c, "outcome": o, "group": g, "quarter": quarter, "n": nq, "events": ev}
                )
    df = pd.DataFrame(rows)
    df["rate"] = df["events"] / df["n"]
    return df


def make_baseline() -> pd.DataFrame:
    rows = []
    for (c, g, p), n in JOURNEYS.items():
        female = 4 if n > 100 and g == "pilot" else n // 3  # a small level on purpose
        for var, levels in {
            "sex": {"female": female, "male": n - female},
            "age_group": {"18-24": n // 4, "25-34": n // 4, "35+": n - 2 * (n // 4)},
        }.items():
            for lev, k in levels.items():
                rows.append(
                    {"cohort": c, "group": g, "period": p, "variable": var, "level": lev, "n": k, "total": n}
                )
    df = pd.DataFrame(rows)
    df["percent"] = 100 * df["n"] / df["total"]
    return df


def make_flow() -> pd.DataFrame:
    rows = [
        flow_row("extract", "validated", "areas", "areas", "kept", "areas kept", 149),
        flow_row(
            "extract", "area lookup", "ndtms_episodes", "episodes", "dropped", "area_code not in areas", 0
        ),
        flow_row("extract", "validated", "ndtms_episodes", "episodes", "kept", "episodes kept", 17100),
        flow_row(
            "extract", "TOP dates", "ndtms_top", "TOP records", "flagged", "top_date after discharge", 110
        ),
        flow_row("extract", "validated", "ndtms_top", "TOP records", "kept", "TOP records kept", 45109),
        flow_row("extract", "validated", "ons_deaths", "deaths", "kept", "deaths kept", 3174),
        flow_row("link", "persons", "ndtms_episodes", "episodes", "dropped", "incomplete attributor", 6),
        flow_row("link", "persons", "ndtms_episodes", "episodes", "kept", "grouped into persons", 17094),
        flow_row(
            "link", "deaths", "ons_deaths", "records", "kept", "linked to an NDTMS person (p >= 0.5)", 526
        ),
        flow_row(
            "link", "deaths", "ons_deaths", "records", "dropped", "not linked to any NDTMS person", 2648
        ),
    ]
    for (c, g, p), n in JOURNEYS.items():
        rows.append(
            flow_row(
                "derive",
                "cohorts",
                "journeys",
                "journeys",
                "dropped",
                "starts outside the study windows",
                100 + n % 7,
                c,
                g,
                "outside",
            )
            if p == "pre"
            else None
        )
        rows.append(
            flow_row(
                "derive",
                "cohorts",
                "journeys",
                "journeys",
                "dropped",
                "aged under 18",
                4 if g == "pilot" else 55,
                c,
                g,
                p,
            )
        )
    rows = [r for r in rows if r is not None]
    for (c, g, p), n in JOURNEYS.items():
        rows.append(
            flow_row("derive", "cohorts", "journeys", "journeys", "kept", "in a study cohort", n, c, g, p)
        )
    return flow_frame(rows)


def make_inputs() -> ReportInputs:
    quality = []
    for reg in ("deaths", "offences"):
        for t in (0.1, 0.5, 0.9):
            quality.append(
                {
                    "register": reg,
                    "method": "probabilistic",
                    "threshold": t,
                    "scope": "all",
                    "n_predicted": 500,
                    "n_true": 510,
                    "n_correct": 490,
                    "precision": 0.98 - 0.02 * (t < 0.5),
                    "recall": 0.96 - 0.1 * (t > 0.5),
                    "f1": 0.95,
                }
            )
        quality.append(
            {
                "register": reg,
                "method": "exact_key",
                "threshold": np.nan,
                "scope": "all",
                "n_predicted": 450,
                "n_true": 510,
                "n_correct": 445,
                "precision": 0.99,
                "recall": 0.87,
                "f1": 0.93,
            }
        )
    match = []
    for reg in ("deaths", "offences"):
        for (c, g, p), n in JOURNEYS.items():
            match.append(
                {
                    "register": reg,
                    "cohort": c,
                    "group": g,
                    "period": p,
                    "journeys": n,
                    "linked": max(n // (20 if reg == "deaths" else 3), 0),
                }
            )
    match_rates = pd.DataFrame(match)
    match_rates["rate"] = match_rates["linked"] / match_rates["journeys"]
    rng = np.random.default_rng(1)
    pairs = {
        reg: pd.DataFrame(
            {
                "left_id": ["a"] * 300,
                "right_id": ["b"] * 300,
                "match_weight": np.r_[rng.normal(12, 2, 280), rng.normal(-2, 1, 20)],
                "match_probability": 0.5,
            }
        )
        for reg in ("deaths", "offences")
    }
    return ReportInputs(
        results=make_results(),
        rates=make_rates(),
        flow=make_flow(),
        event_study=make_event_study(),
        trends=make_trends(),
        baseline=make_baseline(),
        quality=pd.DataFrame(quality),
        match_rates=match_rates,
        pairs=pairs,
        effects={"did_or": {"drug": {"completion": 0.6, "abstinence": 1.5, "drug_related_death": 1.0}}},
    )


def render(
    tmp: Path, real: bool = False, run_date: str = "2026-01-01 00:00 UTC", name: str = "report"
) -> Path:
    cfg = make_config(real)
    out = tmp / name
    render_report(
        make_inputs(),
        cfg,
        config_hash(cfg),
        {"results/extract/ndtms_episodes.parquet": "0" * 64},
        out / "report.html",
        run_date=run_date,
        extra_outputs={
            "forest_png": out / "forest.png",
            "did_csv": out / "did.csv",
            "event_study_png": out / "event_study.png",
            "trends_png": out / "trends.png",
            "flow_csv": out / "flow.csv",
        },
    )
    return out / "report.html"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("report")
    return {"synthetic": render(tmp), "real": render(tmp, real=True, name="real")}


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
            _result("drug", outcome, "main", "logit_crv1", estimate, crv_lo, crv_hi, 0.01, 1000, 300),
            _result(
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


def test_interval_ends_count_as_inside_and_missing_intervals_give_no_mark():
    (row,) = did_rows(
        _did_frame(0.60, 0.70, 0.5, 0.6), ["drug"], ["successful_completion"], "logit_score_wcb"
    )
    assert row["inside"] is True and row["inside_crv1"] is True
    (row,) = did_rows(
        _did_frame(np.nan, np.nan, 0.5, 0.7), ["drug"], ["successful_completion"], "logit_score_wcb"
    )
    assert (
        row["method"] == "logit_crv1" and row["inside"] is True
    )  # headline missing: falls back to CRV1, says so
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


class _Cells(HTMLParser):
    """Collects every td/th with its attributes and text, and every img."""

    def __init__(self):
        super().__init__()
        self.cells, self.imgs, self.tables = [], [], {}
        self._stack, self._table = [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self._table = a.get("id")
        if tag in ("td", "th"):
            self._stack.append({"tag": tag, "attrs": a, "text": "", "table": self._table})
        if tag == "img":
            self.imgs.append(a)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._stack:
            self.cells.append(self._stack.pop())

    def handle_data(self, data):
        if self._stack:
            self._stack[-1]["text"] += data


def _parse(path: Path) -> _Cells:
    p = _Cells()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def _small_numbers(text: str) -> list[int]:
    """Integers from 1 to K-1 in a text, ignoring percentages and decimals."""
    out = []
    for m in re.finditer(r"(?<![\d.,<])(\d{1,3}(?:,\d{3})*)(?![\d.%])", text):
        v = int(m.group(1).replace(",", ""))
        if 0 < v < K:
            out.append(v)
    return out


def test_real_mode_report_shows_no_small_count(rendered):
    p = _parse(rendered["real"])
    counts = [c for c in p.cells if "count" in c["attrs"].get("class", "")]
    assert counts, "count cells are marked with class 'count'"
    for c in counts:
        assert not _small_numbers(c["text"]), c
    html = rendered["real"].read_text()
    assert "&lt;10" in html and COMPLEMENT in html and DERIVED in html
    # the small journeys cell (alcohol pilot post: 8) is hidden in every table it appears in
    assert not re.search(r"\(\d+ / 8\)", html)
    # a model's journeys = its four cells (one suppressed) + the journeys it dropped: suppressed too
    did = pd.read_csv(rendered["real"].parent / "did.csv", dtype=str)
    alcohol = did[did["cohort"] == "alcohol"].set_index("outcome")["journeys"]
    assert alcohol["abstinence"] == COMPLEMENT
    # ... unless it equals a total already shown with two cells hidden (all journeys of the cohort)
    assert alcohol["successful_completion"] == "6,286"
    assert set(did.loc[did["cohort"] == "drug", "journeys"]) == {"6,065", "3,032"}
    # model counts are not shown for every model
    for c in p.cells:
        if c["table"] == "tbl-all":
            assert c["text"] not in ("n", "Events")
    csv = (rendered["real"].parent / "flow.csv").read_text()
    for line in csv.splitlines()[1:]:
        assert not _small_numbers(line.rsplit(",", 1)[1])


def test_real_mode_flow_complements_hide_the_small_exclusion(rendered):
    flow = (rendered["real"].parent / "flow.csv").read_text().splitlines()
    persons = [x for x in flow if x.startswith("link,persons,ndtms_episodes")]
    kept = next(x for x in persons if ",kept," in x)
    dropped = next(x for x in persons if ",dropped," in x)
    # 17,100 in = 17,094 kept + 6 dropped: hiding only the 6 would leave it as 17,100 - 17,094
    assert dropped.endswith(",<10") and kept.endswith("," + COMPLEMENT)


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
        p = _parse(path)
        assert p.imgs and all(i.get("src", "").startswith("data:image/png;base64,") for i in p.imgs)
        assert all(len(i.get("alt", "")) > 40 for i in p.imgs)
        assert all(
            c["attrs"].get("scope") in ("col", "row", "colgroup", "rowgroup")
            for c in p.cells
            if c["tag"] == "th"
        )


def test_did_table_has_one_row_per_outcome_and_cohort(rendered):
    p = _parse(rendered["synthetic"])
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
    # the form tests/test_reproducibility.py blanks: exactly one "&middot; run <date>"
    assert len(re.findall(r"&middot; run [^<\n]*", a.read_text())) == 1
    for f in ("forest.png", "did.csv", "event_study.png", "trends.png", "flow.csv"):
        assert (a.parent / f).read_bytes() == (b.parent / f).read_bytes(), f


# ---------------------------------------------------------------------------------------
# Headless Chromium


CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
    "--window-size=1280,1000",
]


def _truthy(v: str | None) -> bool:
    return (v or "").strip().lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def chromium() -> str:
    """The chromium binary, installed with apt (as root) when missing; with CI=true a failure fails."""
    path = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if path:
        return path
    problem = ""
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        problem = "chromium is missing and cannot be installed here (needs root and apt-get)"
    else:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
        ):
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
            if proc.returncode != 0:
                problem = f"{' '.join(cmd)} failed: {proc.stderr[-2000:]}"
                break
        path = shutil.which("chromium")
        if not path and not problem:
            problem = "chromium not found after apt-get install"
    if problem:
        if _truthy(os.environ.get("CI")):
            pytest.fail(problem)
        pytest.skip(problem)
    return path


class DevTools:
    """A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (fd 3 in, fd 4 out)."""

    def __init__(self, binary: str, user_data_dir: Path):
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        # high descriptors, so dup2 onto 3 and 4 in the child cannot clobber one another
        hi_in, hi_out = (os.dup2(fd, 100 + i, inheritable=False) for i, fd in enumerate((to_r, from_w)))
        os.close(to_r)
        os.close(from_w)

        def child_fds():
            os.dup2(hi_in, 3)
            os.dup2(hi_out, 4)

        self.proc = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(user_data_dir.parent / "chromium.log", "wb"),  # noqa: SIM115
            preexec_fn=child_fds,
            close_fds=False,
        )
        os.close(hi_in)
        os.close(hi_out)
        self.w, self.r = to_w, from_r
        self.buf = b""
        self.next_id = 0
        self.events: list[dict] = []

    def _read_message(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.r], [], [], left)[0]:
                raise TimeoutError("no message from chromium")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(
        self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30
    ) -> dict:
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message(timeout)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_for(self, method: str, timeout: float = 30) -> dict:
        for m in self.events:
            if m.get("method") == method:
                return m
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = self._read_message(deadline - time.monotonic())
            self.events.append(m)
            if m.get("method") == method:
                return m
        raise TimeoutError(method)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.w)
        os.close(self.r)


def load_in_chromium(binary: str, html: Path, user_data_dir: Path, screenshot: Path) -> dict:
    """Load a page; return console errors, image sizes and DiD table rows; save a full-page screenshot."""
    dt = DevTools(binary, user_data_dir)
    try:
        target = dt.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = dt.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            dt.send(f"{domain}.enable", session=s)
        dt.events.clear()
        dt.send("Page.navigate", {"url": html.resolve().as_uri()}, session=s)
        dt.wait_for("Page.loadEventFired")
        probe = """JSON.stringify({
            images: Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt.length]),
            didRows: document.querySelectorAll('#tbl-did tbody tr').length,
            title: document.title})"""
        value = json.loads(
            dt.send("Runtime.evaluate", {"expression": probe, "returnByValue": True}, session=s)["result"][
                "value"
            ]
        )
        metrics = dt.send("Page.getLayoutMetrics", session=s)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        shot = dt.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": size["width"],
                    "height": min(size["height"], 16000),
                    "scale": 1,
                },
            },
            session=s,
            timeout=60,
        )
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        errors = []
        for m in dt.events:
            p = m.get("params", {})
            if m.get("method") == "Runtime.exceptionThrown":
                errors.append(p["exceptionDetails"].get("text", "exception"))
            elif m.get("method") == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                errors.append(str(p.get("args")))
            elif m.get("method") == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append(p["entry"].get("text", ""))
        value["errors"] = errors
        return value
    finally:
        dt.close()


@pytest.mark.parametrize("mode", ["synthetic", "real"])
def test_report_loads_in_headless_chromium(rendered, chromium, tmp_path, mode):
    shot = ARTIFACTS / f"report_{mode}.png"
    got = load_in_chromium(chromium, rendered[mode], tmp_path / "profile", shot)
    assert got["errors"] == []
    assert got["images"] and all(
        complete and w > 0 and h > 0 and alt > 0 for complete, w, h, alt in got["images"]
    )
    assert got["didRows"] == len(COHORTS) * len(OUTCOMES)
    assert shot.stat().st_size > 10_000


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
