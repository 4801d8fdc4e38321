"""Per-pilot evidence: each pilot area's DiD against all comparison areas, and the tests built on them.

The eight pilots adapted the scheme differently, and one of them (Kent) carries about 30% of
the identifying variation (issue 19), so the report shows, for each cohort x outcome that
has them: a forest plot of the per-pilot odds ratios (points: one treated area has no valid
interval of its own) with the Ibragimov-Müller mean and its t(q-1) interval; a table of
each pilot's OR, risk difference and share of the identifying variation (partial
leverage); and the Ibragimov-Müller and Canay-Romano-Shaikh p-values, which held 3-6% null
rejection in the issue's simulations.

Inputs: result rows with specification ``pilot_<area_code>`` (methods ``logit_per_pilot``,
``lpm_per_pilot``) and ``per_pilot`` (``*_ibragimov_mueller``, ``*_canay_romano_shaikh``),
and the table results/fit/pilot_areas.parquet (cohort, outcome, area_code, beta, odds_ratio,
risk_difference, leverage_share, n, events). In real-data mode no journey or event count is
shown per pilot (a pilot's counts, with the totals shown elsewhere, could give a small cell away).
"""

from __future__ import annotations

import pandas as pd

from pbr.registry.methods import method_label
from pbr.report.cells import (
    data_cell,
    format_interval,
    format_number,
    format_p,
    header_cell,
    isnan,
    label,
    simple_head,
    table,
)
from pbr.report.checks import remarks, shown
from pbr.report.figures import pilot_forest_plot
from pbr.report.verdicts import result_row

PILOT_PREFIX = "pilot_"
#: The tests over the pilot areas, in the order shown.
PER_PILOT_TESTS = (
    "logit_ibragimov_mueller",
    "logit_canay_romano_shaikh",
    "lpm_ibragimov_mueller",
    "lpm_canay_romano_shaikh",
)


def area_names(areas: pd.DataFrame) -> dict[str, str]:
    """area_code -> area_name from the area lookup (empty without one)."""
    if areas.empty or not {"area_code", "area_name"} <= set(areas.columns):
        return {}
    return dict(zip(areas["area_code"].astype(str), areas["area_name"].astype(str), strict=True))


def _pilot_frame(results: pd.DataFrame, pilot_areas: pd.DataFrame, c: str, o: str) -> pd.DataFrame:
    """One row per pilot area of one cohort x outcome: area_code, odds_ratio, risk_difference,
    leverage_share, n, events (result rows first; the pilot-area table fills what they lack)."""
    s = results[
        (results["cohort"] == c)
        & (results["outcome"] == o)
        & results["specification"].str.startswith(PILOT_PREFIX)
    ]
    codes = sorted({x.removeprefix(PILOT_PREFIX) for x in s["specification"]})
    extra = pd.DataFrame()
    if not pilot_areas.empty:
        extra = pilot_areas[(pilot_areas["cohort"] == c) & (pilot_areas["outcome"] == o)]
        codes += sorted(set(extra["area_code"].astype(str)) - set(codes))
    rows = []
    for code in codes:
        logit = result_row(s, c, o, PILOT_PREFIX + code, "logit_per_pilot")
        lpm = result_row(s, c, o, PILOT_PREFIX + code, "lpm_per_pilot")
        e = extra[extra["area_code"].astype(str) == code] if not extra.empty else extra
        e = e.iloc[0] if not e.empty else {}
        rows.append(
            {
                "area_code": code,
                "odds_ratio": logit["estimate"] if shown(logit) else e.get("odds_ratio", float("nan")),
                "risk_difference": lpm["estimate"] if shown(lpm) else e.get("risk_difference", float("nan")),
                "leverage_share": e.get("leverage_share", float("nan")),
                "n": e.get("n", float("nan")),
                "events": e.get("events", float("nan")),
                "logit_row": logit,
            }
        )
    return pd.DataFrame(rows)


def _pilot_table(frame: pd.DataFrame, names: dict[str, str], c: str, o: str, real: bool, redact) -> dict:
    """The per-pilot table of one cohort x outcome (counts only with synthetic data)."""
    body = []
    for _, r in frame.iterrows():
        # a point without an interval by design: judged on its events and estimate only
        why = remarks(r["logit_row"], redact, p_only=True) if r["logit_row"] is not None else []
        row = [
            header_cell(names.get(r["area_code"], r["area_code"]), scope="row"),
            data_cell(r["area_code"]),
            data_cell(format_number(r["odds_ratio"]) or "not estimable", cls="num"),
            data_cell(
                format_number(100 * r["risk_difference"], 2) if not isnan(r["risk_difference"]) else "",
                cls="num",
            ),
            data_cell(
                format_number(100 * r["leverage_share"], 1) if not isnan(r["leverage_share"]) else "",
                cls="num",
            ),
        ]
        if not real:
            row += [
                data_cell("" if isnan(r["n"]) else f"{int(r['n']):,}", cls="num count"),
                data_cell("" if isnan(r["events"]) else f"{int(r['events']):,}", cls="num count"),
            ]
        body.append([*row, data_cell("; ".join(why))])
    cols = [
        "Pilot area",
        "Code",
        "OR (logit)",
        "Risk difference (percentage points, LPM)",
        "Share of identifying variation (%)",
    ]
    cols += [] if real else ["Journeys", "Events"]
    return table(
        f"{label(o)} ({c} cohort): each pilot area against all comparison areas (the other pilots left out)",
        simple_head(*cols, "Remarks"),
        body,
        tid=f"tbl-pilots-{c}-{o}",
        note="Journeys and events per pilot area are not shown in real-data mode: with the totals shown "
        "elsewhere they could reveal a small cell."
        if real
        else "",
    )


def _tests_table(results: pd.DataFrame, c: str, o: str, redact) -> dict | None:
    """The Ibragimov-Müller and Canay-Romano-Shaikh tests of one cohort x outcome."""
    body = []
    for m in PER_PILOT_TESTS:
        r = result_row(results, c, o, "per_pilot", m)
        if r is None:
            continue
        ok = shown(r)
        digits = 3 if r["scale"] == "odds_ratio" else 4
        body.append(
            [
                header_cell(method_label(m), scope="row"),
                data_cell("OR" if r["scale"] == "odds_ratio" else "risk difference"),
                data_cell(format_number(r["estimate"], digits) if ok else "not estimable", cls="num"),
                data_cell(format_interval(r["ci_low"], r["ci_high"], digits) if ok else "", cls="num"),
                data_cell(format_p(r["p_value"]) if ok else "", cls="num"),
                data_cell("; ".join(remarks(r, redact))),
            ]
        )
    if not body:
        return None
    return table(
        f"{label(o)} ({c} cohort): tests over the pilot areas (each pilot one observation)",
        simple_head("Method", "Scale", "Estimate", "95% interval", "p", "Remarks"),
        body,
        tid=f"tbl-pilot-tests-{c}-{o}",
    )


def pilot_section(
    results: pd.DataFrame,
    pilot_areas: pd.DataFrame,
    areas: pd.DataFrame,
    cohorts: list[str],
    outcomes: list[str],
    real: bool,
    redact=str,
) -> list[dict]:
    """One entry per cohort x outcome with ``per_pilot`` rows: ``cohort``, ``outcome``, the forest
    plot (``figure``), the per-pilot ``table`` and the ``tests`` table (None without tests).

    Area names come from the area lookup (``areas``; codes without it); ``real``: no counts."""
    names = area_names(areas)
    out = []
    for c in cohorts:
        for o in outcomes:
            s = results[(results["cohort"] == c) & (results["outcome"] == o)]
            if "per_pilot" not in set(s["specification"]):
                continue
            frame = _pilot_frame(results, pilot_areas, c, o)
            mean = result_row(results, c, o, "per_pilot", "logit_ibragimov_mueller")
            mean_dict = (
                {k: mean[k] for k in ("estimate", "ci_low", "ci_high")} | {"p": mean["p_value"]}
                if shown(mean)
                else None
            )
            points = [
                (names.get(a, a), float(v))
                for a, v in zip(frame.get("area_code", []), frame.get("odds_ratio", []), strict=True)
            ]
            out.append(
                {
                    "cohort": c,
                    "outcome": o,
                    "figure": pilot_forest_plot(points, mean_dict, c, o),
                    "table": _pilot_table(frame, names, c, o, real, redact) if not frame.empty else None,
                    "tests": _tests_table(results, c, o, redact),
                }
            )
    return out
