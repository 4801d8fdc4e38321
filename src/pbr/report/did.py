"""The main DiD table: one row per cohort x outcome, the reproduced odds ratio beside the published one."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup

from pbr.registry.published import PUBLISHED_COHORT, PUBLISHED_NOT_SIGNIFICANT, PUBLISHED_OR
from pbr.report.cells import (
    GROUPS,
    METHOD_LABELS,
    PERIODS,
    SHORT_LABELS,
    data_cell,
    format_interval,
    format_number,
    format_p,
    header_cell,
    inside,
    isnan,
    label,
    mark,
    table,
)
from pbr.report.disclosure import Count, Disclosure, Joined
from pbr.report.verdicts import (
    Verdict,
    interval_problem,
    min_cell_events,
    note_text,
    result_row,
    row_status,
    status_reason,
    verdict,
)


def _int(x, default: int = 0) -> int:
    """An integer field of a result row (``default`` when missing: a row not estimable may lack it)."""
    return default if isnan(x) else int(x)


def planted_effects(effects: dict | None) -> dict[tuple[str, str], float]:
    """Planted DiD ORs of the synthetic truth, keyed (cohort, outcome)."""
    if not effects or not isinstance(effects.get("did_or"), dict):
        return {}
    out = {}
    for c, by_outcome in effects["did_or"].items():
        for k, v in (by_outcome or {}).items():
            if v is not None:
                out[(c, k)] = float(v)  # the generator names outcomes as the registry does
    return out


def did_rows(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], headline: str, planted: dict | None = None
) -> list[dict]:
    """One row per cohort x outcome: the logit OR with the headline and CRV1 intervals, beside published.

    ``inside``: the published OR lies in the headline interval (None: no published value,
    no interval, or no verdict); ``inside_crv1`` likewise for CRV1; ``includes_one``: the
    headline interval includes 1 (for findings published as not significant).
    ``verdict`` (:class:`Verdict`): whether the row can carry a verdict at all; every flag
    above is None unless it can (so nothing downstream can count a row that says nothing).
    ``status``/``status_reason`` come from the fit (the results' ``status`` column and note;
    'ok' when the column is missing), ``min_cell_events`` likewise (None when unknown).
    """
    planted = planted or {}
    rows = []
    for c in cohorts:
        for o in outcomes:
            crv1_row = result_row(results, c, o, "main", "logit_crv1")
            if crv1_row is None:
                continue
            rows.append(_did_row(results, c, o, crv1_row, headline, planted.get((c, o))))
    return rows


def _headline_row(
    results: pd.DataFrame, c: str, o: str, crv1_row: pd.Series, headline: str
) -> tuple[str, pd.Series]:
    """The method the row's interval comes from, and its result row: the headline method's, or
    CRV1's (``crv1_row``) when the headline method gave no usable interval."""
    headline_row = result_row(results, c, o, "main", headline) if headline != "logit_crv1" else crv1_row
    usable = (
        headline_row is not None and not isnan(headline_row["ci_low"]) and not isnan(headline_row["ci_high"])
    ) and row_status(headline_row) != "not_estimable"
    used = headline if usable else "logit_crv1"
    return used, headline_row if headline_row is not None and used == headline else crv1_row


def _did_row(
    results: pd.DataFrame, c: str, o: str, crv1_row: pd.Series, headline: str, planted_or: float | None
) -> dict:
    """The row of one cohort x outcome (see :func:`did_rows`); ``crv1_row``: its CRV1 result row."""
    used, headline_row = _headline_row(results, c, o, crv1_row, headline)
    published = (
        PUBLISHED_OR.get(o, (None, None, None, "")) if c == PUBLISHED_COHORT else (None, None, None, "")
    )
    value, lo, hi, source = published
    status = row_status(crv1_row)
    v = verdict(crv1_row, headline_row["ci_low"], headline_row["ci_high"])
    crv1_ok = v.ok and not interval_problem(crv1_row["ci_low"], crv1_row["ci_high"])
    estimable = status != "not_estimable"

    def num(x, ok: bool = estimable) -> float:
        return float(x) if ok and not isnan(x) else math.nan

    note = note_text(crv1_row) if status != "not_estimable" else ""
    unbounded = used == headline and "unbounded" in note_text(headline_row)
    return {
        "cohort": c,
        "outcome_key": o,
        "outcome": label(o),
        "estimate": num(crv1_row["estimate"]),
        "method": used,
        "ci_low": num(headline_row["ci_low"]),
        "ci_high": num(headline_row["ci_high"]),
        "p_value": num(headline_row["p_value"]),
        "crv1_low": num(crv1_row["ci_low"]),
        "crv1_high": num(crv1_row["ci_high"]),
        "crv1_p": num(crv1_row["p_value"]),
        "n": _int(crv1_row["n"]),
        "n_clusters": _int(crv1_row["n_clusters"]),
        "n_treated": _int(crv1_row["n_treated_clusters"]),
        "published": value,
        "published_low": lo,
        "published_high": hi,
        "published_source": source,
        "not_significant": c == PUBLISHED_COHORT and o in PUBLISHED_NOT_SIGNIFICANT,
        "status": status,
        "status_reason": status_reason(crv1_row) if status != "ok" else "",
        "min_cell_events": min_cell_events(crv1_row),
        "verdict": v,
        **_did_marks(value, headline_row, crv1_row, v, crv1_ok, planted_or),
        "note": "; ".join(
            x
            for x in (
                note if status == "ok" else "",
                "headline interval unbounded within the search range" if unbounded else "",
            )
            if x
        ),
    }


def _did_marks(
    published: float | None,
    headline_row: pd.Series,
    crv1_row: pd.Series,
    v: Verdict,
    crv1_ok: bool,
    planted_or: float | None,
) -> dict:
    """A row's flags: the published OR (or 1) inside the headline (``headline_row``) and CRV1 intervals, and
    the planted OR with its flag; every flag None unless the interval can carry a verdict."""
    return {
        "inside": inside(published, headline_row["ci_low"], headline_row["ci_high"]) if v.ok else None,
        "inside_crv1": inside(published, crv1_row["ci_low"], crv1_row["ci_high"]) if crv1_ok else None,
        "includes_one": inside(1.0, headline_row["ci_low"], headline_row["ci_high"]) if v.ok else None,
        "includes_one_crv1": inside(1.0, crv1_row["ci_low"], crv1_row["ci_high"]) if crv1_ok else None,
        "planted": planted_or,
        "planted_inside": inside(planted_or, headline_row["ci_low"], headline_row["ci_high"])
        if v.ok
        else None,
    }


def did_section(
    rows: list[dict],
    rates_cells: dict,
    headline: str,
    disc: Disclosure,
    real: bool,
    synthetic: bool,
    pilot_areas: int | None = None,
) -> dict:
    """The main DiD table view; notes become numbered footnotes (``tbl["notes"]``).

    A row not estimable shows no number: "not estimable", with the reason as a footnote and
    as the cell's title. A row without a verdict shows its numbers and, in the mark columns,
    "too few events / interval too wide for a verdict", with the reason as a footnote. Every
    note passes :meth:`Disclosure.redact`. ``pilot_areas``: the pilot areas of the run; a
    model that used fewer says so in its note.
    """
    body, notes = [], []
    for r in rows:
        n = _register_model_n(r, rates_cells, disc)
        published_cell, headline_mark, crv1_mark = _published_marks(r)
        headline_mark, crv1_mark, row_notes = _verdict_marks(r, headline_mark, crv1_mark, disc)
        note = _row_note(r, row_notes, headline, pilot_areas, disc)
        ref = ""
        if note:
            notes.append(note)
            ref = str(len(notes))
        row = [
            data_cell(r["cohort"]),
            header_cell(r["outcome"], scope="row"),
            *_number_cells(r, disc),
            data_cell(Joined([n]), cls="num count"),
            data_cell(f"{r['n_clusters']} ({r['n_treated']})", cls="num"),
            published_cell,
            headline_mark,
            crv1_mark,
        ]
        if synthetic:
            row.append(data_cell(format_number(r["planted"], 2), cls="num"))
        row.append(data_cell(Markup(f'<a href="#tbl-did-note-{ref}">[{ref}]</a>') if ref else "", cls="note"))
        body.append(row)
    if not notes:
        body = [r[:-1] for r in body]
    tbl = table(
        Markup("DiD odds ratios (pilot &times; post) by outcome and cohort"),
        _did_head(headline, synthetic, bool(notes)),
        body,
        tid="tbl-did",
    )
    tbl["notes"] = notes
    return tbl


def _register_model_n(r: dict, rates_cells: dict, disc: Disclosure) -> Count:
    """Register the model's journeys; with all four rate cells, also the journeys it dropped
    (cells minus model n), balanced against the cells."""
    n_key = ("model_n", r["cohort"], r["outcome_key"])
    n = disc.count(n_key, r["n"], priority=0)
    parts = [
        rates_cells[(r["cohort"], r["outcome_key"], g, p)][1].key
        for g in GROUPS
        for p in PERIODS
        if (r["cohort"], r["outcome_key"], g, p) in rates_cells
    ]
    if len(parts) == 4:
        # the journeys the model dropped (areas without variation, separation) = cells - model n
        excluded = sum(disc.values[k] for k in parts) - r["n"]
        if excluded >= 0:
            # treated as known (never printed): a reader who guesses it (often 0) must not
            # learn a suppressed cell, and a small one must not be learnt either
            excluded_key = ("model_excluded", r["cohort"], r["outcome_key"])
            disc.count(excluded_key, excluded)
            disc.balance(parts, [n_key, excluded_key])
    return n


def _published_marks(r: dict) -> tuple[dict, dict, dict]:
    """The published cell and the headline and CRV1 marks: the published OR inside the interval,
    or (published as not significant) the interval including 1; else no mark."""
    if r["published"] is not None:
        published_cell = data_cell(
            f"{r['published']:.2f} ({format_interval(r['published_low'], r['published_high'], 2)})", cls="num"
        )
        headline_mark = mark(r["inside"], "inside", "outside")
        crv1_mark = mark(r["inside_crv1"], "inside", "outside")
    elif r["not_significant"]:
        published_cell = data_cell("not significant")
        headline_mark = mark(r["includes_one"], "includes 1", "excludes 1")
        crv1_mark = mark(r["includes_one_crv1"], "includes 1", "excludes 1")
    else:
        published_cell = data_cell(
            r["published_source"].removeprefix("Jones 2018 ") if r["cohort"] == PUBLISHED_COHORT else ""
        )
        headline_mark = mark(None)
        crv1_mark = mark(None)
    return published_cell, headline_mark, crv1_mark


def _verdict_marks(
    r: dict, headline_mark: dict, crv1_mark: dict, disc: Disclosure
) -> tuple[dict, dict, list[str]]:
    """The marks of a row not estimable or without a verdict (with the reason as their title), and
    the row's notes saying why; a CRV1 interval too wide is marked so on its own."""
    v = r["verdict"]
    row_notes = []
    if v.kind == "not_estimable":
        reason = disc.redact(r["status_reason"] or v.detail)
        headline_mark = data_cell("not estimable", cls="mark-none", title=reason)
        crv1_mark = data_cell("not estimable", cls="mark-none", title=reason)
        row_notes.append(f"Not estimable: {reason}" if reason else "Not estimable")
    elif not v.ok:
        detail = v.text(disc.redact)
        if r["published"] is not None or r["not_significant"]:
            headline_mark = data_cell(v.label, cls="mark-none no-verdict", title=detail)
            # the CRV1 mark: the same reasons, judged on the CRV1 interval
            tags = [t for t in v.tags if t != "interval too wide"]
            if interval_problem(r["crv1_low"], r["crv1_high"]):
                tags.append("interval too wide")
            crv_label = (
                " and ".join(tags) + " for a verdict" if tags else "no verdict: headline interval too wide"
            )
            crv1_mark = data_cell(crv_label, cls="mark-none no-verdict", title=detail)
        row_notes.append(f"No verdict ({v.label}): {detail}")
    elif (r["published"] is not None or r["not_significant"]) and (
        problem := interval_problem(r["crv1_low"], r["crv1_high"])
    ):
        crv1_mark = data_cell("interval too wide for a verdict", cls="mark-none no-verdict", title=problem)
    return headline_mark, crv1_mark, row_notes


def _row_note(r: dict, row_notes: list[str], headline: str, pilot_areas: int | None, disc: Disclosure) -> str:
    """A row's footnote: ``row_notes``, its caveat and fit note, the headline interval replaced
    by CRV1, fewer pilot areas than the run's; '' when there is none."""
    v = r["verdict"]
    if r["status"] == "caveat" and r["status_reason"]:
        row_notes.append(f"Caveat: {disc.redact(r['status_reason'])}")
    if r["note"]:
        row_notes.append(disc.redact(r["note"]))
    if r["method"] != headline and v.kind != "not_estimable":
        row_notes.insert(
            0, f"{METHOD_LABELS.get(headline, headline)} interval not available: CRV1 shown in its place"
        )
    if pilot_areas and v.kind != "not_estimable" and r["n_treated"] < pilot_areas:
        row_notes.append(
            f"this model used {r['n_treated']} of the run's {pilot_areas} pilot areas (the others "
            "had no outcome variation)"
        )
    return "; ".join(x for x in row_notes if x)


def _number_cells(r: dict, disc: Disclosure) -> list[dict]:
    """The OR, the headline interval and p, the CRV1 interval and p; 'not estimable' and blanks
    for a row not estimable, the OR and interval flagged when implausible or too wide."""
    v = r["verdict"]
    if v.kind == "not_estimable":
        title = disc.redact(r["status_reason"])
        return [
            data_cell("not estimable", cls="num not-estimable", title=title),
            data_cell("", cls="num"),
            data_cell("", cls="num"),
            data_cell("", cls="num"),
            data_cell("", cls="num"),
        ]
    flag = " flagged" if {"interval too wide", "estimate implausible"} & set(v.tags) else ""
    return [
        data_cell(format_number(r["estimate"]), cls="num" + flag),
        data_cell(format_interval(r["ci_low"], r["ci_high"]), cls="num" + flag),
        data_cell(format_p(r["p_value"]), cls="num"),
        data_cell(format_interval(r["crv1_low"], r["crv1_high"]), cls="num"),
        data_cell(format_p(r["crv1_p"]), cls="num"),
    ]


def _did_head(headline: str, synthetic: bool, notes: bool) -> list[list[dict]]:
    """The DiD table's two header rows (a planted OR column in synthetic mode, a note column when
    any row has a note)."""
    short_label = SHORT_LABELS.get(headline, headline)
    return [
        [
            header_cell("Cohort", rowspan=2),
            header_cell("Outcome", rowspan=2),
            header_cell("Reproduced OR", rowspan=2),
            header_cell(f"Headline: {short_label}", scope="colgroup", colspan=2),
            header_cell("CRV1 (cluster-robust)", scope="colgroup", colspan=2),
            header_cell("Journeys", rowspan=2),
            header_cell("Areas (pilot)", rowspan=2),
            header_cell("Published OR (95% CI), Jones 2018", rowspan=2),
            header_cell("Published OR inside the reproduced 95% CI?", scope="colgroup", colspan=2),
        ]
        + ([header_cell("Planted OR", rowspan=2)] if synthetic else [])
        + ([header_cell("Note", rowspan=2)] if notes else []),
        [
            header_cell("95% CI"),
            header_cell("p"),
            header_cell("95% CI"),
            header_cell("p"),
            header_cell("headline"),
            header_cell("CRV1"),
        ],
    ]
