"""Every estimate beyond the main DiD table: inference methods compared, robustness checks, every model.

Each row's remarks say why it is not estimable, carries a caveat or has no verdict
(:mod:`pbr.report.verdicts`). Every check shows the headline few-cluster method first and
CRV1 beside it for reference only (:mod:`pbr.report.checks`); the verdict words of a check
(a pre-trend "detected", a published value "inside") come from the headline method alone.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from pbr.fit.imputed import MI_SPECIFICATION
from pbr.registry.methods import INFERENCE_ROLES, SHORT_LABELS, may_decide, method_label
from pbr.registry.outcomes import register_outcome, registration_spec_days
from pbr.registry.published import PUBLISHED_COHORT, PUBLISHED_MASON_2015
from pbr.registry.recall import recall_spec, recall_thresholds
from pbr.registry.registers import NEGATIVE_CONTROLS, negative_control_spec
from pbr.report.cells import (
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
from pbr.report.checks import (
    HEADLINE_METHOD,
    REFERENCE_METHOD,
    Check,
    check_cells,
    check_head,
    grouped_rows,
    model_check,
    remarks,
    shown,
    spec_check,
)
from pbr.report.verdicts import (
    Verdict,
    lead_methods,
    reaches_level,
    result_row,
    row_p_floor,
    row_status,
    status_reason,
    verdict,
)

#: The verdict of a check that has no headline (few-cluster) row: CRV1 alone gives none.
ODDS = "odds_ratio"
NO_HEADLINE = Verdict(
    "no_verdict", ("no few-cluster interval",), "no few-cluster (headline) row for this check"
)

_REASSIGNMENTS = re.compile(r"(\d[\d,]*) re-assignments")


def reassignments(note) -> int | None:
    """The number of re-assignments a randomisation-inference row's note reports; None without one."""
    m = _REASSIGNMENTS.search("" if isnan(note) else str(note))
    return int(m.group(1).replace(",", "")) if m else None


def _inference_row(r, m: str, headline: str, redact) -> list[dict]:
    """The cells of one method's row of the inference table (after the outcome)."""
    scale = "OR" if r["scale"] == "odds_ratio" else "risk difference"
    p_only = m.startswith("logit") and "_ri" in m and not isnan(r["p_value"]) and isnan(r["ci_low"])
    flag = remarks(r, redact, p_only)
    reps = reassignments(r.get("note"))
    if reps is not None:
        flag.append(f"{reps:,} re-assignments")
    role = "headline" if m == headline else INFERENCE_ROLES.get(m, "")
    if row_status(r) == "not_estimable":
        numbers = [data_cell("not estimable", cls="num"), data_cell("", cls="num"), data_cell("", cls="num")]
    else:
        digits = 3 if scale == "OR" else 4
        numbers = [
            data_cell(format_number(r["estimate"], digits), cls="num"),
            data_cell(
                format_interval(r["ci_low"], r["ci_high"], digits) or ("p only" if p_only else ""), cls="num"
            ),
            data_cell(format_p(r["p_value"]), cls="num"),
        ]
    return [
        header_cell(method_label(m), scope="row"),
        data_cell(role),
        data_cell(scale),
        *numbers,
        data_cell("; ".join(flag)),
    ]


def inference_section(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], headline: str, redact=str
) -> list[dict]:
    """Per cohort: every inference method's estimate, interval and p for each outcome (main specification).

    Methods in :data:`INFERENCE_ROLES` order, the headline first, each with its role (raw-coefficient
    randomisation inference: "valid only if the pilots were exchangeable with other areas") and,
    for randomisation inference, the number of re-assignments its note reports. A row not
    estimable shows no number; the remarks say why (``redact``: :meth:`Disclosure.redact`)."""
    out = []
    main = results[results["specification"] == "main"]
    order = [headline, *(m for m in INFERENCE_ROLES if m != headline)]
    for c in cohorts:
        body = []
        for o in outcomes:
            s = main[(main["cohort"] == c) & (main["outcome"] == o)]
            methods = [m for m in order if m in set(s["method"])]
            for i, m in enumerate(methods):
                row = [header_cell(label(o), scope="rowgroup", rowspan=len(methods))] if i == 0 else []
                body.append(row + _inference_row(s[s["method"] == m].iloc[0], m, headline, redact))
        if body:
            out.append(
                table(
                    f"{c.capitalize()} cohort: inference compared (headline first; CRV1 and raw-coefficient "
                    "randomisation inference for reference only)",
                    simple_head(
                        "Outcome", "Method", "Role", "Scale", "Estimate", "95% interval", "p", "Remarks"
                    ),
                    body,
                    tid=f"tbl-inference-{c}",
                )
            )
    return out


def pretrend_tests(
    results: pd.DataFrame,
    specification: str = "event_study_pretrend",
    alpha: float = 0.05,
    lead: str | tuple[str, ...] = "logit_score_wcb",
) -> dict:
    """(cohort, outcome) -> the pre-trend tests of one event study and their verdict.

    Each entry holds, for every method of :data:`PRETREND_FIELDS`, its p (``p``: the logit wild
    cluster score bootstrap; ``lpm_p``: the LPM restricted wild bootstrap; ``ri_p`` and
    ``lpm_ri_p``: randomisation inference on the pre-period journeys; ``im_p``, ``lpm_im_p``,
    ``crs_p``, ``lpm_crs_p``: the tests over the pilots' linear pre-trends of
    :mod:`pbr.fit.pilot_trends`; ``p_crv1`` and ``lpm_p_crv1``: CRV1, kept for reference only)
    and its statistic (``stat``, ... as (value, scale)); None when the row is absent or not
    estimable. ``lead``: the deciding method, or the methods in the order of the stated rule
    (:func:`pbr.report.verdicts.lead_methods`); the first whose test has a p and can reach
    ``alpha`` (:func:`pbr.report.verdicts.reaches_level`) decides: ``method`` names it,
    ``passed_over`` the methods before it that could not, with why; ``verdict_p`` is its p,
    ``detected`` (that p < ``alpha``; None without a deciding test), ``tested`` (a row of the
    lead methods exists), ``reason`` (why the first has no p, '' when a test decided),
    ``verdict`` (words) and ``text`` (every test in words) follow."""
    out: dict = {}
    pre = results[results["specification"] == specification]
    keys = {method: p_key for p_key, _, method in PRETREND_FIELDS}
    order = tuple(m for m in ((lead,) if isinstance(lead, str) else lead) if m in keys) or (
        "logit_score_wcb",
    )
    for (c, o), s in pre.groupby(["cohort", "outcome"], sort=False):
        test: dict = {}
        rows = {}
        for p_key, stat_key, m in PRETREND_FIELDS:
            r = s[s["method"] == m]
            rows[m] = None if r.empty else r.iloc[0]
            ok = rows[m] is not None and shown(rows[m])
            test[p_key] = float(r.iloc[0]["p_value"]) if ok else None
            test[stat_key] = (float(r.iloc[0]["estimate"]), str(r.iloc[0]["scale"])) if ok else None
        method, passed_over = _deciding_test(order, rows, test, keys, alpha)
        test |= {"method": method or order[0], "passed_over": passed_over, "alpha": alpha}
        test["tested"] = any(rows[m] is not None for m in order)
        test["reason"] = "" if method else (passed_over[0][1] if passed_over else "")
        p = test["verdict_p"] = test[keys[method]] if method else None
        test["detected"] = None if p is None or isnan(p) else bool(p < alpha)
        test["verdict"] = {
            True: "pre-trend detected",
            False: "no pre-trend detected",
            None: "no verdict: no pre-trend test allowed to decide could be computed or reach "
            f"p < {alpha:g} here",
        }[test["detected"]]
        test["text"] = _pretrend_text(test)
        out[(c, o)] = test
    return out


def _deciding_test(
    order: tuple[str, ...], rows: dict, test: dict, keys: dict, alpha: float
) -> tuple[str | None, list[tuple[str, str]]]:
    """The first method of ``order`` whose row has a p that can reach ``alpha`` (None when none
    can) and, for each method before it, why it could not (the first clause of its note)."""
    passed_over: list[tuple[str, str]] = []
    for m in order:
        r = rows.get(m)
        if r is None:
            continue
        if test[keys[m]] is None:
            passed_over.append((m, (status_reason(r) or "not estimable").split(";")[0]))
        elif not reaches_level(r, alpha):
            q, floor = int(r["n_treated_clusters"]), row_p_floor(r)
            passed_over.append((m, f"with {q} pilot areas its p-value cannot fall below {floor:.3g}"))
        else:
            return m, passed_over
    return None, passed_over


#: The joint pre-trend tests of an event study: (p key, statistic key, method). CRV1 last, for
#: reference only; the verdict is the method :func:`pbr.report.verdicts.lead_method` chooses.
PRETREND_FIELDS = (
    ("p", "stat", "logit_score_wcb"),
    ("lpm_p", "lpm_stat", "lpm_wcb_webb"),
    ("ri_p", "ri_stat", "logit_ri_t"),
    ("lpm_ri_p", "lpm_ri_stat", "lpm_ri_t"),
    ("im_p", "im_stat", "logit_ibragimov_mueller"),
    ("lpm_im_p", "lpm_im_stat", "lpm_ibragimov_mueller"),
    ("crs_p", "crs_stat", "logit_canay_romano_shaikh"),
    ("lpm_crs_p", "lpm_crs_stat", "lpm_canay_romano_shaikh"),
    ("p_crv1", "stat_crv1", "logit_crv1"),
    ("lpm_p_crv1", "lpm_stat_crv1", "lpm_crv1"),
)
#: The pre-trend tests' names in the report's words.
PRETREND_NAMES = {
    "logit_score_wcb": "logit score bootstrap",
    "lpm_wcb_webb": "LPM wild bootstrap",
    "logit_ri_t": "logit randomisation inference (pre-period)",
    "lpm_ri_t": "LPM randomisation inference (pre-period)",
    "logit_ibragimov_mueller": "logit Ibragimov-Müller t over the pilots' linear pre-trends",
    "lpm_ibragimov_mueller": "LPM Ibragimov-Müller t over the pilots' linear pre-trends",
    "logit_canay_romano_shaikh": "logit Canay-Romano-Shaikh sign-change test over the pilots' linear pre-trends",
    "lpm_canay_romano_shaikh": "LPM Canay-Romano-Shaikh sign-change test over the pilots' linear pre-trends",
    "logit_crv1": "logit CRV1",
    "lpm_crv1": "LPM CRV1",
}
#: The same, short enough for a figure panel's title.
PRETREND_SHORT = {
    "logit_score_wcb": "score bootstrap",
    "lpm_wcb_webb": "LPM wild bootstrap",
    "logit_ri_t": "RI",
    "lpm_ri_t": "LPM RI",
    "logit_ibragimov_mueller": "IM, pilot trends",
    "lpm_ibragimov_mueller": "LPM IM, pilot trends",
    "logit_canay_romano_shaikh": "CRS, pilot trends",
    "lpm_canay_romano_shaikh": "LPM CRS, pilot trends",
    "logit_crv1": "CRV1",
    "lpm_crv1": "LPM CRV1",
}
_STAT_NAMES = {
    "wald_chi2": "Wald χ²",
    "wald_F": "Wald F",
    "odds_ratio": "mean trend OR per year",
    "risk_difference": "mean trend per year (risk difference)",
}


def _pretrend_text(test: dict) -> str:
    """The joint pre-trend tests of one model in words: the verdict's method first, the other
    few-cluster tests, then CRV1 for reference."""

    def one(p_key: str, stat_key: str) -> str:
        value, scale = test[stat_key]
        return f"{_STAT_NAMES.get(scale, scale)} = {format_number(value, 2)}, {p_statement(test[p_key])}"

    few = [(m, p_key, stat_key) for p_key, stat_key, m in PRETREND_FIELDS if not m.endswith("crv1")]
    few.sort(key=lambda f: f[0] != test["method"])
    parts = [
        f"{PRETREND_NAMES[m]}{' (verdict)' if m == test['method'] else ''}: {one(p_key, stat_key)}"
        for m, p_key, stat_key in few
        if test[p_key] is not None
    ]
    ref = [
        f"{name} {p_statement(test[p_key])}"
        for name, p_key in (("logit", "p_crv1"), ("LPM", "lpm_p_crv1"))
        if test[p_key] is not None
    ]
    if ref:
        parts.append("CRV1, for reference only: " + ", ".join(ref))
    skipped = [f"{PRETREND_NAMES[m]}: {why}" for m, why in test.get("passed_over", [])]
    if skipped and test["verdict_p"] is not None:
        parts.insert(0, "not deciding here, " + "; ".join(skipped))
    return "; ".join(parts)


def pretrend_check(test: dict, name: str = "Pre-trend test") -> Check:
    """A pre-trend test as a check: the verdict method's p first, the CRV1 p beside; the verdict words."""
    return Check(
        name,
        estimate="",
        p=format_p(test["verdict_p"]),
        reference_p=format_p(test["p_crv1"]),
        comment=f"{test['verdict']} ({test['text']})" if test["text"] else test["verdict"],
    )


def pretrend_methods(sizes: pd.DataFrame | None, config: dict) -> tuple[str, ...]:
    """The few-cluster pre-trend tests in the order that decides the pre-trend verdicts
    (:func:`pbr.report.verdicts.lead_methods`; the configured headline, or the score bootstrap,
    first without study rows)."""
    headline = config["models"].get("headline_method", "logit_score_wcb")
    candidates = tuple(m for _, _, m in PRETREND_FIELDS if may_decide(m))
    default = headline if headline in candidates else "logit_score_wcb"
    alpha = 1 - float(config["models"].get("confidence_level", 0.95))
    return lead_methods(sizes, "event_study_pretrend", candidates, default, alpha)


def pretrend_method(sizes: pd.DataFrame | None, config: dict) -> str:
    """The method that decides the pre-trend verdicts wherever its test can (:func:`pretrend_methods`' first)."""
    return pretrend_methods(sizes, config)[0]


def robustness_section(
    results: pd.DataFrame,
    cohorts: list[str],
    outcomes: list[str],
    config: dict,
    redact=str,
    sizes: pd.DataFrame | None = None,
) -> dict:
    """Pre-trend tests, placebo, leave-one-out range, Mason 2015 window, linkage thresholds.

    Each check shows the headline method (``logit_score_wcb``: OR, interval, p) first and CRV1
    beside it for reference. A check not estimable shows no number; a Mason 2015 check is
    judged on the headline interval and is not counted without a verdict (``mason`` entries
    carry ``verdict``). ``pretrend`` (one entry per event study: ``p`` the bootstrap p, which
    alone gives the verdict, ``p_crv1`` for reference) and ``pt`` (:func:`pretrend_tests`) feed
    the findings box and the event-study figure; ``leave_out`` is the table of every
    leave-one-out fit (None without one)."""
    alpha = 1 - float(config["models"].get("confidence_level", 0.95))
    body: list = []
    mason_checks: list[dict] = []
    pre_rows: list = []
    leave_out_rows: list = []
    order = pretrend_methods(sizes, config)
    pretrend = pretrend_tests(results, alpha=alpha, lead=order)
    for c in cohorts:
        for o in outcomes:
            s = results[(results["cohort"] == c) & (results["outcome"] == o)]
            specs = set(s["specification"])
            if specs <= {"main"}:
                continue
            checks = [
                x for x in [spec_check(results, c, o, "main", "Main specification", redact=redact)] if x
            ]
            if (c, o) in pretrend:
                test = pretrend[(c, o)]
                checks.append(pretrend_check(test))
                pre_rows.append({"cohort": c, "outcome": o, **test})
            checks += _placebo_checks(results, c, o, specs, config, redact)
            checks += _leave_one_out_check(s, leave_out_rows)
            checks += _mason_check(results, c, o, config, redact, mason_checks)
            checks += _threshold_checks(results, c, o, specs, config["linkage"], redact)
            checks += _registration_checks(results, c, o, specs, redact)
            checks += _imputation_checks(results, c, o, specs, redact)
            body += grouped_rows(c, o, checks, mark=True)
    tbl = (
        table(
            "Robustness checks: logit DiD odds ratios with the headline (wild cluster score bootstrap) 95% "
            "interval and p; CRV1 beside, for reference only",
            check_head("OR", ("Cohort", "Outcome", "Check"), mark="Published"),
            body,
            tid="tbl-robustness",
        )
        if body
        else None
    )
    return {
        "table": tbl,
        "mason": mason_checks,
        "pretrend": pre_rows,
        "pt": pretrend,
        "pretrend_method": PRETREND_NAMES[order[0]],
        "pretrend_fallbacks": _fallback_names(order, pretrend),
        "leave_out": _leave_out_table(leave_out_rows, redact),
        "verdicts": _registration_verdicts(results),
    }


def _registration_verdicts(results: pd.DataFrame) -> dict[str, list[str]]:
    """The verdicts the late-registration sensitivity rows make (the headline method's, as the
    linkage-threshold rows'), for the methods section: method -> their names; {} without such rows."""
    head = HEADLINE_METHOD[ODDS]
    rows = results[
        (results["method"] == head)
        & results["specification"].map(lambda x: registration_spec_days(str(x)) is not None)
    ]
    return {head: ["Robustness table: late-registration sensitivity (interval and p)"]} if len(rows) else {}


def _fallback_names(order: tuple[str, ...], tests: dict) -> list[str]:
    """The methods after the lead that decided a pre-trend verdict here (where the lead's test
    could not be computed or reach the level), in the rule's order."""
    used = {t["method"] for t in tests.values() if t["verdict_p"] is not None}
    return [PRETREND_NAMES[m] for m in order[1:] if m in used]


def _placebo_checks(
    results: pd.DataFrame, c: str, o: str, specs: set[str], config: dict, redact
) -> list[Check]:
    """The placebo checks (a start date in the pre-period) of one cohort x outcome; the placebo
    clear of the start is in the timing table."""
    start = config["models"]["robustness"]["placebo_start"]
    checks = [
        spec_check(
            results, c, o, spec, f"Placebo start ({start}, pre-period only)", "expect an OR near 1", redact
        )
        for spec in sorted(x for x in specs if x.startswith("placebo") and x != "placebo_clear")
    ]
    return [x for x in checks if x is not None]


def _leave_one_out_check(s: pd.DataFrame, detail: list) -> list[Check]:
    """The range of the leave-one-pilot-area-out fits (``s``: one cohort x outcome's rows), judged
    on the score-bootstrap interval (each over the remaining pilots), CRV1 counted for reference;
    each fit's (headline row, CRV1 row) is appended to ``detail``."""
    fits = s[s["specification"].str.startswith("leave_out_")]
    if fits.empty:
        return []
    c, o = s["cohort"].iloc[0], s["outcome"].iloc[0]
    pairs = [
        (spec, *(result_row(fits, c, o, spec, m[ODDS]) for m in (HEADLINE_METHOD, REFERENCE_METHOD)))
        for spec in sorted(set(fits["specification"]))
    ]
    detail += [(c, o, *x) for x in pairs]
    est: list[tuple[str, Any]] = [(spec, h if h is not None else r) for spec, h, r in pairs]
    est = [(spec, r) for spec, r in est if shown(r)]
    if not est:
        return []
    low = min(est, key=lambda x: x[1]["estimate"])
    high = max(est, key=lambda x: x[1]["estimate"])

    def excluding(rows) -> str:
        rows = [r for r in rows if shown(r)]
        n = sum(1 for r in rows if r["ci_high"] < 1 or r["ci_low"] > 1)
        return f"{n} of {len(rows)}"

    heads = [h for _, h, _ in pairs if h is not None]
    text = (
        f"OR from {format_number(low[1]['estimate'])} (without {low[0].removeprefix('leave_out_')}) to "
        f"{format_number(high[1]['estimate'])} (without {high[0].removeprefix('leave_out_')}); "
        + (
            f"score-bootstrap interval (over the remaining pilots) excludes 1 in {excluding(heads)}"
            if heads
            else "no few-cluster rows: no verdict"
        )
        + f"; CRV1, for reference only: excludes 1 in {excluding([r for _, _, r in pairs if r is not None])}"
    )
    return [Check(f"Leave one pilot area out ({len(pairs)} fits)", comment=text)]


def _leave_out_table(detail: list, redact) -> dict | None:
    """Every leave-one-pilot-area-out fit: the score-bootstrap OR, interval and p, CRV1 beside."""
    if not detail:
        return None
    body = []
    for c, o, spec, head, ref in detail:
        check = model_check(f"without {spec.removeprefix('leave_out_')}", head, ref, redact=redact)
        body.append([data_cell(c), data_cell(label(o)), *check_cells(check)])
    return table(
        "Leave one pilot area out: each fit with the headline (score bootstrap over the remaining pilots) "
        "interval and p, CRV1 for reference only",
        check_head("OR", ("Cohort", "Outcome", "Left out")),
        body,
        tid="tbl-leave-out",
    )


def _mason_check(
    results: pd.DataFrame, c: str, o: str, config: dict, redact, mason_checks: list[dict]
) -> list[Check]:
    """The Mason 2015 window check of one cohort x outcome, if fitted, judged on the headline
    interval; with a published value, its entry (with its verdict) is appended to ``mason_checks``.
    Mason's own model, the random-intercept logit (``logit_re``, :mod:`pbr.fit.mixed`), is
    quoted in the comment and the entry (``random_intercept``), for reference only."""
    head = result_row(results, c, o, "mason_2015", HEADLINE_METHOD["odds_ratio"])
    ref = result_row(results, c, o, "mason_2015", REFERENCE_METHOD["odds_ratio"])
    if head is None and ref is None:
        return []
    rob = config["models"]["robustness"]
    name = f"Mason 2015 window ({rob['mason_pre_start']} to {rob['mason_post_end']})"
    pub = PUBLISHED_MASON_2015.get(o) if c == PUBLISHED_COHORT else None
    txt = f"published (Mason 2015) {pub[0]:.3f} ({pub[1]:.3f}–{pub[2]:.3f})" if pub else "no published value"
    re_row = result_row(results, c, o, "mason_2015", RANDOM_INTERCEPT_METHOD)
    re_text = random_intercept_text(re_row, redact)
    check = model_check(name, head, ref, "; ".join(x for x in (txt, re_text) if x), redact)
    if not pub:
        return [check]
    # the verdict uses the headline interval only; without a headline row there is none
    v = verdict(head) if head is not None else NO_HEADLINE
    flag = inside(pub[0], head["ci_low"], head["ci_high"]) if head is not None and v.ok else None
    check.mark = (
        mark(flag, "published inside", "published outside")
        if flag is not None
        else data_cell(v.label if not v.ok else "", cls="mark-none")
    )
    r: Any = head if head is not None else ref
    mason_checks.append(
        {
            "cohort": c,
            "outcome": o,
            "inside": flag,
            "published": pub[0],
            "estimate": float(r["estimate"]) if shown(r) else math.nan,
            "ci": (float(r["ci_low"]), float(r["ci_high"])) if v.ok else (math.nan, math.nan),
            "verdict": v,
            "reason": v.text(redact),
            "random_intercept": re_text,
        }
    )
    return [check]


#: Mason et al.'s own model in the Mason 2015 window (:mod:`pbr.fit.mixed`): quoted, never a verdict.
RANDOM_INTERCEPT_METHOD = "logit_re"


def random_intercept_text(r, redact=str) -> str:
    """The random-intercept logit's row in words, for reference only ('' without a row)."""
    if r is None:
        return ""
    what = f"{SHORT_LABELS[RANDOM_INTERCEPT_METHOD]} (Mason's model, for reference only)"
    if not shown(r):
        return (
            f"{what}: not estimable ({redact(status_reason(r))})"
            if status_reason(r)
            else f"{what}: not estimable"
        )
    return (
        f"{what}: OR {format_number(r['estimate'])}, 95% model-based interval "
        f"{format_interval(r['ci_low'], r['ci_high'])}"
    )


def _threshold_checks(
    results: pd.DataFrame, c: str, o: str, specs: set[str], linkage: dict, redact
) -> list[Check]:
    """The fits of one cohort x outcome at other linkage thresholds and under other assumed
    recalls (``linkage``: the config's linkage section)."""
    labels = {
        spec: f"Linkage threshold {spec.removeprefix('linkage_threshold_')} (main: {linkage['threshold']:g})"
        for spec in sorted(x for x in specs if x.startswith("linkage_threshold_"))
    }
    labels |= {
        recall_spec(r): f"Assumed recall {r:g} (main: {linkage['recall']:g}; links at p ≥ {t:.3f})"
        for r, t in recall_thresholds(linkage)
        if recall_spec(r) in specs
    }
    checks = [spec_check(results, c, o, spec, label, redact=redact) for spec, label in labels.items()]
    return [check for check in checks if check is not None]


#: the registers in words (the negative-control table's row groups)
REGISTER_LABELS = {"deaths": "ONS deaths", "offences": "PNC offences"}


def _negative_control_check(results: pd.DataFrame, c: str, name: str, control: dict, alpha: float, redact):
    """One negative control's check, its mark from the headline p (None when not fitted)."""
    o = register_outcome(control["register"])
    check = spec_check(
        results, c, o, negative_control_spec(name), control["label"], f"among {control['among']}", redact
    )
    if check is None:
        return None
    head = result_row(results, c, o, negative_control_spec(name), HEADLINE_METHOD["odds_ratio"])
    v = verdict(head) if head is not None else NO_HEADLINE
    if head is None or not v.ok:
        check.mark = data_cell(v.label or "no verdict", cls="mark-none")
    else:
        changed = float(head["p_value"]) < alpha
        check.mark = mark(not changed, "no change detected", f"changed (p < {alpha:g})")
    return check


def negative_control_table(results: pd.DataFrame, redact=str) -> dict | None:
    """The DiD of each linkage negative control (:data:`pbr.registry.registers.NEGATIVE_CONTROLS`)
    per cohort, with the headline method's interval and p, CRV1 beside; the last column says
    whether the headline test finds the linkage changed in the pilots after April 2012 (p below
    the significance level). None when none was fitted."""
    if results.empty:
        return None
    alpha = 0.05
    body = []
    registers = dict.fromkeys(control["register"] for control in NEGATIVE_CONTROLS.values())
    for c in sorted(results["cohort"].unique()):
        for register in registers:
            checks = [
                x
                for name, control in NEGATIVE_CONTROLS.items()
                if control["register"] == register
                and (x := _negative_control_check(results, c, name, control, alpha, redact)) is not None
            ]
            body += grouped_rows(c, "", checks, mark=True, name=REGISTER_LABELS.get(register, register))
    if not body:
        return None
    return table(
        "Negative controls of the linkage: the DiD odds ratio of indicators the scheme should not move "
        "unless the linkage changed, with the headline method's (wild cluster score bootstrap) 95% interval "
        "and p; CRV1 beside, for reference only",
        check_head("OR", ("Cohort", "Register", "Indicator"), mark="Linkage changed in the pilots?"),
        body,
        tid="tbl-linkage-negative-control",
    )


def _imputation_checks(results: pd.DataFrame, c: str, o: str, specs: set[str], redact) -> list[Check]:
    """The DiD over imputed link sets (rule combine_imputations): Rubin's rules on the CRV1 fits, and
    the headline interval widened by their variance ratio (its comment gives the fraction of missing
    information); no p-value: its verdict rests on the interval."""
    if MI_SPECIFICATION not in specs:
        return []
    text = (
        "links drawn from the match probabilities (each register unit to one person, each person within "
        "linkage.units_per_person; 'no link' included), the DiD fitted on each "
        "link set and combined by Rubin's rules"
    )
    head = result_row(results, c, o, MI_SPECIFICATION, HEADLINE_METHOD["odds_ratio"])
    spread = re.search(r"\d+ imputed link sets[^;]*; fraction of missing information [\d.]+", str(head["note"])) if (
        head is not None) else None  # fmt: skip
    if spread:
        text += f"; {spread.group(0)}; interval: the main one's, widened by the imputations' variance ratio"
    check = spec_check(results, c, o, MI_SPECIFICATION, "Multiple imputation of links", text, redact=redact)
    return [check] if check is not None else []


def _registration_checks(results: pd.DataFrame, c: str, o: str, specs: set[str], redact) -> list[Check]:
    """The late-registration sensitivity of one cohort x outcome (only linked records registered within
    a lag of their event), judged, as the linkage-threshold fits are, on the headline method's interval."""
    head = HEADLINE_METHOD["odds_ratio"]
    checks = []
    for spec in sorted(x for x in specs if registration_spec_days(x) is not None):
        days = registration_spec_days(spec)
        text = (
            f"counts only deaths registered within {days} days of the death (main: every linked death); "
            f"interval and p by the {method_label(head).lower()} ({head}), as the linkage-threshold rows"
        )
        check = spec_check(results, c, o, spec, f"Registered within {days} days", text, redact=redact)
        if check is not None:
            checks.append(check)
    return checks


def all_estimates_table(results: pd.DataFrame, real: bool, redact=str) -> dict:
    """Every result row; a row not estimable shows no number, and the remarks say why."""
    body = []
    for _, r in results.iterrows():
        shown = row_status(r) != "not_estimable"
        or_scale = r["scale"] == "odds_ratio"
        p_only = or_scale and isnan(r["ci_low"]) and not isnan(r["p_value"])
        flags = remarks(r, redact, p_only)
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
        row.append(data_cell("; ".join(flags)))
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
