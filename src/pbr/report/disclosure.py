"""Disclosure control: the registry of the counts a report shows, and their suppression.

In real-data mode (``data.source: real``) every count shown is a *cell* registered with a
:class:`Disclosure`, together with the additive relations between cells that a reader could
use (a total and its parts, a denominator and its events, the same count shown in two
tables). :func:`protect` then suppresses every count from 1 to ``threshold - 1`` (primary
suppression, shown as ``<threshold``) and, until no relation gives a suppressed cell away,
one more cell in each relation that would (complementary suppression, shown as ``[c]``).
Rates and percentages computed from a suppressed count are suppressed too (``[s]``). Counts
that a reader could only use by differencing two models (events and counts of every model
fitted, the rows dropped by a model) are not shown in real-data mode. Counts inside free
text (a model's note, a flow reason) pass one function, :func:`redact_counts`: in real-data
mode a count there is shown only as ``<threshold`` (1 to threshold - 1) or ``>=threshold``,
never as its value.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pbr.report.cells import isnan

log = logging.getLogger(__name__)

SMALL = "<{k}"
COMPLEMENT = "[c]"
DERIVED = "[s]"
LARGE = "≥{k}"


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
        events_count = self.count(events_key, events)
        n_count = self.count(n_key, n)
        non_events_key = ("non_events", events_key)
        self.count(non_events_key, int(n) - int(events), shown=False)
        self.relate(n_key, [events_key, non_events_key])
        value = events / n if n else float("nan")
        return events_count, n_count, Rate(self, (events_key, n_key), value, scale, digits)

    def resolve(self) -> None:
        """Decide what to suppress (nothing when inactive)."""
        self.status = (
            protect(self.values, [], self.threshold, self.shown, self.priority, self.balances, self.forced)
            if self.active
            else {}
        )

    def suppressed(self, key: Hashable) -> bool:
        """Whether the count ``key`` is suppressed (only once :meth:`resolve` has run)."""
        if self.status is None:
            raise RuntimeError("Disclosure.resolve() must run before anything is displayed")
        return key in self.status

    def text(self, key: Hashable) -> str:
        """The count ``key`` as shown: its value, or the marker of its suppression."""
        if self.suppressed(key):
            assert self.status is not None  # suppressed() raised otherwise
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
    text = "" if isnan(text) else str(text)
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
        """Whether the count is suppressed."""
        return self.disclosure.suppressed(self.key)

    @property
    def value(self) -> int:
        """The registered value (never shown when hidden)."""
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
        """Whether any count the rate is computed from is suppressed."""
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
