"""Derive stage, part 2: outcomes per journey, baseline covariates, analysis tables, raw rates.

Each outcome of :mod:`pbr.registry.outcomes` is the function of its name here, returning a
nullable 0/1 series aligned with the journeys: 1 or 0 inside its denominator, <NA> outside
it; :func:`derive_outcomes` calls each with the inputs and settings its entry names. The
journey start is day 0; "within N days" means days 0..N inclusive. Every choice (windows,
codes) is a setting under ``outcomes:`` in the config, passed in as keyword arguments.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from pbr.contract import SUBSTANCE_TOP_COLUMN
from pbr.derive.registration import drug_poisoning
from pbr.errors import PipelineError
from pbr.frames import member_of
from pbr.registry import outcomes as outcome_registry
from pbr.registry.recall import recall_suffix
from pbr.registry.registers import REGISTERS

log = logging.getLogger(__name__)


class OutcomeError(PipelineError):
    """The outcomes cannot be derived (e.g. a cohort with no journey left after the exclusions)."""


def study_journeys(all_journeys: pd.DataFrame, cohort: str) -> pd.DataFrame:
    """The journeys of ``cohort`` in the study (no ``exclusion``); raises :class:`OutcomeError` if none.

    The message names the cohort and the exclusion reasons that removed its journeys (their
    counts are in the flow table, ``results/derive/flow_cohorts.parquet``), never a count.
    """
    in_cohort = all_journeys["cohort"] == cohort
    study = all_journeys[all_journeys["exclusion"].isna() & in_cohort]
    if len(study):
        return study
    reasons = all_journeys.loc[in_cohort, "exclusion"].dropna().unique().tolist()
    reason = (
        "its journeys were all excluded: " + "; ".join(sorted(reasons))
        if reasons
        else f"the extract holds no journey of this cohort (cohort {cohort!r}: "
        + ("primary substance alcohol" if cohort == "alcohol" else "primary substance other than alcohol")
        + ")"
    )
    raise OutcomeError(
        f"cohort {cohort!r} has no journey left in the study, so its outcomes cannot be derived: {reason}. "
        "The exclusions are counted in results/derive/flow_cohorts.parquet. Check the extract "
        "(referral dates, dates of birth, substances) and the study settings (study.pre_start, "
        "study.post_end, study.min_age), or remove the cohort from study.cohorts."
    )


def _days(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.days


def _flag(mask: pd.Series) -> pd.Series:
    """A boolean (possibly nullable) mask as 0/1 Int64, <NA> kept."""
    return mask.astype("boolean").astype("Int64")


def _within_denominator(value: pd.Series, denominator: pd.Series) -> pd.Series:
    """``value`` (0/1) where ``denominator`` is true, <NA> elsewhere."""
    out = _flag(value.fillna(False).astype(bool))
    return out.where(denominator.fillna(False).astype(bool), pd.NA)


def treatment_initiation(journeys: pd.DataFrame, max_days: int) -> pd.Series:
    """1 if a structured intervention started on days 0..``max_days`` after triage.

    Denominator: journeys with a triage date.
    """
    wait = _days(journeys["first_intervention_date"], journeys["triage_date"])
    return _within_denominator(wait.between(0, max_days), journeys["triage_date"].notna())


def waiting_over_3_weeks(journeys: pd.DataFrame, threshold_days: int) -> pd.Series:
    """1 if more than ``threshold_days`` passed from referral (journey start) to the first intervention.

    Denominator: journeys in which an intervention started.
    """
    wait = _days(journeys["first_intervention_date"], journeys["start_date"])
    return _within_denominator(wait > threshold_days, journeys["first_intervention_date"].notna())


def successful_completion(journeys: pd.DataFrame, window_days: int, discharge_codes: list[int]) -> pd.Series:
    """1 if the journey ends with a completion code on days 0..``window_days``. Denominator: all journeys."""
    days = _days(journeys["end_date"], journeys["start_date"])
    done = journeys["discharge_reason"].isin(discharge_codes).fillna(False).astype(bool) & days.le(
        window_days
    ).fillna(False).astype(bool)
    return _flag(done)


def next_journey_gap(journeys: pd.DataFrame, all_journeys: pd.DataFrame) -> pd.Series:
    """Days from each journey's end to the same person's next journey start (<NA> if none or open).

    ``all_journeys`` holds every journey of every person, in the study or not.
    """
    next_starts = all_journeys[["person_id", "journey_seq", "start_date"]].copy()
    # the next journey's start, keyed by the previous seq
    next_starts["journey_seq"] = next_starts["journey_seq"] - 1
    next_journey = journeys[["person_id", "journey_seq"]].merge(
        next_starts, on=["person_id", "journey_seq"], how="left"
    )
    return pd.Series(
        _days(next_journey["start_date"], journeys["end_date"].reset_index(drop=True)).to_numpy(),
        index=journeys.index,
    )


def representation(completed: pd.Series, gap_days: pd.Series, window_days: int) -> pd.Series:
    """1 if a completer started a new journey on days 0..``window_days`` after discharge. Denominator: completers."""
    return _within_denominator(gap_days.between(0, window_days), completed.eq(1))


def completion_without_representation(
    completed: pd.Series, gap_days: pd.Series, window_days: int
) -> pd.Series:
    """1 if completed and no new journey within ``window_days`` of discharge. Denominator: all journeys."""
    back = gap_days.between(0, window_days).fillna(False).astype(bool)
    return _flag(completed.eq(1).fillna(False).astype(bool) & ~back)


def declined_to_continue(journeys: pd.DataFrame, window_days: int, discharge_codes: list[int]) -> pd.Series:
    """Mason 2015: the journey ends with a 'declined' code on days 0..``window_days``. Denominator: all journeys."""
    return successful_completion(journeys, window_days, discharge_codes)


def retention(journeys: pd.DataFrame, min_days: int) -> pd.Series:
    """1 if the journey's treatment lasted at least ``min_days`` from its first intervention: no
    discharge, or a discharge ``min_days`` or more days after the first intervention (a death ends
    treatment as a discharge does). Denominator: journeys in which an intervention started."""
    started = journeys["first_intervention_date"].notna()
    days = _days(journeys["end_date"], journeys["first_intervention_date"])
    retained = journeys["end_date"].isna() | days.ge(min_days).fillna(False).astype(bool)
    return _within_denominator(retained, started)


def unplanned_discharge(journeys: pd.DataFrame, window_days: int, discharge_codes: list[int]) -> pd.Series:
    """1 if the journey ended with an unplanned-exit code (dropped out, withdrawn).

    Denominator: journeys in which an intervention started and that ended on days 0..``window_days``.
    """
    days = _days(journeys["end_date"], journeys["start_date"])
    discharged = journeys["first_intervention_date"].notna() & days.le(window_days).fillna(False).astype(bool)
    return _within_denominator(journeys["discharge_reason"].isin(discharge_codes), discharged)


def journey_tops(
    journeys: pd.DataFrame,
    top: pd.DataFrame,
    episode_journey: pd.DataFrame,
    start_max_days: int,
    review_min_days: int,
    review_max_days: int,
    review_target_days: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The start TOP and the review TOP of each journey (one row per journey_id each, or none).

    Start TOP: the earliest 'start' record dated days 0..``start_max_days``. Review TOP:
    the 'review' record dated days ``review_min_days``..``review_max_days`` closest to
    ``review_target_days`` (ties: the earlier, then the lower top_id).
    """
    # the journeys' own episodes first (joining the TOP table to every episode of both cohorts held rows
    # this cohort never uses); the same rows in the same order
    ours = episode_journey[member_of(episode_journey["journey_id"], journeys["journey_id"])]
    t = top.merge(ours, on="episode_id", how="inner")
    t = t.merge(journeys[["journey_id", "start_date"]], on="journey_id", how="inner")
    t["day"] = _days(t["top_date"], t["start_date"])
    start = t[(t["top_stage"] == "start") & t["day"].between(0, start_max_days)]
    start = start.sort_values(["journey_id", "day", "top_id"], kind="mergesort").drop_duplicates("journey_id")
    review = t[(t["top_stage"] == "review") & t["day"].between(review_min_days, review_max_days)].copy()
    review["dist"] = (review["day"] - review_target_days).abs()
    review = review.sort_values(["journey_id", "dist", "day", "top_id"], kind="mergesort").drop_duplicates(
        "journey_id"
    )
    return start.set_index("journey_id"), review.set_index("journey_id")


def _substance_days(journeys: pd.DataFrame, tops: pd.DataFrame) -> pd.Series:
    """Days of use, at the given TOP, of the journey's problem substances: the most over them.

    <NA> when the journey has no such TOP or none of its substances' days is recorded.
    """
    cols = sorted(set(SUBSTANCE_TOP_COLUMN.values()))
    position = {s: cols.index(c) for s, c in SUBSTANCE_TOP_COLUMN.items()}
    top_days = (
        tops.reindex(journeys["journey_id"])[cols].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    )
    days = np.full((len(journeys), 3), np.nan)
    for i, k in enumerate(("substance_1", "substance_2", "substance_3")):
        column_index = journeys[k].map(position)
        rows = np.flatnonzero(column_index.notna().to_numpy())
        days[rows, i] = top_days[rows, column_index.iloc[rows].astype(int).to_numpy()]
    return pd.Series(np.fmax.reduce(days, axis=1), index=journeys.index).astype("Float64")


def abstinence(journeys: pd.DataFrame, start_top: pd.DataFrame, review_top: pd.DataFrame) -> pd.Series:
    """1 if zero days of use of every problem substance at the review TOP.

    Denominator: journeys with a start TOP and a review TOP that records the substances.
    """
    use = _substance_days(journeys, review_top)
    has_start = journeys["journey_id"].isin(start_top.index).to_numpy()
    return _within_denominator(use.eq(0), pd.Series(has_start, index=journeys.index) & use.notna())


def non_injecting(journeys: pd.DataFrame, start_top: pd.DataFrame, review_top: pd.DataFrame) -> pd.Series:
    """1 if zero days injected at review. Denominator: injecting (days_injected > 0) at the start TOP, with a review."""
    start_inj = start_top["days_injected"].reindex(journeys["journey_id"]).to_numpy()
    review_inj = review_top["days_injected"].reindex(journeys["journey_id"]).to_numpy()
    start_inj = pd.Series(start_inj, index=journeys.index).astype("Float64")
    review_inj = pd.Series(review_inj, index=journeys.index).astype("Float64")
    return _within_denominator(review_inj.eq(0), start_inj.gt(0) & review_inj.notna())


def housing_problem(
    journeys: pd.DataFrame,
    start_top: pd.DataFrame,
    review_top: pd.DataFrame,
    among_start_problem: bool,
    requires_start_top: bool = True,
) -> pd.Series:
    """1 if an acute housing problem is recorded at review.

    Denominator: journeys with a review TOP recording it and, if ``requires_start_top`` (the
    default), a start TOP recording it too (and, if ``among_start_problem``, only those with a
    problem at the start).
    """
    start = pd.Series(
        start_top["acute_housing_problem"].reindex(journeys["journey_id"]).to_numpy(), index=journeys.index
    )
    review = pd.Series(
        review_top["acute_housing_problem"].reindex(journeys["journey_id"]).to_numpy(), index=journeys.index
    ).astype("boolean")
    denom = review.notna()
    if requires_start_top or among_start_problem:
        denom &= start.notna()
    if among_start_problem:
        denom &= start.astype("boolean").fillna(False)
    return _within_denominator(review, denom)


def register_event_within(
    journeys: pd.DataFrame, events: pd.DataFrame, date_col: str, window_days: int
) -> pd.Series:
    """1 if the person has a linked register event dated on days 0..``window_days`` after start.

    ``events`` has person_id and ``date_col``, already filtered to the relevant kind
    (drug-poisoning deaths, acquisitive offences). Denominator: all journeys.
    """
    pairs = journeys[["journey_id", "person_id", "start_date"]].merge(
        events[["person_id", date_col]], on="person_id"
    )
    linked_journeys = pairs.loc[
        _days(pairs[date_col], pairs["start_date"]).between(0, window_days), "journey_id"
    ].unique()
    return pd.Series(
        journeys["journey_id"].isin(linked_journeys).to_numpy(), index=journeys.index, dtype="Int64"
    )


def drug_related_death(
    journeys: pd.DataFrame, deaths: pd.DataFrame, window_days: int, icd10_prefixes: list[str]
) -> pd.Series:
    """1 if a linked death with a drug-poisoning cause (ICD-10 prefix match) falls on days 0..``window_days``."""
    poison = drug_poisoning(deaths, icd10_prefixes)
    return register_event_within(journeys, deaths.loc[poison], "date_of_death", window_days)


def registered_within(records: pd.DataFrame, register: str, days: int) -> pd.DataFrame:
    """The link-table ``records`` of ``register`` registered on days 0..``days`` after their event
    (e.g. deaths registered within ``days`` of the death); the register's ``event`` and ``registered``
    columns are named in :data:`pbr.registry.registers.REGISTERS`. A registration before its event is
    a contract error stopped at validation (the date-order check of docs/input-contract.md)."""
    spec = REGISTERS[register]
    missing = [c for c in (spec["event"], spec["registered"]) if c not in records.columns]
    if missing:
        raise OutcomeError(
            f"the {register} link table has no column {', '.join(missing)}, which the late-registration "
            f"sensitivity ({outcome_registry.REGISTRATION_SETTING}) reads: re-run the link stage, or set "
            f"the setting to null"
        )
    lag = _days(records[spec["registered"]], records[spec["event"]])
    return records[lag.le(days).fillna(False).astype(bool)]


def acquisitive_crime(
    journeys: pd.DataFrame, offences: pd.DataFrame, window_days: int, offence_groups: list[str]
) -> pd.Series:
    """1 if a linked proven offence in an acquisitive group is dated on days 0..``window_days`` after start."""
    acquisitive = offences["offence_group"].isin(offence_groups).fillna(False).astype(bool)
    return register_event_within(journeys, offences.loc[acquisitive], "offence_date", window_days)


def baseline_covariates(journeys: pd.DataFrame, start_top: pd.DataFrame) -> pd.DataFrame:
    """Start-TOP covariates, banded so that a missing TOP is its own category.

    baseline_use: days of use of the problem substances (0, 1-7, 8-20, 21-28, no_top);
    baseline_functioning: quality of life score (0-7, 8-13, 14-20, no_top).
    """
    use = _substance_days(journeys, start_top)
    quality_of_life = pd.Series(
        start_top["quality_of_life"].reindex(journeys["journey_id"]).to_numpy(), index=journeys.index
    )
    quality_of_life = quality_of_life.astype("Float64")
    out = pd.DataFrame(index=journeys.index)
    out["baseline_use"] = _band(use, [(0, 0, "0"), (1, 7, "1-7"), (8, 20, "8-20"), (21, 28, "21-28")])
    out["baseline_functioning"] = _band(quality_of_life, [(0, 7, "0-7"), (8, 13, "8-13"), (14, 20, "14-20")])
    out["baseline_days_use"] = use
    out["baseline_quality_of_life"] = quality_of_life
    return out


def _band(values: pd.Series, bands: list[tuple[float, float, str]]) -> pd.Series:
    out = pd.Series("no_top", index=values.index, dtype="string")
    for lo, hi, label in bands:
        out[values.between(lo, hi).fillna(False).astype(bool)] = label
    return out


def derive_outcomes(
    journeys: pd.DataFrame,
    all_journeys: pd.DataFrame,
    top: pd.DataFrame,
    episode_journey: pd.DataFrame,
    deaths: pd.DataFrame,
    offences: pd.DataFrame,
    definitions: dict,
    threshold: float = 0.0,
    sensitivity_thresholds: tuple[float, ...] = (),
    recall_thresholds: tuple[tuple[float, float], ...] = (),
) -> pd.DataFrame:
    """The analysis table: study journeys with baseline covariates and one 0/1/<NA> column per outcome.

    Every outcome of :mod:`pbr.registry.outcomes`, in registry order, by the function of
    its name here, given the inputs and settings its entry names (``definitions`` is the
    config's ``outcomes:`` section). ``deaths`` and ``offences`` are link tables with a
    ``match_probability``; linked outcomes use links at or above ``threshold``, and are
    repeated, as ``<outcome>_p<threshold>`` columns (e.g. drug_related_death_p050), at each
    sensitivity threshold, as ``<outcome>_r<recall>`` (e.g. drug_related_death_r060) at the
    equivalent threshold of each other assumed recall (``recall_thresholds``: (recall, threshold)
    pairs, :func:`pbr.registry.recall.recall_thresholds`), and, where the outcome's settings give a
    late-registration lag
    (:func:`pbr.registry.outcomes.registration_lag`), as ``<outcome>_reg<days>`` at ``threshold``
    counting only the records registered within that lag of their event (:func:`registered_within`).
    """
    t = definitions["top"]
    j = journeys.reset_index(drop=True).copy()
    start_top, review_top = journey_tops(
        j,
        top,
        episode_journey,
        t["start_max_days"],
        t["review_min_days"],
        t["review_max_days"],
        t["review_target_days"],
    )
    j = pd.concat([j, baseline_covariates(j, start_top)], axis=1)
    inputs: dict[str, object] = {"start_top": start_top, "review_top": review_top}
    links = {"deaths": deaths, "offences": offences}
    variants = [("", threshold), *((threshold_suffix(t), t) for t in sensitivity_thresholds)]
    variants += [(recall_suffix(r), t) for r, t in recall_thresholds]
    for suffix, t in variants:
        inputs |= {name: table[table["match_probability"] >= t] for name, table in links.items()}
        for entry in outcome_registry.OUTCOMES:
            if suffix and not entry.register:
                continue
            j[entry.name + suffix] = _derive_one(entry, j, all_journeys, inputs, definitions)
    main = {name: table[table["match_probability"] >= threshold] for name, table in links.items()}
    for entry, days in _registration_variants(definitions):
        register = str(entry.register)
        late = inputs | main | {register: registered_within(main[register], register, days)}
        j[entry.name + outcome_registry.registration_suffix(days)] = _derive_one(
            entry, j, all_journeys, late, definitions
        )
    return j


def linked_outcome_columns(
    journeys: pd.DataFrame, links: dict[str, pd.DataFrame], definitions: dict, names: tuple[str, ...]
) -> pd.DataFrame:
    """The linked outcomes ``names`` of ``journeys`` given one link set per register (``links``:
    register -> link table, every row a link, e.g. an imputed link set), as
    :func:`derive_outcomes` derives them from the links at the threshold."""
    j = journeys.reset_index(drop=True)
    entries = [e for e in outcome_registry.OUTCOMES if e.name in names and e.register]
    return pd.DataFrame(
        {e.name: _derive_one(e, j, j, dict(links), definitions) for e in entries}, index=j.index
    )


def _registration_variants(definitions: dict) -> list[tuple[outcome_registry.Outcome, int]]:
    """The linked outcomes with a late-registration sensitivity, and its lag in days."""
    lags = [
        (entry, outcome_registry.registration_lag(entry.name, definitions))
        for entry in outcome_registry.OUTCOMES
    ]
    return [(entry, days) for entry, days in lags if days is not None]


def _derive_one(
    entry: outcome_registry.Outcome,
    j: pd.DataFrame,
    all_journeys: pd.DataFrame,
    inputs: dict[str, object],
    definitions: dict,
) -> pd.Series:
    """One outcome's column: its function called with the inputs and settings its entry names."""
    if "gap" in entry.inputs and "gap" not in inputs:
        inputs["gap"] = next_journey_gap(j, all_journeys)
    args = [j if name == "journeys" else inputs[name] if name in inputs else j[name] for name in entry.inputs]
    settings = definitions[entry.settings] if entry.settings else {}
    settings = {k: v for k, v in settings.items() if k != outcome_registry.REGISTRATION_SETTING}
    derive = globals().get(entry.name)
    if not callable(derive):
        raise OutcomeError(
            f"outcome {entry.name!r} is registered (pbr.registry.outcomes) but pbr.derive.outcomes has no "
            f"function {entry.name}(): add it (docs/adding-an-outcome.md)"
        )
    return derive(*args, **settings)


def threshold_suffix(threshold: float) -> str:
    """Column suffix of an outcome derived at another linkage threshold: 0.5 -> '_p050', 0.99 -> '_p099'."""
    return f"_p{round(threshold * 100):03d}"


def _rates_by(analysis: pd.DataFrame, outcomes: list[str], keys: list[str]) -> pd.DataFrame:
    """n (denominator), events and rate of each outcome by ``keys``; empty cells absent."""
    rows = []
    for outcome in outcomes:
        sub = analysis.loc[analysis[outcome].notna(), [*keys, outcome]]
        agg = sub.groupby(keys, sort=True)[outcome].agg(["size", "sum"]).reset_index()
        agg.columns = [*keys, "n", "events"]
        agg.insert(1, "outcome", outcome)
        rows.append(agg)
    out = pd.concat(rows, ignore_index=True)
    out["n"] = out["n"].astype("int64")
    out["events"] = out["events"].astype("int64")
    out["rate"] = out["events"] / out["n"]
    return out


def outcome_rates(analysis: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Raw rates by cohort x group x period for each outcome (the paper's 2x2 tables).

    Columns: cohort, outcome, group, period, n (denominator), events, rate. A cell with
    no journey in the denominator is absent.
    """
    return _rates_by(analysis, outcomes, ["cohort", "group", "period"])


BASELINE_VARIABLES = [
    "age_group",
    "sex",
    "substance_group",
    "injecting",
    "previously_treated",
    "referral_source",
    "baseline_use",
    "baseline_functioning",
]


def baseline_table(analysis: pd.DataFrame, variables: list[str] = BASELINE_VARIABLES) -> pd.DataFrame:
    """Baseline characteristics by cohort x group x period (the paper's Table 1 shape).

    Long format: cohort, group, period, variable, level, n (journeys at that level),
    total (journeys in the cell), percent. Missing values are the level 'unknown'.
    """
    rows = []
    keys = ["cohort", "group", "period"]
    totals = analysis.groupby(keys, sort=True).size().rename("total")
    for var in variables:
        level = analysis[var].astype("string").fillna("unknown")
        counts = (
            analysis.groupby([*[analysis[k] for k in keys], level.rename("level")], sort=True)
            .size()
            .rename("n")
        )
        df = counts.reset_index().merge(totals.reset_index(), on=keys)
        df.insert(3, "variable", var)
        rows.append(df)
    out = pd.concat(rows, ignore_index=True)
    out["n"] = out["n"].astype("int64")
    out["total"] = out["total"].astype("int64")
    out["percent"] = 100 * out["n"] / out["total"]
    return out


def quarterly_rates(analysis: pd.DataFrame, outcomes: list[str]) -> pd.DataFrame:
    """Outcome rates by cohort x group x quarter of journey start (trend plots).

    Columns: cohort, outcome, group, quarter (0 = the first quarter of the pre-period),
    n, events, rate.
    """
    return _rates_by(analysis, outcomes, ["cohort", "group", "quarter"])
