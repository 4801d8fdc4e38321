"""A check's table row with the headline method first and CRV1 beside it, for reference only.

With 8 of 149 areas treated, cluster-robust (CRV1) intervals are too narrow (issue 19: the
CRV1 joint pre-trend test rejected 35.5% of 200 simulated data sets with exactly parallel
trends at nominal 5%), so every check in the report (robustness, timing, composition,
adjustment) is shown as the headline few-cluster method's estimate, interval and p
(``logit_score_wcb`` on the odds-ratio scale, ``lpm_wcb_webb`` on the risk-difference
scale), then the CRV1 interval and p labelled "for reference". Verdict words come from the
headline method only. A check whose headline row is missing shows the CRV1 numbers in the
reference columns alone and says that it has no verdict.

Also: the remarks of a result row (:func:`remarks`). Method labels: :mod:`pbr.registry.methods`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

import pandas as pd

from pbr.report.cells import (
    data_cell,
    format_interval,
    format_number,
    format_p,
    header_cell,
    label,
)
from pbr.report.verdicts import (
    MIN_CELL_EVENTS,
    implausible,
    min_cell_events,
    note_text,
    result_row,
    row_field,
    row_status,
    status_reason,
    verdict,
)

#: What the fit's note says of an interval with an infinite end (pbr.fit.inference): matched
#: whole, since a note may use the word "unbounded" otherwise (the ATT's method text does).
UNBOUNDED = "interval unbounded within the search range"

#: The headline (few-cluster) method of each scale, and CRV1 shown beside it for reference.
HEADLINE_METHOD = {"odds_ratio": "logit_score_wcb", "risk_difference": "lpm_wcb_webb"}
REFERENCE_METHOD = {"odds_ratio": "logit_crv1", "risk_difference": "lpm_crv1"}


def remarks(r, redact, p_only: bool = False) -> list[str]:
    """Status and verdict remarks of one result row (not estimable, caveat, no verdict).

    Odds ratios are judged by :func:`verdict` (``p_only``: a method that gives a p-value and
    no interval, judged on its events and estimate); risk differences are flagged beyond ±1
    or with too few events; test statistics only by their status."""
    out = []
    st = row_status(r)
    if st == "not_estimable":
        reason = redact(status_reason(r))
        return [f"not estimable: {reason}" if reason else "not estimable"]
    if st == "caveat" and status_reason(r):
        out.append(f"caveat: {redact(status_reason(r).removeprefix('caveat:').strip())}")
    if UNBOUNDED in note_text(r):
        out.append(UNBOUNDED)
    scale = str(row_field(r, "scale"))
    if scale == "odds_ratio":
        v = verdict(r, 1.0, 1.0) if p_only else verdict(r)
        if not v.ok:
            out.append(v.label)
    elif scale == "risk_difference":
        if implausible(row_field(r, "estimate"), scale=scale):
            out.append("estimate implausible (beyond ±1)")
        m = min_cell_events(r)
        if m is not None and m < MIN_CELL_EVENTS:
            out.append("too few events for a verdict")
    return out


@dataclass
class Check:
    """One check's cells, formatted: the headline estimate, interval and p; the CRV1 interval
    and p (for reference); a comment; the last column's cell (``mark``; None: empty)."""

    name: str
    estimate: str = ""
    interval: str = ""
    p: str = ""
    reference_interval: str = ""
    reference_p: str = ""
    comment: str = ""
    mark: dict | None = None


def shown(r: Any) -> TypeGuard[pd.Series]:
    """Whether a result row's numbers are shown (present and estimable)."""
    return r is not None and row_status(r) != "not_estimable"


def model_check(
    name: str, head, ref, text: str = "", redact=str, digits: int = 3, factor: float = 1.0
) -> Check:
    """The check of one model: ``head`` (the headline method's row) first, ``ref`` (CRV1) beside.

    ``factor`` rescales estimates and intervals (100: risk differences in percentage points).
    Without a headline row the estimate comes from the CRV1 row (the same fit) and the comment
    says there is no verdict."""
    if head is None:
        parts = [text, "no few-cluster row: CRV1 only, for reference, no verdict"]
        parts += remarks(ref, redact) if ref is not None else []
    else:
        own = remarks(head, redact)
        if shown(ref) and row_status(ref) == "caveat":  # the fit's caveat, without the method's note
            own = [x for x in own if not x.startswith("caveat")]
            own += [x for x in remarks(ref, redact) if x.startswith("caveat")]
        parts = [text, *own]

    def scaled(x):
        return x * factor

    check = Check(name, comment="; ".join(x for x in dict.fromkeys(parts) if x))
    source = head if head is not None else ref
    if shown(source):
        check.estimate = format_number(scaled(source["estimate"]), digits)
    elif source is not None:
        check.estimate = "not estimable"
    if shown(head):
        check.interval = format_interval(scaled(head["ci_low"]), scaled(head["ci_high"]), digits)
        check.p = format_p(head["p_value"])
    if shown(ref):
        check.reference_interval = format_interval(scaled(ref["ci_low"]), scaled(ref["ci_high"]), digits)
        check.reference_p = format_p(ref["p_value"])
    return check


def spec_check(
    results: pd.DataFrame, c: str, o: str, spec: str, name: str, text: str = "", redact=str, **kw
) -> Check | None:
    """The check of one cohort x outcome x specification on the odds-ratio scale; None when
    neither the headline nor the CRV1 row exists."""
    head = result_row(results, c, o, spec, HEADLINE_METHOD["odds_ratio"])
    ref = result_row(results, c, o, spec, REFERENCE_METHOD["odds_ratio"])
    if head is None and ref is None:
        return None
    return model_check(name, head, ref, text, redact, **kw)


def check_head(estimate: str, first: tuple[str, ...], mark: str | None = None) -> list[list[dict]]:
    """The two header rows of a check table: ``first`` (row labels), the headline column group
    (``estimate``, 95% interval, p), the CRV1 group (for reference), Comment and ``mark``."""
    top = [header_cell(x, rowspan=2) for x in first]
    top += [
        header_cell("Headline method (few-cluster)", scope="colgroup", colspan=3),
        header_cell("CRV1, for reference only", scope="colgroup", colspan=2),
        header_cell("Comment", rowspan=2),
    ]
    if mark:
        top.append(header_cell(mark, rowspan=2))
    second = [header_cell(x) for x in (estimate, "95% interval", "p", "95% interval", "p")]
    return [top, second]


def check_cells(check: Check, mark: bool = False) -> list[dict]:
    """The cells of one check after its row labels: name, headline numbers, CRV1 numbers, comment."""
    cells = [
        header_cell(check.name, scope="row"),
        data_cell(check.estimate, cls="num"),
        data_cell(check.interval, cls="num"),
        data_cell(check.p, cls="num"),
        data_cell(check.reference_interval, cls="num ref"),
        data_cell(check.reference_p, cls="num ref"),
        data_cell(check.comment),
    ]
    if mark:
        cells.append(check.mark or data_cell("", cls="mark-none"))
    return cells


def grouped_rows(
    c: str, o: str, checks: list[Check], mark: bool = False, name: str | None = None
) -> list[list[dict]]:
    """The table rows of one cohort x outcome's checks, the cohort and outcome (its label, or
    ``name``) spanning them."""
    rows = []
    for i, check in enumerate(checks):
        row = []
        if i == 0:
            row += [
                data_cell(c, rowspan=len(checks)),
                header_cell(name or label(o), scope="rowgroup", rowspan=len(checks)),
            ]
        rows.append(row + check_cells(check, mark))
    return rows
