"""Derive stage, part 1: treatment journeys and study cohorts from linked episodes.

A journey is a person's run of episodes: the next episode continues the journey when
it is referred within ``transfer_gap_days`` after a discharge whose reason is a
transfer (``transfer_codes``); otherwise it starts a new journey. The journey starts at
its first referral, ends at its last discharge, and takes its area, agency and client
profile from its first episode and its discharge reason from its last.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pbr.flow import flow_frame, flow_row

log = logging.getLogger(__name__)

OPIATES = {"heroin", "methadone", "other_opiate"}
SUBSTANCE_GROUPS = {
    "heroin": "opiate",
    "methadone": "opiate",
    "other_opiate": "opiate",
    "crack": "crack_cocaine",
    "cocaine": "crack_cocaine",
    "amphetamine": "other_drug",
    "cannabis": "cannabis",
    "benzodiazepine": "other_drug",
    "other": "other_drug",
    "alcohol": "alcohol",
}
AGE_BANDS = [(18, 24), (25, 29), (30, 34), (35, 39), (40, 44), (45, 49), (50, 200)]


def assign_journeys(
    episodes: pd.DataFrame, transfer_codes: list[int], transfer_gap_days: int
) -> pd.DataFrame:
    """Episodes with ``journey_seq`` and ``journey_id`` (person id + sequence) added.

    The next episode continues the journey when its referral falls 0..``transfer_gap_days``
    days after the previous episode's discharge and that discharge's reason is a transfer.
    """
    ep = episodes.sort_values(["person_id", "referral_date", "episode_id"], kind="mergesort").reset_index(
        drop=True
    )
    same_person = ep["person_id"].eq(ep["person_id"].shift())
    prev_reason = ep["discharge_reason"].shift()
    gap = (ep["referral_date"] - ep["discharge_date"].shift()).dt.days
    continues = (
        same_person
        & prev_reason.isin(transfer_codes).fillna(False).astype(bool)
        & gap.between(0, transfer_gap_days).fillna(False).astype(bool)
    )
    ep["journey_seq"] = (~continues).astype("int64").groupby(ep["person_id"]).cumsum()
    ep["journey_id"] = (ep["person_id"] + "-" + ep["journey_seq"].astype(str).str.zfill(3)).astype("string")
    return ep


def summarise_journeys(ep: pd.DataFrame) -> pd.DataFrame:
    """One row per journey from episodes carrying ``journey_id`` (see :func:`assign_journeys`).

    Columns: journey_id, person_id, journey_seq, n_episodes, start_date, end_date,
    discharge_reason, triage_date, first_intervention_date, area_code, sub_area,
    agency_id, the first episode's client profile, and age_at_start.
    """
    g = ep.groupby("journey_id", sort=True)
    first = g.head(1).set_index("journey_id")
    last = g.tail(1).set_index("journey_id")
    j = pd.DataFrame(index=first.index)
    j["person_id"] = first["person_id"]
    j["journey_seq"] = first["journey_seq"].astype("int64")
    j["n_episodes"] = g.size().astype("int64")
    j["start_date"] = first["referral_date"]
    j["end_date"] = last["discharge_date"]
    j["discharge_reason"] = last["discharge_reason"]
    j["triage_date"] = first["triage_date"]
    j["first_intervention_date"] = g["first_intervention_date"].min()
    for col in PROFILE_COLUMNS:
        j[col] = first[col]
    j["age_at_start"] = first["age_at_referral"]
    return j.reset_index()


def build_journeys(episodes: pd.DataFrame, transfer_codes: list[int], transfer_gap_days: int) -> pd.DataFrame:
    """One row per journey from de-identified episodes (:func:`assign_journeys` then :func:`summarise_journeys`)."""
    return summarise_journeys(assign_journeys(episodes, transfer_codes, transfer_gap_days))


PROFILE_COLUMNS = [
    "area_code",
    "sub_area",
    "agency_id",
    "sex",
    "substance_1",
    "substance_2",
    "substance_3",
    "route",
    "injecting_status",
    "referral_source",
    "previously_treated",
    "accommodation_need",
    "employment",
]


PARTIAL_PILOT_RULES = ("whole_area_pilot", "sub_area_pilot_rest_other", "sub_area_pilot_rest_excluded")


def assign_study_fields(
    journeys: pd.DataFrame,
    areas: pd.DataFrame,
    pre_start: str,
    post_start: str,
    post_end: str,
    partial_pilot_rule: str = "whole_area_pilot",
) -> pd.DataFrame:
    """Add cohort, pilot flag, group, analysis area, period (pre/post/outside) and covariate groupings.

    ``partial_pilot_rule`` says how an area that piloted only in part (``pilot_sub_area``
    in the lookup; Kent: West Kent) is treated: ``whole_area_pilot`` counts the whole area
    as pilot; ``sub_area_pilot_rest_other`` splits it into two analysis areas, the pilot
    sub-area and the rest as a comparison area; ``sub_area_pilot_rest_excluded`` splits
    it and marks the rest for exclusion (``partial_rest`` = True).
    """
    if partial_pilot_rule not in PARTIAL_PILOT_RULES:
        raise ValueError(
            f"partial_pilot_rule must be one of {PARTIAL_PILOT_RULES}, got {partial_pilot_rule!r}"
        )
    j = journeys.copy()
    j["cohort"] = np.where(j["substance_1"].eq("alcohol").fillna(False), "alcohol", "drug")
    lookup = areas.set_index("area_code")
    pilot = j["area_code"].map(lookup["pilot"].astype("boolean")).fillna(False).astype(bool)
    sub = j["area_code"].map(lookup["pilot_sub_area"].astype("string")).astype("string")
    split = sub.notna() & (partial_pilot_rule != "whole_area_pilot")
    in_sub = (j["sub_area"].astype("string") == sub).fillna(False).astype(bool)
    j["pilot"] = pilot & (~split | in_sub)
    j["partial_rest"] = split & ~in_sub
    j["analysis_area"] = j["area_code"].astype("string")
    j.loc[split, "analysis_area"] = j.loc[split, "area_code"] + np.where(
        in_sub[split], ":" + sub[split], ":rest"
    )
    j["group"] = np.where(j["pilot"], "pilot", "other")
    pre, post, end = pd.Timestamp(pre_start), pd.Timestamp(post_start), pd.Timestamp(post_end)
    j["period"] = np.select(
        [
            (j["start_date"] >= pre) & (j["start_date"] < post),
            (j["start_date"] >= post) & (j["start_date"] <= end),
        ],
        ["pre", "post"],
        default="outside",
    )
    j["post"] = (j["period"] == "post").astype("int64")
    j["did"] = (j["pilot"] & (j["period"] == "post")).astype("int64")
    for unit in ("quarter", "half_year", "year"):
        j[unit] = _financial_period(j["start_date"], pre, unit)
    j["substance_group"] = j["substance_1"].map(SUBSTANCE_GROUPS).astype("string")
    j["injecting"] = j["injecting_status"].fillna("unknown").astype("string")
    j["age_group"] = _age_group(j["age_at_start"])
    return j


def _financial_period(dates: pd.Series, origin: pd.Timestamp, unit: str) -> pd.Series:
    """Index of the quarter / half-year / year since ``origin`` (0-based; negative before)."""
    months = (dates.dt.year - origin.year) * 12 + (dates.dt.month - origin.month)
    size = {"quarter": 3, "half_year": 6, "year": 12}[unit]
    return np.floor_divide(months, size).astype("int64")


def _age_group(age: pd.Series) -> pd.Series:
    labels = pd.Series(pd.NA, index=age.index, dtype="string")
    for lo, hi in AGE_BANDS:
        label = f"{lo}+" if hi >= 200 else f"{lo}-{hi}"
        labels[(age >= lo) & (age <= hi)] = label
    return labels


def flag_exclusions(
    journeys: pd.DataFrame, cohorts: list[str], min_age: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark each journey's first exclusion reason (``exclusion``; <NA> = in the study).

    Reasons, in order: starts outside the study windows; under ``min_age`` or age
    unknown; in the part of a partially piloted area that is excluded; cohort not
    analysed. Every journey is counted once in the flow table, by reason, cohort, group
    and period, so that kept + dropped = all journeys. All journeys are returned:
    outcomes such as re-presentation look at a person's later journeys, in study or not.
    """
    steps = [
        ("starts outside the study windows", journeys["period"] == "outside"),
        (
            f"aged under {min_age} at journey start or age unknown",
            ~(journeys["age_at_start"] >= min_age).fillna(False),
        ),
        ("in the excluded part of a partially piloted area", journeys["partial_rest"].astype(bool)),
        ("cohort not analysed", ~journeys["cohort"].isin(cohorts)),
    ]
    out = journeys.copy()
    out["exclusion"] = pd.Series(pd.NA, index=out.index, dtype="string")
    for reason, drop in steps:
        out.loc[out["exclusion"].isna() & drop.astype(bool), "exclusion"] = reason
    rows = []
    for reason, _ in steps:
        rows += _counted(out[out["exclusion"] == reason], "dropped", reason)
    rows += _counted(out[out["exclusion"].isna()], "kept", "in a study cohort")
    log.info("cohorts: %d of %d journeys in the study", out["exclusion"].isna().sum(), len(out))
    return out, flow_frame(rows)


def _counted(df: pd.DataFrame, action: str, reason: str) -> list[dict]:
    """Flow rows counting ``df`` by cohort x group x period (one zero row if empty)."""
    if df.empty:
        return [flow_row("derive", "cohorts", "journeys", "journeys", action, reason, 0)]
    counts = df.groupby(["cohort", "group", "period"], sort=True).size()
    return [
        flow_row("derive", "cohorts", "journeys", "journeys", action, reason, n, cohort=c, group=g, period=p)
        for (c, g, p), n in counts.items()
    ]
