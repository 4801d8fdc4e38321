"""Linkage quality without the truth (pbr.link.indicators): hand-made links and pairs, exact figures."""

from __future__ import annotations

import pandas as pd
import pytest

from pbr.link import indicators


def _links_pairs() -> tuple[pd.DataFrame, pd.DataFrame]:
    links = pd.DataFrame(
        {
            "person_id": ["A", "A", "B", "C"],
            "unit": ["U1", "U1", "U2", "U3"],  # A's unit holds two records (offences)
            "match_probability": [0.95, 0.95, 0.4, 0.6],
        }
    )
    pairs = pd.DataFrame(
        {
            "left_id": ["A", "A", "B", "C", "D"],
            "right_id": ["U1", "U9", "U2", "U3", "U4"],
            "match_probability": [0.95, 0.3, 0.4, 0.6, 0.1],
        }
    )
    return links, pairs


def _journeys() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "journey_id": ["j1", "j2", "j3", "j4", "j5", "j6"],
            "person_id": ["A", "B", "C", "D", "E", "A"],
            "cohort": "drug",
            "group": ["pilot", "pilot", "other", "other", "other", "pilot"],
            "period": ["pre", "pre", "post", "post", "post", "pre"],
            "exclusion": [None, None, None, None, None, "under_18"],
        }
    )


def test_person_indicators_count_the_accepted_link_and_the_rejected_candidates():
    links, pairs = _links_pairs()
    got = indicators.person_link_indicators(links, pairs, "unit", 0.5)
    assert got.loc[["A", "B", "C", "D"], "linked"].tolist() == [1, 0, 1, 0]
    assert got.loc[["A", "B", "C", "D"], "grey"].tolist() == [0, 0, 1, 0]
    assert got.loc[["A", "B", "C", "D"], "expected_false"].tolist() == pytest.approx([0.05, 0, 0.4, 0])
    # rejected: A's losing candidate U9; B's link below the threshold; D's pair
    assert got.loc[["A", "B", "C", "D"], "expected_missed"].tolist() == pytest.approx([0.3, 0.4, 0, 0.1])


def test_a_person_linked_to_two_units_counts_once_with_both_expected_false():
    """A person that two NDTMS clients share may link two units (linkage.units_per_person)."""
    links, pairs = _links_pairs()
    links = pd.concat([links, pd.DataFrame({"person_id": ["A"], "unit": ["U9"], "match_probability": [0.3]})])
    got = indicators.person_link_indicators(links, pairs, "unit", 0.2)
    assert got.loc["A", "linked"] == 1 and got.loc["A", "grey"] == 1  # U9's 0.3 is grey
    assert got.loc["A", "expected_false"] == pytest.approx(0.05 + 0.7)
    assert got.loc["A", "expected_missed"] == 0


def test_a_lower_threshold_moves_a_link_from_missed_to_accepted():
    links, pairs = _links_pairs()
    got = indicators.person_link_indicators(links, pairs, "unit", 0.3)
    assert got.loc["B", ["linked", "grey", "expected_false", "expected_missed"]].tolist() == pytest.approx(
        [1, 1, 0.6, 0.0]
    )


def test_cells_sum_the_study_journeys_of_each_group_and_period():
    links, pairs = _links_pairs()
    got = indicators.cell_indicators(
        _journeys(), {"offences": links}, {"offences": pairs}, {"offences": "unit"}, 0.5
    )
    assert list(got.columns) == list(indicators.INDICATOR_COLUMNS)
    pre = got[(got.group == "pilot") & (got.period == "pre")].iloc[0]
    assert (pre.journeys, pre.linked, pre.grey) == (2, 1, 0)  # the excluded journey j6 is not counted
    assert pre.expected_false == pytest.approx(0.05) and pre.expected_missed == pytest.approx(0.7)
    assert pre.link_rate == 0.5 and pre.grey_share == 0.0
    assert pre.implied_rate == pytest.approx((1 - 0.05 + 0.7) / 2)
    post = got[(got.group == "other") & (got.period == "post")].iloc[0]
    assert (post.journeys, post.linked, post.grey) == (3, 1, 1)  # E has no candidate pair: zeros
    assert post.implied_rate == pytest.approx((1 - 0.4 + 0.1) / 3)


def test_grey_negative_control_is_missing_outside_linked_journeys():
    links, pairs = _links_pairs()
    journeys = _journeys().assign(start_date=pd.Timestamp("2012-06-01"))
    got = indicators.negative_control("grey_offences", journeys, links, pairs, "unit", 0.5)
    # A linked (0.95: not grey), B not linked, C linked (0.6: grey), D not linked, E no pairs, A again
    assert got.tolist() == [0, pd.NA, 1, pd.NA, pd.NA, 0]


def test_prior_offence_counts_linked_offences_in_the_year_before_the_start_only():
    links = pd.DataFrame(
        {
            "person_id": ["A", "B", "C", "D"],
            "unit": ["U1", "U2", "U3", "U4"],
            "offence_date": pd.to_datetime(["2012-05-31", "2011-06-02", "2012-06-01", "2011-06-01"]),
            "match_probability": [0.9, 0.9, 0.9, 0.9],
        }
    )
    journeys = pd.DataFrame(
        {"person_id": ["A", "B", "C", "D", "E"], "start_date": pd.Timestamp("2012-06-01")}
    )

    def prior_offence(links: pd.DataFrame) -> pd.Series:
        pairs = links.rename(columns={"person_id": "left_id", "unit": "right_id"})
        return indicators.negative_control(
            "prior_offence", journeys, links, pairs, "unit", 0.5, event="offence_date"
        )

    got = prior_offence(links)
    # days 1 and 365 before the start count; day 0 and day 366 (2012 is a leap year) do not
    assert got.tolist() == [1, 1, 0, 0, 0]
    assert prior_offence(links.assign(match_probability=0.4)).tolist() == [0, 0, 0, 0, 0]
