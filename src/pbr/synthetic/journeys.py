"""Journeys: one month's journeys drawn (outcomes, waits, discharges, deaths, re-presentations),
and all journeys finished after the month loop (ordered by person, later deaths, realised outcomes)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from pbr.synthetic.areas import Areas
from pbr.synthetic.dates import NA, birthday
from pbr.synthetic.draws import sigmoid, uniform_int
from pbr.synthetic.model import Model, xb
from pbr.synthetic.months import Calendar
from pbr.synthetic.params import CaseMixShift, ProcessParams
from pbr.synthetic.population import Covariates, Population, draw_covariates
from pbr.synthetic.reference import (
    ALCOHOL,
    LATER_DEATH_AGE_FACTOR,
    LATER_DEATH_HAZARD,
    LATER_DEATH_POISONING_SHARE,
    P_LONG_TREATMENT,
    P_OTHER_CAUSE_DEATH,
    SUBSTANCE_GROUP,
)

if TYPE_CHECKING:  # the typeshed protocol every dataclass instance satisfies (no runtime module)
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")

#: outcomes drawn while journeys are simulated (the others are drawn on the realised journeys)
LOOP_OUTCOMES = (
    "treatment_initiation",
    "waiting_over_3_weeks",
    "successful_completion",
    "completion_without_representation",
    "drug_related_death",
)


def concat_records(parts: list[Record]) -> Record:
    """Records (dataclasses of equal-length arrays, possibly nested) concatenated field by field."""
    first = parts[0]
    values = {}
    for f in dataclasses.fields(first):
        items = [getattr(p, f.name) for p in parts]
        values[f.name] = (
            concat_records(items) if dataclasses.is_dataclass(items[0]) else np.concatenate(items)
        )
    return type(first)(**values)


def take_records(record: Record, index: np.ndarray) -> Record:
    """The rows ``index`` of a record (a dataclass of equal-length arrays, possibly nested)."""
    values = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        nested = dataclasses.is_dataclass(value) and not isinstance(value, type)  # an instance, not a class
        values[f.name] = take_records(value, index) if nested else value[index]
    return type(record)(**values)


@dataclass
class Arrivals:
    """Journeys starting in one month: people, start days, cohorts (0 drug, 1 alcohol), units."""

    person: np.ndarray
    start: np.ndarray
    cohort: np.ndarray
    unit: np.ndarray
    #: a re-presentation (an earlier journey's successor), not a new person
    representation: np.ndarray


@dataclass
class Successors:
    """Re-presentations scheduled by earlier journeys: the next journey of each person."""

    person: np.ndarray
    start: np.ndarray
    cohort: np.ndarray
    unit: np.ndarray
    #: no outcome depends on it (after a non-completion, or late after a completion)
    droppable: np.ndarray


@dataclass
class SimulatedJourneys:
    """Journeys as the month loop draws them (day numbers; lags in days from the start)."""

    person: np.ndarray
    start: np.ndarray
    cohort: np.ndarray
    unit: np.ndarray
    #: started treatment (a first intervention) within 90 days of triage
    initiated: np.ndarray
    #: waited more than 21 days for the first intervention (starters)
    waited: np.ndarray
    #: a triage date is recorded
    triaged: np.ndarray
    #: days from the start to triage
    triage_lag: np.ndarray
    #: days from the start to the first intervention (NA: not initiated)
    intervention_lag: np.ndarray
    #: days from the start to the first offered date (NA: none)
    offer_lag: np.ndarray
    #: day of the last discharge (NA: open at the extract date)
    end: np.ndarray
    #: discharge reason code (-1: open)
    reason: np.ndarray
    cov: Covariates


@dataclass
class Journeys(SimulatedJourneys):
    """All true journeys, ordered by person and start, with what the later stages use."""

    #: start of the person's next journey (NA: none)
    next_start: np.ndarray
    #: the person's last journey
    last: np.ndarray
    #: successful completion within 12 months, as the pipeline defines it on the true person
    successful_completion: np.ndarray
    #: completion not followed by a re-presentation within 6 months
    completion_without_representation: np.ndarray
    adult: np.ndarray
    #: 0 pre window, 1 post window, -1 outside
    period: np.ndarray
    #: in a unit carrying the planted effect
    treated: np.ndarray
    #: unit group: 1 pilot, 0 other, 2 excluded
    group: np.ndarray
    area: np.ndarray


def completion_reason(sub1: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Discharge code of a successful completion (80, 81 or 82) by primary substance, from uniforms ``u``."""
    grp = SUBSTANCE_GROUP[sub1]
    opi_crack = grp <= 1
    alc = sub1 == ALCOHOL
    return np.select(
        [opi_crack, alc & (u < 0.75), alc & (u < 0.90), alc, u < 0.6],
        [80, 81, 82, 80, 80],
        82,
    )


def _outcome_draws(
    rng: np.random.Generator,
    model: Model,
    cov: Covariates,
    arrivals: Arrivals,
    areas: Areas,
    post: np.ndarray,
    second_year: np.ndarray,
    clipped: dict[str, int],
) -> tuple[np.ndarray, ...]:
    """Initiation, completion, completion without re-presentation (nested, each with its exact
    margin), waiting, and the probability of a drug-related death; ``post``: referred on or after
    the post start, ``second_year``: in the second post year or later."""
    n = len(arrivals.person)
    area = areas.unit_area[arrivals.unit]
    treated = areas.unit_treated[arrivals.unit]
    prob = {}
    for o in LOOP_OUTCOMES:
        prob[o] = sigmoid(
            model.linear_predictor(o, arrivals.cohort, treated, post, area, xb(o, cov), second_year)
        )
    p_i, p_c, p_y = (
        prob["treatment_initiation"],
        prob["successful_completion"],
        prob["completion_without_representation"],
    )
    clipped["completion_above_initiation"] = clipped.get("completion_above_initiation", 0) + int(
        (p_c > p_i).sum()
    )
    clipped["no_representation_above_completion"] = clipped.get(
        "no_representation_above_completion", 0
    ) + int((p_y > p_c).sum())
    init = rng.random(n) < p_i
    comp = init & (rng.random(n) < np.minimum(p_c / p_i, 1.0))
    no_representation = comp & (rng.random(n) < np.minimum(p_y / np.maximum(p_c, 1e-12), 1.0))
    wait = init & (rng.random(n) < prob["waiting_over_3_weeks"])
    return init, comp, no_representation, wait, prob["drug_related_death"]


def _waits(
    rng: np.random.Generator, process: ProcessParams, init: np.ndarray, wait: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whether triage is recorded, days to triage, days to the first intervention (NA: none)."""
    n = len(init)
    triaged = rng.random(n) >= process.triage_missing
    triage_lag = np.minimum(rng.geometric(0.25, n) - 1, 14).astype(np.int64)
    u = rng.random(n)
    intervention_lag = np.where(
        wait,
        23 + np.floor(u**1.7 * (triage_lag + 88 - 23 + 1)).astype(np.int64),
        triage_lag + np.floor(u * (20 - triage_lag + 1)).astype(np.int64),
    )
    return triaged, triage_lag, np.where(init, intervention_lag, NA)


def _discharges(
    rng: np.random.Generator,
    cov: Covariates,
    init: np.ndarray,
    comp: np.ndarray,
    intervention_lag: np.ndarray,
    triage_lag: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Days from the start to the discharge and its reason: non-starters, completers, and
    non-completers (short, or still in treatment at a year)."""
    n = len(init)
    grp = cov.group
    u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
    d_non = triage_lag + 7 + np.minimum(np.floor(rng.exponential(35.0, n)), 150).astype(np.int64)
    r_non = np.select([u1 < 0.55, u1 < 0.85, u1 < 0.92], [88, 85, 86], 87)
    beta_c = np.where(grp == 0, rng.beta(2.2, 1.6, n), rng.beta(1.6, 2.2, n))
    lo_c = np.where(init, intervention_lag, 0) + 28
    d_comp = lo_c + np.floor((360 - lo_c) * beta_c).astype(np.int64)
    r_comp = completion_reason(cov.substance_1, u2)
    long_ = u3 < P_LONG_TREATMENT[grp]
    d_long = 370 + np.floor(rng.exponential(500.0, n)).astype(np.int64)
    u4 = rng.random(n)
    r_long = np.select([u4 < 0.30, u4 < 0.72, u4 < 0.80, u4 < 0.93, u4 < 0.97], [r_comp, 85, 86, 87, 83], 84)
    lo_s = np.where(init, intervention_lag, 0) + 7
    d_short = lo_s + np.floor((358 - lo_s) * rng.beta(1.1, 1.6, n)).astype(np.int64)
    r_short = np.select([u4 < 0.62, u4 < 0.74, u4 < 0.90, u4 < 0.96], [85, 86, 87, 83], 84)
    days_to_end = np.select([~init, comp, long_], [d_non, d_comp, d_long], d_short)
    reason = np.select([~init, comp, long_], [r_non, r_comp, r_long], r_short)
    return days_to_end, reason


def _offers(
    rng: np.random.Generator,
    init: np.ndarray,
    intervention_lag: np.ndarray,
    triage_lag: np.ndarray,
    reason: np.ndarray,
    days_to_end: np.ndarray,
    open_: np.ndarray,
) -> np.ndarray:
    """Days from the start to the first offered date: before the intervention, or before a declined start."""
    n = len(init)
    u5 = rng.random(n)
    offer = np.where(
        init,
        intervention_lag
        - np.floor(u5 * (np.minimum(7, np.where(init, intervention_lag, 0) - triage_lag) + 1)).astype(
            np.int64
        ),
        NA,
    )
    offer = np.where(init & (rng.random(n) < 0.08), NA, offer)
    dn = np.where(open_, 0, days_to_end)
    return np.where(
        ~init & (reason == 88),
        triage_lag + np.floor(u5 * np.maximum(dn - triage_lag, 1)).astype(np.int64),
        offer,
    )


def _deaths_in_year(
    rng: np.random.Generator,
    arrivals: Arrivals,
    cov: Covariates,
    p_drd: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    keep_alive: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deaths within a year of the start (drug poisoning or other causes), on days in [lo, hi];
    none where ``keep_alive`` (a completion whose outcome needs a re-presentation)."""
    n = len(lo)
    grp = cov.group
    p_od = P_OTHER_CAUSE_DEATH[arrivals.cohort, cov.age_group] * np.where(grp == 0, 1.5, 1.0)
    drug_death = rng.random(n) < p_drd
    dies = drug_death | (rng.random(n) < p_od)
    dies &= ~keep_alive & (lo <= hi)
    death_day = np.where(dies, uniform_int(rng, lo, np.maximum(hi, lo)), NA)
    return drug_death, dies, death_day


def _next_journeys(
    rng: np.random.Generator,
    process: ProcessParams,
    cohort: np.ndarray,
    completion_recorded: np.ndarray,
    no_representation: np.ndarray,
    open_: np.ndarray,
    end: np.ndarray,
    reason: np.ndarray,
    extract_end: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which journeys are followed by a re-presentation, on which day, and which must be
    (completions without the 'no re-presentation' outcome re-present within 6 months)."""
    n = len(cohort)
    u6 = rng.random(n)
    must_represent = completion_recorded & ~no_representation
    gmax = np.minimum(175, extract_end - np.where(open_, extract_end, end))
    g_mand = 1 + np.floor(u6**1.3 * np.maximum(gmax, 1)).astype(np.int64)
    late = completion_recorded & no_representation & (rng.random(n) < process.late_representation)
    g_late = 190 + np.floor(rng.exponential(400.0, n)).astype(np.int64)
    p_re = np.where(cohort == 0, process.representation_drug, process.representation_alcohol)
    nonc = ~completion_recorded & ~open_ & (rng.random(n) < p_re)
    g_non = (
        1 + np.floor(rng.exponential(300.0, n)).astype(np.int64) + np.where(np.isin(reason, [83, 84]), 30, 0)
    )
    represents = (must_represent & (gmax >= 1)) | late | nonc
    gap = np.select([must_represent, late], [g_mand, g_late], g_non)
    next_start = np.where(represents, np.where(open_, 0, end) + gap, NA)
    return represents, next_start, must_represent


def journeys_month(
    rng: np.random.Generator,
    process: ProcessParams,
    model: Model,
    areas: Areas,
    calendar: Calendar,
    population: Population,
    m: int,
    arrivals: Arrivals,
    clipped: dict[str, int],
    case_mix: CaseMixShift | None = None,
    case_mix_rng: np.random.Generator | None = None,
) -> tuple[SimulatedJourneys, Successors | None]:
    """The journeys starting in month ``m``: covariates (the pilot-post ones shifted by
    ``case_mix``, its draws from ``case_mix_rng``), outcomes, dates, deaths within a year
    (recorded in ``population``), and the re-presentations they lead to."""
    pid, start, cohort = arrivals.person, arrivals.start, arrivals.cohort
    shifted = areas.unit_treated[arrivals.unit] & (start >= calendar.post_start)
    cov = draw_covariates(
        rng,
        cohort,
        start,
        population.female[pid],
        population.dob[pid],
        population.drug[pid],
        population.injecting_history[pid],
        arrivals.representation | population.previously_treated[pid],
        case_mix,
        shifted,
        case_mix_rng,
    )
    init, comp, no_representation, wait, p_drd = _outcome_draws(
        rng,
        model,
        cov,
        arrivals,
        areas,
        start >= calendar.post_start,
        start >= calendar.second_year_start,
        clipped,
    )
    triaged, triage_lag, intervention_lag = _waits(rng, process, init, wait)
    days_to_end, reason = _discharges(rng, cov, init, comp, intervention_lag, triage_lag)
    end = start + days_to_end
    open_ = calendar.extract_end < end
    end = np.where(open_, NA, end)
    reason = np.where(open_, -1, reason)
    completion_recorded = comp & ~open_
    offer = _offers(rng, init, intervention_lag, triage_lag, reason, days_to_end, open_)
    lo = start + np.where(init, intervention_lag, triage_lag) + 1
    lo = np.where(completion_recorded, np.maximum(lo, np.where(open_, 0, end) + 1), lo)
    hi = np.minimum(start + 365, calendar.extract_end)
    drug_death, dies, death_day = _deaths_in_year(
        rng, arrivals, cov, p_drd, lo, hi, completion_recorded & ~no_representation
    )
    represents, next_start, must_represent = _next_journeys(
        rng, process, cohort, completion_recorded, no_representation, open_, end, reason, calendar.extract_end
    )
    # a death before the re-presentation cancels it; a re-presentation before the death cancels the death
    both = dies & represents
    cancel_death = both & (next_start < death_day)
    dies &= ~cancel_death
    drug_death &= dies
    death_day = np.where(dies, death_day, NA)
    represents &= ~(dies & represents)
    next_start = np.where(represents, next_start, NA)
    cut = dies & (open_ | (death_day <= np.where(open_, death_day, end)))
    end = np.where(cut, death_day, end)
    reason = np.where(cut, 89, reason)
    population.death[pid[dies]] = death_day[dies]
    population.drug_death[pid[dies]] = drug_death[dies]
    journeys = SimulatedJourneys(
        person=pid, start=start, cohort=cohort, unit=arrivals.unit, initiated=init, waited=wait, triaged=triaged,
        triage_lag=triage_lag, intervention_lag=intervention_lag, offer_lag=offer, end=end, reason=reason, cov=cov,
    )  # fmt: skip
    if not represents.any():
        return journeys, None
    return journeys, _successors(
        rng, process, areas, calendar, population, m, arrivals, represents, next_start, must_represent
    )


def _successors(
    rng: np.random.Generator,
    process: ProcessParams,
    areas: Areas,
    calendar: Calendar,
    population: Population,
    m: int,
    arrivals: Arrivals,
    represents: np.ndarray,
    next_start: np.ndarray,
    must_represent: np.ndarray,
) -> Successors:
    """The re-presentations of month ``m``'s journeys: in a later month, some in the other
    cohort or another area."""
    k = np.flatnonzero(represents)
    s = next_start[k]
    # next month at the earliest, and never within 3 days of an 18th birthday
    m_end = calendar.month_end[m]
    s = np.where(s <= m_end, m_end + 1 + rng.integers(0, 3, len(k)), s)
    b18 = birthday(population.dob[arrivals.person[k]], 18)
    s = np.where(np.abs(s - b18) <= 3, b18 + 4, s)
    ok = s <= calendar.extract_end
    k, s = k[ok], s[ok]
    cohort = arrivals.cohort
    coh2 = np.where(rng.random(len(k)) < process.cohort_switch, 1 - cohort[k], cohort[k])
    move = rng.random(len(k)) < process.move_area
    unit2 = arrivals.unit[k].copy()
    if move.any():
        cdf = np.cumsum(areas.unit_weight, axis=1)
        cdf /= cdf[:, -1:]
        u = rng.random(int(move.sum()))
        rows = coh2[move]
        unit2[move] = (u[:, None] >= cdf[rows]).sum(axis=1)
    return Successors(
        person=arrivals.person[k],
        start=s,
        cohort=coh2,
        unit=np.minimum(unit2, len(areas.unit_area) - 1),
        droppable=~must_represent[k],
    )


def finish_journeys(
    sim: SimulatedJourneys,
    population: Population,
    areas: Areas,
    calendar: Calendar,
    rng: np.random.Generator,
) -> Journeys:
    """Order journeys by person, add deaths after the last journey (recorded in ``population``
    and ending open journeys), realise the journey outcomes."""
    order = np.lexsort((sim.start, sim.person))
    sim = take_records(sim, order)
    pid, start = sim.person, sim.start
    n = len(pid)
    same_next = np.zeros(n, dtype=bool)
    same_next[:-1] = pid[1:] == pid[:-1]
    nxt = np.full(n, NA)
    nxt[:-1] = np.where(same_next[:-1], start[1:], NA)
    last = ~same_next
    _later_deaths(rng, sim, population, last, calendar.extract_end)
    # realised journey outcomes (pipeline definitions on the true persons)
    end = sim.end
    ended = end != NA
    comp = ended & np.isin(sim.reason, [80, 81, 82]) & (end - start <= 365)
    rep = ended & (nxt != NA) & (nxt - end <= 183)
    return Journeys(
        **{f.name: getattr(sim, f.name) for f in dataclasses.fields(SimulatedJourneys)},
        next_start=nxt,
        last=last,
        successful_completion=comp,
        completion_without_representation=comp & ~rep,
        adult=sim.cov.age >= 18,
        period=calendar.period(start),
        treated=areas.unit_treated[sim.unit],
        group=areas.unit_group[sim.unit],
        area=areas.unit_area[sim.unit],
    )


def _later_deaths(
    rng: np.random.Generator,
    sim: SimulatedJourneys,
    population: Population,
    last: np.ndarray,
    extract_end: int,
) -> None:
    """Deaths after the first year of a person's last journey (a journey still open then ends with it)."""
    pid, start = sim.person, sim.start
    grp, agegrp = sim.cov.group, sim.cov.age_group
    lj = np.flatnonzero(last & (population.death[pid] == NA))
    frm = start[lj] + 366
    span = extract_end - frm + 1
    h = LATER_DEATH_HAZARD[grp[lj]] * LATER_DEATH_AGE_FACTOR[agegrp[lj]]
    dies = (span > 0) & (rng.random(len(lj)) < 1 - np.exp(-h * np.maximum(span, 0) / 365.25))
    t = frm + np.floor(rng.random(len(lj)) * np.maximum(span, 1)).astype(np.int64)
    drug_death = rng.random(len(lj)) < LATER_DEATH_POISONING_SHARE[grp[lj]]
    lj, t, drug_death = lj[dies], t[dies], drug_death[dies]
    population.death[pid[lj]] = t
    population.drug_death[pid[lj]] = drug_death
    end = sim.end
    cut = (end[lj] == NA) | (end[lj] > t)
    end[lj[cut]] = t[cut]
    sim.reason[lj[cut]] = 89
