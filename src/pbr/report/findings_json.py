"""findings.json: the report's verdicts as data, one record per published finding.

The report's findings box and DiD table say, for each published odds ratio, what was
reproduced and whether the published finding holds. :func:`findings_document` gives the
same as a JSON-ready dict: the run (config hash, commit, data source, headline method), the
rules every verdict applies (with their constants), the findings box item by item, and one
record per cohort x outcome with the published value and interval, the reproduced value and
interval (headline method), the CRV1 interval (for reference only), each step's flag and the
verdict with its reason. Counts inside free text pass the report's disclosure rule
(``redact``); no count of journeys is written, so nothing here is smaller than the report shows.
"""

from __future__ import annotations

import math

from pbr.report.cells import METHOD_LABELS, isnan
from pbr.report.final_report import RULE, direction_record, direction_rows
from pbr.report.findings import conclusion_holds
from pbr.report.verdicts import MAX_CI_RATIO, MAX_PLAUSIBLE_OR, MIN_CELL_EVENTS

#: Version of the document's layout; raise it when a key changes meaning or goes.
SCHEMA_VERSION = 1


def _num(x) -> float | None:
    """A JSON number, or None for missing and non-finite values."""
    if isnan(x):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _flag(x) -> bool | None:
    return None if x is None or isnan(x) else bool(x)


def rules(tolerance: float, headline: str, confidence: float) -> dict[str, str]:
    """The rules the verdicts apply, in words, with their constants."""
    name = METHOD_LABELS.get(headline, headline)
    return {
        "point_within_tolerance": (
            f"step 1: the reproduced OR is within a factor {tolerance:g} of the published OR, either way"
        ),
        "estimate_inside_published_ci": "step 1: the reproduced OR lies inside the published 95% interval",
        "published_inside_reproduced_ci": (
            f"the published OR lies inside the reproduced {confidence:.0%} interval of the headline method ({name})"
        ),
        "conclusion_holds": (
            "step 2: the published conclusion (significant in the same direction, or not significant) holds "
            f"under the headline method ({name})"
        ),
        "verdict_allowed": (
            f"a row carries a verdict only when its fit is estimable, every pilot/other x pre/post cell has at least "
            f"{MIN_CELL_EVENTS} events and non-events, its interval is bounded with upper/lower at most "
            f"{MAX_CI_RATIO:g}, and the estimate and interval lie within {1 / MAX_PLAUSIBLE_OR:g} to "
            f"{MAX_PLAUSIBLE_OR:g}"
        ),
        "crv1": "CRV1 intervals are shown for reference only and never decide a verdict (few treated areas)",
        "final_report_direction": f"the final report's (2017) direction: {RULE}",
    }


def _verdict(r: dict) -> tuple[str, str]:
    """The finding's verdict and the rule that made it (a key of :func:`rules`), as the DiD table
    marks it: a published OR inside the reproduced interval; for a finding published as not
    significant, the published conclusion holding (the reproduced interval includes 1)."""
    v = r["verdict"]
    rule = "conclusion_holds" if r["published"] is None else "published_inside_reproduced_ci"
    if v.kind == "not_estimable":
        return "not estimable", rule
    flag = (conclusion_holds(r) if v.ok else None) if r["published"] is None else r["inside"]
    if not v.ok or flag is None:
        return "no verdict", rule
    return ("reproduced" if flag else "not reproduced"), rule


def finding_record(r: dict, redact=str) -> dict:
    """One published finding (a DiD row of :func:`pbr.report.did.did_rows`) as a JSON-ready dict."""
    v = r["verdict"]
    verdict, rule = _verdict(r)
    return {
        "cohort": r["cohort"],
        "outcome": r["outcome_key"],
        "outcome_label": r["outcome"],
        "published": {
            "source": r["published_source"],
            "odds_ratio": _num(r["published"]),
            "ci_low": _num(r["published_low"]),
            "ci_high": _num(r["published_high"]),
            "significant": _flag(r.get("published_significant")),
        },
        "reproduced": {
            "method": r["method"],
            "method_label": METHOD_LABELS.get(r["method"], r["method"]),
            "odds_ratio": _num(r["estimate"]),
            "ci_low": _num(r["ci_low"]),
            "ci_high": _num(r["ci_high"]),
            "p_value": _num(r["p_value"]),
            "p_holm": _num(r.get("p_holm")),
            "p_romano_wolf": _num(r.get("p_romano_wolf")),
            "significant": _flag(r["significant"]),
        },
        "crv1_reference": {
            "ci_low": _num(r["crv1_low"]),
            "ci_high": _num(r["crv1_high"]),
            "p_value": _num(r["crv1_p"]),
        },
        "point_ratio": _num(r.get("ratio")),
        "point_within_tolerance": _flag(r.get("within_tolerance")),
        "estimate_inside_published_ci": _flag(r.get("inside_published")),
        "published_inside_reproduced_ci": _flag(r["inside"]),
        "conclusion_holds": conclusion_holds(r) if v.ok else None,
        "verdict": verdict,
        "verdict_rule": rule,
        "verdict_reason": v.text(redact) if not v.ok else "",
        "planted_odds_ratio": _num(r.get("planted")),
    }


def summary_record(item: dict) -> dict:
    """One item of the findings box: its text, verdict ('reproduced', 'not reproduced', or
    'not a verdict' for items shown for reference) and what decided it."""
    ok = item.get("ok")
    return {
        "finding": item.get("what") or item["text"],
        "text": item["text"],
        "verdict": "not a verdict" if ok is None else ("reproduced" if ok else "not reproduced"),
        "detail": item.get("detail", ""),
        "method": item.get("method", ""),
        "basis": item.get("basis", ""),
    }


def findings_document(context: dict, redact=str) -> dict:
    """The JSON document of the report whose template context is ``context``
    (:func:`pbr.report.render._context`): run, rules, findings box and one record per finding."""
    config = context["config"]
    headline = context["headline"]
    tolerance = float(config["report"]["reproduction_tolerance"])
    confidence = float(config["models"].get("confidence_level", 0.95))
    rows = [r for r in context["did_rows"] if r["published"] is not None or r.get("not_significant")]
    return {
        "schema_version": SCHEMA_VERSION,
        "run": {
            "config_hash": context["config_hash"],
            "commit": context["commit"],
            "data_source": config["data"]["source"],
            "headline_method": headline,
            "headline_label": context["headline_label"],
            "confidence_level": confidence,
            "reproduction_tolerance": tolerance,
        },
        "rules": rules(tolerance, headline, confidence),
        "summary": [summary_record(f) for f in context["findings"]],
        "findings": [finding_record(r, redact) for r in rows],
        "final_report": [direction_record(d) for d in direction_rows(context["did_rows"])],
    }
