"""Outcome functions at their edges, and raw rates."""

import pandas as pd

from pbr import outcomes

D = pd.to_datetime
ICD = ["F11", "X42", "X44"]


def _journeys(ends, reasons, starts=None):
    n = len(ends)
    return pd.DataFrame(
        {
            "journey_id": [f"j{i}" for i in range(n)],
            "person_id": [f"p{i}" for i in range(n)],
            "start_date": D(starts or ["2011-01-01"] * n),
            "end_date": D(ends),
            "discharge_reason": pd.array(reasons, dtype="Int64"),
        }
    )


def test_completion_day_365_counts_day_366_does_not():
    # 2011 is not a leap year: 2012-01-01 is day 365, 2012-01-02 day 366
    j = _journeys(["2012-01-01", "2012-01-02", "2011-06-01", "2011-06-01", None], [80, 80, 85, 82, None])
    got = outcomes.successful_completion(j, 365, [80, 81, 82]).tolist()
    assert got == [1, 0, 0, 1, 0]


def test_drug_death_window_cause_and_timing():
    j = _journeys([None] * 5, [None] * 5)
    deaths = pd.DataFrame(
        {
            "person_id": ["p0", "p1", "p2", "p3", "p4"],
            "date_of_death": D(["2011-01-01", "2012-01-01", "2012-01-02", "2010-12-31", "2011-05-01"]),
            "underlying_cause": ["X42", "F112", "X42", "X42", "I21"],
        }
    )
    got = outcomes.drug_related_death(j, deaths, 365, ICD).tolist()
    # p0 day 0; p1 day 365 with a 4-character code; p2 day 366; p3 died before the journey; p4 not poisoning
    assert got == [1, 1, 0, 0, 0]


def test_rates_by_group_and_period():
    a = pd.DataFrame(
        {
            "cohort": ["drug"] * 6,
            "group": ["pilot", "pilot", "pilot", "other", "other", "other"],
            "period": ["pre", "pre", "post", "pre", "post", "post"],
            "y": pd.array([1, 0, 1, pd.NA, 0, 1], dtype="Int64"),
        }
    )
    r = outcomes.outcome_rates(a, ["y"]).set_index(["group", "period"])
    assert r.loc[("pilot", "pre"), "rate"] == 0.5
    assert ("other", "pre") not in r.index  # its only journey is outside the denominator (NA)
    assert r.loc[("other", "post"), ["n", "events"]].tolist() == [2, 1]
