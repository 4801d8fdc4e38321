"""Small hand-built report inputs (small cells placed on purpose), their rendering, and an HTML
cell parser: shared by the report's unit tests, its verdict tests, the browser test and the
real-mode workflow test."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from pbr.config import config_hash, load_config
from pbr.flow import flow_frame, flow_row
from pbr.link import quality as quality_module
from pbr.report.inputs import ReportInputs
from pbr.report.render import render_report

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


def make_config(real: bool = False) -> dict:
    cfg = load_config(ROOT / "config" / "config.yaml")
    cfg["models"]["outcomes"] = list(OUTCOMES)
    cfg["models"]["robustness"]["outcomes"] = ["successful_completion"]
    cfg["report"]["small_cell_threshold"] = K
    if real:
        cfg["data"]["source"] = "real"
        cfg["data"]["real"]["directory"] = "/secure/extracts"
    return cfg


def result_row(cohort, outcome, spec, method, est, lo, hi, p, n, events, note="") -> dict:
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
                    rows.append(result_row(c, o, "main", m, e, lo, hi, 0.04, n, 500))
                else:
                    rows.append(result_row(c, o, "main", m, 0.02, -0.01, 0.05, 0.2, n, 500))
        for t in ("0.2", "0.9"):
            for m in ("logit_crv1", "lpm_crv1"):
                rows.append(
                    result_row(
                        c, "drug_related_death", f"linkage_threshold_{t}", m, 0.95, 0.5, 1.8, 0.8, n, 30
                    )
                )
    c, o = "drug", "successful_completion"
    n = sum(v for k, v in JOURNEYS.items() if k[0] == c)
    rows.append(
        result_row(c, o, "event_study_pretrend", "logit_crv1", 3.1, np.nan, np.nan, 0.38, n, 500)
        | {"scale": "wald_chi2"}
    )
    rows.append(
        result_row(c, o, "event_study_pretrend", "lpm_crv1", 1.0, np.nan, np.nan, 0.40, n, 500)
        | {"scale": "wald_F"}
    )
    rows.append(result_row(c, o, "placebo_2011", "logit_crv1", 1.02, 0.8, 1.3, 0.9, n // 2, 250))
    for i, a in enumerate(["E0012", "E0041", "E0061"]):
        rows.append(
            result_row(c, o, f"leave_out_{a}", "logit_crv1", 0.55 + 0.03 * i, 0.45, 0.75, 0.01, n - 50, 480)
        )
    rows.append(result_row(c, o, "mason_2015", "logit_crv1", 0.86, 0.78, 0.95, 0.003, n // 2, 250))
    # Mason's own model (pbr.fit.mixed), for reference only
    rows.append(result_row(c, o, "mason_2015", "logit_re", 0.84, 0.71, 0.99, 0.04, n // 2, 250))
    # the linkage's negative controls (drug cohort): offences before the start moved, grey links did not
    for control, (est, p) in NEGATIVE_CONTROL_FITS.items():
        for m, (lo, hi) in (
            ("logit_score_wcb", (est * 0.7, est * 1.4)),
            ("logit_crv1", (est * 0.8, est * 1.25)),
        ):
            rows.append(
                result_row(c, "acquisitive_crime", f"negative_control_{control}", m, est, lo, hi, p, n, 400)
            )
    return add_honest_rows(pd.DataFrame(rows))


#: the fixture's negative-control DiDs: control -> (OR, headline p)
NEGATIVE_CONTROL_FITS = {"prior_offence": (1.6, 0.01), "grey_offences": (0.9, 0.6)}


# the rows of issue 19's honest inference (the fit's later steps), added to make_results():
# ATT on the probability scale, size-stratified studentised RI, Holm / Romano-Wolf p and the
# minimum detectable ORs on the headline rows, the bootstrap pre-trend tests, Mason 2015 by
# the headline method
HONEST_P = {"successful_completion": (0.01, 0.03, 0.02), "abstinence": (0.2, 0.6, 0.5)}
MDE = (0.55, 1.7)


def add_honest_rows(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with the honest-inference rows and columns (see the comment above)."""
    res = results.copy()
    rows = []
    for c in COHORTS:
        for o in OUTCOMES:
            base = res[(res["cohort"] == c) & (res["outcome"] == o) & (res["specification"] == "main")]
            n = int(base["n"].iloc[0])
            rows.append(result_row(c, o, "main", "logit_att_score_wcb", -0.021, -0.043, 0.004, 0.04, n, 500))
            rows.append(result_row(c, o, "main", "logit_ri_t_size", 0.58, np.nan, np.nan, 0.05, n, 500))
            rows.append(result_row(c, o, "main", "lpm_ri_t_size", 0.02, np.nan, np.nan, 0.2, n, 500))
            p, holm, rw = HONEST_P.get(o, (0.5, 1.0, 0.9))
            sel = (res["cohort"] == c) & (res["outcome"] == o) & (res["specification"] == "main")
            sel &= res["method"] == "logit_score_wcb"
            res.loc[sel, ["p_value", "p_holm", "p_romano_wolf"]] = (p, holm, rw)
            res.loc[sel, ["mde_low", "mde_high"]] = MDE
    c, o = "drug", "successful_completion"
    n = int(res[(res["cohort"] == c) & (res["specification"] == "event_study_pretrend")]["n"].iloc[0])
    for m, stat, p, scale in (
        ("logit_score_wcb", 2.9, 0.45, "wald_chi2"),
        ("lpm_wcb_webb", 0.9, 0.5, "wald_F"),
    ):
        rows.append(
            result_row(c, o, "event_study_pretrend", m, stat, np.nan, np.nan, p, n, 500) | {"scale": scale}
        )
    rows.append(result_row(c, o, "mason_2015", "logit_score_wcb", 0.86, 0.74, 1.01, 0.07, n // 2, 250))
    return pd.concat([res, pd.DataFrame(rows)], ignore_index=True)


SIZES_CSV = ROOT / "tests" / "report_sizes.csv"


def make_sizes() -> pd.DataFrame:
    """The measured-sizes fixture (tests/report_sizes.csv: made-up rates, not a measurement)."""
    from pbr.registry.methods import measured_sizes

    return measured_sizes(SIZES_CSV)


STUDY_RATES_CSV = ROOT / "tests" / "report_study_rates.csv"


def make_study_rates() -> pd.DataFrame:
    """The simulation study's per-scenario rates fixture (tests/report_study_rates.csv: made-up)."""
    from pbr.registry.methods import study_rates

    return study_rates(STUDY_RATES_CSV)


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
    # the indicators without truth: the same linked counts, a tenth of the links in the grey zone
    link_indicators = match_rates[["register", "cohort", "group", "period", "journeys", "linked"]].assign(
        grey=lambda d: d["linked"] // 10,
        expected_false=lambda d: d["linked"] * 0.02,
        expected_missed=lambda d: d["linked"] * 0.05,
    )
    link_indicators["link_rate"] = link_indicators["linked"] / link_indicators["journeys"]
    link_indicators["grey_share"] = link_indicators["grey"] / link_indicators["linked"]
    link_indicators["implied_rate"] = link_indicators["linked"] * 1.03 / link_indicators["journeys"]
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
    # candidate pairs whose truth is drawn at their probability, but for an over-confident
    # offences model (true with probability p**2): deaths calibrated, offences not
    scored = pd.DataFrame({"left_id": [f"P{i}" for i in range(40000)], "right_id": "R"})
    scored["match_probability"] = np.linspace(0.05, 1.0, len(scored))
    calibration = pd.concat(
        [
            quality_module.calibration_table(
                scored,
                scored[rng.uniform(0, 1, len(scored)) < scored["match_probability"] ** power],
                reg,
                pd.DataFrame(
                    {
                        "person_id": scored["left_id"],
                        "scope": np.where(scored.index % 2, "pilot/pre", "other/pre"),
                    }
                ),
            )
            for reg, power in (("deaths", 1), ("offences", 2))
        ],
        ignore_index=True,
    )
    return ReportInputs(
        results=make_results(),
        rates=make_rates(),
        flow=make_flow(),
        calibration=calibration,
        event_study=make_event_study(),
        trends=make_trends(),
        baseline=make_baseline(),
        quality=pd.DataFrame(quality),
        match_rates=match_rates,
        link_indicators=link_indicators,
        link_bounds=make_link_bounds(),
        pairs=pairs,
        effects={
            "did_or": {"drug": {"successful_completion": 0.6, "abstinence": 1.5, "drug_related_death": 1.0}}
        },
    )


def make_link_bounds() -> pd.DataFrame:
    """Drug acquisitive crime by cell: 150 pilot-post events of 1,000 against 100 elsewhere, each cell
    with 5 expected false and 8 expected missed events."""
    cells = [("pilot", "pre", 100), ("pilot", "post", 150), ("other", "pre", 100), ("other", "post", 100)]
    return pd.DataFrame(
        {
            "cohort": "drug",
            "outcome": "acquisitive_crime",
            "group": [c[0] for c in cells],
            "period": [c[1] for c in cells],
            "journeys": 1000,
            "events": [c[2] for c in cells],
            "expected_false": 5.0,
            "expected_missed": 8.0,
        }
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
        method_sizes=make_sizes(),
        study_rates_table=make_study_rates(),
        extra_outputs={
            "forest_png": out / "forest.png",
            "did_csv": out / "did.csv",
            "event_study_png": out / "event_study.png",
            "trends_png": out / "trends.png",
            "flow_csv": out / "flow.csv",
            "figures_dir": out / "figures",
            "tables_dir": out / "tables",
            "findings_json": out / "findings.json",
        },
    )
    return out / "report.html"


class Cells(HTMLParser):
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


def parse_cells(path: Path) -> Cells:
    p = Cells()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def small_numbers(text: str) -> list[int]:
    """Integers from 1 to K-1 in a text, ignoring percentages and decimals."""
    out = []
    for m in re.finditer(r"(?<![\d.,<])(\d{1,3}(?:,\d{3})*)(?![\d.%])", text):
        v = int(m.group(1).replace(",", ""))
        if 0 < v < K:
            out.append(v)
    return out


# ---------------------------------------------------------------------------------------
# Issue 19: the headline method on every check, per-pilot evidence, timing, composition

#: pilot area codes of the per-pilot fixture, named after the published pilots in the lookup
PILOT_CODES = [f"P{i}" for i in range(8)]
#: the pilot whose journeys and events are small cells (real-data mode must hide them)
SMALL_PILOT = "P7"
RI_NOTE = (
    "randomisation inference over 149 areas, 8 treated per draw, 9,999 re-assignments, seed 20240101; "
    "statistic: coefficient"
)


def _wcb(row: dict, lo: float, hi: float, p: float) -> dict:
    """The headline (score bootstrap) twin of a logit_crv1 row: same estimate, wider interval."""
    return row | {"method": "logit_score_wcb", "ci_low": lo, "ci_high": hi, "p_value": p}


def make_issue19_rows() -> list[dict]:
    """The rows issue 19 adds, on top of :func:`make_results`: headline rows for every robustness
    check, the timing specifications, RI variants, per-pilot rows and composition/adjustment."""
    c, o = "drug", "successful_completion"
    n = sum(v for k, v in JOURNEYS.items() if k[0] == c)
    rows = [
        result_row(c, o, "event_study_pretrend", "logit_score_wcb", 2.4, np.nan, np.nan, 0.52, n, 500)
        | {"scale": "wald_chi2"},
        result_row(c, o, "event_study_pretrend", "lpm_wcb_webb", 0.8, np.nan, np.nan, 0.61, n, 500)
        | {"scale": "wald_F"},
        _wcb(
            result_row(c, o, "placebo_2011", "logit_crv1", 1.02, 0.8, 1.3, 0.9, n // 2, 250), 0.7, 1.5, 0.93
        ),
        _wcb(
            result_row(c, o, "mason_2015", "logit_crv1", 0.86, 0.78, 0.95, 0.003, n // 2, 250), 0.7, 1.2, 0.21
        ),
    ]
    for i, a in enumerate(["E0012", "E0041", "E0061"]):
        crv = result_row(c, o, f"leave_out_{a}", "logit_crv1", 0.55 + 0.03 * i, 0.45, 0.75, 0.01, n - 50, 480)
        rows.append(_wcb(crv, 0.38 + 0.2 * i, 0.9 + 0.1 * i, 0.03 + 0.05 * i))
    for coh in COHORTS:
        for spec in ("linkage_threshold_0.2", "linkage_threshold_0.9", "linkage_recall_0.6"):
            crv = result_row(coh, "drug_related_death", spec, "logit_crv1", 0.95, 0.5, 1.8, 0.8, n, 30)
            rows.append(_wcb(crv, 0.4, 2.2, 0.84))
    rows += _timing_rows(c, o, n) + _ri_rows() + _pilot_rows(c, o, n) + _composition_rows(c, o, n)
    return rows


def _timing_rows(c: str, o: str, n: int) -> list[dict]:
    """Donut, placebo clear of the start and the clear-of-start pre-trend tests."""
    donut = result_row(c, o, "donut", "logit_crv1", 0.61, 0.5, 0.75, 0.001, n - 900, 420)
    placebo = result_row(c, o, "placebo_clear", "logit_crv1", 0.97, 0.8, 1.2, 0.7, n // 3, 200)
    return [
        donut,
        _wcb(donut, 0.45, 0.83, 0.004),
        result_row(c, o, "donut", "lpm_crv1", -0.05, -0.08, -0.02, 0.002, n - 900, 420),
        placebo,
        _wcb(placebo, 0.7, 1.35, 0.81),
        result_row(c, o, "event_study_pretrend_clear", "logit_score_wcb", 1.9, np.nan, np.nan, 0.66, n, 500)
        | {"scale": "wald_chi2"},
        result_row(c, o, "event_study_pretrend_clear", "lpm_wcb_webb", 0.6, np.nan, np.nan, 0.7, n, 500)
        | {"scale": "wald_F"},
        result_row(c, o, "event_study_pretrend_clear", "logit_crv1", 2.9, np.nan, np.nan, 0.41, n, 500)
        | {"scale": "wald_chi2"},
        result_row(c, o, "event_study_pretrend_clear", "lpm_crv1", 0.9, np.nan, np.nan, 0.44, n, 500)
        | {"scale": "wald_F"},
    ]


def _ri_rows() -> list[dict]:
    """The size-restricted studentised RI and the ATT on the probability scale (main, every model)."""
    rows = []
    rates = make_rates()
    for c in COHORTS:
        for o in OUTCOMES:
            n = int(rates.loc[(rates["cohort"] == c) & (rates["outcome"] == o), "n"].sum())
            note = RI_NOTE.replace("coefficient", "t; re-assignments within 4 size strata")
            rows += [
                result_row(c, o, "main", "logit_ri_t_size", 0.58, np.nan, np.nan, 0.07, n, 500, note),
                result_row(c, o, "main", "lpm_ri_t_size", 0.02, -0.02, 0.06, 0.3, n, 500, note),
                result_row(c, o, "main", "logit_att_score_wcb", -0.061, -0.11, -0.012, 0.02, n, 500)
                | {"scale": "risk_difference"},
            ]
    return rows


def _pilot_rows(c: str, o: str, n: int) -> list[dict]:
    """Per-pilot fits (points, no interval) and the tests over the pilots."""
    ors = [0.41, 0.52, 0.95, 0.63, 0.7, 1.15, 0.5, 0.33]
    rows = []
    for code, e in zip(PILOT_CODES, ors, strict=True):
        note = "no interval: one treated area gives no valid cluster-robust interval"
        rows.append(
            result_row(c, o, f"pilot_{code}", "logit_per_pilot", e, np.nan, np.nan, np.nan, n // 9, 60, note)
        )
        rows.append(
            result_row(
                c, o, f"pilot_{code}", "lpm_per_pilot", (e - 1) / 8, np.nan, np.nan, np.nan, n // 9, 60, note
            )
        )
    rows += [
        result_row(c, o, "per_pilot", "logit_ibragimov_mueller", 0.61, 0.45, 0.84, 0.011, n, 500),
        result_row(c, o, "per_pilot", "logit_canay_romano_shaikh", 0.61, 0.44, 0.86, 0.016, n, 500),
        result_row(c, o, "per_pilot", "lpm_ibragimov_mueller", -0.05, -0.08, -0.02, 0.012, n, 500),
        result_row(c, o, "per_pilot", "lpm_canay_romano_shaikh", -0.05, -0.09, -0.01, 0.016, n, 500),
    ]
    return rows


def _composition_rows(c: str, o: str, n: int) -> list[dict]:
    """Mix and denominator shares (LPM), and the unadjusted and demographics-only fits."""
    rows = []
    for share, est in (
        ("mix:sex=female", 0.004),
        ("mix:baseline_use=daily", 0.031),
        ("denominator:with_start_top", -0.06),
    ):
        lo, hi = est - 0.02, est + 0.02
        rows.append(result_row(c, share, "composition", "lpm_crv1", est, lo, hi, 0.6, n, 900))
        rows.append(
            result_row(c, share, "composition", "lpm_wcb_webb", est, lo - 0.02, hi + 0.02, 0.7, n, 900)
        )
    for spec, e in (("unadjusted", 0.52), ("demographics", 0.55)):
        crv = result_row(c, o, spec, "logit_crv1", e, e * 0.8, e * 1.25, 0.001, n, 500)
        rows += [crv, _wcb(crv, e * 0.7, e * 1.4, 0.02)]
    return rows


def make_pilot_areas() -> pd.DataFrame:
    """results/fit/pilot_areas.parquet of the per-pilot fixture (one pilot's counts are small cells)."""
    ors = [0.41, 0.52, 0.95, 0.63, 0.7, 1.15, 0.5, 0.33]
    lev = np.array([0.30, 0.05, 0.12, 0.15, 0.1, 0.08, 0.12, 0.08])
    return pd.DataFrame(
        {
            "cohort": "drug",
            "outcome": "successful_completion",
            "area_code": PILOT_CODES,
            "beta": np.log(ors),
            "odds_ratio": ors,
            "risk_difference": [(e - 1) / 8 for e in ors],
            "leverage_share": lev,
            "n": [120, 40, 80, 90, 60, 55, 70, 6],
            "events": [40, 12, 25, 31, 20, 17, 22, 3],
        }
    )


def make_event_study_with_specs() -> pd.DataFrame:
    """The event-study table with its ``specification`` column: the standard one and one whose
    reference bin (bin 1) is clear of the start."""
    standard = make_event_study().assign(specification="event_study")
    clear = standard.assign(specification="event_study_clear")
    clear["is_reference"] = clear["bin"] == 1
    return pd.concat([standard, clear], ignore_index=True)


def make_area_lookup() -> pd.DataFrame:
    """The area lookup: the published pilots under PILOT_CODES, 141 comparison areas."""
    from pbr.registry.published import PUBLISHED_PILOT_AREAS

    rows = [
        {"area_code": code, "area_name": name, "region": "X", "pilot": True, "pilot_sub_area": None}
        for code, name in zip(PILOT_CODES, PUBLISHED_PILOT_AREAS, strict=True)
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


def make_issue19_inputs() -> ReportInputs:
    """:func:`make_inputs` with every row issue 19 adds, the per-pilot table, the event-study
    table with its specifications and the area lookup."""
    inputs = make_inputs()
    results = inputs.results.copy()
    ri = results["method"].isin(["logit_ri", "lpm_ri"])
    results.loc[ri, "note"] = "valid only if the pilots were exchangeable with other areas; " + RI_NOTE
    results.loc[results["method"].isin(["logit_ri_t", "lpm_ri_t"]), "note"] = RI_NOTE.replace(
        "coefficient", "t"
    )
    extra = pd.DataFrame(make_issue19_rows())
    # the issue-19 rows replace make_results' rows of the same model and method (one row each)
    key = ["cohort", "outcome", "specification", "method"]
    replaced = results.set_index(key).index.isin(extra.set_index(key).index)
    inputs.results = pd.concat([results[~replaced], extra], ignore_index=True)
    inputs.pilot_areas = make_pilot_areas()
    inputs.event_study = make_event_study_with_specs()
    inputs.areas = make_area_lookup()
    return inputs


def render_issue19(
    tmp: Path, real: bool = False, name: str = "issue19", inputs: ReportInputs | None = None
) -> Path:
    """The report of :func:`make_issue19_inputs` (or ``inputs``), with its event-study figure."""
    cfg = make_config(real)
    out = tmp / name
    render_report(
        inputs or make_issue19_inputs(),
        cfg,
        config_hash(cfg),
        {},
        out / "report.html",
        run_date="2026-01-01 00:00 UTC",
        extra_outputs={
            "event_study_png": out / "event_study.png",
            "did_csv": out / "did.csv",
            "tables_dir": out / "tables",
        },
        method_sizes=make_sizes(),
    )
    return out / "report.html"


def outputs_doc(tmp: Path) -> str:
    """docs/outputs.md as the code writes it: the fixture reports rendered (the main one, then
    the one with the per-pilot, timing and composition sections), their data dictionaries
    (tables/columns.csv) put into :func:`pbr.report.outputs.outputs_markdown`, each table once."""
    from pbr.report.outputs import outputs_markdown

    frames = [
        pd.read_csv(html.parent / "tables" / "columns.csv", keep_default_na=False)
        for html in (render(tmp), render_issue19(tmp))
    ]
    first = frames[0]
    rest = frames[1][~frames[1]["table"].isin(set(first["table"]))]
    return outputs_markdown(pd.concat([first, rest], ignore_index=True))


if __name__ == "__main__":
    import sys
    import tempfile

    if sys.argv[1:] != ["outputs-doc"]:
        sys.exit("usage: python tests/report_fixtures.py outputs-doc > docs/outputs.md")
    with tempfile.TemporaryDirectory() as d:
        print(outputs_doc(Path(d)), end="")
