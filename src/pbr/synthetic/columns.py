"""Output columns: pandas Series with the contract's dtypes, built from numpy and pyarrow arrays."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pbr.synthetic.dates import NA


def string_col(values, na_mask: np.ndarray | None = None) -> pd.Series:
    """A pandas 'string' Series from a numpy/pyarrow array (``na_mask`` True -> <NA>)."""
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if na_mask is not None and na_mask.any():
        arr = pc.if_else(pa.array(na_mask), pa.nulls(len(arr), arr.type), arr)
    arr = arr.cast(pa.string())
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    return pd.Series(pd.arrays.ArrowStringArray(arr))


def code_col(labels, codes: np.ndarray) -> pd.Series:
    """A 'string' Series of ``labels[codes]``; negative codes -> <NA>."""
    codes = np.asarray(codes)
    idx = pa.array(np.where(codes < 0, 0, codes), mask=codes < 0)
    return string_col(pc.take(pa.array(list(labels), pa.string()), idx))


def id_array(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Identifiers ``prefix`` + ``numbers`` zero-padded to ``width`` digits (a pyarrow array)."""
    digits = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, padding="0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def date_col(days: np.ndarray) -> pd.Series:
    """A datetime64[s] Series from day numbers (:data:`~pbr.synthetic.dates.NA` -> NaT)."""
    days = np.asarray(days, dtype=np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[s]")
    out[days == NA] = np.datetime64("NaT")
    return pd.Series(out)


def int_col(values: np.ndarray, na_mask: np.ndarray | None = None) -> pd.Series:
    """A nullable Int64 Series (``na_mask`` True -> <NA>)."""
    v = np.asarray(values, dtype=np.int64)
    mask = np.zeros(len(v), dtype=bool) if na_mask is None else np.asarray(na_mask, dtype=bool)
    return pd.Series(pd.arrays.IntegerArray(np.where(mask, 0, v), mask))


def bool_col(values: np.ndarray, na_mask: np.ndarray | None = None) -> pd.Series:
    """A nullable boolean Series (``na_mask`` True -> <NA>)."""
    v = np.asarray(values, dtype=bool)
    mask = np.zeros(len(v), dtype=bool) if na_mask is None else np.asarray(na_mask, dtype=bool)
    return pd.Series(pd.arrays.BooleanArray(v & ~mask, mask))


def person_ids(pids: np.ndarray) -> pd.Series:
    """True person ids ('P' + 8 digits) of person numbers; negative numbers (unrelated people) -> <NA>."""
    pids = np.asarray(pids)
    return string_col(id_array("P", np.maximum(pids, 0) + 1, 8), na_mask=pids < 0)
