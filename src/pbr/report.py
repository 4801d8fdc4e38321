"""Report stage: render the self-contained HTML report from the pipeline's results.

The report is one HTML file rendered with jinja2 from ``report/report.html.j2``; its
figures are drawn with matplotlib and embedded as base64 PNG, so it opens offline.
Every table is built here as a small "view" (header cells with their ``scope``, body
cells with their text), and the template only lays them out.

Disclosure control (real-data mode, ``data.source: real``): every count shown is a
*cell* registered with a :class:`Disclosure`, together with the additive relations
between cells that a reader could use (a total and its parts, a denominator and its
events, the same count shown in two tables). :func:`protect` then suppresses every count
from 1 to ``threshold - 1`` (primary suppression, shown as ``<threshold``) and, until no
relation gives a suppressed cell away, one more cell in each relation that would
(complementary suppression, shown as ``[c]``). Rates and percentages computed from a
suppressed count are suppressed too (``[s]``). Counts that a reader could only use by
differencing two models (events and counts of every model fitted, the rows dropped by a
model) are not shown in real-data mode. Counts inside free text (a model's note, a flow
reason) pass one function, :func:`redact_counts`: in real-data mode a count there is shown
only as ``<threshold`` (1 to threshold - 1) or ``>=threshold``, never as its value.

Verdicts: a DiD row counts as reproduced or not reproduced only when it can carry a verdict
(:func:`verdict`): a row the fit marks ``not_estimable`` (the results' ``status`` column; a
missing column means "ok") is never printed as numbers; a row whose smallest group x period
cell has fewer than :data:`MIN_CELL_EVENTS` events or non-events (``min_cell_events``;
unknown when the column is missing), or whose interval is uninformative (an end missing,
infinite or zero, ``ci_high / ci_low`` above :data:`MAX_CI_RATIO`, or a value beyond
:data:`MAX_PLAUSIBLE_OR` either way), is printed but marked "no verdict" and left out of
every count in the findings box.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import importlib.metadata
import io
import logging
import math
import re
import subprocess
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import matplotlib
from markupsafe import Markup

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import yaml

from pbr.io import write_bytes
from pbr.published import (
    OUTCOME_LABELS,
    PUBLISHED_COHORT,
    PUBLISHED_JOURNEYS,
    PUBLISHED_MASON_2015,
    PUBLISHED_NOT_SIGNIFICANT,
    PUBLISHED_OR,
    PUBLISHED_PILOT_AREAS,
    PUBLISHED_RAW_RATES,
    PUBLISHED_UNADJUSTED_OR,
)

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "report"
VERSIONED_PACKAGES = [
    "snakemake",
    "pandas",
    "numpy",
    "pyarrow",
    "duckdb",
    "splink",
    "pyfixest",
    "statsmodels",
    "linearmodels",
    "scipy",
    "matplotlib",
    "jinja2",
]

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; every series
# also differs by marker or line style, so the figures survive greyscale printing.
BLUE, SKY, VERMILLION, ORANGE, GREEN, PURPLE, BLACK, GREY = (
    "#0072B2",
    "#56B4E9",
    "#D55E00",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#000000",
    "#666666",
)
GROUP_STYLE = {
    "pilot": {"color": VERMILLION, "marker": "o", "linestyle": "-", "label": "pilot areas"},
    "other": {"color": BLUE, "marker": "s", "linestyle": "--", "label": "other areas"},
}

METHOD_LABELS = {
    "logit_crv1": "Logit, CRV1 cluster-robust",
    "logit_score_wcb": "Logit, wild cluster score bootstrap",
    "logit_ri": "Logit, randomisation inference (coefficient)",
    "logit_ri_t": "Logit, randomisation inference (studentised)",
    "lpm_crv1": "LPM, CRV1 cluster-robust",
    "lpm_wcb_webb": "LPM, wild cluster restricted bootstrap",
    "lpm_ri": "LPM, randomisation inference (coefficient)",
    "lpm_ri_t": "LPM, randomisation inference (studentised)",
}
SHORT_LABELS = {
    "logit_score_wcb": "wild cluster score bootstrap",
    "logit_crv1": "CRV1 cluster-robust",
}
GROUPS = ("pilot", "other")
_MONTHS = {"quarter": 3, "half_year": 6, "year": 12}
PERIODS = ("pre", "post")
SPINE_TABLES = ("ndtms_episodes", "journeys")
TABLE_LABELS = {
    "ndtms_episodes": "NDTMS episodes",
    "journeys": "treatment journeys",
    "areas": "areas",
    "ndtms_top": "NDTMS TOP records",
    "ons_deaths": "ONS deaths",
    "pnc_offences": "PNC offences",
}
# synthetic truth (results/truth/effects.json, did_or) -> outcome names
PLANTED_NAMES = {
    "initiation": "treatment_initiation",
    "waiting": "waiting_over_3_weeks",
    "completion": "successful_completion",
    "completion_no_representation": "completion_without_representation",
}

SMALL = "<{k}"
COMPLEMENT = "[c]"
DERIVED = "[s]"
LARGE = "≥{k}"

# ---------------------------------------------------------------------------------------
# Verdict rules (stated in the report's methods text and under the findings box)

#: A row whose smallest group x period cell (pilot/other x pre/post) has fewer events or
#: fewer non-events than this gets no verdict (results column ``min_cell_events``).
MIN_CELL_EVENTS = 20
#: An odds-ratio interval whose upper end is more than this many times its lower end says
#: too little for "published inside reproduced" to mean anything: no verdict.
MAX_CI_RATIO = 10.0
#: An odds ratio (or interval end) above this, or below its inverse, is a sign of separation
#: or a failed fit: the row is flagged and gets no verdict.
MAX_PLAUSIBLE_OR = 1000.0
#: Numbers this large in absolute value (or smaller than half the last printed decimal) are
#: printed in scientific notation ('1.7e+95'), never as a long string of digits.
SCI_LARGE = 1e6
#: The forest plot's axis: intervals beyond it are cut at the edge (marked with an arrow).
FOREST_LIMITS = (0.01, 100.0)
STATUSES = ("ok", "caveat", "not_estimable")


# ---------------------------------------------------------------------------------------
# Disclosure control


def protect(
    values: dict[Hashable, int],
    relations: Iterable[tuple[Hashable, Sequence[Hashable]]],
    threshold: int,
    shown: Iterable[Hashable] | None = None,
    priority: dict[Hashable, int] | None = None,
    balances: Iterable[tuple[Sequence[Hashable], Sequence[Hashable]]] = (),
    forced: Iterable[Hashable] = (),
) -> dict[Hashable, str]:
    """Cells to suppress: ``{key: "primary" | "secondary"}``.

    ``values`` maps every cell to its count; ``shown`` are the cells the report prints
    (default: all; the others, e.g. the non-events of a rate, are not printed but can
    still be worked out). ``relations`` are ``(total, parts)`` with
    ``values[total] == sum(values[p] for p in parts)``; ``balances`` are ``(left, right)``
    with equal sums (e.g. four cells = a model's journeys + the journeys it dropped).

    Primary: every shown count from 1 to ``threshold - 1``. Complementary, repeated until
    nothing changes: a relation gives a hidden cell away when it is the only hidden cell
    in the relation, and gives the sum of its hidden cells away when they all sit on one
    side; so when a hidden cell needs protecting (it is small, or suppressed) and either
    the relation has one hidden cell or the hidden cells on one side sum to 1 ..
    ``threshold - 1``, one more shown cell of the relation is suppressed: the lowest
    ``priority`` (default 1), then the smallest non-zero count. A cell that is not printed
    and is neither small nor suppressed needs no protection. ``forced`` cells are
    suppressed from the start (e.g. the cells of a relation that did not add up).
    """
    shown = set(values) if shown is None else set(shown)
    priority = priority or {}
    rels = [([t], list(p)) for t, p in relations] + [(list(a), list(b)) for a, b in balances]

    def small(c: Hashable) -> bool:
        return 0 < values[c] < threshold

    status = {c: "secondary" for c in forced if c in shown}
    status |= {c: "primary" for c in shown if small(c)}

    def hidden(c: Hashable) -> bool:
        return c in status or c not in shown

    changed = True
    while changed:
        changed = False
        for left, right in rels:
            cells = [*left, *right]
            hid_l = [c for c in left if hidden(c)]
            hid_r = [c for c in right if hidden(c)]
            hid = hid_l + hid_r
            if not any(c in status or small(c) for c in hid):
                continue
            one_side = not hid_l or not hid_r
            unsafe = len(hid) == 1 or (one_side and 0 < sum(values[c] for c in hid) < threshold)
            candidates = [c for c in cells if not hidden(c)]
            if not unsafe or not candidates:
                continue
            pick = min(candidates, key=lambda c: (priority.get(c, 1), values[c] == 0, values[c], str(c)))
            status[pick] = "secondary"
            changed = True
    return status


class Disclosure:
    """Registry of the counts a report shows, their relations, and (after :meth:`resolve`) their display.

    With ``active`` false (synthetic data) nothing is suppressed, but the same code runs.
    """

    def __init__(self, threshold: int, active: bool):
        self.threshold = int(threshold)
        self.active = active
        self.values: dict[Hashable, int] = {}
        self.shown: set[Hashable] = set()
        self.balances: list[tuple[list[Hashable], list[Hashable]]] = []
        self.forced: set[Hashable] = set()
        self.priority: dict[Hashable, int] = {}
        self.status: dict[Hashable, str] | None = None

    def count(self, key: Hashable, value: int, shown: bool = True, priority: int = 1) -> Count:
        """Register a count (the same key twice must carry the same value) and return its display."""
        value = int(value)
        if key in self.values and self.values[key] != value:
            raise ValueError(f"disclosure cell {key!r} registered as {self.values[key]} and {value}")
        self.values[key] = value
        if shown:
            self.shown.add(key)
        self.priority[key] = min(priority, self.priority.get(key, priority))
        return Count(self, key)

    def relate(self, total: Hashable, parts: Sequence[Hashable]) -> None:
        """Declare ``total == sum(parts)`` (every key already registered)."""
        self.balance([total], parts)

    def balance(self, left: Sequence[Hashable], right: Sequence[Hashable]) -> None:
        """Declare ``sum(left) == sum(right)`` (every key already registered)."""
        missing = [k for k in (*left, *right) if k not in self.values]
        if missing:
            raise KeyError(f"relation over unregistered cells {missing}")
        if sum(self.values[k] for k in left) != sum(self.values[k] for k in right):
            # an upstream table that does not add up: say so, and (real data) hide every cell of it
            log.warning("counts do not add up: sum%r != sum%r", list(left), list(right))
            self.forced.update([*left, *right])
            return
        self.balances.append((list(left), list(right)))

    def rate(
        self,
        events_key: Hashable,
        events: int,
        n_key: Hashable,
        n: int,
        scale: float = 100.0,
        digits: int = 1,
    ) -> tuple[Count, Count, Rate]:
        """Events, denominator and their rate; the non-events are a hidden cell (n = events + non-events)."""
        e = self.count(events_key, events)
        d = self.count(n_key, n)
        comp = ("non_events", events_key)
        self.count(comp, int(n) - int(events), shown=False)
        self.relate(n_key, [events_key, comp])
        value = events / n if n else float("nan")
        return e, d, Rate(self, (events_key, n_key), value, scale, digits)

    def resolve(self) -> None:
        """Decide what to suppress (nothing when inactive)."""
        self.status = (
            protect(self.values, [], self.threshold, self.shown, self.priority, self.balances, self.forced)
            if self.active
            else {}
        )

    def suppressed(self, key: Hashable) -> bool:
        if self.status is None:
            raise RuntimeError("Disclosure.resolve() must run before anything is displayed")
        return key in self.status

    def text(self, key: Hashable) -> str:
        if self.suppressed(key):
            return SMALL.format(k=self.threshold) if self.status[key] == "primary" else COMPLEMENT
        return f"{self.values[key]:,}"

    def small(self, value: int) -> bool:
        """A count that would be suppressed on its own (used for values that are only plotted)."""
        return self.active and 0 < int(value) < self.threshold

    def redact(self, text) -> str:
        """Free text (a note, a reason) with its counts passed through :func:`redact_counts`."""
        return redact_counts(text, self.threshold, self.active)


# Counts inside free text. A number is a count when a counted noun follows it (with at most
# two modifiers between: "9 rows", "4 pilot journeys", "(1 area(s))", "3 of 8 areas") or a
# counted name and a relation precede it ("events = 4", "n: 7", "min(events, non-events) = 3").
# Decimals, dates, codes and settings ("aged under 18 at journey start", "within 28 days",
# "p >= 0.5", "E0012", "2011-10-01") are not counts.
_NUMBER = re.compile(r"(?<![\w.\-/−≥<>])(\d{1,3}(?:,\d{3})+|\d+)(?![\w\-/%]|[.,]\d)")
_COUNTED = (
    r"(?:rows?|journeys?|episodes?|records?|persons?|people|clients?|individuals?|deaths?|"
    r"offences?|offenders?|(?:non-)?events?|pairs?|links?|cases?|observations?|areas?|area\(s\)|"
    r"clusters?|cells?|referrals?|discharges?|reviews?)"
)
_STOP = (
    r"(?:at|in|of|on|to|from|within|after|before|per|by|for|and|or|the|a|an|with|without|under|"
    r"over|than|is|are|was|were|day|days|week|weeks|month|months|year|years|age|aged|percent)"
)
_AFTER = re.compile(
    rf"\s*(?:of\s+(?:\d{{1,3}}(?:,\d{{3}})+|\d+)\s+)?(?:(?!{_STOP}\b)[A-Za-z][\w\-]*\s+){{0,2}}{_COUNTED}(?![\w])",
    re.IGNORECASE,
)
_BEFORE = re.compile(
    rf"(?:\b(?:n|count|total|min_cell_events|{_COUNTED})\)?\s*(?:=|:|≥|>=|≤|<=|<|>)\s*|\b(?:removed|dropped|excluded)\s+)$",
    re.IGNORECASE,
)
_OF_COUNT = re.compile(r"\s+of\s+$", re.IGNORECASE)


def redact_counts(text, threshold: int, real: bool) -> str:
    """``text`` with every count in it passed through the disclosure rule (real-data mode).

    With ``real`` false the text is returned unchanged. In real-data mode a count (see the
    patterns above) from 1 to ``threshold - 1`` becomes ``<threshold`` and a larger one
    ``>=threshold``: a count in free text is not a registered cell, so neither its smallness
    nor its exact value (which, with a total shown elsewhere, could give a suppressed cell
    away) may reach the report. Zero is shown. This is the one function every note,
    footnote and reason goes through on its way to the HTML or the CSVs.
    """
    text = "" if _isnan(text) else str(text)
    if not real or not text:
        return text
    k = int(threshold)
    counts: list[tuple[int, int, int]] = []
    for m in _NUMBER.finditer(text):
        after, before = text[m.end() :], text[: m.start()]
        if _AFTER.match(after) or _BEFORE.search(before):
            counts.append((m.start(), m.end(), int(m.group(1).replace(",", ""))))
        elif _OF_COUNT.search(before) and counts and counts[-1][1] <= m.start():
            # "3 of 8 areas": the 8 is a count; so is the 3, matched above through the "of"
            counts.append((m.start(), m.end(), int(m.group(1).replace(",", ""))))
    out, last = [], 0
    for a, b, v in counts:
        out += [text[last:a], "0" if v == 0 else (SMALL if v < k else LARGE).format(k=k)]
        last = b
    return "".join([*out, text[last:]])


@dataclass
class Count:
    """A registered count; renders as its (possibly suppressed) text once the registry is resolved."""

    disclosure: Disclosure
    key: Hashable

    def __str__(self) -> str:
        return self.disclosure.text(self.key)

    @property
    def hidden(self) -> bool:
        return self.disclosure.suppressed(self.key)

    @property
    def value(self) -> int:
        return self.disclosure.values[self.key]


@dataclass
class Rate:
    """A rate computed from registered counts; suppressed when any of them is."""

    disclosure: Disclosure
    keys: tuple
    value: float
    scale: float = 100.0
    digits: int = 1

    @property
    def hidden(self) -> bool:
        return any(self.disclosure.suppressed(k) for k in self.keys)

    def __str__(self) -> str:
        if self.hidden:
            return DERIVED
        if self.value is None or not np.isfinite(self.value):
            return ""
        suffix = "%" if self.scale == 100.0 else ""
        return f"{self.value * self.scale:.{self.digits}f}{suffix}"


class Lazy:
    """Text computed when displayed (after the disclosure registry is resolved)."""

    def __init__(self, fn):
        self.fn = fn

    def __str__(self) -> str:
        return str(self.fn())


class Joined(list):
    """Text assembled from strings and lazily formatted cells (Count, Rate)."""

    def __str__(self) -> str:
        return "".join(str(x) for x in self)


# ---------------------------------------------------------------------------------------
# Small formatting helpers and table views


def _isnan(x) -> bool:
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def _sci(x: float, digits: int) -> bool:
    """Whether ``x`` is printed in scientific notation: huge, or non-zero and lost to rounding."""
    a = abs(float(x))
    return a >= SCI_LARGE or (a > 0 and a < 0.5 * 10.0**-digits)


def fnum(x, digits: int = 3) -> str:
    """A number with ``digits`` decimals; '' for missing, '∞' for infinite; scientific notation
    ('1.7e+95', '3.2e-07') when huge or smaller than the last decimal (see :data:`SCI_LARGE`)."""
    if _isnan(x):
        return ""
    x = float(x)
    if np.isinf(x):
        return "∞" if x > 0 else "−∞"
    if _sci(x, digits):
        return f"{x:.1e}"
    return f"{x:.{digits}f}"


def implausible(*values, scale: str = "odds_ratio") -> bool:
    """Whether a point estimate is no estimate at all (the row is flagged, no verdict).

    Odds ratios: infinite, zero, or beyond :data:`MAX_PLAUSIBLE_OR` (or below its inverse),
    the mark of separation or a failed fit. Risk differences: beyond ±1. Missing values are
    not implausible (they are handled as missing)."""
    for v in values:
        if _isnan(v):
            continue
        v = float(v)
        if not np.isfinite(v):
            return True
        if scale == "odds_ratio" and not (1 / MAX_PLAUSIBLE_OR <= v <= MAX_PLAUSIBLE_OR):
            return True
        if scale != "odds_ratio" and abs(v) > 1:
            return True
    return False


def fp(p) -> str:
    """A p-value: '<0.001' or three decimals."""
    if _isnan(p):
        return ""
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def peq(p) -> str:
    """'p = 0.123' or 'p < 0.001'."""
    t = fp(p)
    return "p not available" if not t else (f"p {t[0]} {t[1:]}" if t.startswith("<") else f"p = {t}")


def fci(lo, hi, digits: int = 3) -> str:
    """An interval: '0.41–0.81', or '−0.010 to 0.050' when a bound is negative (a dash would read as minus)."""
    if _isnan(lo) or _isnan(hi):
        return ""
    a, b = fnum(lo, digits), fnum(hi, digits)
    if lo < 0 or hi < 0:
        return f"{_minus(a)} to {_minus(b)}"
    if "e" in a + b:  # scientific notation: a dash between '3.0e-05' and '1.7e+95' would mislead
        return f"{a} to {b}"
    return f"{a}–{b}"


def _minus(t: str) -> str:
    """A leading minus as the typographic one; an exponent's sign is left alone."""
    return "−" + t[1:] if t.startswith("-") else t


def th(text, scope: str = "col", colspan: int = 1, rowspan: int = 1, cls: str = "") -> dict:
    """A header cell (``scope``: col, row, colgroup, rowgroup)."""
    return {"th": True, "text": text, "scope": scope, "colspan": colspan, "rowspan": rowspan, "cls": cls}


def td(text, cls: str = "", colspan: int = 1, rowspan: int = 1, title: str = "") -> dict:
    """A data cell; ``cls`` 'num' right-aligns, 'count' marks a count (checked by the tests)."""
    return {"th": False, "text": text, "cls": cls, "colspan": colspan, "rowspan": rowspan, "title": title}


def table(
    caption: str, head: list[list[dict]], body: list[list[dict]], tid: str = "", note: str = ""
) -> dict:
    return {"caption": caption, "head": head, "body": body, "id": tid, "note": note, "notes": []}


def simple_head(*labels: str) -> list[list[dict]]:
    return [[th(x) for x in labels]]


def label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome.replace("_", " "))


def inside(value, lo, hi) -> bool | None:
    """Whether ``value`` lies in the closed interval [lo, hi]; None when either side is missing."""
    if _isnan(value) or _isnan(lo) or _isnan(hi):
        return None
    return bool(lo <= value <= hi)


def mark(flag: bool | None, yes: str = "yes", no: str = "no", missing: str = "–") -> dict:
    """The inside/outside mark: a symbol and a word (never colour alone)."""
    if flag is None:
        return td(missing, cls="mark-none")
    if flag:
        return td(f"✓ {yes}", cls="mark-in")
    return td(f"✗ {no}", cls="mark-out")


# ---------------------------------------------------------------------------------------
# Status of a result row and its verdict


def _get(r, key: str, default=None):
    """A field of a result row (a Series, a dict or a namedtuple); ``default`` when absent."""
    if isinstance(r, (pd.Series, dict)):
        return r.get(key, default)
    return getattr(r, key, default)


def note_text(r) -> str:
    """A result row's note ('' when missing)."""
    n = _get(r, "note")
    return "" if _isnan(n) else str(n)


def row_status(r) -> str:
    """The fit's status of a result row: 'ok', 'caveat' or 'not_estimable' (:data:`STATUSES`).

    A table without the ``status`` column (written before the fit gave one) reads 'ok'; an
    unknown value reads 'caveat' (its note is shown). Either way a row without an estimate,
    or whose note begins 'not estimable' (how the fit said so before the column existed),
    is 'not_estimable'.
    """
    st = _get(r, "status")
    st = "ok" if _isnan(st) or str(st).strip() == "" else str(st).strip().lower().replace(" ", "_")
    st = st.replace("-", "_")
    if st not in STATUSES:
        st = "caveat"
    if _isnan(_get(r, "estimate")) or note_text(r).lower().startswith("not estimable"):
        st = "not_estimable"
    return st


def status_reason(r) -> str:
    """Why a row is not estimable or carries a caveat, in words (the note; '' when none)."""
    note = note_text(r).strip()
    reason = re.sub(r"^not estimable\s*[:;,-]?\s*", "", note, flags=re.IGNORECASE)
    if not reason and row_status(r) == "not_estimable":
        return "no estimate" if note == "" else note
    return reason


def _int(x, default: int = 0) -> int:
    """An integer field of a result row (``default`` when missing: a row not estimable may lack it)."""
    return default if _isnan(x) else int(x)


def min_cell_events(r) -> int | None:
    """``min_cell_events`` of a result row; None when the column is missing or empty (unknown)."""
    v = _get(r, "min_cell_events")
    if _isnan(v):
        return None
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Verdict:
    """Whether a DiD row can say "reproduced" or "not reproduced", and if not, why.

    ``kind``: 'ok' (a verdict), 'not_estimable' (no numbers are shown), 'no_verdict'
    (numbers shown, no verdict); ``tags``: short reasons ('too few events', 'interval too
    wide', 'estimate implausible'); ``detail``: the reasons in a sentence (counts only
    as the rule's constant, so it is safe in real-data mode).
    """

    kind: str
    tags: tuple[str, ...] = ()
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    def text(self, redact=str) -> str:
        """``detail`` ready to show: the fit's reason (data, so through ``redact``) when not
        estimable; else the rule's own words (constants, no counts), as they are."""
        return redact(self.detail) if self.kind == "not_estimable" else self.detail

    @property
    def label(self) -> str:
        if self.kind == "not_estimable":
            return "not estimable"
        if self.kind == "ok":
            return ""
        return " and ".join(self.tags) + " for a verdict"


VERDICT_OK = Verdict("ok")


def interval_problem(lo, hi) -> str:
    """Why an odds-ratio interval says too little for a verdict ('' when it is informative).

    Uninformative: an end missing; unbounded (an end infinite, or a lower end of 0 or less);
    or ``hi / lo`` above :data:`MAX_CI_RATIO`.
    """
    if _isnan(lo) or _isnan(hi):
        return "no interval"
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0:
        return f"the interval is unbounded ({fci(lo, hi)})"
    ratio = hi / lo
    if not np.isfinite(ratio) or ratio > MAX_CI_RATIO:
        return (
            f"the interval's upper end is {fnum(ratio, 0)} times its lower end (more than {MAX_CI_RATIO:g})"
        )
    return ""


def verdict(r, lo=None, hi=None) -> Verdict:
    """The verdict of a result row (odds-ratio scale) judged on the interval ``lo``-``hi``
    (default: the row's own). The rules are in the module docstring and the report's text."""
    st = row_status(r)
    if st == "not_estimable":
        return Verdict("not_estimable", ("not estimable",), status_reason(r))
    lo = _get(r, "ci_low") if lo is None else lo
    hi = _get(r, "ci_high") if hi is None else hi
    tags, details = [], []
    m = min_cell_events(r)
    if m is not None and m < MIN_CELL_EVENTS:
        tags.append("too few events")
        details.append(
            f"a pilot/other × pre/post cell has fewer than {MIN_CELL_EVENTS} events or fewer than "
            f"{MIN_CELL_EVENTS} non-events"
        )
    problem = interval_problem(lo, hi)
    if problem:
        tags.append("interval too wide")
        details.append(problem)
    ends = [x for x in (lo, hi) if not _isnan(x) and np.isfinite(float(x)) and float(x) > 0]
    if implausible(_get(r, "estimate"), *ends):  # 0 and ∞ ends: unbounded, said above
        tags.append("estimate implausible")
        details.append(
            f"the estimate or an interval end lies beyond {MAX_PLAUSIBLE_OR:g} or below "
            f"{1 / MAX_PLAUSIBLE_OR:g} (separation or a failed fit)"
        )
    if not tags:
        return VERDICT_OK
    return Verdict("no_verdict", tuple(tags), "; ".join(details))


# ---------------------------------------------------------------------------------------
# Inputs


@dataclass
class ReportInputs:
    """Everything the report reads. Frames left empty are reported as not available."""

    results: pd.DataFrame
    rates: pd.DataFrame
    flow: pd.DataFrame
    event_study: pd.DataFrame = field(default_factory=pd.DataFrame)
    trends: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline: pd.DataFrame = field(default_factory=pd.DataFrame)
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    match_rates: pd.DataFrame = field(default_factory=pd.DataFrame)
    pairs: dict[str, pd.DataFrame] = field(default_factory=dict)
    effects: dict | None = None
    #: the validated area lookup (results/extract/areas.parquet: area_code, area_name, pilot,
    #: pilot_sub_area); empty: the report counts areas from the results alone, without names
    areas: pd.DataFrame = field(default_factory=pd.DataFrame)


AREA_COLUMNS = ["area_code", "area_name", "region", "pilot", "pilot_sub_area"]


def load_inputs(
    results: str | Path,
    rates: str | Path,
    flows: Sequence[str | Path],
    event_study: str | Path | None = None,
    trends: str | Path | None = None,
    baseline: str | Path | None = None,
    quality: str | Path | None = None,
    match_rates: str | Path | None = None,
    pairs: Sequence[str | Path] = (),
    effects: Sequence[str | Path] = (),
    areas: str | Path | None = None,
    extracts: Sequence[str | Path] = (),
) -> ReportInputs:
    """Read the report's inputs; ``pairs`` files are named pairs_<register>.parquet, ``effects`` is 0 or 1 JSON file.

    The area lookup is ``areas``, or else the file named ``areas.*`` among ``extracts`` (the
    validated extracts the rule already takes as inputs); only its area columns are read
    (the lookup holds no identifier, and area names are not personal data).
    """
    from pbr import io as pio
    from pbr.flow import concat_flows

    def opt(path):
        return pio.read_table(path) if path else pd.DataFrame()

    if areas is None:
        areas = next((p for p in extracts if Path(p).name.split(".")[0] == "areas"), None)
    area_table = opt(areas)
    area_table = area_table[[c for c in AREA_COLUMNS if c in area_table.columns]]

    return ReportInputs(
        results=pio.read_table(results),
        rates=pio.read_table(rates),
        flow=concat_flows(*[pio.read_table(p) for p in flows]),
        event_study=opt(event_study),
        trends=opt(trends),
        baseline=opt(baseline),
        quality=opt(quality),
        match_rates=opt(match_rates),
        pairs={Path(p).stem.removeprefix("pairs_"): pio.read_table(p) for p in pairs},
        effects=pio.read_json(effects[0]) if effects else None,
        areas=area_table,
    )


def _or_empty(df: pd.DataFrame | None) -> pd.DataFrame:
    return pd.DataFrame() if df is None else df


# ---------------------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    """A rendered figure: PNG bytes, alt text (what a reader who cannot see it needs) and caption."""

    png: bytes
    alt: str
    caption: str
    fid: str

    @property
    def b64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _style(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)


def _quarter_dates(start: str, quarters) -> pd.DatetimeIndex:
    base = pd.Timestamp(start)
    return pd.DatetimeIndex([base + pd.DateOffset(months=3 * int(q)) for q in quarters])


def forest_plot(rows: list[dict], headline: str) -> Figure:
    """Reproduced DiD ORs (headline interval thick, CRV1 thin) beside published ones and planted ones.

    Rows not estimable, or whose estimate lies outside :data:`FOREST_LIMITS`, are left out;
    intervals are cut at those limits (an arrow marks a cut end); a row without a verdict is
    labelled so (†).
    """
    est = [
        r
        for r in rows
        if r["verdict"].kind != "not_estimable"
        and not _isnan(r["estimate"])
        and FOREST_LIMITS[0] <= r["estimate"] <= FOREST_LIMITS[1]
    ]
    left_out = [r for r in rows if r not in est]
    ax_lo, ax_hi = FOREST_LIMITS

    def clip(lo, hi, y, color, lw):
        a, b = max(lo, ax_lo), min(hi, ax_hi)
        ax.plot([a, b], [y, y], color=color, lw=lw, solid_capstyle="butt")
        if lo < ax_lo:
            ax.plot(ax_lo, y, "<", color=color, ms=6)
        if hi > ax_hi:
            ax.plot(ax_hi, y, ">", color=color, ms=6)

    n = max(len(est), 1)
    fig, ax = plt.subplots(figsize=(8.5, 0.5 * n + 1.4))
    y = np.arange(len(est))[::-1].astype(float)
    seen = set()

    def lab(name: str) -> str | None:
        if name in seen:
            return None
        seen.add(name)
        return name

    for yi, r in zip(y, est, strict=True):
        lo, hi = r["ci_low"], r["ci_high"]
        if not _isnan(lo) and not _isnan(hi):
            clip(lo, hi, yi, BLUE, 3)
        ax.plot(r["estimate"], yi, "o", color=BLUE, ms=7, label=lab(f"reproduced OR, {headline} 95% CI"))
        if not _isnan(r["crv1_low"]) and not _isnan(r["crv1_high"]):
            clip(r["crv1_low"], r["crv1_high"], yi - 0.22, SKY, 1.5)
            ax.plot([], [], color=SKY, lw=1.5, label=lab("CRV1 95% CI"))
        if r["published"] is not None:
            if r["published_low"] is not None:
                ax.plot(
                    [r["published_low"], r["published_high"]],
                    [yi + 0.22, yi + 0.22],
                    color=VERMILLION,
                    lw=1.5,
                )
            ax.plot(
                r["published"],
                yi + 0.22,
                "D",
                color=VERMILLION,
                ms=6,
                label=lab("published OR and 95% CI"),
            )
        if r.get("planted") is not None:
            ax.plot(
                r["planted"], yi, "x", color=BLACK, ms=7, mew=1.5, label=lab("planted OR (synthetic truth)")
            )
    ax.axvline(1.0, color=GREY, lw=1, ls=":")
    ax.set_xscale("log")
    lo_x, hi_x = ax.get_xlim()
    nice = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100]
    ticks = [t for t in nice if lo_x <= t <= hi_x]
    if len(ticks) > 9:
        ticks = [t for t in ticks if t in (0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10, 100)]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks(y)
    ax.set_yticklabels(
        [f"{label(r['outcome_key'])} ({r['cohort']}){'' if r['verdict'].ok else ' †'}" for r in est],
        fontsize=9,
    )
    ax.set_ylim(-0.8, len(est) - 0.2)
    ax.set_xlabel("DiD odds ratio (pilot × post), log scale", fontsize=9)
    ax.grid(axis="x", alpha=0.3, which="both")
    _style(ax)
    if est:
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.6 / n), ncol=2, fontsize=8, frameon=False
        )
    parts = []
    for r in est:
        s = f"{label(r['outcome_key'])} ({r['cohort']}): reproduced {fnum(r['estimate'], 2)}"
        if not _isnan(r["ci_low"]):
            s += f" ({fci(r['ci_low'], r['ci_high'], 2)})"
        if r["published"] is not None:
            s += f", published {r['published']:.2f}"
        if not r["verdict"].ok:
            s += f", {r['verdict'].label}"
        parts.append(s)
    alt = (
        "Forest plot of difference-in-differences odds ratios on a log scale, one row per outcome "
        "and cohort, with a dotted line at 1. " + "; ".join(parts) + "."
    )
    if left_out:
        alt += " Left out: " + "; ".join(f"{label(r['outcome_key'])} ({r['cohort']})" for r in left_out) + "."
    caption = (
        f"Reproduced DiD odds ratios: dots with the {headline} 95% interval (thick blue), the CRV1 "
        "interval (thin light blue, below), published values (vermilion diamonds, with their interval, "
        "above)"
        + (" and the planted synthetic effect (black cross)" if any(r.get("planted") for r in est) else "")
        + f". Intervals beyond {ax_lo:g}–{ax_hi:g} are cut at the edge (arrow). † marks a row with too "
        "few events or too wide an interval for a verdict. Rows that could not be estimated, or whose "
        f"estimate lies outside {ax_lo:g}–{ax_hi:g}, are left out"
        + (
            ": " + ", ".join(f"{label(r['outcome_key'])} ({r['cohort']})" for r in left_out)
            if left_out
            else ""
        )
        + "."
    )
    return Figure(_png(fig), alt, caption, "fig-forest")


def trend_figure(trends: pd.DataFrame, cohort: str, outcomes: list[str], config: dict, disc: Disclosure):
    """Quarterly outcome rates, pilot vs other, one panel per outcome, line at the pilots' start."""
    t = trends[trends["cohort"] == cohort]
    outs = [o for o in outcomes if o in set(t["outcome"])]
    if not outs:
        return None
    ncol = min(3, len(outs))
    nrow = math.ceil(len(outs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.7 * nrow + 0.6), squeeze=False, sharex=True)
    start = pd.Timestamp(config["study"]["post_start"])
    hidden_points = 0
    for ax, o in zip(axes.flat, outs, strict=False):
        for g in GROUPS:
            s = t[(t["outcome"] == o) & (t["group"] == g)].sort_values("quarter")
            if s.empty:
                continue
            keep = ~(
                s["n"].map(disc.small) | s["events"].map(disc.small) | (s["n"] - s["events"]).map(disc.small)
            )
            hidden_points += int((~keep).sum())
            rate = (100 * s["rate"]).where(keep)
            x = _quarter_dates(config["study"]["pre_start"], s["quarter"]) + pd.DateOffset(days=45)
            st = GROUP_STYLE[g]
            ax.plot(
                x,
                rate,
                color=st["color"],
                marker=st["marker"],
                ls=st["linestyle"],
                ms=4,
                lw=1.5,
                label=st["label"],
            )
        ax.axvline(start, color=BLACK, lw=1, ls=":")
        ax.set_title(label(o), fontsize=9)
        ax.set_ylabel("%", fontsize=9)
        ax.tick_params(axis="x", labelrotation=45)
        _style(ax)
    for ax in list(axes.flat)[len(outs) :]:
        ax.set_visible(False)
    handles, labels_ = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="lower center", ncol=2, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.02)
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    alt = (
        f"Line charts, one per outcome ({', '.join(label(o) for o in outs)}), of the quarterly rate in "
        f"the {cohort} cohort for pilot areas (vermilion, solid, circles) and other areas (blue, dashed, "
        f"squares) from {config['study']['pre_start']} to {config['study']['post_end']}, with a dotted "
        f"vertical line at {config['study']['post_start']} when the pilots started."
    )
    caption = (
        f"{cohort.capitalize()} cohort: outcome rates by quarter of journey start, pilot vs other areas; "
        f"dotted line: pilots start ({config['study']['post_start']})."
    )
    if hidden_points:
        caption += f" {hidden_points} quarter(s) with a small count are not plotted (disclosure control)."
    return Figure(_png(fig), alt, caption, f"fig-trends-{cohort}")


def event_study_figure(es: pd.DataFrame, pretrend: dict, config: dict) -> Figure | None:
    """Event-study odds ratios by period bin (logit, CRV1), one panel per cohort x outcome."""
    es = es[es["method"] == "logit_crv1"] if not es.empty else es
    if es.empty:
        return None
    pairs = list(dict.fromkeys(zip(es["cohort"], es["outcome"], strict=True)))
    ncol = min(2, len(pairs))
    nrow = math.ceil(len(pairs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.0 * nrow + 0.5), squeeze=False)
    start = pd.Timestamp(config["study"]["post_start"])
    alts = []
    for ax, (c, o) in zip(axes.flat, pairs, strict=False):
        s = es[(es["cohort"] == c) & (es["outcome"] == o)].sort_values("bin")
        months = _MONTHS.get(str(s["bin_col"].iloc[0]), 6)
        x = pd.DatetimeIndex(
            [pd.Timestamp(b) + pd.DateOffset(days=round(30.4 * months / 2)) for b in s["bin_start"]]
        )
        ref = s["is_reference"].astype(bool).to_numpy()
        lo = (s["estimate"] - s["ci_low"]).to_numpy(dtype=float)
        hi = (s["ci_high"] - s["estimate"]).to_numpy(dtype=float)
        ax.errorbar(
            x[~ref],
            s["estimate"][~ref],
            yerr=[lo[~ref], hi[~ref]],
            fmt="o",
            color=BLUE,
            ecolor=BLUE,
            capsize=3,
            ms=5,
            label="pilot × period OR (95% CI, CRV1)",
        )
        ax.plot(x[ref], s["estimate"][ref], "o", mfc="white", mec=BLACK, ms=7, label="reference period")
        ax.axhline(1.0, color=GREY, lw=1, ls=":")
        ax.axvline(start, color=BLACK, lw=1, ls="--", label="pilots start")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.tick_params(axis="y", which="minor", labelsize=7)
        p = pretrend.get((c, o), {}).get("logit_crv1")
        ptxt = f"pre-trend {peq(p)}" if p is not None else "pre-trend test not available"
        ax.set_title(f"{label(o)} ({c}); {ptxt}", fontsize=9)
        ax.set_ylabel("odds ratio (log scale)", fontsize=9)
        ax.tick_params(axis="x", labelrotation=30)
        _style(ax)
        alts.append(
            f"{label(o)} ({c}): "
            + ", ".join(
                f"{pd.Timestamp(b):%b %Y} {fnum(e, 2)}"
                for b, e in zip(s["bin_start"], s["estimate"], strict=True)
            )
            + f"; {ptxt}"
        )
    for ax in list(axes.flat)[len(pairs) :]:
        ax.set_visible(False)
    handles, labels_ = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="lower center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.03)
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    bin_unit = str(es["bin_col"].iloc[0]).replace("_", "-")
    alt = (
        f"Event-study plots: odds ratio of pilot versus other areas in each {bin_unit} relative to the "
        "reference period (hollow circle, fixed at 1), log scale, dashed line at the pilots' start. "
        + "; ".join(alts)
        + "."
    )
    caption = (
        f"Event studies: pilot × {bin_unit} interactions in the logit (area and period fixed effects, "
        "covariates, CRV1 by area); the p-value in each title is the joint test that every pre-period "
        "coefficient is zero (a small p warns that the trends were not parallel before the pilots)."
    )
    return Figure(_png(fig), alt, caption, "fig-event-study")


def linkage_quality_figure(quality: pd.DataFrame, threshold: float) -> Figure | None:
    q = quality[quality["scope"] == "all"] if not quality.empty else quality
    if q.empty:
        return None
    regs = sorted(q["register"].unique())
    fig, axes = plt.subplots(1, len(regs), figsize=(4.6 * len(regs), 3.3), squeeze=False, sharey=True)
    styles = {"precision": (BLUE, "o", "-"), "recall": (VERMILLION, "s", "--"), "f1": (GREEN, "^", "-.")}
    alts = []
    for ax, reg in zip(axes.flat, regs, strict=True):
        p = q[(q["register"] == reg) & (q["method"] == "probabilistic")].sort_values("threshold")
        e = q[(q["register"] == reg) & (q["method"] == "exact_key")]
        for m, (col, mk, ls) in styles.items():
            ax.plot(p["threshold"], p[m], color=col, marker=mk, ls=ls, ms=4, label=f"{m} (probabilistic)")
            if not e.empty:
                ax.axhline(float(e[m].iloc[0]), color=col, ls=":", lw=1)
        ax.axvline(threshold, color=BLACK, lw=1, ls=":")
        ax.set_title(f"{reg}: dotted = exact key", fontsize=9)
        ax.set_xlabel("match probability threshold", fontsize=9)
        _style(ax)
        alts.append(
            f"{reg}: "
            + ", ".join(
                f"at {t:g} precision {pr:.3f} recall {rc:.3f}"
                for t, pr, rc in zip(p["threshold"], p["precision"], p["recall"], strict=True)
            )
        )
    axes.flat[0].set_ylabel("share", fontsize=9)
    handles, labels_ = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="lower center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.06)
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    alt = (
        "Line charts of linkage precision, recall and F1 against the match-probability threshold, one per "
        f"register, with the exact-key values as dotted horizontal lines and the chosen threshold {threshold:g} "
        "as a dotted vertical line. " + "; ".join(alts) + "."
    )
    caption = (
        "Linkage quality against the synthetic truth across thresholds (solid/dashed: probabilistic; "
        "dotted horizontal: exact key on initials, date of birth and sex; "
        f"dotted vertical: chosen threshold {threshold:g})."
    )
    return Figure(_png(fig), alt, caption, "fig-linkage-quality")


def match_weight_figure(pairs: dict[str, pd.DataFrame], threshold: float, disc: Disclosure) -> Figure | None:
    """Histograms of the finite match weights per register; None when there are none (deterministic
    linkage gives every pair an infinite weight)."""
    finite = {r: df["match_weight"].to_numpy(dtype=float) for r, df in pairs.items()}
    finite = {r: w[np.isfinite(w)] for r, w in finite.items()}
    regs = [r for r in sorted(finite) if len(finite[r])]
    if not regs:
        return None
    fig, axes = plt.subplots(1, len(regs), figsize=(4.6 * len(regs), 3.2), squeeze=False)
    w_t = math.log2(threshold / (1 - threshold)) if 0 < threshold < 1 else 0.0
    alts, hidden = [], 0
    for ax, reg in zip(axes.flat, regs, strict=True):
        w = finite[reg]
        counts, edges = np.histogram(w, bins=40)
        small = np.array([disc.small(c) for c in counts])
        hidden += int(small.sum())
        shown = np.where(small, 0, counts)
        ax.bar(edges[:-1], shown, width=np.diff(edges), align="edge", color=BLUE, edgecolor="white", lw=0.3)
        ax.axvline(w_t, color=VERMILLION, lw=1.5, ls="--", label=f"threshold p = {threshold:g}")
        ax.set_yscale("symlog", linthresh=10)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_title(f"{reg}: {len(w):,} candidate pairs" if not disc.active else reg, fontsize=9)
        ax.set_xlabel("match weight (log2 Bayes factor)", fontsize=9)
        ax.set_ylabel("pairs (symmetric log scale)", fontsize=9)
        ax.legend(fontsize=8, frameon=False)
        _style(ax)
        above = float((w >= w_t).mean()) if len(w) else float("nan")
        alts.append(
            f"{reg}: weights from {w.min():.1f} to {w.max():.1f}, {100 * above:.0f}% of pairs at or above the threshold"
        )
    fig.tight_layout()
    alt = (
        "Histograms of the match weight of candidate pairs, one per register, with the chosen threshold as a "
        "dashed vertical line. " + "; ".join(alts) + "."
    )
    caption = (
        "Match weights of candidate pairs (one-to-one best candidates per register record, probability "
        f">= linkage.min_probability); dashed line: the threshold p = {threshold:g}."
    )
    if hidden:
        caption += f" {hidden} bar(s) with a small count are not drawn (disclosure control)."
    return Figure(_png(fig), alt, caption, "fig-match-weights")


# ---------------------------------------------------------------------------------------
# Sections


def _journey_lookup(flow: pd.DataFrame) -> dict[tuple, int]:
    """Analysed journeys per (cohort, group, period), from the derive stage's kept rows."""
    if flow.empty:
        return {}
    k = flow[(flow["table"] == "journeys") & (flow["action"] == "kept") & flow["cohort"].notna()]
    return {
        (r.cohort, r.group, r.period): int(r.n)
        for r in k.itertuples()
        if not _isnan(r.group) and not _isnan(r.period)
    }


def _cell_key(journeys: dict[tuple, int], c: str, g: str, p: str, value: int, fallback: tuple) -> tuple:
    """The shared journeys key when a count equals the analysed journeys of that cell (one quantity, one key)."""
    return ("journeys", c, g, p) if journeys.get((c, g, p)) == int(value) else fallback


def flow_section(flow: pd.DataFrame, disc: Disclosure, cohort_order: Sequence[str] = ()) -> dict:
    """CONSORT-style diagram (spine of NDTMS episodes -> journeys, side chains of other extracts) and the table."""
    flow = flow.reset_index(drop=True)
    keys: list[Hashable] = [("flow_row", i) for i in range(len(flow))]
    last_kept: dict[str, Hashable] = {}
    steps = []
    for stage, tab in dict.fromkeys(zip(flow["stage"], flow["table"], strict=True)):
        g = flow[(flow["stage"] == stage) & (flow["table"] == tab)]
        unit = str(g["unit"].iloc[0])
        kept, dropped, flagged = (g[g["action"] == a] for a in ("kept", "dropped", "flagged"))
        kept_key = ("flow_kept", stage, tab)
        kept_total = int(kept["n"].sum())
        cohorts = []
        if tab == "journeys" and kept["cohort"].notna().any():
            cohort_keys = []
            for c, cg in kept.groupby("cohort", sort=False):
                cells = {}
                for i, r in cg.iterrows():
                    keys[i] = ("journeys", r["cohort"], r["group"], r["period"])
                    cells[(r["group"], r["period"])] = disc.count(keys[i], r["n"])
                ck = ("cohort_total", c)
                total = disc.count(ck, int(cg["n"].sum()))
                disc.relate(ck, [keys[i] for i in cg.index])
                cohort_keys.append(ck)
                cohorts.append({"cohort": c, "total": total, "cells": cells})
            for i in kept.index[kept["cohort"].isna()]:  # kept rows without a cohort, if any
                disc.count(keys[i], flow.at[i, "n"])
                cohort_keys.append(keys[i])
            disc.count(kept_key, kept_total)
            disc.relate(kept_key, cohort_keys)
        elif len(kept) == 1:
            keys[kept.index[0]] = kept_key
            disc.count(kept_key, kept_total)
        elif len(kept) > 1:
            for i in kept.index:
                disc.count(keys[i], flow.at[i, "n"])
            disc.count(kept_key, kept_total)
            disc.relate(kept_key, [keys[i] for i in kept.index])
        drops = []
        for reason, rg in dropped.groupby("reason", sort=False):
            rk = ("flow_drop", stage, tab, reason)
            if len(rg) == 1:
                keys[rg.index[0]] = rk
                drops.append((disc.redact(reason), disc.count(rk, int(rg["n"].iloc[0]))))
            else:
                for i in rg.index:
                    disc.count(keys[i], flow.at[i, "n"])
                drops.append((disc.redact(reason), disc.count(rk, int(rg["n"].sum()))))
                disc.relate(rk, [keys[i] for i in rg.index])
        flags = []
        for i, r in flagged.iterrows():
            flags.append((disc.redact(r["reason"]), disc.count(keys[i], r["n"])))
        chained = tab in last_kept
        incoming = drop_total = None
        if drops:
            if len(drops) == 1:
                drop_total = drops[0][1]
            else:
                dk = ("flow_drop_total", stage, tab)
                drop_total = disc.count(dk, sum(d[1].value for d in drops))
                disc.relate(dk, [d[1].key for d in drops])
            into = kept_total + drop_total.value
            if chained and disc.values[last_kept[tab]] == into:
                incoming = Count(disc, last_kept[tab])
            else:
                chained = False
                incoming = disc.count(("flow_in", stage, tab), into)
            disc.relate(incoming.key, [kept_key, drop_total.key] if not kept.empty else [drop_total.key])
        if not kept.empty:
            last_kept[tab] = kept_key
        kept_reason = (
            disc.redact("; ".join(dict.fromkeys(kept["reason"].astype(str)))) if not kept.empty else ""
        )
        steps.append(
            {
                "stage": stage,
                "table": tab,
                "table_label": TABLE_LABELS.get(tab, tab.replace("_", " ")),
                "unit": unit,
                "kept": Count(disc, kept_key) if not kept.empty else None,
                "kept_reason": kept_reason if tab != "journeys" else "journeys in a study cohort",
                "drops": drops,
                "drop_total": drop_total,
                "flags": flags,
                "incoming": incoming,
                "chained": chained,
                "cohorts": cohorts,
            }
        )
    order = {c: i for i, c in enumerate(cohort_order)}
    for s in steps:
        s["cohorts"].sort(key=lambda c: (order.get(c["cohort"], len(order)), c["cohort"]))
        s["flags"] = [(reason, n) for reason, n in s["flags"] if n.value != 0]  # zeros: in the table only
    spine = [s for s in steps if s["table"] in SPINE_TABLES]
    side: dict[str, list[dict]] = {}
    for s in steps:
        if s["table"] not in SPINE_TABLES:
            side.setdefault(s["table"], []).append(s)
    rows = []
    for i, r in flow.iterrows():
        rows.append(
            [
                td(disc.redact(r["stage"])),
                td(disc.redact(r["step"])),
                td(r["table"]),
                td(r["action"]),
                th(disc.redact(r["reason"]), scope="row"),
                td("" if _isnan(r["cohort"]) else r["cohort"]),
                td("" if _isnan(r["group"]) else r["group"]),
                td("" if _isnan(r["period"]) else r["period"]),
                td(
                    Joined([Count(disc, keys[i]) if keys[i] in disc.values else disc.count(keys[i], r["n"])]),
                    cls="num count",
                ),
                td(r["unit"]),
            ]
        )
    tbl = table(
        "Flow table: every record kept, dropped or flagged at every stage, with its reason",
        simple_head(
            "Stage", "Step", "Table", "Action", "Reason", "Cohort", "Group", "Period", "Count", "Unit"
        ),
        rows,
        tid="tbl-flow",
    )
    return {"spine": spine, "side": side, "table": tbl, "rows": flow, "keys": keys}


def rates_section(
    rates: pd.DataFrame, cohorts: list[str], outcomes: list[str], journeys: dict, disc: Disclosure
) -> dict:
    """2x2 rate tables per cohort (rate, events / journeys) with the unadjusted DiD OR and the published rates."""
    tables, compare = [], []
    cells_by = {}
    for c in cohorts:
        body = []
        for o in outcomes:
            sub = rates[(rates["cohort"] == c) & (rates["outcome"] == o)]
            if sub.empty:
                continue
            row = [th(label(o), scope="row")]
            rr = {}
            for g in GROUPS:
                for p in PERIODS:
                    s = sub[(sub["group"] == g) & (sub["period"] == p)]
                    if s.empty:
                        row.append(td("", cls="num"))
                        continue
                    n, ev = int(s["n"].iloc[0]), int(s["events"].iloc[0])
                    nk = _cell_key(journeys, c, g, p, n, ("denominator", c, o, g, p))
                    e, d, rate = disc.rate(("events", c, o, g, p), ev, nk, n)
                    rr[(g, p)] = rate
                    cells_by[(c, o, g, p)] = (e, d, rate)
                    row.append(td(Joined([rate, " (", e, " / ", d, ")"]), cls="num count-cell"))
            unadj = _unadjusted_or(rr)
            row.append(td(unadj, cls="num"))
            pub = PUBLISHED_RAW_RATES.get(o) if c == PUBLISHED_COHORT else None
            if pub:
                row.append(
                    td(
                        f"pilot {100 * pub[('pilot', 'pre')]:.0f}% → {100 * pub[('pilot', 'post')]:.0f}%; "
                        f"other {100 * pub[('other', 'pre')]:.0f}% → {100 * pub[('other', 'post')]:.0f}%"
                    )
                )
                row.append(td(fnum(PUBLISHED_UNADJUSTED_OR.get(o), 3), cls="num"))
                compare.append(
                    {"cohort": c, "outcome": o, "rates": rr, "published": pub, "unadjusted": unadj}
                )
            else:
                row += [td(""), td("")]
            body.append(row)
        if not body:
            continue
        head = [
            [th("Outcome", rowspan=2)]
            + [th(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS]
            + [
                th("Unadjusted DiD OR", rowspan=2),
                th("Published raw rates", rowspan=2),
                th("Published unadjusted OR", rowspan=2),
            ],
            [th(p) for _ in GROUPS for p in PERIODS],
        ]
        tables.append(
            table(
                f"{c.capitalize()} cohort: outcome rates by group and period, rate (events / journeys in the "
                "denominator)",
                head,
                body,
                tid=f"tbl-rates-{c}",
            )
        )
    return {"tables": tables, "compare": compare, "cells": cells_by}


def _unadjusted_or(rr: dict) -> Lazy:
    """odds(pilot post)/odds(pilot pre) over odds(other post)/odds(other pre); '' when undefined."""
    return Lazy(lambda: _unadjusted_or_text(rr))


def _unadjusted_or_text(rr: dict) -> str:
    if len(rr) < 4:
        return ""
    if any(r.hidden for r in rr.values()):
        return DERIVED
    v = {k: r.value for k, r in rr.items()}
    if any(not (0 < x < 1) for x in v.values()):
        return ""

    def odds(x):
        return x / (1 - x)

    val = (
        odds(v[("pilot", "post")])
        / odds(v[("pilot", "pre")])
        / (odds(v[("other", "post")]) / odds(v[("other", "pre")]))
    )
    return fnum(val, 3)


def _level_key(level: str) -> tuple:
    special = level in ("unknown", "no_top", "missing")
    m = re.match(r"^(\d+)", level)
    return (special, float(m.group(1)) if m else math.inf, level)


def baseline_section(
    baseline: pd.DataFrame, cohorts: list[str], journeys: dict, disc: Disclosure
) -> list[dict]:
    """Table 1: baseline characteristics by group x period, n (%), per cohort."""
    out = []
    if baseline.empty:
        return out
    for c in cohorts:
        b = baseline[baseline["cohort"] == c]
        if b.empty:
            continue
        totals = {}
        for (g, p), s in b.groupby(["group", "period"]):
            tot = int(s["total"].iloc[0])
            totals[(g, p)] = disc.count(_cell_key(journeys, c, g, p, tot, ("baseline_total", c, g, p)), tot)
        body = [
            [th("Journeys", scope="row", colspan=2)]
            + [td(totals.get((g, p), ""), cls="num count") for g in GROUPS for p in PERIODS]
        ]
        for var in dict.fromkeys(b["variable"]):
            v = b[b["variable"] == var]
            levels = sorted(dict.fromkeys(v["level"].astype(str)), key=_level_key)
            first = True
            parts_by_cell: dict[tuple, list] = {}
            for lev in levels:
                row = []
                if first:
                    row.append(th(var.replace("_", " "), scope="rowgroup", rowspan=len(levels)))
                    first = False
                row.append(th(lev.replace("_", " "), scope="row"))
                for g in GROUPS:
                    for p in PERIODS:
                        s = v[(v["group"] == g) & (v["period"] == p) & (v["level"].astype(str) == lev)]
                        if (g, p) not in totals:
                            row.append(td("", cls="num"))
                            continue
                        n = int(s["n"].iloc[0]) if not s.empty else 0
                        key = ("baseline", c, g, p, var, lev)
                        cnt = disc.count(key, n)
                        parts_by_cell.setdefault((g, p), []).append(key)
                        pct = Rate(
                            disc,
                            (key, totals[(g, p)].key),
                            n / totals[(g, p)].value if totals[(g, p)].value else float("nan"),
                        )
                        row.append(td(Joined([cnt, " (", pct, ")"]), cls="num count-cell"))
                body.append(row)
            for (g, p), ks in parts_by_cell.items():
                disc.relate(totals[(g, p)].key, ks)
        head = [
            [th("Characteristic", rowspan=2), th("Level", rowspan=2)]
            + [th(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS],
            [th(p) for _ in GROUPS for p in PERIODS],
        ]
        out.append(
            table(
                f"{c.capitalize()} cohort: baseline characteristics at journey start, n (%)",
                head,
                body,
                tid=f"tbl-baseline-{c}",
            )
        )
    return out


def linkage_section(inputs: ReportInputs, config: dict, journeys: dict, disc: Disclosure, real: bool) -> dict:
    thr = float(config["linkage"]["threshold"])
    mr = inputs.match_rates
    match_table = None
    if not mr.empty:
        body = []
        for (reg, c), sub in mr.groupby(["register", "cohort"], sort=True):
            row = [th(reg, scope="row"), td(c)]
            for g in GROUPS:
                for p in PERIODS:
                    s_ = sub[(sub["group"] == g) & (sub["period"] == p)]
                    if s_.empty:
                        row.append(td("", cls="num"))
                        continue
                    n, linked = int(s_["journeys"].iloc[0]), int(s_["linked"].iloc[0])
                    jk = _cell_key(journeys, c, g, p, n, ("link_journeys", c, g, p))
                    e, d, rate = disc.rate(("linked", reg, c, g, p), linked, jk, n)
                    row.append(td(Joined([rate, " (", e, " / ", d, ")"]), cls="num count-cell"))
            body.append(row)
        head = [
            [th("Register", rowspan=2), th("Cohort", rowspan=2)]
            + [th(f"{g.capitalize()} areas", scope="colgroup", colspan=2) for g in GROUPS],
            [th(p) for _ in GROUPS for p in PERIODS],
        ]
        match_table = table(
            f"Study journeys whose person links to each register at p ≥ {thr:g}: rate (linked / journeys)",
            head,
            body,
            tid="tbl-match-rates",
        )
    q = inputs.quality
    quality_table = threshold_table = scope_table = None
    if not q.empty and not real:
        qa = q[q["scope"] == "all"]
        at = qa[(qa["method"] == "exact_key") | np.isclose(qa["threshold"].astype(float).fillna(-1), thr)]
        body = []
        for r in at.sort_values(["register", "method"], ascending=[True, False]).itertuples():
            body.append(
                [
                    th(r.register, scope="row"),
                    td(f"probabilistic, p ≥ {thr:g}" if r.method == "probabilistic" else "exact key"),
                    td(f"{r.n_predicted:,}", cls="num"),
                    td(f"{r.n_true:,}", cls="num"),
                    td(f"{r.n_correct:,}", cls="num"),
                    td(fnum(r.precision), cls="num"),
                    td(fnum(r.recall), cls="num"),
                    td(fnum(r.f1), cls="num"),
                ]
            )
        quality_table = table(
            f"Linkage quality against the synthetic truth at the chosen threshold ({thr:g}), "
            "beside the exact-key match",
            simple_head("Register", "Method", "Links", "True pairs", "Correct", "Precision", "Recall", "F1"),
            body,
            tid="tbl-linkage-quality",
        )
        body = []
        for r in qa[qa["method"] == "probabilistic"].sort_values(["register", "threshold"]).itertuples():
            chosen = bool(np.isclose(r.threshold, thr))
            body.append(
                [
                    th(r.register, scope="row"),
                    td(f"{r.threshold:g}" + (" (chosen)" if chosen else ""), cls="num"),
                    td(f"{r.n_predicted:,}", cls="num"),
                    td(fnum(r.precision), cls="num"),
                    td(fnum(r.recall), cls="num"),
                    td(fnum(r.f1), cls="num"),
                ]
            )
        threshold_table = table(
            "Linkage quality across thresholds (probabilistic)",
            simple_head("Register", "Threshold", "Links", "Precision", "Recall", "F1"),
            body,
            tid="tbl-linkage-thresholds",
        )
        sc = q[
            (q["scope"] != "all")
            & ((q["method"] == "exact_key") | np.isclose(q["threshold"].astype(float).fillna(-1), thr))
        ]
        if not sc.empty:
            body = []
            for r in sc.sort_values(
                ["register", "scope", "method"], ascending=[True, True, False]
            ).itertuples():
                body.append(
                    [
                        th(r.register, scope="row"),
                        td(r.scope),
                        td("probabilistic" if r.method == "probabilistic" else "exact key"),
                        td(fnum(r.precision), cls="num"),
                        td(fnum(r.recall), cls="num"),
                        td(fnum(r.f1), cls="num"),
                    ]
                )
            scope_table = table(
                f"Linkage quality by cohort / group / period of the person's first study journey (threshold {thr:g})",
                simple_head("Register", "Cohort / group / period", "Method", "Precision", "Recall", "F1"),
                body,
                tid="tbl-linkage-scope",
            )
    return {
        "match_table": match_table,
        "quality_table": quality_table,
        "threshold_table": threshold_table,
        "scope_table": scope_table,
        "quality_fig": None if real else linkage_quality_figure(q, thr),
        "weights_fig": match_weight_figure(inputs.pairs, thr, disc),
        "threshold": thr,
    }


def _row(res: pd.DataFrame, c: str, o: str, spec: str, method: str) -> pd.Series | None:
    s = res[
        (res["cohort"] == c)
        & (res["outcome"] == o)
        & (res["specification"] == spec)
        & (res["method"] == method)
    ]
    return None if s.empty else s.iloc[0]


def planted_effects(effects: dict | None) -> dict[tuple[str, str], float]:
    """Planted DiD ORs of the synthetic truth, keyed (cohort, outcome)."""
    if not effects or not isinstance(effects.get("did_or"), dict):
        return {}
    out = {}
    for c, d in effects["did_or"].items():
        for k, v in (d or {}).items():
            if v is not None:
                out[(c, PLANTED_NAMES.get(k, k))] = float(v)
    return out


def did_rows(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], headline: str, planted: dict | None = None
) -> list[dict]:
    """One row per cohort x outcome: the logit OR with the headline and CRV1 intervals, beside published.

    ``inside``: the published OR lies in the headline interval (None: no published value,
    no interval, or no verdict); ``inside_crv1`` likewise for CRV1; ``includes_one``: the
    headline interval includes 1 (for findings published as not significant).
    ``verdict`` (:class:`Verdict`): whether the row can carry a verdict at all; every flag
    above is None unless it can (so nothing downstream can count a row that says nothing).
    ``status``/``status_reason`` come from the fit (the results' ``status`` column and note;
    'ok' when the column is missing), ``min_cell_events`` likewise (None when unknown).
    """
    planted = planted or {}
    rows = []
    for c in cohorts:
        for o in outcomes:
            crv = _row(results, c, o, "main", "logit_crv1")
            if crv is None:
                continue
            hl = _row(results, c, o, "main", headline) if headline != "logit_crv1" else crv
            usable = (
                hl is not None and not _isnan(hl["ci_low"]) and not _isnan(hl["ci_high"])
            ) and row_status(hl) != "not_estimable"
            used = headline if usable else "logit_crv1"
            hl = hl if used == headline else crv
            pub = (
                PUBLISHED_OR.get(o, (None, None, None, ""))
                if c == PUBLISHED_COHORT
                else (None, None, None, "")
            )
            value, lo, hi, source = pub
            status = row_status(crv)
            v = verdict(crv, hl["ci_low"], hl["ci_high"])
            crv1_ok = v.ok and not interval_problem(crv["ci_low"], crv["ci_high"])
            estimable = status != "not_estimable"

            def num(x, ok: bool = estimable) -> float:
                return float(x) if ok and not _isnan(x) else math.nan

            note = note_text(crv) if status != "not_estimable" else ""
            unbounded = used == headline and "unbounded" in note_text(hl)
            rows.append(
                {
                    "cohort": c,
                    "outcome_key": o,
                    "outcome": label(o),
                    "estimate": num(crv["estimate"]),
                    "method": used,
                    "ci_low": num(hl["ci_low"]),
                    "ci_high": num(hl["ci_high"]),
                    "p_value": num(hl["p_value"]),
                    "crv1_low": num(crv["ci_low"]),
                    "crv1_high": num(crv["ci_high"]),
                    "crv1_p": num(crv["p_value"]),
                    "n": _int(crv["n"]),
                    "n_clusters": _int(crv["n_clusters"]),
                    "n_treated": _int(crv["n_treated_clusters"]),
                    "published": value,
                    "published_low": lo,
                    "published_high": hi,
                    "published_source": source,
                    "not_significant": c == PUBLISHED_COHORT and o in PUBLISHED_NOT_SIGNIFICANT,
                    "status": status,
                    "status_reason": status_reason(crv) if status != "ok" else "",
                    "min_cell_events": min_cell_events(crv),
                    "verdict": v,
                    "inside": inside(value, hl["ci_low"], hl["ci_high"]) if v.ok else None,
                    "inside_crv1": inside(value, crv["ci_low"], crv["ci_high"]) if crv1_ok else None,
                    "includes_one": inside(1.0, hl["ci_low"], hl["ci_high"]) if v.ok else None,
                    "includes_one_crv1": inside(1.0, crv["ci_low"], crv["ci_high"]) if crv1_ok else None,
                    "planted": planted.get((c, o)),
                    "planted_inside": inside(planted.get((c, o)), hl["ci_low"], hl["ci_high"])
                    if v.ok
                    else None,
                    "note": "; ".join(
                        x
                        for x in (
                            note if status == "ok" else "",
                            "headline interval unbounded within the search range" if unbounded else "",
                        )
                        if x
                    ),
                }
            )
    return rows


def did_section(
    rows: list[dict],
    rates_cells: dict,
    headline: str,
    disc: Disclosure,
    real: bool,
    synthetic: bool,
    pilot_areas: int | None = None,
) -> dict:
    """The main DiD table view; notes become numbered footnotes (``tbl["notes"]``).

    A row not estimable shows no number: "not estimable", with the reason as a footnote and
    as the cell's title. A row without a verdict shows its numbers and, in the mark columns,
    "too few events / interval too wide for a verdict", with the reason as a footnote. Every
    note passes :meth:`Disclosure.redact`. ``pilot_areas``: the pilot areas of the run; a
    model that used fewer says so in its note.
    """
    body, notes = [], []
    for r in rows:
        nk = ("model_n", r["cohort"], r["outcome_key"])
        n = disc.count(nk, r["n"], priority=0)
        parts = [
            rates_cells[(r["cohort"], r["outcome_key"], g, p)][1].key
            for g in GROUPS
            for p in PERIODS
            if (r["cohort"], r["outcome_key"], g, p) in rates_cells
        ]
        if len(parts) == 4:
            # the journeys the model dropped (areas without variation, separation) = cells - model n
            excluded = sum(disc.values[k] for k in parts) - r["n"]
            if excluded >= 0:
                # treated as known (never printed): a reader who guesses it (often 0) must not
                # learn a suppressed cell, and a small one must not be learnt either
                ek = ("model_excluded", r["cohort"], r["outcome_key"])
                disc.count(ek, excluded)
                disc.balance(parts, [nk, ek])
        v = r["verdict"]
        if r["published"] is not None:
            pub = td(f"{r['published']:.2f} ({fci(r['published_low'], r['published_high'], 2)})", cls="num")
            m = mark(r["inside"], "inside", "outside")
            m_crv = mark(r["inside_crv1"], "inside", "outside")
        elif r["not_significant"]:
            pub = td("not significant")
            m = mark(r["includes_one"], "includes 1", "excludes 1")
            m_crv = mark(r["includes_one_crv1"], "includes 1", "excludes 1")
        else:
            pub = td(
                r["published_source"].removeprefix("Jones 2018 ") if r["cohort"] == PUBLISHED_COHORT else ""
            )
            m = mark(None)
            m_crv = mark(None)
        row_notes = []
        if v.kind == "not_estimable":
            reason = disc.redact(r["status_reason"] or v.detail)
            m = td("not estimable", cls="mark-none", title=reason)
            m_crv = td("not estimable", cls="mark-none", title=reason)
            row_notes.append(f"Not estimable: {reason}" if reason else "Not estimable")
        elif not v.ok:
            detail = v.text(disc.redact)
            if r["published"] is not None or r["not_significant"]:
                m = td(v.label, cls="mark-none no-verdict", title=detail)
                # the CRV1 mark: the same reasons, judged on the CRV1 interval
                tags = [t for t in v.tags if t != "interval too wide"]
                if interval_problem(r["crv1_low"], r["crv1_high"]):
                    tags.append("interval too wide")
                crv_label = (
                    " and ".join(tags) + " for a verdict"
                    if tags
                    else "no verdict: headline interval too wide"
                )
                m_crv = td(crv_label, cls="mark-none no-verdict", title=detail)
            row_notes.append(f"No verdict ({v.label}): {detail}")
        elif (r["published"] is not None or r["not_significant"]) and (
            problem := interval_problem(r["crv1_low"], r["crv1_high"])
        ):
            m_crv = td("interval too wide for a verdict", cls="mark-none no-verdict", title=problem)
        if r["status"] == "caveat" and r["status_reason"]:
            row_notes.append(f"Caveat: {disc.redact(r['status_reason'])}")
        if r["note"]:
            row_notes.append(disc.redact(r["note"]))
        if r["method"] != headline and v.kind != "not_estimable":
            row_notes.insert(
                0, f"{METHOD_LABELS.get(headline, headline)} interval not available: CRV1 shown in its place"
            )
        if pilot_areas and v.kind != "not_estimable" and r["n_treated"] < pilot_areas:
            row_notes.append(
                f"this model used {r['n_treated']} of the run's {pilot_areas} pilot areas (the others "
                "had no outcome variation)"
            )
        note = "; ".join(x for x in row_notes if x)
        ref = ""
        if note:
            notes.append(note)
            ref = str(len(notes))
        if v.kind == "not_estimable":
            title = disc.redact(r["status_reason"])
            numbers = [
                td("not estimable", cls="num not-estimable", title=title),
                td("", cls="num"),
                td("", cls="num"),
                td("", cls="num"),
                td("", cls="num"),
            ]
        else:
            flag = " flagged" if {"interval too wide", "estimate implausible"} & set(v.tags) else ""
            numbers = [
                td(fnum(r["estimate"]), cls="num" + flag),
                td(fci(r["ci_low"], r["ci_high"]), cls="num" + flag),
                td(fp(r["p_value"]), cls="num"),
                td(fci(r["crv1_low"], r["crv1_high"]), cls="num"),
                td(fp(r["crv1_p"]), cls="num"),
            ]
        row = [
            td(r["cohort"]),
            th(r["outcome"], scope="row"),
            *numbers,
            td(Joined([n]), cls="num count"),
            td(f"{r['n_clusters']} ({r['n_treated']})", cls="num"),
            pub,
            m,
            m_crv,
        ]
        if synthetic:
            row.append(td(fnum(r["planted"], 2), cls="num"))
        row.append(td(Markup(f'<a href="#tbl-did-note-{ref}">[{ref}]</a>') if ref else "", cls="note"))
        body.append(row)
    if not notes:
        body = [r[:-1] for r in body]
    hl = SHORT_LABELS.get(headline, headline)
    head = [
        [
            th("Cohort", rowspan=2),
            th("Outcome", rowspan=2),
            th("Reproduced OR", rowspan=2),
            th(f"Headline: {hl}", scope="colgroup", colspan=2),
            th("CRV1 (cluster-robust)", scope="colgroup", colspan=2),
            th("Journeys", rowspan=2),
            th("Areas (pilot)", rowspan=2),
            th("Published OR (95% CI), Jones 2018", rowspan=2),
            th("Published OR inside the reproduced 95% CI?", scope="colgroup", colspan=2),
        ]
        + ([th("Planted OR", rowspan=2)] if synthetic else [])
        + ([th("Note", rowspan=2)] if notes else []),
        [th("95% CI"), th("p"), th("95% CI"), th("p"), th("headline"), th("CRV1")],
    ]
    tbl = table(
        Markup("DiD odds ratios (pilot &times; post) by outcome and cohort"), head, body, tid="tbl-did"
    )
    tbl["notes"] = notes
    return tbl


def _remarks(r, redact, p_only: bool = False) -> list[str]:
    """Status and verdict remarks of one result row (not estimable, caveat, no verdict).

    Odds ratios are judged by :func:`verdict` (``p_only``: a method that gives a p-value and
    no interval, judged on its events and estimate); risk differences are flagged beyond ±1
    or with too few events; test statistics only by their status."""
    out = []
    st = row_status(r)
    if st == "not_estimable":
        reason = redact(status_reason(r))
        return [f"not estimable: {reason}" if reason else "not estimable"]
    if st == "caveat" and status_reason(r):
        out.append(f"caveat: {redact(status_reason(r))}")
    if "unbounded" in note_text(r):
        out.append("interval unbounded within the search range")
    scale = str(_get(r, "scale"))
    if scale == "odds_ratio":
        v = verdict(r, 1.0, 1.0) if p_only else verdict(r)
        if not v.ok:
            out.append(v.label)
    elif scale == "risk_difference":
        if implausible(_get(r, "estimate"), scale=scale):
            out.append("estimate implausible (beyond ±1)")
        m = min_cell_events(r)
        if m is not None and m < MIN_CELL_EVENTS:
            out.append("too few events for a verdict")
    return out


def inference_section(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], headline: str, redact=str
) -> list[dict]:
    """Per cohort: every inference method's estimate, interval and p for each outcome (main specification).

    A row not estimable shows no number; the remarks say why, and flag a row without a
    verdict (``redact``: how free text is made safe, :meth:`Disclosure.redact`)."""
    out = []
    main = results[results["specification"] == "main"]
    for c in cohorts:
        body = []
        for o in outcomes:
            s = main[(main["cohort"] == c) & (main["outcome"] == o)]
            if s.empty:
                continue
            methods = [m for m in METHOD_LABELS if m in set(s["method"])]
            for i, m in enumerate(methods):
                r = s[s["method"] == m].iloc[0]
                row = []
                if i == 0:
                    row.append(th(label(o), scope="rowgroup", rowspan=len(methods)))
                scale = "OR" if r["scale"] == "odds_ratio" else "risk difference"
                p_only = m.endswith(("_ri", "_ri_t")) and m.startswith("logit") and not _isnan(r["p_value"])
                flag = _remarks(r, redact, p_only and _isnan(r["ci_low"]))
                if m == headline:
                    flag.append("headline")
                if row_status(r) == "not_estimable":
                    numbers = [td("not estimable", cls="num"), td("", cls="num"), td("", cls="num")]
                else:
                    digits = 3 if scale == "OR" else 4
                    numbers = [
                        td(fnum(r["estimate"], digits), cls="num"),
                        td(fci(r["ci_low"], r["ci_high"], digits) or ("p only" if p_only else ""), cls="num"),
                        td(fp(r["p_value"]), cls="num"),
                    ]
                row += [th(METHOD_LABELS[m], scope="row"), td(scale), *numbers, td("; ".join(flag))]
                body.append(row)
        if body:
            out.append(
                table(
                    f"{c.capitalize()} cohort: inference compared, CRV1 vs wild cluster bootstrap vs randomisation "
                    "inference (p-values and 95% intervals)",
                    simple_head("Outcome", "Method", "Scale", "Estimate", "95% interval", "p", "Remarks"),
                    body,
                    tid=f"tbl-inference-{c}",
                )
            )
    return out


def pretrend_tests(results: pd.DataFrame) -> dict:
    """(cohort, outcome) -> {method: p} of the event-study joint pre-trend tests, plus the statistics."""
    out: dict = {}
    pre = results[results["specification"] == "event_study_pretrend"]
    for r in pre.itertuples():
        d = out.setdefault((r.cohort, r.outcome), {})
        d[r.method] = float(r.p_value)
        d[f"{r.method}_stat"] = (float(r.estimate), str(r.scale))
    return out


def robustness_section(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], config: dict, redact=str
) -> dict:
    """Placebo, leave-one-out range, Mason 2015 window, linkage thresholds, pre-trend tests.

    A check not estimable shows no number; a check without a verdict (:func:`verdict`) says
    so, and a Mason 2015 check without one is not counted (``mason`` entries carry ``verdict``).
    """
    body, mason_checks, pre_rows = [], [], []
    thr = float(config["linkage"]["threshold"])
    pt = pretrend_tests(results)
    for c in cohorts:
        for o in outcomes:
            s = results[(results["cohort"] == c) & (results["outcome"] == o)]
            specs = set(s["specification"])
            if specs <= {"main"}:
                continue
            checks = []
            main = _row(results, c, o, "main", "logit_crv1")
            if main is not None:
                checks.append(("Main (CRV1)", main, "", None))
            pre = pt.get((c, o))
            if pre:
                stat = pre.get("logit_crv1_stat")
                names = {"wald_chi2": "Wald χ²", "wald_F": "Wald F"}
                txt = "; ".join(
                    f"{'logit' if m.startswith('logit') else 'LPM'}: "
                    f"{names.get(pre[m + '_stat'][1], pre[m + '_stat'][1])} = "
                    f"{fnum(pre[m + '_stat'][0], 2)}, {peq(pre[m])}"
                    for m in ("logit_crv1", "lpm_crv1")
                    if m in pre
                )
                checks.append(("Event study: joint pre-trend test", None, txt, None))
                pre_rows.append(
                    {"cohort": c, "outcome": o, "text": txt, "p": pre.get("logit_crv1"), "stat": stat}
                )
            for spec in sorted(x for x in specs if x.startswith("placebo")):
                r = _row(results, c, o, spec, "logit_crv1")
                if r is not None:
                    checks.append(
                        (
                            f"Placebo start ({config['models']['robustness']['placebo_start']}, pre-period only)",
                            r,
                            "expect an OR near 1",
                            None,
                        )
                    )
            loo = s[s["specification"].str.startswith("leave_out_") & (s["method"] == "logit_crv1")]
            loo = loo[[row_status(x) != "not_estimable" for _, x in loo.iterrows()]]
            if not loo.empty:
                lo_r, hi_r = loo.loc[loo["estimate"].idxmin()], loo.loc[loo["estimate"].idxmax()]
                excl = int(((loo["ci_high"] < 1) | (loo["ci_low"] > 1)).sum())
                checks.append(
                    (
                        f"Leave one pilot area out ({len(loo)} fits)",
                        None,
                        f"OR from {fnum(lo_r['estimate'])} "
                        f"(without {lo_r['specification'].removeprefix('leave_out_')}) "
                        f"to {fnum(hi_r['estimate'])} "
                        f"(without {hi_r['specification'].removeprefix('leave_out_')}); "
                        f"CRV1 interval excludes 1 in {excl} of {len(loo)}",
                        None,
                    )
                )
            r = _row(results, c, o, "mason_2015", "logit_crv1")
            if r is not None:
                pub = PUBLISHED_MASON_2015.get(o) if c == PUBLISHED_COHORT else None
                v = verdict(r)
                flag = inside(pub[0], r["ci_low"], r["ci_high"]) if pub and v.ok else None
                txt = (
                    f"published (Mason 2015) {pub[0]:.3f} ({pub[1]:.3f}–{pub[2]:.3f})"
                    if pub
                    else "no published value"
                )
                checks.append(
                    (
                        f"Mason 2015 window ({config['models']['robustness']['mason_pre_start']} to "
                        f"{config['models']['robustness']['mason_post_end']})",
                        r,
                        txt,
                        flag,
                    )
                )
                if pub:
                    mason_checks.append(
                        {
                            "cohort": c,
                            "outcome": o,
                            "inside": flag,
                            "published": pub[0],
                            "estimate": float(r["estimate"]) if v.kind != "not_estimable" else math.nan,
                            "ci": (float(r["ci_low"]), float(r["ci_high"]))
                            if v.kind != "not_estimable"
                            else (math.nan, math.nan),
                            "verdict": v,
                            "reason": v.text(redact),
                        }
                    )
            for spec in sorted(x for x in specs if x.startswith("linkage_threshold_")):
                r = _row(results, c, o, spec, "logit_crv1")
                t = spec.removeprefix("linkage_threshold_")
                if r is not None:
                    checks.append((f"Linkage threshold {t} (main: {thr:g})", r, "", None))
            for i, (name, r, txt, flag) in enumerate(checks):
                row = []
                if i == 0:
                    row += [td(c, rowspan=len(checks)), th(label(o), scope="rowgroup", rowspan=len(checks))]
                shown = r is not None and row_status(r) != "not_estimable"
                remarks = _remarks(r, redact) if r is not None else []
                comment = "; ".join(x for x in (txt, *remarks) if x)
                no_verdict = (
                    r is not None
                    and name.startswith("Mason")
                    and c == PUBLISHED_COHORT
                    and o in PUBLISHED_MASON_2015
                    and not verdict(r).ok
                )
                row += [
                    th(name, scope="row"),
                    td(
                        fnum(r["estimate"]) if shown else ("not estimable" if r is not None else ""),
                        cls="num",
                    ),
                    td(fci(r["ci_low"], r["ci_high"]) if shown else "", cls="num"),
                    td(fp(r["p_value"]) if shown else "", cls="num"),
                    td(comment),
                    mark(flag, "published inside", "published outside")
                    if flag is not None
                    else td(verdict(r).label if no_verdict else "", cls="mark-none"),
                ]
                body.append(row)
    tbl = (
        table(
            "Robustness checks (logit DiD odds ratios, CRV1 95% intervals)",
            simple_head("Cohort", "Outcome", "Check", "OR", "95% CI", "p", "Comment", "Published"),
            body,
            tid="tbl-robustness",
        )
        if body
        else None
    )
    return {"table": tbl, "mason": mason_checks, "pretrend": pre_rows, "pt": pt}


def all_estimates_table(results: pd.DataFrame, real: bool, redact=str) -> dict:
    """Every result row; a row not estimable shows no number, and the remarks say why."""
    body = []
    for _, r in results.iterrows():
        shown = row_status(r) != "not_estimable"
        or_scale = r["scale"] == "odds_ratio"
        p_only = or_scale and _isnan(r["ci_low"]) and not _isnan(r["p_value"])
        remarks = _remarks(r, redact, p_only)
        row = [
            td(r["cohort"]),
            th(label(r["outcome"]), scope="row"),
            td(r["specification"]),
            td(r["method"]),
            td(str(r["scale"]).replace("_", " ")),
            td(fnum(r["estimate"], 4) if shown else "not estimable", cls="num"),
            td(fci(r["ci_low"], r["ci_high"], 4) if shown else "", cls="num"),
            td(fp(r["p_value"]) if shown else "", cls="num"),
        ]
        if not real:
            row += [td(f"{int(r['n']):,}", cls="num"), td(f"{int(r['events']):,}", cls="num")]
        row.append(td("; ".join(remarks)))
        body.append(row)
    cols = ["Cohort", "Outcome", "Specification", "Method", "Scale", "Estimate", "95% interval", "p"]
    if not real:
        cols += ["n", "Events"]
    cols.append("Remarks")
    return table(
        "Every model fitted: logistic (odds ratio) and linear probability (risk difference) models, all "
        "specifications and inference methods",
        simple_head(*cols),
        body,
        tid="tbl-all",
        note="Counts per model are not shown in real-data mode: differences between models could reveal small cells."
        if real
        else "",
    )


def _of(n_ok: int, n: int, n_all: int) -> str:
    """'3 of 4', or '3 of 4 assessed (of 6; 2 without a verdict, see below)'."""
    if n == n_all:
        return f"{n_ok} of {n}"
    return f"{n_ok} of {n} assessed (of {n_all}; {n_all - n} without a verdict, see below)"


def _tally(text: str, flags: list[bool], n_all: int, detail: str = "") -> dict:
    """A findings item counting ``flags`` (the rows that carry a verdict) out of ``n_all``."""
    if not flags:
        return {
            "text": f"{text}: none of the {n_all} could carry a verdict (see below)",
            "ok": None,
            "detail": "",
        }
    n_ok = sum(1 for f in flags if f)
    return {"text": f"{text}: {_of(n_ok, len(flags), n_all)}", "ok": n_ok == len(flags), "detail": detail}


def summary_findings(
    rows: list[dict],
    rates_cmp: list[dict],
    robustness: dict,
    headline: str,
    synthetic: bool,
    areas: dict | None = None,
    redact=str,
) -> list[dict]:
    """The list at the top: which published findings the run reproduced.

    Only rows that carry a verdict (``row["verdict"].ok``) are counted as reproduced, not
    reproduced or on the same side of 1; the rows not estimable and the rows without a
    verdict (too few events, interval too wide) are items of their own, with their reasons
    (``ok`` None: neither reproduced nor not). ``areas`` (:func:`area_summary`): a pilot set
    other than the published eight is an item too. ``redact``: :meth:`Disclosure.redact`.
    """
    out = []
    if areas and areas.get("warning"):
        out.append({"text": areas["finding"], "ok": False, "detail": "See the box above."})
    pub = [r for r in rows if r["published"] is not None]
    if pub:
        assessed = [r for r in pub if r["verdict"].ok]
        out.append(
            _tally(
                f"Published OR inside the reproduced 95% interval ({METHOD_LABELS.get(headline, headline)})",
                [bool(r["inside"]) for r in assessed],
                len(pub),
                "; ".join(
                    f"{r['outcome']} {'✓' if r['inside'] else '✗'} (published {r['published']:.2f}, reproduced "
                    f"{fnum(r['estimate'], 2)}, {fci(r['ci_low'], r['ci_high'], 2) or 'no interval'})"
                    for r in assessed
                ),
            )
        )
        out.append(
            _tally(
                "Published OR inside the CRV1 95% interval",
                [bool(r["inside_crv1"]) for r in pub if r["inside_crv1"] is not None],
                len(pub),
            )
        )
        out.append(
            _tally(
                "Reproduced OR on the same side of 1 as the published OR",
                [(r["estimate"] - 1) * (r["published"] - 1) > 0 for r in assessed],
                len(pub),
            )
        )
    ns = [r for r in rows if r["not_significant"]]
    if ns:
        assessed = [r for r in ns if r["verdict"].ok and r["includes_one"] is not None]
        out.append(
            _tally(
                "Findings published as not significant whose reproduced interval includes 1",
                [bool(r["includes_one"]) for r in assessed],
                len(ns),
                "; ".join(f"{r['outcome']} {'✓' if r['includes_one'] else '✗'}" for r in assessed),
            )
        )
    if robustness["mason"]:
        m = robustness["mason"]
        ok_m = [x for x in m if x.get("verdict", VERDICT_OK).ok]
        out.append(
            _tally(
                "Mason 2015 ORs inside the reproduced interval (FY2011-12 vs FY2012-13 window)",
                [bool(x["inside"]) for x in ok_m],
                len(m),
                "; ".join(
                    f"{label(x['outcome'])}: published {fnum(x['published'])}, reproduced {fnum(x['estimate'])} "
                    f"({fci(*x['ci'])})"
                    for x in ok_m
                ),
            )
        )
    for cmp in rates_cmp:
        pub_or = PUBLISHED_UNADJUSTED_OR.get(cmp["outcome"])
        diffs = []
        for (g, p), v in cmp["published"].items():
            rate = cmp["rates"].get((g, p))
            if rate is not None and not rate.hidden:
                diffs.append(abs(rate.value - v))
        if diffs:
            out.append(
                {
                    "text": f"Raw rates of {label(cmp['outcome']).lower()}: largest difference from the published "
                    f"rates {100 * max(diffs):.1f} percentage points; unadjusted DiD OR {cmp['unadjusted']} "
                    f"(published {pub_or})",
                    "ok": max(diffs) <= 0.02,
                    "detail": "",
                }
            )
    bad_pre = [x for x in robustness["pretrend"] if x["p"] is not None and x["p"] < 0.05]
    if robustness["pretrend"]:
        out.append(
            {
                "text": f"Event-study pre-trend tests with p < 0.05: {len(bad_pre)} of {len(robustness['pretrend'])}"
                + (
                    " (" + ", ".join(f"{label(x['outcome'])} ({x['cohort']})" for x in bad_pre) + ")"
                    if bad_pre
                    else ""
                ),
                "ok": not bad_pre,
                "detail": "",
            }
        )
    if synthetic:
        pl = [r for r in rows if r["planted"] is not None and r["planted_inside"] is not None]
        if pl:
            n_ok = sum(1 for r in pl if r["planted_inside"])
            out.append(
                {
                    "text": f"Synthetic check: planted OR inside the headline interval: {n_ok} of {len(pl)}",
                    "ok": n_ok == len(pl),
                    "detail": "",
                }
            )
    out += _unassessed(rows, robustness["mason"], redact)
    return out


def _unassessed(rows: list[dict], mason: list[dict], redact) -> list[dict]:
    """Findings items for the DiD rows not estimable and those without a verdict (with reasons)."""
    out = []
    ne = [r for r in rows if r["verdict"].kind == "not_estimable"]
    if ne:
        out.append(
            {
                "text": f"Not estimable (not counted above): {len(ne)} of {len(rows)} DiD models",
                "ok": None,
                "detail": "; ".join(
                    f"{r['outcome']} ({r['cohort']}): "
                    + (redact(r["status_reason"] or r["verdict"].detail) or "no estimate")
                    for r in ne
                ),
            }
        )
    nv = [r for r in rows if r["verdict"].kind == "no_verdict"]
    nv_m = [x for x in mason if not x.get("verdict", VERDICT_OK).ok]
    if nv or nv_m:
        parts = [
            f"{r['outcome']} ({r['cohort']}): {r['verdict'].label} ({r['verdict'].text(redact)})" for r in nv
        ]
        parts += [
            f"{label(x['outcome'])}, Mason 2015 window: {x['verdict'].label} ({x.get('reason', '')})"
            for x in nv_m
        ]
        out.append(
            {
                "text": "Too few events or interval too wide for a verdict (not counted above): "
                f"{len(nv)} of {len(rows)} DiD models"
                + (f" and {len(nv_m)} Mason 2015 check(s)" if nv_m else ""),
                "ok": None,
                "detail": "; ".join(parts),
            }
        )
    return out


# ---------------------------------------------------------------------------------------
# The areas analysed


def _norm_name(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\s*\(.*\)\s*$", "", str(name))).strip().casefold()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def area_summary(results: pd.DataFrame, areas: pd.DataFrame, flow: pd.DataFrame, config: dict) -> dict:
    """The pilot and comparison areas this run analysed, beside the published study's eight.

    Counts: the most pilot (``n_treated_clusters``) and comparison (``n_clusters`` minus
    those) areas in any main logit model, i.e. the areas present in the analysed data; else
    the area lookup; else (comparison areas) the extract's "areas kept" flow row minus the
    pilots. Names: the lookup's pilot areas (``area_name``; a sub-area that alone piloted is
    named when the partial-pilot rule splits the area). ``warning`` is set when the analysed
    pilot set is not the published eight (another number, or other names).
    """
    pilot_m = comparison_m = None
    if not results.empty and {"n_treated_clusters", "n_clusters"} <= set(results.columns):
        main = results[(results["specification"] == "main") & (results["method"] == "logit_crv1")]
        main = (
            main[[row_status(r) != "not_estimable" for _, r in main.iterrows()]] if not main.empty else main
        )
        if not main.empty and main["n_treated_clusters"].notna().any():
            pilot_m = int(main["n_treated_clusters"].max())
            comparison_m = int((main["n_clusters"] - main["n_treated_clusters"]).max())
    names: list[str] = []
    lookup_pilot = lookup_other = None
    if not areas.empty and "pilot" in areas.columns:
        is_pilot = areas["pilot"].astype("boolean").fillna(False).astype(bool)
        lookup_pilot, lookup_other = int(is_pilot.sum()), int((~is_pilot).sum())
        split = config.get("study", {}).get("partial_pilot_rule", "whole_area_pilot") != "whole_area_pilot"
        for _, a in areas[is_pilot].iterrows():
            name = a.get("area_name")
            name = str(a["area_code"]) if _isnan(name) or not str(name).strip() else str(name).strip()
            sub = a.get("pilot_sub_area")
            if split and not _isnan(sub) and str(sub).strip():
                name += f" ({str(sub).replace('_', ' ').title()} only)"
            names.append(name)
        names.sort(key=str.casefold)
    elif not flow.empty and lookup_other is None:
        kept = flow[(flow["table"] == "areas") & (flow["action"] == "kept")]
        if not kept.empty and pilot_m is not None:
            lookup_other = int(kept["n"].sum()) - pilot_m
    pilot = pilot_m if pilot_m is not None else lookup_pilot
    comparison = comparison_m if comparison_m is not None else lookup_other
    published = list(PUBLISHED_PILOT_AREAS)
    n_pub = len(published)
    got = {_norm_name(x) for x in names}
    want = {_norm_name(x): x for x in published}
    missing = [want[k] for k in want if names and k not in got]
    extra = [x for x in names if _norm_name(x) not in want]
    differs = (pilot is not None and pilot != n_pub) or (lookup_pilot is not None and lookup_pilot != n_pub)
    differs = differs or bool(missing or extra)
    warning = finding = None
    if differs:
        n = pilot if pilot is not None else lookup_pilot
        warning = (
            f"This run analysed {_plural(n, 'pilot area')}; the published study had eight: "
            f"{', '.join(published)}."
        )
        if names:
            warning += f" Pilot areas in this run's area lookup: {', '.join(names)}."
        if missing:
            warning += f" Not among them: {', '.join(missing)}."
        if extra:
            warning += f" Not in the published study: {', '.join(extra)}."
        if lookup_pilot is not None and pilot_m is not None and lookup_pilot != pilot_m:
            warning += (
                f" The area lookup lists {_plural(lookup_pilot, 'pilot area')}, the models found "
                f"{pilot_m} with analysable journeys."
            )
        if n == 1:
            warning += (
                " With a single pilot area the difference-in-differences rests on one area: "
                "cluster-robust and bootstrap intervals cannot be trusted."
            )
        warning += " The comparison with the published odds ratios below is not like for like."
        finding = f"Pilot areas: this run analysed {n}, the published study eight"
    phrase = "a few pilot areas" if pilot is None else _plural(pilot, "pilot area")
    if pilot is None:
        description = "the number of pilot areas could not be determined"
    else:
        description = phrase + (f" ({', '.join(names)})" if names else "")
    if comparison is not None:
        description += f" and {_plural(comparison, 'comparison area')}"
    return {
        "pilot": pilot,
        "comparison": comparison,
        "names": names,
        "lookup_pilot": lookup_pilot,
        "published": published,
        "published_count": "eight" if n_pub == 8 else str(n_pub),
        "missing": missing,
        "extra": extra,
        "differs": differs,
        "warning": warning,
        "finding": finding,
        "pilot_phrase": phrase,
        "description": description,
    }


# ---------------------------------------------------------------------------------------
# Methods text, generated from the config


def outcome_definitions(config: dict) -> dict[str, str]:
    o = config["outcomes"]
    t = o["top"]
    top = (
        f"start TOP on days 0–{t['start_max_days']}, review TOP on days {t['review_min_days']}–"
        f"{t['review_max_days']} closest to day {t['review_target_days']}"
    )
    sc = o["successful_completion"]
    rp = o["representation"]["window_days"]
    return {
        "treatment_initiation": f"Among journeys with a triage: a structured intervention started within "
        f"{o['treatment_initiation']['max_days']} days of triage.",
        "waiting_over_3_weeks": f"Among journeys in which an intervention started: more than "
        f"{o['waiting_over_3_weeks']['threshold_days']} days from referral to the first intervention.",
        "successful_completion": f"The journey ends with discharge code {', '.join(map(str, sc['discharge_codes']))} "
        f"on days 0–{sc['window_days']}. Denominator: all journeys.",
        "completion_without_representation": f"Successfully completed and no new journey within {rp} days of "
        "discharge. Denominator: all journeys.",
        "representation": f"Among completers: a new journey within {rp} days of discharge.",
        "abstinence": f"Among journeys with a start TOP and a review TOP ({top}): zero days of use of every "
        "problem substance in the 28 days before the review.",
        "non_injecting": "Among journeys injecting at the start TOP, with a review TOP: zero days injected at review.",
        "housing_problem": "An acute housing problem at the review TOP, among journeys with start and review TOPs"
        + (" and a problem at the start." if o["housing_problem"]["among_start_problem"] else "."),
        "drug_related_death": f"A linked ONS death with underlying cause "
        f"{', '.join(o['drug_related_death']['icd10_prefixes'])} dated (by date of death) on days "
        f"0–{o['drug_related_death']['window_days']} after the journey start. Denominator: all journeys.",
        "acquisitive_crime": f"A linked proven offence in {', '.join(o['acquisitive_crime']['offence_groups'])} "
        f"dated (by offence date) on days 0–{o['acquisitive_crime']['window_days']}. Denominator: all journeys.",
        "declined_to_continue": f"The journey ends with discharge code "
        f"{', '.join(map(str, o['declined_to_continue']['discharge_codes']))} within "
        f"{o['declined_to_continue']['window_days']} days (Mason 2015). Denominator: all journeys.",
    }


def model_formula(config: dict) -> str:
    m = config["models"]
    unit = config["study"]["period_unit"].replace("_", "-")
    cov = " + ".join(m["covariates"])
    return f"logit P(Y = 1) = area FE + {unit} FE + β · (pilot × post) + {cov};  DiD OR = exp(β)"


# ---------------------------------------------------------------------------------------
# Provenance


def package_versions() -> dict[str, str]:
    """Installed versions of the packages the numbers depend on."""
    out = {}
    for p in VERSIONED_PACKAGES:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def git_commit(repo: Path) -> str:
    """The checked-out commit (with '+dirty' if tracked files changed), or 'unknown'."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---------------------------------------------------------------------------------------
# Rendering


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fnum
    env.filters["ucfirst"] = lambda t: str(t)[:1].upper() + str(t)[1:]
    env.filters["p"] = fp
    return env


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if x is None or (isinstance(x, float) and math.isnan(x)) else x for x in r])
    return buf.getvalue()


def did_csv(rows: list[dict], disc: Disclosure) -> str:
    header = [
        "cohort",
        "outcome",
        "estimate",
        "headline_method",
        "ci_low",
        "ci_high",
        "p_value",
        "crv1_ci_low",
        "crv1_ci_high",
        "crv1_p_value",
        "journeys",
        "areas",
        "pilot_areas",
        "published_or",
        "published_ci_low",
        "published_ci_high",
        "published_source",
        "published_inside_headline_ci",
        "published_inside_crv1_ci",
        "status",
        "min_cell_events",
        "verdict",
        "verdict_reason",
        "note",
    ]
    out = []
    for r in rows:
        v = r["verdict"]
        m = r["min_cell_events"]
        if m is not None and disc.active:  # a count: shown only against the rule's constant
            m = f"<{MIN_CELL_EVENTS}" if m < MIN_CELL_EVENTS else f"≥{MIN_CELL_EVENTS}"
        reason = r["status_reason"] if v.kind == "not_estimable" else v.detail
        caveat = r["status_reason"] if r["status"] == "caveat" else ""
        out.append(
            [
                r["cohort"],
                r["outcome_key"],
                r["estimate"],
                r["method"],
                r["ci_low"],
                r["ci_high"],
                r["p_value"],
                r["crv1_low"],
                r["crv1_high"],
                r["crv1_p"],
                disc.text(("model_n", r["cohort"], r["outcome_key"])),
                r["n_clusters"],
                r["n_treated"],
                r["published"],
                r["published_low"],
                r["published_high"],
                r["published_source"],
                r["inside"],
                r["inside_crv1"],
                r["status"],
                m,
                {"ok": "assessed", "not_estimable": "not estimable"}.get(v.kind, v.label),
                disc.redact(reason) if v.kind == "not_estimable" else reason,
                disc.redact("; ".join(x for x in (caveat, r["note"]) if x)),
            ]
        )
    return _csv_text(header, out)


def flow_csv(flow_sec: dict, disc: Disclosure) -> str:
    f = flow_sec["rows"]
    cols = ["stage", "step", "table", "unit", "action", "reason", "cohort", "group", "period"]
    rows = [
        [*("" if _isnan(f.at[i, c]) else disc.redact(f.at[i, c]) for c in cols), disc.text(k)]
        for i, k in enumerate(flow_sec["keys"])
    ]
    return _csv_text([*cols, "n"], rows)


def source_section(fp: dict | None, disc: Disclosure) -> dict | None:
    """What the run analysed, from the validation's fingerprint: a one-line summary and one row
    per table (file, bytes, SHA-256; or rows and row checksum for a database). No credentials:
    the fingerprint holds the database URL without them. Row counts of whole tables are shown,
    except (real data) one below the small-cell threshold."""
    if not fp:
        return None
    from pbr.source import describe

    def rows_text(n: int) -> str:
        return f"<{disc.threshold}" if disc.active and 0 < n < disc.threshold else f"{n:,}"

    rows = []
    for name, t in sorted(fp.get("tables", {}).items()):
        if "sha256" in t:
            rows.append([name, Path(t["path"]).name, f"{t['bytes']:,} bytes", t["sha256"]])
        else:
            rows.append([name, "database table", f"{rows_text(t['rows'])} rows", t["checksum"]])
    summary = describe(fp)
    if fp["kind"] == "database":
        total = sum(t["rows"] for t in fp["tables"].values())
        summary = summary.replace(f"{total:,} rows", f"{rows_text(total)} rows")
    return {"summary": summary, "rows": rows}


def render_report(
    inputs: ReportInputs,
    config: dict,
    config_hash: str,
    input_checksums: dict[str, str],
    out_path: str | Path,
    run_date: str | None = None,
    extra_outputs: dict[str, str | Path] | None = None,
    data_source: dict | None = None,
) -> Path:
    """Render ``report/report.html.j2`` to ``out_path`` (one self-contained file).

    ``data_source`` is the fingerprint of what validation read (results/extract/source.json,
    :func:`pbr.source.read_fingerprint`): shown in the header and the provenance section.

    ``extra_outputs`` may name files for Snakemake's report: ``forest_png``, ``did_csv``,
    ``event_study_png``, ``trends_png``, ``flow_csv`` (each written when named).
    """
    real = config["data"]["source"] == "real"
    synthetic = not real
    k = int(config["report"]["small_cell_threshold"])
    cohorts = list(config["study"]["cohorts"])
    outcomes = list(config["models"]["outcomes"])
    headline = config["models"].get("headline_method", "logit_score_wcb")
    disc = Disclosure(k, active=real)
    results = inputs.results
    rates = _or_empty(inputs.rates)
    flow = _or_empty(inputs.flow)

    journeys = _journey_lookup(flow)
    flow_sec = flow_section(flow, disc, cohorts) if not flow.empty else None
    rates_sec = (
        rates_section(rates, cohorts, outcomes, journeys, disc)
        if not rates.empty
        else {"tables": [], "compare": [], "cells": {}}
    )
    baseline_tables = baseline_section(_or_empty(inputs.baseline), cohorts, journeys, disc)
    linkage = linkage_section(inputs, config, journeys, disc, real)
    planted = planted_effects(inputs.effects) if synthetic else {}
    areas = area_summary(results, _or_empty(inputs.areas), flow, config)
    rows = did_rows(results, cohorts, outcomes, headline, planted)
    did_tbl = did_section(rows, rates_sec["cells"], headline, disc, real, synthetic, areas["pilot"])
    disc.resolve()

    robustness = robustness_section(results, cohorts, outcomes, config, disc.redact)
    figures = {
        "forest": forest_plot(rows, METHOD_LABELS.get(headline, headline).lower()),
        "event_study": event_study_figure(_or_empty(inputs.event_study), robustness["pt"], config),
        "trends": [
            f
            for c in cohorts
            if (f := trend_figure(_or_empty(inputs.trends), c, outcomes, config, disc)) is not None
        ]
        if not _or_empty(inputs.trends).empty
        else [],
    }
    found = {c["cohort"]: c["total"] for s in (flow_sec["spine"] if flow_sec else []) for c in s["cohorts"]}
    analysed = [
        {"cohort": c, "total": found[c]} for c in [*cohorts, *sorted(set(found) - set(cohorts))] if c in found
    ]
    commit = git_commit(TEMPLATE_DIR.parent)
    env = _env()
    html_text = env.get_template("report.html.j2").render(
        title=config["report"]["title"],
        config=config,
        config_yaml=yaml.safe_dump(config, sort_keys=False, width=100, allow_unicode=True),
        config_hash=config_hash,
        real=real,
        synthetic=synthetic,
        threshold=k,
        markers={"small": SMALL.format(k=k), "complement": COMPLEMENT, "derived": DERIVED},
        headline=headline,
        headline_label=METHOD_LABELS.get(headline, headline),
        findings=summary_findings(
            rows, rates_sec["compare"], robustness, headline, synthetic, areas=areas, redact=disc.redact
        ),
        areas=areas,
        rules={
            "min_cell_events": MIN_CELL_EVENTS,
            "max_ci_ratio": f"{MAX_CI_RATIO:g}",
            "max_or": f"{MAX_PLAUSIBLE_OR:g}",
            "min_or": f"{1 / MAX_PLAUSIBLE_OR:g}",
            "sci_large": f"{SCI_LARGE:.0e}".replace("e+0", "e"),
        },
        analysed=analysed,
        published_journeys=PUBLISHED_JOURNEYS,
        did_table=did_tbl,
        did_rows=rows,
        figures=figures,
        inference_tables=inference_section(results, cohorts, outcomes, headline, disc.redact),
        robustness=robustness,
        all_table=all_estimates_table(results, real, disc.redact),
        rates_tables=rates_sec["tables"],
        baseline_tables=baseline_tables,
        linkage=linkage,
        flow=flow_sec,
        definitions=outcome_definitions(config),
        formula=model_formula(config),
        labels=OUTCOME_LABELS,
        method_labels=METHOD_LABELS,
        versions=package_versions(),
        commit=commit,
        checksums=input_checksums,
        source=source_section(data_source, disc),
        run_date=run_date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    # everything is rendered before anything is written: an error leaves no report behind
    out_path = Path(out_path)
    files = {out_path: html_text.encode("utf-8")}
    extra = {k_: Path(v) for k_, v in (extra_outputs or {}).items() if v}
    if "forest_png" in extra:
        files[extra["forest_png"]] = figures["forest"].png
    if "did_csv" in extra:
        files[extra["did_csv"]] = did_csv(rows, disc).encode()
    if "event_study_png" in extra:
        fig = figures["event_study"] or _placeholder("No event study was configured for this run.")
        files[extra["event_study_png"]] = fig.png
    if "trends_png" in extra:
        pngs = [f.png for f in figures["trends"]] or [_placeholder("No trend data.").png]
        files[extra["trends_png"]] = _stack_pngs(pngs)
    if "flow_csv" in extra:
        files[extra["flow_csv"]] = flow_csv(flow_sec, disc).encode() if flow_sec else b""
    for path, data in files.items():
        write_bytes(data, path)
    log.info("report written to %s (%d bytes)", out_path, len(html_text))
    return out_path


def _stack_pngs(pngs: list[bytes]) -> bytes:
    """Several PNGs one above the other, as one PNG (the per-cohort trend figures for Snakemake's report)."""
    if len(pngs) == 1:
        return pngs[0]
    from PIL import Image

    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
    out = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)), "white")
    y = 0
    for im in images:
        out.paste(im, (0, y))
        y += im.height
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


def _placeholder(text: str) -> Figure:
    fig, ax = plt.subplots(figsize=(5, 1))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.axis("off")
    return Figure(_png(fig), text, text, "fig-placeholder")
