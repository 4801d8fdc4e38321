"""The calendar of the extract: key days, the month grid, and the journeys to start each month."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbr.synthetic.areas import Areas
from pbr.synthetic.dates import day_number
from pbr.synthetic.draws import largest_remainder
from pbr.synthetic.params import SyntheticParams

WEEKDAY_WEIGHT = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.25, 0.15])  # Mon..Sun: fewer referrals at weekends


@dataclass
class Calendar:
    """Day numbers of the study's dates, the referral months, and the journey targets."""

    referral_start: int
    pre_start: int
    post_start: int
    #: first day of the second post year (``post_start`` + 12 months): journeys referred from it
    #: carry the second year's planted OR (``effects_second_year``)
    second_year_start: int
    post_end: int
    extract_end: int
    #: first and last day of each month (the last month ends on the extract date)
    month_start: np.ndarray
    month_end: np.ndarray
    #: window of each month: 0 pre, 1 post, -1 outside
    month_period: np.ndarray
    #: the days of each month and the cumulative weights to draw a referral day
    month_days: list[tuple[np.ndarray, np.ndarray]]
    #: total day weight of each month
    month_weight: np.ndarray
    #: adult journeys per window: [cohort, group (0 other, 1 pilot), period]
    targets: np.ndarray
    #: adult journeys to start per month: [cohort, group (0 other, 1 pilot, 2 excluded), month]
    month_targets: np.ndarray
    #: under-18 journeys to start per month, same shape
    month_minors: np.ndarray

    @property
    def n_months(self) -> int:
        """Number of referral months."""
        return len(self.month_start)

    def period(self, days: np.ndarray) -> np.ndarray:
        """Window of each day: 0 pre, 1 post, -1 outside."""
        per = np.full(len(days), -1)
        per[(days >= self.pre_start) & (days < self.post_start)] = 0
        per[(days >= self.post_start) & (days <= self.post_end)] = 1
        return per


def second_year_start(post_start: str) -> int:
    """Day number of the first day of the second post year: ``post_start`` (ISO, the 1st of a
    month) plus 12 months."""
    return int((np.datetime64(post_start, "M") + 12).astype("datetime64[D]").astype(np.int64))


def window_targets(params: SyntheticParams) -> np.ndarray:
    """Adult journeys per window, [cohort, group (0 other, 1 pilot), period], at the params' scale."""
    c = params.counts
    s = params.scale
    alc_pre, alc_post = round(c.alcohol_pre * s), round(c.alcohol_post * s)
    alc_pre_p = round(c.alcohol_pre * c.alcohol_pilot_share * s)
    alc_post_p = round(c.alcohol_post * c.alcohol_pilot_share * s)
    t = np.zeros((2, 2, 2), dtype=np.int64)
    t[0, 1, 0], t[0, 0, 0] = round(c.drug_pre_pilot * s), round(c.drug_pre_other * s)
    t[0, 1, 1], t[0, 0, 1] = round(c.drug_post_pilot * s), round(c.drug_post_other * s)
    t[1, 1, 0], t[1, 0, 0] = alc_pre_p, alc_pre - alc_pre_p
    t[1, 1, 1], t[1, 0, 1] = alc_post_p, alc_post - alc_post_p
    return t


def build_calendar(params: SyntheticParams, areas: Areas, rng: np.random.Generator) -> Calendar:
    """The month grid and the monthly targets: exact in the windows (spread by day weight),
    Poisson outside them, in the excluded East Kent and for under-18s."""
    dates = params.dates
    extract_end = day_number(dates.extract_end)
    pre_start, post_start, post_end = (
        day_number(dates.pre_start),
        day_number(dates.post_start),
        day_number(dates.post_end),
    )
    months = np.arange(np.datetime64(dates.referral_start, "M"), np.datetime64(dates.extract_end, "M") + 1)
    m_start = months.astype("datetime64[D]").astype(np.int64)
    m_end = np.minimum((months + 1).astype("datetime64[D]").astype(np.int64) - 1, extract_end)
    nm = len(months)
    per = np.full(nm, -1)
    per[(m_start >= pre_start) & (m_start < post_start)] = 0
    per[(m_start >= post_start) & (m_start <= post_end)] = 1
    m_days = []
    m_dayw = np.zeros(nm)
    for m in range(nm):
        days = np.arange(m_start[m], m_end[m] + 1)
        w = WEEKDAY_WEIGHT[(days + 3) % 7]  # 1970-01-01 was a Thursday
        m_days.append((days, np.cumsum(w) / w.sum()))
        m_dayw[m] = w.sum()
    t = window_targets(params)
    target_m = _month_targets(params, areas, rng, t, per, m_dayw)
    return Calendar(
        referral_start=day_number(dates.referral_start),
        pre_start=pre_start,
        post_start=post_start,
        second_year_start=second_year_start(dates.post_start),
        post_end=post_end,
        extract_end=extract_end,
        month_start=m_start,
        month_end=m_end,
        month_period=per,
        month_days=m_days,
        month_weight=m_dayw,
        targets=t,
        month_targets=target_m.astype(np.int64),
        month_minors=rng.poisson(params.counts.under18_share * target_m).astype(np.int64),
    )


def _month_targets(
    params: SyntheticParams,
    areas: Areas,
    rng: np.random.Generator,
    t: np.ndarray,
    per: np.ndarray,
    m_dayw: np.ndarray,
) -> np.ndarray:
    """Adult journeys per [cohort, group, month] (floats holding whole numbers): hard in the
    windows for groups 0 and 1, soft (Poisson) elsewhere."""
    target_m = np.zeros((2, 3, len(per)))
    for per_i in (0, 1):
        ms = np.flatnonzero(per == per_i)
        for co in (0, 1):
            for g in (0, 1):
                target_m[co, g, ms] = largest_remainder(int(t[co, g, per_i]), m_dayw[ms])
    in_win = per >= 0
    mean_w = m_dayw[in_win].mean() if in_win.any() else 1.0
    for co in (0, 1):
        for g in (0, 1):
            avg = t[co, g].sum() / max(in_win.sum(), 1)
            soft = params.counts.outside_window_share * avg * m_dayw[~in_win] / mean_w
            target_m[co, g, ~in_win] = rng.poisson(soft)
        # the excluded East Kent (sub_area_pilot_rest_excluded): soft, at its share of the pilot flow
        w = areas.unit_weight[co]
        pil = w[areas.unit_group == 1].sum()
        ex = w[areas.unit_group == 2].sum()
        if ex > 0 and pil > 0:
            lam = target_m[co, 1] * ex / pil
            target_m[co, 2] = rng.poisson(lam)
    return target_m
