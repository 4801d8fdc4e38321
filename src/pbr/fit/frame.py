"""The model frame: the rows and columns of the analysis table one model is fitted on.

:func:`model_rows` is what every fitting function of the stage starts from: the rows in
the outcome's denominator (:func:`model_frame`), less the areas, periods and covariate
levels without outcome variation (:func:`drop_uninformative`), whose count goes into the
row's note (:func:`drop_note`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pbr.fit.counts import FREQ, journeys
from pbr.fit.spec import FitSpec


def model_frame(analysis: pd.DataFrame, outcome: str, covariates: list[str], period_col: str) -> pd.DataFrame:
    """Rows in the outcome's denominator, with covariates as categorical strings ('unknown' for missing).

    The cluster and area fixed effect is ``analysis_area`` when present (an area split by
    the partial-pilot rule is two analysis areas), else ``area_code``; either way the
    column is named ``area_code`` in the returned frame. ``post`` (0/1, float) is the
    analysis table's, or derived by :func:`post_indicator` where the table has none.
    """
    area = "analysis_area" if "analysis_area" in analysis.columns else "area_code"
    cols = [area, "pilot", "did", period_col, outcome, *covariates, *([FREQ] if FREQ in analysis else [])]
    mask = analysis[outcome].notna()
    df = analysis.loc[mask, cols].copy()
    df = df.rename(columns={area: "area_code"})
    df[outcome] = df[outcome].astype("int64")
    # categoricals: the same (sorted) levels as strings, and the same estimates; pyfixest builds its
    # design from categorical codes faster than from strings
    for c in covariates:
        df[c] = covariate_levels(df[c])
    df["area_code"] = df["area_code"].astype(str)
    df["period_fe"] = df[period_col].astype("int64")
    df["post"] = post_indicator(analysis, period_col).loc[mask].to_numpy()
    return df.reset_index(drop=True)


def covariate_levels(values: pd.Series) -> pd.Categorical:
    """A covariate as a categorical of strings, its levels sorted, 'unknown' for a missing value:
    ``values.astype("string").fillna("unknown").astype(str).astype("category")``, converting each
    distinct value once rather than every row (a few levels in 300,000 rows)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = pd.Series(uniques).astype("string").fillna("unknown").astype(str).to_numpy()
    if (codes < 0).any():
        labels = np.append(labels, "unknown")
        codes = np.where(codes < 0, len(labels) - 1, codes)
    levels, position = np.unique(labels, return_inverse=True)  # sorted; equal labels merge
    return pd.Categorical.from_codes(position[codes], categories=pd.Index(levels, dtype="str"))


def post_indicator(analysis: pd.DataFrame, period_col: str) -> pd.Series:
    """``post`` as float 0/1: the analysis table's column where present, else 1 from the first
    period that has a pilot post-period journey (``did``) on (0 throughout without one)."""
    if "post" in analysis.columns:
        return analysis["post"].astype("float64")
    first = analysis.loc[analysis["did"].astype(bool), period_col].min()
    return (analysis[period_col] >= first).astype("float64")


def post_start(analysis: pd.DataFrame) -> pd.Timestamp | None:
    """The first journey start in the post period, to word reasons ("from April 2012"); None
    without ``start_date`` and ``post`` columns or post-period journeys."""
    if "start_date" not in analysis.columns or "post" not in analysis.columns:
        return None
    first = analysis.loc[analysis["post"].astype("float64") > 0, "start_date"].min()
    return None if pd.isna(first) else pd.Timestamp(first)


def analysis_columns(outcomes: Sequence[str], spec: FitSpec) -> list[str]:
    """Columns of the analysis table the models of ``outcomes`` read with ``spec``'s covariates
    and period (``analysis_area`` only where the partial-pilot rule made it; robustness checks
    also need the dates and bins)."""
    design = ["area_code", "analysis_area", "pilot", "did", "post", spec.period_col]
    return [*design, "start_date", "half_year", "quarter", *outcomes, *spec.covariates]


def drop_uninformative(
    df: pd.DataFrame, outcome: str, covariates: Sequence[str] = ()
) -> tuple[pd.DataFrame, int, int]:
    """Drop rows whose area, period or covariate level has an outcome all 0 or all 1.

    Such rows are perfectly predicted by their own dummy: they carry no information on the
    DiD, and left in they send that dummy's coefficient to infinity (a fit that converges
    slowly or not at all). Repeated until nothing changes; returns (data, areas dropped,
    journeys dropped). Rows with frequency weights (:data:`FREQ`) count as their journeys.
    """
    n0, areas0 = journeys(df), df["area_code"].nunique()
    y = df[outcome].to_numpy(dtype=float, na_value=np.nan)
    codes = [pd.factorize(df[col])[0] for col in ["area_code", "period_fe", *covariates]]
    if not len(df) or not np.isin(y, (0, 1)).all() or any((c < 0).any() for c in codes):
        # counting (below) needs a 0/1 outcome and groups without missing values
        df = _drop_constant_groups(df, outcome, covariates)
    else:
        keep = np.ones(len(df), dtype=bool)
        while True:
            n = int(keep.sum())
            for c in codes:
                # a 0/1 outcome is all 0 or all 1 in a group when its events are 0 or all its rows
                rows = np.bincount(c[keep], minlength=c.max() + 1)
                events = np.bincount(c[keep], weights=y[keep], minlength=c.max() + 1)
                constant = (rows > 0) & ((events == 0) | (events == rows))
                if constant.any():
                    keep &= ~constant[c]
            if int(keep.sum()) == n:
                break
        if not keep.all():  # most calls drop nothing: no copy then
            df = df.loc[keep]
    df = df.reset_index(drop=True)
    for col in covariates:  # no empty levels left behind (a dummy of zeros)
        if isinstance(df[col].dtype, pd.CategoricalDtype) and _has_unused_levels(df[col]):
            df[col] = df[col].cat.remove_unused_categories()
    return df, int(areas0 - df["area_code"].nunique()), n0 - journeys(df)


def _has_unused_levels(col: pd.Series) -> bool:
    """Whether a categorical column has a level no row holds (counting its codes is cheaper than
    ``remove_unused_categories``, which most calls would not need)."""
    n = len(col.cat.categories)
    return bool(n) and (
        len(col) == 0 or np.bincount(col.cat.codes[col.cat.codes >= 0], minlength=n).min() == 0
    )


def _drop_constant_groups(df: pd.DataFrame, outcome: str, covariates: Sequence[str]) -> pd.DataFrame:
    """:func:`drop_uninformative`'s rows for any outcome values: groups whose minimum is their maximum."""
    while True:
        n = len(df)
        for col in ["area_code", "period_fe", *covariates]:
            bounds = df[outcome].groupby(df[col], observed=True).agg(["min", "max"])
            constant = bounds.index[bounds["min"] == bounds["max"]]
            if len(constant):
                df = df.loc[~df[col].isin(constant)]
        if len(df) == n:
            return df


def drop_note(dropped_areas: int, dropped_rows: int) -> str:
    """What :func:`drop_uninformative` dropped, for a result row's note ('' when nothing)."""
    if not dropped_rows:
        return ""
    return (
        f"{dropped_rows} rows without outcome variation in their area, period or covariate level "
        f"dropped ({dropped_areas} area(s))"
    )


def model_rows(df: pd.DataFrame, spec: FitSpec, extra: Sequence[str] = ()) -> tuple[pd.DataFrame, int, int]:
    """The frame ``spec``'s model is fitted on: :func:`model_frame` (plus the ``extra`` columns
    of ``df`` it lacks), after :func:`drop_uninformative`; returns (frame, areas dropped, rows
    dropped)."""
    mask = df[spec.outcome].notna()
    mf = model_frame(df, spec.outcome, list(spec.covariates), spec.period_col)
    for col in extra:
        if col not in mf.columns:
            mf[col] = df.loc[mask, col].to_numpy()
    return drop_uninformative(mf, spec.outcome, spec.covariates)
