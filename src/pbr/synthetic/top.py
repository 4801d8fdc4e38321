"""TOP (Treatment Outcomes Profile) interviews: which exist and when (start, quarterly reviews
in treatment, exit), and the TOP table, which realises abstinence, non-injecting and housing
at the reviews in the review window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pbr.synthetic.columns import bool_col, code_col, date_col, id_array, int_col, string_col
from pbr.synthetic.dates import NA
from pbr.synthetic.draws import date_order
from pbr.synthetic.episodes import EpisodeOrder, Episodes
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.outcomes import LateOutcomes, TopCoverage
from pbr.synthetic.params import ProcessParams
from pbr.synthetic.reference import NO_SUBSTANCE, SUBSTANCE_DAY_COLUMN, TOP_DAY_COLUMNS

#: probability of any offending days of each kind at a start TOP, by substance group (halved later)
CRIME_DAYS = (
    ("days_shop_theft", (0.25, 0.25, 0.08, 0.06, 0.08, 0.06, 0.03)),
    ("days_drug_selling", (0.08, 0.10, 0.06, 0.06, 0.05, 0.03, 0.01)),
    ("days_other_theft", (0.08, 0.08, 0.04, 0.03, 0.04, 0.03, 0.02)),
    ("days_assault", (0.05, 0.06, 0.05, 0.04, 0.05, 0.04, 0.06)),
)


@dataclass
class TopSchedule:
    """The TOP interviews that exist: start TOPs, reviews and exit TOPs (journey rows, days)."""

    #: journeys with a start TOP, and each journey's start TOP day (its triage day)
    start_journeys: np.ndarray
    start_day: np.ndarray
    #: reviews: journey, number (1 = about 3 months in) and day
    review_journey: np.ndarray
    review_number: np.ndarray
    review_day: np.ndarray
    #: journeys with an exit TOP (on their discharge day)
    exit_journeys: np.ndarray


def schedule_tops(
    process: ProcessParams, journeys: Journeys, extract_end: int, rng: np.random.Generator
) -> tuple[TopSchedule, TopCoverage]:
    """Which TOP interviews exist and when: start, quarterly reviews in treatment, exit."""
    n = len(journeys.person)
    start, D, init = journeys.start, journeys.end, journeys.initiated
    Dv = D != NA
    end_eff = np.where(Dv, D, extract_end + 1)
    s_date = start + journeys.triage_lag
    has_s = np.where(
        init, rng.random(n) < process.start_top_initiated, rng.random(n) < process.start_top_not_initiated
    )
    has_s &= (s_date <= extract_end) & (s_date < end_eff)
    kmax = np.where(init, np.clip((end_eff - start - 3) // 91, 0, process.max_reviews), 0)
    rj = np.repeat(np.arange(n), kmax)
    first = np.concatenate([[0], np.cumsum(kmax)[:-1]])
    rk = np.arange(len(rj)) - first[rj] + 1
    r_date = start[rj] + 91 * rk + 2 + np.floor(rng.random(len(rj)) * 19).astype(np.int64)
    ok = (r_date < end_eff[rj]) & (r_date <= extract_end) & (rng.random(len(rj)) < process.review_top)
    rj, rk, r_date = rj[ok], rk[ok], r_date[ok]
    in_win = rk <= 2  # days 93-111 and 184-202: inside the 91-273 review window
    has_rw = np.bincount(rj[in_win], minlength=n) > 0
    has_x = init & Dv & (journeys.reason != 89) & (rng.random(n) < process.exit_top)
    schedule = TopSchedule(
        start_journeys=np.flatnonzero(has_s),
        start_day=s_date,
        review_journey=rj,
        review_number=rk,
        review_day=r_date,
        exit_journeys=np.flatnonzero(has_x),
    )
    return schedule, TopCoverage(has_start_top=has_s, has_review_top=has_rw, observed=has_s & has_rw)


class _RowDraws:
    """Uniform draws, one per TOP row (float32), and missing-value masks that spare the key rows."""

    def __init__(self, rng: np.random.Generator, n: int, key_rows: np.ndarray):
        self.rng, self.n, self.key_rows = rng, n, key_rows

    def uniform(self) -> np.ndarray:
        """One uniform draw per row."""
        return self.rng.random(self.n, dtype=np.float32)

    def missing(self, q: float) -> np.ndarray:
        """Rows whose value is missing, with probability ``q`` (never a start TOP or a window review)."""
        return (self.uniform() < q) & ~self.key_rows


@dataclass
class _Rows:
    """The TOP rows in output order: journey, stage (0 start, 1 review, 2 exit), in the review window."""

    journey: np.ndarray
    stage: np.ndarray
    window: np.ndarray

    @property
    def first(self) -> np.ndarray:
        """Start TOPs."""
        return self.stage == 0

    @property
    def later(self) -> np.ndarray:
        """Reviews and exit TOPs."""
        return self.stage > 0


def top_table(
    journeys: Journeys,
    late: LateOutcomes,
    schedule: TopSchedule,
    episodes: Episodes,
    episode_order: EpisodeOrder,
    rng: np.random.Generator,
    drawn_end: np.ndarray | None = None,
) -> pd.DataFrame:
    """The TOP table, realising abstinence, non-injecting and housing at the window reviews.

    ``drawn_end``: the journeys' ends the schedule was drawn on, if :mod:`pbr.synthetic.discharges`
    has since lengthened some (default ``journeys.end``): the rows are ordered, and so drawn, as on
    those ends, leaving every answer as it was; an exit TOP is dated at the journey's end now (so
    a lengthened journey's exit TOP is out of date order)."""
    rows, cols = _rows(journeys, schedule, episodes, episode_order, rng, drawn_end)
    row_journey, first = rows.journey, rows.first
    draws = _RowDraws(rng, len(row_journey), first | rows.window)
    abst, noninj, hous = _statuses(journeys, late, rows, draws)
    cols |= _days_of_use(journeys, rows, abst, rng, draws)
    cols |= _injecting(journeys, rows, noninj, rng, draws)
    cols |= _offending(journeys, rows, rng, draws)
    cols |= _scores(journeys, rows, rng, draws)
    rand = draws.uniform
    work = np.where(
        journeys.cov.employment[row_journey] == 0,
        8 + np.floor(rand() * 13),
        np.where(rand() < 0.02, 1 + np.floor(rand() * 5), 0),
    ).astype(np.int8)
    cols["days_paid_work"] = int_col(work, rand() < 0.015)
    cols["acute_housing_problem"] = bool_col(
        np.where(first, journeys.cov.accommodation_need[row_journey], hous), draws.missing(0.01)
    )
    cols["eviction_risk"] = bool_col(rand() < 0.08, rand() < 0.01)
    return pd.DataFrame(cols)


def _rows(
    journeys: Journeys,
    schedule: TopSchedule,
    episodes: Episodes,
    episode_order: EpisodeOrder,
    rng: np.random.Generator,
    drawn_end: np.ndarray | None = None,
) -> tuple[_Rows, dict[str, pd.Series]]:
    """The rows in date order (ties at random; exit TOPs by ``drawn_end``), and their id, episode,
    date and stage columns."""
    end = journeys.end if drawn_end is None else drawn_end
    row_journey = np.concatenate([schedule.start_journeys, schedule.review_journey, schedule.exit_journeys])
    row_day = np.concatenate(
        [
            schedule.start_day[schedule.start_journeys],
            schedule.review_day,
            end[schedule.exit_journeys],
        ]
    )
    ns, nrev, nx = len(schedule.start_journeys), len(schedule.review_journey), len(schedule.exit_journeys)
    stage = np.concatenate([np.zeros(ns, np.int8), np.ones(nrev, np.int8), np.full(nx, 2, np.int8)])
    win = np.concatenate([np.zeros(ns, bool), schedule.review_number <= 2, np.zeros(nx, bool)])
    nr = len(row_journey)
    # the episode each interview belongs to: the journey's latest episode referred by then
    off = 30000
    ekey = episodes.journey * 131072 + (episodes.referral + off)  # episodes are in (journey, episode) order
    e = np.searchsorted(ekey, row_journey * 131072 + (row_day + off), side="right") - 1
    order = date_order(rng, row_day)
    row_journey, row_day, stage, win, e = (
        row_journey[order],
        row_day[order],
        stage[order],
        win[order],
        e[order],
    )
    cols = {
        "top_id": string_col(id_array("TOP", np.arange(1, nr + 1), 9)),
        "episode_id": string_col(pc.take(episode_order.ids, pa.array(episode_order.rank[e]))),
        "top_date": date_col(np.where(stage == 2, journeys.end[row_journey], row_day)),
        "top_stage": code_col(("start", "review", "exit"), stage),
    }
    return _Rows(journey=row_journey, stage=stage, window=win), cols


def _statuses(
    journeys: Journeys, late: LateOutcomes, rows: _Rows, draws: _RowDraws
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Abstinence, non-injecting and housing each interview shows: the latent outcome at window
    reviews, related values elsewhere."""
    row_journey, stage, rand = rows.journey, rows.stage, draws.uniform
    other = ~rows.window & rows.later
    abst = late.abstinence[row_journey]
    abst = np.where(other, np.where(rand() < 0.7, abst, rand() < 0.4), abst)
    abst = np.where((stage == 2) & journeys.successful_completion[row_journey], rand() < 0.85, abst)
    noninj = late.non_injecting[row_journey]
    noninj = np.where(other, np.where(rand() < 0.7, noninj, rand() < 0.5), noninj)
    hous = late.housing_problem[row_journey]
    hous = np.where(other, np.where(rand() < 0.7, hous, journeys.cov.accommodation_need[row_journey]), hous)
    return abst, noninj, hous


def _days_of_use(
    journeys: Journeys, rows: _Rows, abst: np.ndarray, rng: np.random.Generator, draws: _RowDraws
) -> dict[str, pd.Series]:
    """Days of use of each substance column: problem substances from the baseline, others mostly none."""
    row_journey, first, later, rand = rows.journey, rows.first, rows.later, draws.uniform
    n, nr = len(journeys.person), len(row_journey)
    cov = journeys.cov
    prim = SUBSTANCE_DAY_COLUMN[cov.substance_1]
    problem = np.zeros((n, 7), dtype=bool)
    for sub in (cov.substance_1, cov.substance_2, cov.substance_3):
        ok = sub != NO_SUBSTANCE
        problem[np.flatnonzero(ok), SUBSTANCE_DAY_COLUMN[sub[ok]]] = True
    prim_r = prim[row_journey]
    used = np.zeros(nr, dtype=bool)
    day_cols = []
    for c in range(7):
        base = np.where(
            problem[:, c],
            1 + np.floor(27 * rng.beta(1.5, 2.0, n)),
            np.where(rng.random(n) < 0.15, 1 + np.floor(rng.random(n) * 8), 0),
        )
        base = np.where(prim == c, cov.days_used, base).astype(np.int8)[row_journey]
        pm = problem[row_journey, c]
        use = np.where(rand() < 0.65, 1 + np.floor(rand() * np.maximum(base, 1)), 0)
        nonp = np.where(rand() < 0.08, 1 + np.floor(rand() * 6), 0)
        val = np.where(pm, np.where(abst, 0, use), nonp).astype(np.int8)
        used |= pm & (val > 0)
        day_cols.append(np.where(first, base, val).astype(np.int8))
    fix = later & ~abst & ~used
    fill = (1 + np.floor(rand() * 20)).astype(np.int8)
    for c in range(7):
        day_cols[c] = np.where(fix & (prim_r == c), fill, day_cols[c])
    return {name: int_col(day_cols[c], draws.missing(0.01)) for c, name in enumerate(TOP_DAY_COLUMNS)}


def _injecting(
    journeys: Journeys, rows: _Rows, noninj: np.ndarray, rng: np.random.Generator, draws: _RowDraws
) -> dict[str, pd.Series]:
    """Days injected (at start from the baseline, later from non-injecting) and sharing."""
    row_journey, first, rand = rows.journey, rows.first, draws.uniform
    injector = (journeys.cov.injecting == 0)[row_journey]
    bi = (1 + np.floor(27 * rng.beta(3.0, 1.5, len(journeys.person)))).astype(np.int8)[row_journey]
    inj_later = np.where(
        injector,
        np.where(noninj, 0, 1 + np.floor(rand() * 28)),
        np.where(rand() < 0.01, 1 + np.floor(rand() * 4), 0),
    )
    inj = np.where(first, np.where(injector, bi, 0), inj_later).astype(np.int8)
    days_injected = int_col(inj, draws.missing(0.01))
    return {"days_injected": days_injected, "sharing": bool_col(rand() < 0.08, inj == 0)}


def _offending(
    journeys: Journeys, rows: _Rows, rng: np.random.Generator, draws: _RowDraws
) -> dict[str, pd.Series]:
    """Days of shop theft, drug selling, other theft and assault (fewer after the start)."""
    row_journey, first, rand = rows.journey, rows.first, draws.uniform
    grp = journeys.cov.group[row_journey]
    fac = np.where(first, 1.0, 0.5)
    cols = {}
    for name, probs in CRIME_DAYS:
        pos = rand() < np.take(probs, grp) * fac
        v = np.where(pos, 1 + np.floor(27 * rng.beta(1.0, 2.5, len(row_journey))), 0).astype(np.int8)
        cols[name] = int_col(v, rand() < 0.015)
    return cols


def _scores(
    journeys: Journeys, rows: _Rows, rng: np.random.Generator, draws: _RowDraws
) -> dict[str, pd.Series]:
    """Psychological and physical health and quality of life: the baseline, improving later."""
    row_journey, first, rand = rows.journey, rows.first, draws.uniform
    nr = len(row_journey)
    gain = np.where(first, 0.0, rng.normal(1.5, 2.5, nr).astype(np.float32))
    cols = {}
    for name, baseline in (
        ("psych_health", journeys.cov.psych_health),
        ("phys_health", journeys.cov.phys_health),
        ("quality_of_life", journeys.cov.quality_of_life),
    ):
        noise = np.where(first, 0.0, rng.normal(0, 1.0, nr).astype(np.float32))
        v = np.clip(np.rint(baseline[row_journey] + gain + noise), 0, 20).astype(np.int8)
        cols[name] = int_col(v, rand() < 0.01)
    return cols
