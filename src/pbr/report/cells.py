"""Small formatting helpers and the table views every section builds.

Numbers (:func:`format_number`, :func:`format_p`, :func:`p_statement`,
:func:`format_interval`), the cells of a table view (:func:`header_cell`, :func:`data_cell`,
:func:`table`, :func:`simple_head`, :func:`mark`) and the labels of outcomes and inference
methods (defined in :mod:`pbr.registry.methods`, re-exported here). A table view is a small
dict (header cells with their ``scope``, body cells with their text); the template only lays
it out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pbr.registry import outcomes as outcome_registry
from pbr.registry.methods import METHOD_LABELS as METHOD_LABELS  # re-exported
from pbr.registry.methods import SHORT_LABELS as SHORT_LABELS  # re-exported

GROUPS = ("pilot", "other")
PERIODS = ("pre", "post")
#: Numbers this large in absolute value (or smaller than half the last printed decimal) are
#: printed in scientific notation ('1.7e+95'), never as a long string of digits.
SCI_LARGE = 1e6


def isnan(x) -> bool:
    """Whether ``x`` is missing: None, NaN, NA or NaT (False for anything pandas cannot judge)."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _scientific(x: float, digits: int) -> bool:
    """Whether ``x`` is printed in scientific notation: huge, or non-zero and lost to rounding."""
    a = abs(float(x))
    return a >= SCI_LARGE or (a > 0 and a < 0.5 * 10.0**-digits)


def format_number(x, digits: int = 3) -> str:
    """A number with ``digits`` decimals; '' for missing, '∞' for infinite; scientific notation
    ('1.7e+95', '3.2e-07') when huge or smaller than the last decimal (see :data:`SCI_LARGE`)."""
    if isnan(x):
        return ""
    x = float(x)
    if np.isinf(x):
        return "∞" if x > 0 else "−∞"
    if _scientific(x, digits):
        return f"{x:.1e}"
    return f"{x:.{digits}f}"


def format_p(p) -> str:
    """A p-value: '<0.001' or three decimals."""
    if isnan(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_statement(p) -> str:
    """'p = 0.123' or 'p < 0.001'."""
    t = format_p(p)
    return "p not available" if not t else (f"p {t[0]} {t[1:]}" if t.startswith("<") else f"p = {t}")


def format_interval(lo, hi, digits: int = 3) -> str:
    """An interval: '0.41–0.81', or '−0.010 to 0.050' when a bound is negative (a dash would read as minus)."""
    if isnan(lo) or isnan(hi):
        return ""
    a, b = format_number(lo, digits), format_number(hi, digits)
    if lo < 0 or hi < 0:
        return f"{_minus(a)} to {_minus(b)}"
    if "e" in a + b:  # scientific notation: a dash between '3.0e-05' and '1.7e+95' would mislead
        return f"{a} to {b}"
    return f"{a}–{b}"


def _minus(t: str) -> str:
    """A leading minus as the typographic one; an exponent's sign is left alone."""
    return "−" + t[1:] if t.startswith("-") else t


def header_cell(text, scope: str = "col", colspan: int = 1, rowspan: int = 1, cls: str = "") -> dict:
    """A header cell (``scope``: col, row, colgroup, rowgroup)."""
    return {"th": True, "text": text, "scope": scope, "colspan": colspan, "rowspan": rowspan, "cls": cls}


def data_cell(text, cls: str = "", colspan: int = 1, rowspan: int = 1, title: str = "") -> dict:
    """A data cell; ``cls`` 'num' right-aligns, 'count' marks a count (checked by the tests)."""
    return {"th": False, "text": text, "cls": cls, "colspan": colspan, "rowspan": rowspan, "title": title}


def table(
    caption: str, head: list[list[dict]], body: list[list[dict]], tid: str = "", note: str = ""
) -> dict:
    """A table view: caption, header rows, body rows, HTML id (``tid``), a note; footnotes go in ``notes``."""
    return {"caption": caption, "head": head, "body": body, "id": tid, "note": note, "notes": []}


def simple_head(*labels: str) -> list[list[dict]]:
    """One header row of column headers."""
    return [[header_cell(x) for x in labels]]


def label(outcome: str) -> str:
    """The report's label of an outcome (:func:`pbr.registry.outcomes.label`)."""
    return outcome_registry.label(outcome)


def inside(value, lo, hi) -> bool | None:
    """Whether ``value`` lies in the closed interval [lo, hi]; None when either side is missing."""
    if isnan(value) or isnan(lo) or isnan(hi):
        return None
    return bool(lo <= value <= hi)


def mark(flag: bool | None, yes: str = "yes", no: str = "no", missing: str = "–") -> dict:
    """The inside/outside mark: a symbol and a word (never colour alone)."""
    if flag is None:
        return data_cell(missing, cls="mark-none")
    if flag:
        return data_cell(f"✓ {yes}", cls="mark-in")
    return data_cell(f"✗ {no}", cls="mark-out")


def unadjusted_odds_ratio(cell_rates: dict) -> float | None:
    """odds(pilot post)/odds(pilot pre) over odds(other post)/odds(other pre) of the four cells'
    rates ((group, period) -> rate); None when a cell is missing or withheld, or a rate is 0 or 1."""
    if len(cell_rates) < 4 or any(r.hidden for r in cell_rates.values()):
        return None
    v = {k: r.value for k, r in cell_rates.items()}
    if any(not (0 < x < 1) for x in v.values()):
        return None

    def odds(x):
        return x / (1 - x)

    return (
        odds(v[("pilot", "post")])
        / odds(v[("pilot", "pre")])
        / (odds(v[("other", "post")]) / odds(v[("other", "pre")]))
    )
