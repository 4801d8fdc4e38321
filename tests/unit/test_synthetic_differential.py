"""Differential linkage error in the generator (``synthetic.noise.differential``).

A planted multiplier raises the NDTMS attributor errors or the register area moves in its
group x period cell and nowhere else; the settings are checked by key; the default (all 1)
is the extract without the setting. Measured with :mod:`pbr.synthetic.errors` at scale 0.05,
with base error rates raised so that the pilot post cell (about 1,100 NDTMS records, 450
register copies) holds enough errors to tell a ratio of 3 from 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from extract_hashes import table_hash

from pbr.synthetic import errors, generator, params

BASE_RATES = {
    "ndtms_dob_error": 0.03,
    "ndtms_initial_error": 0.03,
    "ndtms_initials_missing": 0.02,
    "ndtms_sex_missing": 0.02,
}
PLANTED = {"pilot_post": {"ndtms": 3.0, "register_area_move": 3.0}}
ERRORS = ["dob_wrong", "initial_wrong", "initials_missing", "sex_missing", "any_error"]
ATTRIBUTORS = ["initial_first", "initial_surname", "date_of_birth", "sex", "client_id"]


def _settings(differential: dict | None = None) -> params.SyntheticParams:
    noise = BASE_RATES | ({"differential": differential} if differential else {})
    return params.SyntheticParams.from_config({"scale": 0.05, "seed": 5, "noise": noise})


@pytest.fixture(scope="module")
def planted() -> generator.SyntheticExtract:
    return generator.generate(_settings(PLANTED))


@pytest.fixture(scope="module")
def clean() -> generator.SyntheticExtract:
    """The planted extract's error-free twin (its NDTMS attributors as the persons' own)."""
    return generator.generate(errors.without_ndtms_errors(_settings(PLANTED)))


@pytest.fixture(scope="module")
def base() -> generator.SyntheticExtract:
    """The same settings without the differential."""
    return generator.generate(_settings())


def _within(share: float, expected: float, n: int, sds: float = 4.0) -> bool:
    """``share`` of ``n`` is within ``sds`` binomial standard errors of ``expected``."""
    return abs(share - expected) <= sds * np.sqrt(expected * (1 - expected) / n)


def test_multipliers_pick_each_elements_cell():
    d = params.DifferentialNoise(
        pilot_pre=params.CellNoise(ndtms=2.0),
        pilot_post=params.CellNoise(ndtms=3.0),
        other_post=params.CellNoise(ndtms=5.0),
    )
    pilot = np.array([True, True, False, False])
    post = np.array([False, True, False, True])
    assert d.multipliers("ndtms", pilot, post).tolist() == [2.0, 3.0, 1.0, 5.0]
    assert d.multipliers("register_area_move", pilot, post).tolist() == [1.0] * 4


def test_the_twin_differs_from_the_extract_only_in_ndtms_attributors(planted, clean):
    for kind in ("tables", "truth"):
        for name, df in getattr(planted, kind).items():
            other = getattr(clean, kind)[name]
            if name == "ndtms_episodes":
                df, other = df.drop(columns=ATTRIBUTORS), other.drop(columns=ATTRIBUTORS)
            assert table_hash(df) == table_hash(other), name


def test_planted_ndtms_errors_are_three_times_as_common_in_pilot_post_only(planted, clean):
    shares = errors.ndtms_error_shares(planted, clean)
    assert shares.loc["pilot_post", "records"] > 800
    others = shares.drop(index="pilot_post")
    pooled = others[ERRORS].mul(others["records"], axis=0).sum() / others["records"].sum()
    for e, rate in zip(ERRORS, BASE_RATES.values(), strict=False):
        # a wrong initial drawn as the true letter, or a date of birth put back (adulthood, first
        # referral), is no error: the realised rate is a little below the setting
        assert 0.85 * rate < pooled[e] < 1.05 * rate, e
        assert _within(shares.loc["pilot_post", e], 3 * pooled[e], shares.loc["pilot_post", "records"]), e
        for cell in others.index:  # the other cells share one rate
            assert _within(others.loc[cell, e], pooled[e], others.loc[cell, "records"]), (cell, e)
    assert shares.loc["pilot_post", "any_error"] / pooled["any_error"] > 2.5


def test_records_outside_pilot_post_keep_the_initials_they_have_without_the_differential(planted, base):
    """The error draws are the same uniforms at any multiplier: outside the planted cell the
    recorded initials are those of the extract without the differential, record for record."""
    cols = ["episode_id", "initial_first", "initial_surname"]
    a, b = planted.tables["ndtms_episodes"], base.tables["ndtms_episodes"]
    assert a["episode_id"].equals(b["episode_id"])
    ep = a.assign(pilot=errors.episode_pilot(planted))
    first = ep.groupby(["agency_id", "client_id"])["referral_date"].transform("min")
    in_cell = ep["pilot"] & (first >= pd.Timestamp("2012-04-01"))
    assert 0 < in_cell.mean() < 0.1
    assert a.loc[~in_cell, cols].equals(b.loc[~in_cell, cols])
    assert not a.loc[in_cell, cols].equals(b.loc[in_cell, cols])


def test_planted_area_moves_are_three_times_as_common_in_pilot_post_only(planted):
    moves = errors.register_move_shares(planted)
    assert moves.loc["pilot_post", "copies"] > 300
    rate = params.NoiseParams().register_area_move
    for cell, row in moves.iterrows():
        expected = 3 * rate if cell == "pilot_post" else rate
        assert _within(row["moved"], expected, row["copies"]), cell


def test_area_move_differential_leaves_the_ndtms_tables_and_planted_outcomes_alone(planted, base):
    """The moves draw from the registers' stream: the registers are another draw (and with them
    the realised acquisitive crime, from the background offences drawn after the deaths)."""
    for name in ("areas", "ndtms_top"):
        assert table_hash(planted.tables[name]) == table_hash(base.tables[name]), name
    assert table_hash(planted.truth["episode_person"]) == table_hash(base.truth["episode_person"])
    a, b = (x.truth["journeys"].drop(columns="acquisitive_crime") for x in (planted, base))
    assert table_hash(a) == table_hash(b)


def test_explicitly_neutral_differential_gives_the_default_extract():
    neutral = {cell: {"ndtms": 1, "register_area_move": 1.0} for cell in params.DIFFERENTIAL_CELLS}
    p = params.SyntheticParams.from_config({"scale": 0.01, "seed": 9, "noise": {"differential": neutral}})
    a, b = generator.generate(p), generator.generate(params.SyntheticParams(scale=0.01, seed=9))
    for name in a.tables:
        assert table_hash(a.tables[name]) == table_hash(b.tables[name]), name
    for name in a.truth:
        assert table_hash(a.truth[name]) == table_hash(b.truth[name]), name


def test_a_differential_on_zero_rates_draws_nothing_more():
    zero = dict.fromkeys(params.NDTMS_ERROR_RATES, 0.0) | {"register_area_move": 0.0}
    off = params.SyntheticParams.from_config({"scale": 0.01, "seed": 9, "noise": zero})
    on = params.SyntheticParams.from_config(
        {"scale": 0.01, "seed": 9, "noise": zero | {"differential": PLANTED}}
    )
    a, b = generator.generate(off), generator.generate(on)
    for name in a.tables:
        assert table_hash(a.tables[name]) == table_hash(b.tables[name]), name


@pytest.mark.parametrize(
    ("differential", "message"),
    [
        ({"pilot_postt": {"ndtms": 2}}, r"unknown key synthetic\.noise\.differential\.pilot_postt"),
        ({"pilot_post": {"ndtm": 2}}, r"unknown key synthetic\.noise\.differential\.pilot_post\.ndtm \("),
        ({"pilot_post": 2}, r"synthetic\.noise\.differential\.pilot_post must be a mapping"),
        (
            {"pilot_post": {"ndtms": "x"}},
            r"synthetic\.noise\.differential\.pilot_post\.ndtms must be a number",
        ),
        ({"other_pre": {"ndtms": -1}}, r"noise\.differential\.other_pre\.ndtms must be >= 0"),
        ({"pilot_post": {"ndtms": 300}}, r"noise\.differential\.pilot_post\.ndtms x noise\.ndtms_dob_error"),
        (
            {"pilot_post": {"register_area_move": 11}},
            r"noise\.differential\.pilot_post\.register_area_move x noise\.register_area_move",
        ),
    ],
)
def test_bad_differential_settings_stop_with_the_key(differential, message):
    with pytest.raises(ValueError, match=message):
        params.SyntheticParams.from_config({"noise": {"differential": differential}})
