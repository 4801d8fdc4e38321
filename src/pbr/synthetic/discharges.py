"""Retention and unplanned discharges: the final report's (2017) directions, planted after the
journeys, episodes and TOP schedule are drawn, so that every other outcome's data stay as they were.

The month loop already decides how long each journey lasts and how it ends (with the planted
effects on completion). Here, in the pilot areas' post-window journeys only, some journeys are
changed so that each cohort's raw DiD odds ratio (pilot/other x pre/post, study journeys, the
study's default definitions) of

- ``retention`` (still in treatment :data:`RETENTION_DAYS` after the first intervention, among
  starters) reaches its planted OR: journeys that started treatment and ended before day
  :data:`RETENTION_DAYS` after it with an unplanned or custody code (85, 86, 87) are discharged
  later instead, on a day after it but before the journey's day :data:`UNPLANNED_WINDOW` - 3, the
  person's next journey and death (only lengthened: when the loop's own DiD already exceeds the
  planted OR, nothing changes and the record's ``needed`` is negative);
- ``unplanned_discharge`` (code 85 or 86 among starters discharged on days 0..:data:`UNPLANNED_WINDOW`)
  reaches its planted OR: such journeys ending 87 (retained in custody) are recoded 85 or 86, or,
  when the loop's own effect (fewer completions) already overshoots it, 85 or 86 recoded 87.

Neither change touches a completion, a transfer (83, 84), a death (89), a non-starter (88), the
dates the month loop drew for the next journey or a death, or any random stream but its own
(``Streams.discharges``): the other outcomes' records are unchanged. What moves, besides the
discharge date or reason of the journey's last episode: the date of a lengthened journey's exit
TOP (dated at its discharge; the TOP rows keep the order, and so the answers, they were drawn
in: :func:`pbr.synthetic.top.top_table`'s ``drawn_end``). A lengthened journey has no review TOP in the added days (the
schedule was drawn on its first length), so a retained pilot-post journey has slightly fewer
reviews than it would: abstinence and the other review outcomes are as before by construction.

The planted ORs are placeholders, not published values (the final report gave directions only):
:class:`pbr.synthetic.params.CohortEffects` ``retention`` and ``unplanned_discharge``. The baseline
rates are the loop's own, not calibrated targets: calibrating them would redraw every journey's
length and so every other outcome's data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbr.synthetic.dates import NA
from pbr.synthetic.episodes import Episodes
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.params import SyntheticParams
from pbr.synthetic.population import Population

#: the study's default ``outcomes.retention.min_days`` (12 weeks)
RETENTION_DAYS = 84
#: the study's default ``outcomes.unplanned_discharge.window_days`` and ``discharge_codes``
UNPLANNED_WINDOW = 365
UNPLANNED_CODES = (85, 86)
#: retained in custody: not planned, not a transfer; swapped with the unplanned codes
CUSTODY = 87
#: days kept clear of the definitions' boundaries by a lengthened journey
CLEAR = 3


@dataclass
class DischargeOutcomes:
    """Per journey: retention and unplanned discharge as the default definitions find them, and
    where the journey is outside each denominator."""

    retention: np.ndarray
    retention_na: np.ndarray
    unplanned_discharge: np.ndarray
    unplanned_discharge_na: np.ndarray


def discharge_outcomes(journeys: Journeys) -> DischargeOutcomes:
    """The two outcomes on the true journeys (the pipeline's definitions, default settings)."""
    started = journeys.initiated
    ended = journeys.end != NA
    intervention = journeys.start + np.where(started, journeys.intervention_lag, 0)
    retained = ~ended | (journeys.end - intervention >= RETENTION_DAYS)
    in_window = started & ended & (journeys.end - journeys.start <= UNPLANNED_WINDOW)
    return DischargeOutcomes(
        retention=started & retained,
        retention_na=~started,
        unplanned_discharge=in_window & np.isin(journeys.reason, UNPLANNED_CODES),
        unplanned_discharge_na=~in_window,
    )


def _odds(p: float) -> float:
    return p / (1 - p)


def _target_rate(value: np.ndarray, cells: dict[str, np.ndarray], odds_ratio: float) -> float | None:
    """The pilot-post rate that makes the raw DiD OR of ``value`` over ``cells`` equal ``odds_ratio``
    (None when a reference cell is empty or its rate 0 or 1)."""
    rates = {k: float(value[m].mean()) if m.any() else None for k, m in cells.items()}
    ref = [
        r for r in (rates[k] for k in ("pilot_pre", "other_pre", "other_post")) if r is not None and 0 < r < 1
    ]
    if len(ref) < 3:
        return None
    odds = odds_ratio * _odds(ref[0]) * _odds(ref[2]) / _odds(ref[1])
    return odds / (1 + odds)


def _flip(
    rng: np.random.Generator, eligible: np.ndarray, in_cell: np.ndarray, needed: float
) -> tuple[np.ndarray, dict]:
    """Eligible journeys to change: ``needed`` (rounded) of the cell's, at random (all of them when
    too few), so that the cell's rate hits its target; outside the cell (under-18s, journeys of
    excluded sub-areas), each with the same probability."""
    cell = np.flatnonzero(eligible & in_cell)
    k = min(len(cell), max(0, round(needed)))
    q = k / len(cell) if len(cell) else 0.0
    chosen = eligible & ~in_cell & (rng.random(len(eligible)) < q)
    chosen[rng.choice(cell, size=k, replace=False)] = True
    return chosen, {"needed": round(float(needed), 3), "eligible": len(cell), "changed_in_study": k}


def plant_discharge_effects(
    params: SyntheticParams,
    journeys: Journeys,
    episodes: Episodes,
    population: Population,
    extract_end: int,
    rng: np.random.Generator,
) -> dict:
    """Lengthen and recode pilot-post journeys (module docstring) in ``journeys`` and the last
    episodes of ``episodes``, in place; returns the record of what was done per cohort and outcome."""
    n = len(journeys.person)
    ins = journeys.adult & (journeys.period >= 0) & (journeys.group < 2)
    pilot_post = journeys.treated & (journeys.period == 1)
    started = journeys.initiated
    intervention = journeys.start + np.where(started, journeys.intervention_lag, 0)
    record: dict = {}
    for ci, cohort in enumerate(("drug", "alcohol")):
        coh = journeys.cohort == ci
        cells = {
            f"{g}_{p}": ins & coh & (journeys.treated == t) & (journeys.period == pi)
            for g, t in (("pilot", True), ("other", False))
            for p, pi in (("pre", 0), ("post", 1))
        }
        effects = getattr(params.effects, cohort)
        record[cohort] = {}
        # retention: lengthen short unplanned or custody exits
        now = discharge_outcomes(journeys)
        den = {k: m & ~now.retention_na for k, m in cells.items()}
        target = _target_rate(now.retention, den, effects.retention)
        needed = (
            0.0
            if target is None
            else target * den["pilot_post"].sum() - now.retention[den["pilot_post"]].sum()
        )
        death = population.death[journeys.person]
        hi = journeys.start + UNPLANNED_WINDOW - CLEAR
        hi = np.where(journeys.next_start != NA, np.minimum(hi, journeys.next_start - 2), hi)
        hi = np.where(death != NA, np.minimum(hi, death - 1), hi)
        hi = np.minimum(hi, extract_end - 1)
        lo = intervention + RETENTION_DAYS + CLEAR
        eligible = (
            pilot_post & coh & started & ~now.retention
            & np.isin(journeys.reason, (*UNPLANNED_CODES, CUSTODY)) & (lo <= hi)
        )  # fmt: skip
        chosen, rec = _flip(rng, eligible, ins & coh, needed)
        new_end = lo + np.floor(rng.random(n) * (np.maximum(hi, lo) - lo + 1)).astype(np.int64)
        journeys.end[chosen] = new_end[chosen]
        record[cohort]["retention"] = rec | {"lengthened": int(chosen.sum())}
        # unplanned discharge: swap custody and unplanned codes
        now = discharge_outcomes(journeys)
        den = {k: m & ~now.unplanned_discharge_na for k, m in cells.items()}
        target = _target_rate(now.unplanned_discharge, den, effects.unplanned_discharge)
        have = now.unplanned_discharge[den["pilot_post"]].sum()
        needed = 0.0 if target is None else target * den["pilot_post"].sum() - have
        in_den = pilot_post & coh & ~now.unplanned_discharge_na
        u = rng.random(n)
        if needed >= 0:
            chosen, rec = _flip(rng, in_den & (journeys.reason == CUSTODY), ins & coh, needed)
            journeys.reason[chosen] = np.where(u[chosen] < 0.8, UNPLANNED_CODES[0], UNPLANNED_CODES[1])
        else:
            chosen, rec = _flip(rng, in_den & now.unplanned_discharge, ins & coh, -needed)
            rec["needed"] = round(float(needed), 3)
            journeys.reason[chosen] = CUSTODY
        record[cohort]["unplanned_discharge"] = rec | {
            "recoded": int(chosen.sum()),
            "to": "unplanned" if needed >= 0 else "custody",
        }
    last = episodes.index == episodes.per_journey[episodes.journey] - 1
    episodes.discharge[last] = journeys.end[episodes.journey[last]]
    episodes.reason[last] = journeys.reason[episodes.journey[last]]
    return record
