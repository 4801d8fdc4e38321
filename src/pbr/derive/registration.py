"""Late death registration: how long after the death the linked deaths were registered, by group x period.

The outcomes date a death by its occurrence (``date_of_death``), but an ONS extract holds only the
deaths registered by its cut-off, and a death referred to a coroner is registered when the inquest
ends, often months later (drug poisonings nearly always). A death late in the last outcome window
may therefore be missing, and if registration delays differ between pilot and other areas or
before and after April 2012 the DiD is biased. :func:`registration_lag_table` describes the delay
of the linked deaths the outcomes can count, and of the drug poisonings among them, per group x
period; its ``extract`` row gives the extract's latest registration date and how many days after
the end of the last outcome window it lies. The sensitivity that counts only deaths registered
within a set lag is :func:`pbr.derive.outcomes.registered_within`. This module imports no other
stage module, so that the linkage assessment that writes the table does not re-run when an outcome
definition changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Delays reported as shares: registered more than this many calendar months after the death.
LAG_MONTHS = (6, 12)
GROUPS = ("pilot", "other")
PERIODS = ("pre", "post")
#: The rows' kinds: the linked deaths the outcomes can count, the drug poisonings among them, and
#: every death in the extract (linked or not; group and period 'all').
KINDS = ("linked", "drug_poisoning", "extract")
LAG_COLUMNS = [
    "deaths",
    "group",
    "period",
    "n",
    "median_days",
    "p90_days",
    *[f"{what}_over_{m}_months" for m in LAG_MONTHS for what in ("n", "share")],
    "latest_registration",
    "days_after_last_window",
]


def drug_poisoning(deaths: pd.DataFrame, icd10_prefixes: list[str]) -> pd.Series:
    """Whether each death's underlying cause is a drug poisoning (ICD-10 prefix match, dots ignored);
    the drug-related-death outcome (:func:`pbr.derive.outcomes.drug_related_death`) reads it too."""
    cause = deaths["underlying_cause"].astype("string").str.upper().str.replace(".", "", regex=False)
    return cause.str.startswith(tuple(sorted(icd10_prefixes))).fillna(False).astype(bool)


def deaths_in_windows(journeys: pd.DataFrame, deaths: pd.DataFrame, window_days: int) -> pd.DataFrame:
    """The linked ``deaths`` dated on days 0..``window_days`` after the start of a study journey of
    their person (those the death outcome can count), each once, with the ``group`` and ``period``
    of the latest such journey (ties: the lower journey_id)."""
    study = journeys.loc[
        journeys["exclusion"].isna(), ["journey_id", "person_id", "start_date", "group", "period"]
    ]
    pairs = deaths.merge(study, on="person_id")
    day = (pairs["date_of_death"] - pairs["start_date"]).dt.days
    pairs = pairs[day.between(0, window_days)]
    pairs = pairs.sort_values(
        ["death_id", "start_date", "journey_id"], ascending=[True, False, True], kind="mergesort"
    )
    return pairs.drop_duplicates("death_id").drop(columns=["journey_id", "start_date"]).reset_index(drop=True)


def lag_summary(death_dates: pd.Series, registration_dates: pd.Series, last_window_end: pd.Timestamp) -> dict:
    """The registration delay of one set of deaths: n, median and 90th percentile in days (linear
    interpolation), the count and share registered more than each of :data:`LAG_MONTHS` calendar
    months after the death, the latest registration and its days after ``last_window_end``."""
    death_dates = pd.to_datetime(death_dates).reset_index(drop=True)
    registration_dates = pd.to_datetime(registration_dates).reset_index(drop=True)
    days = (registration_dates - death_dates).dt.days.to_numpy(dtype=float)
    n = len(days)
    out: dict = {"n": n}
    out["median_days"], out["p90_days"] = np.quantile(days, [0.5, 0.9]) if n else (np.nan, np.nan)
    for m in LAG_MONTHS:
        late = int((registration_dates > death_dates + pd.DateOffset(months=m)).sum())
        out[f"n_over_{m}_months"] = late
        out[f"share_over_{m}_months"] = late / n if n else np.nan
    latest = registration_dates.max() if n else pd.NaT
    out["latest_registration"] = latest
    out["days_after_last_window"] = (latest - last_window_end).days if n else np.nan
    return out


def registration_lag_table(
    journeys: pd.DataFrame,
    links: pd.DataFrame,
    extract: pd.DataFrame,
    threshold: float,
    post_end: str,
    window_days: int,
    icd10_prefixes: list[str],
) -> pd.DataFrame:
    """The registration delay (:data:`LAG_COLUMNS`) of the deaths linked at ``threshold`` that fall in
    a study journey's outcome window (:func:`deaths_in_windows`), and of the drug poisonings among
    them, per group x period (every cell, n = 0 where none); then one ``extract`` row over every
    death of the ONS ``extract`` (its date_of_death and date_of_registration). The last outcome
    window ends ``window_days`` after ``post_end``; ``days_after_last_window`` is how far the latest
    registration lies after it (negative: before)."""
    last_window_end = pd.Timestamp(post_end) + pd.Timedelta(days=int(window_days))
    linked = deaths_in_windows(journeys, links[links["match_probability"] >= threshold], window_days)
    kinds = {"linked": linked, "drug_poisoning": linked[drug_poisoning(linked, icd10_prefixes)]}
    rows = []
    for kind, deaths in kinds.items():
        for g in GROUPS:
            for p in PERIODS:
                cell = deaths[(deaths["group"] == g) & (deaths["period"] == p)]
                summary = lag_summary(cell["date_of_death"], cell["date_of_registration"], last_window_end)
                rows.append({"deaths": kind, "group": g, "period": p, **summary})
    whole = lag_summary(extract["date_of_death"], extract["date_of_registration"], last_window_end)
    rows.append({"deaths": "extract", "group": "all", "period": "all", **whole})
    out = pd.DataFrame(rows, columns=LAG_COLUMNS)
    out["latest_registration"] = pd.to_datetime(out["latest_registration"])
    return out.astype({"n": "int64", **{f"n_over_{m}_months": "int64" for m in LAG_MONTHS}})
