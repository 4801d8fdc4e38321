"""Which journeys' outcome windows are clear of the pilots' start (timing sensitivity).

An outcome is read over a window after the journey start (:func:`pbr.registry.outcomes.window_days`:
e.g. 365 days for successful completion). A pre-period journey starting within that many days
before the pilots' start (1 April 2012) has its outcome partly observed under payment by
results, so the main DiD's "pre" period, the event study's reference bin and the placebo's
"post" period are partly treated. The selections here, used by :mod:`pbr.fit.robustness`:

- :func:`donut_frame`: the data without the journeys starting before the start whose window
  reaches it (start + window >= start date), for the ``donut`` specification;
- :func:`clear_reference_bin`: the last pre-period bin whose every day d has d + window
  before the start (bin ends taken from the calendar, so the same for every data set), the
  reference of ``event_study_pretrend_clear``;
- :func:`clear_placebo_start`: for the pre-period journeys clear of the start, the fake start
  of ``placebo_clear``: the bin boundary nearest the middle of their start dates, strictly
  inside their range.

Plain date arithmetic (no statistics); tests pin each selection on hand-made dates.
"""

from __future__ import annotations

import pandas as pd

#: Months per bin of the event-study bin columns.
BIN_MONTHS = {"quarter": 3, "half_year": 6, "year": 12}


def clear_of_start(start_date: pd.Series, window_days: int, post_from: pd.Timestamp) -> pd.Series:
    """True for journeys whose outcome window ends before ``post_from``: start + window < post_from."""
    return start_date + pd.Timedelta(days=int(window_days)) < post_from


def donut_frame(df: pd.DataFrame, window_days: int, post_from: pd.Timestamp) -> tuple[pd.DataFrame, int]:
    """(``df`` without the journeys starting before ``post_from`` whose window reaches it, rows dropped)."""
    start = df["start_date"]
    keep = (start >= post_from) | clear_of_start(start, window_days, post_from)
    return df.loc[keep], int((~keep).sum())


def bin_start(origin: str | pd.Timestamp, bin_col: str, b: int) -> pd.Timestamp:
    """The first day of bin ``b`` of ``bin_col`` counted from ``origin``."""
    return pd.Timestamp(origin) + pd.DateOffset(months=BIN_MONTHS[bin_col] * int(b))


def clear_reference_bin(
    pre_bins, origin: str | pd.Timestamp, bin_col: str, window_days: int, post_from: pd.Timestamp
) -> int | None:
    """The last of ``pre_bins`` whose last day + ``window_days`` falls before ``post_from`` (None: none)."""
    clear = [
        int(b)
        for b in pre_bins
        if bin_start(origin, bin_col, int(b) + 1) - pd.Timedelta(days=1) + pd.Timedelta(days=int(window_days))
        < post_from
    ]
    return max(clear) if clear else None


def clear_placebo_start(
    start_dates: pd.Series, origin: str | pd.Timestamp, bin_col: str
) -> pd.Timestamp | None:
    """The ``bin_col`` boundary nearest the middle of ``start_dates`` with journeys on both sides
    (first < boundary <= last; the earlier of two equally near), or None when there is none."""
    if not len(start_dates):
        return None
    first, last = pd.Timestamp(start_dates.min()), pd.Timestamp(start_dates.max())
    middle = first + (last - first) / 2
    months = BIN_MONTHS[bin_col]
    o = pd.Timestamp(origin)
    lowest = ((first.year - o.year) * 12 + first.month - o.month) // months  # the bin first starts in
    inside, b = [], lowest
    while (c := bin_start(o, bin_col, b)) <= last:
        if c > first:
            inside.append(c)
        b += 1
    if not inside:
        return None
    return min(inside, key=lambda c: (abs((c - middle).days), c))


def placebo_note_range(start_dates: pd.Series) -> str:
    """'<first> to <last>' of the start dates (for a row's note)."""
    if not len(start_dates):
        return "none"
    return f"{pd.Timestamp(start_dates.min()).date()} to {pd.Timestamp(start_dates.max()).date()}"
