"""The month-by-month simulation: who starts a journey each month, so that the adult journeys
starting in each study window equal the targets exactly.

Each month the people scheduled to re-present arrive, and new people are added to meet the
month's target. When more re-presenters arrive than the month needs, re-presentations no
outcome depends on are dropped at random (only at tiny scales, when the window's count could
not be met otherwise, is any other dropped: "forced").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from pbr.logs import Progress
from pbr.synthetic.areas import Areas
from pbr.synthetic.dates import age_years
from pbr.synthetic.draws import choice
from pbr.synthetic.journeys import (
    Arrivals,
    SimulatedJourneys,
    Successors,
    concat_records,
    journeys_month,
    take_records,
)
from pbr.synthetic.model import Model
from pbr.synthetic.months import Calendar
from pbr.synthetic.params import SyntheticParams
from pbr.synthetic.population import Population, new_people

log = logging.getLogger(__name__)


@dataclass
class LoopCounts:
    """What the month loop keeps count of."""

    #: cumulative target - realised this period, [cohort, group]
    balance: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), dtype=np.int64))
    #: journeys still to start in this period, [cohort, group]
    remaining: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), dtype=np.int64))
    #: journeys short of the window's target at its end, [cohort, group, period]
    count_mismatch: np.ndarray = field(default_factory=lambda: np.zeros((2, 2, 2), dtype=np.int64))
    #: re-presentations dropped (none an outcome depends on)
    dropped: int = 0
    #: re-presentations dropped although an outcome depends on them (tiny scales only)
    forced: int = 0
    #: probabilities clipped to keep the nested outcomes nested, by kind
    clipped: dict[str, int] = field(default_factory=dict)


@dataclass
class Simulation:
    """The month loop's result: journeys in simulation order, the people, the counts."""

    journeys: SimulatedJourneys
    population: Population
    counts: LoopCounts


def simulate(
    params: SyntheticParams,
    areas: Areas,
    calendar: Calendar,
    model: Model,
    rng: np.random.Generator,
    case_mix_rng: np.random.Generator | None = None,
) -> Simulation:
    """Run the month loop from the first referral month to the extract date; the pilot-post
    journeys' case mix shifted by ``params.case_mix.pilot_post``, its draws from ``case_mix_rng``."""
    cap = int(calendar.month_targets.sum() + calendar.month_minors.sum()) + 16
    population = Population.empty(cap)
    counts = LoopCounts()
    buckets: dict[int, list[Successors]] = {}
    chunks: list[SimulatedJourneys] = []
    offset = 0
    progress = Progress(log, "month loop (referral months)", calendar.n_months)
    for m in range(calendar.n_months):
        progress.step(m)
        due_parts = buckets.pop(m, [])
        due = concat_records(due_parts) if due_parts else None
        keep, new_parts = _plan_month(calendar, areas, population, counts, rng, m, due)
        arrivals = _month_arrivals(calendar, areas, population, rng, m, due, keep, new_parts)
        if arrivals is None:
            continue
        chunk, succ = journeys_month(
            rng,
            params.process,
            model,
            areas,
            calendar,
            population,
            m,
            arrivals,
            counts.clipped,
            params.case_mix.pilot_post,
            case_mix_rng,
        )
        chunks.append(chunk)
        offset += len(arrivals.person)
        if succ is not None:
            sm = np.searchsorted(calendar.month_start, succ.start, side="right") - 1
            for mm in np.unique(sm).tolist():
                buckets.setdefault(mm, []).append(take_records(succ, sm == mm))
    progress.step(calendar.n_months)
    log.info(
        "simulated %d journeys of %d people (%d re-presentations dropped)",
        offset,
        population.n,
        counts.dropped,
    )
    if counts.count_mismatch.any():
        log.warning("journey counts off target by %s", counts.count_mismatch.tolist())
    return Simulation(journeys=concat_records(chunks), population=population, counts=counts)


def _plan_month(
    calendar: Calendar,
    areas: Areas,
    population: Population,
    counts: LoopCounts,
    rng: np.random.Generator,
    m: int,
    due: Successors | None,
) -> tuple[np.ndarray | None, list[tuple[int, int, int, bool]]]:
    """Which due re-presenters start this month (``keep``), and the new people to add:
    (cohort, group, number, under 18) per part."""
    per = calendar.month_period[m]
    new_parts = []
    keep = None
    if due is not None:
        keep = np.ones(len(due.person), dtype=bool)
        adult = age_years(population.dob[due.person], due.start) >= 18
        fgrp = areas.unit_group[due.unit]
    for co in (0, 1):
        for g in (0, 1, 2):
            if due is not None:
                sel = np.flatnonzero(adult & (due.cohort == co) & (fgrp == g))
            else:
                sel = np.zeros(0, dtype=np.int64)
            if per >= 0 and g < 2:
                n_new = _window_month(calendar, counts, rng, m, co, g, sel, due, keep)
            else:
                n_new = max(0, int(calendar.month_targets[co, g, m]) - len(sel))
            if n_new:
                new_parts.append((co, g, n_new, False))
            if calendar.month_minors[co, g, m]:
                new_parts.append((co, g, int(calendar.month_minors[co, g, m]), True))
    return keep, new_parts


def _window_month(
    calendar: Calendar,
    counts: LoopCounts,
    rng: np.random.Generator,
    m: int,
    co: int,
    g: int,
    sel: np.ndarray,
    due: Successors | None,
    keep: np.ndarray | None,
) -> int:
    """New adult journeys (cohort ``co``, group ``g``) for window month ``m``, given the due
    re-presenters ``sel``; drops surplus re-presenters (updating ``keep``) and the counts."""
    per = calendar.month_period[m]
    remaining, balance = counts.remaining, counts.balance
    n_f = len(sel)
    if m == 0 or calendar.month_period[m - 1] != per:
        remaining[co, g] = calendar.targets[co, g, per]
        balance[co, g] = 0
    want = int(calendar.month_targets[co, g, m] + balance[co, g])
    # re-presenters (n_f > 0) come only with ``due`` and its ``keep``
    if due is not None and keep is not None and n_f > max(want, 0):
        # too many re-presenters this month: drop ones no outcome depends on
        cand = sel[due.droppable[sel]]
        k = min(n_f - max(want, 0), len(cand))
        if k:
            keep[rng.choice(cand, size=k, replace=False)] = False
            counts.dropped += k
            n_f -= k
    if keep is not None and n_f > remaining[co, g]:
        # only if the window's count could not be met otherwise (tiny scales)
        kept = sel[keep[sel]]
        k = n_f - int(remaining[co, g])
        keep[rng.choice(kept, size=k, replace=False)] = False
        counts.forced += k
        n_f -= k
    n_new = max(0, min(want - n_f, int(remaining[co, g]) - n_f))
    remaining[co, g] -= n_f + n_new
    balance[co, g] = want - n_f - n_new
    last = m + 1 >= calendar.n_months or calendar.month_period[m + 1] != per
    if last:
        counts.count_mismatch[co, g, per] = remaining[co, g]
    return n_new


def _month_arrivals(
    calendar: Calendar,
    areas: Areas,
    population: Population,
    rng: np.random.Generator,
    m: int,
    due: Successors | None,
    keep: np.ndarray | None,
    new_parts: list[tuple[int, int, int, bool]],
) -> Arrivals | None:
    """The month's journeys: the kept re-presenters, then new people (added to ``population``)."""
    parts = []
    if due is not None and keep is not None and keep.any():  # keep is None only without due
        k = np.flatnonzero(keep)
        parts.append(
            Arrivals(
                person=due.person[k],
                start=due.start[k],
                cohort=due.cohort[k],
                unit=due.unit[k],
                representation=np.ones(len(k), bool),
            )
        )
    for co, g, n_new, minor in new_parts:
        days, cdf = calendar.month_days[m]
        start = days[np.minimum(np.searchsorted(cdf, rng.random(n_new), side="right"), len(days) - 1)]
        w = np.where(areas.unit_group == g, areas.unit_weight[co], 0.0)
        unit = choice(rng, w, n_new)
        pid = population.add(new_people(rng, n_new, co, start, minor))
        parts.append(
            Arrivals(
                person=pid,
                start=start,
                cohort=np.full(n_new, co),
                unit=unit,
                representation=np.zeros(n_new, bool),
            )
        )
    return concat_records(parts) if parts else None
