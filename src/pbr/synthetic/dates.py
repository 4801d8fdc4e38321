"""Day numbers (days since 1970-01-01, int64) and calendar arithmetic on numpy arrays."""

from __future__ import annotations

import numpy as np

NA = np.int64(-(2**40))  # missing day number
_EPOCH = np.datetime64("1970-01-01", "D")


def day_number(s: str) -> int:
    """Day number (days since 1970-01-01) of an ISO date."""
    return int((np.datetime64(s, "D") - _EPOCH).astype(np.int64))


def ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day of each day number."""
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    y = m.astype("datetime64[Y]")
    return (
        y.astype(np.int64) + 1970,
        (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
        (d - m.astype("datetime64[D]")).astype(np.int64) + 1,
    )


def from_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Day numbers of the given years, months and days."""
    months = (np.asarray(y) - 1970) * 12 + (np.asarray(m) - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + (np.asarray(d) - 1)


def days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Number of days in each (year, month)."""
    first = from_ymd(y, m, np.ones_like(m))
    nxt = (((np.asarray(y) - 1970) * 12 + np.asarray(m)).astype("datetime64[M]")).astype("datetime64[D]")
    return nxt.astype(np.int64) - first


def age_years(dob: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Whole years of age (calendar rule, as the pipeline computes it)."""
    yb, mb, db = ymd(dob)
    yo, mo, do = ymd(on)
    return yo - yb - ((mo * 100 + do) < (mb * 100 + db))


def birthday(dob: np.ndarray, years: int) -> np.ndarray:
    """Day number of the ``years``-th birthday of each date of birth."""
    y, m, d = ymd(dob)
    return from_ymd(y + years, m, d)
