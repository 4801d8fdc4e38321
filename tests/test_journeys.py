"""Derive stage: journeys from episodes, study fields and cohort selection."""

import pandas as pd

from pbr import journeys

D = pd.to_datetime


def _ep(rows):
    cols = ["person_id", "episode_id", "referral_date", "discharge_date", "discharge_reason"]
    df = pd.DataFrame(rows, columns=cols)
    df["referral_date"] = D(df["referral_date"])
    df["discharge_date"] = D(df["discharge_date"])
    df["discharge_reason"] = df["discharge_reason"].astype("Int64")
    n = len(df)
    df["triage_date"] = df["referral_date"]
    df["first_intervention_date"] = df["referral_date"] + pd.Timedelta(days=7)
    for c, v in {
        "area_code": "A",
        "sub_area": None,
        "agency_id": "G",
        "sex": "M",
        "substance_1": "heroin",
        "substance_2": None,
        "substance_3": None,
        "route": "inject",
        "injecting_status": "current",
        "referral_source": "self",
        "previously_treated": True,
        "accommodation_need": False,
        "employment": "unemployed",
    }.items():
        df[c] = [v] * n
    df["age_at_referral"] = pd.array([30] * n, dtype="Int64")
    return df


def test_transfer_within_gap_continues_journey():
    ep = _ep(
        [
            ("p1", "e1", "2011-01-01", "2011-03-01", 83),
            ("p1", "e2", "2011-03-22", "2011-09-01", 80),  # 21 days after a transfer: same journey
        ]
    )
    j = journeys.build_journeys(ep, [83, 84], 21)
    assert len(j) == 1
    r = j.iloc[0]
    assert (r.n_episodes, r.discharge_reason) == (2, 80)
    assert r.start_date == D("2011-01-01") and r.end_date == D("2011-09-01")


def test_transfer_after_gap_or_non_transfer_starts_new_journey():
    ep = _ep(
        [
            ("p1", "e1", "2011-01-01", "2011-03-01", 83),
            ("p1", "e2", "2011-03-23", "2011-05-01", 85),  # 22 days: new journey
            ("p1", "e3", "2011-05-02", "2011-09-01", 80),  # after a drop-out (85): new journey
            ("p2", "e4", "2011-05-02", None, None),  # other person, open episode
        ]
    )
    j = journeys.build_journeys(ep, [83, 84], 21)
    assert j.groupby("person_id").size().to_dict() == {"p1": 3, "p2": 1}
    assert j.loc[j.person_id == "p2", "end_date"].isna().all()


def _areas():
    return pd.DataFrame(
        {
            "area_code": ["A", "B", "K"],
            "pilot": pd.array([True, False, True], dtype="boolean"),
            "pilot_sub_area": pd.array([None, None, "west_kent"], dtype="string"),
        }
    )


def test_periods_cohorts_and_groups():
    ep = _ep(
        [
            ("p1", "e1", "2010-03-31", "2010-06-01", 80),  # outside (day before pre window)
            ("p2", "e2", "2010-04-01", "2010-06-01", 80),  # first day of pre
            ("p3", "e3", "2012-03-31", "2012-06-01", 80),  # last day of pre
            ("p4", "e4", "2012-04-01", "2012-06-01", 80),  # first day of post
            ("p5", "e5", "2014-03-31", "2014-06-01", 80),  # last day of post
            ("p6", "e6", "2014-04-01", "2014-06-01", 80),  # outside
        ]
    )
    ep.loc[ep.person_id == "p4", "area_code"] = "B"
    ep.loc[ep.person_id == "p5", "substance_1"] = "alcohol"
    j = journeys.assign_study_fields(
        journeys.build_journeys(ep, [83], 21), _areas(), "2010-04-01", "2012-04-01", "2014-03-31"
    )
    got = j.set_index("person_id")
    assert got["period"].to_dict() == {
        "p1": "outside",
        "p2": "pre",
        "p3": "pre",
        "p4": "post",
        "p5": "post",
        "p6": "outside",
    }
    assert got.loc["p4", "group"] == "other" and got.loc["p2", "group"] == "pilot"
    assert got.loc["p5", "cohort"] == "alcohol" and got.loc["p2", "cohort"] == "drug"
    assert got.loc["p4", "did"] == 0 and got.loc["p5", "did"] == 1
    assert got.loc["p2", "quarter"] == 0 and got.loc["p4", "quarter"] == 8


def test_cohort_exclusions_are_flagged_and_counted():
    ep = _ep(
        [
            ("p1", "e1", "2009-05-01", "2009-06-01", 80),
            ("p2", "e2", "2011-04-01", "2011-06-01", 80),
            ("p3", "e3", "2011-04-01", "2011-06-01", 80),
            ("p4", "e4", "2012-05-01", "2012-06-01", 80),
        ]
    )
    ep.loc[ep.person_id == "p3", "age_at_referral"] = 17
    ep.loc[ep.person_id == "p4", "substance_1"] = "alcohol"
    j = journeys.assign_study_fields(
        journeys.build_journeys(ep, [83], 21), _areas(), "2010-04-01", "2012-04-01", "2014-03-31"
    )
    flagged, flow = journeys.flag_exclusions(j, ["drug"], 18)
    assert len(flagged) == len(j)  # every journey kept, with its reason
    assert flagged.loc[flagged["exclusion"].isna(), "person_id"].tolist() == ["p2"]
    by_reason = flow.groupby(["action", "reason"])["n"].sum()
    assert by_reason[("dropped", "starts outside the study windows")] == 1
    assert by_reason[("dropped", "aged under 18 at journey start or age unknown")] == 1
    assert by_reason[("dropped", "cohort not analysed")] == 1
    assert flow["n"].sum() == len(j)  # reconciles: kept + dropped = all journeys


def _kent():
    ep = _ep([("p1", "e1", "2011-04-01", "2011-06-01", 80), ("p2", "e2", "2011-04-01", "2011-06-01", 80)])
    ep["area_code"] = "K"
    ep["sub_area"] = ["west_kent", "east_kent"]
    return journeys.build_journeys(ep, [83], 21)


def test_partial_pilot_area_rules():
    args = ("2010-04-01", "2012-04-01", "2014-03-31")
    whole = journeys.assign_study_fields(_kent(), _areas(), *args, "whole_area_pilot").set_index("person_id")
    assert whole["pilot"].tolist() == [True, True] and whole["analysis_area"].tolist() == ["K", "K"]
    other = journeys.assign_study_fields(_kent(), _areas(), *args, "sub_area_pilot_rest_other").set_index(
        "person_id"
    )
    assert other["group"].tolist() == ["pilot", "other"]
    assert other["analysis_area"].tolist() == ["K:west_kent", "K:rest"]
    excl = journeys.assign_study_fields(_kent(), _areas(), *args, "sub_area_pilot_rest_excluded")
    flagged, _ = journeys.flag_exclusions(excl, ["drug"], 18)
    assert flagged.set_index("person_id")["exclusion"].fillna("in").tolist() == [
        "in",
        "in the excluded part of a partially piloted area",
    ]
