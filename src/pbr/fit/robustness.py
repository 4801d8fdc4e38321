"""Alternative specifications of the DiD (robustness checks).

Every function takes the analysis-table-like frame (columns area_code, pilot, did, post,
quarter, half_year, start_date, the outcome and the covariates) and returns rows in
``pbr.fit.spec.RESULT_COLUMNS`` with ``specification`` set. Only 8 areas are treated, so
CRV1 over-rejects (bench/bench_pretrend.py: the CRV1 pre-trend tests reject a true null far
more often than 5%); every check therefore carries a few-cluster method beside its CRV1 rows,
which stay for reference only (their note says so). Specifications and methods:

- ``event_study_pretrend`` (:func:`pbr.fit.event_study.event_study`): pilot x period-bin
  interactions and the joint pre-trend test, CRV1 (reference only) and restricted wild
  cluster bootstraps; its methods, coefficient table and checks are described in
  :mod:`pbr.fit.event_study`. The bootstraps' settings are :class:`pbr.fit.draws.Bootstrap`
  (from config ``models.inference``).
- ``placebo_<year>`` (:func:`placebo`): a fake start date inside the pre-period (default
  1 April 2011) on pre-period journeys only.
- ``leave_out_<area_code>`` (:func:`leave_one_out`): the main model dropping one pilot area
  at a time (the score bootstrap then runs over the 7 remaining pilots).
- ``mason_2015`` (:func:`mason_2015`): FY2011-12 (pre) against FY2012-13 (post): the
  fixed-effects logit (area and period FE) and its few-cluster row, and, for Mason's own
  outcomes (:data:`pbr.fit.mixed.MASON_OUTCOMES`), Mason et al.'s (2015) own model beside
  them, the random-intercept logit of :mod:`pbr.fit.mixed` (method ``logit_re``, for
  reference only: its interval is a model-based, not cluster-robust, Wald interval).
- Timing sensitivity (outcome windows from :func:`pbr.registry.outcomes.window_days`,
  selections in :mod:`pbr.fit.timing`; a 12-month outcome of a journey starting in
  FY2011-12 is partly observed under the scheme):

  - ``donut`` (:func:`donut`): the main DiD without the pre-period journeys whose outcome
    window reaches the start;
  - ``event_study_pretrend_clear`` (:func:`event_study_clear`; table specification
    ``event_study_clear``): the event study with the reference = the last pre-period bin
    whose windows all end before the start; the joint test covers the pre-period bins clear
    of the start only (moving the reference alone leaves a joint test of all pre-period
    terms unchanged), the later pre-period bins are estimated, not tested; the same four
    methods; not estimable when no bin is clear;
  - ``placebo_clear`` (:func:`placebo_clear`): the placebo on the pre-period journeys whose
    windows end before the start, fake start at the bin boundary nearest the middle of
    their start dates; not estimable without such a boundary.

Placebo, leave-one-out, Mason, donut and clear placebo rows (:func:`variant_rows`) are
``logit_crv1`` and ``lpm_crv1`` rows of ``pbr.fit.models.fit_did`` (leave-one-out: the
logit only) and a ``logit_score_wcb`` row of :func:`pbr.fit.inference.few_cluster_rows`
(wild cluster score bootstrap, its interval by test inversion); the linkage-threshold fits
(scripts/fit_linkage_sensitivity.py) use the same function.

Model conventions are those of ``pbr.fit.models.fit_did``: logit and LPM with area and period fixed
effects, CRV1 by area (pyfixest small-sample defaults), z-based intervals, areas, periods
and covariate levels without outcome variation dropped and reported; the same three engines
(``engine="exact"``, ``"pyfixest"`` or ``"statsmodels"``).

Every row carries ``status`` and ``min_cell_events`` from the checks of ``pbr.fit.estimability``
(``estimability`` before, ``fit_check`` after each fit), so that no variant crashes or
prints an absurd number on sparse or degenerate data (no rows, every journey still open,
no pre or post period, one pilot area left, empty bins). The variants' rows
are ``pbr.fit.models.fit_did`` and ``few_cluster_rows`` rows (each refit gets its own status); a
variant that cannot be formed (no clear bin, no placebo boundary) gives rows without numbers
and the reason (:func:`not_estimable_rows`). The event study adds its own checks
(:mod:`pbr.fit.event_study`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from pbr.fit import inference, mixed, models, timing
from pbr.fit.draws import Bootstrap
from pbr.fit.estimability import estimability, verdict
from pbr.fit.event_study import EVENT_STUDY_COLUMNS, event_study
from pbr.fit.frame import drop_note, model_rows, post_start
from pbr.fit.spec import (
    RESULT_COLUMNS,
    FitSpec,
    base_row,
    empty_row,
    joined,
    results_frame,
)

log = logging.getLogger(__name__)

#: What one robustness job fits: every variant, or the Mason 2015 window alone
#: (``robustness.mason_outcomes`` outside ``robustness.outcomes``).
VARIANTS = ("all", "mason_2015")


def relabel(res: pd.DataFrame, specification: str, note: str) -> pd.DataFrame:
    """``res`` with ``specification`` set and ``note`` put before each row's own note."""
    res = res.copy()
    res["specification"] = specification
    res["note"] = [note if not n else f"{note}; {n}" for n in res["note"].fillna("")]
    return res


def _with_post(df: pd.DataFrame, post_from: pd.Timestamp) -> pd.DataFrame:
    """``df`` (not modified) with ``post`` = journey starts on or after ``post_from``, ``did`` = pilot x post."""
    post = df["start_date"] >= post_from
    return df.assign(
        post=post.astype("int64"), did=(df["pilot"].fillna(False).astype(bool) & post).astype("int64")
    )


def variant_rows(
    df: pd.DataFrame,
    spec: FitSpec,
    specification: str,
    note: str,
    *,
    methods: tuple[str, ...] = ("logit_crv1", "lpm_crv1"),
    bootstrap: Bootstrap | None = None,
    with_ci: bool = True,
) -> pd.DataFrame:
    """The DiD of one variant's data: :func:`models.fit_did` rows for ``methods`` (CRV1, reference
    only) and, with ``bootstrap``, the headline wild cluster score bootstrap row
    (:func:`pbr.fit.inference.few_cluster_rows`, ``logit_score_wcb``, with its interval unless
    not ``with_ci``: the simulation study wants its p-value only, :mod:`pbr.simstudy.checks`)."""
    parts = [models.fit_did(df, spec, methods=methods)]
    if bootstrap is not None:
        parts.append(
            inference.few_cluster_rows(
                df,
                spec,
                methods=("logit_score_wcb",),
                reps=bootstrap.reps,
                seed=bootstrap.seed,
                logit_ci=with_ci,
            )
        )
    res = pd.concat(parts, ignore_index=True)[RESULT_COLUMNS]
    crv1 = res["method"].str.endswith("_crv1")
    res.loc[crv1, "note"] = [joined("CRV1, reference only", n) for n in res.loc[crv1, "note"].fillna("")]
    return relabel(res, specification, note)


def not_estimable_rows(
    df: pd.DataFrame, spec: FitSpec, specification: str, methods: tuple[str, ...], reason: str
) -> pd.DataFrame:
    """Rows without numbers for ``methods`` of a variant that cannot be formed (``reason`` in words)."""
    mf, dropped_areas, dropped_rows = model_rows(df, spec)
    check = estimability(mf, spec.outcome, "logit", post_start(df))
    base = base_row(spec, mf, dropped_areas, dropped_rows, check.min_cell_events, specification)
    log.warning("%s/%s %s: %s", spec.cohort, spec.outcome, specification, reason)
    rows = [
        empty_row(base, m, verdict([reason]).reason, drop_note(dropped_areas, dropped_rows)) for m in methods
    ]
    return results_frame(rows)


def placebo(
    df: pd.DataFrame, spec: FitSpec, *, fake_start: str = "2011-04-01", bootstrap: Bootstrap | None = None
) -> pd.DataFrame:
    """Placebo DiD: pre-period journeys only, 'post' from a fake start date."""
    fake = pd.Timestamp(fake_start)
    label = str(fake.year) if (fake.month, fake.day) == (4, 1) else fake.strftime("%Y%m%d")
    return variant_rows(
        placebo_frame(df, fake_start),
        spec,
        f"placebo_{label}",
        f"placebo: pre-period journeys only, fake start {fake.date()} (expect no effect)",
        bootstrap=bootstrap,
    )


def placebo_frame(df: pd.DataFrame, fake_start: str) -> pd.DataFrame:
    """The placebo's data: the pre-period journeys, ``post`` and ``did`` from ``fake_start``."""
    return _with_post(df.loc[df["post"].astype(int) == 0], pd.Timestamp(fake_start))


def pilot_areas(df: pd.DataFrame, spec: FitSpec) -> list[str]:
    """The pilot areas with journeys in ``spec``'s outcome denominator (the leave-one-out fits), sorted."""
    in_denominator = df[spec.outcome].notna() & df["pilot"].fillna(False).astype(bool)
    return sorted(df.loc[in_denominator, "area_code"].astype(str).unique())


def leave_out_frame(df: pd.DataFrame, area: str) -> pd.DataFrame:
    """``df`` without the journeys of ``area``."""
    return df.loc[df["area_code"].astype(str) != area]


def leave_one_out(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    methods: tuple[str, ...] = ("logit_crv1",),
    bootstrap: Bootstrap | None = None,
) -> pd.DataFrame:
    """The main model refitted once per pilot area, without that area (with ``bootstrap``, also the
    score bootstrap over the remaining pilots)."""
    parts = []
    for area in pilot_areas(df, spec):
        log.info("%s/%s leave out %s", spec.cohort, spec.outcome, area)
        parts.append(
            variant_rows(
                leave_out_frame(df, area),
                spec,
                f"leave_out_{area}",
                f"pilot area {area} left out",
                methods=methods,
                bootstrap=bootstrap,
            )
        )
    if not parts:
        return results_frame([])
    return pd.concat(parts, ignore_index=True)[RESULT_COLUMNS]


def mason_2015(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    pre_start: str = "2011-04-01",
    post_start: str = "2012-04-01",
    post_end: str = "2013-03-31",
    bootstrap: Bootstrap | None = None,
    random_intercept: bool | None = None,
) -> pd.DataFrame:
    """Mason et al. (2015) window: FY2011-12 (pre) against FY2012-13 (post): the fixed-effects
    rows of :func:`variant_rows` and, with ``random_intercept`` (default: for
    :data:`pbr.fit.mixed.MASON_OUTCOMES` only; a few seconds per fit at scale 0.05), Mason's own
    random-intercept logit (:func:`pbr.fit.mixed.logit_re`) on the same frame."""
    frame = mason_frame(df, pre_start, post_start, post_end)
    window = f"journeys starting {pre_start} to {post_end}, post from {post_start}"
    rows = variant_rows(
        frame,
        spec,
        "mason_2015",
        f"{window}; fixed-effects logit (area + period FE); Mason et al.'s random-intercept logit is "
        "the logit_re row",
        bootstrap=bootstrap,
    )
    if random_intercept is None:
        random_intercept = spec.outcome in mixed.MASON_OUTCOMES
    if not random_intercept:
        return rows
    return pd.concat([rows, mixed.logit_re(frame, spec, "mason_2015", window)], ignore_index=True)[
        RESULT_COLUMNS
    ]


def mason_frame(df: pd.DataFrame, pre_start: str, post_start: str, post_end: str) -> pd.DataFrame:
    """The Mason 2015 window's data: journeys starting ``pre_start`` to ``post_end``, post from ``post_start``."""
    start = df["start_date"]
    sub = df.loc[(start >= pd.Timestamp(pre_start)) & (start <= pd.Timestamp(post_end))]
    return _with_post(sub, pd.Timestamp(post_start))


@dataclass(frozen=True)
class Timing:
    """What the timing sensitivity needs: the outcome's window (:func:`pbr.registry.outcomes.window_days`),
    the pilots' start, and the event-study bins (column, first day)."""

    window_days: int
    post_from: pd.Timestamp
    bin_col: str = "half_year"
    origin: str = "2010-04-01"


def donut(df: pd.DataFrame, spec: FitSpec, window: Timing, bootstrap: Bootstrap) -> pd.DataFrame:
    """The main DiD without the journeys starting before the start whose outcome window reaches it."""
    sub, n_out = timing.donut_frame(df, window.window_days, window.post_from)
    note = (
        f"donut: {n_out} journeys starting before {window.post_from.date()} whose {window.window_days}-day "
        "outcome window reaches it left out"
    )
    return variant_rows(sub, spec, "donut", note, bootstrap=bootstrap)


def placebo_clear(df: pd.DataFrame, spec: FitSpec, window: Timing, bootstrap: Bootstrap) -> pd.DataFrame:
    """Placebo on the pre-period journeys whose outcome window ends before the start, fake start at the
    ``bin_col`` boundary nearest the middle of their start dates."""
    pre = df.loc[df["post"].astype(int) == 0]
    pre = pre.loc[timing.clear_of_start(pre["start_date"], window.window_days, window.post_from)]
    fake = timing.clear_placebo_start(pre["start_date"], window.origin, window.bin_col)
    span = timing.placebo_note_range(pre["start_date"])
    if fake is None:
        reason = (
            f"no {window.bin_col} boundary inside the starts of the pre-period journeys clear of the start "
            f"({span}; outcome window {window.window_days} days): no placebo clear of the start"
        )
        return not_estimable_rows(
            pre, spec, "placebo_clear", ("logit_crv1", "lpm_crv1", "logit_score_wcb"), reason
        )
    note = (
        f"placebo clear of the start: pre-period journeys whose {window.window_days}-day outcome window ends "
        f"before {window.post_from.date()} (starts {span}), fake start {fake.date()} (expect no effect)"
    )
    return variant_rows(_with_post(pre, fake), spec, "placebo_clear", note, bootstrap=bootstrap)


def event_study_clear(
    df: pd.DataFrame, spec: FitSpec, window: Timing, bootstrap: Bootstrap
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The event study with the last pre-period bin clear of the start as its reference (specification
    ``event_study_pretrend_clear``, table ``event_study_clear``); not estimable when no bin is clear.

    The joint test covers only the bins clear of the start: a joint test that *every* pre-period
    term is 0 does not depend on which pre-period bin is the reference (it says all pre-period bins
    are equal), so moving the reference alone would repeat the standard test. The pre-period bins
    after the reference (outcome windows crossing the start) are estimated freely instead, as the
    post-period ones are; the coefficient table shows every bin against the clear reference."""
    pre_bins = sorted(int(b) for b in df.loc[df["post"].astype(int) == 0, window.bin_col].dropna().unique())
    ref = timing.clear_reference_bin(
        pre_bins, window.origin, window.bin_col, window.window_days, window.post_from
    )
    check = None
    if ref is None:
        check = verdict(
            [
                f"no pre-period {window.bin_col} bin ends {window.window_days} days (the outcome window) before "
                f"{window.post_from.date()}: no reference bin clear of the start"
            ]
        )
    return event_study(
        df,
        spec,
        bin_col=window.bin_col,
        ref_bin=ref,
        origin=window.origin,
        bootstrap=bootstrap,
        suffix="_clear",
        check=check,
        test_after_ref=False,
    )


def robustness_rows(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    event_bin_col: str = "half_year",
    origin: str = "2010-04-01",
    placebo_start: str = "2011-04-01",
    mason_pre_start: str = "2011-04-01",
    mason_post_end: str = "2013-03-31",
    mason_random_intercept: bool = True,
    bootstrap: Bootstrap = Bootstrap(),
    window_days: int | None = None,
    post_from: str = "2012-04-01",
    variants: str = "all",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All variants for one outcome, as rule fit_robustness runs them: (rows in RESULT_COLUMNS,
    event-study coefficient table). ``origin`` is the study's first day (event-study bins count
    from it); the Mason 2015 window runs from ``mason_pre_start`` to ``mason_post_end`` (post from
    ``post_from``, the pilots' start), with the random-intercept logit for Mason's outcomes unless
    not ``mason_random_intercept``. With ``window_days`` (the outcome's window), also the timing
    variants: ``donut``, ``event_study_pretrend_clear``, ``placebo_clear``. ``variants="mason_2015"``:
    the Mason 2015 window alone (an outcome of ``robustness.mason_outcomes`` only) and an empty
    event-study table."""
    if variants not in VARIANTS:
        raise ValueError(f"variants must be one of {VARIANTS}, not {variants!r}")
    mason = mason_2015(
        df,
        spec,
        pre_start=mason_pre_start,
        post_start=post_from,
        post_end=mason_post_end,
        bootstrap=bootstrap,
        random_intercept=None if mason_random_intercept else False,
    )
    if variants == "mason_2015":
        return mason[RESULT_COLUMNS], pd.DataFrame(columns=EVENT_STUDY_COLUMNS)
    es_table, es_rows = event_study(df, spec, bin_col=event_bin_col, origin=origin, bootstrap=bootstrap)
    parts = [
        es_rows,
        placebo(df, spec, fake_start=placebo_start, bootstrap=bootstrap),
        leave_one_out(df, spec, bootstrap=bootstrap),
        mason,
    ]
    tables = [es_table]
    if window_days is not None:
        window = Timing(int(window_days), pd.Timestamp(post_from), event_bin_col, origin)
        clear_table, clear_rows = event_study_clear(df, spec, window, bootstrap)
        tables.append(clear_table)
        parts += [
            clear_rows,
            donut(df, spec, window, bootstrap),
            placebo_clear(df, spec, window, bootstrap),
        ]
    rows = pd.concat(parts, ignore_index=True)[RESULT_COLUMNS]
    return rows, pd.concat(tables, ignore_index=True)[EVENT_STUDY_COLUMNS]
