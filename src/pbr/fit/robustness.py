"""Alternative specifications of the DiD (robustness checks).

Every function takes the analysis-table-like frame (columns area_code, pilot, did, post,
quarter, half_year, start_date, the outcome and the covariates) and returns rows in
``pbr.fit.spec.RESULT_COLUMNS`` with ``specification`` set. Only 8 areas are treated, so
CRV1 over-rejects (bench/bench_pretrend.py: the CRV1 pre-trend tests reject a true null far
more often than 5%); every check therefore carries a few-cluster method beside its CRV1 rows,
which stay for reference only (their note says so). Specifications and methods:

- ``event_study_pretrend`` (:func:`event_study`): pilot x period-bin interactions
  (half-years by default, reference = the last pre-period bin) in the logit and the LPM.
  One row per method; ``estimate`` = the statistic of the joint test that all pre-period
  coefficients are 0, ``p_value`` its p-value:

  - ``logit_crv1`` (``wald_chi2``: CRV1 Wald, chi2(q)) and ``lpm_crv1`` (``wald_F``: CRV1
    Wald F, F(q, G-1)): reference only;
  - ``logit_score_wcb`` (``wald_chi2``): restricted wild cluster score bootstrap of the
    cluster-robust score statistic (logit refitted with the pre-period terms = 0);
  - ``lpm_wcb_webb`` (``wald_F``): restricted wild cluster bootstrap (WCR) of the CRV1 Wald F
    (the statistic equals ``lpm_crv1``'s; the p-value is the bootstrap's).

  The bootstraps (:mod:`pbr.fit.joint`) use Webb weights drawn per area code
  (:func:`pbr.fit.draws.area_webb_weights`; settings :class:`Bootstrap`, from config
  ``models.inference``). The tidy coefficient table (``EVENT_STUDY_COLUMNS``, ``specification``
  ``event_study``) holds the CRV1 models' pilot x bin coefficients.
- ``placebo_<year>`` (:func:`placebo`): a fake start date inside the pre-period (default
  1 April 2011) on pre-period journeys only.
- ``leave_out_<area_code>`` (:func:`leave_one_out`): the main model dropping one pilot area
  at a time (the score bootstrap then runs over the 7 remaining pilots).
- ``mason_2015`` (:func:`mason_2015`): FY2011-12 (pre) against FY2012-13 (post). Mason et
  al. (2015) fitted a multilevel random-intercept logit over areas; here a fixed-effects
  logit (area and period FE) stands in for it, which targets the same within-area DiD OR.
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
and covariate levels without outcome variation dropped and reported; the same two engines
(``engine="exact"`` or ``"pyfixest"``).

Every row carries ``status`` and ``min_cell_events`` from the checks of ``pbr.fit.estimability``
(``estimability`` before, ``fit_check`` after each fit), so that no variant crashes or
prints an absurd number on sparse or degenerate data (no rows, every journey still open,
no pre or post period, one pilot area left, empty bins). The variants' rows
are ``pbr.fit.models.fit_did`` and ``few_cluster_rows`` rows (each refit gets its own status); a
variant that cannot be formed (no clear bin, no placebo boundary) gives rows without numbers
and the reason (:func:`not_estimable_rows`). The event study adds
its own checks: no pilot journeys in the reference bin, or no pre-period bin besides it,
is not estimable; in the logit, a pilot x bin cell whose outcome is all 0 or all 1 has an
infinite coefficient, so its journeys and term are left out (the exact limit of the other
estimates; a caveat naming the bins), and a reference-bin cell without outcome variation
makes the logit not estimable; each term goes through ``pbr.fit.estimability.fit_check`` (divergence,
non-finite standard errors, a risk difference outside [-1, 1]), and a singular covariance
of the pre-period terms leaves the Wald test not estimable, as does a non-finite bootstrap
statistic (a singular score covariance); a restricted logit that did not converge is a caveat.
The coefficient table has rows only for a model whose pre-trend row is estimable.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from pbr.fit import design, inference, joint, models, timing
from pbr.fit.draws import area_webb_weights
from pbr.fit.estimability import Estimability, estimability, fit_check, merge, verdict
from pbr.fit.frame import drop_note, drop_uninformative, model_rows, post_start
from pbr.fit.spec import (
    RESULT_COLUMNS,
    FitSpec,
    base_row,
    empty_row,
    family_of,
    joined,
    normal_p_value,
    odds_ratio,
    results_frame,
    scale_of,
    statistic_row,
)

log = logging.getLogger(__name__)

EVENT_STUDY_COLUMNS = [
    "cohort",
    "outcome",
    "specification",
    "method",
    "scale",
    "bin_col",
    "bin",
    "bin_start",
    "is_reference",
    "is_post",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "beta",
    "se",
    "n",
    "n_clusters",
]

_MONTHS = {"quarter": 3, "half_year": 6, "year": 12}


def _bin_name(b: int) -> str:
    return f"es_{b}" if b >= 0 else f"es_m{-b}"


@dataclass(frozen=True)
class _Bins:
    """The event-study bins of a model frame: all, post-period ones, the reference, their dates, and
    the pre-period bins estimated but left out of the pre-trend test (``untested``)."""

    column: str
    all: list[int]
    post: set[int]
    ref: int
    origin: str
    untested: frozenset[int] = frozenset()

    @classmethod
    def of(
        cls, mf: pd.DataFrame, column: str, ref_bin: int | None, origin: str, test_after_ref: bool = True
    ) -> _Bins:
        """The bins of ``mf``; without ``test_after_ref``, the pre-period bins after the reference are untested."""
        bins = sorted(int(b) for b in mf[column].unique())
        post = {int(b) for b in mf.loc[mf["post"] > 0, column].unique()}
        pre = [b for b in bins if b not in post]
        ref = int(ref_bin) if ref_bin is not None else (max(pre) if pre else (bins[0] if bins else -1))
        untested = frozenset() if test_after_ref else frozenset(b for b in pre if b > ref)
        return cls(column, bins, post, ref, origin, untested)

    def tested(self, b: int) -> bool:
        """Bin ``b``'s term is one of the pre-trend test's (pre-period, not left untested)."""
        return b not in self.post and b not in self.untested

    def untested_words(self) -> str:
        """The untested bins in words for a note ('' without any)."""
        if not self.untested:
            return ""
        listed = ", ".join(str(b) for b in sorted(self.untested))
        return f"pre-period {self.column} bin(s) {listed} (outcome windows crossing the start) estimated, not tested"

    def start(self, b: int):
        """The first day of bin ``b`` (NaT for a bin column of unknown length)."""
        step = _MONTHS.get(self.column)
        return (pd.Timestamp(self.origin) + pd.DateOffset(months=step * b)).date() if step else pd.NaT


#: The event study's pre-trend methods: CRV1 Wald tests (reference only) and the restricted
#: wild cluster bootstraps of the same hypothesis (:mod:`pbr.fit.joint`).
EVENT_STUDY_METHODS = ("logit_crv1", "lpm_crv1", "logit_score_wcb", "lpm_wcb_webb")
BOOTSTRAP_METHODS = ("logit_score_wcb", "lpm_wcb_webb")


@dataclass(frozen=True)
class Bootstrap:
    """The wild cluster bootstraps' settings (config ``models.inference``): draws and seed."""

    reps: int = 999
    seed: int = 20120401


def event_study(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    bin_col: str = "half_year",
    ref_bin: int | None = None,
    origin: str = "2010-04-01",
    methods: tuple[str, ...] = EVENT_STUDY_METHODS,
    bootstrap: Bootstrap = Bootstrap(),
    suffix: str = "",
    check: Estimability | None = None,
    test_after_ref: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Event study: (tidy coefficient table, summary rows with the joint pre-trend test).

    ``bin_col`` holds integer period indices since ``origin`` (quarter / half_year /
    year); ``ref_bin`` defaults to the last bin with pre-period journeys. Period fixed
    effects stay at ``spec.period_col`` (quarters by default, nested in the bins). Rows are
    specification ``event_study_pretrend<suffix>``, the table's ``event_study<suffix>``;
    ``check`` (e.g. "no bin clear of the start") joins every row's checks. Without
    ``test_after_ref``, the pre-period bins after the reference are estimated but not tested
    (the timing sensitivity: their outcome windows cross the start). Checks: see the module
    docstring.
    """
    mf, dropped_areas, dropped_rows = model_rows(df, spec, [bin_col])
    post_from = post_start(df)
    pre_check = {f: estimability(mf, spec.outcome, f, post_from) for f in ("logit", "linear")}
    if check is not None:
        pre_check = {
            f: verdict([*c.fatal, *check.fatal], [*c.caveats, *check.caveats], c.min_cell_events)
            for f, c in pre_check.items()
        }
    bins = _Bins.of(mf, bin_col, ref_bin, origin, test_after_ref)
    base = base_row(
        spec,
        mf,
        dropped_areas,
        dropped_rows,
        pre_check["logit"].min_cell_events,
        f"event_study_pretrend{suffix}",
    )
    study = _EventStudy(spec, mf, bins, base, post_from, bootstrap, f"event_study{suffix}")
    coef_rows, summary = [], []
    for method in methods:
        family = family_of(method)
        if pre_check[family].status == "not_estimable":
            reason = pre_check[family].reason
            log.warning("%s/%s event study %s: %s", spec.cohort, spec.outcome, method, reason)
            summary.append(study.empty(base, method, reason, drop_note(dropped_areas, dropped_rows)))
            continue
        coefs, row = study.fit(method, pre_check[family])
        coef_rows += coefs
        summary.append(row)
    return pd.DataFrame(coef_rows, columns=EVENT_STUDY_COLUMNS), results_frame(summary)


class _EventStudy:
    """The event-study models of one model frame (one per method); each family's event frame,
    fit and exact design are built once and shared by its CRV1 and bootstrap methods."""

    def __init__(
        self,
        spec: FitSpec,
        mf: pd.DataFrame,
        bins: _Bins,
        base: dict,
        post_from,
        bootstrap: Bootstrap,
        label: str,
    ):
        self.spec, self.mf, self.bins, self.base, self.post_from = spec, mf, bins, base, post_from
        self.bootstrap, self.label = bootstrap, label
        self.n_clusters = base["n_clusters"]
        self.full_design: design.Design | None = None
        self.frames: dict[str, _EventFrame] = {}
        self.fits: dict[str, _TermsResult] = {}

    @staticmethod
    def empty(base: dict, method: str, reason: str, drop: str, **more: object) -> dict:
        """A not-estimable summary row (scale: the Wald test's)."""
        return empty_row(base | {"n": more.get("n", base["n"])}, method, reason, drop) | {
            "scale": _wald_scale(method)
        }

    def fit(self, method: str, pre_check: Estimability) -> tuple[list[dict], dict]:
        """(coefficient rows, summary row) of ``method``; the bootstrap methods have no coefficient rows."""
        spec, bins, family = self.spec, self.bins, family_of(method)
        if family not in self.frames:
            self.frames[family] = _event_frame(self.mf, spec, bins, family == "logit")
        data = self.frames[family]
        row_base = self.base | {
            "dropped_clusters": self.base["dropped_clusters"] + data.dropped_clusters,
            "dropped_rows": self.base["dropped_rows"] + data.dropped_rows,
        }
        drop = drop_note(row_base["dropped_clusters"], row_base["dropped_rows"])
        checks = [pre_check, data.check]
        if data.dropped_rows:  # the reduced frame's own cells
            checks.append(estimability(data.mf, spec.outcome, family, self.post_from))
        if not [b for b in data.est_bins if bins.tested(b)]:
            checks.append(
                verdict(
                    [
                        f"no tested pre-period pilot x {bins.column} bin besides the reference ({bins.ref}): "
                        "no pre-trend to test"
                    ]
                )
            )
        if any(c.status == "not_estimable" for c in checks):
            return [], self._not_estimable(row_base, method, checks, drop, len(data.mf))
        if family not in self.fits:
            names = [_bin_name(b) for b in data.est_bins]
            self.fits[family] = _fit_terms(data.mf, self._design(data), names, spec, family == "logit")
        res = self.fits[family]
        checks += _term_checks(res, data, bins, family)
        stat, p, dist, wald_checks = _pretrend_wald(res, data, bins, family, self.n_clusters)
        checks += wald_checks
        q = len([b for b in data.est_bins if bins.tested(b) and _bin_name(b) in res.coef.index])
        n_treated = self.base["n_treated_clusters"]
        test = f"CRV1 by area, {dist}; CRV1, reference only (over-rejects with {n_treated} treated areas)"
        if method in BOOTSTRAP_METHODS and merge(*checks)[0] != "not_estimable":
            stat, p, test, boot_check = self._bootstrap(method, data, res)
            checks.append(boot_check)
        status, reason = merge(*checks)
        if status == "not_estimable":
            return [], self._not_estimable(row_base, method, checks, drop, res.n)
        note = joined(
            reason,
            f"joint test that the {q} pre-period pilot x {bins.column} coefficients are 0 "
            f"(reference bin {bins.ref} = {bins.start(bins.ref)}), {test}; estimate = the test statistic",
            bins.untested_words(),
            drop,
        )
        row = statistic_row(row_base, method, _wald_scale(method), stat, p, status=status, note=note, n=res.n)
        return ([] if method in BOOTSTRAP_METHODS else self._coefficient_rows(method, res)), row

    def _bootstrap(
        self, method: str, data: _EventFrame, res: _TermsResult
    ) -> tuple[float, float, str, Estimability]:
        """(statistic, p, words, check) of the restricted wild cluster bootstrap (:mod:`pbr.fit.joint`)
        of the pre-period terms kept by the CRV1 fit, the post-period terms in the restricted model."""
        kept = [b for b in data.est_bins if _bin_name(b) in res.coef.index]
        pre = [_bin_name(b) for b in kept if self.bins.tested(b)]
        post = [_bin_name(b) for b in kept if not self.bins.tested(b)]
        exact = self._exact_design(data)
        x, p_terms = data.mf[pre].to_numpy(dtype=float), data.mf[post].to_numpy(dtype=float)
        logit = method == "logit_score_wcb"
        parts = (
            joint.logit_joint_parts(exact, p_terms, x) if logit else joint.lpm_joint_parts(exact, p_terms, x)
        )
        v = area_webb_weights(exact.area_codes, self.bootstrap.reps, self.bootstrap.seed)
        log.info("%s/%s event study %s: %d draws", self.spec.cohort, self.spec.outcome, method, v.shape[1])
        stat, p = joint.joint_pvalue(parts, v)
        problems = (
            []
            if np.isfinite(stat)
            else ["the joint bootstrap statistic is not finite (singular score covariance)"]
        )
        caveats = [] if parts.converged else ["the restricted logit (pre-period terms = 0) did not converge"]
        draws = f"Webb weights by area, {self.bootstrap.reps} reps, seed {self.bootstrap.seed}"
        test = (
            "restricted wild cluster score bootstrap (logit refitted under H0 with the post-period terms; "
            f"one-step nuisance re-estimation per draw), {draws}; statistic: cluster-robust score statistic "
            "(chi2 scale); p = share T* >= T"
            if logit
            else f"restricted wild cluster bootstrap (WCR, refit per draw) of the CRV1 Wald F, {draws}; "
            "p = share F* >= F"
        )
        return stat, p, test, verdict(problems, caveats)

    def _not_estimable(self, row_base: dict, method: str, checks: list, drop: str, n: int) -> dict:
        reason = merge(*checks)[1]
        log.warning("%s/%s event study %s: %s", self.spec.cohort, self.spec.outcome, method, reason)
        return self.empty(row_base, method, reason, drop, n=n)

    def _design(self, data: _EventFrame) -> design.Design | None:
        """The exact engine's design of the frame fitted (None for pyfixest)."""
        return self._exact_design(data) if self.spec.engine == "exact" else None

    def _exact_design(self, data: _EventFrame) -> design.Design:
        """The design of the frame fitted (the bootstraps need it whatever the engine)."""
        outcome, covariates = self.spec.outcome, list(self.spec.covariates)
        if data.dropped_rows:
            return design.build_design(data.mf, outcome, covariates)
        if self.full_design is None:
            self.full_design = design.build_design(self.mf, outcome, covariates)
        return self.full_design

    def _coefficient_rows(self, method: str, res: _TermsResult) -> list[dict]:
        """One row per bin with a term, and the reference bin (0 by construction)."""
        bins, z = self.bins, self.spec.z
        to_scale = odds_ratio if family_of(method) == "logit" else float
        rows = []
        for b in bins.all:
            name = _bin_name(b)
            is_ref = b == bins.ref
            if not is_ref and name not in res.coef.index:
                continue  # no pilot journeys in this bin, left out (no outcome variation) or collinear
            beta = 0.0 if is_ref else float(res.coef[name])
            se = np.nan if is_ref else _se(res.vcov, name)
            rows.append(
                {
                    "cohort": self.spec.cohort,
                    "outcome": self.spec.outcome,
                    "specification": self.label,
                    "method": method,
                    "scale": scale_of(method),
                    "bin_col": bins.column,
                    "bin": b,
                    "bin_start": bins.start(b),
                    "is_reference": is_ref,
                    "is_post": b in bins.post,
                    "estimate": to_scale(beta),
                    "ci_low": np.nan if is_ref else to_scale(beta - z * se),
                    "ci_high": np.nan if is_ref else to_scale(beta + z * se),
                    "p_value": np.nan if is_ref else normal_p_value(beta, se),
                    "beta": beta,
                    "se": se,
                    "n": res.n,
                    "n_clusters": self.n_clusters,
                }
            )
        return rows


def _wald_scale(method: str) -> str:
    return "wald_chi2" if family_of(method) == "logit" else "wald_F"


def _term_checks(res: _TermsResult, data: _EventFrame, bins: _Bins, family: str) -> list[Estimability]:
    """``fit_check`` of every bin's term, then of the fit as a whole (divergence, separation)."""
    checks = []
    for b in data.est_bins:
        name = _bin_name(b)
        if name in res.coef.index:
            checks.append(
                fit_check(
                    family,
                    float(res.coef[name]),
                    _se(res.vcov, name),
                    term=f"the pilot x {bins.column} {b} term",
                )
            )
    pilot_rows = data.mf["pilot"].fillna(False).astype(bool).to_numpy(dtype=float)
    checks.append(
        fit_check(
            family, 0.0, converged=res.converged, eta=res.eta, did=pilot_rows, term="the event-study terms"
        )
    )
    return checks


def _pretrend_wald(
    res: _TermsResult, data: _EventFrame, bins: _Bins, family: str, n_clusters: int
) -> tuple[float, float, str, list[Estimability]]:
    """(statistic, p, distribution, checks) of the joint Wald test that the pre-period terms are
    0: chi2(q) for the logit, F(q, G-1) for the linear model."""
    names = [_bin_name(b) for b in data.est_bins]
    pre = [_bin_name(b) for b in data.est_bins if bins.tested(b) and _bin_name(b) in res.coef.index]
    q = len(pre)
    stat = p = np.nan
    dist = ""
    checks = []
    if not q:
        checks.append(
            fit_check(family, np.nan, collinear=True, term=f"every pre-period pilot x {bins.column} term")
        )
    else:
        bvec = res.coef[pre].to_numpy()
        try:
            wald = float(bvec @ np.linalg.solve(res.vcov.loc[pre, pre].to_numpy(), bvec))
        except np.linalg.LinAlgError:
            wald = np.nan
        if not np.isfinite(wald) or wald < 0:
            checks.append(
                verdict(["the covariance of the pre-period terms is singular or not finite (no Wald test)"])
            )
        elif family == "logit":
            stat, p, dist = wald, float(special.chdtrc(q, wald)), f"chi2({q})"
        else:
            stat = wald / q
            p, dist = float(special.fdtrc(q, n_clusters - 1, stat)), f"F({q}, {n_clusters - 1})"
    dropped_terms = [n for n in names if n not in res.coef.index]
    if dropped_terms:
        checks.append(
            verdict(
                caveats=[
                    f"pilot x {bins.column} term(s) {', '.join(dropped_terms)} collinear with the fixed effects, "
                    "left out"
                ]
            )
        )
    return stat, p, dist, checks


def _se(vcov: pd.DataFrame, name: str) -> float:
    v = float(vcov.loc[name, name])
    return math.sqrt(v) if v >= 0 else math.nan


class _EventFrame(NamedTuple):
    mf: pd.DataFrame  # the model's rows, with one 0/1 column per estimated pilot x bin term
    est_bins: list[int]  # bins with a term (not the reference, with pilot journeys, not left out)
    check: Estimability  # reference-bin problems, bins left out
    dropped_rows: int  # rows left out beyond the main drops (logit: cells without variation, then drops)
    dropped_clusters: int


def _event_frame(mf: pd.DataFrame, spec: FitSpec, event_bins: _Bins, logit: bool) -> _EventFrame:
    """The event-study frame of one model, and what the bins allow (see the module docstring)."""
    outcome, covariates = spec.outcome, spec.covariates
    bin_col, ref, bins, start = event_bins.column, event_bins.ref, event_bins.all, event_bins.start
    pilot = mf["pilot"].fillna(False).astype(bool)
    y = mf[outcome]
    fatal, caveats = [], []
    ref_cell = pilot & (mf[bin_col] == ref)
    if len(mf) and not ref_cell.any():
        fatal.append(
            f"no pilot journeys in the reference {bin_col} bin {ref}: the event-study terms are not identified"
        )
    elif logit and len(mf) and y[ref_cell].nunique() < 2:
        fatal.append(
            f"{'no events' if y[ref_cell].sum() == 0 else 'every journey an event'} in the pilot areas in the "
            f"reference {bin_col} bin {ref} ({start(ref)}): quasi-separation of every event-study term"
        )
    separated = []
    if logit and not fatal:
        for b in bins:
            cell = pilot & (mf[bin_col] == b)
            if b != ref and cell.any() and y[cell].nunique() < 2:
                separated.append(b)
    out, dropped_clusters, dropped_rows = mf, 0, 0
    if separated:
        cells = pilot & mf[bin_col].isin(separated)
        out, dropped_clusters, extra = drop_uninformative(mf.loc[~cells], outcome, covariates)
        dropped_rows = int(cells.sum()) + extra
        listed = ", ".join(f"{b} ({start(b)})" for b in separated)
        caveats.append(
            f"pilot x {bin_col} bin(s) {listed} without outcome variation: their {int(cells.sum())} journeys and "
            "terms left out of the logit (their coefficients are infinite; the others are the limit of the fit)"
        )
    out = out.copy()
    pilot_out = out["pilot"].fillna(False).astype(bool)
    est_bins = []
    for b in bins:
        col = (pilot_out & (out[bin_col] == b)).astype("int64")
        if b != ref and col.sum() > 0:
            out[_bin_name(b)] = col
            est_bins.append(b)
    return _EventFrame(out, est_bins, verdict(fatal, caveats), dropped_rows, dropped_clusters)


class _TermsResult(NamedTuple):
    coef: pd.Series
    vcov: pd.DataFrame
    n: int
    converged: bool
    eta: np.ndarray | None  # logit linear predictor, row-aligned with the frame (None if unknown)


def _fit_terms(
    mf: pd.DataFrame,
    model_design: design.Design | None,
    names: list[str],
    spec: FitSpec,
    logit: bool,
) -> _TermsResult:
    """Coefficients (by name) and CRV1 covariance of the terms ``names``, the rows used, and
    the logit's convergence and linear predictor.

    With ``model_design`` (the design of ``mf``), the exact engine fits them; without, pyfixest.
    Terms collinear with the fixed effects are left out of both, by either engine.
    """
    if model_design is not None:
        fit = design.fit_terms(model_design, mf[names].to_numpy(dtype=float), "logit" if logit else "linear")
        kept = [names[i] for i in fit.kept]
        return _TermsResult(
            pd.Series(fit.coef, index=kept, dtype=float),
            pd.DataFrame(fit.vcov, index=kept, columns=kept),
            fit.n,
            fit.converged,
            fit.eta,
        )
    import pyfixest as pf  # only here: its import and JIT cost seconds per process

    formula_text = models.formula(spec.outcome, spec.covariates, names)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if logit:
            fit = pf.feglm(formula_text, data=mf, family="logit", vcov={"CRV1": "area_code"})
        else:
            fit = pf.feols(formula_text, data=mf, vcov={"CRV1": "area_code"})
    coefnames = [str(c) for c in fit._coefnames]
    coef = pd.Series(np.asarray(fit.coef(), dtype=float), index=coefnames)
    vcov = pd.DataFrame(np.asarray(fit._vcov, dtype=float), index=coefnames, columns=coefnames)
    kept = [c for c in names if c in coef.index]
    eta = getattr(fit, "_Y_hat_link", None) if logit else None
    if eta is not None and len(eta) != len(mf):
        eta = None
    return _TermsResult(
        coef[kept], vcov.loc[kept, kept], int(fit._N), bool(getattr(fit, "convergence", True)), eta
    )


def _relabel(res: pd.DataFrame, specification: str, note: str) -> pd.DataFrame:
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
) -> pd.DataFrame:
    """The DiD of one variant's data: :func:`models.fit_did` rows for ``methods`` (CRV1, reference
    only) and, with ``bootstrap``, the headline wild cluster score bootstrap row
    (:func:`pbr.fit.inference.few_cluster_rows`, ``logit_score_wcb``, with its interval)."""
    parts = [models.fit_did(df, spec, methods=methods)]
    if bootstrap is not None:
        parts.append(
            inference.few_cluster_rows(
                df, spec, methods=("logit_score_wcb",), reps=bootstrap.reps, seed=bootstrap.seed
            )
        )
    res = pd.concat(parts, ignore_index=True)[RESULT_COLUMNS]
    crv1 = res["method"].str.endswith("_crv1")
    res.loc[crv1, "note"] = [joined("CRV1, reference only", n) for n in res.loc[crv1, "note"].fillna("")]
    return _relabel(res, specification, note)


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
    pre = df.loc[df["post"].astype(int) == 0]
    fake = pd.Timestamp(fake_start)
    label = str(fake.year) if (fake.month, fake.day) == (4, 1) else fake.strftime("%Y%m%d")
    return variant_rows(
        _with_post(pre, fake),
        spec,
        f"placebo_{label}",
        f"placebo: pre-period journeys only, fake start {fake.date()} (expect no effect)",
        bootstrap=bootstrap,
    )


def leave_one_out(
    df: pd.DataFrame,
    spec: FitSpec,
    *,
    methods: tuple[str, ...] = ("logit_crv1",),
    bootstrap: Bootstrap | None = None,
) -> pd.DataFrame:
    """The main model refitted once per pilot area, without that area (with ``bootstrap``, also the
    score bootstrap over the remaining pilots)."""
    in_denominator = df[spec.outcome].notna() & df["pilot"].fillna(False).astype(bool)
    pilots = sorted(df.loc[in_denominator, "area_code"].astype(str).unique())
    parts = []
    for area in pilots:
        log.info("%s/%s leave out %s", spec.cohort, spec.outcome, area)
        sub = df.loc[df["area_code"].astype(str) != area]
        parts.append(
            variant_rows(
                sub,
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
) -> pd.DataFrame:
    """Mason et al. (2015) window: FY2011-12 (pre) against FY2012-13 (post)."""
    start = df["start_date"]
    sub = df.loc[(start >= pd.Timestamp(pre_start)) & (start <= pd.Timestamp(post_end))]
    return variant_rows(
        _with_post(sub, pd.Timestamp(post_start)),
        spec,
        "mason_2015",
        f"journeys starting {pre_start} to {post_end}, post from {post_start}; fixed-effects logit "
        "(area + period FE) stands in for Mason et al.'s multilevel random-intercept logit",
        bootstrap=bootstrap,
    )


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
    bootstrap: Bootstrap = Bootstrap(),
    window_days: int | None = None,
    post_from: str = "2012-04-01",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All variants for one outcome, as rule fit_robustness runs them: (rows in RESULT_COLUMNS,
    event-study coefficient table). ``origin`` is the study's first day (event-study bins count
    from it); the Mason 2015 window runs from ``mason_pre_start`` to ``mason_post_end`` (post from
    ``post_from``, the pilots' start). With ``window_days`` (the outcome's window), also the timing
    variants: ``donut``, ``event_study_pretrend_clear``, ``placebo_clear``."""
    es_table, es_rows = event_study(df, spec, bin_col=event_bin_col, origin=origin, bootstrap=bootstrap)
    parts = [
        es_rows,
        placebo(df, spec, fake_start=placebo_start, bootstrap=bootstrap),
        leave_one_out(df, spec, bootstrap=bootstrap),
        mason_2015(
            df,
            spec,
            pre_start=mason_pre_start,
            post_start=post_from,
            post_end=mason_post_end,
            bootstrap=bootstrap,
        ),
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
