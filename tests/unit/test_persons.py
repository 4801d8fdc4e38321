"""Persons joined across a transfer (issue #25, prototype): the one-error rule and the bridges."""

import pandas as pd

from pbr.config import validate_config
from pbr.link.persons import one_error_apart, transfer_bridges


def test_one_recording_error_apart():
    a = pd.Series(
        ["1977-12-22", "1983-05-24", "1972-07-13", "1971-01-07", "1980-01-31", "1980-01-31", "1980-01-31"]
    )
    b = pd.Series(
        ["1977-12-21", "1983-05-25", "1973-07-13", "1971-07-01", "1980-02-01", "1980-01-31", "1981-02-01"]
    )
    # a day off, a digit off, the year off by a digit, day and month swapped, a day across a month;
    # the same date is not an error; two parts off are two errors
    assert one_error_apart(a, b).tolist() == [True, True, True, True, True, False, False]


def _episodes(rows):
    cols = [
        "episode_id",
        "person_id",
        "initials",
        "date_of_birth",
        "sex",
        "area_code",
        "referral",
        "discharge",
        "reason",
    ]
    df = pd.DataFrame(rows, columns=cols)
    return pd.DataFrame(
        {
            "episode_id": df["episode_id"],
            "person_id": df["person_id"],
            "initial_first": df["initials"].str[0],
            "initial_surname": df["initials"].str[1],
            "date_of_birth": pd.to_datetime(df["date_of_birth"]),
            "sex": pd.array(df["sex"], dtype="string"),
            "area_code": df["area_code"],
            "referral_date": pd.to_datetime(df["referral"]),
            "discharge_date": pd.to_datetime(df["discharge"]),
            "discharge_reason": pd.array(df["reason"], dtype="Int64"),
        }
    )


def test_a_transfer_joins_the_one_person_one_error_away_in_its_area():
    episodes = _episodes(
        [
            ("a1", "PA", "RM", "1990-06-12", "M", "X", "2012-07-10", "2013-01-25", 83),
            ("a2", "PB", "RH", "1990-06-12", "M", "X", "2013-01-29", "2013-06-13", 80),  # surname initial off
            ("b1", "PC", "DG", "1983-05-24", "F", "X", "2011-04-26", "2011-05-20", 83),
            ("b2", "PD", "DG", "1983-05-25", "F", "Y", "2011-06-06", "2011-07-25", 85),  # another area: no
            ("c1", "PE", "HM", "1971-01-07", "F", "X", "2013-10-21", "2014-03-18", 83),
            ("c2", "PF", "HM", "1971-07-01", "M", "X", "2014-04-02", None, None),  # the other sex: no
            ("d1", "PG", "ED", "1957-11-11", "F", "X", "2010-04-27", "2010-05-26", 83),
            ("d2", "PH", "JD", "1957-11-11", "F", "X", "2010-06-13", "2010-09-17", 81),  # one of two: no
            ("d3", "PI", "KD", "1957-11-11", None, "X", "2010-06-01", "2010-07-01", 81),
            ("e1", "PJ", "AC", "1972-07-13", "F", "X", "2014-02-20", "2014-04-22", 84),
            ("e2", "PJ", "AC", "1972-07-13", "F", "X", "2014-04-25", None, None),  # its own continuation
            ("e3", "PK", "AC", "1973-07-13", "F", "X", "2014-04-22", None, None),
        ]
    )
    bridges = transfer_bridges(episodes, [83, 84], 21)
    assert bridges[["from", "to", "person_from", "person_to", "differs"]].values.tolist() == [
        ["a1", "a2", "PA", "PB", "surname initial"]
    ]


def test_a_transfer_without_an_area_joins_nobody():
    """The same area is part of the block key: two episodes both without an area are not 'the same area'
    (a merge on a missing key would pair them), while the same pair with an area is joined."""
    rows = [
        ("a1", "PA", "RM", "1990-06-12", "M", None, "2012-07-10", "2013-01-25", 83),
        ("a2", "PB", "RH", "1990-06-12", "M", None, "2013-01-29", "2013-06-13", 80),
    ]
    assert transfer_bridges(_episodes(rows), [83, 84], 21).empty
    with_area = [(*r[:5], "X", *r[6:]) for r in rows]
    assert transfer_bridges(_episodes(with_area), [83, 84], 21)["from"].tolist() == ["a1"]


def test_the_persons_and_their_linkage_records_join_the_bridged_persons_alike():
    from pbr.link.persons import link_persons, transfer_settings
    from pbr.link.records import ndtms_link_records

    episodes = _episodes(
        [
            ("a1", "", "RM", "1990-06-12", "M", "X", "2012-07-10", "2013-01-25", 83),
            ("a2", "", "RH", "1990-06-12", "M", "X", "2013-01-29", "2013-06-13", 80),
            ("b1", "", "DG", "1983-05-24", "F", "X", "2011-04-26", "2011-05-20", 80),
        ]
    ).drop(columns="person_id")
    episodes["client_id"] = ["c1", "c2", "c3"]
    episodes["agency_id"] = "G"
    episodes["triage_date"] = episodes["referral_date"]
    episodes["first_intervention_date"] = episodes["referral_date"]
    transfers = transfer_settings(validate_config({}))
    assert transfers == {"transfer_codes": [83, 84], "transfer_gap_days": 21}
    joined, flow = link_persons(episodes, b"k", transfers)
    apart, _ = link_persons(episodes, b"k", None)
    pid = joined.set_index("episode_id")["person_id"]
    assert pid["a1"] == pid["a2"] != pid["b1"]
    assert apart["person_id"].nunique() == 3  # without the bridges: the attributor alone
    assert flow.loc[flow["reason"].str.contains("one attributor error away"), "n"].tolist() == [1]
    areas = pd.DataFrame({"area_code": ["X"], "region": ["North"]})
    tops = pd.DataFrame(
        {"episode_id": pd.Series([], dtype="string"), "top_date": pd.Series([], dtype="datetime64[ns]")}
    )
    recs = ndtms_link_records(episodes, b"k", areas, tops, transfers)
    assert set(recs["unique_id"]) == set(pid)
    assert transfer_settings(validate_config({"linkage": {"transfer_bridges": False}})) is None
