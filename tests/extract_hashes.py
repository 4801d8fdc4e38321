"""Byte-level fingerprints of generated tables, shared by the tests that check an extract is (or is
not) the same byte for byte: a table written to Parquet without pandas' schema metadata, hashed."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def table_hash(df: pd.DataFrame) -> str:
    """SHA-256 of ``df`` written to Parquet (no index, no schema metadata)."""
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None), buf)
    return hashlib.sha256(buf.getvalue()).hexdigest()


def extract_hashes(ex) -> dict[str, str]:
    """:func:`table_hash` of every table and truth table of a synthetic extract, keyed
    ``tables.<name>`` / ``truth.<name>``."""
    return {
        f"{kind}.{name}": table_hash(df)
        for kind in ("tables", "truth")
        for name, df in getattr(ex, kind).items()
    }
