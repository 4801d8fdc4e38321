"""Bounds and tipping point of the linked DiDs (pbr.fit.link_bounds): hand-made cells and links."""

from __future__ import annotations

import pandas as pd
import pytest

from pbr.fit import link_bounds

CELLS = link_bounds.CELLS


def _cells(events, journeys=100, false=0.0, missed=0.0) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "group": g,
                "period": p,
                "journeys": journeys,
                "events": e,
                "expected_false": false,
                "expected_missed": missed,
            }
            for (g, p), e in zip(CELLS, events, strict=True)
        ]
    )


def test_the_unadjusted_odds_ratio_and_its_tipping_point():
    row = link_bounds.bounds_row(_cells([10, 20, 10, 10]))  # pilot pre, pilot post, other pre, other post
    assert row["odds_ratio"] == pytest.approx((20 / 80) / (10 / 90))
    assert row["low"] == row["high"] == pytest.approx(row["odds_ratio"])  # no expected errors: no range
    assert row["tipping_change"] == pytest.approx(10 / 20 - 1)  # 10 pilot-post events would give OR 1


def test_the_range_takes_every_cell_corrected_either_way():
    cells = _cells([10, 20, 10, 10])
    cells.loc[1, "expected_false"] = 5.0  # pilot post: 15 events at least
    cells.loc[0, "expected_missed"] = 4.0  # pilot pre: 14 events at most
    row = link_bounds.bounds_row(cells)
    assert row["low"] == pytest.approx((15 / 85) / (14 / 86))
    assert row["high"] == pytest.approx(row["odds_ratio"])


def test_expected_false_and_missed_events_per_cell_from_links_and_candidates():
    journeys = pd.DataFrame(
        {
            "journey_id": ["j1", "j2", "j3"],
            "person_id": ["A", "B", "C"],
            "start_date": pd.to_datetime(["2012-06-01", "2012-06-01", "2011-01-01"]),
            "group": ["pilot", "pilot", "other"],
            "period": ["post", "post", "pre"],
            "acquisitive_crime": pd.array([1, 0, 0], dtype="Int64"),
        }
    )
    candidates = pd.DataFrame(
        {
            "person_id": ["A", "B", "B", "C", "C", "C"],
            "pnc_id": ["U1", "U2", "U3", "U4", "U5", "U6"],
            "offence_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
            "offence_date": pd.to_datetime(
                ["2012-07-01", "2012-08-01", "2014-01-01", "2011-02-01", "2011-03-01", "2011-04-01"]
            ),
            "offence_group": ["burglary", "burglary", "burglary", "public_order", "robbery", "theft_other"],
            "match_probability": [0.8, 0.3, 0.9, 0.95, 0.6, 0.7],
        }
    )
    links = candidates[candidates["pnc_id"].isin(["U1", "U4"])]
    definitions = {
        "acquisitive_crime": {"window_days": 365, "offence_groups": ["burglary", "robbery", "theft_other"]}
    }
    got = link_bounds.cell_event_errors(
        journeys, "acquisitive_crime", "offences", links, candidates, "pnc_id", 0.5, definitions
    ).set_index(["group", "period"])
    post = got.loc[("pilot", "post")]
    # A's event from a link of 0.8: 0.2 expected false; B's candidate U2 (0.3) would give an event
    # inside the window, U3's offence lies outside it
    assert (post["journeys"], post["events"]) == (2, 1)
    assert post["expected_false"] == pytest.approx(0.2) and post["expected_missed"] == pytest.approx(0.3)
    pre = got.loc[("other", "pre")]
    # C's accepted unit has no acquisitive offence; two rejected ones would (0.6 + 0.7, at most 1)
    assert pre["events"] == 0 and pre["expected_missed"] == pytest.approx(1.0)
