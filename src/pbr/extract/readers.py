"""Reading the sources as they are: CSV files as text, Parquet files and database tables with
their stored types. Nothing here converts or validates a value; each reader returns the raw
frame (or None) and the structural problems it found, never raising for a bad file.

- CSV: the bytes are checked first (empty, UTF-16/UTF-32 with or without a byte-order mark,
  NUL bytes named by line, not UTF-8), then a strict pass of Python's csv reader checks the
  structure (separator, duplicate or empty header names, rows of the wrong width, quotes
  never closed, a missing final line break, repeated header rows) before pandas reads the
  values as text; Python's csv field-size limit is lifted while reading (:data:`CSV_FIELD_LIMIT`);
- Parquet: the columns as stored (a pandas index is read back as a column only when it is a
  contract column);
- database: each contract table through SQLAlchemy, ordered by its key, with the SQL type of
  each column for messages.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pbr import source as data_source
from pbr.contract import TABLES, Table
from pbr.extract.problems import MAX_EXAMPLES, ExtractError, Problem, column_label

if TYPE_CHECKING:  # SQLAlchemy is imported only when a database is read
    from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

#: the longest value the CSV reader takes (Python's csv module stops at 131,072 characters by default;
#: a legal value may be longer, e.g. a free-text field). A quote never closed makes one value run to the
#: end of the file, which the reader reports as such.
CSV_FIELD_LIMIT = 2**31 - 1


def find_table_files(directory: Path, fmt: str) -> tuple[dict[str, Path], list[Problem]]:
    """The file of each contract table in ``directory`` (see :func:`pbr.source.table_files`), and a
    problem for each table missing or present twice."""
    files, found = data_source.table_files(directory, fmt)
    return files, [Problem(where, what, hint=todo) for where, what, todo in found]


# --------------------------------------------------------------------------- CSV


def read_csv(path: Path, origin: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a CSV as text only; structural problems are returned, never raised."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, [Problem(origin, f"cannot be read ({e.strerror or e})")]
    text, problem = _decode(data, origin)
    if problem is not None:
        return None, [problem]
    with _field_size_limit(CSV_FIELD_LIMIT):
        return _parse_csv(text, origin)


def _decode(data: bytes, origin: str) -> tuple[str, Problem | None]:
    """The file's bytes as text, or the problem that stops it being read: empty, UTF-16, NUL bytes,
    not UTF-8."""
    empty = Problem(origin, "is empty: no header row", hint="Export the table with its header row")
    if not data.strip():
        return "", empty
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "", Problem(
            origin, "is encoded as UTF-16, not UTF-8", hint="Save it as UTF-8 (Excel: 'CSV UTF-8')"
        )
    if b"\x00" in data:
        return "", _nul_problem(data, origin)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        guess = ""
        try:
            data.decode("cp1252")
            guess = " It looks like Windows-1252 (Latin-1)."
        except UnicodeDecodeError:
            pass
        return "", Problem(
            origin,
            f"is not valid UTF-8: byte 0x{data[e.start]:02x} on line {line} cannot be decoded.{guess}",
            hint="Save the file as UTF-8 (Excel: 'CSV UTF-8'; or `iconv -f WINDOWS-1252 -t UTF-8`)",
        )
    if not text.strip():  # e.g. only a byte-order mark
        return "", empty
    return text, None


@contextlib.contextmanager
def _field_size_limit(limit: int):
    old = csv.field_size_limit()
    csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _nul_problem(data: bytes, origin: str) -> Problem:
    """A file holding NUL bytes: UTF-16 or UTF-32 without a byte-order mark (every other byte NUL in
    ASCII text), or stray NULs in a text file (a damaged copy), named by line."""
    sample = data[:65536]
    n = len(sample)
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if n >= 4 and sample[0::4].count(0) + sample[1::4].count(0) + sample[2::4].count(0) > 0.6 * n:
        return Problem(
            origin,
            "looks like UTF-32 text (three of every four bytes are NUL), not UTF-8",
            hint="Save it as UTF-8 (Excel: 'CSV UTF-8'; or `iconv -f UTF-32 -t UTF-8`)",
        )
    if n >= 2 and max(even, odd) > 0.3 * n and min(even, odd) < 0.05 * n:
        encoding = "UTF-16LE" if odd > even else "UTF-16BE"
        return Problem(
            origin,
            f"looks like {encoding} text without a byte-order mark (every other byte is NUL), not UTF-8",
            hint=f"Save it as UTF-8 (Excel: 'CSV UTF-8'; or `iconv -f {encoding} -t UTF-8`)",
        )
    lines: list[int] = []
    at = data.find(b"\x00")
    count = 0
    while at >= 0:
        count += 1
        line = data.count(b"\n", 0, at) + 1
        if not lines or lines[-1] != line:
            lines.append(line)
        at = data.find(b"\x00", at + 1)
    shown = ", ".join(map(str, lines[:MAX_EXAMPLES])) + (
        f" (and {len(lines) - MAX_EXAMPLES} more lines)" if len(lines) > MAX_EXAMPLES else ""
    )
    return Problem(
        origin,
        f"contains {count} NUL {'byte' if count == 1 else 'bytes'} (a zero byte, which no text CSV holds) "
        f"on {'line' if len(lines) == 1 else 'lines'} {shown} (lines counted from 1, the header is line 1)",
        hint="Remove the NUL bytes (e.g. `tr -d '\\000'`) or export the file again: a stray NUL is usually a "
        "damaged copy",
    )


@dataclass
class _RowScan:
    """What the strict pass over the data rows found (records numbered from 1, blank lines skipped)."""

    n_records: int = 0
    wrong_width: list[int] = field(default_factory=list)  # rows with more or fewer values than the header
    widths: dict[int, int] = field(default_factory=dict)  # number of values -> rows of that wrong width
    surplus_empty: bool = True  # every value beyond the header's width is empty (trailing commas)
    repeated_header: list[int] = field(default_factory=list)
    filled_blank: list[int] = field(default_factory=list)  # rows with a value in a column that has no name
    error: csv.Error | None = None  # the reader stopped here (a quote never closed)


def _parse_csv(text: str, origin: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Parse decoded CSV text: a strict pre-pass for the structure, then pandas for the values."""
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        return None, [Problem(origin, f"cannot be parsed: the header row is malformed ({e})")]
    separator = _separator_problem(header, origin)
    if separator is not None:
        return None, [separator]
    blank = [i for i, h in enumerate(header) if not h.strip()]  # no name: Excel's trailing commas
    duplicates = sorted({h for h in header if h.strip() and header.count(h) > 1})
    if duplicates:
        problems.append(
            Problem(
                origin,
                f"the header names {', '.join(repr(d) for d in duplicates)} more than once",
                hint="Remove the duplicates",
            )
        )
    scan = _scan_rows(reader, header, blank)
    if scan.error is not None:
        problems.append(
            Problem(
                origin,
                f"cannot be parsed after data row {scan.n_records} ({scan.error}): a quote is never closed, "
                "or the file is truncated",
                hint="Check the quoting near that row (a value that opens a quote must close it), "
                "or export the file again",
            )
        )
        return None, problems
    problems += _row_problems(scan, text, len(header), blank, origin)
    if problems:
        return None, problems
    return _read_text_values(text, origin, scan.n_records, len(header), blank)


def _separator_problem(header: list[str], origin: str) -> Problem | None:
    """A header read as one column that splits on ';', tab or '|': the file is not comma-separated."""
    for other in (";", "\t", "|"):
        if len(header) == 1 and len(header[0].split(other)) > 1:
            shown = "tab" if other == "\t" else f"'{other}'"
            return Problem(
                origin,
                f"is not comma-separated: the header looks separated by {shown}",
                hint="Save it as a comma-separated CSV (delimiter ',')",
            )
    return None


def _scan_rows(reader: Iterable[list[str]], header: list[str], blank: list[int]) -> _RowScan:
    """One strict pass over the data rows: their widths, repeated headers, values under no name."""
    scan = _RowScan()
    ncol = len(header)
    try:
        for row in reader:
            if not row:  # blank line, skipped (as by pandas)
                continue
            scan.n_records += 1
            if len(row) != ncol:
                scan.wrong_width.append(scan.n_records)
                scan.widths[len(row)] = scan.widths.get(len(row), 0) + 1
                scan.surplus_empty &= len(row) > ncol and not any(v.strip() for v in row[ncol:])
            elif [row[0].lstrip("\ufeff"), *row[1:]] == header:
                scan.repeated_header.append(scan.n_records)
            elif blank and any(row[i].strip() for i in blank):
                scan.filled_blank.append(scan.n_records)
    except csv.Error as e:
        scan.error = e
    return scan


def _row_problems(scan: _RowScan, text: str, ncol: int, blank: list[int], origin: str) -> list[Problem]:
    """The structural problems of the data rows: wrong widths, values under no name, a missing final
    line break, repeated header rows (in that order)."""
    problems = []
    wrong = scan.wrong_width
    if wrong:
        seen = ", ".join(f"{k} values in {v}" for k, v in sorted(scan.widths.items()))
        last = " (the last row is incomplete: is the file truncated?)" if wrong[-1] == scan.n_records else ""
        hint = "Quote values that contain commas, or export the file again if it was cut short"
        if scan.surplus_empty:
            hint = (
                "The values beyond the header's are all empty: remove the trailing commas from those rows "
                "(a spreadsheet export?), or export the file again"
            )
        problems.append(
            Problem(
                origin,
                f"{{do}} not have {ncol} values like the header ({seen}){last}",
                rows=wrong,
                hint=hint,
            )
        )
    if blank and scan.filled_blank:
        problems.append(
            Problem(
                origin,
                f"{{have}} values in {'a column' if len(blank) == 1 else 'columns'} with no name in the header "
                f"({'column' if len(blank) == 1 else 'columns'} {', '.join(str(i + 1) for i in blank)}, "
                "counted from 1)",
                rows=scan.filled_blank,
                hint="Give the column its contract name, or remove it; a header with empty names usually "
                "comes from trailing commas or an extra column in a spreadsheet",
            )
        )
    if not text.endswith(("\n", "\r")) and not (wrong and wrong[-1] == scan.n_records):
        # a file cut short inside its last value still parses: only the missing line break tells
        last_line = f"its last row (row {scan.n_records})" if scan.n_records else "its header"
        problems.append(
            Problem(
                origin,
                f"does not end with a line break, so {last_line} may be cut short: the file looks truncated",
                hint="Export the file again; if it is complete, add a line break at its end",
            )
        )
    if scan.repeated_header:
        problems.append(
            Problem(
                origin,
                "{are} a copy of the header row (were two exports joined together?)",
                rows=scan.repeated_header,
                hint="Remove the repeated header rows, and check that no row appears twice",
            )
        )
    return problems


def _read_text_values(
    text: str, origin: str, n_records: int, ncol: int, blank: list[int]
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """The values of well-formed CSV text, all as text (no type guessing; only '' is missing); columns
    with no name (empty in every row, as the pre-pass found) are left out with a warning."""
    try:
        df = pd.read_csv(
            io.StringIO(text, newline=""),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as e:  # pragma: no cover - the csv pre-pass catches these
        return None, [Problem(origin, f"cannot be parsed ({str(e).splitlines()[0]})")]
    if len(df) != n_records:  # pragma: no cover - defensive
        return None, [
            Problem(origin, f"parsed inconsistently ({len(df)} vs {n_records} rows); check its quoting")
        ]
    if blank:  # columns with no name and no value in any row: trailing commas, ignored
        df = df.iloc[:, [i for i in range(ncol) if i not in blank]]
        log.warning(
            "%s: the header has %d empty column %s (%s %s, counted from 1: trailing commas, e.g. from a "
            "spreadsheet), empty in every row: ignored",
            origin,
            len(blank),
            "name" if len(blank) == 1 else "names",
            "column" if len(blank) == 1 else "columns",
            ", ".join(str(i + 1) for i in blank),
        )
    return df, []


# --------------------------------------------------------------------------- Parquet


_PANDAS_INDEX_RE = re.compile(r"__index_level_[0-9]+__")


def read_parquet(
    path: Path, origin: str, table: Table | None = None
) -> tuple[pd.DataFrame | None, dict[str, str], list[Problem]]:
    """Read a Parquet file's columns as they are stored (no pandas index is restored).

    A file written by pandas may hold its index as a column: a named index that is a contract
    column of ``table`` (e.g. the key saved as the index) is read back as that column; an
    unnamed index (``__index_level_0__``) or one named otherwise is not data and is left out.
    Returns the frame (Arrow-backed columns) or None, the stored type of each column for
    messages, and the problems.
    """
    try:
        arrow_table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return None, {}, [Problem(origin, f"cannot be read as Parquet ({msg})", hint="Export the file again")]
    try:
        meta = arrow_table.schema.pandas_metadata or {}
    except (ValueError, TypeError):  # pragma: no cover - unreadable pandas metadata: treat as none
        meta = {}
    index_columns = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    contract = set(table.column_names) if table is not None else set()
    drop = [
        c
        for c in arrow_table.column_names
        if _PANDAS_INDEX_RE.fullmatch(c) or (c in index_columns and c not in contract)
    ]
    for c in index_columns:
        if c in contract and c in arrow_table.column_names:
            log.info("%s: column %r was saved as the pandas index; read back as a column", origin, c)
    if drop:
        log.info("%s: the pandas index (%s) is not data: left out", origin, ", ".join(map(repr, drop)))
        arrow_table = arrow_table.drop_columns(drop)
    arrow_table = arrow_table.replace_schema_metadata(
        None
    )  # read the columns as stored, without pandas' index
    names = arrow_table.column_names
    duplicates = sorted({h for h in names if names.count(h) > 1})
    if duplicates:
        return (
            None,
            {},
            [Problem(origin, f"has the columns {', '.join(repr(d) for d in duplicates)} more than once")],
        )
    types = {f.name: f"Parquet type {f.type}" for f in arrow_table.schema}
    return arrow_table.to_pandas(types_mapper=pd.ArrowDtype), types, []


# --------------------------------------------------------------------------- database


def _sql_arrow_type(sqltype: object) -> pa.DataType | None:
    from sqlalchemy import types as st

    if isinstance(sqltype, st.Boolean):
        return pa.bool_()
    if isinstance(sqltype, st.Integer):
        return pa.int64()
    if isinstance(sqltype, st.Numeric):  # Float is a Numeric; Decimals are converted to float first
        return pa.float64()
    if isinstance(sqltype, st.DateTime):
        return pa.timestamp("us", tz="UTC") if getattr(sqltype, "timezone", False) else pa.timestamp("us")
    if isinstance(sqltype, st.Date):
        return pa.date32()
    if isinstance(sqltype, st.String):  # Text, VARCHAR, CHAR, Enum
        return pa.large_string()
    return None


def _sql_values_to_arrow(values: list, sqltype: object) -> pa.Array:
    from sqlalchemy import types as st

    target = _sql_arrow_type(sqltype)
    if isinstance(sqltype, st.Numeric):
        values = [None if v is None else float(v) for v in values]
    return pa.array(values, type=target) if target is not None else pa.array(values)


def read_database(
    url: str, db_schema: str | None
) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, dict[str, str]], list[Problem]]:
    """Read every contract table from the database at ``url`` (in ``db_schema``), rows in key order.

    Returns the frames (Arrow-backed columns), where each table was read (``db table x``, for
    messages), the SQL type of each column, and the problems (a table missing, a column type
    that cannot be read). Raises :class:`ExtractError` when the URL cannot be used or the
    database cannot be reached.
    """
    import sqlalchemy as sa

    try:
        data_source.check_url(url)
    except data_source.SourceError as e:
        raise ExtractError(str(e)) from None
    shown = data_source.public_url(url)
    try:
        engine = sa.create_engine(data_source.connect_url(url))
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as e:
        raise ExtractError(f"Cannot use the database URL {shown} ({e}).") from None

    raw: dict[str, pd.DataFrame] = {}
    origin: dict[str, str] = {}
    type_names: dict[str, dict[str, str]] = {}
    problems: list[Problem] = []
    prefix = f"{db_schema}." if db_schema else ""
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            for name, table in TABLES.items():
                origin[name] = where = f"db table {prefix}{name}"
                if not inspector.has_table(name, schema=db_schema):
                    problems.append(
                        Problem(
                            where, f"does not exist in the database {shown}", hint="Create or load the table"
                        )
                    )
                    continue
                raw[name], type_names[name], found = _read_database_table(conn, table, db_schema, where)
                problems += found
                log.info("read %s: %d rows", where, len(raw[name]))
    except sa.exc.DBAPIError as e:
        first = str(e.orig if e.orig is not None else e).strip().splitlines()[0]
        raise ExtractError(
            f"Cannot read the database at {shown}: {first}. Check that the server is running, the URL "
            "(host, port, database name, user) and the credentials, then run again."
        ) from None
    finally:
        engine.dispose()
    return raw, origin, type_names, problems


def _read_database_table(
    conn: Connection, table: Table, db_schema: str | None, where: str
) -> tuple[pd.DataFrame, dict[str, str], list[Problem]]:
    """One table, streamed in key order: the frame, its columns' SQL types, and a problem for each
    column whose values cannot be read."""
    import sqlalchemy as sa

    sql_table = sa.Table(table.name, sa.MetaData(), autoload_with=conn, schema=db_schema)
    names = [c.name for c in sql_table.columns]
    type_names = {c.name: f"SQL type {_sql_type_name(c.type)}" for c in sql_table.columns}
    order = [sql_table.c[k] for k in table.key if k in sql_table.c]
    stmt = sa.select(sql_table).order_by(*order)
    chunks: dict[str, list] = {n: [] for n in names}
    result = conn.execution_options(stream_results=True, yield_per=50_000).execute(stmt)
    for part in result.partitions():
        for n, vals in zip(names, zip(*part, strict=True), strict=True):
            chunks[n].extend(vals)
    problems = []
    columns: dict[str, pd.Series] = {}
    for c in sql_table.columns:
        try:
            arr = _sql_values_to_arrow(chunks.pop(c.name), c.type)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            problems.append(
                Problem(
                    where,
                    f"has the {type_names[c.name]}, which cannot be read",
                    column=column_label(c.name),
                    hint="Store it with a plain text, number, boolean or date type",
                )
            )
            continue
        columns[c.name] = pd.Series(arr, dtype=pd.ArrowDtype(arr.type))
    frame = pd.DataFrame(columns) if columns else pd.DataFrame(index=pd.RangeIndex(0))
    return frame[[n for n in names if n in columns]], type_names, problems


def _sql_type_name(t: object) -> str:
    try:
        return str(t)
    except Exception:  # some dialect-specific types cannot compile without their dialect
        return type(t).__name__.upper()
