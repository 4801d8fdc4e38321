"""Derive stage, part 2: outcomes per journey, the analysis tables and raw rates.

Each outcome is a small function of the journeys (and linked registers) returning a
nullable 0/1 series: 1 or 0 inside its denominator, <NA> outside it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def successful_completion(journeys: pd.DataFrame, window_days: int, discharge_codes: list[int]) -> pd.Series:
    """1 if the journey ends with a completion code on or before day ``window_days`` after its start.

    Denominator: every journey. The start date is day 0, so with 365 a discharge on day
    365 counts and one on day 366 does not.
    """
    days = (journeys["end_date"] - journeys["start_date"]).dt.days
    done = journeys["discharge_reason"].isin(discharge_codes).fillna(False).astype(bool) & (
        days <= window_days
    ).fillna(False).astype(bool)
    return done.astype("Int64")


def drug_related_death(
    journeys: pd.DataFrame, deaths: pd.DataFrame, window_days: int, icd10_prefixes: list[str]
) -> pd.Series:
    """1 if a linked death with a drug-poisoning cause falls on days 0..``window_days`` after start.

    Denominator: every journey. ``deaths`` has one row per (person_id, death record)
    with date_of_death and underlying_cause; causes match on their ICD-10 prefix
    (3 or 4 characters, e.g. X42 matches X42 and X420).
    """
    cause = deaths["underlying_cause"].astype("string").str.upper().str.replace(".", "", regex=False)
    prefixes = tuple(sorted(icd10_prefixes))
    poison = deaths.loc[
        cause.map(lambda c: c.startswith(prefixes), na_action="ignore").fillna(False).astype(bool)
    ]
    pairs = journeys[["journey_id", "person_id", "start_date"]].merge(
        poison[["person_id", "date_of_death"]], on="person_id", how="inner"
    )
    days = (pairs["date_of_death"] - pairs["start_date"]).dt.days
    hit = pairs.loc[days.between(0, window_days), "journey_id"].unique()
    return pd.Series(journeys["journey_id"].isin(hit).astype("Int64").to_numpy(), index=journeys.index)


OUTCOME_FUNCTIONS = {
    "successful_completion": "journeys",
    "drug_related_death": "deaths",
}


def derive_outcomes(journeys: pd.DataFrame, deaths: pd.DataFrame, definitions: dict) -> pd.DataFrame:
    """The analysis table: journeys with one nullable 0/1 column per configured outcome."""
    out = journeys.copy()
    sc = definitions["successful_completion"]
    out["successful_completion"] = successful_completion(journeys, sc["window_days"], sc["discharge_codes"])
    dd = definitions["drug_related_death"]
    out["drug_related_death"] = drug_related_death(journeys, deaths, dd["window_days"], dd["icd10_prefixes"])
    return out


def outcome_rates(analysis: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Raw rates by cohort x group x period for each outcome (the paper's 2x2 tables).

    Columns: cohort, outcome, group, period, n (denominator), events, rate.
    """
    rows = []
    for outcome in outcomes:
        sub = analysis.loc[analysis[outcome].notna(), ["cohort", "group", "period", outcome]]
        agg = (
            sub.groupby(["cohort", "group", "period"], sort=True)[outcome].agg(["size", "sum"]).reset_index()
        )
        agg.columns = ["cohort", "group", "period", "n", "events"]
        agg.insert(1, "outcome", outcome)
        rows.append(agg)
    rates = pd.concat(rows, ignore_index=True)
    rates["n"] = rates["n"].astype("int64")
    rates["events"] = rates["events"].astype("int64")
    rates["rate"] = np.where(rates["n"] > 0, rates["events"] / rates["n"].clip(lower=1), np.nan)
    return rates
