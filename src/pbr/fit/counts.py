"""Counting journeys when a row may stand for several: the frequency-weight column.

An analysis table or model frame may carry :data:`FREQ`, the number of identical journeys a
row stands for (absent: 1 each). Every fitting function of the stage weights its sums over
rows by it (``pbr.fit.design.Design.freq``), so a table collapsed to one row per distinct
journey gives the same estimates, tests and counts as the journeys themselves; the
simulation study (:mod:`pbr.simstudy.mechanism`) writes its replicates so, which makes a
replicate of 150,000 journeys a table of about 9,000 rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The column giving the journeys a row stands for.
FREQ = "freq"


def freq_of(df: pd.DataFrame) -> np.ndarray:
    """The journeys each row of ``df`` stands for (N,) float: its :data:`FREQ` column, else 1 each."""
    return df[FREQ].to_numpy(dtype=float) if FREQ in df.columns else np.ones(len(df))


def journeys(df: pd.DataFrame, mask=None) -> int:
    """The number of journeys ``df``'s rows (those of the boolean ``mask``) stand for."""
    f = freq_of(df)
    return round(float(f.sum() if mask is None else f[np.asarray(mask, dtype=bool)].sum()))


def events(df: pd.DataFrame, outcome: str, mask=None) -> int:
    """The number of journeys with ``outcome`` 1 among ``df``'s rows (those of ``mask``)."""
    fy = freq_of(df) * df[outcome].to_numpy(dtype=float)
    return round(float(fy.sum() if mask is None else fy[np.asarray(mask, dtype=bool)].sum()))
