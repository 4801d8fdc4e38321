"""The outcomes drawn on the realised journeys: abstinence, non-injecting and housing at review,
and acquisitive crime, each calibrated on the realised sample."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from pbr.synthetic.draws import sigmoid
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.model import Model, calibrate, xb
from pbr.synthetic.params import SyntheticParams


@dataclass
class TopCoverage:
    """Per journey: which TOP interviews the outcomes at review can be observed in."""

    has_start_top: np.ndarray
    #: a review TOP in the review window (days 91-273)
    has_review_top: np.ndarray
    #: both: abstinence, non-injecting and housing are observed
    observed: np.ndarray


@dataclass
class LateOutcomes:
    """Per journey, the planted (latent) outcomes drawn after the month loop."""

    abstinence: np.ndarray
    non_injecting: np.ndarray
    housing_problem: np.ndarray
    #: an acquisitive offence is planted within 12 months (the register realises it)
    acquisitive_crime: np.ndarray


def draw_late_outcomes(
    model: Model,
    params: SyntheticParams,
    journeys: Journeys,
    coverage: TopCoverage,
    post_start: int,
    second_year_start: int,
    rng: np.random.Generator,
) -> LateOutcomes:
    """Calibrate each outcome on the journeys where it is observed, then draw it for every journey
    (with the planted OR of its post year: the second's for journeys referred from
    ``second_year_start``)."""
    n = len(journeys.person)
    base = journeys.adult & (journeys.period >= 0)
    injector = journeys.cov.injecting == 0
    masks = {
        "abstinence": coverage.observed,
        "non_injecting": coverage.observed & injector,
        "housing_problem": coverage.observed,
        "acquisitive_crime": np.ones(n, dtype=bool),
    }
    post = journeys.start >= post_start
    second_year = journeys.start >= second_year_start
    prob = {}
    for o, mask in masks.items():
        xb_area = xb(o, journeys.cov) + model.area_effect[o][journeys.area]
        for c in (0, 1):
            _calibrate_on_observed(model, params, o, c, journeys, base, mask, xb_area, second_year)
        prob[o] = sigmoid(
            model.linear_predictor(
                o,
                journeys.cohort,
                journeys.treated,
                post,
                journeys.area,
                xb_area - model.area_effect[o][journeys.area],
                second_year,
            )
        )
    # abstinence and non-injecting are correlated (Gaussian copula), each with its exact margin
    z1 = rng.standard_normal(n)
    z2 = 0.5 * z1 + np.sqrt(1 - 0.25) * rng.standard_normal(n)
    return LateOutcomes(
        abstinence=ndtr(z1) < prob["abstinence"],
        non_injecting=ndtr(z2) < prob["non_injecting"],
        housing_problem=rng.random(n) < prob["housing_problem"],
        acquisitive_crime=rng.random(n) < prob["acquisitive_crime"],
    )


def _calibrate_on_observed(
    model: Model,
    params: SyntheticParams,
    outcome: str,
    cohort: int,
    journeys: Journeys,
    base: np.ndarray,
    mask: np.ndarray,
    xb_area: np.ndarray,
    second_year: np.ndarray,
) -> None:
    """Calibrate ``outcome`` for ``cohort`` on the study journeys where it is observed (``mask``);
    on all the cell's journeys when fewer than 5 are observed."""
    coh = journeys.cohort == cohort
    samples = {}
    pilot_post_year2 = None
    for g in (0, 1):
        for per in (0, 1):
            cell = base & coh & (journeys.group == g) & (journeys.period == per)
            chosen = cell & mask
            if chosen.sum() < 5:
                chosen = cell if cell.sum() >= 5 else None
            samples[(g, per)] = xb_area[chosen] if chosen is not None else np.zeros(1)
            if (g, per) == (1, 1) and chosen is not None:
                pilot_post_year2 = second_year[chosen]
    calibrate(model, params, outcome, cohort, samples, second_year=pilot_post_year2)
