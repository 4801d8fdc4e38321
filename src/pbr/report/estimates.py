"""Every estimate beyond the main DiD table: inference methods compared, robustness checks, every model.

Each row's remarks say why it is not estimable, carries a caveat or has no verdict
(:mod:`pbr.report.verdicts`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from pbr.registry.published import PUBLISHED_COHORT, PUBLISHED_MASON_2015
from pbr.report.cells import (
    METHOD_LABELS,
    data_cell,
    format_interval,
    format_number,
    format_p,
    header_cell,
    inside,
    isnan,
    label,
    mark,
    p_statement,
    simple_head,
    table,
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


def _remarks(r, redact, p_only: bool = False) -> list[str]:
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
        out.append(f"caveat: {redact(status_reason(r))}")
    if "unbounded" in note_text(r):
        out.append("interval unbounded within the search range")
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


def inference_section(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], headline: str, redact=str
) -> list[dict]:
    """Per cohort: every inference method's estimate, interval and p for each outcome (main specification).

    A row not estimable shows no number; the remarks say why, and flag a row without a
    verdict (``redact``: how free text is made safe, :meth:`Disclosure.redact`)."""
    out = []
    main = results[results["specification"] == "main"]
    for c in cohorts:
        body = []
        for o in outcomes:
            s = main[(main["cohort"] == c) & (main["outcome"] == o)]
            if s.empty:
                continue
            methods = [m for m in METHOD_LABELS if m in set(s["method"])]
            for i, m in enumerate(methods):
                r = s[s["method"] == m].iloc[0]
                row = []
                if i == 0:
                    row.append(header_cell(label(o), scope="rowgroup", rowspan=len(methods)))
                scale = "OR" if r["scale"] == "odds_ratio" else "risk difference"
                p_only = m.endswith(("_ri", "_ri_t")) and m.startswith("logit") and not isnan(r["p_value"])
                flag = _remarks(r, redact, p_only and isnan(r["ci_low"]))
                if m == headline:
                    flag.append("headline")
                if row_status(r) == "not_estimable":
                    numbers = [
                        data_cell("not estimable", cls="num"),
                        data_cell("", cls="num"),
                        data_cell("", cls="num"),
                    ]
                else:
                    digits = 3 if scale == "OR" else 4
                    numbers = [
                        data_cell(format_number(r["estimate"], digits), cls="num"),
                        data_cell(
                            format_interval(r["ci_low"], r["ci_high"], digits)
                            or ("p only" if p_only else ""),
                            cls="num",
                        ),
                        data_cell(format_p(r["p_value"]), cls="num"),
                    ]
                row += [
                    header_cell(METHOD_LABELS[m], scope="row"),
                    data_cell(scale),
                    *numbers,
                    data_cell("; ".join(flag)),
                ]
                body.append(row)
        if body:
            out.append(
                table(
                    f"{c.capitalize()} cohort: inference compared, CRV1 vs wild cluster bootstrap vs randomisation "
                    "inference (p-values and 95% intervals)",
                    simple_head("Outcome", "Method", "Scale", "Estimate", "95% interval", "p", "Remarks"),
                    body,
                    tid=f"tbl-inference-{c}",
                )
            )
    return out


def pretrend_tests(results: pd.DataFrame) -> dict:
    """(cohort, outcome) -> {method: p} of the event-study joint pre-trend tests, plus the statistics."""
    out: dict = {}
    pre = results[results["specification"] == "event_study_pretrend"]
    for r in pre.itertuples():
        tests = out.setdefault((r.cohort, r.outcome), {})
        tests[r.method] = float(r.p_value)
        tests[f"{r.method}_stat"] = (float(r.estimate), str(r.scale))
    return out


def robustness_section(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], config: dict, redact=str
) -> dict:
    """Placebo, leave-one-out range, Mason 2015 window, linkage thresholds, pre-trend tests.

    A check not estimable shows no number; a check without a verdict (:func:`verdict`) says
    so, and a Mason 2015 check without one is not counted (``mason`` entries carry ``verdict``).
    """
    body: list = []
    mason_checks: list[dict] = []
    pre_rows: list = []
    pretrend = pretrend_tests(results)
    for c in cohorts:
        for o in outcomes:
            s = results[(results["cohort"] == c) & (results["outcome"] == o)]
            specs = set(s["specification"])
            if specs <= {"main"}:
                continue
            checks: list[tuple[str, Any, str, bool | None]] = []  # (name, results row or None, text, flag)
            main = result_row(results, c, o, "main", "logit_crv1")
            if main is not None:
                checks.append(("Main (CRV1)", main, "", None))
            pre = pretrend.get((c, o))
            if pre:
                txt = _pretrend_text(pre)
                checks.append(("Event study: joint pre-trend test", None, txt, None))
                pre_rows.append(
                    {
                        "cohort": c,
                        "outcome": o,
                        "text": txt,
                        "p": pre.get("logit_crv1"),
                        "stat": pre.get("logit_crv1_stat"),
                    }
                )
            checks += _placebo_checks(results, c, o, specs, config)
            checks += _leave_one_out_check(s)
            checks += _mason_check(results, c, o, config, redact, mason_checks)
            checks += _threshold_checks(results, c, o, specs, float(config["linkage"]["threshold"]))
            body += _check_rows(c, o, checks, redact)
    tbl = (
        table(
            "Robustness checks (logit DiD odds ratios, CRV1 95% intervals)",
            simple_head("Cohort", "Outcome", "Check", "OR", "95% CI", "p", "Comment", "Published"),
            body,
            tid="tbl-robustness",
        )
        if body
        else None
    )
    return {"table": tbl, "mason": mason_checks, "pretrend": pre_rows, "pt": pretrend}


def _pretrend_text(pre: dict) -> str:
    """The joint pre-trend tests of one model, logit and LPM: statistic and p."""
    names = {"wald_chi2": "Wald χ²", "wald_F": "Wald F"}
    return "; ".join(
        f"{'logit' if m.startswith('logit') else 'LPM'}: "
        f"{names.get(pre[m + '_stat'][1], pre[m + '_stat'][1])} = "
        f"{format_number(pre[m + '_stat'][0], 2)}, {p_statement(pre[m])}"
        for m in ("logit_crv1", "lpm_crv1")
        if m in pre
    )


def _placebo_checks(results: pd.DataFrame, c: str, o: str, specs: set[str], config: dict) -> list[tuple]:
    """The placebo checks (a start date in the pre-period) of one cohort x outcome."""
    checks = []
    for spec in sorted(x for x in specs if x.startswith("placebo")):
        r = result_row(results, c, o, spec, "logit_crv1")
        if r is not None:
            checks.append(
                (
                    f"Placebo start ({config['models']['robustness']['placebo_start']}, pre-period only)",
                    r,
                    "expect an OR near 1",
                    None,
                )
            )
    return checks


def _leave_one_out_check(s: pd.DataFrame) -> list[tuple]:
    """The range of the leave-one-pilot-area-out fits (``s``: one cohort x outcome's rows), if any."""
    leave_outs = s[s["specification"].str.startswith("leave_out_") & (s["method"] == "logit_crv1")]
    leave_outs = leave_outs[[row_status(x) != "not_estimable" for _, x in leave_outs.iterrows()]]
    if leave_outs.empty:
        return []
    lowest, highest = (
        leave_outs.loc[leave_outs["estimate"].idxmin()],
        leave_outs.loc[leave_outs["estimate"].idxmax()],
    )
    n_excluding_one = int(((leave_outs["ci_high"] < 1) | (leave_outs["ci_low"] > 1)).sum())
    return [
        (
            f"Leave one pilot area out ({len(leave_outs)} fits)",
            None,
            f"OR from {format_number(lowest['estimate'])} "
            f"(without {lowest['specification'].removeprefix('leave_out_')}) "
            f"to {format_number(highest['estimate'])} "
            f"(without {highest['specification'].removeprefix('leave_out_')}); "
            f"CRV1 interval excludes 1 in {n_excluding_one} of {len(leave_outs)}",
            None,
        )
    ]


def _mason_check(
    results: pd.DataFrame, c: str, o: str, config: dict, redact, mason_checks: list[dict]
) -> list[tuple]:
    """The Mason 2015 window check of one cohort x outcome, if fitted; with a published value,
    its entry (with its verdict) is appended to ``mason_checks``."""
    r = result_row(results, c, o, "mason_2015", "logit_crv1")
    if r is None:
        return []
    pub = PUBLISHED_MASON_2015.get(o) if c == PUBLISHED_COHORT else None
    v = verdict(r)
    flag = inside(pub[0], r["ci_low"], r["ci_high"]) if pub and v.ok else None
    txt = f"published (Mason 2015) {pub[0]:.3f} ({pub[1]:.3f}–{pub[2]:.3f})" if pub else "no published value"
    check = (
        f"Mason 2015 window ({config['models']['robustness']['mason_pre_start']} to "
        f"{config['models']['robustness']['mason_post_end']})",
        r,
        txt,
        flag,
    )
    if pub:
        mason_checks.append(
            {
                "cohort": c,
                "outcome": o,
                "inside": flag,
                "published": pub[0],
                "estimate": float(r["estimate"]) if v.kind != "not_estimable" else math.nan,
                "ci": (float(r["ci_low"]), float(r["ci_high"]))
                if v.kind != "not_estimable"
                else (math.nan, math.nan),
                "verdict": v,
                "reason": v.text(redact),
            }
        )
    return [check]


def _threshold_checks(
    results: pd.DataFrame, c: str, o: str, specs: set[str], threshold: float
) -> list[tuple]:
    """The fits of one cohort x outcome at other linkage thresholds."""
    checks = []
    for spec in sorted(x for x in specs if x.startswith("linkage_threshold_")):
        r = result_row(results, c, o, spec, "logit_crv1")
        t = spec.removeprefix("linkage_threshold_")
        if r is not None:
            checks.append((f"Linkage threshold {t} (main: {threshold:g})", r, "", None))
    return checks


def _check_rows(c: str, o: str, checks: list[tuple], redact) -> list[list[dict]]:
    """The table rows of one cohort x outcome's checks, each (name, result row, comment, flag)."""
    rows = []
    for i, (name, r, txt, flag) in enumerate(checks):
        row = []
        if i == 0:
            row += [
                data_cell(c, rowspan=len(checks)),
                header_cell(label(o), scope="rowgroup", rowspan=len(checks)),
            ]
        shown = r is not None and row_status(r) != "not_estimable"
        remarks = _remarks(r, redact) if r is not None else []
        comment = "; ".join(x for x in (txt, *remarks) if x)
        no_verdict = (
            r is not None
            and name.startswith("Mason")
            and c == PUBLISHED_COHORT
            and o in PUBLISHED_MASON_2015
            and not verdict(r).ok
        )
        row += [
            header_cell(name, scope="row"),
            data_cell(
                format_number(r["estimate"]) if shown else ("not estimable" if r is not None else ""),
                cls="num",
            ),
            data_cell(format_interval(r["ci_low"], r["ci_high"]) if shown else "", cls="num"),
            data_cell(format_p(r["p_value"]) if shown else "", cls="num"),
            data_cell(comment),
            mark(flag, "published inside", "published outside")
            if flag is not None
            else data_cell(verdict(r).label if no_verdict else "", cls="mark-none"),
        ]
        rows.append(row)
    return rows


def all_estimates_table(results: pd.DataFrame, real: bool, redact=str) -> dict:
    """Every result row; a row not estimable shows no number, and the remarks say why."""
    body = []
    for _, r in results.iterrows():
        shown = row_status(r) != "not_estimable"
        or_scale = r["scale"] == "odds_ratio"
        p_only = or_scale and isnan(r["ci_low"]) and not isnan(r["p_value"])
        remarks = _remarks(r, redact, p_only)
        row = [
            data_cell(r["cohort"]),
            header_cell(label(r["outcome"]), scope="row"),
            data_cell(r["specification"]),
            data_cell(r["method"]),
            data_cell(str(r["scale"]).replace("_", " ")),
            data_cell(format_number(r["estimate"], 4) if shown else "not estimable", cls="num"),
            data_cell(format_interval(r["ci_low"], r["ci_high"], 4) if shown else "", cls="num"),
            data_cell(format_p(r["p_value"]) if shown else "", cls="num"),
        ]
        if not real:
            row += [data_cell(f"{int(r['n']):,}", cls="num"), data_cell(f"{int(r['events']):,}", cls="num")]
        row.append(data_cell("; ".join(remarks)))
        body.append(row)
    cols = ["Cohort", "Outcome", "Specification", "Method", "Scale", "Estimate", "95% interval", "p"]
    if not real:
        cols += ["n", "Events"]
    cols.append("Remarks")
    return table(
        "Every model fitted: logistic (odds ratio) and linear probability (risk difference) models, all "
        "specifications and inference methods",
        simple_head(*cols),
        body,
        tid="tbl-all",
        note="Counts per model are not shown in real-data mode: differences between models could reveal small cells."
        if real
        else "",
    )
