"""Reading and writing intermediates: Parquet with sorted rows and a stable schema.

Every table the pipeline writes goes through :func:`write_table`, so the same data
always gives the same bytes (no pandas index, no timestamps, rows sorted by a key).

Every write is atomic: the bytes go to ``<name>.tmp`` beside the target, which is then
renamed over it. A failure part-way (an error, a full disk) removes the temporary file
and leaves the target as it was, so nothing half-written ever looks complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

log = logging.getLogger(__name__)


def _atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    On any failure the temporary file is removed and ``path`` is left untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_table(df: pd.DataFrame, path: str | Path, sort_by: Sequence[str] | None = None) -> Path:
    """Write ``df`` to Parquet at ``path`` (atomically), rows sorted by ``sort_by`` (stable), no index."""
    if sort_by:
        df = df.sort_values(list(sort_by), kind="mergesort", na_position="last")
    df = df.reset_index(drop=True)
    # the pandas metadata (dtypes, column order, pandas version) is deterministic and lets
    # read_table restore nullable dtypes (Int64, boolean, string) exactly
    table = pa.Table.from_pandas(df, preserve_index=False)
    path = _atomic(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
    log.info("wrote %s (%d rows, %d columns)", path, len(df), df.shape[1])
    return path


def parquet_bytes(df: pd.DataFrame) -> bytes:
    """``df`` (index dropped) as the bytes of a zstd Parquet file, as :func:`write_table` writes
    it (for small tables written together with others, all or none)."""
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink, compression="zstd")
    return sink.getvalue().to_pybytes()


def write_bytes(data: bytes, path: str | Path) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return _atomic(path, lambda tmp: tmp.write_bytes(data))


def read_table(path: str | Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a Parquet intermediate into pandas (nullable dtypes kept)."""
    return pq.read_table(path, columns=list(columns) if columns else None).to_pandas()


def read_rows(
    path: str | Path, column: str, values: Iterable[object], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The rows of a Parquet intermediate whose ``column`` (compared as text) is one of ``values``,
    with ``columns`` (default all). The filter is pushed into the reader, so the other rows are
    never held in memory: a job needing a few of a large table's rows reads only those."""
    wanted = pa.array(pd.unique(pd.Series(list(values), dtype="string").dropna()), type=pa.string())
    keep = pc.field(column).cast(pa.string()).isin(wanted)
    return pq.read_table(path, columns=list(columns) if columns else None, filters=keep).to_pandas()


def row_count(path: str | Path) -> int:
    """Rows of a Parquet file, from its metadata (nothing else is read)."""
    return pq.ParquetFile(path).metadata.num_rows


def read_present_columns(path: str | Path, wanted: Sequence[str]) -> pd.DataFrame:
    """Read the columns of ``wanted`` that the Parquet file has (optional ones may be absent), in file order."""
    names = pq.read_schema(path).names
    wanted_names = set(wanted)
    return read_table(path, columns=[c for c in names if c in wanted_names])


def write_json(obj: object, path: str | Path) -> Path:
    """Write ``obj`` as pretty, key-sorted JSON (stable bytes for the same content), atomically."""
    return write_bytes((json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode(), path)


def read_json(path: str | Path) -> Any:
    """Read a JSON file written by :func:`write_json` (any JSON value, as :func:`json.loads` returns)."""
    return json.loads(Path(path).read_text())


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
