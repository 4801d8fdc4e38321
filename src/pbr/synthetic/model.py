"""The outcome models: logistic, with area random intercepts, a post-period effect, covariate
effects and the planted difference-in-differences term; and their calibration to target rates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from pbr.synthetic.draws import sigmoid, solve_intercept
from pbr.synthetic.params import OUTCOMES, SyntheticParams
from pbr.synthetic.population import Covariates
from pbr.synthetic.reference import COEFFICIENTS


@dataclass
class Model:
    """Per outcome: the logit's terms, as calibrated so far, and the calibration record.

    The linear predictor of a journey is ``intercept[cohort, pilot] + post_effect[cohort] * post
    + log_or[cohort] * pilot * post + xb + area_effect[area]``, where ``log_or`` is the planted
    log OR of the journey's post year: ``log_or_second_year`` for a journey referred in the second
    post year (from ``Calendar.second_year_start``), ``log_or`` before it. By default the two are
    equal (``effects_second_year`` unset) and the predictor is the same in both years.
    """

    #: [cohort, group (0 other, 1 pilot)]
    intercept: dict[str, np.ndarray]
    #: [cohort]
    post_effect: dict[str, np.ndarray]
    #: the planted DiD log odds ratio, [cohort]
    log_or: dict[str, np.ndarray]
    #: the planted DiD log odds ratio in the second post year, [cohort]
    log_or_second_year: dict[str, np.ndarray]
    #: the area random intercepts, [area] (completion_no_representation shares completion's)
    area_effect: dict[str, np.ndarray]
    #: per cohort name and outcome: targets, intercepts, effects, implied pilot post rate
    calibration: dict

    def linear_predictor(
        self,
        outcome: str,
        cohort: np.ndarray,
        treated: np.ndarray,
        post: np.ndarray,
        area: np.ndarray,
        xb: np.ndarray,
        second_year: np.ndarray | None = None,
    ) -> np.ndarray:
        """The logit of ``outcome`` for journeys with these cohorts, groups, periods, areas and ``xb``;
        ``second_year``: which journeys are referred in the second post year (None: none)."""
        intercept, post_effect = self.intercept[outcome], self.post_effect[outcome]
        return (
            intercept[cohort, treated.astype(np.int64)]
            + post_effect[cohort] * post
            + self.journey_log_or(outcome, cohort, second_year) * (treated & post)
            + xb
            + self.area_effect[outcome][area]
        )

    def journey_log_or(
        self, outcome: str, cohort: np.ndarray, second_year: np.ndarray | None = None
    ) -> np.ndarray:
        """Each journey's planted log OR: its cohort's, of the second post year where ``second_year``."""
        first = self.log_or[outcome][cohort]
        if second_year is None:
            return first
        return np.where(second_year, self.log_or_second_year[outcome][cohort], first)


def draw_area_effects(
    params: SyntheticParams, rng: np.random.Generator, n_areas: int
) -> dict[str, np.ndarray]:
    """Area random intercepts per outcome (shared by completion and its nested outcome)."""
    sd = params.process.area_sd
    effect = {o: rng.normal(0, sd, n_areas) for o in OUTCOMES if o != "completion_without_representation"}
    effect["completion_without_representation"] = effect["successful_completion"]
    return effect


def new_model(params: SyntheticParams, area_effect: dict[str, np.ndarray]) -> Model:
    """The models before calibration: zero intercepts and post effects, the planted log ORs."""
    return Model(
        intercept={o: np.zeros((2, 2)) for o in OUTCOMES},
        post_effect={o: np.zeros(2) for o in OUTCOMES},
        log_or={
            o: np.log([getattr(params.effects.drug, o), getattr(params.effects.alcohol, o)]) for o in OUTCOMES
        },
        log_or_second_year={
            o: np.log(
                [params.effects_second_year.odds_ratio(params.effects, c, o) for c in ("drug", "alcohol")]
            )
            for o in OUTCOMES
        },
        area_effect=area_effect,
        calibration={"drug": {}, "alcohol": {}},
    )


def xb(outcome: str, cov: Covariates) -> np.ndarray:
    """The covariate part of ``outcome``'s logit (coefficients: data/coefficients.yaml)."""
    c = COEFFICIENTS[outcome]
    return (
        np.take(c["age"], cov.age_group)
        + c["female"] * cov.female
        + np.take(c["grp"], cov.group)
        + np.take(c["inj"], cov.injecting)
        + c["prev"] * cov.previously_treated
        + np.take(c["ref"], cov.referral)
        + c["days"] * (cov.days_used - 14)
        + c["qol"] * (cov.quality_of_life - 10)
        + c["psych"] * (cov.psych_health - 10)
        + c["phys"] * (cov.phys_health - 10)
        + c["accom"] * cov.accommodation_need
    )


def calibrate(
    model: Model,
    params: SyntheticParams,
    outcome: str,
    cohort: int,
    samples: dict,
    weights: dict | None = None,
    second_year: np.ndarray | None = None,
) -> None:
    """Set ``outcome``'s intercepts so that pilot-pre, other-pre and other-post rates hit the targets.

    ``samples[(group, period)]`` holds (xb + area effect) for journeys of that cell, and
    ``weights[(group, period)]`` optional weights; ``second_year`` marks the pilot-post sample's
    journeys referred in the second post year (None: none). The intercepts and the post effect
    do not depend on the planted ORs; the implied pilot post rate follows from both years' ORs,
    each journey's own (``implied_pilot_post``), and per year on that year's journeys
    (``implied_pilot_post_first_year``, ``..._second_year``; on the whole sample when the year
    has none). Records the calibration in the model.
    """
    name = ("drug", "alcohol")[cohort]
    tgt = getattr(getattr(params.rates, name), outcome)
    w = weights or {}
    a_p = solve_intercept(samples[(1, 0)], tgt.pilot_pre, w.get((1, 0)))
    a_o = solve_intercept(samples[(0, 0)], tgt.other_pre, w.get((0, 0)))
    post_effect = solve_intercept(samples[(0, 1)] + a_o, tgt.other_post, w.get((0, 1)))
    log_or = model.log_or[outcome][cohort]
    log_or_2 = model.log_or_second_year[outcome][cohort]
    model.intercept[outcome][cohort] = (a_o, a_p)
    model.post_effect[outcome][cohort] = post_effect
    x = samples[(1, 1)]
    ww = w.get((1, 1))
    year2 = np.zeros(len(x), dtype=bool) if second_year is None else np.asarray(second_year, dtype=bool)
    journey_log_or = np.where(year2, log_or_2, log_or) if year2.any() else log_or
    implied = float(np.average(sigmoid(a_p + post_effect + journey_log_or + x), weights=ww))

    def implied_in(year: np.ndarray, lor: float) -> float:
        m = year if year.any() else np.ones(len(x), dtype=bool)
        return float(
            np.average(sigmoid(a_p + post_effect + lor + x[m]), weights=None if ww is None else ww[m])
        )

    model.calibration[name][outcome] = dict(
        targets=dataclasses.asdict(tgt),
        intercept_pilot=round(a_p, 6),
        intercept_other=round(a_o, 6),
        post_effect=round(post_effect, 6),
        log_did_or=round(float(log_or), 6),
        did_or=round(float(np.exp(log_or)), 6),
        implied_pilot_post=round(implied, 6),
        log_did_or_second_year=round(float(log_or_2), 6),
        did_or_second_year=round(float(np.exp(log_or_2)), 6),
        second_year_share=round(float(np.average(year2, weights=ww)), 6) if len(x) else 0.0,
        implied_pilot_post_first_year=round(implied_in(~year2, log_or), 6),
        implied_pilot_post_second_year=round(implied_in(year2, log_or_2), 6),
    )
