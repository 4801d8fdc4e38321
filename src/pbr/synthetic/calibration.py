"""Calibration of the outcomes drawn in the month loop: first on a fixed sample of new clients,
then again on the journeys of a pilot run (same seed, scale <= 0.15)."""

from __future__ import annotations

import dataclasses

import numpy as np

from pbr.synthetic.areas import Areas, build_areas
from pbr.synthetic.draws import Streams, choice, sigmoid
from pbr.synthetic.model import Model, calibrate, draw_area_effects, new_model, xb
from pbr.synthetic.months import Calendar, build_calendar
from pbr.synthetic.params import SyntheticParams
from pbr.synthetic.population import draw_covariates, new_people
from pbr.synthetic.simulation import simulate

#: the loop outcomes with their own predictor (completion_no_representation shares completion's)
_PREDICTORS = ("treatment_initiation", "waiting_over_3_weeks", "successful_completion", "drug_related_death")
#: the loop outcomes calibrated directly (waiting is calibrated among starters)
_DIRECT = (
    "treatment_initiation",
    "successful_completion",
    "completion_without_representation",
    "drug_related_death",
)


def set_up(params: SyntheticParams, streams: Streams) -> tuple[Areas, Model, Calendar]:
    """The areas, the uncalibrated outcome models (with the area effects) and the calendar."""
    areas = build_areas(params, streams.area)
    model = new_model(params, draw_area_effects(params, streams.area, len(areas.code)))
    calendar = build_calendar(params, areas, streams.loop)
    return areas, model, calendar


def calibrate_loop_outcomes(
    model: Model, params: SyntheticParams, areas: Areas, calendar: Calendar, rng: np.random.Generator
) -> None:
    """Calibrate the outcomes drawn during the journey simulation on a large fixed sample."""
    n = 20000
    for cohort in (0, 1):
        start = np.full(n, calendar.post_start, dtype=np.int64)
        att = new_people(rng, n, cohort, start, minor=False)
        prev = att.previously_treated | (
            rng.random(n) < 0.35
        )  # about a third of journeys are re-presentations
        cov = draw_covariates(
            rng, np.full(n, cohort), start, att.female, att.dob, att.drug, att.injecting_history, prev
        )
        units = {
            g: choice(rng, np.where(areas.unit_group == g, areas.unit_weight[cohort], 0.0), n) for g in (0, 1)
        }
        xbs = {o: xb(o, cov) for o in _PREDICTORS}

        def cells(o, xbs=xbs, units=units):
            return {
                (g, per): xbs[o] + model.area_effect[o][areas.unit_area[units[g]]]
                for g in (0, 1)
                for per in (0, 1)
            }

        for o in _DIRECT:
            calibrate(
                model,
                params,
                o,
                cohort,
                cells(o if o != "completion_without_representation" else "successful_completion"),
            )
        # waiting is among starters: weight by the probability of starting
        pi = {}
        for g in (0, 1):
            for per in (0, 1):
                tr = np.full(n, g == 1)
                pst = np.full(n, per == 1)
                lp = model.linear_predictor(
                    "treatment_initiation",
                    np.full(n, cohort),
                    tr,
                    pst,
                    areas.unit_area[units[g]],
                    xbs["treatment_initiation"],
                )
                pi[(g, per)] = sigmoid(lp)
        calibrate(model, params, "waiting_over_3_weeks", cohort, cells("waiting_over_3_weeks"), pi)


def refine_calibration(model: Model, params: SyntheticParams, areas: Areas, calendar: Calendar) -> None:
    """Re-solve the simulated outcomes' intercepts on the journeys of a pilot run.

    The first calibration uses a sample of new clients, but the simulated journeys also
    include re-presentations (more opiate users, all previously treated). A pilot run at
    scale <= 0.15 (same seed, hence the same areas and area effects) gives the real
    covariate mix, and the intercepts are solved again on its adult window journeys.
    """
    pilot_params = dataclasses.replace(params, scale=min(params.scale, 0.15))
    streams = Streams.from_seed(pilot_params.seed)
    pilot_areas, pilot_model, pilot_calendar = set_up(pilot_params, streams)
    calibrate_loop_outcomes(pilot_model, pilot_params, pilot_areas, pilot_calendar, streams.calibration)
    journeys = simulate(
        pilot_params, pilot_areas, pilot_calendar, pilot_model, streams.loop, streams.case_mix
    ).journeys
    period = calendar.period(journeys.start)
    group = areas.unit_group[journeys.unit]
    area = areas.unit_area[journeys.unit]
    base = (journeys.cov.age >= 18) & (period >= 0) & (group < 2)
    for cohort in (0, 1):
        cells = {
            (g, per): base & (journeys.cohort == cohort) & (group == g) & (period == per)
            for g in (0, 1)
            for per in (0, 1)
        }
        if min(int(c.sum()) for c in cells.values()) < 20:
            continue  # too few journeys to improve on the first calibration
        xbs = {o: xb(o, journeys.cov) + model.area_effect[o][area] for o in _PREDICTORS}
        xbs["completion_without_representation"] = xbs["successful_completion"]
        year2 = (journeys.start >= calendar.second_year_start)[cells[(1, 1)]]
        for o in _DIRECT:
            calibrate(model, params, o, cohort, {k: xbs[o][m] for k, m in cells.items()}, second_year=year2)
        weights = {}
        for (g, per), m in cells.items():
            a = model.intercept["treatment_initiation"][cohort]
            lor = model.journey_log_or(
                "treatment_initiation", np.full(int(m.sum()), cohort), year2 if (g, per) == (1, 1) else None
            )
            lp = (
                a[g]
                + model.post_effect["treatment_initiation"][cohort] * per
                + lor * (g * per)
                + xbs["treatment_initiation"][m]
            )
            weights[(g, per)] = sigmoid(lp)
        calibrate(
            model,
            params,
            "waiting_over_3_weeks",
            cohort,
            {k: xbs["waiting_over_3_weeks"][m] for k, m in cells.items()},
            weights,
            second_year=year2,
        )
