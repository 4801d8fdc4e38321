"""The sections that describe the data before any model: flow, rates, baseline, linkage.

The CONSORT-style flow (every record kept, dropped or flagged), the 2x2 outcome rates with
the unadjusted DiD odds ratio beside the published rates, Table 1 (baseline characteristics)
and the linkage section (match rates; against the synthetic truth, linkage quality). Every
count is registered with the :class:`~pbr.report.disclosure.Disclosure`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from pbr.fit.link_bounds import bounds_row
from pbr.link.indicators import GREY_ZONE
from pbr.link.quality import calibration_error
from pbr.registry.covariates import baseline_label, level_label
from pbr.registry.published import PUBLISHED_COHORT, PUBLISHED_RAW_RATES, PUBLISHED_UNADJUSTED_OR
from pbr.report.cells import (
    GROUPS,
    PERIODS,
    data_cell,
    format_number,
    header_cell,
    isnan,
    label,
    simple_head,
    table,
    unadjusted_odds_ratio,
)
from pbr.report.disclosure import DERIVED, Count, Disclosure, Joined, Lazy, Rate
from pbr.report.figures import linkage_quality_figure, match_weight_figure
from pbr.report.inputs import ReportInputs

SPINE_TABLES = ("ndtms_episodes", "journeys")
TABLE_LABELS = {
    "ndtms_episodes": "NDTMS episodes",
    "journeys": "treatment journeys",
    "areas": "areas",
    "ndtms_top": "NDTMS TOP records",
    "ons_deaths": "ONS deaths",
    "pnc_offences": "PNC offences",
}


def journey_lookup(flow: pd.DataFrame) -> dict[tuple, int]:
    """Analysed journeys per (cohort, group, period), from the derive stage's kept rows."""
    if flow.empty:
        return {}
    k = flow[(flow["table"] == "journeys") & (flow["action"] == "kept") & flow["cohort"].notna()]
    return {
        (r.cohort, r.group, r.period): int(r.n)
        for r in k.itertuples()
        if not isnan(r.group) and not isnan(r.period)
    }


def _cell_key(journeys: dict[tuple, int], c: str, g: str, p: str, value: int, fallback: tuple) -> tuple:
    """The shared journeys key when a count equals the analysed journeys of that cell (one quantity, one key)."""
    return ("journeys", c, g, p) if journeys.get((c, g, p)) == int(value) else fallback


def flow_section(flow: pd.DataFrame, disc: Disclosure, cohort_order: Sequence[str] = ()) -> dict:
    """CONSORT-style diagram (spine of NDTMS episodes -> journeys, side chains of other extracts) and the table."""
    flow = flow.reset_index(drop=True)
    keys: list[Hashable] = [("flow_row", i) for i in range(len(flow))]
    last_kept: dict[str, Hashable] = {}
    steps = [
        _flow_step(flow, stage, table_name, keys, last_kept, disc)
        for stage, table_name in dict.fromkeys(zip(flow["stage"], flow["table"], strict=True))
    ]
    order = {c: i for i, c in enumerate(cohort_order)}
    for s in steps:
        s["cohorts"].sort(key=lambda c: (order.get(c["cohort"], len(order)), c["cohort"]))
        s["flags"] = [(reason, n) for reason, n in s["flags"] if n.value != 0]  # zeros: in the table only
    spine = [s for s in steps if s["table"] in SPINE_TABLES]
    side: dict[str, list[dict]] = {}
    for s in steps:
        if s["table"] not in SPINE_TABLES:
            side.setdefault(s["table"], []).append(s)
    return {"spine": spine, "side": side, "table": _flow_table(flow, keys, disc), "rows": flow, "keys": keys}


def _flow_step(
    flow: pd.DataFrame,
    stage: str,
    table_name: str,
    keys: list[Hashable],
    last_kept: dict[str, Hashable],
    disc: Disclosure,
) -> dict:
    """One box of the diagram: a stage's kept, dropped and flagged rows of one table, registered.

    ``keys`` (the disclosure key of each flow row) and ``last_kept`` (each table's last kept
    count, to which the next step of the same table chains) are updated in place.
    """
    step_rows = flow[(flow["stage"] == stage) & (flow["table"] == table_name)]
    unit = str(step_rows["unit"].iloc[0])
    kept, dropped, flagged = (step_rows[step_rows["action"] == a] for a in ("kept", "dropped", "flagged"))
    kept_key = ("flow_kept", stage, table_name)
    kept_total = int(kept["n"].sum())
    cohorts = _register_kept(flow, kept, kept_key, table_name, keys, disc)
    drops = _register_drops(flow, dropped, stage, table_name, keys, disc)
    flags = []
    for i, r in flagged.iterrows():
        flags.append((disc.redact(r["reason"]), disc.count(keys[i], r["n"])))
    chained = table_name in last_kept
    incoming = drop_total = None
    if drops:
        drop_total = _drop_total(drops, ("flow_drop_total", stage, table_name), disc)
        into = kept_total + drop_total.value
        if chained and disc.values[last_kept[table_name]] == into:
            incoming = Count(disc, last_kept[table_name])
        else:
            chained = False
            incoming = disc.count(("flow_in", stage, table_name), into)
        disc.relate(incoming.key, [kept_key, drop_total.key] if not kept.empty else [drop_total.key])
    if not kept.empty:
        last_kept[table_name] = kept_key
    kept_reason = disc.redact("; ".join(dict.fromkeys(kept["reason"].astype(str)))) if not kept.empty else ""
    return {
        "stage": stage,
        "table": table_name,
        "table_label": TABLE_LABELS.get(table_name, table_name.replace("_", " ")),
        "unit": unit,
        "kept": Count(disc, kept_key) if not kept.empty else None,
        "kept_reason": kept_reason if table_name != "journeys" else "journeys in a study cohort",
        "drops": drops,
        "drop_total": drop_total,
        "flags": flags,
        "incoming": incoming,
        "chained": chained,
        "cohorts": cohorts,
    }


def _register_kept(
    flow: pd.DataFrame,
    kept: pd.DataFrame,
    kept_key: tuple,
    table_name: str,
    keys: list[Hashable],
    disc: Disclosure,
) -> list[dict]:
    """Register a step's kept rows and their total (``kept_key``) as the sum of its parts.

    Journeys kept in a study cohort are registered by cell (the shared journeys keys) and by
    cohort; the cohorts (total and cells) are returned, [] for any other step.
    """
    kept_total = int(kept["n"].sum())
    cohorts = []
    if table_name == "journeys" and kept["cohort"].notna().any():
        cohort_keys = []
        for cohort, cohort_rows in kept.groupby("cohort", sort=False):
            cells = {}
            for i, r in cohort_rows.iterrows():
                keys[i] = ("journeys", r["cohort"], r["group"], r["period"])
                cells[(r["group"], r["period"])] = disc.count(keys[i], r["n"])
            cohort_key = ("cohort_total", cohort)
            total = disc.count(cohort_key, int(cohort_rows["n"].sum()))
            disc.relate(cohort_key, [keys[i] for i in cohort_rows.index])
            cohort_keys.append(cohort_key)
            cohorts.append({"cohort": cohort, "total": total, "cells": cells})
        for i in kept.index[kept["cohort"].isna()]:  # kept rows without a cohort, if any
            disc.count(keys[i], flow.at[i, "n"])
            cohort_keys.append(keys[i])
        disc.count(kept_key, kept_total)
        disc.relate(kept_key, cohort_keys)
    elif len(kept) == 1:
        keys[kept.index[0]] = kept_key
        disc.count(kept_key, kept_total)
    elif len(kept) > 1:
        for i in kept.index:
            disc.count(keys[i], flow.at[i, "n"])
        disc.count(kept_key, kept_total)
        disc.relate(kept_key, [keys[i] for i in kept.index])
    return cohorts


def _register_drops(
    flow: pd.DataFrame,
    dropped: pd.DataFrame,
    stage: str,
    table_name: str,
    keys: list[Hashable],
    disc: Disclosure,
) -> list[tuple[str, Count]]:
    """A step's drops, one (reason, count) per reason; a reason on several rows is their sum."""
    drops = []
    for reason, reason_rows in dropped.groupby("reason", sort=False):
        drop_key = ("flow_drop", stage, table_name, reason)
        if len(reason_rows) == 1:
            keys[reason_rows.index[0]] = drop_key
            drops.append((disc.redact(reason), disc.count(drop_key, int(reason_rows["n"].iloc[0]))))
        else:
            for i in reason_rows.index:
                disc.count(keys[i], flow.at[i, "n"])
            drops.append((disc.redact(reason), disc.count(drop_key, int(reason_rows["n"].sum()))))
            disc.relate(drop_key, [keys[i] for i in reason_rows.index])
    return drops


def _drop_total(drops: list[tuple[str, Count]], total_key: tuple, disc: Disclosure) -> Count:
    """The count of every drop of a step: the one drop, or their sum registered as ``total_key``."""
    if len(drops) == 1:
        return drops[0][1]
    drop_total = disc.count(total_key, sum(count.value for _, count in drops))
    disc.relate(total_key, [count.key for _, count in drops])
    return drop_total


def _flow_table(flow: pd.DataFrame, keys: list[Hashable], disc: Disclosure) -> dict:
    """The flow table view: every flow row with its count (registered under ``keys``)."""
    rows = []
    for i, r in flow.iterrows():
        rows.append(
            [
                data_cell(disc.redact(r["stage"])),
                data_cell(disc.redact(r["step"])),
                data_cell(r["table"]),
                data_cell(r["action"]),
                header_cell(disc.redact(r["reason"]), scope="row"),
                data_cell("" if isnan(r["cohort"]) else r["cohort"]),
                data_cell("" if isnan(r["group"]) else r["group"]),
                data_cell("" if isnan(r["period"]) else r["period"]),
                data_cell(
                    Joined([Count(disc, keys[i]) if keys[i] in disc.values else disc.count(keys[i], r["n"])]),
                    cls="num count",
                ),
                data_cell(r["unit"]),
            ]
        )
    return table(
        "Flow table: every record kept, dropped or flagged at every stage, with its reason",
        simple_head(
            "Stage", "Step", "Table", "Action", "Reason", "Cohort", "Group", "Period", "Count", "Unit"
        ),
        rows,
        tid="tbl-flow",
    )


def rates_section(
    rates: pd.DataFrame, cohorts: list[str], outcomes: list[str], journeys: dict, disc: Disclosure
) -> dict:
    """2x2 rate tables per cohort (rate, events / journeys) with the unadjusted DiD OR and the published rates."""
    tables, compare = [], []
    cells_by = {}
    for c in cohorts:
        body = []
        for o in outcomes:
            sub = rates[(rates["cohort"] == c) & (rates["outcome"] == o)]
            if sub.empty:
                continue
            row = [header_cell(label(o), scope="row")]
            cell_rates = {}
            for g in GROUPS:
                for p in PERIODS:
                    s = sub[(sub["group"] == g) & (sub["period"] == p)]
                    if s.empty:
                        row.append(data_cell("", cls="num"))
                        continue
                    n, n_events = int(s["n"].iloc[0]), int(s["events"].iloc[0])
                    n_key = _cell_key(journeys, c, g, p, n, ("denominator", c, o, g, p))
                    events, denominator, rate = disc.rate(("events", c, o, g, p), n_events, n_key, n)
                    cell_rates[(g, p)] = rate
                    cells_by[(c, o, g, p)] = (events, denominator, rate)
                    row.append(
                        data_cell(Joined([rate, " (", events, " / ", denominator, ")"]), cls="num count-cell")
                    )
            unadj = _unadjusted_or(cell_rates)
            row.append(data_cell(unadj, cls="num"))
            pub = PUBLISHED_RAW_RATES.get(o) if c == PUBLISHED_COHORT else None
            if pub:
                row.append(
                    data_cell(
                        f"pilot {100 * pub[('pilot', 'pre')]:.0f}% → {100 * pub[('pilot', 'post')]:.0f}%; "
                        f"other {100 * pub[('other', 'pre')]:.0f}% → {100 * pub[('other', 'post')]:.0f}%"
                    )
                )
                row.append(data_cell(format_number(PUBLISHED_UNADJUSTED_OR.get(o), 3), cls="num"))
                compare.append(
                    {"cohort": c, "outcome": o, "rates": cell_rates, "published": pub, "unadjusted": unadj}
                )
            else:
                row += [data_cell(""), data_cell("")]
            body.append(row)
        if not body:
            continue
        head = [
            [header_cell("Outcome", rowspan=2)]
            + [header_cell(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS]
            + [
                header_cell("Unadjusted DiD OR", rowspan=2),
                header_cell("Published raw rates", rowspan=2),
                header_cell("Published unadjusted OR", rowspan=2),
            ],
            [header_cell(p) for _ in GROUPS for p in PERIODS],
        ]
        tables.append(
            table(
                f"{c.capitalize()} cohort: outcome rates by group and period, rate (events / journeys in the "
                "denominator)",
                head,
                body,
                tid=f"tbl-rates-{c}",
            )
        )
    return {"tables": tables, "compare": compare, "cells": cells_by}


def _unadjusted_or(cell_rates: dict) -> Lazy:
    """odds(pilot post)/odds(pilot pre) over odds(other post)/odds(other pre); '' when undefined."""
    return Lazy(lambda: _unadjusted_or_text(cell_rates))


def _unadjusted_or_text(cell_rates: dict) -> str:
    if len(cell_rates) < 4:
        return ""
    if any(r.hidden for r in cell_rates.values()):
        return DERIVED
    val = unadjusted_odds_ratio(cell_rates)
    return "" if val is None else format_number(val, 3)


def _level_key(level: str) -> tuple:
    special = level in ("unknown", "no_top", "missing")
    m = re.match(r"^(\d+)", level)
    return (special, float(m.group(1)) if m else math.inf, level)


def smd_proportion(p1: float, p2: float) -> float:
    """Standardised mean difference of two proportions: (p1 - p2) / sqrt((p1(1-p1) + p2(1-p2)) / 2);
    0 when both are 0 or both 1, NaN when either is missing."""
    if isnan(p1) or isnan(p2):
        return float("nan")
    var = (p1 * (1 - p1) + p2 * (1 - p2)) / 2
    return 0.0 if var == 0 else (p1 - p2) / math.sqrt(var)


def smd_continuous(m1: float, s1: float, m2: float, s2: float) -> float:
    """Standardised mean difference of a continuous variable: (m1 - m2) / sqrt((s1² + s2²) / 2)
    (the pooled standard deviation of the two groups); NaN when undefined."""
    if any(isnan(x) for x in (m1, s1, m2, s2)):
        return float("nan")
    pooled = math.sqrt((s1**2 + s2**2) / 2)
    return float("nan") if pooled == 0 else (m1 - m2) / pooled


def _smd_cell(disc: Disclosure, pilot: tuple, other: tuple) -> Lazy:
    """The SMD of one level, pilot vs other, shown once the registry is resolved: ``[s]`` (as a
    percentage is) when any of the four counts it is computed from is suppressed. ``pilot`` and
    ``other``: (count key, total key)."""
    keys = [*pilot, *other]

    def text() -> str:
        if any(disc.suppressed(k) for k in keys):
            return DERIVED
        v = disc.values
        p1 = v[pilot[0]] / v[pilot[1]] if v[pilot[1]] else float("nan")
        p2 = v[other[0]] / v[other[1]] if v[other[1]] else float("nan")
        smd = smd_proportion(p1, p2)
        return "" if isnan(smd) else f"{0.0 if abs(smd) < 0.005 else smd:.2f}".replace("-", "−")

    return Lazy(text)


def baseline_section(
    baseline: pd.DataFrame, cohorts: list[str], journeys: dict, disc: Disclosure
) -> list[dict]:
    """Table 1: baseline characteristics by group x period, n (%), per cohort, with the
    standardised mean difference (SMD) of each level's proportion, pilot vs other, in the pre
    and in the post period (:func:`smd_proportion`). Variables and levels in words
    (:mod:`pbr.registry.covariates`); every count is registered, and an SMD
    computed from a suppressed count is suppressed too."""
    out: list[dict] = []
    if baseline.empty:
        return out
    for c in cohorts:
        b = baseline[baseline["cohort"] == c]
        if b.empty:
            continue
        totals = {}
        for (g, p), s in b.groupby(["group", "period"]):
            total = int(s["total"].iloc[0])
            totals[(g, p)] = disc.count(
                _cell_key(journeys, c, g, p, total, ("baseline_total", c, g, p)), total
            )
        body = [
            [header_cell("Journeys", scope="row", colspan=2)]
            + [data_cell(totals.get((g, p), ""), cls="num count") for g in GROUPS for p in PERIODS]
            + [data_cell("", cls="num") for _ in PERIODS]
        ]
        for var in dict.fromkeys(b["variable"]):
            body += _baseline_rows(b[b["variable"] == var], c, var, totals, disc)
        head = [
            [header_cell("Characteristic", rowspan=2), header_cell("Level", rowspan=2)]
            + [header_cell(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS]
            + [header_cell("SMD, pilot vs other", scope="colgroup", colspan=2)],
            [header_cell(p) for _ in GROUPS for p in PERIODS] + [header_cell(p) for p in PERIODS],
        ]
        t = table(
            f"{c.capitalize()} cohort: baseline characteristics at journey start, n (%), and the "
            "standardised mean difference (SMD) of pilot vs other areas in each period",
            head,
            body,
            tid=f"tbl-baseline-{c}",
        )
        t["note"] = (
            "SMD: the difference in the share of journeys at that level, pilot minus other, over the "
            "pooled standard deviation, (p1 − p2) / √((p1(1 − p1) + p2(1 − p2)) / 2); an absolute SMD "
            f"above 0.1 is a common sign of imbalance. {DERIVED}: computed from a suppressed count."
        )
        out.append(t)
    return out


def _baseline_rows(v: pd.DataFrame, c: str, var: str, totals: dict, disc: Disclosure) -> list[list]:
    """Table 1's rows of one variable: a row per level, its counts registered, the SMDs beside."""
    levels = sorted(dict.fromkeys(v["level"].astype(str)), key=_level_key)
    parts_by_cell: dict[tuple, list] = {}
    rows = []
    for i, level in enumerate(levels):
        row = [header_cell(baseline_label(var), scope="rowgroup", rowspan=len(levels))] if i == 0 else []
        row.append(header_cell(level_label(var, level), scope="row"))
        keys = {}
        for g in GROUPS:
            for p in PERIODS:
                s = v[(v["group"] == g) & (v["period"] == p) & (v["level"].astype(str) == level)]
                if (g, p) not in totals:
                    row.append(data_cell("", cls="num"))
                    continue
                n = int(s["n"].iloc[0]) if not s.empty else 0
                key = keys[(g, p)] = ("baseline", c, g, p, var, level)
                count = disc.count(key, n)
                parts_by_cell.setdefault((g, p), []).append(key)
                percent = Rate(
                    disc,
                    (key, totals[(g, p)].key),
                    n / totals[(g, p)].value if totals[(g, p)].value else float("nan"),
                )
                row.append(data_cell(Joined([count, " (", percent, ")"]), cls="num count-cell"))
        for p in PERIODS:
            if ("pilot", p) in keys and ("other", p) in keys:
                pilot = (keys[("pilot", p)], totals[("pilot", p)].key)
                other = (keys[("other", p)], totals[("other", p)].key)
                row.append(data_cell(_smd_cell(disc, pilot, other), cls="num smd"))
            else:
                row.append(data_cell("", cls="num smd"))
        rows.append(row)
    for (g, p), part_keys in parts_by_cell.items():
        disc.relate(totals[(g, p)].key, part_keys)
    return rows


def linkage_section(inputs: ReportInputs, config: dict, journeys: dict, disc: Disclosure, real: bool) -> dict:
    """The linkage section: match rates by register and cell, the registration delay of the linked
    deaths (:func:`registration_lag_section`) and, against the synthetic truth (not with real data),
    linkage quality at the chosen threshold, across thresholds and by scope."""
    threshold = float(config["linkage"]["threshold"])
    match_table = _match_rate_table(inputs.match_rates, threshold, journeys, disc)
    quality = inputs.quality
    quality_table = threshold_table = scope_table = calibration_table = None
    if not quality.empty and not real:
        quality_table = _quality_table(quality, threshold)
        threshold_table = _threshold_table(quality, threshold)
        scope_table = _scope_table(quality, threshold)
    if not inputs.calibration.empty and not real:
        calibration_table = _calibration_table(
            inputs.calibration, float(config["linkage"]["min_probability"])
        )
    return {
        "match_table": match_table,
        "indicator_table": _indicator_table(inputs.link_indicators, threshold, journeys, disc),
        "bounds_table": _bounds_table(inputs.link_bounds),
        "registration_table": registration_lag_section(inputs.registration_lag, config, disc),
        "calibration_table": calibration_table,
        "quality_table": quality_table,
        "threshold_table": threshold_table,
        "scope_table": scope_table,
        "quality_fig": None if real else linkage_quality_figure(quality, threshold),
        "weights_fig": match_weight_figure(inputs.pairs, threshold, disc),
        "threshold": threshold,
    }


def _match_rate_table(
    match_rates: pd.DataFrame, threshold: float, journeys: dict, disc: Disclosure
) -> dict | None:
    """Study journeys linked to each register, rate (linked / journeys) per group and period; None without rates."""
    if match_rates.empty:
        return None
    body = []
    for (register, c), sub in match_rates.groupby(["register", "cohort"], sort=True):
        row = [header_cell(register, scope="row"), data_cell(c)]
        for g in GROUPS:
            for p in PERIODS:
                cell = sub[(sub["group"] == g) & (sub["period"] == p)]
                if cell.empty:
                    row.append(data_cell("", cls="num"))
                    continue
                n, linked = int(cell["journeys"].iloc[0]), int(cell["linked"].iloc[0])
                journeys_key = _cell_key(journeys, c, g, p, n, ("link_journeys", c, g, p))
                events, denominator, rate = disc.rate(("linked", register, c, g, p), linked, journeys_key, n)
                row.append(
                    data_cell(Joined([rate, " (", events, " / ", denominator, ")"]), cls="num count-cell")
                )
        body.append(row)
    head = [
        [header_cell("Register", rowspan=2), header_cell("Cohort", rowspan=2)]
        + [header_cell(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS],
        [header_cell(p) for _ in GROUPS for p in PERIODS],
    ]
    return table(
        f"Study journeys whose person links to each register at p ≥ {threshold:g}: rate (linked / journeys)",
        head,
        body,
        tid="tbl-match-rates",
    )


#: the columns of the linkage indicator table
INDICATOR_HEADS = (
    "Register", "Cohort", "Group", "Period", "Linked journeys, rate (linked / journeys)",
    "Grey-zone share of links", "Expected false links", "Expected missed links", "Implied rate",
)  # fmt: skip


def _indicator_table(
    indicators: pd.DataFrame, threshold: float, journeys: dict, disc: Disclosure
) -> dict | None:
    """The linkage quality a real-data user can see, per register x cohort x group x period: links
    (rate), the grey-zone share of links, the expected false and missed links, and the rate the
    probabilities imply; None without the table. Expected counts are sums of probabilities, shown
    only where the link count is."""
    if indicators.empty:
        return None
    body = []
    for r in indicators.sort_values(["register", "cohort", "group", "period"]).itertuples():
        c, g, p = r.cohort, r.group, r.period
        journeys_key = _cell_key(journeys, c, g, p, int(r.journeys), ("link_journeys", c, g, p))
        linked_key = ("linked", r.register, c, g, p)
        events, denominator, rate = disc.rate(linked_key, int(r.linked), journeys_key, int(r.journeys))
        grey_key = ("grey", r.register, c, g, p)
        disc.count(grey_key, int(r.grey), shown=False)
        grey = Rate(disc, (grey_key, linked_key), r.grey / r.linked if r.linked else float("nan"))
        implied = Rate(disc, (linked_key, journeys_key), float(r.implied_rate))

        def expected(value: float, key: Hashable = linked_key) -> Lazy:
            return Lazy(lambda: DERIVED if disc.suppressed(key) else f"{value:,.1f}")

        body.append(
            [
                header_cell(r.register, scope="row"),
                data_cell(c),
                data_cell(g),
                data_cell(p),
                data_cell(Joined([rate, " (", events, " / ", denominator, ")"]), cls="num count-cell"),
                data_cell(grey, cls="num"),
                data_cell(expected(float(r.expected_false)), cls="num"),
                data_cell(expected(float(r.expected_missed)), cls="num"),
                data_cell(implied, cls="num"),
            ]
        )
    lo, hi = GREY_ZONE
    return table(
        f"Linkage quality without the truth, from the match probabilities (links at p ≥ {threshold:g}): "
        f"the grey-zone share of links ({lo:g} ≤ p < {hi:g}), the expected false links (the sum of 1 − p "
        "over the links), the expected missed links (the sum of p over the candidate pairs left out) and "
        "the link rate they imply ((links − expected false + expected missed) / journeys)",
        simple_head(*INDICATOR_HEADS),
        body,
        tid="tbl-linkage-indicators",
        note="The expected counts assume the match probabilities are calibrated (on synthetic data, the "
        "calibration table measures it).",
    )


def _bounds_table(cells: pd.DataFrame) -> dict | None:
    """Per cohort x death/crime outcome: the unadjusted DiD odds ratio, its range when each cell's
    events are corrected by their expected false or missed events, and the tipping point
    (:func:`pbr.fit.link_bounds.bounds_row`); None without the cells. No counts are shown."""
    if cells.empty:
        return None
    body = []
    for (c, o), sub in cells.groupby(["cohort", "outcome"], sort=True):
        b = bounds_row(sub)
        tip = b["tipping_change"]
        body.append(
            [
                data_cell(c),
                header_cell(label(o), scope="row"),
                data_cell(format_number(b["odds_ratio"], 3), cls="num"),
                data_cell(f"{format_number(b['low'], 3)}–{format_number(b['high'], 3)}", cls="num"),
                data_cell(
                    "" if isnan(tip) else f"{abs(tip):.0%} {'fewer' if tip < 0 else 'more'} events", cls="num"
                ),
            ]
        )
    return table(
        "Linkage error bounds: the unadjusted DiD odds ratio of each death and crime outcome, its range when "
        "each group x period cell's events are corrected by the expected false events (less) or the expected "
        "missed events (more), and the tipping point: the change of the pilot-post cell's events that would "
        "move the odds ratio to 1 (a recall that much lower or higher there than in the other cells)",
        simple_head("Cohort", "Outcome", "Unadjusted DiD OR", "Range from linkage error", "Tipping point"),
        body,
        tid="tbl-linkage-bounds",
        note="Unadjusted (the four cells' odds, no covariates): a guide to how far linkage error alone could "
        "move the estimate, not an interval. Expected errors assume calibrated match probabilities.",
    )


#: The kinds of deaths of the registration-delay table (:mod:`pbr.derive.registration`), in words.
REGISTRATION_KINDS = {"linked": "linked deaths", "drug_poisoning": "drug poisonings"}


def registration_lag_section(lags: pd.DataFrame, config: dict, disc: Disclosure) -> dict | None:
    """The delay from death to registration of the linked deaths in a study journey's outcome window,
    and of the drug poisonings among them, by group x period (results/link/registration_lag.parquet,
    :func:`pbr.derive.registration.registration_lag_table`): deaths, median and 90th percentile
    delay, the share (count) registered more than 6 and 12 months after the death; the note gives
    the extract's latest registration against the end of the last outcome window. Every count is a
    disclosure cell; a cell's median, percentile and shares are hidden with its count. None without
    the table."""
    if lags.empty:
        return None
    body = []
    for kind, words in REGISTRATION_KINDS.items():
        for r in lags[lags["deaths"] == kind].itertuples():
            body.append([header_cell(words, scope="row"), data_cell(r.group), data_cell(r.period)])
            body[-1] += _registration_cells(r, kind, disc)
        # the deaths that are not drug poisonings are a hidden part of the linked deaths of each cell
    for r in lags[lags["deaths"] == "linked"].itertuples():
        key, poison = ("reglag", "linked", r.group, r.period), ("reglag", "drug_poisoning", r.group, r.period)
        if poison in disc.values:
            other = ("reglag", "other_causes", r.group, r.period)
            disc.count(other, disc.values[key] - disc.values[poison], shown=False)
            disc.relate(key, [poison, other])
    return table(
        "Delay from death to registration of the linked deaths (p ≥ "
        f"{float(config['linkage']['threshold']):g}) dated in a study journey's death-outcome window, "
        "by the group and period of that journey",
        simple_head(
            "Deaths",
            "Group",
            "Period",
            "Deaths",
            "Median delay (days)",
            "90th percentile (days)",
            "Registered > 6 months after: % (n)",
            "> 12 months: % (n)",
        ),
        body,
        tid="tbl-registration-lag",
        note=_registration_note(lags, config),
    )


def _registration_cells(r, kind: str, disc: Disclosure) -> list[dict]:
    """One group x period's deaths, delay quantiles and late shares, through the disclosure registry."""
    key = ("reglag", kind, r.group, r.period)
    n = disc.count(key, int(r.n))
    cells = [data_cell(n, cls="num count-cell")]
    for value in (r.median_days, r.p90_days):
        cells.append(
            data_cell(Lazy(lambda v=value, c=n: DERIVED if c.hidden else format_number(v, 0)), cls="num")
        )
    for months in (6, 12):
        late, _, share = disc.rate(
            ("reglag", f"over_{months}", kind, r.group, r.period),
            int(getattr(r, f"n_over_{months}_months")),
            key,
            int(r.n),
        )
        cells.append(data_cell(Joined([share, " (", late, ")"]), cls="num count-cell"))
    return cells


def _registration_note(lags: pd.DataFrame, config: dict) -> str:
    """The extract's latest registration date against the end of the last outcome window."""
    whole = lags[lags["deaths"] == "extract"]
    if whole.empty or pd.isna(whole["latest_registration"].iloc[0]):
        return ""
    r = whole.iloc[0]
    window = int(config["outcomes"]["drug_related_death"]["window_days"])
    end = pd.Timestamp(config["study"]["post_end"]) + pd.Timedelta(days=window)
    days = int(r["days_after_last_window"])
    where = f"{days:,} days after" if days >= 0 else f"{-days:,} days before"
    lag = config["outcomes"]["drug_related_death"].get("registered_within_days")
    return (
        f"The extract's latest registration is {pd.Timestamp(r['latest_registration']):%Y-%m-%d}, {where} the end "
        f"of the last outcome window ({end:%Y-%m-%d}: study.post_end plus {window} days). A death late in "
        "that window and registered after the extract was taken is missing from the outcome"
        + (
            f"; the late-registration sensitivity (robustness table) counts only deaths registered within "
            f"{lag} days of the death."
            if lag is not None
            else "."
        )
    )


def _at_threshold(quality: pd.DataFrame, threshold: float) -> pd.Series:
    """The quality rows of the exact-key match and of the probabilistic one at ``threshold``."""
    return (quality["method"] == "exact_key") | np.isclose(
        quality["threshold"].astype(float).fillna(-1), threshold
    )


def _quality_table(quality: pd.DataFrame, threshold: float) -> dict:
    """Linkage quality (all persons) at the chosen threshold, beside the exact-key match."""
    overall = quality[quality["scope"] == "all"]
    body = []
    for r in (
        overall[_at_threshold(overall, threshold)]
        .sort_values(["register", "method"], ascending=[True, False])
        .itertuples()
    ):
        body.append(
            [
                header_cell(r.register, scope="row"),
                data_cell(
                    f"probabilistic, p ≥ {threshold:g}" if r.method == "probabilistic" else "exact key"
                ),
                data_cell(f"{r.n_predicted:,}", cls="num"),
                data_cell(f"{r.n_true:,}", cls="num"),
                data_cell(f"{r.n_correct:,}", cls="num"),
                data_cell(format_number(r.precision), cls="num"),
                data_cell(format_number(r.recall), cls="num"),
                data_cell(format_number(r.f1), cls="num"),
            ]
        )
    return table(
        f"Linkage quality against the synthetic truth at the chosen threshold ({threshold:g}), "
        "beside the exact-key match",
        simple_head("Register", "Method", "Links", "True pairs", "Correct", "Precision", "Recall", "F1"),
        body,
        tid="tbl-linkage-quality",
    )


def _threshold_table(quality: pd.DataFrame, threshold: float) -> dict:
    """Probabilistic linkage quality (all persons) at every threshold assessed."""
    overall = quality[quality["scope"] == "all"]
    body = []
    for r in (
        overall[overall["method"] == "probabilistic"].sort_values(["register", "threshold"]).itertuples()
    ):
        chosen = bool(np.isclose(r.threshold, threshold))
        body.append(
            [
                header_cell(r.register, scope="row"),
                data_cell(f"{r.threshold:g}" + (" (chosen)" if chosen else ""), cls="num"),
                data_cell(f"{r.n_predicted:,}", cls="num"),
                data_cell(format_number(r.precision), cls="num"),
                data_cell(format_number(r.recall), cls="num"),
                data_cell(format_number(r.f1), cls="num"),
            ]
        )
    return table(
        "Linkage quality across thresholds (probabilistic)",
        simple_head("Register", "Threshold", "Links", "Precision", "Recall", "F1"),
        body,
        tid="tbl-linkage-thresholds",
    )


#: The expected calibration error the match probabilities should stay within (issue #21).
ECE_TARGET = 0.02


def _calibration_table(calibration: pd.DataFrame, min_probability: float) -> dict:
    """Per register: the expected calibration error of the match probabilities against the
    synthetic truth, overall and its range over the cohort / group / period cells, the largest
    gap of a probability bin, and whether the target holds."""
    errors = calibration_error(calibration)
    body = []
    for register, e in errors.groupby("register", sort=True):
        overall = e[e["scope"] == "all"].iloc[0]
        cells = e[e["scope"] != "all"]["ece"]
        body.append(
            [
                header_cell(register, scope="row"),
                data_cell(format_number(overall["ece"], 3), cls="num"),
                data_cell(
                    f"{format_number(cells.min(), 3)}–{format_number(cells.max(), 3)}" if len(cells) else "",
                    cls="num",
                ),
                data_cell(format_number(overall["max_gap"], 3), cls="num"),
                data_cell("met" if overall["ece"] <= ECE_TARGET else "not met"),
            ]
        )
    return table(
        f"Calibration of the match probabilities against the synthetic truth: the expected calibration "
        f"error (the pair-weighted mean gap between the mean probability and the share truly matched, "
        f"over tenths of the probability) of every candidate pair scored at p ≥ {min_probability:g}",
        simple_head(
            "Register",
            "Expected calibration error",
            "Range over cohort / group / period",
            "Largest gap of a tenth",
            f"Target ≤ {ECE_TARGET:g}",
        ),
        body,
        tid="tbl-linkage-calibration",
    )


def _scope_table(quality: pd.DataFrame, threshold: float) -> dict | None:
    """Linkage quality at the chosen threshold by cohort / group / period; None when not assessed by scope."""
    scoped = quality[(quality["scope"] != "all") & _at_threshold(quality, threshold)]
    if scoped.empty:
        return None
    body = []
    for r in scoped.sort_values(["register", "scope", "method"], ascending=[True, True, False]).itertuples():
        body.append(
            [
                header_cell(r.register, scope="row"),
                data_cell(r.scope),
                data_cell("probabilistic" if r.method == "probabilistic" else "exact key"),
                data_cell(format_number(r.precision), cls="num"),
                data_cell(format_number(r.recall), cls="num"),
                data_cell(format_number(r.f1), cls="num"),
            ]
        )
    return table(
        f"Linkage quality by cohort / group / period of the person's first study journey (threshold {threshold:g})",
        simple_head("Register", "Cohort / group / period", "Method", "Precision", "Recall", "F1"),
        body,
        tid="tbl-linkage-scope",
    )
