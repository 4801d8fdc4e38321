"""Table operations pandas makes slow on the pipeline's text columns.

Written by hand because pandas 3.1's own path is slow where it matters: ``Series.isin`` on a
text column (pyarrow-backed, the default ``str`` dtype) turns each allowed value into a pyarrow
scalar in a Python loop (1.2 s for the 254,087 candidate offenders of predict_links[offences] at
paper scale), while pyarrow's ``is_in`` takes them as one array. The tests compare
:func:`member_of` with ``Series.isin``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def member_of(values: pd.Series, allowed: Iterable[object]) -> np.ndarray:
    """Whether each of ``values`` is one of ``allowed``, as (N,) bool: ``values.isin(allowed)``.

    For a pyarrow-backed text column and text ``allowed`` (missing values allowed), by pyarrow's
    ``is_in``; otherwise by ``Series.isin``.
    """
    if isinstance(allowed, (set, frozenset)) or not hasattr(allowed, "__len__"):
        allowed = list(allowed)
    arrow_text = isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"
    if not arrow_text or pd.api.types.infer_dtype(allowed, skipna=True) not in ("string", "empty"):
        return values.isin(allowed).to_numpy(dtype=bool)
    column = pa.chunked_array(pa.array(values.array))
    value_set = pa.array(pd.unique(np.asarray(allowed, dtype=object)), type=column.type, from_pandas=True)
    return np.asarray(pc.is_in(column, value_set=value_set).to_numpy(), dtype=bool)
