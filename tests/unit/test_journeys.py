"""Derive stage: journeys from episodes, study fields and cohort selection."""

import pandas as pd
import pytest

from pbr.derive import journeys

D = pd.to_datetime
WINDOWS = ("2010-04-01", "2012-04-01", "2014-03-31")

#: one journey in each cell of group x period (areas A: pilot, B: comparison), so that a test's own
#: journeys need not cover the whole design
CELLS = [
    ("z1", "z1e", "2011-01-01", "2011-02-01", 80, "A"),
    ("z2", "z2e", "2011-01-01", "2011-02-01", 80, "B"),
    ("z3", "z3e", "2013-01-01", "2013-02-01", 80, "A"),
    ("z4", "z4e", "2013-01-01", "2013-02-01", 80, "B"),
]


def _with_cells(ep: pd.DataFrame) -> pd.DataFrame:
    """``ep`` with the four CELLS journeys' episodes added."""
    extra = _ep([r[:5] for r in CELLS])
    extra["area_code"] = [r[5] for r in CELLS]
    return pd.concat([ep, extra], ignore_index=True)


def _own(j: pd.DataFrame) -> pd.DataFrame:
    """A test's own journeys (without the CELLS ones)."""
    return j[~j["person_id"].isin([r[0] for r in CELLS])]


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


@pytest.mark.parametrize(("area", "rule"), [("B", "merge"), ("B", "keep_earliest"), ("A", "separate")])
def test_an_episode_open_at_the_transfer_does_not_break_it(area, rule):
    """Two clients sharing an attributor are one person: the other client's episode, referred
    before the transfer's discharge, sits between the transfer and its continuation by referral
    date; the transfer still continues in the episode referred after it (issue #25). In another
    area the other client's episode is its own journey under every overlap rule, counted; in the
    same area only the rule ``separate`` keeps it apart (the others take it for concurrent treatment)."""
    ep = _ep(
        [
            ("p1", "e1", "2013-02-22", "2013-11-18", 83),
            ("p1", "x1", "2013-08-27", None, None),  # the other client's open episode
            ("p1", "e2", "2013-12-04", "2014-04-25", 80),  # 16 days after the transfer
        ]
    )
    ep.loc[ep["episode_id"] == "x1", "area_code"] = area
    assigned = journeys.assign_journeys(ep, [83, 84], 21, rule)
    ep = assigned.set_index("episode_id")
    assert ep.loc["e1", "journey_id"] == ep.loc["e2", "journey_id"] != ep.loc["x1", "journey_id"]
    assert ep["journey_seq"].to_dict() == {"e1": 1, "x1": 2, "e2": 1}  # numbered by first referral
    assert ep.loc["x1", "overlap"] == ("other_area" if area == "B" else "kept_apart")
    flow = journeys.overlap_flow(assigned, rule).set_index("reason")["n"]
    # x1 is referred while e1 is open, e2 while x1 is: both journeys are counted
    assert flow[journeys.OVERLAP_FLOW["other_area"][2]] == (2 if area == "B" else 0)


OVERLAPPING = [
    ("p1", "e1", "2013-01-01", "2013-06-30", 80),
    ("p1", "e2", "2013-03-01", "2013-09-30", 85),  # referred while e1 is open, another agency
    ("p1", "e3", "2014-01-01", "2014-03-01", 80),  # after both: its own journey
]


@pytest.mark.parametrize("rule", journeys.OVERLAP_RULES)
def test_overlapping_episodes_in_one_area_follow_the_overlap_rule(rule):
    """Concurrent treatment of one client at two agencies of one area (issue #25): one journey
    ending when the later ends (``merge``), the earliest only (``keep_earliest``), or two journeys
    (``separate``); the flow table counts what the rule did."""
    ep = _ep(OVERLAPPING)
    ep.loc[ep["episode_id"] == "e2", "agency_id"] = "H"
    assigned = journeys.assign_journeys(ep, [83, 84], 21, rule)
    j = journeys.summarise_journeys(assigned).set_index("journey_id")
    state = assigned.set_index("episode_id")["overlap"]
    flow = journeys.overlap_flow(assigned, rule)
    rule_rows = flow["reason"] == journeys.OVERLAP_FLOW[journeys.RULE_STATE[rule]][2]
    (counted,) = flow[rule_rows].itertuples()
    if rule == "merge":
        assert len(j) == 2 and state["e2"] == "merged"
        first = j.loc["p1-001"]
        assert (first.n_episodes, first.end_date, first.discharge_reason) == (2, D("2013-09-30"), 85)
        assert first.agency_id == "G"  # the profile is the first episode's
        assert (counted.action, counted.table, counted.n) == ("flagged", "journeys", 1)
    elif rule == "keep_earliest":
        assert len(j) == 2 and state["e2"] == "dropped"
        assert pd.isna(assigned.set_index("episode_id").loc["e2", "journey_id"])
        assert j.loc["p1-001", "end_date"] == D("2013-06-30")
        assert (counted.action, counted.table, counted.unit, counted.n) == (
            "dropped",
            "ndtms_episodes",
            "episodes",
            1,
        )
        kept = flow[flow["action"] == "kept"]["n"].sum()
        assert kept + counted.n == len(ep)  # episodes reconcile: kept + dropped
    else:
        assert len(j) == 3 and state["e2"] == "kept_apart"
        assert (counted.action, counted.n) == ("flagged", 1)


def test_a_chain_of_overlaps_and_an_open_episode_make_one_journey():
    """e3 overlaps e2 only, e2 overlaps e1: one cluster; the open e4 keeps it open; an episode
    referred on the day the last one ends does not overlap it."""
    ep = _ep(
        [
            ("p1", "e1", "2012-01-01", "2012-03-01", 85),
            ("p1", "e2", "2012-02-01", "2012-06-01", 85),
            ("p1", "e3", "2012-05-01", "2012-07-31", 80),
            ("p1", "e5", "2012-07-31", "2012-09-01", 80),  # referred the day e3 ends: new journey
            ("p2", "f1", "2012-01-01", None, None),
            ("p2", "f2", "2012-04-01", "2012-05-01", 80),  # inside the open f1
        ]
    )
    j = journeys.build_journeys(ep, [83, 84], 21).set_index("journey_id")
    assert j["n_episodes"].to_dict() == {"p1-001": 3, "p1-002": 1, "p2-001": 2}
    assert j.loc["p1-001", "end_date"] == D("2012-07-31")
    assert pd.isna(j.loc["p2-001", "end_date"]) and pd.isna(j.loc["p2-001", "discharge_reason"])


def test_a_transfer_continues_into_a_journey_with_concurrent_episodes():
    ep = _ep(
        [
            ("p1", "e1", "2012-01-01", "2012-03-01", 83),
            ("p1", "e2", "2012-03-10", "2012-08-01", 80),  # continues the transfer
            ("p1", "e3", "2012-04-01", "2012-06-01", 85),  # concurrent with e2, same area
        ]
    )
    j = journeys.build_journeys(ep, [83, 84], 21)
    assert len(j) == 1 and j.iloc[0].n_episodes == 3 and j.iloc[0].discharge_reason == 80


def test_overlap_clusters_agree_with_a_brute_force_overlap_graph():
    """The sweep of :func:`journeys.overlap_links` against every pair tested for overlap, with
    scipy's connected components, on random episodes (open ones included)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rng = np.random.default_rng(5)
    n = 400
    start = pd.Timestamp("2012-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    length = pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    end = pd.Series(start + length).where(rng.random(n) > 0.1)
    ep = pd.DataFrame(
        {
            "episode_id": [f"e{i:03d}" for i in range(n)],
            "person_id": [f"p{i}" for i in rng.integers(0, 40, n)],
            "area_code": rng.choice(["A", "B", None], n),
            "referral_date": start,
            "discharge_date": end,
        }
    )
    links = journeys.overlap_links(ep)
    pos = pd.Series(range(n), index=ep["episode_id"])
    sweep = coo_matrix(([1] * len(links), (pos[links["from"]], pos[links["to"]])), shape=(n, n))
    days = (
        journeys.open_ended(ep["referral_date"]).to_numpy(),
        journeys.open_ended(ep["discharge_date"]).to_numpy(),
    )
    same = (ep["person_id"].to_numpy()[:, None] == ep["person_id"].to_numpy()) & (
        ep["area_code"].fillna("?").to_numpy()[:, None] == ep["area_code"].fillna("?").to_numpy()
    )
    overlap = (days[0][:, None] < days[1][None, :]) & (days[0][None, :] <= days[0][:, None])
    brute = coo_matrix(same & overlap & ~np.eye(n, dtype=bool))
    _, a = connected_components(sweep, directed=False)
    _, b = connected_components(brute, directed=False)
    assert len(links) > 20  # the draw has overlaps
    assert pd.crosstab(a, b).gt(0).sum(axis=1).eq(1).all() and len(set(a)) == len(set(b))


def test_journeys_do_not_depend_on_the_order_of_the_episodes():
    ep = _ep(
        [*OVERLAPPING, ("p1", "e4", "2014-02-01", "2014-05-01", 83), ("p1", "e5", "2014-05-10", None, None)]
    )
    a = journeys.assign_journeys(ep, [83, 84], 21).set_index("episode_id")["journey_id"]
    b = journeys.assign_journeys(ep.sample(frac=1, random_state=3), [83, 84], 21).set_index("episode_id")
    assert b["journey_id"].reindex(a.index).equals(a)


def test_a_transfer_continues_in_its_own_area_first_and_each_episode_continues_one_transfer():
    ep = _ep(
        [
            ("p1", "e1", "2013-05-18", "2013-08-07", 84),  # custody transfer in area A
            ("p1", "x1", "2013-08-13", "2013-12-27", 81),  # 6 days later, another area: not it
            ("p1", "e2", "2013-08-18", "2013-11-22", 82),  # 11 days later, area A: the continuation
            ("p2", "f1", "2011-01-01", "2011-03-01", 83),
            ("p2", "f2", "2011-01-05", "2011-03-03", 83),  # two transfers, one episode after both
            ("p2", "f3", "2011-03-10", "2011-06-01", 80),
        ]
    )
    ep.loc[ep["episode_id"] == "x1", "area_code"] = "B"
    links = journeys.transfer_links(ep, [83, 84], 21).set_index("from")
    assert links.loc["e1", "to"] == "e2" and links.loc["e1", "candidates"] == 2
    # f3 continues the transfer discharged nearer to it (f2: 7 days), not both
    assert links.loc["f2", "to"] == "f3" and "f1" not in links.index
    # f1 and f2 overlap in one area: kept apart here (under merge they are one journey with f3)
    assigned = journeys.assign_journeys(ep, [83, 84], 21, "separate")
    j = assigned.set_index("episode_id")["journey_id"]
    assert j["e1"] == j["e2"] != j["x1"] and j["f2"] == j["f3"] != j["f1"]
    merged = journeys.assign_journeys(ep, [83, 84], 21).set_index("episode_id")["journey_id"]
    assert merged["f1"] == merged["f2"] == merged["f3"]
    (flagged,) = journeys.transfer_flow(assigned).itertuples()
    assert (
        flagged.action == "flagged" and flagged.n == 1
    )  # e1 chose between e2 and x1 (one journey); f2 had only f3


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
    ep.loc[ep.person_id == "p3", "area_code"] = "B"
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
    j = journeys.assign_study_fields(journeys.build_journeys(_with_cells(ep), [83], 21), _areas(), *WINDOWS)
    flagged, flow = journeys.flag_exclusions(j, ["drug"], 18)
    assert len(flagged) == len(j)  # every journey kept, with its reason
    assert _own(flagged).loc[flagged["exclusion"].isna(), "person_id"].tolist() == ["p2"]
    by_reason = flow.groupby(["action", "reason"])["n"].sum()
    assert by_reason[("dropped", "starts outside the study windows")] == 1
    assert by_reason[("dropped", "aged under 18 at journey start or age unknown")] == 1
    assert by_reason[("dropped", "cohort not analysed")] == 1
    assert flow["n"].sum() == len(j)  # reconciles: kept + dropped = all journeys


def _kent(sub_areas=("west_kent", "east_kent")):
    ep = _ep([("p1", "e1", "2011-04-01", "2011-06-01", 80), ("p2", "e2", "2011-04-01", "2011-06-01", 80)])
    ep["area_code"] = "K"
    ep["sub_area"] = list(sub_areas)
    return journeys.build_journeys(_with_cells(ep), [83], 21)


def test_partial_pilot_area_rules():
    args = WINDOWS
    whole = _own(journeys.assign_study_fields(_kent(), _areas(), *args, "whole_area_pilot")).set_index(
        "person_id"
    )
    assert whole["pilot"].tolist() == [True, True] and whole["analysis_area"].tolist() == ["K", "K"]
    other = journeys.assign_study_fields(_kent(), _areas(), *args, "sub_area_pilot_rest_other")
    own = _own(other).set_index("person_id")
    assert own["group"].tolist() == ["pilot", "other"]
    assert own["analysis_area"].tolist() == ["K:west_kent", "K:rest"]
    excl = journeys.assign_study_fields(_kent(), _areas(), *args, "sub_area_pilot_rest_excluded")
    flagged, _ = journeys.flag_exclusions(excl, ["drug"], 18)
    assert _own(flagged).set_index("person_id")["exclusion"].fillna("in").tolist() == [
        "in",
        "in the excluded part of a partially piloted area",
    ]


def test_rest_other_keeps_the_rest_of_a_partial_pilot_area_as_a_comparison_area():
    """sub_area_pilot_rest_other: the rest of Kent is a comparison area in the study, not excluded
    (it used to be dropped exactly as under sub_area_pilot_rest_excluded)."""
    other = journeys.assign_study_fields(_kent(), _areas(), *WINDOWS, "sub_area_pilot_rest_other")
    flagged, flow = journeys.flag_exclusions(other, ["drug"], 18)
    rest = flagged.set_index("person_id").loc["p2"]
    assert not rest["partial_rest"] and pd.isna(rest["exclusion"]) and rest["group"] == "other"
    assert "in the excluded part of a partially piloted area" not in set(flow.loc[flow["n"] > 0, "reason"])


@pytest.mark.parametrize("spelling", ["West Kent", "WEST-KENT", " west_kent ", "west  kent"])
def test_sub_area_spellings_match_the_pilot_sub_area(spelling):
    j = journeys.assign_study_fields(
        _kent((spelling, "east_kent")), _areas(), *WINDOWS, "sub_area_pilot_rest_other"
    )
    assert _own(j).set_index("person_id")["group"].tolist() == ["pilot", "other"]


def test_pilot_sub_area_that_no_journey_records_stops_with_both_spellings():
    areas = _areas()
    areas["pilot_sub_area"] = pd.array([None, None, "north_kent"], dtype="string")
    with pytest.raises(journeys.JourneyError) as info:
        journeys.assign_study_fields(_kent(), areas, *WINDOWS, "sub_area_pilot_rest_other")
    msg = str(info.value)
    assert "'north_kent'" in msg and "'west_kent' (1)" in msg and "'east_kent' (1)" in msg
    assert "pilot_sub_area" in msg and "study.partial_pilot_rule" in msg
    # the whole-area rule does not use sub-areas: no stop
    journeys.assign_study_fields(_kent(), areas, *WINDOWS, "whole_area_pilot")


@pytest.mark.parametrize(
    "drop, needles",
    [
        ("post", ["no journey starts in the post period (2012-04-01 to 2014-03-31)", "pilot post 0"]),
        ("pre", ["no journey starts in the pre period (2010-04-01 to 2012-03-31)", "other pre 0"]),
        ("pilot", ["no journey in the study windows is in a pilot area"]),
        ("other", ["no journey in the study windows is in a comparison (non-pilot) area"]),
        ("pilot_post", ["no journey in a pilot area starts in the post period"]),
    ],
)
def test_a_missing_period_or_group_stops_with_the_study_dates(drop, needles):
    ep = _with_cells(_ep([("p1", "e1", "2009-01-01", "2009-02-01", 80)]))  # p1: outside the windows
    keep = {
        "post": ["p1", "z1", "z2"],
        "pre": ["p1", "z3", "z4"],
        "pilot": ["p1", "z2", "z4"],
        "other": ["p1", "z1", "z3"],
        "pilot_post": ["p1", "z1", "z2", "z4"],
    }[drop]
    ep = ep[ep["person_id"].isin(keep)]
    with pytest.raises(journeys.JourneyError) as info:
        journeys.assign_study_fields(journeys.build_journeys(ep, [83], 21), _areas(), *WINDOWS)
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, msg
    assert "study.pre_start" in msg and "study.post_end" in msg and "outside the windows 1" in msg


def test_episodes_dropped_by_keep_earliest_continue_the_spine_of_the_flow_diagram():
    """The flow rows of keep_earliest are NDTMS episodes of the derive stage: the diagram chains
    them to the link stage's kept episodes (kept + dropped = the episodes grouped into persons)."""
    from pbr.flow import concat_flows, flow_frame, flow_row
    from pbr.report.descriptive import flow_section
    from pbr.report.disclosure import Disclosure

    ep = _ep(OVERLAPPING)
    assigned = journeys.assign_journeys(ep, [83, 84], 21, "keep_earliest")
    linked = flow_frame(
        [flow_row("link", "persons", "ndtms_episodes", "episodes", "kept", "grouped", len(ep))]
    )
    flow = concat_flows(linked, journeys.overlap_flow(assigned, "keep_earliest"))
    disc = Disclosure(10, active=False)
    section = flow_section(flow, disc)
    derive = [s for s in section["spine"] if s["stage"] == "derive" and s["table"] == "ndtms_episodes"]
    assert len(derive) == 1 and derive[0]["incoming"] is not None
    disc.resolve()
    assert str(derive[0]["kept"]) == "2" and str(derive[0]["incoming"]) == "3"
