"""The public entry points of the extract stage: read and validate the five contract tables
(:func:`read_extracts` from a directory or a database, :func:`validate_tables` from frames in
memory), write them with the flow table (:func:`write_extracts`) and read them back
(:func:`load_extracts`). What is checked, and what is fatal or counted, is described in
:mod:`pbr.extract`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from pbr import source as data_source
from pbr.contract import MAX_AGE, PLACEHOLDER_DATES_OF_BIRTH, TABLES
from pbr.extract.conversion import CANONICAL_DTYPES, canonical_mapper
from pbr.extract.cross_table import drop_and_flag, fatal_cross_table_problems, log_cleaning
from pbr.extract.identifiers import check_identifiers
from pbr.extract.problems import CONTRACT_DOC, ExtractError, Problem, extract_error
from pbr.extract.readers import find_table_files, read_csv, read_database, read_parquet
from pbr.extract.validation import SOURCE_ROW, Cleaned, validate_one
from pbr.flow import flow_frame
from pbr.io import read_table, write_table

log = logging.getLogger(__name__)


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
    and the flow table; raises :class:`~pbr.extract.problems.ExtractError`.
    """
    if (directory is None) == (url is None):
        raise ExtractError(
            "Give exactly one input for the extract: a directory of CSV/Parquet files or a database URL "
            f"(got {'both' if directory is not None else 'neither'})."
        )
    if fmt not in data_source.FORMATS:
        raise ExtractError(f"Unknown extract format {fmt!r}: use one of {', '.join(data_source.FORMATS)}.")
    if url is not None:
        raw, origin, type_names, problems = read_database(url, db_schema)
        source = f"database {data_source.public_url(url)}"
    else:
        assert directory is not None  # exactly one of directory and url, checked above
        directory = Path(directory)
        if not directory.is_dir():
            raise ExtractError(
                f"The extract directory {directory} does not exist or is not a directory. Put the five table "
                f"files there ({', '.join(TABLES)}; see {CONTRACT_DOC}) or point the configuration at the right "
                "place."
            )
        raw, origin, type_names, problems = _read_directory(directory, fmt)
        source = str(directory)
    return _validate(
        raw,
        origin,
        today,
        type_names,
        problems,
        source,
        placeholder_dates_of_birth=placeholder_dates_of_birth,
        max_age=max_age,
    )


def _read_directory(
    directory: Path, fmt: str
) -> tuple[dict[str, pd.DataFrame], dict[str, str], dict[str, dict[str, str]], list[Problem]]:
    """Each table's file in ``directory`` read as it is: the frames, each table's file (for
    messages; the expected path for a missing one), the stored column types of Parquet files,
    and the problems found."""
    raw: dict[str, pd.DataFrame] = {}
    type_names: dict[str, dict[str, str]] = {}
    files, problems = find_table_files(directory, fmt)
    first_ext = "parquet" if fmt == "parquet" else "csv"
    origin = {name: str(directory / f"{name}.{first_ext}") for name in TABLES}
    for name, path in files.items():
        origin[name] = str(path)
        if path.suffix == ".csv":
            df, found = read_csv(path, str(path))
        else:
            df, types, found = read_parquet(path, str(path), TABLES.get(name))
            type_names[name] = types
        problems += found
        if df is not None:
            raw[name] = df
            log.info("read %s: %d rows", path, len(df))
    return raw, origin, type_names, problems


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
    of birth are not real. Raises :class:`~pbr.extract.problems.ExtractError` listing every
    fatal problem.
    """
    return _validate(
        raw, origin, today, placeholder_dates_of_birth=placeholder_dates_of_birth, max_age=max_age
    )


def _validate(
    raw: dict[str, pd.DataFrame],
    origin: dict[str, str],
    today: date | None,
    type_names: dict[str, dict[str, str]] | None = None,
    problems: list[Problem] | None = None,
    source: str = "tables given",
    placeholder_dates_of_birth: Iterable[str | date] = PLACEHOLDER_DATES_OF_BIRTH,
    max_age: int = MAX_AGE,
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Each table validated, then the checks across tables; raises with every problem of a step (the
    reading problems given in ``problems`` with the first), logs the warnings, counts the flow."""
    placeholders = frozenset(pd.Timestamp(d) for d in placeholder_dates_of_birth)
    tables, cleaned, problems = _validate_each(
        raw, origin, type_names or {}, today or date.today(), placeholders, list(problems or [])
    )
    if problems:
        raise extract_error(problems, source)
    full_origin = {name: origin.get(name, name) for name in TABLES}
    tables, marks, problems = check_identifiers(tables, full_origin, placeholders, max_age)
    if not problems:  # (a column that is not initials would be reported again as empty)
        problems = fatal_cross_table_problems(tables, full_origin, marks)
    if problems:
        raise extract_error(problems, source)
    log_cleaning(cleaned, full_origin)
    for warning in marks.warnings:
        log.warning("%s", warning)
    out, flow = drop_and_flag(tables, full_origin, cleaned, marks)
    out = {name: df.drop(columns=[SOURCE_ROW]) for name, df in out.items()}
    for name, df in out.items():
        log.info("%s: %d rows kept", name, len(df))
    return out, flow


def _validate_each(
    raw: dict[str, pd.DataFrame],
    origin: dict[str, str],
    type_names: dict[str, dict[str, str]],
    today: date,
    placeholders: frozenset[pd.Timestamp],
    problems: list[Problem],
) -> tuple[dict[str, pd.DataFrame], dict[str, Cleaned], list[Problem]]:
    """Every contract table validated on its own (:func:`~pbr.extract.validation.validate_one`); a
    table missing (unless its reading failed already) or not in the contract is a problem, added to
    ``problems``. Returns the valid tables, what cleaning changed per table, and the problems."""
    tables: dict[str, pd.DataFrame] = {}
    cleaned: dict[str, Cleaned] = {}
    for name, table in TABLES.items():
        if name not in raw:
            if not any(p.origin == origin.get(name) for p in problems):
                problems.append(Problem(origin.get(name, name), f"table {name} was not provided"))
            continue
        df, found, cleaned[name] = validate_one(
            table, raw[name], origin.get(name, name), type_names.get(name, {}), today, placeholders
        )
        problems += found
        if df is not None:
            tables[name] = df
    unknown = sorted(set(raw) - set(TABLES))
    for name in unknown:
        problems.append(Problem(origin.get(name, name), f"table {name} is not in the contract"))
    return tables, cleaned, problems


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
        df = pq.read_table(out / f"{name}.parquet").to_pandas(types_mapper=canonical_mapper)
        tables[name] = pd.DataFrame(
            {c.name: df[c.name].astype(CANONICAL_DTYPES[c.dtype]) for c in table.columns}, index=df.index
        )
    flow = flow_frame(read_table(out / "flow.parquet").to_dict("records"))
    return tables, flow
