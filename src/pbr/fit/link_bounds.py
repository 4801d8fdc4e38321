"""Bounds and a tipping point for the death and crime DiDs from the linkage's expected errors (issue #21).

The match probabilities say, per group x period cell, how many of a linked outcome's events
are expected to be false (an event from an accepted link of probability p counts 1 - p) and
how many are expected to be missed (a journey without the event, whose person has rejected
candidate units that would give it, counts the sum of their p, at most 1):
:func:`cell_event_errors`.

:func:`bounds_row` then gives the unadjusted (2 x 2 cell) DiD odds ratio on the observed
events and its range over every way of correcting the four cells (each cell's events less
its expected false ones, or plus its expected missed ones, or as observed: 3^4 corrections),
and the tipping point: the relative change of the pilot-post cell's events (a recall that
much higher or lower there than in the other cells) that moves the unadjusted odds ratio to
1. Unadjusted because the corrections are per cell, without covariates: a guide to how far
linkage error alone can move the estimate, not an interval.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from pbr.derive.outcomes import linked_outcome_columns

#: the design's cells, in the order the tipping point reads them
CELLS = (("pilot", "pre"), ("pilot", "post"), ("other", "pre"), ("other", "post"))


def _per_unit(frame: pd.DataFrame, unit: str, *columns: str) -> pd.DataFrame:
    """``frame`` with each of ``columns`` tagged by the row's candidate unit ('<id>|<unit>'), so an
    outcome derived from it is per (journey, candidate unit)."""
    tag = "|" + frame[unit].astype(str)
    return frame.assign(**{c: frame[c].astype(str) + tag for c in columns})


def cell_event_errors(
    journeys: pd.DataFrame,
    outcome: str,
    register: str,
    links: pd.DataFrame,
    candidates: pd.DataFrame,
    unit: str,
    threshold: float,
    definitions: dict,
) -> pd.DataFrame:
    """Per group x period of ``journeys`` (journey_id, person_id, start_date, group, period and the
    observed ``outcome``): journeys, events, expected false events and expected missed events of
    ``outcome``, read from ``register``'s link table (``links``) and candidate records."""
    j = journeys.reset_index(drop=True)
    observed = j[outcome].astype("Float64").fillna(0).to_numpy() == 1
    accepted = links[links["match_probability"] >= threshold].drop_duplicates("person_id")
    p_accepted = j["person_id"].map(accepted.set_index("person_id")["match_probability"])
    expected_false = np.where(observed, 1.0 - p_accepted.fillna(1.0).to_numpy(), 0.0)
    kept = pd.MultiIndex.from_frame(accepted[["person_id", unit]])
    rejected = candidates[~pd.MultiIndex.from_frame(candidates[["person_id", unit]]).isin(kept)]
    pairs = j[["journey_id", "person_id", "start_date"]].merge(
        rejected[["person_id", unit, "match_probability"]].drop_duplicates(["person_id", unit]),
        on="person_id",
    )
    missed = np.zeros(len(j))
    if len(pairs):
        events = linked_outcome_columns(
            _per_unit(pairs, unit, "journey_id", "person_id"),
            {register: _per_unit(rejected, unit, "person_id")},
            definitions,
            (outcome,),
        )[outcome]
        gain = pairs["match_probability"].to_numpy() * (events.fillna(0).to_numpy() == 1)
        per_journey = pd.Series(gain).groupby(pairs["journey_id"].to_numpy()).sum().clip(upper=1.0)
        missed = np.where(observed, 0.0, j["journey_id"].map(per_journey).fillna(0.0).to_numpy())
    frame = pd.DataFrame(
        {"group": j["group"], "period": j["period"], "journeys": j[outcome].notna().astype(int),
         "events": observed.astype(int), "expected_false": expected_false, "expected_missed": missed}
    )  # fmt: skip
    return frame.groupby(["group", "period"], as_index=False).sum()


def did_odds_ratio(events: dict, journeys: dict) -> float:
    """The unadjusted DiD odds ratio of four cells (``events`` and ``journeys`` by (group, period))."""
    odds = {c: events[c] / (journeys[c] - events[c]) for c in CELLS}
    return (odds[("pilot", "post")] / odds[("pilot", "pre")]) / (
        odds[("other", "post")] / odds[("other", "pre")]
    )


def bounds_row(cells: pd.DataFrame) -> dict:
    """The unadjusted DiD OR, its range over the 3^4 corrections of the cells' events by their
    expected false and missed events, and the tipping point of the pilot-post cell (module docstring)."""
    c = cells.set_index(["group", "period"])
    n = {k: float(c.loc[k, "journeys"]) for k in CELLS}
    e = {k: float(c.loc[k, "events"]) for k in CELLS}
    options = {
        k: (e[k], e[k] - c.loc[k, "expected_false"], e[k] + c.loc[k, "expected_missed"]) for k in CELLS
    }
    ors = []
    for combo in itertools.product(*(options[k] for k in CELLS)):
        corrected = dict(zip(CELLS, combo, strict=True))
        if all(0 < corrected[k] < n[k] for k in CELLS):
            ors.append(did_odds_ratio(corrected, n))
    observed = did_odds_ratio(e, n) if all(0 < e[k] < n[k] for k in CELLS) else math.nan
    return {
        "odds_ratio": observed,
        "low": min(ors) if ors else math.nan,
        "high": max(ors) if ors else math.nan,
        "tipping_change": _tipping_change(e, n),
    }


def _tipping_change(e: dict, n: dict) -> float:
    """The relative change of the pilot-post cell's events that makes the unadjusted DiD OR 1
    (e.g. -0.2: 20% fewer events there, as a recall 20% higher in that cell would have added)."""
    pp = ("pilot", "post")
    if not all(0 < e[k] < n[k] for k in CELLS):
        return math.nan
    odds = e[("pilot", "pre")] / (n[("pilot", "pre")] - e[("pilot", "pre")])
    odds *= (e[("other", "post")] / (n[("other", "post")] - e[("other", "post")])) / (
        e[("other", "pre")] / (n[("other", "pre")] - e[("other", "pre")])
    )
    events_at_one = n[pp] * odds / (1 + odds)
    return events_at_one / e[pp] - 1
