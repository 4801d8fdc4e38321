"""Timing sensitivity: outcome windows (pbr.registry.outcomes.window_days) and the selections of pbr.fit.timing."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pbr.fit import timing
from pbr.registry import outcomes

START = pd.Timestamp("2012-04-01")
SETTINGS = yaml.safe_load((Path(__file__).parents[2] / "config" / "config.yaml").read_text())["outcomes"]


def test_every_outcome_has_a_window():
    days = {name: outcomes.window_days(name, SETTINGS) for name in outcomes.names()}
    assert days["successful_completion"] == 365
    assert days["completion_without_representation"] == days["representation"] == 365 + 183
    assert days["abstinence"] == days["non_injecting"] == days["housing_problem"] == 273
    assert days["drug_related_death"] == days["acquisitive_crime"] == days["declined_to_continue"] == 365
    assert days["treatment_initiation"] == days["waiting_over_3_weeks"] == 90
    changed = SETTINGS | {"successful_completion": SETTINGS["successful_completion"] | {"window_days": 100}}
    assert outcomes.window_days("representation", changed) == 283  # read from the settings, not fixed
    with pytest.raises(ValueError, match="no registered window"):
        outcomes.window_days("not_an_outcome", SETTINGS)


def test_clear_of_start_and_donut():
    starts = pd.to_datetime(
        ["2011-03-31", "2011-04-01", "2011-04-02", "2012-03-31", "2012-04-01", "2013-01-01"]
    )
    # 2011-04-01 + 365 days = 2012-03-31 (2012 is a leap year): clear; a day later reaches the start
    assert list(timing.clear_of_start(pd.Series(starts), 365, START)) == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    kept, dropped = timing.donut_frame(pd.DataFrame({"start_date": starts}), 365, START)
    assert dropped == 2 and list(kept["start_date"]) == list(starts[[0, 1, 4, 5]])


@pytest.mark.parametrize(
    ("window", "ref"),
    [(90, 2), (183, 2), (273, 1), (365, 1), (548, 0), (549, None)],
)
def test_clear_reference_bin(window, ref):
    """Half-years from April 2010: bin b ends on the day before bin b+1; clear when end + window < start."""
    assert timing.clear_reference_bin([0, 1, 2, 3], "2010-04-01", "half_year", window, START) == ref


def test_clear_placebo_start():
    def starts(first, last):
        return pd.Series(pd.date_range(first, last))

    assert timing.clear_placebo_start(
        starts("2010-04-01", "2011-04-01"), "2010-04-01", "half_year"
    ) == pd.Timestamp("2010-10-01")
    # the boundary must have journeys on both sides
    assert timing.clear_placebo_start(starts("2010-04-01", "2010-09-30"), "2010-04-01", "half_year") is None
    assert timing.clear_placebo_start(
        starts("2010-04-01", "2012-01-01"), "2010-04-01", "half_year"
    ) == pd.Timestamp("2011-04-01")
    assert timing.clear_placebo_start(
        starts("2010-05-01", "2010-12-31"), "2010-04-01", "quarter"
    ) == pd.Timestamp("2010-10-01")
    assert (
        timing.clear_placebo_start(pd.Series([], dtype="datetime64[ns]"), "2010-04-01", "half_year") is None
    )
