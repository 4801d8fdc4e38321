"""Composition checks: did the scheme change who is in the data, and does adjustment matter?

Initiation fell sharply in the pilots, so an outcome measured only on journeys that
started treatment (or that had a start TOP) compares different people before and after;
and the start-TOP covariates are recorded after the journey starts, so the scheme may
have moved them. Three checks, each in :data:`pbr.fit.spec.RESULT_COLUMNS` rows:

- covariate mix (:func:`mix_rows`): for each covariate and each of its levels (as the model
  frame makes them: strings, 'unknown' for missing), the DiD of the share of journeys in
  that level, outcome ``mix:<covariate>=<level>``;
- denominators (:func:`denominator_rows`): for each outcome whose denominator (in
  :mod:`pbr.registry.outcomes`) is not all journeys, the DiD of the share of journeys in
  it (the analysis table has the outcome NaN outside its denominator), outcome
  ``denominator:<outcome>``;
- adjustment sets (:func:`adjustment_rows`, :func:`adjustment_sets`): the main DiD without
  covariates (specification ``unadjusted``), with the demographic covariates only
  (``demographics``) and, for an outcome decided at the start whose main model omits the
  start-TOP covariates, with every covariate (``all_covariates``); the main specification is
  ``fit_did``'s.

Shares are fitted as linear probability models with area and period fixed effects and no
covariates, on all journeys of the cohort, by the functions every other row comes from:
:func:`pbr.fit.models.fit_did` (``lpm_crv1``, for reference) and
:func:`pbr.fit.inference.few_cluster_rows` (``lpm_wcb_webb``, the restricted wild cluster
bootstrap, whose size holds with 8 treated areas), specification ``composition``. Their
model frame drops areas and periods in which the share is 0 or 1 throughout (e.g. an area
with no journey of a rare level): such rows do not move an LPM's DiD much but are
reported in ``dropped_rows`` and the note, as for every outcome. Nothing here is a new
statistic: the rows are the existing estimators applied to 0/1 columns built here, and the
test suite checks a share's DiD against a brute-force OLS with dummies.

Shares are always fitted by the ``exact`` engine (the columns' names, e.g.
``mix:sex=F``, are not formula names).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace

import pandas as pd

from pbr.fit import inference, models
from pbr.fit.draws import Bootstrap
from pbr.fit.robustness import relabel
from pbr.fit.spec import FitSpec, joined, leaves_out_covariates, results_frame
from pbr.registry.outcomes import OUTCOMES

log = logging.getLogger(__name__)

#: The specification of the share rows (covariate mix and denominators).
COMPOSITION = "composition"
#: Outcome-name prefixes of the share rows.
MIX_PREFIX = "mix:"
DENOMINATOR_PREFIX = "denominator:"
#: The registry's wording of an unrestricted denominator.
ALL_JOURNEYS = "all journeys"
#: Methods of the share rows and of the adjustment rows.
SHARE_METHODS = ("lpm_crv1", "lpm_wcb_webb")
ADJUSTMENT_METHODS = ("logit_crv1", "logit_score_wcb")
#: The note on the mix rows of a covariate recorded after the journey starts.
POST_START_NOTE = "recorded at the start TOP, after the journey starts: the scheme may have changed it"
#: Columns of the analysis table a share's model frame needs besides the share itself.
DESIGN_COLUMNS = ("area_code", "analysis_area", "pilot", "did", "post", "start_date")


def covariate_levels(analysis: pd.DataFrame, covariate: str) -> pd.Series:
    """The covariate as the model frame makes it: strings, 'unknown' for missing."""
    return analysis[covariate].astype("string").fillna("unknown").astype(str)


def mix_name(covariate: str, level: str) -> str:
    """The outcome name of a covariate level's share: ``mix:<covariate>=<level>``."""
    return f"{MIX_PREFIX}{covariate}={level}"


def restricted_denominators(outcomes: Sequence[str]) -> tuple[str, ...]:
    """Those of ``outcomes`` whose registry denominator is not all journeys, in registry order."""
    return tuple(o.name for o in OUTCOMES if o.name in outcomes and o.denominator != ALL_JOURNEYS)


def share_rows(
    analysis: pd.DataFrame,
    spec: FitSpec,
    indicator: pd.Series,
    note: str,
    bootstrap: Bootstrap,
) -> pd.DataFrame:
    """The DiD of the share of journeys with ``indicator`` (0/1, row-aligned with ``analysis``):
    rows ``lpm_crv1`` and ``lpm_wcb_webb`` for ``spec.outcome`` (the share's name), no
    covariates, specification ``composition``, ``note`` before each row's own."""
    spec = replace(spec, covariates=(), engine="exact")
    present = [c for c in DESIGN_COLUMNS if c in analysis.columns]
    frame = analysis[[*present, spec.period_col]].copy()
    frame[spec.outcome] = indicator.to_numpy(dtype="int64")
    crv1 = models.fit_did(frame, spec, methods=("lpm_crv1",))
    wcb = inference.few_cluster_rows(
        frame, spec, reps=bootstrap.reps, seed=bootstrap.seed, methods=("lpm_wcb_webb",)
    )
    return relabel(pd.concat([crv1, wcb], ignore_index=True), COMPOSITION, note)


def mix_rows(
    analysis: pd.DataFrame,
    spec: FitSpec,
    covariates: Sequence[str],
    post_start_covariates: Sequence[str],
    bootstrap: Bootstrap,
) -> pd.DataFrame:
    """The DiD of the share of journeys in each level of each covariate (:func:`share_rows`;
    ``spec`` gives cohort, period and confidence level); none for a covariate with one level in
    the data. The rows of ``post_start_covariates`` carry :data:`POST_START_NOTE`."""
    parts = []
    for covariate in covariates:
        values = covariate_levels(analysis, covariate)
        levels = sorted(values.unique())
        if len(levels) < 2:  # e.g. substance_group in the alcohol cohort: a share of 1 everywhere
            log.info("%s composition: %s has one level only; no mix to check", spec.cohort, covariate)
            continue
        for i, level in enumerate(levels, 1):
            log.info("%s composition: %s (level %d of %d)", spec.cohort, covariate, i, len(levels))
            note = joined(
                f"share of journeys with {covariate} = {level} among all journeys",
                POST_START_NOTE if covariate in post_start_covariates else "",
            )
            level_spec = replace(spec, outcome=mix_name(covariate, level))
            parts.append(share_rows(analysis, level_spec, values.eq(level), note, bootstrap))
    return results_frame([]) if not parts else pd.concat(parts, ignore_index=True)


def denominator_rows(
    analysis: pd.DataFrame, spec: FitSpec, outcomes: Sequence[str], bootstrap: Bootstrap
) -> pd.DataFrame:
    """The DiD of the share of journeys in each restricted denominator among ``outcomes``
    (:func:`restricted_denominators`): the outcome not missing, outcome ``denominator:<name>``."""
    parts = []
    for entry in OUTCOMES:
        if entry.name not in restricted_denominators(outcomes):
            continue
        log.info("%s composition: denominator of %s", spec.cohort, entry.name)
        note = (
            f"share of journeys in the denominator of {entry.name} ({entry.denominator}) among all journeys"
        )
        den_spec = replace(spec, outcome=f"{DENOMINATOR_PREFIX}{entry.name}")
        parts.append(share_rows(analysis, den_spec, analysis[entry.name].notna(), note, bootstrap))
    return results_frame([]) if not parts else pd.concat(parts, ignore_index=True)


def adjustment_rows(
    analysis: pd.DataFrame,
    spec: FitSpec,
    adjustment_sets: Mapping[str, Sequence[str]],
    bootstrap: Bootstrap,
) -> pd.DataFrame:
    """The main DiD of ``spec.outcome`` with each adjustment set (specification name ->
    covariates, e.g. ``unadjusted``: none, ``demographics``: those recorded before treatment
    starts): ``logit_crv1`` (:func:`pbr.fit.models.fit_did`) and ``logit_score_wcb``
    (:func:`pbr.fit.inference.few_cluster_rows`); the note names the covariates."""
    parts = []
    for name, covariates in adjustment_sets.items():
        log.info("%s/%s adjustment set %s", spec.cohort, spec.outcome, name)
        set_spec = replace(spec, covariates=tuple(covariates), engine="exact")
        crv1 = models.fit_did(analysis, set_spec, methods=("logit_crv1",))
        wcb = inference.few_cluster_rows(
            analysis,
            set_spec,
            reps=bootstrap.reps,
            seed=bootstrap.seed,
            methods=("logit_score_wcb",),
        )
        note = f"covariates: {', '.join(covariates) if covariates else 'none'}"
        parts.append(relabel(pd.concat([crv1, wcb], ignore_index=True), name, note))
    return results_frame([]) if not parts else pd.concat(parts, ignore_index=True)


def adjustment_sets(
    outcome: str, models: Mapping, demographic_covariates: Sequence[str]
) -> dict[str, list[str]]:
    """The adjustment sets ``outcome``'s main DiD is fitted with beside its main covariates:
    none (``unadjusted``), ``demographic_covariates`` (``demographics``) and, for an outcome whose
    main model omits covariates (:func:`pbr.fit.spec.outcome_covariates`: one decided at the start),
    every covariate (``all_covariates``), so that the table shows what the rule changes."""
    sets = {"unadjusted": [], "demographics": list(demographic_covariates)}
    if leaves_out_covariates(outcome, models):
        sets["all_covariates"] = list(models["covariates"])
    return sets


def adjusted_outcomes(
    outcomes: Sequence[str], robustness_outcomes: Sequence[str], models: Mapping
) -> list[str]:
    """The outcomes of ``outcomes`` with adjustment rows: the robustness outcomes and every outcome
    whose main model omits covariates (:func:`adjustment_sets`), in ``outcomes``' order."""
    return [o for o in outcomes if o in robustness_outcomes or leaves_out_covariates(o, models)]


def composition_table(
    analysis: pd.DataFrame,
    spec: FitSpec,
    *,
    share_outcomes: Sequence[str],
    adjustments: Mapping[str, Mapping[str, Sequence[str]]],
    post_start_covariates: Sequence[str],
    bootstrap: Bootstrap,
) -> pd.DataFrame:
    """Every composition row of one cohort (``spec``: cohort, covariates, period, confidence):
    the mix of ``spec.covariates``, the denominators of ``share_outcomes`` and, per outcome of
    ``adjustments``, its adjustment sets (name -> covariates; :func:`adjustment_sets`)."""
    parts = [
        mix_rows(analysis, spec, spec.covariates, post_start_covariates, bootstrap),
        denominator_rows(analysis, spec, share_outcomes, bootstrap),
    ]
    for outcome, sets in adjustments.items():
        parts.append(adjustment_rows(analysis, replace(spec, outcome=outcome), sets, bootstrap))
    return results_frame(pd.concat(parts, ignore_index=True).to_dict("records"))
