"""The fit's status of a result row, and whether a DiD row can carry a verdict.

A DiD row counts as reproduced or not reproduced only when it can carry a verdict
(:func:`verdict`): a row the fit marks ``not_estimable`` (the results' ``status`` column; a
missing column means "ok") is never printed as numbers; a row whose smallest group x period
cell has fewer than :data:`MIN_CELL_EVENTS` events or non-events (``min_cell_events``;
unknown when the column is missing), or whose interval is uninformative (an end missing,
infinite or zero, ``ci_high / ci_low`` above :data:`MAX_CI_RATIO`, or a value beyond
:data:`MAX_PLAUSIBLE_OR` either way), is printed but marked "no verdict" and left out of
every count in the findings box.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pbr.fit.spec import STATUSES
from pbr.registry.methods import p_floor
from pbr.report.cells import format_interval, format_number, isnan

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


def result_row(res: pd.DataFrame, c: str, o: str, spec: str, method: str) -> pd.Series | None:
    """The row of ``res`` for cohort ``c``, outcome ``o``, ``spec`` and ``method``; None when absent."""
    s = res[
        (res["cohort"] == c)
        & (res["outcome"] == o)
        & (res["specification"] == spec)
        & (res["method"] == method)
    ]
    return None if s.empty else s.iloc[0]


def row_field(r, key: str, default=None):
    """A field of a result row (a Series, a dict or a namedtuple); ``default`` when absent."""
    if isinstance(r, (pd.Series, dict)):
        return r.get(key, default)
    return getattr(r, key, default)


def note_text(r) -> str:
    """A result row's note ('' when missing)."""
    n = row_field(r, "note")
    return "" if isnan(n) else str(n)


def row_status(r) -> str:
    """The fit's status of a result row: 'ok', 'caveat' or 'not_estimable' (:data:`STATUSES`).

    A table without the ``status`` column (written before the fit gave one) reads 'ok'; an
    unknown value reads 'caveat' (its note is shown). Either way a row without an estimate,
    or whose note begins 'not estimable' (how the fit said so before the column existed),
    is 'not_estimable'.
    """
    st = row_field(r, "status")
    st = "ok" if isnan(st) or str(st).strip() == "" else str(st).strip().lower().replace(" ", "_")
    st = st.replace("-", "_")
    if st not in STATUSES:
        st = "caveat"
    if isnan(row_field(r, "estimate")) or note_text(r).lower().startswith("not estimable"):
        st = "not_estimable"
    return st


def status_reason(r) -> str:
    """Why a row is not estimable or carries a caveat, in words (the note; '' when none)."""
    note = note_text(r).strip()
    reason = re.sub(r"^not estimable\s*[:;,-]?\s*", "", note, flags=re.IGNORECASE)
    if not reason and row_status(r) == "not_estimable":
        return "no estimate" if note == "" else note
    return reason


def min_cell_events(r) -> int | None:
    """``min_cell_events`` of a result row; None when the column is missing or empty (unknown)."""
    v = row_field(r, "min_cell_events")
    if isnan(v):
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
        """Whether the row carries a verdict."""
        return self.kind == "ok"

    def text(self, redact=str) -> str:
        """``detail`` ready to show: the fit's reason (data, so through ``redact``) when not
        estimable; else the rule's own words (constants, no counts), as they are."""
        return redact(self.detail) if self.kind == "not_estimable" else self.detail

    @property
    def label(self) -> str:
        """The short reason shown in a mark column: 'not estimable', '' with a verdict, else the
        tags ('too few events and interval too wide for a verdict')."""
        if self.kind == "not_estimable":
            return "not estimable"
        if self.kind == "ok":
            return ""
        return " and ".join(self.tags) + " for a verdict"


VERDICT_OK = Verdict("ok")


def implausible(*values, scale: str = "odds_ratio") -> bool:
    """Whether a point estimate is no estimate at all (the row is flagged, no verdict).

    Odds ratios: infinite, zero, or beyond :data:`MAX_PLAUSIBLE_OR` (or below its inverse),
    the mark of separation or a failed fit. Risk differences: beyond ±1. Missing values are
    not implausible (they are handled as missing)."""
    for v in values:
        if isnan(v):
            continue
        v = float(v)
        if not np.isfinite(v):
            return True
        if scale == "odds_ratio" and not (1 / MAX_PLAUSIBLE_OR <= v <= MAX_PLAUSIBLE_OR):
            return True
        if scale != "odds_ratio" and abs(v) > 1:
            return True
    return False


def interval_problem(lo, hi) -> str:
    """Why an odds-ratio interval says too little for a verdict ('' when it is informative).

    Uninformative: an end missing; unbounded (an end infinite, or a lower end of 0 or less);
    or ``hi / lo`` above :data:`MAX_CI_RATIO`.
    """
    if isnan(lo) or isnan(hi):
        return "no interval"
    lo, hi = float(lo), float(hi)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo <= 0:
        return f"the interval is unbounded ({format_interval(lo, hi)})"
    ratio = hi / lo
    if not np.isfinite(ratio) or ratio > MAX_CI_RATIO:
        return f"the interval's upper end is {format_number(ratio, 0)} times its lower end (more than {MAX_CI_RATIO:g})"
    return ""


def verdict(r, lo=None, hi=None) -> Verdict:
    """The verdict of a result row (odds-ratio scale) judged on the interval ``lo``-``hi``
    (default: the row's own). The rules are in the module docstring and the report's text."""
    st = row_status(r)
    if st == "not_estimable":
        return Verdict("not_estimable", ("not estimable",), status_reason(r))
    lo = row_field(r, "ci_low") if lo is None else lo
    hi = row_field(r, "ci_high") if hi is None else hi
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
    ends = [x for x in (lo, hi) if not isnan(x) and np.isfinite(float(x)) and float(x) > 0]
    if implausible(row_field(r, "estimate"), *ends):  # 0 and ∞ ends: unbounded, said above
        tags.append("estimate implausible")
        details.append(
            f"the estimate or an interval end lies beyond {MAX_PLAUSIBLE_OR:g} or below "
            f"{1 / MAX_PLAUSIBLE_OR:g} (separation or a failed fit)"
        )
    if not tags:
        return VERDICT_OK
    return Verdict("no_verdict", tuple(tags), "; ".join(details))


# ---------------------------------------------------------------------------------------
# Which method decides a check's verdict (issue #20: a stated rule, from the simulation study)

#: The scenario label of a simulation-study row giving a method's worst scenario (the one where
#: it rejects a true null most often; :mod:`pbr.simstudy.sizes` writes it).
WORST_SCENARIO = "simulation study, the scenario rejecting most"


def lead_methods(
    sizes: pd.DataFrame | None, check: str, candidates: tuple[str, ...], default: str, alpha: float
) -> tuple[str, ...]:
    """``candidates`` (methods that may decide ``check``'s verdict, run for the check) in the
    order the report's stated rule gives them: those the simulation study measured first, by how
    near ``alpha`` their worst scenario (rows :data:`WORST_SCENARIO` of the measured sizes: where
    the method rejects a true null most often) rejects, ``default`` first on a tie; then the
    unmeasured, ``default`` first. The first decides; where its test cannot be computed or cannot
    reach ``alpha`` for an outcome, the next (:func:`pbr.report.estimates.pretrend_tests`)."""
    rank = {m: i for i, m in enumerate(sorted(candidates, key=lambda m: m != default))}
    gap: dict[str, float] = {}
    if sizes is not None and not sizes.empty:
        worst = sizes[
            (sizes["check"] == check)
            & sizes["method"].isin(candidates)
            & sizes["scenario"].astype(str).str.startswith(WORST_SCENARIO)
        ]
        gap = {
            str(m): abs(float(r) - alpha)
            for m, r in zip(worst["method"], worst["rejection_rate"], strict=True)
        }
    return tuple(sorted(rank, key=lambda m: (m not in gap, gap.get(m, 0.0), rank[m])))


def lead_method(
    sizes: pd.DataFrame | None, check: str, candidates: tuple[str, ...], default: str, alpha: float
) -> str:
    """The method that decides ``check``'s verdict by the stated rule (:func:`lead_methods`' first):
    the candidate whose worst simulation scenario rejects nearest ``alpha``; ``default`` when the
    study measured none of them or on a tie."""
    return lead_methods(sizes, check, candidates, default, alpha)[0]


def row_p_floor(r) -> float:
    """The smallest p-value a result row's test can give (:func:`pbr.registry.methods.p_floor`,
    set by its numbers of pilot areas and areas); 0 when the row does not say them."""
    q, g = row_field(r, "n_treated_clusters"), row_field(r, "n_clusters")
    if q is None or g is None or pd.isna(q) or pd.isna(g):
        return 0.0
    return p_floor(str(row_field(r, "method")), int(g), int(q))


def reaches_level(r, alpha: float) -> bool:
    """Whether a result row's test can reject at ``alpha`` at all: its :func:`row_p_floor` is at
    most ``alpha``."""
    return row_p_floor(r) <= alpha
