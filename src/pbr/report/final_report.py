"""The final report's (2017) findings, directions without public values, beside the reproduced ones.

Each finding of :data:`pbr.registry.published.FINAL_REPORT_DIRECTIONS` is judged on the DiD
row of its cohort and outcome (:func:`pbr.report.did.did_rows`) by the headline method's
interval, the method every other verdict uses: a "lower" (or "higher") finding is reproduced
when the interval lies wholly below (above) 1, significant in the published direction; a
"no change" finding when the interval includes 1. A row that carries no verdict (not
estimable, too few events, interval too wide) gives none, and a cohort or outcome the run did
not analyse is listed as such: nothing is counted that was not judged.
"""

from __future__ import annotations

from pbr.registry.published import FINAL_REPORT_DIRECTIONS
from pbr.report.cells import data_cell, format_interval, format_number, label, mark, simple_head, table

#: The rule of a direction verdict, in words (the report and findings.json print it).
RULE = (
    "reproduced when the headline 95% interval lies wholly below 1 (a published 'lower'), wholly "
    "above 1 ('higher'), or includes 1 ('no change')"
)


def found_direction(ci_low: float, ci_high: float) -> str:
    """The direction an interval of an odds ratio shows: 'lower', 'higher' or 'no change'."""
    if ci_high < 1:
        return "lower"
    if ci_low > 1:
        return "higher"
    return "no change"


def direction_rows(did_rows: list[dict]) -> list[dict]:
    """One row per final-report finding: cohort, outcome, published direction and words, the DiD
    row (None when not analysed), the direction found and ``reproduced`` (None without a verdict)."""
    by_key = {(r["cohort"], r["outcome_key"]): r for r in did_rows}
    out = []
    for cohort, outcome, direction, text in FINAL_REPORT_DIRECTIONS:
        r = by_key.get((cohort, outcome))
        found, why = "", ""
        if r is None:
            why = "not analysed in this run"
        elif r["verdict"].kind == "not_estimable":
            why = "not estimable"
        elif not r["verdict"].ok:
            why = "no verdict (" + (r["verdict"].label or "see the DiD table") + ")"
        else:
            found = found_direction(r["ci_low"], r["ci_high"])
        out.append(
            {
                "cohort": cohort,
                "outcome": outcome,
                "direction": direction,
                "text": text,
                "row": r,
                "found": found,
                "why": why,
                "reproduced": (found == direction) if found else None,
            }
        )
    return out


def direction_table(rows: list[dict], headline_label: str) -> dict:
    """The table view of :func:`direction_rows` (id ``tbl-final-report``)."""
    body = []
    for d in rows:
        r = d["row"]
        estimate = "" if r is None or not d["found"] else format_number(r["estimate"], 2)
        interval = "" if r is None or not d["found"] else format_interval(r["ci_low"], r["ci_high"], 2)
        body.append(
            [
                data_cell(d["cohort"]),
                data_cell(label(d["outcome"])),
                data_cell(d["text"]),
                data_cell(d["direction"]),
                data_cell(f"{estimate} ({interval})" if estimate else "", cls="num"),
                data_cell(d["found"] or d["why"]),
                mark(d["reproduced"], yes="reproduced", no="not reproduced"),
            ]
        )
    head = simple_head(
        "Cohort",
        "Outcome",
        "Final report (2017)",
        "Published direction",
        f"Reproduced OR ({headline_label} 95% CI)",
        "Reproduced direction",
        "Verdict",
    )
    caption = (
        "The final report's (2017) findings, published as directions without values, beside the reproduced "
        f"direction: {RULE}"
    )
    return table(caption, head, body, tid="tbl-final-report")


def direction_record(d: dict) -> dict:
    """One final-report finding as a JSON-ready dict (findings.json)."""
    r = d["row"]
    verdict = d["why"] or ("reproduced" if d["reproduced"] else "not reproduced")
    return {
        "cohort": d["cohort"],
        "outcome": d["outcome"],
        "finding": d["text"],
        "published_direction": d["direction"],
        "reproduced_direction": d["found"] or None,
        "odds_ratio": None if r is None or not d["found"] else float(r["estimate"]),
        "ci_low": None if r is None or not d["found"] else float(r["ci_low"]),
        "ci_high": None if r is None or not d["found"] else float(r["ci_high"]),
        "verdict": verdict,
        "verdict_rule": "final_report_direction",
    }
