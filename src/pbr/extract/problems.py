"""Fatal problems and how messages show them: :class:`ExtractError`, :class:`Problem` (one line
of the error message), and the helpers every message uses for a column, an example value and
example rows.

Values of identifier columns are never passed here to be shown (callers leave them out), so
messages can leave a secure environment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pbr.errors import PipelineError

#: example rows (or values) a message shows at most; the rest are counted
MAX_EXAMPLES = 5
#: the document that describes the expected format, named in every error message
CONTRACT_DOC = "docs/input-contract.md"
SHOW_CHARS = 40  # an example value longer than this is cut in messages


class ExtractError(PipelineError):
    """The one fatal error of the extract stage; ``str()`` is the whole message for the user."""


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
        """The problem as one line of the error message (without the leading '- ')."""
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


def column_label(name: str) -> str:
    """'column "name"': a column as messages name it."""
    return f'column "{name}"'


def show_value(v: object) -> str:
    """An example value for a message: text quoted (so that spaces show: 'E0142 '), numbers plain,
    dates as YYYY-MM-DD; text longer than SHOW_CHARS is cut, with its length."""
    if isinstance(v, pd.Timestamp):
        return repr(v.strftime("%Y-%m-%d") if v == v.normalize() else str(v))
    if isinstance(v, str):
        if len(v) > SHOW_CHARS:
            return f"{v[:SHOW_CHARS]!r}... ({len(v):,} characters)"
        return repr(v)
    return str(v.item() if isinstance(v, np.generic) else v)


def rows_text(rows: Iterable[int]) -> str:
    """'row 3' / 'rows 3, 8, 12 (and 40 more)': the example rows of a warning."""
    rows = sorted(rows)
    shown = rows[:MAX_EXAMPLES]
    more = f" (and {len(rows) - len(shown)} more)" if len(rows) > len(shown) else ""
    return f"{'row' if len(shown) == 1 else 'rows'} {', '.join(map(str, shown))}{more}"


def extract_error(problems: list[Problem], source: str) -> ExtractError:
    """The error listing every problem found in the extract read from ``source`` (a directory, or
    'database <url>': rows are then numbered in key order), one line each, and what to do."""
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
