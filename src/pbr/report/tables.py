"""The report's tables as data: every table view the report shows, as typed columns.

A table view (:func:`pbr.report.cells.table`) holds what a reader sees: header rows with
spans, and cells whose text is a string or a lazily formatted count or rate
(:class:`pbr.report.disclosure.Count`, :class:`~pbr.report.disclosure.Rate`). This module
turns one view into a :class:`pandas.DataFrame` a reader can compute with:

- spans are expanded (the HTML table algorithm), so every body row has every column; the
  header rows above a column, joined, give its name (snake case) and its ``header`` text;
- a registered count becomes its integer, a rate its value (a proportion), the text of a
  number (``6,043``, ``12.3%``, ``−0.010``, ``1.7e+95``) a float (a column whose every value
  carries ``%`` is named ``..._pct`` and keeps the percentage); a column of intervals
  (``0.41–0.81``, ``−0.010 to 0.050``) becomes two, ``..._low`` and ``..._high``; a column
  of marks (``✓ yes`` / ``✗ no``) a boolean;
- a value withheld from the reader (a suppressed count ``<10``, ``[c]``, ``[s]``; a bound
  such as ``<0.001`` or ``≥5``) is missing, and its marker is in ``<column>_marker``, so
  nothing the HTML hides is in the data and nothing shown is lost.

Hand-written because no library reads jinja2-free table views with disclosure-controlled
cells; the tests check it against :func:`pandas.read_html` of the rendered report (same
cells, same shape).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pandas as pd
from markupsafe import Markup

from pbr.report.disclosure import Count, Rate

#: What a column of typed values may be, as the data dictionary names it.
DTYPES = {"Int64": "integer", "float64": "number", "boolean": "true/false", "string": "text"}

_BOUND = re.compile(r"^(?:<|>|≥|≤|>=|<=)\s*[−-]?[\d.,]+(?:e[+-]?\d+)?%?$")
_MARKERS = {"[c]", "[s]"}
_MISSING = {"", "–", "—", "n/a", "NA"}
_YES, _NO = "✓", "✗"


@dataclass(frozen=True)
class Column:
    """One column of a typed table: its name, the header text it came from, its type."""

    name: str
    header: str
    dtype: str
    count: bool = (
        False  #: a count of records under disclosure control (0 or at least the threshold, else withheld)
    )


def _plain(text) -> str:
    """A cell's text as the reader sees it (markup stripped, spaces collapsed)."""
    if isinstance(text, Count | Rate):
        text = str(text)
    # markup (a caption with an entity, a cell with a link) as the reader sees it; plain text is
    # escaped by the template, so shown as it is
    s = text.striptags() if isinstance(text, Markup) else str(text)
    return " ".join(s.split())


def _grid(rows: list[list[dict]]) -> list[list[dict | None]]:
    """Rows of cells with their row and column spans expanded (the HTML table algorithm):
    every slot a span covers holds the spanning cell."""
    grid: list[list[dict | None]] = [[] for _ in rows]
    for r, row in enumerate(rows):
        col = 0
        for cell in row:
            while col < len(grid[r]) and grid[r][col] is not None:
                col += 1
            for dr in range(max(int(cell.get("rowspan", 1)), 1)):
                if r + dr >= len(grid):
                    break
                line = grid[r + dr]
                for dc in range(max(int(cell.get("colspan", 1)), 1)):
                    while len(line) <= col + dc:
                        line.append(None)
                    line[col + dc] = cell
            col += max(int(cell.get("colspan", 1)), 1)
    width = max((len(line) for line in grid), default=0)
    return [line + [None] * (width - len(line)) for line in grid]


def snake(text: str) -> str:
    """A column name from header text: lower case, words joined by '_', no symbols."""
    t = text.replace("%", " pct ").replace("×", " x ").replace("≥", " ge ").replace("<", " lt ")
    t = re.sub(r"[^0-9A-Za-z]+", "_", t.lower()).strip("_")
    return t or "column"


def _headers(head: list[list[dict]], width: int) -> list[str]:
    """The header text above each of ``width`` columns (distinct header rows joined by ' / ')."""
    grid = _grid(head) if head else []
    out = []
    for c in range(width):
        parts: list[str] = []
        seen: set[int] = set()
        for line in grid:
            cell = line[c] if c < len(line) else None
            if cell is None or id(cell) in seen:
                continue
            seen.add(id(cell))
            text = _plain(cell.get("text", ""))
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        out.append(" / ".join(parts) or f"column {c + 1}")
    return out


def _unique(names: list[str]) -> list[str]:
    """``names`` with repeats numbered (``estimate``, ``estimate_2``)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n]}")
    return out


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("−", "-").rstrip("%"))


def _is_count(cell: dict | None) -> bool:
    """Whether a body cell shows a count under disclosure control (a registered count, or a
    cell the section marked ``count``)."""
    if cell is None:
        return False
    text = cell.get("text")
    if isinstance(text, Count) or (isinstance(text, list) and any(isinstance(x, Count) for x in text)):
        return True
    return "count" in str(cell.get("cls", "")).split()


def _parts(text: list) -> dict[str, tuple]:
    """The counts and the rate inside one composite cell ('12.3% (45 / 366)', '45 (12.3%)'),
    by part name: the rate is ``proportion``, the count it is computed from ``count``, its
    denominator ``denominator``, any other count ``count``."""
    rate = next((x for x in text if isinstance(x, Rate)), None)
    out: dict[str, tuple] = {}
    for x in text:
        if isinstance(x, Rate):
            out["proportion"] = _raw({"text": x})
        elif isinstance(x, Count):
            name = "denominator" if rate is not None and x.key == rate.keys[-1] else "count"
            out[name if name not in out else f"{name}_2"] = _raw({"text": x})
    return out


def _raw(cell: dict | None):
    """(value, marker) of one body cell before its column is typed: a number, a string, or None;
    for a composite cell holding counts or a rate, a dict of them by part (:func:`_parts`)."""
    if cell is None:
        return None, ""
    text = cell.get("text", "")
    if isinstance(text, list) and len([x for x in text if isinstance(x, Count | Rate)]) > 1:
        return _parts(text), ""
    if isinstance(text, list) and len(text) == 1:
        text = text[0]
    if isinstance(text, Count):
        return (None, str(text)) if text.hidden else (int(text.value), "")
    if isinstance(text, Rate):
        if text.hidden:
            return None, str(text)
        return (None if text.value is None or not math.isfinite(text.value) else float(text.value)), ""
    s = _plain(text)
    if s in _MISSING:
        return None, ""
    if s in _MARKERS or _BOUND.match(s):
        return None, s
    return s, ""


_NUM = r"[−-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[+-]?\d+)?%?"
_CELL_FORMS = [  # (pattern, the parts it gives), tried in order
    (re.compile(rf"^(?P<value>{_NUM})$"), ("value",)),
    (re.compile(rf"^(?P<low>{_NUM})(?:–| to )(?P<high>{_NUM})$"), ("low", "high")),
    (
        re.compile(rf"^(?P<value>{_NUM}) \((?P<low>{_NUM})(?:–| to )(?P<high>{_NUM})\)$"),
        ("value", "low", "high"),
    ),
    (re.compile(rf"^(?P<value>{_NUM}) \((?P<bracketed>{_NUM})\)$"), ("value", "bracketed")),
    (re.compile(rf"^(?P<value>{_NUM}) \((?P<note>[^()]*)\)$"), ("value", "note")),
]
#: The columns a numeric column splits into, by part: name suffix and header words.
_SPLIT = {
    "value": ("", ""),
    "low": ("_low", " (lower end)"),
    "high": ("_high", " (upper end)"),
    "bracketed": ("_bracketed", " (the number in brackets)"),
    "note": ("_note", " (text shown in place of, or beside, a number)"),
}


def _form(value) -> dict | None:
    """The parts of one cell's value when it has a numeric form (see :data:`_CELL_FORMS`), else None."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"value": value}
    for pattern, parts in _CELL_FORMS:
        m = pattern.match(value)
        if m:
            return {p: m[p] for p in parts}
    return None


def _typed(values: list, header: str, name: str) -> list[tuple[Column, list]]:
    """One column's values typed (see the module docstring): a column of marks becomes a
    boolean; a column at least half of whose values have a numeric form (:data:`_CELL_FORMS`)
    becomes one numeric column per part (value, low and high ends, a number in brackets), with
    any text shown in place of or beside a number in ``<name>_note``; anything else stays text."""
    present = [v for v in values if v is not None]
    if not present:
        return [(Column(name, header, "float64"), [None] * len(values))]
    if all(isinstance(v, str) and v[:1] in (_YES, _NO) for v in present):
        return [(Column(name, header, "boolean"), [None if v is None else v[:1] == _YES for v in values])]
    forms = [None if v is None else _form(v) for v in values]
    if 2 * sum(f is not None for f in forms) < len(present):
        return [(Column(name, header, "string"), [None if v is None else str(v) for v in values])]
    rows = [
        {} if v is None else (f if f is not None else {"note": str(v)})
        for v, f in zip(values, forms, strict=True)
    ]
    out = []
    for part, (suffix, words) in _SPLIT.items():
        got = [r[part] for r in rows if part in r]
        if not got:
            continue
        if part == "note":
            out.append((Column(name + suffix, header + words, "string"), [r.get(part) for r in rows]))
            continue
        texts = [g for g in got if isinstance(g, str)]
        pct = bool(texts) and len(texts) == len(got) and all(t.endswith("%") for t in texts)
        nums = [None if part not in r else _as_number(r[part]) for r in rows]
        integer = all(
            isinstance(g, int) or (isinstance(g, str) and re.fullmatch(r"[−-]?[\d,]+", g)) for g in got
        )
        col_name = name + suffix + ("_pct" if pct else "")
        out.append((Column(col_name, header + words, "Int64" if integer else "float64"), nums))
    return out


def _as_number(v):
    return _number(v) if isinstance(v, str) else v


_PART_ORDER = ["proportion", "count", "count_2", "denominator", "denominator_2"]
_PART_WORDS = {
    "proportion": "the rate or share, as a proportion (0 to 1)",
    "count": "the count",
    "count_2": "the second count",
    "denominator": "the denominator of the rate",
    "denominator_2": "the second denominator",
}


def _add(
    data: dict[str, list], columns: list[Column], raw: list[tuple], header: str, name: str, count: bool
) -> None:
    """Type one column's (value, marker) pairs into ``data`` and ``columns``, with a marker
    column when a value was withheld; ``count``: the column holds counts (its value part does)."""
    for col, values in _typed([v for v, _ in raw], header, name):
        data[col.name] = values
        is_count = count and col.dtype == "Int64" and not col.name.endswith(("_low", "_high"))
        columns.append(replace(col, count=is_count))
    if any(m for _, m in raw):
        marker = Column(f"{name}_marker", f"{header}: the marker shown instead of a value", "string")
        data[marker.name] = [m or None for _, m in raw]
        columns.append(marker)


def typed_table(view: dict) -> tuple[pd.DataFrame, list[Column]]:
    """The table view ``view`` as a typed frame, and its columns (see the module docstring)."""
    body = _grid(view["body"])
    width = max((len(line) for line in body), default=0)
    headers = _headers(view["head"], width)
    names = _unique([snake(h) for h in headers])
    data: dict[str, list] = {}
    columns: list[Column] = []
    for c in range(width):
        raw = [_raw(line[c]) for line in body]
        parts = sorted({p for v, _ in raw if isinstance(v, dict) for p in v}, key=_PART_ORDER.index)
        if parts:  # a composite column: one typed column (and marker) per part
            for p in parts:
                sub = [v.get(p, (None, "")) if isinstance(v, dict) else (None, "") for v, _ in raw]
                words = f"{headers[c]}: {_PART_WORDS[p]}"
                _add(data, columns, sub, words, f"{names[c]}_{p}", p != "proportion")
            continue
        _add(data, columns, raw, headers[c], names[c], any(_is_count(line[c]) for line in body))
    frame = pd.DataFrame({c.name: pd.array(data[c.name], dtype=c.dtype) for c in columns})
    return frame, columns


def table_file_name(tid: str) -> str:
    """The file name (no suffix) of the table with HTML id ``tid``: the id without ``tbl-``, '-' as '_'."""
    return tid.removeprefix("tbl-").replace("-", "_")


def table_views(value, path: str = "") -> Iterator[dict]:
    """Every table view inside ``value`` (dicts and lists walked depth first), in order found."""
    if isinstance(value, dict):
        if {"caption", "head", "body"} <= set(value):
            yield value
            return
        for v in value.values():
            yield from table_views(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from table_views(v)


def columns_frame(tables: dict[str, tuple[str, list[Column]]]) -> pd.DataFrame:
    """The data dictionary of exported tables (name -> (caption, columns)): one row per column,
    with the table's file name and caption, the column's name, type, header text and whether it
    holds counts under disclosure control."""
    rows = [
        {
            "table": name,
            "caption": _plain(caption),
            "column": col.name,
            "type": DTYPES[col.dtype],
            "header": col.header,
            "count": col.count,
        }
        for name, (caption, cols) in tables.items()
        for col in cols
    ]
    return pd.DataFrame(rows, columns=["table", "caption", "column", "type", "header", "count"])


#: The trend figures' data (:func:`trend_points`): its caption and columns.
TREND_CAPTION = (
    "The quarterly outcome rates the trend figures plot, pilot vs other areas, by cohort and outcome"
)
TREND_COLUMNS = [
    Column("cohort", "cohort", "string"),
    Column("outcome", "outcome key (docs/outcomes.md)", "string"),
    Column("group", "pilot or other areas", "string"),
    Column("quarter", "quarter of journey start, 0 = the first of the pre period", "Int64"),
    Column("quarter_start", "the quarter's first day (YYYY-MM-DD)", "string"),
    Column("rate", "the outcome rate, a proportion (0 to 1); missing when not plotted", "float64"),
    Column("rate_marker", "the marker of a rate not plotted (a small count, real-data mode)", "string"),
]


def trend_points(trends: pd.DataFrame, disc, pre_start: str) -> pd.DataFrame:
    """The quarterly rates the trend figures plot, as data: cohort, outcome, group, quarter (0 =
    the quarter starting ``pre_start``), its first day, and the rate (a proportion). Counts are
    not given (the report shows none per quarter). A quarter whose journeys, events or non-events
    are small (:meth:`pbr.report.disclosure.Disclosure.small`; real-data mode) is not plotted:
    its rate is missing here, with ``rate_marker`` '<k'."""
    cols = ["cohort", "outcome", "group", "quarter", "quarter_start", "rate", "rate_marker"]
    if trends is None or trends.empty:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in cols})
    t = trends.sort_values(["cohort", "outcome", "group", "quarter"], kind="mergesort").reset_index(drop=True)
    small = t["n"].map(disc.small) | t["events"].map(disc.small) | (t["n"] - t["events"]).map(disc.small)
    base = pd.Timestamp(pre_start)
    return pd.DataFrame(
        {
            "cohort": t["cohort"].astype("string"),
            "outcome": t["outcome"].astype("string"),
            "group": t["group"].astype("string"),
            "quarter": t["quarter"].astype("Int64"),
            "quarter_start": [
                (base + pd.DateOffset(months=3 * int(q))).date().isoformat() for q in t["quarter"]
            ],
            "rate": t["rate"].astype("float64").where(~small),
            "rate_marker": pd.array([f"<{disc.threshold}" if s else None for s in small], dtype="string"),
        }
    )[cols]
