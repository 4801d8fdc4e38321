"""Read the five input tables, validate them against the contract, count what is dropped.

Input comes from a directory (``<table>.csv`` or ``<table>.parquet`` for every table in
:data:`pbr.contract.TABLES`) or from a database (tables of those names, read with
SQLAlchemy). Whatever the source, each column goes through the same two steps:

1. **conversion** to its canonical dtype (string -> pandas ``string``, int -> ``Int64``,
   float -> ``Float64``, bool -> ``boolean``, date -> ``datetime64[s]``). CSV is read as
   text only (no type guessing) and each value is parsed explicitly, so every value that
   does not parse is reported with its row. Text (CSV values, text columns of any source)
   is first cleaned: surrounding spaces removed, and a blank value or a null token
   (:data:`pbr.contract.NULL_TOKENS`: 'NULL', 'N/A', ...; in name columns
   :data:`pbr.contract.NAME_NULL_TOKENS`) read as missing, both counted; free-text columns
   (``area_name``, ``region``) are kept exactly, only ``""`` being missing.
   Parquet and SQL columns must have a compatible physical type (below); they are then
   converted without loss or the offending rows are reported.
2. **validation** with a pandera ``DataFrameSchema`` built from the contract: dtypes,
   empty values, code lists, ranges, unique keys, date orders and dates in the future.

Validated tables have the contract's columns in contract order, canonical dtypes and
rows sorted by key (so the result does not depend on the source's row order).

Rows are numbered from 1 as data rows in the file (the CSV line number minus the header
line, when no value spans lines; the row position in Parquet). Database rows are
numbered in the order of the table's key (``ORDER BY <key>``).

Accepted text spellings (CSV, and text columns of frames given to :func:`validate_tables`;
an empty string is an empty value in every source, since CSV cannot tell them apart):

- int: ``123``, ``-4``, ``+5``; ``80.0`` (a whole number written with a zero decimal
  part) is accepted, ``80.5``, ``1e3`` are not (``80 `` is ``80`` once trimmed, counted);
- float: decimal notation with optional exponent (``1.5``, ``-2``, ``3e-2``), not
  ``nan`` or ``inf``;
- bool: ``true``/``false``, ``t``/``f``, ``yes``/``no``, ``y``/``n``, ``1``/``0``, in any case;
- date: ``YYYY-MM-DD`` only, and a real calendar date.

Accepted physical types (Parquet, SQL; text is not parsed there, so a number or date
stored as text is a type error): string columns need a text type; int columns an
integer type, or a floating/decimal type holding whole numbers only; float columns any
numeric type; bool columns a boolean type, or an integer type holding only 0 and 1;
date columns a date type, or a time-zone-naive timestamp at midnight. A column with no
values at all (type ``null``) is accepted for any type.

Fatal problems (raise :class:`ExtractError`; all problems found are listed together,
one line each, with the file or table, the column, the number of rows and up to five
example row numbers; nothing is written):

- the source: no or both of ``directory``/``url``; a directory that does not exist; a
  table file missing, or present both as CSV and Parquet with ``fmt="auto"``; a
  database that cannot be reached; a database table missing;
- the file: empty; not UTF-8 (UTF-8 with or without a byte-order mark is fine; UTF-16 and
  UTF-32, with or without a mark, are named; NUL bytes are named by line); not
  comma-separated; a row with more or fewer values than the header (a truncated file,
  an unquoted comma; trailing commas are named as such); a quote that is never closed
  (a value may be of any length: Python's csv field-size limit is lifted while reading);
  no line break at the end (a file cut inside its last value still parses, so this is
  the only sign of the cut); a row that repeats the header (two exports joined); a
  column name twice in the header; values in a column with no name in the header
  (such columns empty in every row, e.g. from trailing commas, are ignored with a
  warning); a Parquet file that cannot be read; a table with no rows. A Parquet file
  written by pandas is read as stored: an index that is a contract column (a key saved
  as the index) is read as that column, any other index is left out;
- the columns: a contract column missing; a column not in the contract; a Parquet/SQL
  column whose physical type cannot hold the contract type;
- the values: not parseable as the column's type (text in an int column, a date not
  written ``YYYY-MM-DD`` or not a real date, a timestamp with a time of day, ...);
  empty in a column that may not be empty; a code not in the column's code list; a
  number outside the column's range;
- the keys: two or more rows with the same key;
- the dates: any contract ``date_orders`` rule broken (discharge before referral, triage
  or first intervention after discharge, death before birth, ...; a row is named once per
  later date); a date after ``today`` (a date of birth in the future, or any other event
  in the future); a date before :data:`pbr.contract.EARLIEST_DATE` (a year centuries
  off; a listed placeholder date of birth is counted instead);
- the identifiers: an NDTMS initials column in which more than half of the values are
  not one letter A-Z (names or codes, not initials); no episode with both initials and
  a usable date of birth (the message names the NDTMS columns, not the registers);
- the codes: a ``pilot_sub_area`` on an area that is not a pilot area;
- the whole extract: no area marked pilot, or every area; no episode in a known area;
  a register (``ons_deaths``, ``pnc_offences``) in which no record shares initials and
  date of birth with an episode (it could never be linked; the message names the
  register's columns when its names give no initial or it has no date of birth).

Values of identifier columns (names, initials, dates of birth) are never printed in
messages, only their row numbers, so messages can leave a secure environment.

Tolerable problems (counted in the flow table, stage ``extract``; ``dropped`` rows are
removed, ``flagged`` rows are kept; each logged as a warning naming the file, the
column, the count and example rows, never an identifier's value):

- every table: values with surrounding spaces (removed), values that are a null token or
  blank (read as missing): flagged;
- ``ndtms_episodes`` initials that are not one letter A-Z ('?', '1', '-', a name): read
  as missing, flagged (the episode is then dropped when persons are built, stage link);
- ``ons_deaths``/``pnc_offences`` names that give no initial: flagged;
- dates of birth: a placeholder (``placeholder_dates_of_birth``, config
  ``linkage.placeholder_dates_of_birth``) or an age over ``max_age`` (``study.max_age``)
  at referral: the episode is dropped; in a register, at the death or offence: the date
  of birth is set to missing (not linkable), flagged; an NDTMS date of birth shared by far
  more clients than chance (a placeholder not listed?): flagged, kept;
- ``sub_area`` and ``pilot_sub_area`` in another spelling (case, spaces, hyphens):
  normalised (:func:`pbr.contract.normal_sub_area`), flagged; a pilot sub-area that none
  of its area's episodes records: a warning (the derive stage stops on it when the
  partial-pilot rule splits the area);
- ``ndtms_episodes`` whose ``area_code`` is not in ``areas``: dropped (an episode must
  belong to a known area to be assigned to the pilot or comparison group; the unknown
  codes are logged, quoted, with any known code they equal but for case or spaces);
- ``ndtms_top`` records whose ``episode_id`` is not in ``ndtms_episodes``: dropped;
- ``ndtms_top`` records whose episode was dropped above: dropped;
- ``ndtms_episodes`` with a ``discharge_date`` but no ``discharge_reason``, or the
  reverse: flagged;
- ``ndtms_top`` records dated before their episode's referral or after its discharge:
  flagged;
- ``ons_deaths`` and ``pnc_offences`` with an ``area_code`` not in ``areas``: flagged
  (the area there is descriptive only; linkage does not rely on it).

Every table also gets one ``kept`` row with its final row count, and every tolerable
check gets a row even when its count is zero, so that for each table the rows read equal
``kept`` plus the sum of ``dropped``.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import logging
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pbr import source as data_source
from pbr.contract import (
    EARLIEST_DATE,
    HEAP_FACTOR,
    HEAP_MIN_PEOPLE,
    IDENTIFIER_COLUMNS,
    INITIAL_COLUMNS,
    MAX_AGE,
    NAME_COLUMNS,
    NULL_TOKENS,
    PLACEHOLDER_DATES_OF_BIRTH,
    REGISTER_EVENT_COLUMNS,
    TABLES,
    Column,
    Table,
    letter_initial,
    name_initial,
    normal_sub_area,
    null_tokens,
)
from pbr.errors import PipelineError
from pbr.flow import flow_frame, flow_row
from pbr.io import read_table, write_table

log = logging.getLogger(__name__)

__all__ = ["STAGE", "ExtractError", "load_extracts", "read_extracts", "validate_tables", "write_extracts"]

STAGE = "extract"
MAX_EXAMPLES = 5
CONTRACT_DOC = "docs/input-contract.md"
FORMATS = data_source.FORMATS

CANONICAL_DTYPES: dict[str, object] = {
    "string": pd.StringDtype(),
    "int": pd.Int64Dtype(),
    "float": pd.Float64Dtype(),
    "bool": pd.BooleanDtype(),
    "date": np.dtype("datetime64[s]"),
}

UNITS = {
    "areas": "areas",
    "ndtms_episodes": "episodes",
    "ndtms_top": "TOP records",
    "ons_deaths": "deaths",
    "pnc_offences": "offences",
}

TRUE_TOKENS = ("true", "t", "yes", "y", "1")
FALSE_TOKENS = ("false", "f", "no", "n", "0")
INT_RE = re.compile(r"[+-]?[0-9]+(\.0*)?")
FLOAT_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT64_MAX = 2**63 - 1


class ExtractError(PipelineError):
    """The one fatal error of this module; ``str()`` is the whole message for the user."""


# --------------------------------------------------------------------------- problems


_SINGULAR = {"are": "is", "have": "has", "share": "shares", "do": "does"}


@dataclass
class Problem:
    """One fatal problem: where, how many rows, examples, and what to do."""

    origin: str
    what: str  # with rows: a verb phrase using {are}, {have}, {share} or {do}, e.g. "{have} no value"
    column: str | None = None
    rows: list[int] = field(default_factory=list)  # 1-based row numbers, all of them
    values: list[str] | None = None  # example values (None: do not show)
    hint: str = ""
    order: int = -1  # position of the column in the table, for a stable order of messages

    def line(self) -> str:
        where = self.origin if self.column is None else f"{self.origin}, {self.column}"
        text = f"{where}: "
        n = len(self.rows)
        if self.rows:
            verbs = _SINGULAR if n == 1 else {v: v for v in _SINGULAR}
            text += f"{n} {'row' if n == 1 else 'rows'} {self.what.format(**verbs)}"
            shown = sorted(self.rows)[:MAX_EXAMPLES]
            if shown:
                more = f" (and {n - len(shown)} more)" if n > len(shown) else ""
                label = "row" if len(shown) == 1 else "rows"
                text += f"; {label} {', '.join(str(r) for r in shown)}{more}"
            if self.values:
                shown_values = self.values[:MAX_EXAMPLES]
                text += f"; {'value' if len(shown_values) == 1 else 'values'} " + ", ".join(shown_values)
        else:
            text += self.what
        text = text.rstrip(".")
        if self.hint:
            text += f". {self.hint.rstrip('.')}"
        return text + "."


def _col(name: str) -> str:
    return f'column "{name}"'


SHOW_CHARS = 40  # an example value longer than this is cut in messages


def _show(v: object) -> str:
    """An example value for a message: text quoted (so that spaces show: 'E0142 '), numbers plain,
    dates as YYYY-MM-DD; text longer than SHOW_CHARS is cut, with its length."""
    if isinstance(v, pd.Timestamp):
        return repr(v.strftime("%Y-%m-%d") if v == v.normalize() else str(v))
    if isinstance(v, str):
        if len(v) > SHOW_CHARS:
            return f"{v[:SHOW_CHARS]!r}... ({len(v):,} characters)"
        return repr(v)
    return str(v.item() if isinstance(v, np.generic) else v)


def _rows_text(rows: Iterable[int]) -> str:
    """'row 3' / 'rows 3, 8, 12 (and 40 more)': the example rows of a warning."""
    rows = sorted(rows)
    shown = rows[:MAX_EXAMPLES]
    more = f" (and {len(rows) - len(shown)} more)" if len(rows) > len(shown) else ""
    return f"{'row' if len(shown) == 1 else 'rows'} {', '.join(map(str, shown))}{more}"


def _error(problems: list[Problem], source: str) -> ExtractError:
    n = len(problems)
    lines = [
        f"The input extract ({source}) failed validation with {n} {'problem' if n == 1 else 'problems'}; "
        "nothing was written:",
    ]
    lines += [f"- {p.line()}" for p in problems]
    lines.append(
        "What to do: correct these in the source extract and run again. The expected format "
        f"(tables, columns, types, code lists) is in {CONTRACT_DOC}. "
        + (
            "Rows are numbered from 1 in the order of each table's key."
            if source.startswith("database")
            else "Rows are numbered from 1 as data rows in the file (the header is not a row)."
        )
    )
    return ExtractError("\n".join(lines))


# --------------------------------------------------------------------------- reading CSV


def _read_csv(path: Path, origin: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Read a CSV as text only; structural problems are returned, never raised."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, [Problem(origin, f"cannot be read ({e.strerror or e})")]
    if not data.strip():
        return None, [Problem(origin, "is empty: no header row", hint="Export the table with its header row")]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, [
            Problem(origin, "is encoded as UTF-16, not UTF-8", hint="Save it as UTF-8 (Excel: 'CSV UTF-8')")
        ]
    if b"\x00" in data:
        return None, [_nul_problem(data, origin)]
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
        return None, [
            Problem(
                origin,
                f"is not valid UTF-8: byte 0x{data[e.start]:02x} on line {line} cannot be decoded.{guess}",
                hint="Save the file as UTF-8 (Excel: 'CSV UTF-8'; or `iconv -f WINDOWS-1252 -t UTF-8`)",
            )
        ]
    if not text.strip():  # e.g. only a byte-order mark
        return None, [Problem(origin, "is empty: no header row", hint="Export the table with its header row")]

    with _field_size_limit(CSV_FIELD_LIMIT):
        return _parse_csv(text, origin)


#: the longest value the CSV reader takes (Python's csv module stops at 131,072 characters by default;
#: a legal value may be longer, e.g. a free-text field). A quote never closed makes one value run to the
#: end of the file, which the reader reports as such.
CSV_FIELD_LIMIT = 2**31 - 1


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
        enc = "UTF-16LE" if odd > even else "UTF-16BE"
        return Problem(
            origin,
            f"looks like {enc} text without a byte-order mark (every other byte is NUL), not UTF-8",
            hint=f"Save it as UTF-8 (Excel: 'CSV UTF-8'; or `iconv -f {enc} -t UTF-8`)",
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


def _parse_csv(text: str, origin: str) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Parse decoded CSV text: a strict pre-pass for the structure, then pandas for the values."""
    problems: list[Problem] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        return None, [Problem(origin, f"cannot be parsed: the header row is malformed ({e})")]
    ncol = len(header)
    for other in (";", "\t", "|"):
        if ncol == 1 and len(header[0].split(other)) > 1:
            shown = "tab" if other == "\t" else f"'{other}'"
            return None, [
                Problem(
                    origin,
                    f"is not comma-separated: the header looks separated by {shown}",
                    hint="Save it as a comma-separated CSV (delimiter ',')",
                )
            ]
    blank = [i for i, h in enumerate(header) if not h.strip()]  # no name: Excel's trailing commas
    dups = sorted({h for h in header if h.strip() and header.count(h) > 1})
    if dups:
        problems.append(
            Problem(
                origin,
                f"the header names {', '.join(repr(d) for d in dups)} more than once",
                hint="Remove the duplicates",
            )
        )
    wrong: list[int] = []
    repeated_header: list[int] = []
    counts: dict[int, int] = {}
    surplus_empty = True  # every value beyond the header's width is empty (trailing commas)
    filled_blank: list[int] = []  # rows with a value in a column that has no name
    n_records = 0
    try:
        for row in reader:
            if not row:  # blank line, skipped (as by pandas)
                continue
            n_records += 1
            if len(row) != ncol:
                wrong.append(n_records)
                counts[len(row)] = counts.get(len(row), 0) + 1
                surplus_empty &= len(row) > ncol and not any(v.strip() for v in row[ncol:])
            elif [row[0].lstrip("\ufeff"), *row[1:]] == header:
                repeated_header.append(n_records)
            elif blank and any(row[i].strip() for i in blank):
                filled_blank.append(n_records)
    except csv.Error as e:
        problems.append(
            Problem(
                origin,
                f"cannot be parsed after data row {n_records} ({e}): a quote is never closed, "
                "or the file is truncated",
                hint="Check the quoting near that row (a value that opens a quote must close it), "
                "or export the file again",
            )
        )
        return None, problems
    if wrong:
        seen = ", ".join(f"{k} values in {v}" for k, v in sorted(counts.items()))
        last = " (the last row is incomplete: is the file truncated?)" if wrong[-1] == n_records else ""
        hint = "Quote values that contain commas, or export the file again if it was cut short"
        if surplus_empty:
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
    if blank and filled_blank:
        problems.append(
            Problem(
                origin,
                f"{{have}} values in {'a column' if len(blank) == 1 else 'columns'} with no name in the header "
                f"({'column' if len(blank) == 1 else 'columns'} {', '.join(str(i + 1) for i in blank)}, "
                "counted from 1)",
                rows=filled_blank,
                hint="Give the column its contract name, or remove it; a header with empty names usually "
                "comes from trailing commas or an extra column in a spreadsheet",
            )
        )
    if not text.endswith(("\n", "\r")) and not (wrong and wrong[-1] == n_records):
        # a file cut short inside its last value still parses: only the missing line break tells
        last_line = f"its last row (row {n_records})" if n_records else "its header"
        problems.append(
            Problem(
                origin,
                f"does not end with a line break, so {last_line} may be cut short: the file looks truncated",
                hint="Export the file again; if it is complete, add a line break at its end",
            )
        )
    if repeated_header:
        problems.append(
            Problem(
                origin,
                "{are} a copy of the header row (were two exports joined together?)",
                rows=repeated_header,
                hint="Remove the repeated header rows, and check that no row appears twice",
            )
        )
    if problems:
        return None, problems
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


# --------------------------------------------------------------------------- reading Parquet / SQL


_PANDAS_INDEX_RE = re.compile(r"__index_level_[0-9]+__")


def _read_parquet(
    path: Path, origin: str, table: Table | None = None
) -> tuple[pd.DataFrame | None, dict[str, str], list[Problem]]:
    """Read a Parquet file's columns as they are stored (no pandas index is restored).

    A file written by pandas may hold its index as a column: a named index that is a contract
    column of ``table`` (e.g. the key saved as the index) is read back as that column; an
    unnamed index (``__index_level_0__``) or one named otherwise is not data and is left out.
    """
    try:
        tbl = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        return None, {}, [Problem(origin, f"cannot be read as Parquet ({msg})", hint="Export the file again")]
    try:
        meta = tbl.schema.pandas_metadata or {}
    except (ValueError, TypeError):  # pragma: no cover - unreadable pandas metadata: treat as none
        meta = {}
    index_columns = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    contract = set(table.column_names) if table is not None else set()
    drop = [
        c
        for c in tbl.column_names
        if _PANDAS_INDEX_RE.fullmatch(c) or (c in index_columns and c not in contract)
    ]
    for c in index_columns:
        if c in contract and c in tbl.column_names:
            log.info("%s: column %r was saved as the pandas index; read back as a column", origin, c)
    if drop:
        log.info("%s: the pandas index (%s) is not data: left out", origin, ", ".join(map(repr, drop)))
        tbl = tbl.drop_columns(drop)
    tbl = tbl.replace_schema_metadata(None)  # read the columns as stored, without pandas' index
    names = tbl.column_names
    dups = sorted({h for h in names if names.count(h) > 1})
    if dups:
        return (
            None,
            {},
            [Problem(origin, f"has the columns {', '.join(repr(d) for d in dups)} more than once")],
        )
    types = {f.name: f"Parquet type {f.type}" for f in tbl.schema}
    return tbl.to_pandas(types_mapper=pd.ArrowDtype), types, []


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


def _read_database(
    url: str, db_schema: str | None
) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, dict[str, str]], list[Problem]]:
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
            insp = sa.inspect(conn)
            for name, table in TABLES.items():
                origin[name] = where = f"db table {prefix}{name}"
                if not insp.has_table(name, schema=db_schema):
                    problems.append(
                        Problem(
                            where, f"does not exist in the database {shown}", hint="Create or load the table"
                        )
                    )
                    continue
                t = sa.Table(name, sa.MetaData(), autoload_with=conn, schema=db_schema)
                names = [c.name for c in t.columns]
                type_names[name] = {c.name: f"SQL type {_sql_type_name(c.type)}" for c in t.columns}
                order = [t.c[k] for k in table.key if k in t.c]
                stmt = sa.select(t).order_by(*order)
                chunks: dict[str, list] = {n: [] for n in names}
                result = conn.execution_options(stream_results=True, yield_per=50_000).execute(stmt)
                for part in result.partitions():
                    for n, vals in zip(names, zip(*part, strict=True), strict=True):
                        chunks[n].extend(vals)
                cols: dict[str, pd.Series] = {}
                for c in t.columns:
                    try:
                        arr = _sql_values_to_arrow(chunks.pop(c.name), c.type)
                    except (pa.ArrowException, TypeError, ValueError, OverflowError):
                        problems.append(
                            Problem(
                                where,
                                f"has the {type_names[name][c.name]}, which cannot be read",
                                column=_col(c.name),
                                hint="Store it with a plain text, number, boolean or date type",
                            )
                        )
                        continue
                    cols[c.name] = pd.Series(arr, dtype=pd.ArrowDtype(arr.type))
                raw[name] = pd.DataFrame(cols) if cols else pd.DataFrame(index=pd.RangeIndex(0))
                raw[name] = raw[name][[n for n in names if n in cols]]
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


def _sql_type_name(t: object) -> str:
    try:
        return str(t)
    except Exception:  # some dialect-specific types cannot compile without their dialect
        return type(t).__name__.upper()


# --------------------------------------------------------------------------- conversion


@dataclass
class _Converted:
    series: pd.Series | None = None  # canonical, same index as the input
    bad: np.ndarray | None = None  # rows whose value could not be converted
    what: str = ""
    hint: str = ""
    column_problem: str | None = None  # the whole column is unusable
    trimmed: np.ndarray | None = None  # rows whose value lost surrounding spaces
    nulled: np.ndarray | None = None  # rows whose value was a null token ('NULL', 'N/A', ...) or blank


def _to_arrow(s: pd.Series) -> pa.Array:
    arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    return arr


def _empty_as_null(arr: pa.Array) -> pa.Array:
    """An empty string is an empty value in every source (CSV cannot tell them apart)."""
    arr = arr.cast(pa.large_string())
    return pc.if_else(pc.equal(arr, ""), pa.nulls(len(arr), arr.type), arr)


def _clean_text(arr: pa.Array, col: Column) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Text as the contract reads it: surrounding spaces removed, and a blank value or a null token
    (:func:`pbr.contract.null_tokens`: 'NULL', 'N/A', ... in any case) read as missing. Free text
    (``col.free_text``) is kept exactly, only an empty string being missing.

    Returns the values and two row masks: values that lost spaces (and stayed values), values
    read as missing that were not empty strings.
    """
    arr = arr.cast(pa.large_string())
    none = np.zeros(len(arr), dtype=bool)
    if col.free_text:
        return _empty_as_null(arr), none, none
    trimmed = pc.utf8_trim_whitespace(arr)
    tokens = pa.array([t.upper() for t in null_tokens(col.name)], type=pa.large_string())
    is_null = pc.or_(pc.equal(trimmed, ""), pc.is_in(pc.utf8_upper(trimmed), value_set=tokens))
    nulled = _mask(pc.and_(is_null, pc.not_equal(arr, "")))
    changed = _mask(pc.not_equal(trimmed, arr)) & ~_mask(is_null)
    out = pc.if_else(is_null, pa.nulls(len(arr), arr.type), trimmed)
    return out, changed, nulled


def _kind(t: pa.DataType) -> str:
    pt = pa.types
    if pt.is_null(t):
        return "null"
    if pt.is_string(t) or pt.is_large_string(t) or pt.is_string_view(t):
        return "string"
    if pt.is_boolean(t):
        return "bool"
    if pt.is_signed_integer(t):
        return "int"
    if pt.is_unsigned_integer(t):
        return "uint"
    if pt.is_floating(t):
        return "float"
    if pt.is_decimal(t):
        return "decimal"
    if pt.is_date(t):
        return "date"
    if pt.is_timestamp(t):
        return "timestamp_tz" if t.tz else "timestamp"
    return "other"


def _mask(arr: pa.Array) -> np.ndarray:
    """A boolean array as a numpy mask, nulls as False."""
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    if not mask.any():
        return arr
    return pc.if_else(pa.array(mask), pa.nulls(len(arr), arr.type), arr)


def _parse_int(v: str) -> int:
    if not INT_RE.fullmatch(v):
        raise ValueError(v)
    x = int(v.split(".")[0])
    if not -_INT64_MAX - 1 <= x <= _INT64_MAX:
        raise ValueError(v)
    return x


def _parse_float(v: str) -> float:
    x = float(v) if FLOAT_RE.fullmatch(v) else math.nan
    if not math.isfinite(x):
        raise ValueError(v)
    return x


def _parse_bool(v: str) -> bool:
    low = v.lower()
    if low in TRUE_TOKENS:
        return True
    if low in FALSE_TOKENS:
        return False
    raise ValueError(v)


def _parse_date(v: str) -> date:
    if not DATE_RE.fullmatch(v):
        raise ValueError(v)
    return date.fromisoformat(v)  # rejects 2021-02-30


_TEXT_PARSERS: dict[str, tuple[Callable[[str], object], pa.DataType, str, str]] = {
    "int": (
        _parse_int,
        pa.int64(),
        "{have} a value that is not a whole number",
        "Write integers as digits only, e.g. 85",
    ),
    "float": (_parse_float, pa.float64(), "{have} a value that is not a number", "Write numbers like 1.5"),
    "bool": (
        _parse_bool,
        pa.bool_(),
        "{have} a value that is not true or false",
        "Write booleans as true or false",
    ),
    "date": (
        _parse_date,
        pa.date32(),
        "{have} a value that is not a date written YYYY-MM-DD (or not a real calendar date)",
        "Write dates in ISO format, e.g. 2012-04-01",
    ),
}


def _parse_text(arr: pa.Array, dtype: str) -> tuple[pa.Array, np.ndarray, str, str]:
    """Parse a text array as ``dtype``; returns (values, bad rows, what is wrong, hint).

    Each distinct value is parsed once in Python (explicit rules, no locale, no guessing),
    then mapped back to the rows.
    """
    parse, out_type, what, hint = _TEXT_PARSERS[dtype]
    enc = pc.dictionary_encode(arr.cast(pa.large_string()))
    parsed: list[object] = []
    ok: list[bool] = []
    for v in enc.dictionary.to_pylist():
        try:
            parsed.append(parse(v))
            ok.append(True)
        except ValueError:
            parsed.append(None)
            ok.append(False)
    values = pa.array(parsed, type=out_type).take(enc.indices)
    bad = ~_mask(pa.array(ok, type=pa.bool_()).take(enc.indices)) & ~_nulls(arr)
    if dtype == "date":
        values = values.cast(pa.timestamp("s"))
    return values, bad, what, hint


def _nulls(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _convert(s: pd.Series, col: Column, type_name: str, parse_text: bool = True) -> _Converted:
    """Convert one raw column to the canonical dtype of ``col``, reporting failing rows.

    Text is parsed into other types only when ``parse_text`` (CSV, or frames given in
    memory); a typed source (Parquet, SQL) must store numbers, booleans and dates as such.
    """
    n = len(s)
    try:
        arr = _to_arrow(s)
    except (pa.ArrowException, TypeError, ValueError):
        return _Converted(column_problem=f"mixes values of different types ({type_name})")
    kind = _kind(arr.type)
    dtype = col.dtype
    none = np.zeros(n, dtype=bool)
    bad = trimmed = nulled = none
    what = hint = ""
    incompatible = f"has the {type_name}, which cannot hold {dtype} values"

    if kind == "null":
        out = pa.nulls(
            n,
            {
                "string": pa.large_string(),
                "int": pa.int64(),
                "float": pa.float64(),
                "bool": pa.bool_(),
                "date": pa.timestamp("s"),
            }[dtype],
        )
    elif kind == "string" and dtype != "string":
        if not parse_text:
            return _Converted(column_problem=incompatible)
        text, trimmed, nulled = _clean_text(arr, col)
        out, bad, what, hint = _parse_text(text, dtype)
    elif dtype == "string":
        if kind != "string":
            return _Converted(column_problem=incompatible)
        out, trimmed, nulled = _clean_text(arr, col)
    elif dtype == "int":
        if kind in ("int", "uint"):
            if kind == "uint":
                bad = (
                    _mask(pc.greater(arr, pa.scalar(_INT64_MAX, arr.type)))
                    if arr.type.bit_width == 64
                    else none
                )
            out = _null_where(arr, bad).cast(pa.int64())
            what = "{have} a value too large for a 64-bit integer"
        elif kind in ("float", "decimal"):
            f = arr.cast(pa.float64())
            f = _null_where(f, _mask(pc.is_nan(f)))
            whole = _mask(pc.and_(pc.is_finite(f), pc.equal(f, pc.floor(f))))
            whole &= _mask(pc.less(pc.abs(f), 2.0**63))
            bad = ~_nulls(f) & ~whole
            out = _null_where(f, bad).cast(pa.int64())
            what = "{have} a value that is not a whole number"
            hint = "Store this column as integers"
        else:
            return _Converted(column_problem=incompatible)
    elif dtype == "float":
        if kind in ("int", "uint", "float", "decimal"):
            out = arr.cast(pa.float64())
            out = _null_where(out, _mask(pc.is_nan(out)))
            bad = _mask(pc.invert(pc.is_finite(out)))
            out = _null_where(out, bad)
            what = "{have} an infinite value"
        else:
            return _Converted(column_problem=incompatible)
    elif dtype == "bool":
        if kind == "bool":
            out = arr
        elif kind in ("int", "uint"):
            bad = _mask(pc.invert(pc.is_in(arr, pa.array([0, 1], arr.type))))
            out = _null_where(arr, bad).cast(pa.bool_())
            what = "{have} an integer other than 0 and 1"
            hint = "Store booleans as true/false (or 1/0)"
        else:
            return _Converted(column_problem=incompatible)
    elif dtype == "date":
        if kind == "date":
            out = arr.cast(pa.timestamp("s"))
        elif kind == "timestamp":
            bad = _mask(pc.not_equal(pc.floor_temporal(arr, unit="day"), arr))
            out = _null_where(pc.floor_temporal(arr, unit="day"), bad).cast(pa.timestamp("s"))
            what = "{have} a time of day (a timestamp, not a date)"
            hint = "Store dates only, without times"
        elif kind == "timestamp_tz":
            return _Converted(
                column_problem=f"has the {type_name} (time-zone aware), which cannot hold dates"
            )
        else:
            return _Converted(column_problem=incompatible)
    else:  # pragma: no cover
        raise ValueError(dtype)

    series = pa.table({"x": out}).to_pandas(types_mapper=_canonical_mapper)["x"]
    series = series.astype(CANONICAL_DTYPES[dtype])
    series.index = s.index
    series.name = s.name
    return _Converted(
        series=series,
        bad=bad if bad.any() else None,
        what=what,
        hint=hint,
        trimmed=trimmed if trimmed.any() else None,
        nulled=nulled if nulled.any() else None,
    )


def _canonical_mapper(t: pa.DataType) -> object | None:
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_floating(t):
        return pd.Float64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return pd.StringDtype()
    return None


def _examples(s: pd.Series, positions: np.ndarray, col: Column) -> list[str] | None:
    if col.identifier:
        return None
    return [_show(v) for v in s.iloc[positions[:MAX_EXAMPLES]].tolist()]


# --------------------------------------------------------------------------- validation


def _order_ok(a: str, b: str) -> Callable[[pd.DataFrame], pd.Series]:
    def check(df: pd.DataFrame) -> pd.Series:
        return (df[a].isna() | df[b].isna() | (df[a] <= df[b])).astype(bool)

    return check


def _schema(table: Table, present: Iterable[str], today: date) -> pandera.DataFrameSchema:
    """A pandera schema for the contract columns present in the frame (structure is checked apart)."""
    present = set(present)
    limit = pd.Timestamp(today)
    columns = {}
    for c in table.columns:
        if c.name not in present:
            continue
        checks = []
        if c.codes is not None:
            checks.append(pandera.Check.isin(list(c.codes), error="codes"))
        if c.minimum is not None and c.maximum is not None:
            checks.append(pandera.Check.in_range(c.minimum, c.maximum, error="range"))
        elif c.minimum is not None:
            checks.append(pandera.Check.ge(c.minimum, error="range"))
        elif c.maximum is not None:
            checks.append(pandera.Check.le(c.maximum, error="range"))
        if c.dtype == "date":
            checks.append(pandera.Check.le(limit, error="not_future"))
            checks.append(pandera.Check.ge(pd.Timestamp(EARLIEST_DATE), error="too_early"))
        columns[c.name] = pandera.Column(
            CANONICAL_DTYPES[c.dtype], nullable=c.nullable, checks=checks, coerce=False
        )
    checks = [
        pandera.Check(_order_ok(a, b), error=f"date_order:{a}:{b}")
        for a, b in table.date_orders
        if a in present and b in present
    ]
    key = list(table.key) if set(table.key) <= present else None
    return pandera.DataFrameSchema(
        columns, checks=checks, unique=key, report_duplicates="all", strict=False, name=table.name
    )


def _structure(table: Table, df: pd.DataFrame, where: str) -> list[Problem]:
    """Column presence, with pandera: missing contract columns and unknown columns."""
    schema = pandera.DataFrameSchema(
        {c.name: pandera.Column(None, nullable=True, required=True) for c in table.columns}, strict=True
    )
    try:
        schema.validate(df.iloc[:0], lazy=True)
        return []
    except pandera.errors.SchemaErrors as e:
        fc = e.failure_cases
    missing = [str(v) for v in fc.loc[fc["check"] == "column_in_dataframe", "failure_case"]]
    extra = [str(v) for v in fc.loc[fc["check"] == "column_in_schema", "failure_case"]]
    out = []
    if missing:
        hint = "Every contract column must be present (empty values are allowed where the contract says so)"
        near = []
        for m in missing:
            close = difflib.get_close_matches(m, extra, n=1, cutoff=0.6) or [
                x for x in extra if x.strip().lower() == m
            ]
            if close:
                near.append(f'"{close[0]}" -> "{m}"')
        if near:
            hint += f"; rename {', '.join(near)}"
        names = ", ".join(f'"{m}"' for m in missing)
        out.append(
            Problem(where, f"missing {'column' if len(missing) == 1 else 'columns'} {names}", hint=hint)
        )
    if extra:
        names = ", ".join(f'"{x}"' for x in extra)
        out.append(
            Problem(
                where,
                f"{'column' if len(extra) == 1 else 'columns'} {names} not in the contract",
                hint="Remove it, or rename it to the contract name; no other columns are allowed",
            )
        )
    return out


def _check_failures(
    table: Table,
    df: pd.DataFrame,
    where: str,
    skip: dict[str, set[int]],
    today: date,
    nulled: dict[str, set[int]] | None = None,
) -> list[Problem]:
    """Run the pandera schema lazily and turn its failure cases into problems (``nulled``: rows per
    column whose value was a null token, named in the message about empty values)."""
    nulled = nulled or {}
    schema = _schema(table, df.columns, today)
    try:
        schema.validate(df, lazy=True)
        return []
    except pandera.errors.SchemaErrors as e:
        fc = e.failure_cases
    except Exception as e:  # pragma: no cover - never let pandera internals reach the user as a traceback
        return [Problem(where, f"could not be validated ({type(e).__name__}: {e})")]
    problems = []
    pos = pd.Series(np.arange(len(df)), index=df.index)
    key = ", ".join(table.key)
    groups = []
    for check, g0 in fc.groupby("check", sort=False):
        if check.startswith("date_order:") or "uniqueness" in check:
            groups.append((None, check, g0))  # a row-level check over several columns
        else:
            groups += [(column, check, g) for column, g in g0.groupby("column", sort=False)]
    # date orders in contract order; a row is named once per later date (a discharge before the
    # referral is not also reported as before the triage, the offer and the intervention)
    rule_order = {f"date_order:{a}:{b}": i for i, (a, b) in enumerate(table.date_orders)}
    groups.sort(key=lambda g: rule_order.get(g[1], -1))  # stable: other checks keep their order
    named_before: dict[str, set] = {}
    for column, check, g in groups:
        if g["index"].isna().all():  # a whole-column failure (dtype): a bug here, not in the data
            problems.append(Problem(where, f"fails the check {check} after conversion", column=_col(column)))
            continue
        index = sorted(i for i in pd.unique(g["index"].dropna()) if i not in skip.get(column, ()))
        if not index:
            continue
        rows = (pos.loc[index].to_numpy() + 1).tolist()
        if check.startswith("date_order:"):
            _, a, b = check.split(":")
            index = [i for i in index if i not in named_before.get(b, set())]
            named_before.setdefault(b, set()).update(index)
            if not index:
                continue
            rows = (pos.loc[index].to_numpy() + 1).tolist()
            problems.append(
                Problem(
                    where,
                    f"{{have}} {b} before {a}",
                    column=f'columns "{a}" and "{b}"',
                    rows=rows,
                    hint=f"{a} must be on or before {b}; correct the dates"
                    + (" (born after the event: a negative age)" if a == "date_of_birth" else ""),
                )
            )
            continue
        if check in ("multiple_fields_uniqueness", "field_uniqueness") or "uniqueness" in check:
            index = [i for i in index if df.loc[i, list(table.key)].notna().all()]  # empty: reported apart
            if not index:
                continue
            rows = (pos.loc[index].to_numpy() + 1).tolist()
            values = [_show(v) for v in df.loc[index[:MAX_EXAMPLES], table.key[0]]]
            copies = int(df.duplicated(keep="first").loc[index].sum())
            copied = (
                f" ({copies} of them {'is an exact copy' if copies == 1 else 'are exact copies'} "
                "of another row: was the export duplicated?)"
                if copies
                else ""
            )
            problems.append(
                Problem(
                    where,
                    f"{{share}} their key ({key}) with another row",
                    column=_col(key) if len(table.key) == 1 else f"key columns {key}",
                    rows=rows,
                    values=values,
                    hint=f"Keys must be unique: remove duplicated rows or correct the identifiers{copied}",
                )
            )
            continue
        col = table.column(column)
        values = None if col.identifier else [_show(v) for v in df.loc[index[:MAX_EXAMPLES], column]]
        if check == "not_nullable":
            what, hint, values = (
                "{have} no value",
                "This column may not be empty; fill it in or drop those rows",
                None,
            )
            written = len(set(index) & nulled.get(column, set()))
            if written:
                tokens = ", ".join(repr(t) for t in null_tokens(column))
                what += (
                    f" ({written} of them {'holds' if written == 1 else 'hold'} a null token or only spaces, "
                    f"read as missing: {tokens})"
                )
        elif check == "codes":
            codes = ", ".join(str(v) for v in col.codes)
            what, hint = (
                f"{{have}} a value not in the code list ({codes})",
                f"Recode to the list in {CONTRACT_DOC} (codes of another version of the data set "
                "must be mapped to these)",
            )
            if not col.identifier:
                distinct = pd.unique(df.loc[index, column].to_numpy(dtype=object))
                values = [_show(v) for v in distinct[:MAX_EXAMPLES]]
        elif check == "range":
            what = f"{{are}} outside the range {col.minimum:g} to {col.maximum:g}"
            hint = "Correct the values"
        elif check == "not_future":
            what = f"{{have}} a date after today ({today.isoformat()})"
            hint = "Dates cannot be in the future; correct them" + (
                " (a date of birth in the future is a recording error)" if column == "date_of_birth" else ""
            )
        elif check == "too_early":
            what = f"{{have}} a date before {EARLIEST_DATE.isoformat()} (a year centuries off?)"
            hint = "Correct the year (e.g. 1011 typed for 2011)"
        else:  # pragma: no cover - a check we did not name
            what, hint = f"fail the check {check}", ""
        problems.append(Problem(where, what, column=_col(column), rows=rows, values=values, hint=hint))
    return problems


@dataclass
class _Cleaned:
    """What conversion changed in one table, by column: 1-based rows (as in the source) whose value
    lost surrounding spaces, and rows whose value was a null token or blank, read as missing."""

    trimmed: dict[str, np.ndarray] = field(default_factory=dict)
    nulled: dict[str, np.ndarray] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (kind, column) -> values


ROW = "_row"  # the row's number in the source (1-based), carried until the cross-table checks are done
#: columns whose values warnings never show: the identifiers, and the ids of a client or an offender
UNSHOWN_COLUMNS = IDENTIFIER_COLUMNS | {"client_id", "pnc_id"}


def _validate_one(
    table: Table,
    raw: pd.DataFrame,
    where: str,
    type_names: dict[str, str],
    today: date,
    placeholders: frozenset[pd.Timestamp] = frozenset(),
) -> tuple[pd.DataFrame | None, list[Problem], _Cleaned]:
    """Convert and validate one table. Returns the canonical frame (with the source row number in
    column ``_row``, rows sorted by key) or None, the problems, and what conversion cleaned.

    Dates of birth in ``placeholders`` are not errors here (a placeholder such as 1800-01-01 is
    counted and dropped or blanked later), even before :data:`EARLIEST_DATE`.
    """
    raw = raw.reset_index(drop=True)
    cleaned = _Cleaned()
    problems = _structure(table, raw, where)
    if raw.empty:
        problems.append(
            Problem(
                where,
                "has no data rows (only a header, or an empty table)",
                hint="Every table must hold rows; export it again with its rows",
            )
        )
    converted: dict[str, pd.Series] = {}
    skip: dict[str, set[int]] = {}
    for c in table.columns:
        if c.name not in raw.columns:
            continue
        tname = type_names.get(c.name, f"pandas dtype {raw[c.name].dtype}")
        res = _convert(raw[c.name], c, tname, parse_text=c.name not in type_names)
        if res.column_problem:
            problems.append(
                Problem(
                    where,
                    res.column_problem,
                    column=_col(c.name),
                    hint=f"Store it as {c.dtype} (see {CONTRACT_DOC})",
                )
            )
            continue
        converted[c.name] = res.series
        for kind, mask in (("trimmed", res.trimmed), ("nulled", res.nulled)):
            if mask is not None:
                positions = np.flatnonzero(mask)
                getattr(cleaned, kind)[c.name] = positions + 1
                if c.name not in UNSHOWN_COLUMNS:
                    distinct = pd.unique(raw[c.name].iloc[positions].to_numpy(dtype=object))
                    cleaned.examples[(kind, c.name)] = [_show(v) for v in distinct[:MAX_EXAMPLES]]
        if res.bad is not None:
            positions = np.flatnonzero(res.bad)
            problems.append(
                Problem(
                    where,
                    res.what,
                    column=_col(c.name),
                    rows=(positions + 1).tolist(),
                    values=_examples(raw[c.name], positions, c),
                    hint=res.hint,
                )
            )
            skip[c.name] = set(positions.tolist())
    df = pd.DataFrame(converted, index=raw.index)
    if placeholders and "date_of_birth" in df:
        is_placeholder = _date_isin(df["date_of_birth"], placeholders)
        skip.setdefault("date_of_birth", set()).update(np.flatnonzero(is_placeholder).tolist())
    nulled = {c: set((rows - 1).tolist()) for c, rows in cleaned.nulled.items()}
    problems += _check_failures(table, df, where, skip, today, nulled)
    names = table.column_names
    for p in problems:
        mentioned = [i for i, n in enumerate(names) if p.column and f'"{n}"' in p.column]
        p.order = max(mentioned) if mentioned else -1
    problems.sort(key=lambda p: p.order)  # stable: file-level problems first, then by column
    if problems:
        return None, problems, cleaned
    df = df[table.column_names].assign(**{ROW: np.arange(1, len(df) + 1)})
    return df.sort_values(list(table.key), kind="mergesort").reset_index(drop=True), [], cleaned


def _isin(values: pd.Series, allowed) -> np.ndarray:
    """``values.isin(allowed)`` as a bool array (<NA> is never in). Compares object arrays through
    pandas' hash table: ``isin`` on an Arrow string column loops over ``allowed`` in Python
    (18 s at scale 1.0)."""
    left = pd.Series(values.to_numpy(dtype=object, na_value=None), dtype=object)
    right = pd.Series(allowed).dropna().to_numpy(dtype=object)
    return (left.isin(right) & left.notna()).to_numpy(dtype=bool)


def _date_isin(dates: pd.Series, allowed: Iterable[object]) -> np.ndarray:
    """``dates.isin(allowed)`` for a datetime column, as a bool array (NaT is never in), without
    converting each date to a Python object (:func:`_isin` on a million dates takes seconds)."""
    allowed = [pd.Timestamp(d) for d in allowed]
    if not allowed:
        return np.zeros(len(dates), dtype=bool)
    values = dates.to_numpy(dtype="datetime64[s]")
    return np.isin(values, np.array(allowed, dtype="datetime64[s]")) & ~np.isnat(values)


def _map_unique(values: pd.Series, fn: Callable[[str], str | None]) -> pd.Series:
    """``fn`` applied to each distinct non-missing value and mapped back to every row (a string Series)."""
    enc = pc.dictionary_encode(_to_arrow(values.astype("string")).cast(pa.large_string()))
    mapped = pa.array([fn(v) for v in enc.dictionary.to_pylist()], type=pa.large_string())
    out = mapped.take(enc.indices)
    return pd.Series(pd.array(out, dtype="string"), index=values.index)


def _age_years(dob: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years of age on ``on`` for dates of birth ``dob`` (<NA> where either is missing)."""
    years = on.dt.year - dob.dt.year
    before = (on.dt.month < dob.dt.month) | ((on.dt.month == dob.dt.month) & (on.dt.day < dob.dt.day))
    return (years - before.astype("Int64")).astype("Int64")


def _initials_dob(first: pd.Series, surname: pd.Series, dob: pd.Series) -> pd.Series:
    """'AB|1980-01-31' per row: the two initials (letters A-Z: NDTMS initials as read, or the initials of
    register names, :func:`pbr.contract.name_initial`) and the date of birth; <NA> if any is missing."""
    return first + surname + "|" + dob.dt.strftime("%Y-%m-%d").astype("string")


@dataclass
class _Marks:
    """What the checks on identifiers found, before the cross-table checks: NDTMS episodes to drop
    (reason -> row mask, in order), counts to flag (table -> [(step, reason, n)]) and warnings."""

    drop: list[tuple[str, np.ndarray]] = field(default_factory=list)
    flags: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    initials: dict[str, dict[str, pd.Series]] = field(
        default_factory=dict
    )  # register -> name column -> initial

    def flag(self, table: str, step: str, reason: str, n: int) -> None:
        self.flags.setdefault(table, []).append((step, reason, int(n)))


def _heaped(key: pd.Series, dob: pd.Series) -> np.ndarray:
    """Rows whose date of birth is shared by far more different people (``key``: initials and sex) than
    other days of its birth year: at least HEAP_MIN_PEOPLE and HEAP_FACTOR times the year's daily mean."""
    people = (
        pd.DataFrame({"key": key.to_numpy(dtype=object), "dob": dob.to_numpy()}).dropna().drop_duplicates()
    )
    if people.empty:
        return np.zeros(len(dob), dtype=bool)
    per_day = people.groupby("dob").size()
    per_year = per_day.groupby(per_day.index.year).sum()
    mean = per_day.index.year.map(per_year).to_numpy() / 365.25
    heaped = per_day.index[
        (per_day.to_numpy() >= HEAP_MIN_PEOPLE) & (per_day.to_numpy() >= HEAP_FACTOR * mean)
    ]
    return _date_isin(dob, heaped)


def _check_identifiers(
    tables: dict[str, pd.DataFrame],
    origin: dict[str, str],
    placeholders: frozenset[pd.Timestamp],
    max_age: int,
) -> tuple[dict[str, pd.DataFrame], _Marks, list[Problem]]:
    """Initials, names, dates of birth and sub-area codes: what linkage and the study design rely on.

    - NDTMS initials that are not one letter A-Z ('?', '1', '-', 'John') are read as missing and
      counted (the episode then has no complete attributor and is dropped, counted, when persons are
      built); a column where more than half the filled values are not letters is fatal (not initials);
    - register names that give no initial (not starting with a letter) are counted;
    - a date of birth in ``placeholders``, or an age over ``max_age`` (NDTMS at referral, registers at
      the death or offence): the episode is dropped (counted later), the register's date of birth set
      to missing (it cannot be linked) and counted;
    - an NDTMS date of birth shared by far more clients than chance is counted and warned about (a
      placeholder missing from the list?; registers are not checked: their placeholders cannot link, as
      NDTMS's are dropped, and PNC aliases share a date of birth by design);
    - sub-area codes get one spelling (:func:`pbr.contract.normal_sub_area`), counted; a pilot
      sub-area on an area that is not a pilot area is fatal.
    """
    out = dict(tables)
    marks = _Marks()
    problems: list[Problem] = []
    ep = out["ndtms_episodes"].copy()

    # NDTMS initials
    invalid_any = np.zeros(len(ep), dtype=bool)
    for c in sorted(INITIAL_COLUMNS):
        norm = _map_unique(ep[c], letter_initial)
        invalid = (ep[c].notna() & norm.isna()).to_numpy(dtype=bool)
        filled = int(ep[c].notna().sum())
        if invalid.any() and 2 * invalid.sum() > filled:
            problems.append(
                Problem(
                    origin["ndtms_episodes"],
                    "{have} a value that is not one letter A-Z (more than half of the values in the column)",
                    column=_col(c),
                    rows=ep.loc[invalid, ROW].tolist(),
                    hint="The column must hold initials (the first letter of the name), not whole names or codes; "
                    "export the first letter only",
                )
            )
        elif invalid.any():
            marks.warnings.append(
                f"{origin['ndtms_episodes']}, {_col(c)}: {invalid.sum()} rows hold a value that is not one letter "
                f"A-Z (e.g. '?', '1', '-', a whole name), read as missing: their episodes have no complete "
                f"attributor and are dropped when persons are built (counted); {_rows_text(ep.loc[invalid, ROW])}"
            )
        ep[c] = norm
        invalid_any |= invalid
    marks.flag(
        "ndtms_episodes",
        "identifiers",
        "initial not one letter A-Z ('?', '1', '-', a whole name): read as missing",
        invalid_any.sum(),
    )

    # register names that give no initial
    for name in REGISTER_EVENT_COLUMNS:
        reg = out[name]
        none = np.zeros(len(reg), dtype=bool)
        for c in sorted(NAME_COLUMNS):
            initial = marks.initials.setdefault(name, {})[c] = _map_unique(reg[c], name_initial)
            bad = (reg[c].notna() & initial.isna()).to_numpy(dtype=bool)
            if bad.any():
                marks.warnings.append(
                    f"{origin[name]}, {_col(c)}: {bad.sum()} rows hold a name that does not start with a letter "
                    f"A-Z (e.g. '?', '1', '-'), so it gives no initial for linkage; {_rows_text(reg.loc[bad, ROW])}"
                )
            none |= bad
        marks.flag(
            name,
            "identifiers",
            "forename or surname gives no initial (not starting with a letter A-Z)",
            none.sum(),
        )

    # dates of birth: placeholders and implausible ages
    ph_text = ", ".join(sorted(d.strftime("%Y-%m-%d") for d in placeholders)) or "none listed"
    is_ph = _date_isin(ep["date_of_birth"], placeholders)
    too_old = (
        (_age_years(ep["date_of_birth"], ep["referral_date"]) > max_age).fillna(False).to_numpy(dtype=bool)
    )
    too_old &= ~is_ph
    marks.drop = [
        (f"date_of_birth a placeholder ({ph_text}; linkage.placeholder_dates_of_birth)", is_ph),
        (f"aged over {max_age} at referral: date_of_birth implausible (study.max_age)", too_old),
    ]
    for what, mask in marks.drop:
        if mask.any():
            marks.warnings.append(
                f"{origin['ndtms_episodes']}, {_col('date_of_birth')}: {mask.sum()} episodes dropped, "
                f"{what} (counted in the flow table); {_rows_text(ep.loc[mask, ROW])}"
            )
    usable = ~is_ph & ~too_old
    key = ep["initial_first"] + ep["initial_surname"] + ep["sex"].fillna("U")
    heap = _heaped(key.where(pd.Series(usable, index=ep.index)), ep["date_of_birth"]) & usable
    _heap_mark(marks, "ndtms_episodes", origin, ep, heap)
    out["ndtms_episodes"] = ep

    for name, event in REGISTER_EVENT_COLUMNS.items():
        reg = out[name].copy()
        ph = _date_isin(reg["date_of_birth"], placeholders)
        old = (_age_years(reg["date_of_birth"], reg[event]) > max_age).fillna(False).to_numpy(dtype=bool)
        blank = ph | old
        if blank.any():
            marks.warnings.append(
                f"{origin[name]}, {_col('date_of_birth')}: {blank.sum()} records have a placeholder date of "
                f"birth ({ph.sum()}; {ph_text}) or an age over {max_age} at {event} ({(old & ~ph).sum()}): "
                f"set to missing, so they cannot be linked (counted); {_rows_text(reg.loc[blank, ROW])}"
            )
        reg.loc[blank, "date_of_birth"] = pd.NaT
        marks.flag(
            name,
            "identifiers",
            f"date_of_birth a placeholder or an age over {max_age} at {event}: set to missing, not linkable",
            blank.sum(),
        )
        out[name] = reg

    # sub-area codes: one spelling in both tables
    areas = out["areas"].copy()
    for table, c in (("areas", "pilot_sub_area"), ("ndtms_episodes", "sub_area")):
        df = areas if table == "areas" else out["ndtms_episodes"]
        norm = _map_unique(df[c], normal_sub_area)
        changed = (df[c].notna() & (norm != df[c]).fillna(True)).to_numpy(dtype=bool)
        if changed.any():
            shown = [_show(v) for v in pd.unique(df.loc[changed, c].to_numpy(dtype=object))[:MAX_EXAMPLES]]
            marks.warnings.append(
                f"{origin[table]}, {_col(c)}: {changed.sum()} rows hold a sub-area code in another spelling "
                f"(case, spaces, hyphens), read as lower case with '_' (values {', '.join(shown)}); "
                f"{_rows_text(df.loc[changed, ROW])}"
            )
        df[c] = norm
        marks.flag(
            table, "codes", f"{c} in another spelling (case, spaces, hyphens): normalised", changed.sum()
        )
    is_pilot = areas["pilot"].fillna(False).astype(bool)
    not_pilot = (areas["pilot_sub_area"].notna() & ~is_pilot).to_numpy(dtype=bool)
    if not_pilot.any() and is_pilot.any():  # with no pilot area at all, that is the one problem named
        problems.append(
            Problem(
                origin["areas"],
                "{have} a pilot sub-area but are not pilot areas (pilot = false): only an area that "
                "piloted in part has one",
                column=_col("pilot_sub_area"),
                rows=areas.loc[not_pilot, ROW].tolist(),
                values=[_show(v) for v in areas.loc[not_pilot, "area_code"]],
                hint="Leave pilot_sub_area empty for areas that did not pilot PbR, or mark the area pilot = true",
            )
        )
    out["areas"] = areas
    _sub_area_warnings(out, origin, marks)
    return out, marks, problems


def _heap_mark(marks: _Marks, name: str, origin: dict[str, str], df: pd.DataFrame, heap: np.ndarray) -> None:
    marks.flag(
        name,
        "identifiers",
        "date_of_birth shared by far more people than chance (a placeholder?): kept",
        heap.sum(),
    )
    if heap.any():
        n_dates = df.loc[heap, "date_of_birth"].nunique()
        marks.warnings.append(
            f"{origin[name]}, {_col('date_of_birth')}: {heap.sum()} rows share {n_dates} "
            f"{'date' if n_dates == 1 else 'dates'} of birth, each held by at least {HEAP_MIN_PEOPLE} different "
            f"people and over {HEAP_FACTOR} times the average for a day of its birth year (kept, counted); "
            f"{_rows_text(df.loc[heap, ROW])}. If such a date is a placeholder, add it to "
            "linkage.placeholder_dates_of_birth"
        )


def _sub_area_warnings(tables: dict[str, pd.DataFrame], origin: dict[str, str], marks: _Marks) -> None:
    """Warn about a pilot sub-area that none of its area's episodes records (the study stops on it when
    the partial-pilot rule splits the area; see :func:`pbr.derive.journeys.assign_study_fields`)."""
    areas, ep = tables["areas"], tables["ndtms_episodes"]
    for _, a in areas[areas["pilot_sub_area"].notna()].iterrows():
        subs = ep.loc[ep["area_code"] == a["area_code"], "sub_area"]
        if not (subs == a["pilot_sub_area"]).fillna(False).any():
            seen = subs.value_counts(dropna=False)
            found = ", ".join(
                f"{_show(v) if isinstance(v, str) else 'empty'} ({n})" for v, n in seen.head(5).items()
            )
            marks.warnings.append(
                f"{origin['areas']}, {_col('pilot_sub_area')}: area {_show(a['area_code'])} (row {a[ROW]}) names the "
                f"pilot sub-area {_show(a['pilot_sub_area'])}, but none of its {len(subs)} episodes in "
                f"{origin['ndtms_episodes']} has that sub_area ({found or 'no episodes'}): the partial-pilot rules "
                "that split the area cannot be applied"
            )


def _fatal_cross_table(
    tables: dict[str, pd.DataFrame], origin: dict[str, str], marks: _Marks | None = None
) -> list[Problem]:
    """Whole-extract problems no analysis can survive: no episode left, no pilot or no comparison
    area, no episode with a complete attributor, a register that shares no person with the episodes
    (it could never be linked)."""
    problems = []
    areas, ep = tables["areas"], tables["ndtms_episodes"]
    pilot = areas["pilot"].fillna(False).astype(bool)
    if not pilot.any() or pilot.all():
        which = "no area is" if not pilot.any() else "every area is"
        problems.append(
            Problem(
                origin["areas"],
                f"{which} a pilot area (pilot = true), so pilot and other areas cannot be compared",
                column=_col("pilot"),
                hint="Mark the eight PbR pilot areas with pilot = true and the others with false",
            )
        )
    known = _isin(ep["area_code"], areas["area_code"].dropna())
    if len(ep) and not known.any():
        codes = ", ".join(_show(v) for v in pd.unique(ep["area_code"].to_numpy(dtype=object))[:MAX_EXAMPLES])
        problems.append(
            Problem(
                origin["ndtms_episodes"],
                f"no episode has an area_code in the area lookup ({origin['areas']}), so every episode "
                f"would be dropped; codes {codes}",
                column=_col("area_code"),
                hint="Use the same area codes in both tables, or export the matching area lookup",
            )
        )
        return problems
    kept = known.copy()
    for _, mask in marks.drop if marks else []:
        kept &= ~mask
    n = len(ep)
    empty = {c: int(ep[c].isna().sum()) for c in ("initial_first", "initial_surname")}
    persons = _initials_dob(ep["initial_first"], ep["initial_surname"], ep["date_of_birth"])[kept].dropna()
    if n and persons.empty:
        full = [c for c, k in empty.items() if k == n]
        if full:
            cols = " and ".join(f'"{c}"' for c in full)
            what = (
                f"the initials column {full[0]} is empty (or holds no letter A-Z) in all {n} rows"
                if len(full) == 1
                else f"both initials columns are empty (or hold no letter A-Z) in all {n} rows"
            )
        else:
            cols = '"initial_first", "initial_surname" and "date_of_birth"'
            what = f"no row of the {n} has both initials and a usable date of birth"
        problems.append(
            Problem(
                origin["ndtms_episodes"],
                f"{what}, so no episode can be grouped into a person or linked to the registers",
                column=f"{'column' if ' and ' not in cols and ',' not in cols else 'columns'} {cols}",
                hint="Export the initials (first letter of the first name and of the surname, A-Z) with the "
                "episodes; NDTMS records them as the client's attributor",
            )
        )
        return problems
    for name in ("ons_deaths", "pnc_offences"):
        reg = tables[name]
        initials = (marks.initials if marks else {}).get(name) or {
            c: _map_unique(reg[c], name_initial) for c in NAME_COLUMNS
        }
        keys = _initials_dob(initials["forename"], initials["surname"], reg["date_of_birth"])
        if not len(reg) or _isin(keys, persons).any():
            continue
        no_initials = [c for c in ("forename", "surname") if initials[c].isna().all()]
        if no_initials:
            cols = " and ".join(f'"{c}"' for c in no_initials)
            problems.append(
                Problem(
                    origin[name],
                    f"no record of the {len(reg)} has a {' or '.join(no_initials)} that gives an initial (empty, "
                    "a null token, or not starting with a letter A-Z), so no person could ever be linked to it",
                    column=f"{'column' if len(no_initials) == 1 else 'columns'} {cols}",
                    hint="Export the register's names with it (the first letters are compared with NDTMS initials)",
                )
            )
        elif reg["date_of_birth"].isna().all():
            problems.append(
                Problem(
                    origin[name],
                    f"no record of the {len(reg)} has a usable date of birth (empty, a placeholder, or an age "
                    "over study.max_age), so no person could ever be linked to it",
                    column=_col("date_of_birth"),
                    hint="Export the register's dates of birth with it",
                )
            )
        else:
            problems.append(
                Problem(
                    origin[name],
                    f"none of its {len(reg)} records shares initials and date of birth with an NDTMS "
                    "episode, so no person could ever be linked to it",
                    hint="Check that the register covers the same people and years as the episodes, and that "
                    "forename, surname and date_of_birth hold what the contract says",
                )
            )
    return problems


def _cross_table(
    tables: dict[str, pd.DataFrame],
    origin: dict[str, str] | None = None,
    cleaned: dict[str, _Cleaned] | None = None,
    marks: _Marks | None = None,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Tolerable problems: drop or flag and count them (every check gets a row, zero or not)."""
    origin = origin or {name: name for name in TABLES}
    cleaned = cleaned or {}
    marks = marks or _Marks(drop=[])
    rows = []

    def row(table: str, step: str, action: str, reason: str, n: int) -> None:
        rows.append(flow_row(STAGE, step, table, UNITS[table], action, reason, int(n)))

    tokens = ", ".join(repr(t) for t in NULL_TOKENS[:4])
    for name in TABLES:
        c = cleaned.get(name, _Cleaned())
        for kind, reason in (
            ("trimmed", "value with surrounding spaces: spaces removed"),
            ("nulled", f"value written as a null token ({tokens}, ...) or only spaces: read as missing"),
        ):
            found = getattr(c, kind)
            every = np.unique(np.concatenate(list(found.values()))) if found else np.array([], dtype=int)
            row(name, "cleaning", "flagged", reason, len(every))
        for step, reason, n in marks.flags.get(name, []):
            row(name, step, "flagged", reason, n)

    areas = tables["areas"]["area_code"].dropna().unique()
    out = dict(tables)

    ep = tables["ndtms_episodes"]
    unknown_area = ~_isin(ep["area_code"], areas)
    row("ndtms_episodes", "area lookup", "dropped", "area_code not in areas", unknown_area.sum())
    if unknown_area.any():
        codes = pd.unique(ep.loc[unknown_area, "area_code"].to_numpy(dtype=object))
        near = _near_codes(codes, areas)
        log.warning(
            "%s, %s: %d episodes with an area_code not in %s are dropped (counted in the flow table); "
            "codes %s%s%s; %s",
            origin["ndtms_episodes"],
            _col("area_code"),
            unknown_area.sum(),
            origin["areas"],
            ", ".join(_show(v) for v in codes[:MAX_EXAMPLES]),
            f" and {len(codes) - MAX_EXAMPLES} more" if len(codes) > MAX_EXAMPLES else "",
            f" ({near})" if near else "",
            _rows_text(ep.loc[unknown_area, ROW]) if ROW in ep else "",
        )
    dropped = unknown_area.copy()
    for reason, mask in marks.drop:
        now = mask & ~dropped
        row("ndtms_episodes", "identifiers", "dropped", reason, now.sum())
        dropped |= now
    dropped_area = ep.loc[unknown_area, "episode_id"].unique()
    dropped_dob = ep.loc[dropped & ~unknown_area, "episode_id"].unique()
    ep = ep.loc[~dropped].reset_index(drop=True)
    has_date = ep["discharge_date"].notna().to_numpy()
    has_reason = ep["discharge_reason"].notna().to_numpy(dtype=bool)
    row(
        "ndtms_episodes",
        "discharge",
        "flagged",
        "discharge_date without discharge_reason",
        (has_date & ~has_reason).sum(),
    )
    row(
        "ndtms_episodes",
        "discharge",
        "flagged",
        "discharge_reason without discharge_date",
        (~has_date & has_reason).sum(),
    )
    row("ndtms_episodes", "validated", "kept", "episodes kept", len(ep))
    out["ndtms_episodes"] = ep

    top = tables["ndtms_top"]
    all_eps = tables["ndtms_episodes"]["episode_id"].unique()
    orphan = ~_isin(top["episode_id"], all_eps)
    of_dropped = _isin(top["episode_id"], dropped_area) & ~orphan
    of_dob = _isin(top["episode_id"], dropped_dob) & ~orphan
    row("ndtms_top", "episode link", "dropped", "episode_id not in ndtms_episodes", orphan.sum())
    row("ndtms_top", "episode link", "dropped", "episode dropped (area_code not in areas)", of_dropped.sum())
    row(
        "ndtms_top",
        "episode link",
        "dropped",
        "episode dropped (date_of_birth a placeholder or implausible)",
        of_dob.sum(),
    )
    if orphan.any():
        log.warning(
            "%s, %s: %d TOP records whose episode_id is not in %s are dropped (counted); %s",
            origin["ndtms_top"],
            _col("episode_id"),
            orphan.sum(),
            origin["ndtms_episodes"],
            _rows_text(top.loc[orphan, ROW]) if ROW in top else "",
        )
    top = top.loc[~orphan & ~of_dropped & ~of_dob].reset_index(drop=True)
    dates = top[["episode_id", "top_date"]].merge(
        ep[["episode_id", "referral_date", "discharge_date"]],
        on="episode_id",
        how="left",
        validate="many_to_one",
    )
    before = (dates["top_date"] < dates["referral_date"]).fillna(False).to_numpy(dtype=bool)
    after = (dates["top_date"] > dates["discharge_date"]).fillna(False).to_numpy(dtype=bool)
    row("ndtms_top", "TOP dates", "flagged", "top_date before the episode's referral_date", before.sum())
    row("ndtms_top", "TOP dates", "flagged", "top_date after the episode's discharge_date", after.sum())
    row("ndtms_top", "validated", "kept", "TOP records kept", len(top))
    out["ndtms_top"] = top

    for name in ("ons_deaths", "pnc_offences"):
        df = tables[name]
        odd = df["area_code"].notna().to_numpy(dtype=bool) & ~_isin(df["area_code"], areas)
        row(name, "area lookup", "flagged", "area_code not in areas", odd.sum())
        if odd.any():
            codes = pd.unique(df.loc[odd, "area_code"].to_numpy(dtype=object))
            near = _near_codes(codes, areas)
            log.warning(
                "%s, %s: %d records with an area_code not in %s (kept; the area only helps linkage); codes %s%s",
                origin[name],
                _col("area_code"),
                odd.sum(),
                origin["areas"],
                ", ".join(_show(v) for v in codes[:MAX_EXAMPLES]),
                f" ({near})" if near else "",
            )
        row(name, "validated", "kept", f"{UNITS[name]} kept", len(df))
    rows.insert(
        0, flow_row(STAGE, "validated", "areas", UNITS["areas"], "kept", "areas kept", len(tables["areas"]))
    )
    order = {name: i for i, name in enumerate(TABLES)}
    rows.sort(key=lambda r: order[r["table"]])  # stable: keeps each table's own order
    return out, flow_frame(rows)


def _near_codes(unknown: Iterable[object], known: Iterable[object]) -> str:
    """'E0142 ' looks like 'E0142': unknown codes that equal a known one but for case or spaces."""
    plain = {str(k).strip().upper(): k for k in known}
    pairs = [(u, plain[str(u).strip().upper()]) for u in unknown if str(u).strip().upper() in plain]
    return "; ".join(f"{_show(u)} looks like {_show(k)}" for u, k in pairs[:MAX_EXAMPLES])


def _log_cleaning(cleaned: dict[str, _Cleaned], origin: dict[str, str]) -> None:
    """One warning per column whose values were trimmed or read as missing, with example rows."""
    for name, c in cleaned.items():
        for kind, what in (
            ("trimmed", "had surrounding spaces, removed"),
            ("nulled", "held a null token (e.g. 'NULL', 'N/A') or only spaces, read as missing"),
        ):
            for column, found in getattr(c, kind).items():
                values = c.examples.get((kind, column))
                log.warning(
                    "%s, %s: %d %s %s (counted in the flow table); %s%s",
                    origin.get(name, name),
                    _col(column),
                    len(found),
                    "row" if len(found) == 1 else "rows",
                    what,
                    _rows_text(found.tolist()),
                    f"; values {', '.join(values)}" if values else "",
                )


def _validate_all(
    raw: dict[str, pd.DataFrame],
    origin: dict[str, str],
    today: date | None,
    type_names: dict[str, dict[str, str]] | None = None,
    problems: list[Problem] | None = None,
    source: str = "tables given",
    placeholder_dates_of_birth: Iterable[str | date] = PLACEHOLDER_DATES_OF_BIRTH,
    max_age: int = MAX_AGE,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    today = today or date.today()
    problems = list(problems or [])
    type_names = type_names or {}
    placeholders = frozenset(pd.Timestamp(d) for d in placeholder_dates_of_birth)
    tables: dict[str, pd.DataFrame] = {}
    cleaned: dict[str, _Cleaned] = {}
    for name, table in TABLES.items():
        if name not in raw:
            if not any(p.origin == origin.get(name) for p in problems):
                problems.append(Problem(origin.get(name, name), f"table {name} was not provided"))
            continue
        df, probs, cleaned[name] = _validate_one(
            table, raw[name], origin.get(name, name), type_names.get(name, {}), today, placeholders
        )
        problems += probs
        if df is not None:
            tables[name] = df
    unknown = sorted(set(raw) - set(TABLES))
    for name in unknown:
        problems.append(Problem(origin.get(name, name), f"table {name} is not in the contract"))
    if problems:
        raise _error(problems, source)
    full_origin = {name: origin.get(name, name) for name in TABLES}
    tables, marks, problems = _check_identifiers(tables, full_origin, placeholders, max_age)
    if not problems:  # (a column that is not initials would be reported again as empty)
        problems = _fatal_cross_table(tables, full_origin, marks)
    if problems:
        raise _error(problems, source)
    _log_cleaning(cleaned, full_origin)
    for warning in marks.warnings:
        log.warning("%s", warning)
    out, flow = _cross_table(tables, full_origin, cleaned, marks)
    out = {name: df.drop(columns=[ROW]) for name, df in out.items()}
    for name, df in out.items():
        log.info("%s: %d rows kept", name, len(df))
    return out, flow


def validate_tables(
    raw: dict[str, pd.DataFrame],
    origin: dict[str, str],
    today: date | None = None,
    placeholder_dates_of_birth: Iterable[str | date] = PLACEHOLDER_DATES_OF_BIRTH,
    max_age: int = MAX_AGE,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Validate raw tables against the contract; return canonical tables and the flow table.

    ``raw`` maps each contract table name to a frame as read (text columns from CSV, or
    typed columns); ``origin`` maps table names to the file path or ``"db table x"`` used
    in messages. Output tables have the contract's columns in contract order, canonical
    dtypes, rows sorted by key. ``placeholder_dates_of_birth`` (config
    ``linkage.placeholder_dates_of_birth``) and ``max_age`` (``study.max_age``) say which dates
    of birth are not real. Raises :class:`ExtractError` listing every fatal problem.
    """
    return _validate_all(
        raw, origin, today, placeholder_dates_of_birth=placeholder_dates_of_birth, max_age=max_age
    )


# --------------------------------------------------------------------------- public entry points


def _find_files(directory: Path, fmt: str) -> tuple[dict[str, Path], list[Problem]]:
    files, found = data_source.table_files(directory, fmt)
    return files, [Problem(where, what, hint=todo) for where, what, todo in found]


def read_extracts(
    directory: str | Path | None = None,
    url: str | None = None,
    db_schema: str | None = None,
    fmt: str = "auto",
    today: date | None = None,
    placeholder_dates_of_birth: Iterable[str | date] = PLACEHOLDER_DATES_OF_BIRTH,
    max_age: int = MAX_AGE,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read and validate the five contract tables from a directory or a database.

    Give exactly one of ``directory`` (files ``<table>.csv`` or ``<table>.parquet``;
    ``fmt`` is ``auto``, ``csv`` or ``parquet``) or ``url`` (a SQLAlchemy URL, tables
    named as in the contract, optionally in ``db_schema``). ``today`` is the date after
    which no date may lie (default: the real today). ``placeholder_dates_of_birth`` and
    ``max_age`` are the settings ``linkage.placeholder_dates_of_birth`` and ``study.max_age``
    (defaults: their defaults). Returns the validated tables (see :func:`validate_tables`)
    and the flow table; raises :class:`ExtractError`.
    """
    dob = {"placeholder_dates_of_birth": placeholder_dates_of_birth, "max_age": max_age}
    if (directory is None) == (url is None):
        raise ExtractError(
            "Give exactly one input for the extract: a directory of CSV/Parquet files or a database URL "
            f"(got {'both' if directory is not None else 'neither'})."
        )
    if fmt not in FORMATS:
        raise ExtractError(f"Unknown extract format {fmt!r}: use one of {', '.join(FORMATS)}.")
    raw: dict[str, pd.DataFrame] = {}
    type_names: dict[str, dict[str, str]] = {}
    if url is not None:
        raw, origin, type_names, problems = _read_database(url, db_schema)
        return _validate_all(
            raw, origin, today, type_names, problems, f"database {data_source.public_url(url)}", **dob
        )

    d = Path(directory)
    if not d.is_dir():
        raise ExtractError(
            f"The extract directory {d} does not exist or is not a directory. Put the five table files "
            f"there ({', '.join(TABLES)}; see {CONTRACT_DOC}) or point the configuration at the right place."
        )
    files, problems = _find_files(d, fmt)
    first_ext = "parquet" if fmt == "parquet" else "csv"
    origin = {name: str(d / f"{name}.{first_ext}") for name in TABLES}
    for name, path in files.items():
        origin[name] = str(path)
        if path.suffix == ".csv":
            df, probs = _read_csv(path, str(path))
        else:
            df, types, probs = _read_parquet(path, str(path), TABLES.get(name))
            type_names[name] = types
        problems += probs
        if df is not None:
            raw[name] = df
            log.info("read %s: %d rows", path, len(df))
    return _validate_all(raw, origin, today, type_names, problems, str(d), **dob)


def write_extracts(tables: dict[str, pd.DataFrame], flow: pd.DataFrame, out_dir: str | Path) -> None:
    """Write validated tables to ``out_dir/<table>.parquet`` (rows sorted by key) and the flow table
    to ``out_dir/flow.parquet`` (rows in their order)."""
    out = Path(out_dir)
    for name, table in TABLES.items():
        write_table(tables[name][table.column_names], out / f"{name}.parquet", sort_by=table.key)
    write_table(flow, out / "flow.parquet")


def load_extracts(out_dir: str | Path) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Read back what :func:`write_extracts` wrote, with the canonical dtypes restored.

    :func:`pbr.io.read_table` returns plain pandas dtypes (a nullable integer column with
    empty values comes back as float64, dates as ``datetime64[ms]``); this gives back
    exactly the frames that were written.
    """
    out = Path(out_dir)
    tables = {}
    for name, table in TABLES.items():
        df = pq.read_table(out / f"{name}.parquet").to_pandas(types_mapper=_canonical_mapper)
        tables[name] = pd.DataFrame(
            {c.name: df[c.name].astype(CANONICAL_DTYPES[c.dtype]) for c in table.columns}, index=df.index
        )
    flow = flow_frame(read_table(out / "flow.parquet").to_dict("records"))
    return tables, flow
