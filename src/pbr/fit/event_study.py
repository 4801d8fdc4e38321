"""The event study of the DiD: pilot x period-bin interactions and their joint pre-trend test.

:func:`event_study` takes the analysis-table-like frame (columns area_code, pilot, did, post,
quarter, half_year, start_date, the outcome and the covariates) and returns the tidy
coefficient table (``EVENT_STUDY_COLUMNS``) and summary rows in
``pbr.fit.spec.RESULT_COLUMNS``. Only 8 areas are treated, so CRV1 over-rejects
(bench/bench_pretrend.py: the CRV1 pre-trend tests reject a true null far more often than
5%); the pre-trend test therefore carries restricted wild cluster bootstraps beside its
CRV1 rows, which stay for reference only (their note says so).

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
  (:func:`pbr.fit.draws.area_webb_weights`; settings :class:`pbr.fit.draws.Bootstrap`, from config
  ``models.inference``). The tidy coefficient table (``EVENT_STUDY_COLUMNS``, ``specification``
  ``event_study``) holds the CRV1 models' pilot x bin coefficients.
- ``event_study_pretrend_clear`` (:func:`pbr.fit.robustness.event_study_clear`, the timing
  sensitivity; table specification ``event_study_clear``): the same event study with another
  reference bin, and only the pre-period bins clear of the start tested (``test_after_ref``).

Model conventions are those of ``pbr.fit.models.fit_did``: logit and LPM with area and period fixed
effects, CRV1 by area (pyfixest small-sample defaults), z-based intervals, areas, periods
and covariate levels without outcome variation dropped and reported; the same three engines
(``engine="exact"``, ``"pyfixest"`` or ``"statsmodels"``).

Every row carries ``status`` and ``min_cell_events`` from the checks of ``pbr.fit.estimability``
(``estimability`` before, ``fit_check`` after each fit). The event study adds
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

from pbr.fit import design, joint, library_engine, models
from pbr.fit.counts import FREQ, journeys
from pbr.fit.draws import Bootstrap, area_assignments, area_webb_weights
from pbr.fit.estimability import Estimability, estimability, fit_check, merge, verdict
from pbr.fit.frame import drop_note, drop_uninformative, model_rows, post_start
from pbr.fit.randomisation import few_assignments_check, ri_pvalue
from pbr.fit.spec import (
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
from pbr.fit.timing import BIN_MONTHS, bin_start

log = logging.getLogger(__name__)

#: The columns of the event-study coefficient table (:func:`event_study`).
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
        return bin_start(self.origin, self.column, b).date() if self.column in BIN_MONTHS else pd.NaT


#: The event study's pre-trend methods: CRV1 Wald tests (reference only) and the restricted
#: wild cluster bootstraps of the same hypothesis (:mod:`pbr.fit.joint`).
EVENT_STUDY_METHODS = ("logit_crv1", "lpm_crv1", "logit_score_wcb", "lpm_wcb_webb", "logit_ri_t", "lpm_ri_t")
BOOTSTRAP_METHODS = ("logit_score_wcb", "lpm_wcb_webb")
#: Randomisation inference of the pre-trend test on the pre-period journeys (:meth:`_EventStudy.randomisation`).
RI_METHODS = ("logit_ri_t", "lpm_ri_t")


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
        if method in RI_METHODS:  # on the pre period only: the full model's checks do not apply
            summary.append(study.randomisation(method, check if check is not None else verdict()))
            continue
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

    def randomisation(self, method: str, pre_check: Estimability) -> dict:
        """The summary row of randomisation inference of the pre-trend test (:data:`RI_METHODS`).

        On the pre-period journeys of the tested bins and the reference only, where the sharp
        null "no journey's outcome depends on which areas are pilots" can hold (the post
        period's effect would break it): the studentised score statistic of the pilot x bin
        terms (:func:`pbr.fit.joint.ri_joint_stats`) for the observed pilots and for
        re-assignments of as many pilots among the areas (:func:`pbr.fit.draws.area_assignments`),
        p = (1 + #{T* >= T}) / (1 + R). Exact when the pilots were drawn at random among the
        areas; studentising guards against pilots that are larger or smaller than the rest.
        """
        spec, bins, family = self.spec, self.bins, family_of(method)
        col = bins.column
        in_test = self.mf[col].map(lambda b: bins.tested(int(b))).to_numpy(dtype=bool)
        sub, dropped_areas, dropped_rows = drop_uninformative(
            self.mf.loc[(self.mf["post"].to_numpy() <= 0) & in_test], spec.outcome, spec.covariates
        )
        pilot = sub["pilot"].fillna(False).astype(bool)
        with_pilots = {int(b) for b in sub.loc[pilot, col].unique()}
        tested = [b for b in bins.all if b != bins.ref and bins.tested(b) and b in with_pilots]
        row_base = self.base | {"n": journeys(sub)}
        drop = drop_note(self.base["dropped_clusters"], self.base["dropped_rows"])
        fatal = []
        if not len(sub):
            fatal.append(f"no pre-period journeys in the tested {col} bins with outcome variation")
        elif pilot.all() or not pilot.any():
            fatal.append(
                f"no {'control' if pilot.all() else 'pilot'} areas with pre-period journeys of the tested bins"
            )
        elif sub.loc[pilot, "area_code"].nunique() < 2:
            fatal.append(
                "a single pilot area with pre-period journeys of the tested bins: randomisation inference "
                "needs at least 2"
            )
        elif bins.ref not in with_pilots:
            fatal.append(f"no pilot journeys in the reference {col} bin {bins.ref} of the pre period")
        if not tested:
            fatal.append(
                f"no tested pre-period pilot x {col} bin besides the reference ({bins.ref}): no pre-trend to test"
            )
        if pre_check.status == "not_estimable" or fatal:
            return self._not_estimable(row_base, method, [pre_check, verdict(fatal)], drop, journeys(sub))
        d = design.build_design(sub, spec.outcome, list(spec.covariates))
        observed = d.treated.astype(float)[None, :]
        b = self.bootstrap
        assign = np.vstack([observed, area_assignments(d.area_codes, d.treated, b.ri_reps, b.seed)])
        log.info("%s/%s event study %s: %d re-assignments", spec.cohort, spec.outcome, method, b.ri_reps)
        stats = joint.ri_joint_stats(d, sub[col].to_numpy(), tested, assign, family)
        alpha = 1 - spec.confidence_level
        checks = [
            pre_check,
            few_assignments_check(np.zeros(d.n_areas, dtype=np.int64), d.treated, alpha),
            verdict(
                [] if np.isfinite(stats[0]) else ["the statistic is not finite (singular score covariance)"]
            ),
        ]
        status, reason = merge(*checks)
        if status == "not_estimable":
            return self._not_estimable(row_base, method, checks, drop, journeys(sub))
        pre_drop = drop_note(dropped_areas, dropped_rows)
        note = joined(
            reason,
            f"randomisation inference of the joint test that the {len(tested)} pre-period pilot x {col} "
            f"coefficients are 0 (reference bin {bins.ref} = {bins.start(bins.ref)}), on the pre-period journeys "
            f"only: studentised score statistic (model without the terms, "
            f"{'logit' if family == 'logit' else 'least squares'}; cluster-robust; chi2 scale) for the "
            f"{int(d.treated.sum())} pilots and {b.ri_reps} re-assignments among {d.n_areas} areas by area code "
            f"(seed {b.seed}); p = share T* >= T; estimate = the statistic",
            bins.untested_words(),
            joined(drop, pre_drop.replace("dropped", "dropped from the pre period") if pre_drop else ""),
        )
        return statistic_row(
            row_base, method, "wald_chi2", float(stats[0]), ri_pvalue(stats), status=status, note=note
        )

    def _not_estimable(self, row_base: dict, method: str, checks: list, drop: str, n: int) -> dict:
        reason = merge(*checks)[1]
        log.warning("%s/%s event study %s: %s", self.spec.cohort, self.spec.outcome, method, reason)
        return self.empty(row_base, method, reason, drop, n=n)

    def _design(self, data: _EventFrame) -> design.Design | None:
        """The exact engine's design of the frame fitted (None for pyfixest and statsmodels)."""
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
        dropped_rows = journeys(mf, cells) + extra
        listed = ", ".join(f"{b} ({start(b)})" for b in separated)
        caveats.append(
            f"pilot x {bin_col} bin(s) {listed} without outcome variation: their {journeys(mf, cells)} journeys and "
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

    With ``model_design`` (the design of ``mf``), the exact engine fits them; without, pyfixest
    or, with ``spec.engine`` ``statsmodels``, :func:`pbr.fit.library_engine.fit_terms`.
    Terms collinear with the fixed effects are left out, by every engine.
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
    if spec.engine == "statsmodels":
        lib = library_engine.fit_terms(mf, spec.outcome, spec.covariates, names, logit)
        return _TermsResult(lib.coef, lib.vcov, lib.n, lib.converged, lib.eta)
    if FREQ in mf.columns:
        raise ValueError(
            f"rows with frequency weights ({FREQ!r}) need the exact or statsmodels engine, not pyfixest"
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
