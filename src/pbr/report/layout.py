"""Layout helpers for the report's template: a table that stacks into cards on a narrow page,
break opportunities in identifiers, and the banner that says when a run is too small for its verdicts.

Kept apart from the sections so that the template's context needs one name each.
"""

from __future__ import annotations

import copy
import re

from markupsafe import Markup, escape

from pbr.report.disclosure import Count

#: The share of the configured models (cohort x outcome) that must carry a verdict; below it the
#: small-data banner is shown.
MIN_VERDICT_SHARE = 0.5


def column_labels(head: list[list[dict]]) -> list[str]:
    """Each column's label from a table's header rows (colspans and rowspans expanded): the texts
    of the header cells above it, top down, joined by ': '."""
    grid: dict[tuple[int, int], str] = {}
    for ri, row in enumerate(head):
        col = 0
        for c in row:
            while (ri, col) in grid:
                col += 1
            for dr in range(int(c.get("rowspan", 1))):
                for dc in range(int(c.get("colspan", 1))):
                    grid[(ri + dr, col + dc)] = str(c["text"])
            col += int(c.get("colspan", 1))
    ncols = max((j for _, j in grid), default=-1) + 1
    return [
        ": ".join(dict.fromkeys(grid[(ri, j)] for ri in range(len(head)) if (ri, j) in grid))
        for j in range(ncols)
    ]


def stacked(t: dict, narrow: bool = False) -> dict:
    """A copy of the table view ``t`` that stacks into one card per row on a narrow page (the
    CSS class ``stack``: below 1380 px, for the main DiD table; with ``narrow``, ``stack-narrow``:
    below 1180 px on screen): every body cell carries its column's label (``label``, shown above
    the value by the CSS when the header row is hidden), and a row under a cell that spans rows
    repeats that cell (class ``repeat``: hidden in the table, shown in the card), so every card
    names its cohort and outcome."""
    out = copy.copy(t)
    labels = column_labels(t["head"])
    out["body"] = [
        [{**c, "label": " / ".join(labels[col : col + int(c.get("colspan", 1))])} for col, c in row]
        for row in placed_rows(t["body"])
    ]
    out["stack"] = "stack-narrow" if narrow else "stack"
    return out


def placed_rows(body: list[list[dict]]) -> list[list[tuple[int, dict]]]:
    """Each body row's cells with their first column, in column order; a cell spanning rows from
    above is repeated in every row it covers (a copy with rowspan 1 and class ``repeat``)."""
    above: dict[int, tuple[dict, int]] = {}  # first column -> (cell spanning rows, its last row)
    out = []
    for ri, row in enumerate(body):
        live = {col: c for col, (c, last) in above.items() if last >= ri}
        taken = {col + k for col, c in live.items() for k in range(int(c.get("colspan", 1)))}
        cells = [(col, _repeat(c)) for col, c in live.items()]
        col = 0
        for c in row:
            while col in taken:
                col += 1
            cells.append((col, c))
            if int(c.get("rowspan", 1)) > 1:
                above[col] = (c, ri + int(c["rowspan"]) - 1)
            col += int(c.get("colspan", 1))
        out.append(sorted(cells, key=lambda x: x[0]))
    return out


def _repeat(c: dict) -> dict:
    """The copy of a row-spanning cell shown in a card below its first row."""
    return {**c, "rowspan": 1, "cls": " ".join(x for x in (c.get("cls", ""), "repeat") if x)}


def soft_breaks(text) -> Markup:
    """A cell's text, escaped, with a break opportunity (``<wbr>``) after each ``_``, ``/`` and
    ``:`` followed by a letter or digit, so identifiers (``logit_score_wcb``,
    ``denominator:representation``) and paths wrap in a narrow column; HTML built by a section
    (Markup) is left as it is."""
    if isinstance(text, Markup):
        return text
    return Markup(_BREAK_AFTER.sub(r"\1<wbr>", str(escape(text))))


_BREAK_AFTER = re.compile(r"([_/:])(?=[A-Za-z0-9])")


def small_data_banner(rows: list[dict], analysed: list[dict], config: dict) -> dict | None:
    """Why the run is too small for its verdicts, and what to do; None when it is not.

    Two signs, either enough, both from what the report already has: fewer than
    :data:`MIN_VERDICT_SHARE` of the DiD models (cohort x outcome, ``rows``:
    :func:`pbr.report.did.did_rows`) can carry a verdict (not estimable, too few events, interval
    too wide); or the largest cohort's analysed journeys (``analysed``, disclosure-controlled
    counts) are fewer than the journeys per model at which the simulation study measured the
    methods' sizes (``simulation.journeys``), so the measured sizes do not vouch for this run."""
    reasons = []
    total = len(rows)
    with_verdict = sum(1 for r in rows if r["verdict"].ok)
    if total and with_verdict < MIN_VERDICT_SHARE * total:
        reasons.append(
            f"only {with_verdict} of the {total} models (outcomes × cohorts) can carry a verdict; the "
            "others are not estimable, have too few events or too wide an interval"
        )
    size = int((config.get("simulation") or {}).get("journeys", 0) or 0)
    if size and analysed:
        largest = max(analysed, key=lambda a: _value(a["total"]))
        n = _value(largest["total"])
        if n < size:
            reasons.append(
                f"the largest cohort ({largest['cohort']}) has {largest['total']} journeys, fewer than the "
                f"{size:,} per model at which the simulation "
                "study measured the inference methods' sizes, so those sizes do not vouch for this run"
            )
    if not reasons:
        return None
    synthetic = config["data"]["source"] != "real"
    scale = (config.get("synthetic") or {}).get("scale")
    todo = (
        f"Run again at a larger scale (this run: synthetic.scale {scale}; 0.5 or more matches the "
        "simulation study, and `make report` runs the paper's size) before reading the verdicts as "
        "evidence."
        if synthetic
        else "Read the verdicts as indicative only: they rest on less data than the methods were checked "
        "at; the main table gives each model's reason."
    )
    return {"reasons": reasons, "todo": todo}


def _value(total) -> int:
    """A registered count's value (a plain number as it is)."""
    return int(total.value) if isinstance(total, Count) else int(total)
