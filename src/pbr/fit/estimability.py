"""Estimability: the checks every result row goes through, before and after its fit.

Every result row (of :mod:`pbr.fit.models`, :mod:`pbr.fit.inference`, :mod:`pbr.fit.event_study`
and :mod:`pbr.fit.robustness`) carries a ``status`` -- ``ok``, ``caveat`` or ``not_estimable``
-- with the reason in words in ``note`` whenever it is not ``ok``, and
``min_cell_events``: over the four cells pilot / other areas x pre / post period of the
model's rows, the smallest of min(events, non-events). Not-estimable rows carry no numbers.

- :func:`estimability`, before fitting, on the model frame: no rows; no control areas;
  fewer than 2 pilot areas with journeys both before and after the start (cluster-robust
  and few-cluster inference need at least 2; with none the DiD term is not identified); no
  pre or no post period; an empty group x period cell (no comparison: the DiD term is
  collinear with the fixed effects); a group x period cell whose outcome is all 0 or all 1
  (quasi-separation of the DiD term: the logit's MLE is infinite, so not estimable; the
  linear model's risk difference exists, so a caveat); fewer than :data:`SPARSE_CELL`
  events or non-events in a cell (a caveat: sparse-data bias, unstable intervals).
- :func:`fit_check`, after fitting: no finite estimate or standard error; a DiD log odds
  ratio beyond +-:data:`MAX_LOG_OR` (separation the cell checks missed: the IRLS runs off
  towards infinity; pyfixest stops near 18, the exact and statsmodels engines near 29); pilot post-period
  journeys fitted at probability 0 or 1 (|log odds| > :data:`MAX_ETA`); a risk difference
  outside [-1, 1]; and, as caveats, logit IRLS not converged (with nothing else wrong),
  other journeys fitted at probability 0 or 1 (separation among the nuisance terms), an
  interval beyond the possible range (risk difference) or beyond odds ratios 1e-6..1e6
  (or unbounded).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pbr.fit.counts import freq_of
from pbr.fit.frame import post_indicator

#: |log odds ratio| of the DiD (or an event-study term) beyond which the logit is taken to have
#: diverged (separation): OR outside [4.5e-5, 22026], far beyond any credible effect of a
#: service change. Separated fits stop further out (pyfixest near 18, the exact engine near 29).
MAX_LOG_OR = 10.0
#: |linear predictor| beyond which a journey counts as fitted at probability 0 or 1 (p < 1e-13):
#: no finite logit gets there on these outcomes; a separated one does.
MAX_ETA = 30.0
#: Fewer events (or non-events) than this in a group x period cell: a caveat (sparse data).
SPARSE_CELL = 5
#: Odds-ratio interval ends outside [1 / ..., ...]: a caveat (the data say next to nothing).
MAX_OR_INTERVAL = 1e6


@dataclass(frozen=True)
class Estimability:
    """Verdict on a model before fitting (:func:`estimability`) or after (:func:`fit_check`).

    Unpacks as ``status, reason, min_cell_events = estimability(...)``.
    """

    status: str  # one of STATUSES
    reason: str  # in words, '' when ok: "not estimable: ...[; caveat: ...]" or "caveat: ..."
    min_cell_events: int = -1  # from estimability(); -1 from fit_check (not counted there)
    fatal: tuple[str, ...] = ()  # the problems that make it not estimable
    caveats: tuple[str, ...] = ()  # the problems that leave a usable estimate

    def __iter__(self):
        return iter((self.status, self.reason, self.min_cell_events))


def _check_family(family: str) -> None:
    if family not in ("logit", "linear"):
        raise ValueError(f"family must be 'logit' or 'linear', not {family!r}")


def verdict(
    fatal: Sequence[str] = (), caveats: Sequence[str] = (), min_cell_events: int = -1
) -> Estimability:
    """The :class:`Estimability` of these problems: not estimable with any ``fatal`` one, else a
    caveat with any ``caveats``, else ok; the reason lists them (duplicates once)."""
    fatal, caveats = tuple(dict.fromkeys(fatal)), tuple(dict.fromkeys(caveats))
    parts = (["not estimable: " + "; ".join(fatal)] if fatal else []) + (
        ["caveat: " + "; ".join(caveats)] if caveats else []
    )
    status = "not_estimable" if fatal else ("caveat" if caveats else "ok")
    return Estimability(status, "; ".join(parts), min_cell_events, fatal, caveats)


def merge(*checks: Estimability) -> tuple[str, str]:
    """(worst status, reason) of several verdicts on one row: all their problems in one reason."""
    v = verdict([x for c in checks for x in c.fatal], [x for c in checks for x in c.caveats])
    return v.status, v.reason


def _period_words(post_from: pd.Timestamp | None) -> tuple[str, str, str]:
    """How to say (pre period, post period, both) in a reason."""
    if post_from is None:
        return "in the pre period", "in the post period", "both in the pre and in the post period"
    return f"before {post_from:%B %Y}", f"from {post_from:%B %Y}", f"both before and from {post_from:%B %Y}"


def estimability(
    mf: pd.DataFrame,
    outcome: str,
    family: str = "logit",
    post_from: pd.Timestamp | None = None,
    min_pilot_areas: int = 2,
) -> Estimability:
    """Can the DiD of this model frame (after :func:`pbr.fit.frame.drop_uninformative`) be estimated at all?

    Checks, before any fit: rows left; control areas; at least 2 pilot areas with journeys
    both before and after the start; pre and post periods; and the four cells pilot /
    control areas x pre / post: none empty (else no comparison), none with the outcome all
    0 or all 1 (quasi-separation of the DiD term: not estimable for the logit, a caveat for
    the linear model) and, as a caveat, none with fewer than :data:`SPARSE_CELL` events or
    non-events. ``post`` is the frame's column (else derived as
    :func:`pbr.fit.frame.post_indicator` does); ``post_from`` (:func:`pbr.fit.frame.post_start`)
    only words the reasons. ``min_pilot_areas=1`` accepts a single pilot area (a per-pilot
    DiD, :mod:`pbr.fit.pilots`, which gives no cluster-robust interval). Returns the status,
    the reason and ``min_cell_events`` (the cells' smallest min(events, non-events)).
    """
    _check_family(family)
    if not len(mf):
        return verdict(
            [
                "no journeys left in the model (none in the outcome's denominator, or none in an area, "
                "period and covariate level with outcome variation)"
            ],
            [],
            0,
        )
    pilot = mf["pilot"].fillna(False).astype(bool).to_numpy()
    if "post" in mf.columns:
        post = mf["post"].to_numpy(dtype=float) > 0
    else:
        post = post_indicator(mf, "period_fe").to_numpy() > 0
    cells = group_period_cells(mf[outcome].to_numpy(dtype=float), pilot, post, post_from, freq_of(mf))
    min_cell = min(min(e, k - e) for _, k, e in cells)
    fatal = _design_problems(mf, pilot, post, post_from, min_pilot_areas)
    caveats: list[str] = []
    if not fatal:
        fatal, caveats = _cell_problems(cells, family)
    return verdict(fatal, caveats, min_cell)


def group_period_cells(
    y: np.ndarray,
    pilot: np.ndarray,
    post: np.ndarray,
    post_from: pd.Timestamp | None = None,
    freq: np.ndarray | None = None,
) -> list[tuple[str, int, int]]:
    """(label, journeys, events) of the four cells pilot / control areas x post / pre period
    (``freq``: the journeys each row stands for, 1 each by default)."""
    before, after, _ = _period_words(post_from)
    f = np.ones(len(y)) if freq is None else freq
    cells = []
    for in_pilot, group in ((True, "pilot areas"), (False, "control areas")):
        for in_post, when in ((True, after), (False, before)):
            m = (pilot == in_pilot) & (post == in_post)
            cells.append((f"the {group} {when}", round(float(f[m].sum())), round(float((f * y)[m].sum()))))
    return cells


def _design_problems(
    mf: pd.DataFrame,
    pilot: np.ndarray,
    post: np.ndarray,
    post_from: pd.Timestamp | None,
    min_pilot_areas: int = 2,
) -> list[str]:
    """What leaves the DiD term without identification: no control or pilot areas, no pre or
    post period, fewer than ``min_pilot_areas`` (at most 2) pilot areas observed in both periods."""
    before, after, both_periods = _period_words(post_from)
    fatal: list[str] = []
    if pilot.all():
        fatal.append("no control areas (every area left in the model is a pilot area)")
    if not pilot.any():
        fatal.append("no pilot areas left in the model")
    if not post.any():
        fatal.append(f"no post period (no journeys {after})")
    if post.all():
        fatal.append(f"no pre period (no journeys {before})")
    if pilot.any() and post.any() and not post.all():
        periods = pd.Series(post[pilot]).groupby(mf["area_code"].to_numpy()[pilot]).nunique()
        both = sorted(periods.index[periods == 2])
        if not both:
            fatal.append(f"no pilot area has journeys {both_periods}: the DiD term is not identified")
        elif len(both) == 1 and min_pilot_areas > 1:
            fatal.append(
                f"a single treated area ({both[0]} is the only pilot area with journeys {both_periods}): "
                "cluster-robust and few-cluster inference need at least 2"
            )
    return fatal


def _cell_problems(cells: list[tuple[str, int, int]], family: str) -> tuple[list[str], list[str]]:
    """(fatal, caveats) of the group x period cells: empty, without outcome variation, sparse."""
    fatal: list[str] = []
    caveats: list[str] = []
    for label, k, e in cells:
        if k == 0:
            fatal.append(
                f"no journeys in {label}: nothing to compare the pilot areas' change with "
                "(the DiD term is collinear with the fixed effects)"
            )
        elif e in (0, k):
            what = "no events" if e == 0 else "every journey an event"
            text = f"{what} in {label} ({e} of {k} journeys): quasi-separation of the DiD term"
            if family == "logit":
                fatal.append(text)
            else:
                caveats.append(
                    f"{text} (the logit is not estimable; the risk difference rests on a cell without "
                    "outcome variation)"
                )
    label, k, e = min(cells, key=lambda c: min(c[2], c[1] - c[2]))
    if not fatal and 0 < min(e, k - e) < SPARSE_CELL:
        what = f"{e} event(s)" if e <= k - e else f"{k - e} journey(s) without the event"
        caveats.append(
            f"sparse data: only {what} among the {k} journeys in {label} (the sparsest group x period "
            "cell): estimates and intervals from so few are unstable"
        )
    return fatal, caveats


def fit_check(
    family: str,
    beta: float,
    se: float | None = None,
    *,
    lo: float | None = None,
    hi: float | None = None,
    converged: bool = True,
    eta: np.ndarray | None = None,
    did: np.ndarray | None = None,
    collinear: bool = False,
    term: str = "the DiD term",
) -> Estimability:
    """Did the fit of ``term`` (coefficient ``beta``, standard error ``se``, interval ``lo``-``hi``
    on the coefficient scale) give a usable number? Never raises, never exponentiates.

    Not estimable: ``term`` collinear with the fixed effects; no finite estimate (or, when
    ``se`` is given, no finite positive standard error); for the logit, |beta| >
    :data:`MAX_LOG_OR`, pilot post-period journeys (``did`` rows) with a linear predictor
    ``eta`` beyond :data:`MAX_ETA`, or IRLS not converged on top of another of these; for
    the linear model, a risk difference outside [-1, 1]. Caveats: other journeys fitted at
    probability 0 or 1 (separation among the nuisance terms, which leaves ``term`` at its
    limit), IRLS not converged alone, and an interval beyond odds ratios 1e-6..1e6 or beyond
    the range [-1, 1] of a risk difference.
    """
    _check_family(family)
    fatal: list[str] = []
    caveats: list[str] = []
    if collinear:
        fatal.append(
            f"{term} is collinear with the fixed effects: the pilot areas' change cannot be told apart "
            "from area and period effects"
        )
        return verdict(fatal, caveats)
    if not np.isfinite(beta):
        fatal.append(f"the fit gave no finite estimate of {term}")
    elif se is not None and not (np.isfinite(se) and se > 0):
        fatal.append(f"no finite standard error for {term} (too few journeys or areas for the parameters)")
    logit = family == "logit"
    if logit and np.isfinite(beta) and abs(beta) > MAX_LOG_OR:
        fatal.append(
            f"{term} ran to a log odds ratio of {beta:.1f} (beyond +-{MAX_LOG_OR:g}): the logit diverges "
            "(separation)"
        )
    if logit and eta is not None:
        extreme = np.abs(eta) > MAX_ETA
        on_did = int(extreme[did > 0].sum()) if did is not None and len(did) == len(eta) else 0
        if on_did:
            fatal.append(
                f"{on_did} pilot post-period journeys fitted at probability 0 or 1: quasi-separation of "
                f"{term}"
            )
        elif extreme.any() and not fatal:
            caveats.append(
                f"{int(extreme.sum())} journeys fitted at probability 0 or 1 (quasi-separation among the fixed "
                f"effects or covariates; {term} is estimated at its limit)"
            )
    if logit and not converged:
        (fatal if fatal else caveats).append("the logit IRLS did not converge (estimate from its last step)")
    if not logit and np.isfinite(beta) and abs(beta) > 1:
        fatal.append(
            f"{term} gives a risk difference of {beta:.3g}, outside [-1, 1]: the linear model does not fit"
        )
    if not fatal and lo is not None and hi is not None and not (np.isnan(lo) or np.isnan(hi)):
        if logit and (lo < -math.log(MAX_OR_INTERVAL) or hi > math.log(MAX_OR_INTERVAL)):
            caveats.append(
                f"interval beyond odds ratios {1 / MAX_OR_INTERVAL:g} to {MAX_OR_INTERVAL:g}: the data say next "
                f"to nothing on {term}"
            )
        if not logit and (lo < -1 or hi > 1):
            caveats.append(
                "interval beyond [-1, 1], the possible range of a risk difference: too few data for "
                "its approximation"
            )
    return verdict(fatal, caveats)
