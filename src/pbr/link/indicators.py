"""Linkage quality without the truth: what a real-data user can see, per group x period.

The match probabilities of the link stage say how many of its decisions are expected to be
wrong, in every cell of the design, without any truth to score against (issue #21; they
assume the probabilities are calibrated, which ``bench/bench_linkage.py`` measures on
synthetic data). Per study journey and register, from its person's links and candidate pairs:

- ``linked``: the person has a link at or above the threshold;
- ``grey``: a link's probability lies in the grey zone (``GREY_ZONE``, 0.2 <= p < 0.9),
  where the decision is least certain;
- ``expected_false``: the sum of 1 - p over the person's accepted links (0 without one; a
  person links one unit, or more where several NDTMS clients share it,
  :func:`pbr.link.matching.unit_capacity`): the expected wrong links;
- ``expected_missed``: the sum of p over the person's rejected candidate pairs (below the
  threshold, or losing the assignment to a likelier pair): the expected true links left out.

:func:`cell_indicators` sums them by register x cohort x group x period, with the link rate
and the rate the probabilities imply ((linked - expected false + expected missed) /
journeys). A DiD of the per-journey indicators (the rule ``fit_linkage_negative_control``)
is a negative control: linkage that got better or worse in the pilots after April 2012
shows up there, whatever the outcomes did.

:func:`attributor_completeness` counts, per area and month of referral, the NDTMS episodes
whose attributor is incomplete (an initial or the date of birth missing), which the link
stage cannot link and drops (counted in the flow table): counts only, no identifier.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: the grey zone of match probabilities: lo <= p < hi
GREY_ZONE = (0.2, 0.9)

#: the per-journey indicators, in table order
JOURNEY_INDICATORS = ("linked", "grey", "expected_false", "expected_missed")

#: the columns of results/link/indicators.parquet
INDICATOR_COLUMNS = (
    "register", "cohort", "group", "period", "journeys", "linked", "grey", "expected_false",
    "expected_missed", "link_rate", "grey_share", "implied_rate",
)  # fmt: skip


def person_link_indicators(
    links: pd.DataFrame,
    pairs: pd.DataFrame,
    unit: str,
    threshold: float,
    grey_zone: tuple[float, float] = GREY_ZONE,
) -> pd.DataFrame:
    """Per person with a candidate pair: the indicators of :data:`JOURNEY_INDICATORS` (person_id-indexed).

    ``links``: the register's link table (person_id, ``unit``, match_probability; one unit per
    person or more, several rows per unit allowed); ``pairs``: its candidate (person, unit) pairs
    (left_id, right_id, match_probability).
    """
    units = links.drop_duplicates(["person_id", unit])
    accepted = units[units["match_probability"] >= threshold]
    p = accepted["match_probability"]
    lo, hi = grey_zone
    per_person = accepted.assign(grey=((p >= lo) & (p < hi)).astype(np.int64), false=1.0 - p)
    per_person = per_person.groupby("person_id").agg(grey=("grey", "max"), false=("false", "sum"))
    out = pd.DataFrame(index=pd.Index(pairs["left_id"].unique(), name="person_id"))
    out["linked"] = out.index.isin(accepted["person_id"]).astype(np.int64)
    out["grey"] = per_person["grey"].reindex(out.index).fillna(0).to_numpy(dtype=np.int64)
    out["expected_false"] = per_person["false"].reindex(out.index).fillna(0.0).to_numpy()
    kept = pd.MultiIndex.from_frame(accepted[["person_id", unit]])
    rejected = ~pd.MultiIndex.from_arrays([pairs["left_id"], pairs["right_id"]]).isin(kept)
    missed = pairs.loc[rejected].groupby("left_id")["match_probability"].sum()
    out["expected_missed"] = missed.reindex(out.index).fillna(0.0).to_numpy()
    return out


def journey_link_indicators(journeys: pd.DataFrame, persons: pd.DataFrame, register: str) -> pd.DataFrame:
    """The study journeys (journey_id, cohort, group, period) with their person's indicators for
    ``register`` as ``<indicator>_<register>`` columns (0 for a person without candidate pairs)."""
    study = journeys.loc[
        journeys["exclusion"].isna(), ["journey_id", "person_id", "cohort", "group", "period"]
    ]
    values = persons.reindex(study["person_id"]).fillna(0.0)
    out = study.drop(columns="person_id").reset_index(drop=True)
    for name in JOURNEY_INDICATORS:
        out[f"{name}_{register}"] = values[name].to_numpy()
    return out


def cell_indicators(
    journeys: pd.DataFrame,
    links: dict[str, pd.DataFrame],
    pairs: dict[str, pd.DataFrame],
    units: dict[str, str],
    threshold: float,
    grey_zone: tuple[float, float] = GREY_ZONE,
) -> pd.DataFrame:
    """Per register x cohort x group x period: study journeys, and the sums of the journeys'
    indicators, with the link rate, the grey share of links and the implied rate (columns
    :data:`INDICATOR_COLUMNS`). ``units`` names each register's unit column."""
    rows = []
    for register in sorted(links):
        persons = person_link_indicators(
            links[register], pairs[register], units[register], threshold, grey_zone
        )
        per_journey = journey_link_indicators(journeys, persons, register)
        sums = per_journey.groupby(["cohort", "group", "period"])[
            [f"{name}_{register}" for name in JOURNEY_INDICATORS]
        ].sum()
        sums.columns = list(JOURNEY_INDICATORS)
        sums.insert(0, "journeys", per_journey.groupby(["cohort", "group", "period"]).size())
        rows.append(sums.reset_index().assign(register=register))
    out = pd.concat(rows, ignore_index=True)
    out["link_rate"] = out["linked"] / out["journeys"]
    out["grey_share"] = (out["grey"] / out["linked"]).where(out["linked"] > 0)
    out["implied_rate"] = (out["linked"] - out["expected_false"] + out["expected_missed"]) / out["journeys"]
    for count in ("journeys", "linked", "grey"):
        out[count] = out[count].astype(np.int64)
    return out[list(INDICATOR_COLUMNS)]


#: the look-back of the prior-offence negative control: an offence on days 1..365 before the start
PRIOR_DAYS = 365


def negative_control(
    name: str,
    journeys: pd.DataFrame,
    links: pd.DataFrame,
    pairs: pd.DataFrame,
    unit: str,
    threshold: float,
    event: str | None = None,
) -> pd.Series:
    """The 0/1/<NA> column of negative control ``name`` (:data:`pbr.registry.registers.NEGATIVE_CONTROLS`)
    for ``journeys`` (person_id, start_date), <NA> outside its denominator.

    ``grey_<register>``: among journeys whose person has a link at or above ``threshold``, 1 if its
    probability lies in :data:`GREY_ZONE`. ``prior_offence``: 1 if a link at or above ``threshold``
    carries an ``event`` date (offence_date) on days 1..:data:`PRIOR_DAYS` before the start.
    """
    if name.startswith("grey_"):
        persons = person_link_indicators(links, pairs, unit, threshold)
        linked = persons["linked"].reindex(journeys["person_id"]).fillna(0).to_numpy() == 1
        grey = persons["grey"].reindex(journeys["person_id"]).fillna(0).to_numpy()
        return pd.Series(pd.array(np.where(linked, grey, pd.NA), dtype="Int64"), index=journeys.index)
    if name == "prior_offence":
        if event is None:
            raise ValueError("the prior-offence negative control needs the register's event date column")
        accepted = links.loc[links["match_probability"] >= threshold, ["person_id", event]]
        pairs_ = journeys[["person_id", "start_date"]].reset_index().merge(accepted, on="person_id")
        before = (pd.to_datetime(pairs_["start_date"]) - pd.to_datetime(pairs_[event])).dt.days
        hit = pairs_.loc[before.between(1, PRIOR_DAYS), "index"].unique()
        return pd.Series(journeys.index.isin(hit).astype(np.int64), index=journeys.index, dtype="Int64")
    raise ValueError(f"unknown negative control {name!r} (pbr.registry.registers.NEGATIVE_CONTROLS)")
