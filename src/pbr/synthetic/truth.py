"""The truth behind the extract: true journeys with their covariates and realised outcomes, and
the effects record (planted ORs, calibration, realised rates and raw DiD ORs, counts)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pbr.synthetic.areas import Areas, sub_area_codes
from pbr.synthetic.columns import bool_col, code_col, date_col, id_array, int_col, person_ids, string_col
from pbr.synthetic.dates import NA
from pbr.synthetic.deaths import DeathRegister
from pbr.synthetic.discharges import discharge_outcomes
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.model import Model
from pbr.synthetic.offences import OffenceRegister
from pbr.synthetic.outcomes import LateOutcomes, TopCoverage
from pbr.synthetic.params import DISCHARGE_OUTCOMES, SyntheticParams
from pbr.synthetic.population import Population
from pbr.synthetic.reference import AGE_GROUPS, COEFFICIENTS, INJECTING, REFERRAL_SOURCES, SUBSTANCE_GROUPS
from pbr.synthetic.simulation import LoopCounts


@dataclass
class Truth:
    """Per journey and outcome: the value the study's default definitions find on the true
    persons, and where the journey is outside the outcome's denominator (<NA> in the truth)."""

    outcomes: dict[str, tuple[np.ndarray, np.ndarray]]


def realised_outcomes(
    journeys: Journeys,
    coverage: TopCoverage,
    late: LateOutcomes,
    acquisitive_crime: np.ndarray,
    population: Population,
) -> Truth:
    """The outcomes as realised in the records (equal to the planted draws except drug-related
    death and acquisitive crime, where a person's overlapping windows can share one event)."""
    journeys, population = journeys, population
    n = len(journeys.person)
    death = population.death[journeys.person]
    drd_r = (
        population.drug_death[journeys.person]
        & (death != NA)
        & (death - journeys.start >= 0)
        & (death - journeys.start <= 365)
    )
    Dv = journeys.end != NA
    injector = journeys.cov.injecting == 0
    obs = coverage.observed
    never = np.zeros(n, dtype=bool)
    declined = Dv & (journeys.reason == 88) & (journeys.end - journeys.start <= 365)
    dis = discharge_outcomes(journeys)
    return Truth(
        outcomes={
            "treatment_initiation": (journeys.initiated, ~journeys.triaged),
            "waiting_over_3_weeks": (journeys.waited, ~journeys.initiated),
            "successful_completion": (journeys.successful_completion, never),
            "completion_without_representation": (journeys.completion_without_representation, never),
            "abstinence": (late.abstinence, ~obs),
            "non_injecting": (late.non_injecting, ~(obs & injector)),
            "housing_problem": (late.housing_problem, ~obs),
            "drug_related_death": (drd_r, never),
            "acquisitive_crime": (acquisitive_crime, never),
            "representation": (
                journeys.successful_completion & ~journeys.completion_without_representation,
                ~journeys.successful_completion,
            ),
            "declined": (declined, never),
            "retention": (dis.retention, dis.retention_na),
            "unplanned_discharge": (dis.unplanned_discharge, dis.unplanned_discharge_na),
        }
    )


def truth_journeys(
    journeys: Journeys, truth: Truth, coverage: TopCoverage, episodes_per_journey: np.ndarray, areas: Areas
) -> pd.DataFrame:
    """The truth table ``journeys``: one row per true journey."""
    cov = journeys.cov
    n = len(journeys.person)
    outcome_cols = {o: bool_col(v, na) for o, (v, na) in truth.outcomes.items()}
    cohort = np.where(journeys.cohort == 1, "alcohol", "drug")
    period = np.select([journeys.period == 0, journeys.period == 1], ["pre", "post"], "outside")
    return pd.DataFrame(
        {
            "true_journey_id": string_col(id_array("J", np.arange(1, n + 1), 8)),
            "true_person_id": person_ids(journeys.person),
            "cohort": string_col(cohort),
            "pilot": bool_col(journeys.treated),
            "period": string_col(period),
            "adult": bool_col(journeys.adult),
            "in_study": bool_col(journeys.adult & (journeys.period >= 0) & (journeys.group < 2)),
            "area_code": code_col(areas.code, journeys.area),
            "sub_area": code_col(("", "west_kent", "east_kent"), sub_area_codes(areas, journeys.unit)),
            "start_date": date_col(journeys.start),
            "end_date": date_col(journeys.end),
            "discharge_reason": int_col(journeys.reason, journeys.reason < 0),
            "n_episodes": int_col(episodes_per_journey),
            "age": int_col(cov.age),
            "age_group": code_col(AGE_GROUPS, cov.age_group),
            "female": bool_col(cov.female),
            "substance_group": code_col(SUBSTANCE_GROUPS, cov.group),
            "injecting": code_col(INJECTING, cov.injecting),
            "previously_treated": bool_col(cov.previously_treated),
            "referral_source": code_col(REFERRAL_SOURCES, cov.referral),
            "accommodation_need": bool_col(cov.accommodation_need),
            "baseline_days_primary": int_col(cov.days_used),
            "baseline_quality_of_life": int_col(cov.quality_of_life),
            "baseline_psych_health": int_col(cov.psych_health),
            "baseline_phys_health": int_col(cov.phys_health),
            "has_start_top": bool_col(coverage.has_start_top),
            "has_review_top": bool_col(coverage.has_review_top),
            **outcome_cols,
        }
    )


def _realised(journeys: Journeys, truth: Truth) -> tuple[dict, dict]:
    """Per cohort: each outcome's rate and denominator per cell (pilot/other x pre/post) with the
    raw DiD OR, and the study journeys per cell."""
    realised: dict = {}
    counts: dict = {}
    ins = journeys.adult & (journeys.period >= 0) & (journeys.group < 2)
    for ci, cohort in enumerate(("drug", "alcohol")):
        realised[cohort] = {}
        cells = {
            f"{gname}_{per}": ins
            & (journeys.cohort == ci)
            & (journeys.treated == g)
            & (journeys.period == pi)
            for g, gname in ((True, "pilot"), (False, "other"))
            for pi, per in ((0, "pre"), (1, "post"))
        }
        for o, (value, na) in truth.outcomes.items():
            cell: dict = {}
            for key, m in cells.items():
                v = value[m & ~na]
                cell[key] = {"n": len(v), "rate": round(float(v.mean()), 6) if len(v) else None}
            raw = raw_did_or({k: cell[k]["rate"] for k in cell})
            if raw is not None:
                cell["raw_did_or"] = raw
            realised[cohort][o] = cell
        counts[cohort] = {k: int(m.sum()) for k, m in cells.items()}
    return realised, counts


def raw_did_or(rates: dict) -> float | None:
    """The raw DiD OR of four cell rates (pilot/other x pre/post), None unless all are in (0, 1)."""
    r = list(rates.values())
    if not all(x is not None and 0 < x < 1 for x in r):
        return None
    odds = {k: x / (1 - x) for k, x in rates.items()}
    return round(odds["pilot_post"] / odds["pilot_pre"] / (odds["other_post"] / odds["other_pre"]), 6)


def _realised_by_post_year(journeys: Journeys, truth: Truth, second_year_start: int) -> dict:
    """Per cohort and outcome: the post cells' rates per post year (journeys referred before
    ``second_year_start``: first year; from it: second), and each year's raw DiD OR against the
    whole pre window."""
    out: dict = {}
    ins = journeys.adult & (journeys.period >= 0) & (journeys.group < 2)
    year2 = journeys.start >= second_year_start
    years = (("first_year", ~year2), ("second_year", year2))
    for ci, cohort in enumerate(("drug", "alcohol")):
        out[cohort] = {}
        coh = ins & (journeys.cohort == ci)
        for o, (value, na) in truth.outcomes.items():
            rec: dict = {}
            rates: dict = {}
            for g, gname in ((True, "pilot"), (False, "other")):
                v = value[coh & (journeys.treated == g) & (journeys.period == 0) & ~na]
                rates[f"{gname}_pre"] = float(v.mean()) if len(v) else None
            for yname, ym in years:
                for g, gname in ((True, "pilot"), (False, "other")):
                    v = value[coh & (journeys.treated == g) & (journeys.period == 1) & ym & ~na]
                    rate = float(v.mean()) if len(v) else None
                    rates[f"{gname}_post"] = rate
                    rec[f"{gname}_post_{yname}"] = {
                        "n": len(v),
                        "rate": None if rate is None else round(rate, 6),
                    }
                rec[f"raw_did_or_{yname}"] = raw_did_or(rates)
            out[cohort][o] = rec
    return out


def _model_record(params: SyntheticParams) -> dict:
    """The generating model's covariate coefficients, their levels and centring."""
    return {
        "coefficients": {
            o: {k: list(v) if isinstance(v, tuple) else v for k, v in c.items()}
            for o, c in COEFFICIENTS.items()
        },
        "levels": {
            "age_group": AGE_GROUPS,
            "substance_group": SUBSTANCE_GROUPS,
            "injecting": INJECTING,
            "referral_source": REFERRAL_SOURCES,
        },
        "centring": {"baseline_days_primary": 14, "scores": 10},
        "area_sd": params.process.area_sd,
    }


def effects_record(
    params: SyntheticParams,
    model: Model,
    journeys: Journeys,
    truth: Truth,
    targets: np.ndarray,
    deaths: DeathRegister,
    offences: OffenceRegister,
    n_persons: int,
    loop: LoopCounts,
    n_rows: dict[str, int],
    second_year_start: int,
) -> dict:
    """The effects record (``effects.json``): planted ORs (``did_or``: the whole post period's, or
    the first post year's where ``did_or_second_year`` differs), calibration, realised rates (and
    per post year, ``realised_by_post_year``), counts."""
    realised, counts = _realised(journeys, truth)
    t = targets
    target_counts = {
        cohort: {
            f"{g}_{per}": int(t[ci, gi, pi])
            for g, gi in (("pilot", 1), ("other", 0))
            for per, pi in (("pre", 0), ("post", 1))
        }
        for ci, cohort in enumerate(("drug", "alcohol"))
    }
    did = {cohort: dataclasses.asdict(getattr(params.effects, cohort)) for cohort in ("drug", "alcohol")}
    return {
        "did_or": did,
        # the discharge outcomes' ORs hold over the whole post period (no second-year setting)
        "did_or_second_year": {
            c: by_outcome | {o: float(did[c][o]) for o in DISCHARGE_OUTCOMES}
            for c, by_outcome in params.effects_second_year.resolved(params.effects).items()
        },
        "second_year_start": str(np.datetime64(second_year_start, "D")),
        "calibration": model.calibration,
        "realised": realised,
        "realised_by_post_year": _realised_by_post_year(journeys, truth, second_year_start),
        "counts": {"targets": target_counts, "realised": counts, "journeys_total": len(journeys.person)},
        "registers": {
            "deaths_client": deaths.n_client,
            "deaths_unrelated": deaths.n_unrelated,
            "offences_client": offences.n_client,
            "offences_unrelated": offences.n_unrelated,
            "offenders_client": offences.n_client_offenders,
            "offenders_unrelated": offences.n_unrelated_offenders,
        },
        "rows": n_rows,
        "persons": int(n_persons),
        "representations_dropped": int(loop.dropped),
        "representations_dropped_forced": int(loop.forced),
        "clipped_probabilities": dict(sorted(loop.clipped.items())),
        "model": _model_record(params),
        "params": params.to_dict(),
    }
