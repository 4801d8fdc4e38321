"""Composition and adjustment checks: did the scheme change who is in each outcome's denominator?

Initiation fell sharply in the pilots (published OR 0.17), so outcomes downstream of it
condition on who started treatment, and the start-TOP covariates are recorded after the
journey starts, so they may respond to the scheme (issue 19). Two tables:

- the DiD of each baseline covariate's mix (outcome ``mix:<covariate>=<level>``: the share of
  journeys in that level) and of each denominator share (``denominator:<name>``), in
  percentage points: the LPM restricted wild cluster bootstrap (``lpm_wcb_webb``) first, CRV1
  beside for reference; covariates recorded after the journey starts are flagged (config
  ``models.robustness.post_start_covariates``);
- the main DiD with its covariates, with every covariate (``all_covariates``: for an outcome
  decided at the start, whose main model leaves out the start TOP), with demographics only
  (``demographics``) and with none (``unadjusted``): the OR with the headline interval for each.
"""

from __future__ import annotations

import pandas as pd

from pbr.fit.spec import leaves_out_covariates
from pbr.report.cells import data_cell, label, table
from pbr.report.checks import (
    HEADLINE_METHOD,
    REFERENCE_METHOD,
    Check,
    check_cells,
    check_head,
    grouped_rows,
    model_check,
    spec_check,
)
from pbr.report.verdicts import result_row

#: The start-TOP covariates when the config names none (recorded after the journey starts).
DEFAULT_POST_START_COVARIATES = ("baseline_use", "baseline_functioning")
MIX, DENOMINATOR = "mix:", "denominator:"
#: The adjustment specifications beside main, and what each adjusts for.
ADJUSTMENTS = {
    "main": "every covariate (main)",
    "all_covariates": "every covariate, start TOP included",
    "demographics": "demographics only",
    "unadjusted": "none",
}
#: The main specification's words for an outcome decided at the start, fitted without the start TOP.
MAIN_BEFORE_START = "recorded before the start (main)"


def post_start_covariates(config: dict) -> list[str]:
    """The covariates recorded after the journey starts (flagged as possibly affected by the scheme)."""
    rob = config["models"].get("robustness", {}) or {}
    return list(rob.get("post_start_covariates", DEFAULT_POST_START_COVARIATES))


def share_name(outcome: str) -> tuple[str, str]:
    """(covariate or '', words) of a composition outcome: 'mix:sex=female' -> ('sex', 'sex: female')."""
    if outcome.startswith(MIX):
        covariate, _, level = outcome.removeprefix(MIX).partition("=")
        return covariate, f"{covariate.replace('_', ' ')}: {level.replace('_', ' ')}"
    name = outcome.removeprefix(DENOMINATOR)
    return "", f"denominator: {label(name)}"


def _share_key(outcome: str) -> tuple[int, str]:
    """Denominators first, then the covariate mixes, each alphabetically."""
    return (0 if outcome.startswith(DENOMINATOR) else 1, outcome)


def composition_table(results: pd.DataFrame, cohorts: list[str], config: dict, redact=str) -> dict | None:
    """The DiD of every covariate-mix and denominator share, in percentage points (None without any)."""
    comp = results[results["specification"] == "composition"]
    flagged = set(post_start_covariates(config))
    body: list = []
    for c in cohorts:
        shares = sorted(set(comp.loc[comp["cohort"] == c, "outcome"]), key=_share_key)
        checks: list[Check] = []
        for o in shares:
            covariate, words = share_name(o)
            head = result_row(comp, c, o, "composition", HEADLINE_METHOD["risk_difference"])
            ref = result_row(comp, c, o, "composition", REFERENCE_METHOD["risk_difference"])
            text = (
                "recorded at the start TOP, after the journey starts: may respond to the scheme"
                if covariate in flagged
                else ""
            )
            checks.append(model_check(words, head, ref, text, redact, digits=2, factor=100.0))
        body += [
            ([data_cell(c, rowspan=len(checks))] if i == 0 else []) + check_cells(check)
            for i, check in enumerate(checks)
        ]
    if not body:
        return None
    return table(
        "Composition: DiD in the share of journeys in each covariate level and in each outcome's "
        "denominator (percentage points); LPM restricted wild cluster bootstrap first, CRV1 for reference only",
        check_head("DiD (pp)", ("Cohort", "Share")),
        body,
        tid="tbl-composition",
        note="A share that changed in the pilots after the start means the outcomes measured on it compare "
        "different mixes of clients; a covariate recorded after the journey starts may itself respond to "
        "the scheme, so adjusting for it can absorb part of the effect.",
    )


def adjustment_table(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], config: dict, redact=str
) -> dict | None:
    """The main DiD with every covariate, demographics only and none: OR, headline interval, p."""
    flagged = ", ".join(x.replace("_", " ") for x in post_start_covariates(config))
    demographics = config["models"].get("robustness", {}).get("demographic_covariates")
    body: list = []
    for c in cohorts:
        for o in outcomes:
            specs = set(results.loc[(results["cohort"] == c) & (results["outcome"] == o), "specification"])
            if not specs & {"unadjusted", "demographics", "all_covariates"}:
                continue
            checks = []
            before_start = leaves_out_covariates(o, config["models"])
            for spec, words in ADJUSTMENTS.items():
                if spec == "main" and before_start:
                    words = MAIN_BEFORE_START
                text = {
                    "main": (
                        f"an outcome decided at the start: the start-TOP covariates ({flagged}) are left out "
                        "(models.start_outcome_covariates)"
                        if before_start
                        else f"includes covariates recorded after the journey starts ({flagged}): possibly "
                        "affected by the scheme"
                    ),
                    "all_covariates": f"the start TOP is mostly recorded when an intervention starts, so "
                    f"adjusting for {flagged} partly adjusts for the outcome",
                    "demographics": ", ".join(demographics) if demographics else "",
                }.get(spec, "")
                check = spec_check(results, c, o, spec, f"Covariates: {words}", text, redact)
                if check is not None:
                    checks.append(check)
            body += grouped_rows(c, o, checks)
    if not body:
        return None
    return table(
        "Adjustment: the DiD odds ratio with the main covariates, with every covariate, with demographics "
        "only and unadjusted; headline (wild cluster score bootstrap) interval first, CRV1 for reference only",
        check_head("OR", ("Cohort", "Outcome", "Covariates")),
        body,
        tid="tbl-adjustment",
    )


def composition_section(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], config: dict, redact=str
) -> dict:
    """The composition (``mix``) and adjustment (``adjustment``) tables, each None without rows."""
    return {
        "mix": composition_table(results, cohorts, config, redact),
        "adjustment": adjustment_table(results, cohorts, outcomes, config, redact),
        "post_start": post_start_covariates(config),
    }
