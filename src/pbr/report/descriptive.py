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

from pbr.report.cells import GROUPS, PERIODS, fnum, isnan, label, simple_head, table, td, th
from pbr.report.disclosure import DERIVED, Count, Disclosure, Joined, Lazy, Rate
from pbr.report.figures import linkage_quality_figure, match_weight_figure
from pbr.report.inputs import ReportInputs
from pbr.report.published import PUBLISHED_COHORT, PUBLISHED_RAW_RATES, PUBLISHED_UNADJUSTED_OR

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
    steps = []
    for stage, tab in dict.fromkeys(zip(flow["stage"], flow["table"], strict=True)):
        g = flow[(flow["stage"] == stage) & (flow["table"] == tab)]
        unit = str(g["unit"].iloc[0])
        kept, dropped, flagged = (g[g["action"] == a] for a in ("kept", "dropped", "flagged"))
        kept_key = ("flow_kept", stage, tab)
        kept_total = int(kept["n"].sum())
        cohorts = []
        if tab == "journeys" and kept["cohort"].notna().any():
            cohort_keys = []
            for c, cg in kept.groupby("cohort", sort=False):
                cells = {}
                for i, r in cg.iterrows():
                    keys[i] = ("journeys", r["cohort"], r["group"], r["period"])
                    cells[(r["group"], r["period"])] = disc.count(keys[i], r["n"])
                ck = ("cohort_total", c)
                total = disc.count(ck, int(cg["n"].sum()))
                disc.relate(ck, [keys[i] for i in cg.index])
                cohort_keys.append(ck)
                cohorts.append({"cohort": c, "total": total, "cells": cells})
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
        drops = []
        for reason, rg in dropped.groupby("reason", sort=False):
            rk = ("flow_drop", stage, tab, reason)
            if len(rg) == 1:
                keys[rg.index[0]] = rk
                drops.append((disc.redact(reason), disc.count(rk, int(rg["n"].iloc[0]))))
            else:
                for i in rg.index:
                    disc.count(keys[i], flow.at[i, "n"])
                drops.append((disc.redact(reason), disc.count(rk, int(rg["n"].sum()))))
                disc.relate(rk, [keys[i] for i in rg.index])
        flags = []
        for i, r in flagged.iterrows():
            flags.append((disc.redact(r["reason"]), disc.count(keys[i], r["n"])))
        chained = tab in last_kept
        incoming = drop_total = None
        if drops:
            if len(drops) == 1:
                drop_total = drops[0][1]
            else:
                dk = ("flow_drop_total", stage, tab)
                drop_total = disc.count(dk, sum(d[1].value for d in drops))
                disc.relate(dk, [d[1].key for d in drops])
            into = kept_total + drop_total.value
            if chained and disc.values[last_kept[tab]] == into:
                incoming = Count(disc, last_kept[tab])
            else:
                chained = False
                incoming = disc.count(("flow_in", stage, tab), into)
            disc.relate(incoming.key, [kept_key, drop_total.key] if not kept.empty else [drop_total.key])
        if not kept.empty:
            last_kept[tab] = kept_key
        kept_reason = (
            disc.redact("; ".join(dict.fromkeys(kept["reason"].astype(str)))) if not kept.empty else ""
        )
        steps.append(
            {
                "stage": stage,
                "table": tab,
                "table_label": TABLE_LABELS.get(tab, tab.replace("_", " ")),
                "unit": unit,
                "kept": Count(disc, kept_key) if not kept.empty else None,
                "kept_reason": kept_reason if tab != "journeys" else "journeys in a study cohort",
                "drops": drops,
                "drop_total": drop_total,
                "flags": flags,
                "incoming": incoming,
                "chained": chained,
                "cohorts": cohorts,
            }
        )
    order = {c: i for i, c in enumerate(cohort_order)}
    for s in steps:
        s["cohorts"].sort(key=lambda c: (order.get(c["cohort"], len(order)), c["cohort"]))
        s["flags"] = [(reason, n) for reason, n in s["flags"] if n.value != 0]  # zeros: in the table only
    spine = [s for s in steps if s["table"] in SPINE_TABLES]
    side: dict[str, list[dict]] = {}
    for s in steps:
        if s["table"] not in SPINE_TABLES:
            side.setdefault(s["table"], []).append(s)
    rows = []
    for i, r in flow.iterrows():
        rows.append(
            [
                td(disc.redact(r["stage"])),
                td(disc.redact(r["step"])),
                td(r["table"]),
                td(r["action"]),
                th(disc.redact(r["reason"]), scope="row"),
                td("" if isnan(r["cohort"]) else r["cohort"]),
                td("" if isnan(r["group"]) else r["group"]),
                td("" if isnan(r["period"]) else r["period"]),
                td(
                    Joined([Count(disc, keys[i]) if keys[i] in disc.values else disc.count(keys[i], r["n"])]),
                    cls="num count",
                ),
                td(r["unit"]),
            ]
        )
    tbl = table(
        "Flow table: every record kept, dropped or flagged at every stage, with its reason",
        simple_head(
            "Stage", "Step", "Table", "Action", "Reason", "Cohort", "Group", "Period", "Count", "Unit"
        ),
        rows,
        tid="tbl-flow",
    )
    return {"spine": spine, "side": side, "table": tbl, "rows": flow, "keys": keys}


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
            row = [th(label(o), scope="row")]
            rr = {}
            for g in GROUPS:
                for p in PERIODS:
                    s = sub[(sub["group"] == g) & (sub["period"] == p)]
                    if s.empty:
                        row.append(td("", cls="num"))
                        continue
                    n, ev = int(s["n"].iloc[0]), int(s["events"].iloc[0])
                    nk = _cell_key(journeys, c, g, p, n, ("denominator", c, o, g, p))
                    e, d, rate = disc.rate(("events", c, o, g, p), ev, nk, n)
                    rr[(g, p)] = rate
                    cells_by[(c, o, g, p)] = (e, d, rate)
                    row.append(td(Joined([rate, " (", e, " / ", d, ")"]), cls="num count-cell"))
            unadj = _unadjusted_or(rr)
            row.append(td(unadj, cls="num"))
            pub = PUBLISHED_RAW_RATES.get(o) if c == PUBLISHED_COHORT else None
            if pub:
                row.append(
                    td(
                        f"pilot {100 * pub[('pilot', 'pre')]:.0f}% → {100 * pub[('pilot', 'post')]:.0f}%; "
                        f"other {100 * pub[('other', 'pre')]:.0f}% → {100 * pub[('other', 'post')]:.0f}%"
                    )
                )
                row.append(td(fnum(PUBLISHED_UNADJUSTED_OR.get(o), 3), cls="num"))
                compare.append(
                    {"cohort": c, "outcome": o, "rates": rr, "published": pub, "unadjusted": unadj}
                )
            else:
                row += [td(""), td("")]
            body.append(row)
        if not body:
            continue
        head = [
            [th("Outcome", rowspan=2)]
            + [th(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS]
            + [
                th("Unadjusted DiD OR", rowspan=2),
                th("Published raw rates", rowspan=2),
                th("Published unadjusted OR", rowspan=2),
            ],
            [th(p) for _ in GROUPS for p in PERIODS],
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


def _unadjusted_or(rr: dict) -> Lazy:
    """odds(pilot post)/odds(pilot pre) over odds(other post)/odds(other pre); '' when undefined."""
    return Lazy(lambda: _unadjusted_or_text(rr))


def _unadjusted_or_text(rr: dict) -> str:
    if len(rr) < 4:
        return ""
    if any(r.hidden for r in rr.values()):
        return DERIVED
    v = {k: r.value for k, r in rr.items()}
    if any(not (0 < x < 1) for x in v.values()):
        return ""

    def odds(x):
        return x / (1 - x)

    val = (
        odds(v[("pilot", "post")])
        / odds(v[("pilot", "pre")])
        / (odds(v[("other", "post")]) / odds(v[("other", "pre")]))
    )
    return fnum(val, 3)


def _level_key(level: str) -> tuple:
    special = level in ("unknown", "no_top", "missing")
    m = re.match(r"^(\d+)", level)
    return (special, float(m.group(1)) if m else math.inf, level)


def baseline_section(
    baseline: pd.DataFrame, cohorts: list[str], journeys: dict, disc: Disclosure
) -> list[dict]:
    """Table 1: baseline characteristics by group x period, n (%), per cohort."""
    out: list[dict] = []
    if baseline.empty:
        return out
    for c in cohorts:
        b = baseline[baseline["cohort"] == c]
        if b.empty:
            continue
        totals = {}
        for (g, p), s in b.groupby(["group", "period"]):
            tot = int(s["total"].iloc[0])
            totals[(g, p)] = disc.count(_cell_key(journeys, c, g, p, tot, ("baseline_total", c, g, p)), tot)
        body = [
            [th("Journeys", scope="row", colspan=2)]
            + [td(totals.get((g, p), ""), cls="num count") for g in GROUPS for p in PERIODS]
        ]
        for var in dict.fromkeys(b["variable"]):
            v = b[b["variable"] == var]
            levels = sorted(dict.fromkeys(v["level"].astype(str)), key=_level_key)
            first = True
            parts_by_cell: dict[tuple, list] = {}
            for lev in levels:
                row = []
                if first:
                    row.append(th(var.replace("_", " "), scope="rowgroup", rowspan=len(levels)))
                    first = False
                row.append(th(lev.replace("_", " "), scope="row"))
                for g in GROUPS:
                    for p in PERIODS:
                        s = v[(v["group"] == g) & (v["period"] == p) & (v["level"].astype(str) == lev)]
                        if (g, p) not in totals:
                            row.append(td("", cls="num"))
                            continue
                        n = int(s["n"].iloc[0]) if not s.empty else 0
                        key = ("baseline", c, g, p, var, lev)
                        cnt = disc.count(key, n)
                        parts_by_cell.setdefault((g, p), []).append(key)
                        pct = Rate(
                            disc,
                            (key, totals[(g, p)].key),
                            n / totals[(g, p)].value if totals[(g, p)].value else float("nan"),
                        )
                        row.append(td(Joined([cnt, " (", pct, ")"]), cls="num count-cell"))
                body.append(row)
            for (g, p), ks in parts_by_cell.items():
                disc.relate(totals[(g, p)].key, ks)
        head = [
            [th("Characteristic", rowspan=2), th("Level", rowspan=2)]
            + [th(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS],
            [th(p) for _ in GROUPS for p in PERIODS],
        ]
        out.append(
            table(
                f"{c.capitalize()} cohort: baseline characteristics at journey start, n (%)",
                head,
                body,
                tid=f"tbl-baseline-{c}",
            )
        )
    return out


def linkage_section(inputs: ReportInputs, config: dict, journeys: dict, disc: Disclosure, real: bool) -> dict:
    thr = float(config["linkage"]["threshold"])
    mr = inputs.match_rates
    match_table = None
    if not mr.empty:
        body = []
        for (reg, c), sub in mr.groupby(["register", "cohort"], sort=True):
            row = [th(reg, scope="row"), td(c)]
            for g in GROUPS:
                for p in PERIODS:
                    s_ = sub[(sub["group"] == g) & (sub["period"] == p)]
                    if s_.empty:
                        row.append(td("", cls="num"))
                        continue
                    n, linked = int(s_["journeys"].iloc[0]), int(s_["linked"].iloc[0])
                    jk = _cell_key(journeys, c, g, p, n, ("link_journeys", c, g, p))
                    e, d, rate = disc.rate(("linked", reg, c, g, p), linked, jk, n)
                    row.append(td(Joined([rate, " (", e, " / ", d, ")"]), cls="num count-cell"))
            body.append(row)
        head = [
            [th("Register", rowspan=2), th("Cohort", rowspan=2)]
            + [th(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS],
            [th(p) for _ in GROUPS for p in PERIODS],
        ]
        match_table = table(
            f"Study journeys whose person links to each register at p ≥ {thr:g}: rate (linked / journeys)",
            head,
            body,
            tid="tbl-match-rates",
        )
    q = inputs.quality
    quality_table = threshold_table = scope_table = None
    if not q.empty and not real:
        qa = q[q["scope"] == "all"]
        at = qa[(qa["method"] == "exact_key") | np.isclose(qa["threshold"].astype(float).fillna(-1), thr)]
        body = []
        for r in at.sort_values(["register", "method"], ascending=[True, False]).itertuples():
            body.append(
                [
                    th(r.register, scope="row"),
                    td(f"probabilistic, p ≥ {thr:g}" if r.method == "probabilistic" else "exact key"),
                    td(f"{r.n_predicted:,}", cls="num"),
                    td(f"{r.n_true:,}", cls="num"),
                    td(f"{r.n_correct:,}", cls="num"),
                    td(fnum(r.precision), cls="num"),
                    td(fnum(r.recall), cls="num"),
                    td(fnum(r.f1), cls="num"),
                ]
            )
        quality_table = table(
            f"Linkage quality against the synthetic truth at the chosen threshold ({thr:g}), "
            "beside the exact-key match",
            simple_head("Register", "Method", "Links", "True pairs", "Correct", "Precision", "Recall", "F1"),
            body,
            tid="tbl-linkage-quality",
        )
        body = []
        for r in qa[qa["method"] == "probabilistic"].sort_values(["register", "threshold"]).itertuples():
            chosen = bool(np.isclose(r.threshold, thr))
            body.append(
                [
                    th(r.register, scope="row"),
                    td(f"{r.threshold:g}" + (" (chosen)" if chosen else ""), cls="num"),
                    td(f"{r.n_predicted:,}", cls="num"),
                    td(fnum(r.precision), cls="num"),
                    td(fnum(r.recall), cls="num"),
                    td(fnum(r.f1), cls="num"),
                ]
            )
        threshold_table = table(
            "Linkage quality across thresholds (probabilistic)",
            simple_head("Register", "Threshold", "Links", "Precision", "Recall", "F1"),
            body,
            tid="tbl-linkage-thresholds",
        )
        sc = q[
            (q["scope"] != "all")
            & ((q["method"] == "exact_key") | np.isclose(q["threshold"].astype(float).fillna(-1), thr))
        ]
        if not sc.empty:
            body = []
            for r in sc.sort_values(
                ["register", "scope", "method"], ascending=[True, True, False]
            ).itertuples():
                body.append(
                    [
                        th(r.register, scope="row"),
                        td(r.scope),
                        td("probabilistic" if r.method == "probabilistic" else "exact key"),
                        td(fnum(r.precision), cls="num"),
                        td(fnum(r.recall), cls="num"),
                        td(fnum(r.f1), cls="num"),
                    ]
                )
            scope_table = table(
                f"Linkage quality by cohort / group / period of the person's first study journey (threshold {thr:g})",
                simple_head("Register", "Cohort / group / period", "Method", "Precision", "Recall", "F1"),
                body,
                tid="tbl-linkage-scope",
            )
    return {
        "match_table": match_table,
        "quality_table": quality_table,
        "threshold_table": threshold_table,
        "scope_table": scope_table,
        "quality_fig": None if real else linkage_quality_figure(q, thr),
        "weights_fig": match_weight_figure(inputs.pairs, thr, disc),
        "threshold": thr,
    }
