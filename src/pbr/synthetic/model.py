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
    + log_or[cohort] * pilot * post + xb + area_effect[area]``.
    """

    #: [cohort, group (0 other, 1 pilot)]
    intercept: dict[str, np.ndarray]
    #: [cohort]
    post_effect: dict[str, np.ndarray]
    #: the planted DiD log odds ratio, [cohort]
    log_or: dict[str, np.ndarray]
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
    ) -> np.ndarray:
        """The logit of ``outcome`` for journeys with these cohorts, groups, periods, areas and ``xb``."""
        intercept, post_effect, log_or = (
            self.intercept[outcome],
            self.post_effect[outcome],
            self.log_or[outcome],
        )
        return (
            intercept[cohort, treated.astype(np.int64)]
            + post_effect[cohort] * post
            + log_or[cohort] * (treated & post)
            + xb
            + self.area_effect[outcome][area]
        )


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
) -> None:
    """Set ``outcome``'s intercepts so that pilot-pre, other-pre and other-post rates hit the targets.

    ``samples[(group, period)]`` holds (xb + area effect) for journeys of that cell, and
    ``weights[(group, period)]`` optional weights. Records the calibration in the model.
    """
    name = ("drug", "alcohol")[cohort]
    tgt = getattr(getattr(params.rates, name), outcome)
    w = weights or {}
    a_p = solve_intercept(samples[(1, 0)], tgt.pilot_pre, w.get((1, 0)))
    a_o = solve_intercept(samples[(0, 0)], tgt.other_pre, w.get((0, 0)))
    post_effect = solve_intercept(samples[(0, 1)] + a_o, tgt.other_post, w.get((0, 1)))
    log_or = model.log_or[outcome][cohort]
    model.intercept[outcome][cohort] = (a_o, a_p)
    model.post_effect[outcome][cohort] = post_effect
    x = samples[(1, 1)]
    ww = w.get((1, 1))
    implied = float(np.average(sigmoid(a_p + post_effect + log_or + x), weights=ww))
    model.calibration[name][outcome] = dict(
        targets=dataclasses.asdict(tgt),
        intercept_pilot=round(a_p, 6),
        intercept_other=round(a_o, 6),
        post_effect=round(post_effect, 6),
        log_did_or=round(float(log_or), 6),
        did_or=round(float(np.exp(log_or)), 6),
        implied_pilot_post=round(implied, 6),
    )
