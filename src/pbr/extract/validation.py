"""Validation of one table: its columns, its values converted, and the checks of a pandera schema
built from the contract (empty values, code lists, ranges, unique keys, date orders, dates in
the future or before :data:`pbr.contract.EARLIEST_DATE`), each failure turned into a
:class:`~pbr.extract.problems.Problem` naming the rows.

:func:`validate_one` is the entry: it returns the canonical frame with the source row number
of each row (column :data:`SOURCE_ROW`, for the messages of the cross-table checks), or the
problems, and what text cleaning changed (:class:`Cleaned`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pandera

from pbr.contract import EARLIEST_DATE, IDENTIFIER_COLUMNS, Column, Table, null_tokens
from pbr.extract.conversion import CANONICAL_DTYPES, Converted, convert, dates_in
from pbr.extract.problems import CONTRACT_DOC, MAX_EXAMPLES, Problem, column_label, show_value

#: the column holding each row's number in the source (1-based), carried until the cross-table checks are done
SOURCE_ROW = "_row"
#: columns whose values warnings never show: the identifiers, and the ids of a client or an offender
UNSHOWN_COLUMNS = IDENTIFIER_COLUMNS | {"client_id", "pnc_id"}


@dataclass
class Cleaned:
    """What conversion changed in one table, by column: 1-based rows (as in the source) whose value
    lost surrounding spaces, and rows whose value was a null token or blank, read as missing."""

    trimmed: dict[str, np.ndarray] = field(default_factory=dict)
    nulled: dict[str, np.ndarray] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (kind, column) -> values


def validate_one(
    table: Table,
    raw: pd.DataFrame,
    where: str,
    type_names: dict[str, str],
    today: date,
    placeholders: frozenset[pd.Timestamp] = frozenset(),
) -> tuple[pd.DataFrame | None, list[Problem], Cleaned]:
    """Convert and validate one table. Returns the canonical frame (with the source row number in
    column ``_row``, rows sorted by key) or None, the problems, and what conversion cleaned.

    ``type_names`` gives the stored type of each column of a typed source (Parquet, SQL; text is
    then not parsed); a column not in it is parsed from text. Dates of birth in ``placeholders``
    are not errors here (a placeholder such as 1800-01-01 is counted and dropped or blanked
    later), even before :data:`EARLIEST_DATE`.
    """
    raw = raw.reset_index(drop=True)
    problems = _column_problems(table, raw, where)
    if raw.empty:
        problems.append(
            Problem(
                where,
                "has no data rows (only a header, or an empty table)",
                hint="Every table must hold rows; export it again with its rows",
            )
        )
    converted, found, skip, cleaned = _convert_columns(table, raw, where, type_names)
    problems += found
    df = pd.DataFrame(converted, index=raw.index)
    if placeholders and "date_of_birth" in df:
        is_placeholder = dates_in(df["date_of_birth"], placeholders)
        skip.setdefault("date_of_birth", set()).update(np.flatnonzero(is_placeholder).tolist())
    nulled = {c: set((rows - 1).tolist()) for c, rows in cleaned.nulled.items()}
    problems += schema_problems(table, df, where, skip, today, nulled)
    names = table.column_names
    for p in problems:
        mentioned = [i for i, n in enumerate(names) if p.column and f'"{n}"' in p.column]
        p.order = max(mentioned) if mentioned else -1
    problems.sort(key=lambda p: p.order)  # stable: file-level problems first, then by column
    if problems:
        return None, problems, cleaned
    df = df[table.column_names].assign(**{SOURCE_ROW: np.arange(1, len(df) + 1)})
    return df.sort_values(list(table.key), kind="mergesort").reset_index(drop=True), [], cleaned


def _convert_columns(
    table: Table, raw: pd.DataFrame, where: str, type_names: dict[str, str]
) -> tuple[dict[str, pd.Series], list[Problem], dict[str, set[int]], Cleaned]:
    """Each contract column present converted (:func:`~pbr.extract.conversion.convert`). Returns the
    converted columns, the problems, the row positions per column whose value did not convert (the
    schema does not report them again), and what text cleaning changed."""
    cleaned = Cleaned()
    problems: list[Problem] = []
    converted: dict[str, pd.Series] = {}
    skip: dict[str, set[int]] = {}
    for c in table.columns:
        if c.name not in raw.columns:
            continue
        stored_type = type_names.get(c.name, f"pandas dtype {raw[c.name].dtype}")
        result = convert(raw[c.name], c, stored_type, parse_text=c.name not in type_names)
        if result.column_problem:
            problems.append(
                Problem(
                    where,
                    result.column_problem,
                    column=column_label(c.name),
                    hint=f"Store it as {c.dtype} (see {CONTRACT_DOC})",
                )
            )
            continue
        converted[c.name] = result.series
        _record_cleaning(cleaned, c, result, raw[c.name])
        if result.bad is not None:
            positions = np.flatnonzero(result.bad)
            problems.append(
                Problem(
                    where,
                    result.what,
                    column=column_label(c.name),
                    rows=(positions + 1).tolist(),
                    values=_example_values(raw[c.name], positions, c),
                    hint=result.hint,
                )
            )
            skip[c.name] = set(positions.tolist())
    return converted, problems, skip, cleaned


def _record_cleaning(cleaned: Cleaned, col: Column, result: Converted, raw: pd.Series) -> None:
    """Add the rows of ``col`` whose value was trimmed or read as missing (and example values, for a
    column whose values may be shown) to ``cleaned``."""
    for kind, mask in (("trimmed", result.trimmed), ("nulled", result.nulled)):
        if mask is not None:
            positions = np.flatnonzero(mask)
            getattr(cleaned, kind)[col.name] = positions + 1
            if col.name not in UNSHOWN_COLUMNS:
                distinct = pd.unique(raw.iloc[positions].to_numpy(dtype=object))
                cleaned.examples[(kind, col.name)] = [show_value(v) for v in distinct[:MAX_EXAMPLES]]


def _example_values(s: pd.Series, positions: np.ndarray, col: Column) -> list[str] | None:
    """The first values at ``positions`` for a message; None for an identifier (never shown)."""
    if col.identifier:
        return None
    return [show_value(v) for v in s.iloc[positions[:MAX_EXAMPLES]].tolist()]


# --------------------------------------------------------------------------- columns


def _column_problems(table: Table, df: pd.DataFrame, where: str) -> list[Problem]:
    """Column presence, with pandera: missing contract columns and unknown columns."""
    schema = pandera.DataFrameSchema(
        {c.name: pandera.Column(None, nullable=True, required=True) for c in table.columns}, strict=True
    )
    try:
        schema.validate(df.iloc[:0], lazy=True)
        return []
    except pandera.errors.SchemaErrors as e:
        failures = e.failure_cases
    missing = [str(v) for v in failures.loc[failures["check"] == "column_in_dataframe", "failure_case"]]
    extra = [str(v) for v in failures.loc[failures["check"] == "column_in_schema", "failure_case"]]
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


# --------------------------------------------------------------------------- values


def _dates_in_order(a: str, b: str) -> Callable[[pd.DataFrame], pd.Series]:
    """A row check: date ``a`` on or before date ``b`` (true where either is missing)."""

    def check(df: pd.DataFrame) -> pd.Series:
        return (df[a].isna() | df[b].isna() | (df[a] <= df[b])).astype(bool)

    return check


def _value_schema(table: Table, present: Iterable[str], today: date) -> pandera.DataFrameSchema:
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
        pandera.Check(_dates_in_order(a, b), error=f"date_order:{a}:{b}")
        for a, b in table.date_orders
        if a in present and b in present
    ]
    key = list(table.key) if set(table.key) <= present else None
    return pandera.DataFrameSchema(
        columns, checks=checks, unique=key, report_duplicates="all", strict=False, name=table.name
    )


def schema_problems(
    table: Table,
    df: pd.DataFrame,
    where: str,
    skip: dict[str, set[int]],
    today: date,
    nulled: dict[str, set[int]] | None = None,
) -> list[Problem]:
    """Run the pandera schema lazily and turn its failure cases into problems (``skip``: row positions
    per column already reported; ``nulled``: rows per column whose value was a null token, named in
    the message about empty values)."""
    nulled = nulled or {}
    schema = _value_schema(table, df.columns, today)
    try:
        schema.validate(df, lazy=True)
        return []
    except pandera.errors.SchemaErrors as e:
        failures = e.failure_cases
    except Exception as e:  # pragma: no cover - never let pandera internals reach the user as a traceback
        return [Problem(where, f"could not be validated ({type(e).__name__}: {e})")]
    problems = []
    positions = pd.Series(np.arange(len(df)), index=df.index)
    named_before: dict[str, set] = {}
    for column, check, group in _failure_groups(failures, table):
        if group["index"].isna().all():  # a whole-column failure (dtype): a bug here, not in the data
            label = None if column is None else column_label(column)  # None: a row-level check
            problems.append(Problem(where, f"fails the check {check} after conversion", column=label))
            continue
        skipped = () if column is None else skip.get(column, ())
        index = sorted(i for i in pd.unique(group["index"].dropna()) if i not in skipped)
        if not index:
            continue
        if check.startswith("date_order:"):
            problem = _date_order_problem(check, index, positions, named_before, where)
        elif "uniqueness" in check or column is None:  # row-level checks have no column
            problem = _duplicate_key_problem(table, df, index, positions, where)
        else:
            rows = (positions.loc[index].to_numpy() + 1).tolist()
            problem = _value_problem(table.column(column), check, df, index, rows, where, today, nulled)
        if problem is not None:
            problems.append(problem)
    return problems


def _failure_groups(failures: pd.DataFrame, table: Table) -> list[tuple[str | None, str, pd.DataFrame]]:
    """pandera's failure cases as (column or None, check, cases): one group per check and column, or per
    check for a row-level check over several columns; date orders in the contract's order."""
    groups: list[tuple[str | None, str, pd.DataFrame]] = []
    for check, by_check in failures.groupby("check", sort=False):
        if check.startswith("date_order:") or "uniqueness" in check:
            groups.append((None, check, by_check))  # a row-level check over several columns
        else:
            groups += [(column, check, g) for column, g in by_check.groupby("column", sort=False)]
    # date orders in contract order; a row is named once per later date (a discharge before the
    # referral is not also reported as before the triage, the offer and the intervention)
    rule_order = {f"date_order:{a}:{b}": i for i, (a, b) in enumerate(table.date_orders)}
    groups.sort(key=lambda g: rule_order.get(g[1], -1))  # stable: other checks keep their order
    return groups


def _date_order_problem(
    check: str, index: list, positions: pd.Series, named_before: dict[str, set], where: str
) -> Problem | None:
    """Rows whose date ``b`` is before date ``a`` (check ``date_order:a:b``), each row named once per
    later date ``b`` (``named_before`` holds the rows already named, updated here)."""
    _, a, b = check.split(":")
    index = [i for i in index if i not in named_before.get(b, set())]
    named_before.setdefault(b, set()).update(index)
    if not index:
        return None
    rows = (positions.loc[index].to_numpy() + 1).tolist()
    return Problem(
        where,
        f"{{have}} {b} before {a}",
        column=f'columns "{a}" and "{b}"',
        rows=rows,
        hint=f"{a} must be on or before {b}; correct the dates"
        + (" (born after the event: a negative age)" if a == "date_of_birth" else ""),
    )


def _duplicate_key_problem(
    table: Table, df: pd.DataFrame, index: list, positions: pd.Series, where: str
) -> Problem | None:
    """Rows that share their key with another row (rows with an empty key part are reported apart)."""
    key = ", ".join(table.key)
    index = [i for i in index if df.loc[i, list(table.key)].notna().all()]  # empty: reported apart
    if not index:
        return None
    rows = (positions.loc[index].to_numpy() + 1).tolist()
    values = [show_value(v) for v in df.loc[index[:MAX_EXAMPLES], table.key[0]]]
    copies = int(df.duplicated(keep="first").loc[index].sum())
    copied = (
        f" ({copies} of them {'is an exact copy' if copies == 1 else 'are exact copies'} "
        "of another row: was the export duplicated?)"
        if copies
        else ""
    )
    return Problem(
        where,
        f"{{share}} their key ({key}) with another row",
        column=column_label(key) if len(table.key) == 1 else f"key columns {key}",
        rows=rows,
        values=values,
        hint=f"Keys must be unique: remove duplicated rows or correct the identifiers{copied}",
    )


def _value_problem(
    col: Column,
    check: str,
    df: pd.DataFrame,
    index: list,
    rows: list[int],
    where: str,
    today: date,
    nulled: dict[str, set[int]],
) -> Problem:
    """Rows of one column failing one value check: empty, not in the code list, out of range, in the
    future, or too early."""
    column = col.name
    values = None if col.identifier else [show_value(v) for v in df.loc[index[:MAX_EXAMPLES], column]]
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
        codes = ", ".join(str(v) for v in col.codes or ())  # never None: the check exists only with codes
        what, hint = (
            f"{{have}} a value not in the code list ({codes})",
            f"Recode to the list in {CONTRACT_DOC} (codes of another version of the data set "
            "must be mapped to these)",
        )
        if not col.identifier:
            distinct = pd.unique(df.loc[index, column].to_numpy(dtype=object))
            values = [show_value(v) for v in distinct[:MAX_EXAMPLES]]
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
    return Problem(where, what, column=column_label(column), rows=rows, values=values, hint=hint)
