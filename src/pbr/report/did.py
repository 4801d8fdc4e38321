"""The main DiD table: one row per cohort x outcome, the reproduced odds ratio beside the published one.

Every verdict is the headline method's (``models.headline_method``); beside it: raw, Holm and
Romano-Wolf p, the absolute effects (the logit ATT on the probability scale and the LPM risk
difference, in percentage points), what a finding not significant can rule out (minimum
detectable ORs, equivalence within ``models.equivalence_margin_or``), the two steps of the
reproduction (:class:`DidSettings`) and the CRV1 interval, for reference only."""

from __future__ import annotations

import math
from dataclasses import dataclass

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
from pbr.report.checks import UNBOUNDED
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
    """Planted DiD ORs of the synthetic truth, keyed (cohort, outcome): those that hold over the
    whole post period, planted on the covariate-adjusted scale the main DiD estimates. An outcome
    whose second post year carries another OR (``did_or_second_year``) has no single planted OR for
    the two-year DiD to recover, and an outcome planted as a raw DiD OR
    (:func:`raw_planted_effects`) none on the adjusted scale: both are left out (the report's
    planted column is then empty for them, or shows the raw OR as such)."""
    if not effects or not isinstance(effects.get("did_or"), dict):
        return {}
    second = effects.get("did_or_second_year") or {}
    raw = raw_planted_effects(effects)
    out = {}
    for c, by_outcome in effects["did_or"].items():
        for k, v in (by_outcome or {}).items():
            later = (second.get(c) or {}).get(k, v)
            if v is not None and (later is None or float(later) == float(v)) and (c, k) not in raw:
                out[(c, k)] = float(v)  # the generator names outcomes as the registry does
    return out


def raw_planted_effects(effects: dict | None) -> dict[tuple[str, str], float]:
    """Outcomes the generator plants as a raw DiD OR, keyed (cohort, outcome): retention and
    unplanned discharge (``discharge_effects`` in the truth: :mod:`pbr.synthetic.discharges`
    changes pilot-post journeys until the raw pilot/other x pre/post OR reaches the planted value).
    The main DiD adjusts for the covariates, whose mix the scheme changes in the pilots' post period,
    so it estimates another OR: measured at scale 1, alcohol unplanned discharge raw 1.30 against an
    adjusted 1.17 (1.10-1.25)."""
    if not effects or not isinstance(effects.get("did_or"), dict):
        return {}
    planted_raw = effects.get("discharge_effects") or {}
    return {
        (c, k): float(v)
        for c, by_outcome in effects["did_or"].items()
        for k, v in (by_outcome or {}).items()
        if v is not None and k in (planted_raw.get(c) or {})
    }


@dataclass(frozen=True)
class DidSettings:
    """The settings the DiD rows are judged by (config ``report`` and ``models``).

    ``tolerance``: the reproduced point estimate matches the published one when neither is
    more than this many times the other (``report.reproduction_tolerance``, a ratio on the OR
    scale); ``margin``: the equivalence margin m > 1 on the OR scale (an interval inside
    [1/m, m] is "equivalent"; ``models.equivalence_margin_or``, None: no statement);
    ``power``: the power of the minimum detectable ORs (``models.power.target``); ``alpha``: the
    test level (1 - ``models.confidence_level``), for the Holm and Romano-Wolf p-values.
    """

    tolerance: float = 1.10
    margin: float | None = None
    power: float = 0.8
    alpha: float = 0.05

    @classmethod
    def of(cls, config: dict) -> DidSettings:
        """The settings of ``config`` (defaults for keys it lacks)."""
        m = config.get("models", {})
        power = m.get("power") or {}
        margin = m.get("equivalence_margin_or")
        target = power.get("target", 0.8) if isinstance(power, dict) else 0.8
        return cls(
            tolerance=float(config.get("report", {}).get("reproduction_tolerance", 1.10)),
            margin=float(margin) if margin is not None and float(margin) > 1 else None,
            power=float(target or 0.8),
            alpha=1.0 - float(m.get("confidence_level", 0.95)),
        )


def did_rows(
    results: pd.DataFrame,
    cohorts: list[str],
    outcomes: list[str],
    headline: str,
    planted: dict | None = None,
    settings: DidSettings | None = None,
    planted_raw: dict | None = None,
) -> list[dict]:
    """One row per cohort x outcome: the logit OR with the headline interval, the absolute
    effects and the CRV1 interval (for reference), beside published.

    Every verdict uses the headline method's row (``headline``, specification ``main``): a
    headline row missing, not estimable or without an interval gives no verdict (the CRV1
    interval is shown, for reference only, never in its place). ``inside``: the published OR
    lies in the headline interval (None: no published value, or no verdict); ``inside_crv1``
    likewise for CRV1 (reference); ``includes_one``: the headline interval includes 1;
    ``significant``: it excludes 1. Step 1 of the reproduction: ``within_tolerance`` (the point
    estimate within ``settings.tolerance`` of the published OR) and ``inside_published`` (the
    estimate inside the published interval). ``verdict`` (:class:`Verdict`): whether the row
    can carry a verdict at all; every flag is None unless it can. ``status``/``status_reason``
    come from the fit (the results' ``status`` column and note), ``min_cell_events`` likewise.
    """
    planted, planted_raw = planted or {}, planted_raw or {}
    settings = settings or DidSettings()
    rows = []
    for c in cohorts:
        for o in outcomes:
            crv1_row = result_row(results, c, o, "main", "logit_crv1")
            if crv1_row is None:
                continue
            row = _did_row(results, c, o, crv1_row, headline, planted.get((c, o)))
            row["planted_raw"] = planted_raw.get((c, o))
            row |= _absolute_effects(results, c, o)
            row |= _reproduction(row, settings)
            row |= _multiplicity(row, settings)
            row["rule_out"] = rule_out_text(row, settings)
            rows.append(row)
    return rows


def _headline_row(
    results: pd.DataFrame, c: str, o: str, crv1_row: pd.Series, headline: str
) -> tuple[pd.Series | None, str]:
    """The headline method's result row (None when absent or not estimable) and, when it gives
    no usable interval, why (else '')."""
    headline_row = result_row(results, c, o, "main", headline) if headline != "logit_crv1" else crv1_row
    name = METHOD_LABELS.get(headline, headline)
    if headline_row is None:
        return None, f"no {name} result for this model: no verdict (CRV1 shown for reference only)"
    if row_status(headline_row) == "not_estimable":
        why = status_reason(headline_row)
        return None, f"{name} not estimable ({why}): no verdict (CRV1 shown for reference only)"
    if isnan(headline_row["ci_low"]) or isnan(headline_row["ci_high"]):
        return headline_row, f"{name} gave no interval: no verdict (CRV1 shown for reference only)"
    return headline_row, ""


def _field(r: pd.Series | None, key: str) -> float:
    """A numeric field of a result row; NaN when the row or the column is missing."""
    if r is None:
        return math.nan
    x = r.get(key, math.nan)
    return math.nan if isnan(x) else float(x)


def _planted_text(r: dict) -> str:
    """The planted-OR cell: the planted OR, or a raw-scale one marked as such (not comparable)."""
    if r["planted"] is None and r.get("planted_raw") is not None:
        return f"{format_number(r['planted_raw'], 2)} raw"
    return format_number(r["planted"], 2)


def _did_row(
    results: pd.DataFrame, c: str, o: str, crv1_row: pd.Series, headline: str, planted_or: float | None
) -> dict:
    """The row of one cohort x outcome (see :func:`did_rows`); ``crv1_row``: its CRV1 result row."""
    headline_row, missing = _headline_row(results, c, o, crv1_row, headline)
    published = (
        PUBLISHED_OR.get(o, (None, None, None, "")) if c == PUBLISHED_COHORT else (None, None, None, "")
    )
    value, lo, hi, source = published
    status = row_status(crv1_row)
    h_lo, h_hi = _field(headline_row, "ci_low"), _field(headline_row, "ci_high")
    v = verdict(crv1_row, h_lo, h_hi)
    crv1_ok = v.ok and not interval_problem(crv1_row["ci_low"], crv1_row["ci_high"])
    estimable = status != "not_estimable"

    def num(x, ok: bool = estimable) -> float:
        return float(x) if ok and not isnan(x) else math.nan

    note = note_text(crv1_row) if status != "not_estimable" else ""
    unbounded = headline_row is not None and UNBOUNDED in note_text(headline_row)
    return {
        "cohort": c,
        "outcome_key": o,
        "outcome": label(o),
        "estimate": num(crv1_row["estimate"]),
        "method": headline,
        "ci_low": num(h_lo),
        "ci_high": num(h_hi),
        "p_value": num(_field(headline_row, "p_value")),
        "p_holm": num(_field(headline_row, "p_holm")),
        "p_romano_wolf": num(_field(headline_row, "p_romano_wolf")),
        "mde_low": num(_field(headline_row, "mde_low")),
        "mde_high": num(_field(headline_row, "mde_high")),
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
        **_did_marks(value, (h_lo, h_hi), crv1_row, v, crv1_ok, planted_or),
        "note": "; ".join(
            x
            for x in (
                missing if estimable else "",
                note if status == "ok" else "",
                "headline interval unbounded within the search range" if unbounded else "",
            )
            if x
        ),
    }


def _did_marks(
    published: float | None,
    headline_ci: tuple[float, float],
    crv1_row: pd.Series,
    v: Verdict,
    crv1_ok: bool,
    planted_or: float | None,
) -> dict:
    """A row's flags: the published OR (or 1) inside the headline (``headline_ci``) and CRV1
    intervals, and the planted OR with its flag (headline interval only); every flag None
    unless the interval can carry a verdict."""
    lo, hi = headline_ci
    includes_one = inside(1.0, lo, hi) if v.ok else None
    includes_one_crv1 = inside(1.0, crv1_row["ci_low"], crv1_row["ci_high"]) if crv1_ok else None
    return {
        "inside": inside(published, lo, hi) if v.ok else None,
        "inside_crv1": inside(published, crv1_row["ci_low"], crv1_row["ci_high"]) if crv1_ok else None,
        "includes_one": includes_one,
        "includes_one_crv1": includes_one_crv1,
        "significant": None if includes_one is None else not includes_one,
        "significant_crv1": None if includes_one_crv1 is None else not includes_one_crv1,
        "planted": planted_or,
        "planted_inside": inside(planted_or, lo, hi) if v.ok else None,
    }


def _absolute_effects(results: pd.DataFrame, c: str, o: str) -> dict:
    """The ATT on the probability scale (``logit_att_score_wcb``) and the LPM risk difference
    (``lpm_wcb_webb``) of the main model, with their intervals (NaN when absent or not estimable)."""
    out: dict[str, float] = {}
    for key, method in (("att", "logit_att_score_wcb"), ("rd", "lpm_wcb_webb")):
        r = result_row(results, c, o, "main", method)
        if r is not None and row_status(r) == "not_estimable":
            r = None
        out |= {
            key: _field(r, "estimate"),
            f"{key}_low": _field(r, "ci_low"),
            f"{key}_high": _field(r, "ci_high"),
            f"{key}_p": _field(r, "p_value"),
        }
    return out


def _reproduction(row: dict, settings: DidSettings) -> dict:
    """Step 1 of the reproduction (point estimate against the published one) and the published
    conclusion: ``ratio`` (the larger of reproduced/published and its inverse),
    ``within_tolerance`` (ratio at most ``settings.tolerance``), ``inside_published`` (the
    estimate inside the published interval), ``published_significant`` (the published interval
    excludes 1; False for findings published as not significant). None without a verdict or a
    published value."""
    pub, est, ok = row["published"], row["estimate"], row["verdict"].ok
    ratio = max(est / pub, pub / est) if ok and pub and not isnan(est) and est > 0 else math.nan
    published_significant = None
    if row["not_significant"]:
        published_significant = False
    elif pub is not None and row["published_low"] is not None:
        published_significant = not (row["published_low"] <= 1 <= row["published_high"])
    return {
        "ratio": ratio,
        "tolerance": settings.tolerance,
        "within_tolerance": None if isnan(ratio) else bool(ratio <= settings.tolerance),
        "inside_published": inside(est, row["published_low"], row["published_high"]) if ok else None,
        "published_significant": published_significant,
    }


def _multiplicity(row: dict, settings: DidSettings) -> dict:
    """Whether the headline finding stays significant at ``settings.alpha`` after Holm and
    after Romano-Wolf (None without a verdict or without the adjusted p)."""
    ok = row["verdict"].ok
    return {"alpha": settings.alpha} | {
        f"significant_{k}": (
            bool(row[f"p_{k}"] < settings.alpha) if ok and not isnan(row[f"p_{k}"]) else None
        )
        for k in ("holm", "romano_wolf")
    }


def rule_out_text(row: dict, settings: DidSettings) -> str:
    """What a finding not significant under the headline method can rule out: the minimum
    detectable ORs at ``settings.power`` and, with a margin, whether the headline interval lies
    inside [1/m, m] ('' for a finding significant or without a verdict)."""
    if row["significant"] is not False:
        return ""
    parts = []
    if not isnan(row["mde_low"]) or not isnan(row["mde_high"]):
        ends = [
            f"below {format_number(row['mde_low'], 2)}" if not isnan(row["mde_low"]) else "",
            f"above {format_number(row['mde_high'], 2)}" if not isnan(row["mde_high"]) else "",
        ]
        parts.append(f"could rule out ORs {' or '.join(x for x in ends if x)} at {settings.power:.0%} power")
    else:
        parts.append("minimum detectable OR not computed")
    m = settings.margin
    if m is not None:
        within = inside(row["ci_low"], 1 / m, m) and inside(row["ci_high"], 1 / m, m)
        margin = format_interval(1 / m, m, 2)
        parts.append(
            f"equivalent within the margin {margin}" if within else f"not shown equivalent within {margin}"
        )
    return "; ".join(parts)


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
            data_cell(r["rule_out"], cls="rule-out"),
        ]
        if synthetic:
            row.append(data_cell(_planted_text(r), cls="num"))
        row.append(data_cell(Markup(f'<a href="#tbl-did-note-{ref}">[{ref}]</a>') if ref else "", cls="note"))
        body.append(row)
    if not notes:
        body = [r[:-1] for r in body]
    tbl = table(
        Markup(
            "DiD odds ratios (pilot &times; post) by outcome and cohort, with the absolute effects "
            "(percentage points) and what a finding not significant can rule out"
        ),
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
    if pilot_areas and v.kind != "not_estimable" and r["n_treated"] < pilot_areas:
        row_notes.append(
            f"this model used {r['n_treated']} of the run's {pilot_areas} pilot areas (the others "
            "had no outcome variation)"
        )
    return "; ".join(x for x in row_notes if x)


def _pp(est: float, lo: float, hi: float) -> str:
    """A risk difference in percentage points with its interval: '−3.2 (−5.1 to −1.0)'; '' when missing."""
    if isnan(est):
        return ""
    text = format_number(100 * est, 1).replace("-", "−")
    interval = format_interval(100 * lo, 100 * hi, 1)
    return f"{text} ({interval})" if interval else text


def _number_cells(r: dict, disc: Disclosure) -> list[dict]:
    """The OR; the headline interval, p, Holm p and Romano-Wolf p; the ATT and the LPM risk
    difference (percentage points); the CRV1 interval and p. 'not estimable' and blanks for a
    row not estimable, the OR and interval flagged when implausible or too wide."""
    v = r["verdict"]
    if v.kind == "not_estimable":
        title = disc.redact(r["status_reason"])
        return [data_cell("not estimable", cls="num not-estimable", title=title)] + [
            data_cell("", cls="num") for _ in range(8)
        ]
    flag = " flagged" if {"interval too wide", "estimate implausible"} & set(v.tags) else ""
    return [
        data_cell(format_number(r["estimate"]), cls="num" + flag),
        data_cell(format_interval(r["ci_low"], r["ci_high"]), cls="num" + flag),
        data_cell(format_p(r["p_value"]), cls="num"),
        data_cell(format_p(r["p_holm"]), cls="num"),
        data_cell(format_p(r["p_romano_wolf"]), cls="num"),
        data_cell(_pp(r["att"], r["att_low"], r["att_high"]), cls="num"),
        data_cell(_pp(r["rd"], r["rd_low"], r["rd_high"]), cls="num"),
        data_cell(format_interval(r["crv1_low"], r["crv1_high"]), cls="num reference"),
        data_cell(format_p(r["crv1_p"]), cls="num reference"),
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
            header_cell(f"Headline: {short_label}", scope="colgroup", colspan=4),
            header_cell("Absolute effect, percentage points (95% CI)", scope="colgroup", colspan=2),
            header_cell("CRV1, for reference only", scope="colgroup", colspan=2),
            header_cell("Journeys", rowspan=2),
            header_cell("Areas (pilot)", rowspan=2),
            header_cell("Published OR (95% CI), Jones 2018", rowspan=2),
            header_cell("Published OR inside the reproduced 95% CI?", scope="colgroup", colspan=2),
            header_cell("If not significant (headline): what it can rule out", rowspan=2),
        ]
        + ([header_cell("Planted OR", rowspan=2)] if synthetic else [])
        + ([header_cell("Note", rowspan=2)] if notes else []),
        [
            header_cell("95% CI"),
            header_cell("p"),
            header_cell("Holm p"),
            header_cell("Romano-Wolf p"),
            header_cell("ATT (logit, headline CI)"),
            header_cell("Risk difference (LPM, wild bootstrap CI)"),
            header_cell("95% CI"),
            header_cell("p"),
            header_cell("headline"),
            header_cell("CRV1 (reference)"),
        ],
    ]
