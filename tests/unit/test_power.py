"""Minimum detectable odds ratio by the score-space simulation of the score bootstrap."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from did_simulation import simulate_journeys
from scipy import special

from pbr.fit import power, wild_bootstrap
from pbr.fit.design import build_design, fit_did_logit
from pbr.fit.draws import area_webb_weights
from pbr.fit.frame import model_rows
from pbr.fit.spec import RESULT_COLUMNS, FitSpec

COVS = ["age_group", "sex"]
SPEC = FitSpec("drug", "y", COVS)


def simulate(n=3000, n_areas=40, n_pilot=8, log_or=0.0, seed=1):
    """:func:`did_simulation.simulate_journeys` with this module's number of areas."""
    return simulate_journeys(n, n_areas, n_pilot, log_or, seed)


@pytest.fixture(scope="module")
def design():
    mf, _, _ = model_rows(simulate(n=5000, seed=3), SPEC)
    return build_design(mf, "y", COVS)


@pytest.fixture(scope="module")
def parts(design):
    return power.fitted_parts(design)


@pytest.fixture(scope="module")
def space(design, parts):
    return power.score_space(design, parts)


def test_the_noise_is_taken_at_the_estimate_and_leverage_adjusted(design, parts, space):
    """The MDE's score space is the logit's at its estimate: the DiD held at the unrestricted
    logit's beta, where the efficient scores sum to zero (no effect left in the noise); each
    area's score is then divided by sqrt(1 - I_g / I)."""
    beta, _, _ = fit_did_logit(design)
    assert parts.delta == beta and space.delta == beta and not space.leverage_adjusted
    assert abs(space.s.sum()) < 1e-8 * np.abs(space.s).sum()
    noise = power.noise_space(design)
    h = space.info_g / space.info_g.sum()
    assert noise.leverage_adjusted and np.allclose(noise.s * np.sqrt(1 - h), space.s, rtol=1e-12)
    assert np.array_equal(noise.info_g, space.info_g) and np.array_equal(noise.a, space.a)


def test_power_is_about_alpha_at_no_effect_and_rises_with_the_effect(space):
    u = area_webb_weights(space.area_codes, 2000, 11, stream="power")
    v = area_webb_weights(space.area_codes, 399, 11)
    se = space.robust_se
    betas = np.array([-8, -4, -2, 0, 2, 4, 8]) * se
    pw = power.score_space_power(space, betas, u, v, 0.05)
    assert 0.03 <= pw[3] <= 0.075  # size; Monte Carlo SE about 0.005
    assert pw[2] > pw[3] + 0.05 and pw[4] > pw[3] + 0.05
    assert pw[0] > pw[1] > pw[2] and pw[6] > pw[5] > pw[4]
    assert pw[0] > 0.8 and pw[6] > 0.8


def test_a_replicate_without_reweighting_reproduces_the_data_p_value(design):
    parts = wild_bootstrap.logit_parts(design, 0.0)
    space = power.score_space(design, parts)  # at no effect: the replicate at beta 0 is the data
    v = area_webb_weights(design.area_codes, 999, 5)
    p = wild_bootstrap.score_pvalue(parts, v)
    ones = np.ones((design.n_areas, 1))
    assert power.score_space_power(space, np.array([0.0]), ones, v, p + 1e-9)[0] == 1.0
    assert power.score_space_power(space, np.array([0.0]), ones, v, p - 1e-3)[0] == 0.0


def test_replicate_p_values_equal_the_score_bootstrap_on_the_replicate_scores(design, parts, space):
    """Each replicate's p-value is wild_bootstrap.score_pvalue on LogitParts holding the replicate's
    scores u s + beta I and one-step map a diag(u) + beta a_x."""
    v = area_webb_weights(design.area_codes, 499, 5)
    u = area_webb_weights(design.area_codes, 4, 6, stream="power")
    terms = power.BootstrapTerms.of(space, v)
    betas = np.array([-3.0, -0.5, 0.0, 1.0, 4.0]) * space.robust_se
    for r in range(u.shape[1]):
        got = power.replicate_pvalues(space, betas, u[:, r], terms)
        for k, b in enumerate(betas):
            rep = dataclasses.replace(
                parts, s=u[:, r] * space.s + b * space.info_g, a=space.a * u[None, :, r] + b * space.a_x
            )
            assert got[k] == pytest.approx(wild_bootstrap.score_pvalue(rep, v), abs=1e-12)


def test_per_area_information_is_the_first_order_change_of_the_restricted_scores(design, parts, space):
    """Data at the fitted probabilities (fractional y) shifted by a small log OR b: the scores
    restricted at the fit's log OR move by b I_g and the one-step map by b a_x, to first order."""
    d = parts.delta
    p0 = special.expit(parts.eta)
    y = design.y
    try:
        for b in (1e-2, 1e-3):
            design.y = p0
            base = wild_bootstrap.logit_parts(design, d)
            design.y = special.expit(parts.eta + b * design.did)
            moved = wild_bootstrap.logit_parts(design, d)
            scale = np.abs(space.info_g).max()
            assert np.abs((moved.s - base.s) / b - space.info_g).max() < 0.5 * b * scale
            assert np.abs((moved.a - base.a) / b - space.a_x).max() < 0.5 * b * np.abs(space.a_x).max()
    finally:
        design.y = y
    # and the information sums to the efficient information of the data's fit
    assert space.info_g.sum() == pytest.approx(parts.info)


def test_first_crossing_interpolates_on_the_running_maximum():
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    assert power.first_crossing(grid, np.array([0.05, 0.5, 0.9, 0.95]), 0.8) == pytest.approx(1.75)
    assert power.first_crossing(grid, np.array([0.05, 0.85, 0.7, 0.9]), 0.8) == pytest.approx(0.75 / 0.8)
    assert math.isnan(power.first_crossing(grid, np.array([0.05, 0.2, 0.3, 0.4]), 0.8))


def test_power_table_gives_mdes_either_side_of_one():
    table = power.power_table(simulate(n=4000, seed=4), SPEC, replicates=300, bootstrap_reps=199, seed=1)
    assert list(table.columns) == power.POWER_COLUMNS and len(table) == 1
    row = table.iloc[0]
    assert 0 < row["mde_low"] < 1 < row["mde_high"]
    assert row["method"] == "logit_score_wcb" and row["power_reps"] == 300


def test_power_table_is_not_estimable_without_events_in_the_pilots():
    df = simulate(n=2000, seed=5)
    df.loc[df["pilot"].astype(bool) & (df["post"] == 1), "y"] = 0
    row = power.power_table(df, SPEC, replicates=100, bootstrap_reps=99).iloc[0]
    assert np.isnan(row["mde_low"]) and np.isnan(row["mde_high"])
    assert row["note"].startswith("not estimable")


def test_attach_mde_fills_only_the_main_headline_rows():
    res = pd.DataFrame(
        [
            {"cohort": "drug", "outcome": "y", "specification": "main", "method": "logit_score_wcb"},
            {"cohort": "drug", "outcome": "y", "specification": "main", "method": "logit_crv1"},
            {"cohort": "drug", "outcome": "y", "specification": "placebo_2011", "method": "logit_score_wcb"},
            {"cohort": "alcohol", "outcome": "y", "specification": "main", "method": "logit_score_wcb"},
            {
                "cohort": "drug",
                "outcome": "z",
                "specification": "main",
                "method": "logit_score_wcb",
                "status": "not_estimable",
            },
        ],
        columns=RESULT_COLUMNS,
    )
    table = pd.DataFrame(
        [
            {"cohort": "drug", "outcome": "y", "method": "logit_score_wcb", "mde_low": 0.7, "mde_high": 1.4},
            {"cohort": "drug", "outcome": "z", "method": "logit_score_wcb", "mde_low": 0.1, "mde_high": 9.0},
        ]
    )
    out = power.attach_mde(res, table)
    assert out.loc[0, "mde_low"] == 0.7 and out.loc[0, "mde_high"] == 1.4
    assert out.loc[1:, ["mde_low", "mde_high"]].isna().all().all()


@pytest.mark.parametrize("planted_or", [0.3, 3.0])
def test_a_real_effect_does_not_inflate_the_mde(planted_or):
    """The MDE of a data set with a large planted effect is about its null twin's (same areas,
    sizes and draws): the noise is taken around the estimate. From the no-effect fit's scores,
    which carry the effect, the MDEs were 1.9-2.4 times as far from 1 (log scale)."""

    def mdes(df, at_estimate=True):
        mf, _, _ = model_rows(df, SPEC)
        d = build_design(mf, "y", COVS)
        space = (
            power.noise_space(d) if at_estimate else power.score_space(d, wild_bootstrap.logit_parts(d, 0.0))
        )
        kw = {"target": 0.8, "alpha": 0.05, "replicates": 300, "bootstrap_reps": 199, "seed": 1}
        return np.log(power.minimum_detectable(space, **kw)[:2])

    twin = mdes(simulate(n=5000, seed=4))
    planted = simulate(n=5000, seed=4, log_or=math.log(planted_or))
    assert np.abs(mdes(planted) / twin - 1).max() < 0.15
    assert np.abs(mdes(planted, at_estimate=False) / twin).min() > 1.5
