"""The top of the report: the findings box (which published findings the run reproduced) and the areas analysed."""

from __future__ import annotations

import re

import pandas as pd

from pbr.fit.multiplicity import holm
from pbr.registry.methods import METHOD_LABELS, SHORT_LABELS, may_decide
from pbr.registry.published import (
    PUBLISHED_PILOT_AREAS,
    PUBLISHED_UNADJUSTED_OR,
    RAW_RATE_TOLERANCE,
    UNADJUSTED_OR_TOLERANCE,
)
from pbr.registry.registers import NEGATIVE_CONTROL_PREFIX
from pbr.report.cells import format_interval, format_number, inside, isnan, label, unadjusted_odds_ratio
from pbr.report.estimates import PRETREND_NAMES
from pbr.report.final_report import direction_rows
from pbr.report.verdicts import VERDICT_OK, result_row, row_status, verdict
from pbr.synthetic.world import findings_statement


def _of(n_ok: int, n: int, n_all: int) -> str:
    """'3 of 4', or '3 of 4 assessed (of 6; 2 without a verdict, see below)'."""
    if n == n_all:
        return f"{n_ok} of {n}"
    return f"{n_ok} of {n} assessed (of {n_all}; {n_all - n} without a verdict, see below)"


def _tally(text: str, flags: list[bool], n_all: int, detail: str = "") -> dict:
    """A findings item counting ``flags`` (the rows that carry a verdict) out of ``n_all``."""
    if not flags:
        return _item(f"{text}: none of the {n_all} could carry a verdict (see below)", None, what=text)
    n_ok = sum(1 for f in flags if f)
    return _item(f"{text}: {_of(n_ok, len(flags), n_all)}", n_ok == len(flags), detail, what=text)


def summary_findings(
    rows: list[dict],
    rates_cmp: list[dict],
    robustness: dict,
    headline: str,
    synthetic: bool,
    areas: dict | None = None,
    redact=str,
    results: pd.DataFrame | None = None,
) -> list[dict]:
    """The list at the top: which published findings the run reproduced.

    Every verdict uses the headline method (``headline``) or, for the pre-trend and Mason 2015
    checks, that method's rows of those specifications in ``results``; CRV1 appears only in
    items "for reference" (``ok`` None, never a verdict). Each item names the method that made
    it (``method``), or, for a comparison of point estimates or rates, what it rests on
    (``basis``). The reproduction is stated in two steps: the point estimates against the
    published ones, then the conclusions under the headline method against those under CRV1.
    Only rows that carry a verdict (``row["verdict"].ok``) are counted; the rows not estimable
    and the rows without a verdict are items of their own, with their reasons. ``areas``
    (:func:`area_summary`): a pilot set other than the published eight is an item too.
    ``redact``: :meth:`Disclosure.redact`.
    """
    results = pd.DataFrame() if results is None else results
    out = []
    if areas and areas.get("warning"):
        out.append(_item(areas["finding"], False, "See the box above."))
    if not may_decide(headline):
        out.append(_headline_warning(headline))
    pub = [r for r in rows if r["published"] is not None]
    out += [x | {"basis": POINT_BASIS} for x in _point_items(pub)]
    out += _published_or_items(pub, headline)
    out += _conclusion_items([r for r in rows if r["published_significant"] is not None], headline)
    out += _not_significant_items([r for r in rows if r["not_significant"]], headline)
    out += _crv1_reference_items(pub)
    out += _multiplicity_items(rows, headline)
    out += _mason_items(results, robustness["mason"], headline)
    out += _final_report_items(rows, headline)
    out += [
        x | {"basis": "the raw rates beside the published ones (no test)"} for x in _raw_rate_items(rates_cmp)
    ]
    out += _pretrend_items(robustness.get("pretrend") or [], headline, redact)
    out += _negative_control_items(results, headline)
    if synthetic:
        out += _planted_items(rows, headline)
        out += _default_world_items(headline)
    out += _unassessed(rows, robustness["mason"], redact)
    return [{"method": "", "basis": ""} | x for x in out]


#: What decides the step-1 items: no inference method, the point estimates only.
POINT_BASIS = "the logit DiD point estimates beside the published ones (no interval or test)"


def _item(text: str, ok: bool | None, detail: str = "", method: str = "", what: str = "") -> dict:
    """A findings item; ``method``: the method that made its verdict ('' for none); ``what``: the
    verdict's name without its count (default ``text``)."""
    return {"text": text, "ok": ok, "detail": detail, "method": method, "what": what or text}


def _name(method: str) -> str:
    """A method's short label ('wild cluster score bootstrap')."""
    return SHORT_LABELS.get(method, method)


def _headline_warning(headline: str) -> dict:
    """The item shown when the configured headline method may not decide a verdict (CRV1)."""
    return _item(
        f"The headline method ({METHOD_LABELS.get(headline, headline)}) is configured "
        "(models.headline_method) but its size is not honest with few treated areas: the verdicts "
        "below use it only because the configuration says so",
        False,
        method=headline,
    )


def _point_items(pub: list[dict]) -> list[dict]:
    """Step 1 of the reproduction: the reproduced point estimates against the published ones
    (within the tolerance, inside the published interval, on the same side of 1). The ratio is
    shown to 3 decimals (1.105 must not read as the tolerance 1.10); a point estimate outside the
    tolerance whose headline interval holds the published OR is said to be within sampling error."""
    if not pub:
        return []
    assessed = [r for r in pub if r["verdict"].ok]
    tol = pub[0]["tolerance"]
    judged = [r for r in assessed if r["within_tolerance"] is not None]
    sampling = [r["outcome"] for r in judged if not r["within_tolerance"] and r["inside"]]
    return [
        _tally(
            f"Step 1, point estimates: reproduced OR within a factor {tol:.2f} of the published OR",
            [bool(r["within_tolerance"]) for r in judged],
            len(pub),
            "; ".join(
                f"{r['outcome']} {'✓' if r['within_tolerance'] else '✗'} (reproduced "
                f"{format_number(r['estimate'], 3)}, published {r['published']:.2f}, ratio "
                f"{format_number(r['ratio'], 3)})"
                for r in judged
            )
            + (
                f". Outside the factor but within sampling error (the published OR lies inside the "
                f"reproduced 95% interval, next item): {', '.join(sampling)}"
                if sampling
                else ""
            ),
        ),
        _tally(
            "Step 1, point estimates: reproduced OR inside the published 95% interval",
            [bool(r["inside_published"]) for r in assessed if r["inside_published"] is not None],
            len(pub),
        ),
        _tally(
            "Reproduced OR on the same side of 1 as the published OR",
            [(r["estimate"] - 1) * (r["published"] - 1) > 0 for r in assessed],
            len(pub),
        ),
    ]


def _published_or_items(pub: list[dict], headline: str) -> list[dict]:
    """The published ORs inside the headline interval."""
    if not pub:
        return []
    assessed = [r for r in pub if r["verdict"].ok]
    item = _tally(
        f"Published OR inside the reproduced 95% interval ({METHOD_LABELS.get(headline, headline)})",
        [bool(r["inside"]) for r in assessed],
        len(pub),
        "; ".join(
            f"{r['outcome']} {'✓' if r['inside'] else '✗'} (published {r['published']:.2f}, reproduced "
            f"{format_number(r['estimate'], 2)}, {format_interval(r['ci_low'], r['ci_high'], 2) or 'no interval'})"
            for r in assessed
        ),
    )
    return [item | {"method": headline}]


def _significance(flag: bool | None) -> str:
    return "significant" if flag else "not significant"


def conclusion_holds(r: dict) -> bool:
    """Step 2 for one DiD row with a verdict: the published conclusion holds under the headline
    method (significant on the published side of 1, or not significant, as published)."""
    same_side = r["published"] is None or (r["estimate"] - 1) * (r["published"] - 1) > 0
    return bool(r["significant"] and same_side) if r["published_significant"] else not r["significant"]


def _conclusion_items(judged: list[dict], headline: str) -> list[dict]:
    """Step 2 of the reproduction: the published conclusion (significant in its direction, or not
    significant) reached under the headline method; where CRV1 (for reference) says otherwise,
    the detail says so ("significant under CRV1, not under the score bootstrap")."""
    if not judged:
        return []
    assessed = [r for r in judged if r["verdict"].ok]
    flags, parts = [], []
    for r in assessed:
        same = conclusion_holds(r)
        flags.append(same)
        part = f"{r['outcome']} {'✓' if same else '✗'}: {_significance(r['significant'])} under the {_name(headline)}"
        if r["significant_crv1"] is not None and r["significant_crv1"] != r["significant"]:
            part = (
                f"{r['outcome']} {'✓' if same else '✗'}: {_significance(r['significant_crv1'])} under CRV1, "
                f"{'' if r['significant'] else 'not '}under the {_name(headline)}"
            )
        parts.append(part)
    item = _tally(
        f"Step 2, honest inference: the published conclusion (significant in the same direction, or not "
        f"significant) holds under the {_name(headline)}",
        flags,
        len(judged),
        "; ".join(parts),
    )
    return [item | {"method": headline}]


def _not_significant_items(not_significant: list[dict], headline: str) -> list[dict]:
    """The findings published as not significant whose reproduced (headline) interval includes 1."""
    if not not_significant:
        return []
    assessed = [r for r in not_significant if r["verdict"].ok and r["includes_one"] is not None]
    item = _tally(
        "Findings published as not significant whose reproduced interval includes 1",
        [bool(r["includes_one"]) for r in assessed],
        len(not_significant),
        "; ".join(f"{r['outcome']} {'✓' if r['includes_one'] else '✗'}" for r in assessed),
    )
    return [item | {"method": headline}]


def _crv1_reference_items(pub: list[dict]) -> list[dict]:
    """For reference only (never a verdict): the published ORs inside the CRV1 interval."""
    flags = [bool(r["inside_crv1"]) for r in pub if r["inside_crv1"] is not None]
    if not pub:
        return []
    return [
        _item(
            f"For reference only, not a verdict (CRV1 over-rejects with few treated areas): published OR "
            f"inside the CRV1 95% interval: {sum(flags)} of {len(flags)}",
            None,
            method="logit_crv1",
        )
    ]


def _multiplicity_items(rows: list[dict], headline: str) -> list[dict]:
    """How many findings (outcomes x cohorts with a verdict) stay significant after Holm and after
    the Romano-Wolf step-down (the headline rows' ``p_holm`` and ``p_romano_wolf``)."""
    assessed = [r for r in rows if r["verdict"].ok and not isnan(r["p_value"])]
    if not assessed:
        return []
    alpha = assessed[0]["alpha"]
    raw = [r for r in assessed if r["p_value"] < alpha]

    def after(key: str, name: str) -> str:
        flags = [r[f"significant_{key}"] for r in raw]
        if not raw:
            return f"{name}: none to adjust"
        if any(f is None for f in flags):
            return f"{name}: not computed for every finding"
        return f"after {name}: {sum(flags)}"

    lost = [
        f"{r['outcome']} ({r['cohort']}, p = {format_number(r['p_value'], 3)}, Holm "
        f"{format_number(r['p_holm'], 3) or '–'}, Romano-Wolf {format_number(r['p_romano_wolf'], 3) or '–'})"
        for r in raw
        if r["significant_holm"] is not True or r["significant_romano_wolf"] is not True
    ]
    return [
        _item(
            f"Multiplicity ({len(assessed)} findings, outcomes × cohorts): {len(raw)} significant at "
            f"p < {alpha:g} under the {_name(headline)}; {after('holm', 'Holm')}; "
            f"{after('romano_wolf', 'Romano-Wolf')}",
            None,
            ("Not significant after adjustment, or not adjusted: " + "; ".join(lost)) if lost else "",
            headline,
        )
    ]


def _mason_items(results: pd.DataFrame, mason: list[dict], headline: str) -> list[dict]:
    """The Mason 2015 ORs inside the reproduced interval: by the headline method's
    ``mason_2015`` rows in ``results`` when there are any (verdicts); else the robustness
    section's CRV1 checks (``mason``), for reference only."""
    checks = []
    for x in mason:
        r = (
            result_row(results, x["cohort"], x["outcome"], "mason_2015", headline)
            if not results.empty
            else None
        )
        if r is None:
            continue
        v = verdict(r)
        est = float(r["estimate"]) if v.kind != "not_estimable" else float("nan")
        ci = (float(r["ci_low"]), float(r["ci_high"])) if v.kind != "not_estimable" else (est, est)
        checks.append(
            x
            | {
                "estimate": est,
                "ci": ci,
                "verdict": v,
                "inside": inside(x["published"], *ci) if v.ok else None,
            }
        )
    if checks:
        return [_mason_item(checks) | {"method": headline}]
    if not mason:
        return []
    assessed = [x for x in mason if x.get("verdict", VERDICT_OK).ok]
    n_in = sum(1 for x in assessed if x["inside"])
    return [
        _item(
            f"For reference only, not a verdict (no {_name(headline)} fit of the Mason 2015 window): Mason 2015 "
            f"ORs inside the CRV1 interval: {n_in} of {len(assessed)}",
            None,
            method="logit_crv1",
        )
    ]


def _negative_control_items(results: pd.DataFrame, headline: str, alpha: float = 0.05) -> list[dict]:
    """The linkage's negative controls (rule fit_linkage_negative_control) showing no change in the
    pilots after April 2012 by the headline method (p >= ``alpha``); the changed ones named."""
    if results.empty:
        return []
    rows = results[
        results["specification"].str.startswith(NEGATIVE_CONTROL_PREFIX) & (results["method"] == headline)
    ]
    if rows.empty:
        return []
    judged = [(r, verdict(r)) for _, r in rows.iterrows()]
    flags = [float(r["p_value"]) >= alpha for r, v in judged if v.ok]
    changed = [
        f"{r['cohort']} {r['specification'].removeprefix(NEGATIVE_CONTROL_PREFIX)} "
        f"(OR {format_number(r['estimate'])}, p {format_number(r['p_value'])})"
        for r, v in judged
        if v.ok and float(r["p_value"]) < alpha
    ]
    detail = ("Changed: " + "; ".join(changed) + ". Read the death and crime DiDs with that in mind (the "
              "linkage section).") if changed else ""  # fmt: skip
    return [
        _tally(
            "Linkage negative controls showing no change in the pilots after April 2012",
            flags,
            len(judged),
            detail,
        )
        | {"method": headline}
    ]


def _mason_item(mason: list[dict]) -> dict:
    """The Mason 2015 ORs inside the reproduced interval (checks with a verdict only); Mason's own
    random-intercept model quoted beside each, for reference only (``random_intercept``)."""
    assessed = [x for x in mason if x.get("verdict", VERDICT_OK).ok]
    return _tally(
        "Mason 2015 ORs inside the reproduced interval (FY2011-12 vs FY2012-13 window)",
        [bool(x["inside"]) for x in assessed],
        len(mason),
        "; ".join(
            f"{label(x['outcome'])}: published {format_number(x['published'])}, "
            f"reproduced {format_number(x['estimate'])} ({format_interval(*x['ci'])})"
            + (f"; {x['random_intercept']}" if x.get("random_intercept") else "")
            for x in assessed
        ),
    )


def _raw_rate_items(rates_cmp: list[dict]) -> list[dict]:
    """Per outcome with published raw rates: the largest difference from them and the unadjusted
    DiD OR beside the published one; met when every shown rate is within
    :data:`RAW_RATE_TOLERANCE` of the published one and the unadjusted OR (when no rate is
    withheld) within :data:`UNADJUSTED_OR_TOLERANCE` (descriptive: no test)."""
    out = []
    for cmp in rates_cmp:
        pub_or = PUBLISHED_UNADJUSTED_OR.get(cmp["outcome"])
        diffs = []
        for (g, p), v in cmp["published"].items():
            rate = cmp["rates"].get((g, p))
            if rate is not None and not rate.hidden:
                diffs.append(abs(rate.value - v))
        if diffs:
            value = unadjusted_odds_ratio(cmp["rates"])
            or_ok = value is None or pub_or is None or abs(value - pub_or) <= UNADJUSTED_OR_TOLERANCE
            out.append(
                {
                    "text": f"Raw rates of {label(cmp['outcome']).lower()}: largest difference from the published "
                    f"rates {100 * max(diffs):.1f} percentage points (met within "
                    f"{100 * RAW_RATE_TOLERANCE:g}); unadjusted DiD OR {cmp['unadjusted']} "
                    f"(published {pub_or}; met within {UNADJUSTED_OR_TOLERANCE:g})",
                    "ok": max(diffs) <= RAW_RATE_TOLERANCE + 1e-12 and or_ok,
                    "detail": "",
                }
            )
    return out


def _pretrend_items(pretrend: list[dict], headline: str, redact) -> list[dict]:
    """The pre-trend tests (the robustness section's, one dict per event study:
    :func:`pbr.report.estimates.pretrend_tests` with cohort and outcome): the family's verdict
    after Holm's adjustment first, then, per deciding method, the tests that flag a pre-trend
    alone, named; without any test allowed to decide, the CRV1 tests for reference only."""
    if not pretrend:
        return []
    method = pretrend[0]["method"]
    if any(x["tested"] for x in pretrend):
        usable = [x for x in pretrend if x["detected"] is not None]
        rank = {
            m: min(len(x.get("passed_over", [])) for x in usable if x["method"] == m)
            for m in {x["method"] for x in usable}
        }
        by_method = sorted(rank, key=lambda m: (rank[m], m)) or [method]
        items = [
            _pretrend_item([x for x in usable if x["method"] == m], m, len(by_method) > 1) for m in by_method
        ]
        detail = "; ".join(
            f"{label(x['outcome'])} ({x['cohort']}): not estimable ({redact(x['reason'])})"
            for x in pretrend
            if x["tested"] and x["detected"] is None
        )
        items[0]["detail"] = "; ".join(d for d in (items[0]["detail"], detail) if d)
        return _pretrend_family_items(usable, by_method[0]) + items
    crv1_p = [x["p_crv1"] for x in pretrend]
    bad_pre = [p for p in crv1_p if p is not None and not isnan(p) and p < 0.05]
    return [
        _item(
            f"For reference only, not a verdict (no {_name(method)} pre-trend test in this run; the CRV1 "
            f"test over-rejects with few treated areas): CRV1 pre-trend tests with p < 0.05: "
            f"{len(bad_pre)} of {len(pretrend)}",
            None,
            method="logit_crv1",
        )
    ]


def _pretrend_family_items(tests: list[dict], lead: str) -> list[dict]:
    """The verdict on the pre-trend tests as a family: a pre-trend where one stays after Holm's
    adjustment across them (the family-wise error held at ``alpha`` whatever the tests'
    dependence, each test's size measured in the simulation study), beside how many were
    flagged before adjustment and how many chance alone flags with no pre-trend anywhere."""
    if not tests:
        return []
    alpha = float(tests[0].get("alpha", 0.05))
    p = holm([x["verdict_p"] for x in tests])
    kept = [x for x, q in zip(tests, p, strict=True) if q < alpha]
    flagged = sum(bool(x["detected"]) for x in tests)
    what = f"Pre-trend across the {len(tests)} pre-trend test{'s' if len(tests) != 1 else ''} after Holm's adjustment"
    text = f"{what}: {len(kept)}"
    if kept:
        text += " (" + ", ".join(f"{label(x['outcome'])} ({x['cohort']})" for x in kept) + ")"
    detail = (
        f"{flagged} of {len(tests)} flagged at p < {alpha:g} before adjustment, where chance alone flags "
        f"{len(tests) * alpha:.2g} on average with no pre-trend anywhere"
    )
    return [_item(text, not kept, detail, lead, "Pre-trend tests after Holm's adjustment")]


def _pretrend_item(tests: list[dict], method: str, several: bool) -> dict:
    """The pre-trend tests one method decided: how many flag a pre-trend at the level, each
    test alone (the robustness table's verdicts; the family's verdict is Holm's), named; with
    ``several`` deciding methods, it says the others decided where this one could not."""
    bad = [x for x in tests if x["detected"]]
    what = f"Pre-trend tests ({PRETREND_NAMES.get(method, _name(method))})"
    text = f"{what} flagging a pre-trend, each test alone: {len(bad)} of {len(tests)}"
    if bad:
        text += " (" + ", ".join(f"{label(x['outcome'])} ({x['cohort']})" for x in bad) + ")"
    passed = list(
        dict.fromkeys(PRETREND_NAMES.get(m, _name(m)) for x in tests for m, _ in x.get("passed_over", []))
    )
    detail = (
        f"decided here because {', '.join(passed)} could not be computed or reach the level"
        if passed and several
        else ""
    )
    return _item(text, None, detail, method, what)


def _final_report_items(rows: list[dict], headline: str) -> list[dict]:
    """The final report's (2017) directions reproduced under the headline method
    (:mod:`pbr.report.final_report`); findings whose row carries no verdict, or that the run did
    not analyse, are counted as such, with the reason."""
    found = direction_rows(rows)
    judged = [d for d in found if d["reproduced"] is not None]
    detail = "; ".join(
        f"{label(d['outcome'])} ({d['cohort']}, {d['direction']}) "
        + ("✓" if d["reproduced"] else "✗" if d["reproduced"] is not None else f"– {d['why']}")
        for d in found
    )
    item = _tally(
        "Final report (2017): directions reproduced (significant in the published direction, or not significant "
        "where it found no change)",
        [bool(d["reproduced"]) for d in judged],
        len(found),
        detail,
    )
    return [item | {"method": headline}]


def _planted_items(rows: list[dict], headline: str) -> list[dict]:
    """Synthetic data: the planted ORs inside the headline interval (rows with a verdict; the
    headline method only, never CRV1 nor raw-coefficient RI)."""
    planted_rows = [
        r
        for r in rows
        if r["planted"] is not None and r["planted_inside"] is not None and r["method"] == headline
    ]
    if not planted_rows:
        return []
    n_ok = sum(1 for r in planted_rows if r["planted_inside"])
    raw = [r for r in rows if r.get("planted_raw") is not None and r["planted"] is None]
    not_compared = (
        "; not compared: "
        + ", ".join(f"{r['outcome']} ({r['cohort']}, raw {format_number(r['planted_raw'], 2)})" for r in raw)
        + " (planted as raw DiD ORs; the covariate-adjusted DiD estimates another OR when the pilots'"
        " case mix changes)"
        if raw
        else ""
    )
    return [
        _item(
            f"Synthetic check: planted OR inside the headline interval ({_name(headline)}): {n_ok} of "
            f"{len(planted_rows)}",
            n_ok == len(planted_rows),
            "; ".join(
                f"{r['outcome']} ({r['cohort']}) {'✓' if r['planted_inside'] else '✗'} (planted "
                f"{format_number(r['planted'], 2)}, {format_interval(r['ci_low'], r['ci_high'], 2)})"
                for r in planted_rows
            )
            + not_compared,
            headline,
            "Synthetic check: planted OR inside the headline interval",
        )
    ]


def _default_world_items(headline: str) -> list[dict]:
    """Synthetic data: the published figures the generator's default world does not meet when
    judged by the report's headline method (:func:`pbr.synthetic.world.findings_statement`; none
    when it meets them all). No verdict on this run: a statement about the generator, measured by
    its calibration bench."""
    statement = findings_statement(headline)
    if statement is None:
        return []
    return [
        _item(statement["text"], None, statement["detail"], what="Synthetic data: the default world")
        | {"basis": "the generator's calibration bench at its defaults (docs/synthetic.md), not this run"}
    ]


def _unassessed(rows: list[dict], mason: list[dict], redact) -> list[dict]:
    """Findings items for the DiD rows not estimable and those without a verdict (with reasons)."""
    out = []
    not_estimable_rows = [r for r in rows if r["verdict"].kind == "not_estimable"]
    if not_estimable_rows:
        out.append(
            {
                "text": f"Not estimable (not counted above): {len(not_estimable_rows)} of {len(rows)} DiD models",
                "ok": None,
                "detail": "; ".join(
                    f"{r['outcome']} ({r['cohort']}): "
                    + (redact(r["status_reason"] or r["verdict"].detail) or "no estimate")
                    for r in not_estimable_rows
                ),
            }
        )
    no_verdict_rows = [r for r in rows if r["verdict"].kind == "no_verdict"]
    no_verdict_mason = [x for x in mason if not x.get("verdict", VERDICT_OK).ok]
    if no_verdict_rows or no_verdict_mason:
        parts = [
            f"{r['outcome']} ({r['cohort']}): {r['verdict'].label} ({r['verdict'].text(redact)})"
            for r in no_verdict_rows
        ]
        parts += [
            f"{label(x['outcome'])}, Mason 2015 window: {x['verdict'].label} ({x.get('reason', '')})"
            for x in no_verdict_mason
        ]
        out.append(
            {
                "text": "Too few events or interval too wide for a verdict (not counted above): "
                f"{len(no_verdict_rows)} of {len(rows)} DiD models"
                + (f" and {len(no_verdict_mason)} Mason 2015 check(s)" if no_verdict_mason else ""),
                "ok": None,
                "detail": "; ".join(parts),
            }
        )
    return out


# ---------------------------------------------------------------------------------------
# The areas analysed


def _norm_name(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\s*\(.*\)\s*$", "", str(name))).strip().casefold()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def area_summary(results: pd.DataFrame, areas: pd.DataFrame, flow: pd.DataFrame, config: dict) -> dict:
    """The pilot and comparison areas this run analysed, beside the published study's eight.

    Counts: the most pilot (``n_treated_clusters``) and comparison (``n_clusters`` minus
    those) areas in any main logit model, i.e. the areas present in the analysed data; else
    the area lookup; else (comparison areas) the extract's "areas kept" flow row minus the
    pilots. Names: the lookup's pilot areas (``area_name``; a sub-area that alone piloted is
    named when the partial-pilot rule splits the area). ``warning`` is set when the analysed
    pilot set is not the published eight (another number, or other names).
    """
    pilot_m, comparison_m = _model_areas(results)
    names, lookup_pilot, lookup_other = _lookup_areas(areas, flow, config, pilot_m)
    pilot = pilot_m if pilot_m is not None else lookup_pilot
    comparison = comparison_m if comparison_m is not None else lookup_other
    published = list(PUBLISHED_PILOT_AREAS)
    n_pub = len(published)
    got = {_norm_name(x) for x in names}
    want = {_norm_name(x): x for x in published}
    missing = [want[k] for k in want if names and k not in got]
    extra = [x for x in names if _norm_name(x) not in want]
    differs = (pilot is not None and pilot != n_pub) or (lookup_pilot is not None and lookup_pilot != n_pub)
    differs = differs or bool(missing or extra)
    warning = finding = None
    if differs:
        n = pilot if pilot is not None else lookup_pilot
        assert n is not None  # differs needs a pilot count: names (missing, extra) come from the lookup
        warning = _area_warning(n, published, names, missing, extra, lookup_pilot, pilot_m)
        finding = f"Pilot areas: this run analysed {n}, the published study eight"
    phrase = "a few pilot areas" if pilot is None else _plural(pilot, "pilot area")
    if pilot is None:
        description = "the number of pilot areas could not be determined"
    else:
        description = phrase + (f" ({', '.join(names)})" if names else "")
    if comparison is not None:
        description += f" and {_plural(comparison, 'comparison area')}"
    return {
        "pilot": pilot,
        "comparison": comparison,
        "names": names,
        "lookup_pilot": lookup_pilot,
        "published": published,
        "published_count": "eight" if n_pub == 8 else str(n_pub),
        "missing": missing,
        "extra": extra,
        "differs": differs,
        "warning": warning,
        "finding": finding,
        "pilot_phrase": phrase,
        "description": description,
    }


def _model_areas(results: pd.DataFrame) -> tuple[int | None, int | None]:
    """The most pilot and comparison areas in any estimable main logit model; None without them."""
    pilot_m = comparison_m = None
    if not results.empty and {"n_treated_clusters", "n_clusters"} <= set(results.columns):
        main = results[(results["specification"] == "main") & (results["method"] == "logit_crv1")]
        main = (
            main[[row_status(r) != "not_estimable" for _, r in main.iterrows()]] if not main.empty else main
        )
        if not main.empty and main["n_treated_clusters"].notna().any():
            pilot_m = int(main["n_treated_clusters"].max())
            comparison_m = int((main["n_clusters"] - main["n_treated_clusters"]).max())
    return pilot_m, comparison_m


def _lookup_areas(
    areas: pd.DataFrame, flow: pd.DataFrame, config: dict, pilot_m: int | None
) -> tuple[list[str], int | None, int | None]:
    """The area lookup's pilot area names (sorted) and its pilot and comparison counts; without
    a lookup, the comparison areas are the flow's areas kept minus the models' pilots."""
    names: list[str] = []
    lookup_pilot = lookup_other = None
    if not areas.empty and "pilot" in areas.columns:
        is_pilot = areas["pilot"].astype("boolean").fillna(False).astype(bool)
        lookup_pilot, lookup_other = int(is_pilot.sum()), int((~is_pilot).sum())
        split = config.get("study", {}).get("partial_pilot_rule", "whole_area_pilot") != "whole_area_pilot"
        for _, a in areas[is_pilot].iterrows():
            name = a.get("area_name")
            name = str(a["area_code"]) if isnan(name) or not str(name).strip() else str(name).strip()
            sub = a.get("pilot_sub_area")
            if split and not isnan(sub) and str(sub).strip():
                name += f" ({str(sub).replace('_', ' ').title()} only)"
            names.append(name)
        names.sort(key=str.casefold)
    elif not flow.empty and lookup_other is None:
        kept = flow[(flow["table"] == "areas") & (flow["action"] == "kept")]
        if not kept.empty and pilot_m is not None:
            lookup_other = int(kept["n"].sum()) - pilot_m
    return names, lookup_pilot, lookup_other


def _area_warning(
    n: int,
    published: list[str],
    names: list[str],
    missing: list[str],
    extra: list[str],
    lookup_pilot: int | None,
    pilot_m: int | None,
) -> str:
    """The box above the findings when the run's ``n`` pilot areas are not the published eight."""
    warning = f"This run analysed {_plural(n, 'pilot area')}; the published study had eight: {', '.join(published)}."
    if names:
        warning += f" Pilot areas in this run's area lookup: {', '.join(names)}."
    if missing:
        warning += f" Not among them: {', '.join(missing)}."
    if extra:
        warning += f" Not in the published study: {', '.join(extra)}."
    if lookup_pilot is not None and pilot_m is not None and lookup_pilot != pilot_m:
        warning += (
            f" The area lookup lists {_plural(lookup_pilot, 'pilot area')}, the models found "
            f"{pilot_m} with analysable journeys."
        )
    if n == 1:
        warning += (
            " With a single pilot area the difference-in-differences rests on one area: "
            "cluster-robust and bootstrap intervals cannot be trusted."
        )
    warning += " The comparison with the published odds ratios below is not like for like."
    return warning
