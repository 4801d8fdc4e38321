"""What a fit is of, and the rows every fit returns.

:class:`FitSpec` names one model: the cohort and outcome, the covariates, the period of the
fixed effects, the confidence level and the engine. Every fitting function of the stage
(:func:`pbr.fit.models.fit_did`, :func:`pbr.fit.inference.few_cluster_rows`,
:func:`pbr.fit.event_study.event_study` and the variants of :mod:`pbr.fit.robustness`) takes
one, and the scripts build it from the configuration with :meth:`FitSpec.from_config`.

Every fitting function returns rows in :data:`RESULT_COLUMNS`, built here and only here:
:func:`base_row` (what the model frame holds: rows, events, areas, drops), then per method
:func:`estimate_row` (numbers on the reporting scale), :func:`statistic_row` (a test
statistic, e.g. the pre-trend Wald test) or :func:`empty_row` (not estimable: no numbers,
the reason in ``note``), stacked by :func:`results_frame`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from pbr.fit.counts import events, journeys
from pbr.registry.methods import METHODS
from pbr.registry.outcomes import start_decided_outcomes

#: The columns of every result row, in order.
RESULT_COLUMNS = [
    "cohort",
    "outcome",
    "specification",
    "method",
    "scale",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "beta",
    "se",
    "n",
    "events",
    "n_clusters",
    "n_treated_clusters",
    "dropped_clusters",
    "dropped_rows",
    "note",
    "status",
    "min_cell_events",
    "p_holm",
    "p_romano_wolf",
    "mde_low",
    "mde_high",
]

#: Values of the ``status`` column, from best to worst.
STATUSES = ("ok", "caveat", "not_estimable")

#: The engines that fit the main models (the same numbers; see :mod:`pbr.fit.models`).
ENGINES = ("exact", "pyfixest", "statsmodels")


def check_engine(engine: str) -> None:
    """Raise ValueError unless ``engine`` is one of :data:`ENGINES`."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")


@dataclass(frozen=True)
class FitSpec:
    """One model: ``outcome`` in ``cohort`` on ``covariates``, period fixed effects by
    ``period_col``, intervals at ``confidence_level``, fitted by ``engine``."""

    cohort: str
    outcome: str
    covariates: tuple[str, ...] = ()
    period_col: str = "quarter"
    confidence_level: float = 0.95
    engine: str = "exact"

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", tuple(self.covariates))
        check_engine(self.engine)

    @classmethod
    def from_config(cls, cohort: str, outcome: str, models: Mapping, period_unit: str) -> FitSpec:
        """The spec a rule fits: the ``models`` section of the config (covariates as
        :func:`outcome_covariates` gives them, confidence level, engine) and the study's period
        unit. A rule that fits no main model (the few-cluster inference has its own engine) is
        not given ``engine``: the default then."""
        return cls(
            cohort,
            outcome,
            outcome_covariates(outcome, models),
            period_unit,
            float(models["confidence_level"]),
            models.get("engine", ENGINES[0]),
        )

    @property
    def z(self) -> float:
        """The normal quantile of the confidence level (intervals beta +- z SE)."""
        return normal_quantile(self.confidence_level)


#: Values of ``models.start_outcome_covariates``.
START_OUTCOME_COVARIATES = ("before_start", "all")


def outcome_covariates(outcome: str, models: Mapping) -> tuple[str, ...]:
    """The covariates of ``outcome``'s main model: ``models["covariates"]``, less the start-TOP
    covariates (``models["robustness"]["post_start_covariates"]``) for an outcome decided at or
    before treatment starts (:func:`pbr.registry.outcomes.start_decided_outcomes`) when
    ``models["start_outcome_covariates"]`` is 'before_start' (the default): the start TOP is mostly
    recorded when an intervention starts, so its 'no TOP' category partly is such an outcome."""
    covariates = tuple(models["covariates"])
    rule = models["start_outcome_covariates"]
    if rule not in START_OUTCOME_COVARIATES:
        raise ValueError(
            f"models.start_outcome_covariates must be one of {START_OUTCOME_COVARIATES}, not {rule!r}"
        )
    if rule == "all" or outcome not in start_decided_outcomes():
        return covariates
    at_start_top = set(models["robustness"]["post_start_covariates"])
    return tuple(c for c in covariates if c not in at_start_top)


def leaves_out_covariates(outcome: str, models: Mapping) -> bool:
    """Whether ``outcome``'s main model leaves out some of ``models["covariates"]``
    (:func:`outcome_covariates`: an outcome decided at the start under 'before_start')."""
    return outcome_covariates(outcome, models) != tuple(models["covariates"])


def normal_quantile(confidence_level: float) -> float:
    """z such that a normal interval beta +- z SE has this confidence level."""
    return float(special.ndtri(0.5 + confidence_level / 2))


def normal_p_value(beta: float, se: float) -> float:
    """Two-sided p-value of beta / se against the standard normal."""
    return float(2 * special.ndtr(-abs(beta / se)))


def odds_ratio(log_odds: float) -> float:
    """exp(log_odds) without an overflow error (``inf``; ``nan`` stays ``nan``)."""
    with np.errstate(over="ignore"):
        return float(np.exp(log_odds))


def family_of(method: str) -> str:
    """'logit' for logit_* methods, else 'linear'."""
    return "logit" if method.startswith("logit") else "linear"


def scale_of(method: str) -> str:
    """The reporting scale of a method's estimate, as the method vocabulary
    (:data:`pbr.registry.methods.METHODS`) gives it: odds ratio (logit) or risk difference (LPM,
    and a logit's average effect on the treated: a difference of probabilities); a method not
    in the vocabulary by its family."""
    known = METHODS.get(method)
    if known is not None:
        return known.reporting_scale
    return "odds_ratio" if family_of(method) == "logit" else "risk_difference"


def joined(*notes: str) -> str:
    """The non-empty notes, joined by '; '."""
    return "; ".join(x for x in notes if x)


def base_row(
    spec: FitSpec,
    mf: pd.DataFrame,
    dropped_clusters: int,
    dropped_rows: int,
    min_cell_events: int,
    specification: str = "main",
) -> dict:
    """The columns a model frame ``mf`` fixes for every method fitted on it."""
    pilot = mf["pilot"].fillna(False).astype(bool)
    return {
        "cohort": spec.cohort,
        "outcome": spec.outcome,
        "specification": specification,
        "n": journeys(mf),
        "events": events(mf, spec.outcome),
        "n_clusters": int(mf["area_code"].nunique()),
        "n_treated_clusters": int(mf.loc[pilot, "area_code"].nunique()),
        "dropped_clusters": dropped_clusters,
        "dropped_rows": dropped_rows,
        "min_cell_events": min_cell_events,
    }


def estimate_row(
    base: dict,
    method: str,
    beta: float,
    lo: float,
    hi: float,
    p_value: float,
    *,
    status: str,
    note: str,
    se: float = math.nan,
    **more: object,
) -> dict:
    """A row with numbers: ``beta`` and its interval ``lo``-``hi`` on the coefficient scale,
    reported on the method's scale (:func:`scale_of`; odds ratio: exp, ``inf`` rather than an
    overflow error; a risk difference, the ATT of a logit included, as it is); ``more``
    overrides columns of ``base`` (e.g. ``n`` of the fit)."""
    to_scale = odds_ratio if scale_of(method) == "odds_ratio" else float
    return (
        base
        | more
        | {
            "method": method,
            "scale": scale_of(method),
            "estimate": to_scale(beta),
            "ci_low": to_scale(lo),
            "ci_high": to_scale(hi),
            "p_value": p_value,
            "beta": beta,
            "se": se,
            "note": note,
            "status": status,
        }
    )


def empty_row(base: dict, method: str, reason: str, *notes: str) -> dict:
    """A not-estimable row: no numbers, the reason (then ``notes``) in ``note``."""
    return base | {
        "method": method,
        "scale": scale_of(method),
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "beta": np.nan,
        "se": np.nan,
        "note": joined(reason, *notes),
        "status": "not_estimable",
    }


def results_frame(rows: Iterable[dict]) -> pd.DataFrame:
    """Rows as a frame in :data:`RESULT_COLUMNS` (empty with those columns when there are none)."""
    return pd.DataFrame(list(rows), columns=RESULT_COLUMNS)


def combine_results(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Stack per-model results into the tidy results table, sorted for stable output."""
    res = pd.concat(parts, ignore_index=True)
    missing = [c for c in RESULT_COLUMNS if c not in res.columns]
    if missing:
        raise ValueError(
            f"result parts lack the column(s) {missing}: written by an older version of the fit code; "
            "re-run the fit rules"
        )
    res = res[RESULT_COLUMNS]
    return res.sort_values(["cohort", "outcome", "specification", "method"], kind="mergesort").reset_index(
        drop=True
    )


def statistic_row(
    base: dict,
    method: str,
    scale: str,
    statistic: float,
    p_value: float,
    *,
    status: str,
    note: str,
    **more: object,
) -> dict:
    """A row whose estimate is a test statistic on ``scale`` (e.g. ``wald_chi2``): no interval,
    coefficient or standard error; ``more`` overrides columns of ``base``."""
    return (
        base
        | more
        | {
            "method": method,
            "scale": scale,
            "estimate": statistic,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": p_value,
            "beta": np.nan,
            "se": np.nan,
            "note": note,
            "status": status,
        }
    )
