"""Timing checks: outcome windows that straddle the pilots' start.

An outcome read up to 12 months after the journey start is partly observed under PbR for a
journey that started in the 12 months before the pilots began (April 2011 - March 2012 with
the published dates), which also makes the event study's reference period and the placebo's
"post" period partly treated (issue 19). The fit adds three specifications: ``donut``
(journeys whose outcome window crosses the start dropped), ``event_study_pretrend_clear``
(the joint pre-trend test of an event study whose reference period is clear of the start)
and ``placebo_clear`` (a placebo whose post period is clear of the start). Each is shown
beside its standard counterpart, the headline method first and CRV1 for reference only.
"""

from __future__ import annotations

import pandas as pd

from pbr.report.cells import table
from pbr.report.checks import Check, check_head, grouped_rows, spec_check
from pbr.report.estimates import pretrend_check, pretrend_methods, pretrend_tests

TIMING_SPECS = ("donut", "placebo_clear", "event_study_pretrend_clear")
#: The longest outcome window the explanation speaks of, in months.
WINDOW_MONTHS = 12


def straddle_text(config: dict) -> str:
    """Why the timing checks exist, with the run's dates."""
    start = pd.Timestamp(config["study"]["post_start"])
    first = start - pd.DateOffset(months=WINDOW_MONTHS)
    last = start - pd.DateOffset(days=1)
    return (
        f"Outcomes are read up to {WINDOW_MONTHS} months after the journey starts, so the "
        f"{WINDOW_MONTHS}-month outcome windows of journeys starting from {first:%B %Y} to {last:%B %Y}, "
        f"before the pilots began on {start:%-d %B %Y}, run into the PbR period: those outcomes are partly "
        "observed under PbR, and the event study's reference period and the placebo's post period are "
        "partly treated. The donut fit drops the journeys whose outcome window crosses the start; the "
        "clear-of-start event study and placebo use reference and placebo periods whose outcome windows "
        "end before it."
    )


def _timing_checks(results: pd.DataFrame, c: str, o: str, config: dict, tests: dict, redact) -> list[Check]:
    """The timing checks of one cohort x outcome, each beside its standard counterpart."""
    specs = set(results.loc[(results["cohort"] == c) & (results["outcome"] == o), "specification"])
    start = config["study"]["post_start"]
    placebo = config["models"]["robustness"]["placebo_start"]
    candidates = [
        spec_check(results, c, o, "main", "Main specification", redact=redact),
        spec_check(
            results,
            c,
            o,
            "donut",
            f"Donut: journeys whose outcome window crosses {start} dropped",
            redact=redact,
        ),
        *(
            spec_check(results, c, o, s, f"Placebo start ({placebo})", "expect an OR near 1", redact)
            for s in sorted(x for x in specs if x.startswith("placebo") and x != "placebo_clear")
        ),
        spec_check(
            results, c, o, "placebo_clear", "Placebo clear of the start", "expect an OR near 1", redact
        ),
    ]
    checks = [x for x in candidates if x is not None]
    for spec, name in (
        ("event_study_pretrend", "Pre-trend test (all pre-period bins)"),
        ("event_study_pretrend_clear", "Pre-trend test (pre-period clear of the start)"),
    ):
        if (c, o) in tests[spec]:
            checks.append(pretrend_check(tests[spec][(c, o)], name))
    return checks


def timing_section(
    results: pd.DataFrame,
    cohorts: list[str],
    outcomes: list[str],
    config: dict,
    redact=str,
    sizes: pd.DataFrame | None = None,
) -> dict:
    """The timing table (``table``, None without a timing specification) and its explanation (``text``);
    the pre-trend verdicts by :func:`pbr.report.estimates.pretrend_methods`."""
    alpha = 1 - float(config["models"].get("confidence_level", 0.95))
    order = pretrend_methods(sizes, config)
    tests = {
        spec: pretrend_tests(results, spec, alpha, order)
        for spec in ("event_study_pretrend", "event_study_pretrend_clear")
    }
    body: list = []
    for c in cohorts:
        for o in outcomes:
            s = results[(results["cohort"] == c) & (results["outcome"] == o)]
            if not set(s["specification"]) & set(TIMING_SPECS):
                continue
            body += grouped_rows(c, o, _timing_checks(results, c, o, config, tests, redact))
    tbl = (
        table(
            "Timing: outcome windows that straddle the start; headline (wild cluster score bootstrap) "
            "interval and p first, CRV1 for reference only",
            check_head("OR", ("Cohort", "Outcome", "Check")),
            body,
            tid="tbl-timing",
        )
        if body
        else None
    )
    return {"table": tbl, "text": straddle_text(config)}
