"""Outcome functions at their edges (day N vs N+1, denominators), TOP selection and raw rates."""

import pandas as pd

from pbr.derive import outcomes

D = pd.to_datetime
ICD = ["F11", "X42", "X44"]


def _journeys(n, **cols):
    base = {
        "journey_id": [f"j{i}" for i in range(n)],
        "person_id": [f"p{i}" for i in range(n)],
        "journey_seq": [1] * n,
        "start_date": D(["2011-01-01"] * n),
        "end_date": D([None] * n),
        "discharge_reason": pd.array([None] * n, dtype="Int64"),
        "triage_date": D([None] * n),
        "first_intervention_date": D([None] * n),
        "substance_1": ["heroin"] * n,
        "substance_2": pd.array([None] * n, dtype="string"),
        "substance_3": pd.array([None] * n, dtype="string"),
    }
    for k, v in cols.items():
        base[k] = D(v) if k.endswith("date") else v
    df = pd.DataFrame(base)
    df["discharge_reason"] = df["discharge_reason"].astype("Int64")
    return df


def test_completion_day_365_counts_day_366_does_not():
    # 2011 is not a leap year: 2012-01-01 is day 365, 2012-01-02 day 366
    j = _journeys(
        5,
        end_date=["2012-01-01", "2012-01-02", "2011-06-01", "2011-06-01", None],
        discharge_reason=[80, 80, 85, 82, None],
    )
    assert outcomes.successful_completion(j, 365, [80, 81, 82]).tolist() == [1, 0, 0, 1, 0]


def test_initiation_within_90_days_of_triage_among_triaged():
    j = _journeys(
        4,
        triage_date=["2011-01-10", "2011-01-10", "2011-01-10", None],
        first_intervention_date=["2011-04-10", "2011-04-11", None, "2011-01-20"],
    )
    # day 90 counts, day 91 does not, never started = 0, no triage = outside the denominator
    assert outcomes.treatment_initiation(j, 90).tolist() == [1, 0, 0, pd.NA]


def test_waiting_over_3_weeks_among_those_who_started():
    j = _journeys(3, first_intervention_date=["2011-01-22", "2011-01-23", None])
    assert outcomes.waiting_over_3_weeks(j, 21).tolist() == [0, 1, pd.NA]


def test_retention_day_84_from_the_first_intervention_among_starters():
    # intervention 2011-01-11: discharge on day 84 after it (2011-04-05) counts, day 83 does not;
    # still open counts; a death (89) before day 84 does not; never started: outside the denominator
    j = _journeys(
        5,
        first_intervention_date=["2011-01-11", "2011-01-11", "2011-01-11", "2011-01-11", None],
        end_date=["2011-04-05", "2011-04-04", None, "2011-02-01", "2011-02-01"],
        discharge_reason=[85, 80, None, 89, 88],
    )
    assert outcomes.retention(j, 84).tolist() == [1, 0, 1, 0, pd.NA]


def test_unplanned_discharge_codes_among_starters_discharged_in_the_window():
    # 2012-01-01 is day 365 (in the window), 2012-01-02 day 366 (outside); open: outside;
    # a completion or a transfer is a planned exit; a non-starter is outside the denominator
    j = _journeys(
        7,
        first_intervention_date=["2011-01-20"] * 6 + [None],
        end_date=["2012-01-01", "2012-01-02", None, "2011-05-01", "2011-05-01", "2011-05-01", "2011-02-01"],
        discharge_reason=[85, 86, None, 86, 80, 83, 85],
    )
    got = outcomes.unplanned_discharge(j, 365, [85, 86]).tolist()
    assert got == [1, pd.NA, pd.NA, 1, 0, 0, pd.NA]


def test_representation_and_completion_without_it():
    # p0: completes 2011-06-01, next journey on day 183 after discharge (last day of the window)
    # p1: completes, next journey on day 184; p2: completes, never back; p3: does not complete
    j = _journeys(
        4,
        end_date=["2011-06-01", "2011-06-01", "2011-06-01", "2011-06-01"],
        discharge_reason=[80, 80, 80, 85],
    )
    later = pd.DataFrame(
        {
            "person_id": ["p0", "p1", "p3"],
            "journey_seq": [2, 2, 2],
            "start_date": D(["2011-12-01", "2011-12-02", "2011-07-01"]),
        }
    )
    all_j = pd.concat([j[["person_id", "journey_seq", "start_date"]], later], ignore_index=True)
    done = outcomes.successful_completion(j, 365, [80])
    gap = outcomes.next_journey_gap(j, all_j)
    assert (gap.iloc[0], gap.iloc[1], gap.iloc[3]) == (183, 184, 30)
    assert pd.isna(gap.iloc[2])
    assert outcomes.representation(done, gap, 183).tolist() == [1, 0, 0, pd.NA]
    assert outcomes.completion_without_representation(done, gap, 183).tolist() == [0, 1, 1, 0]


def _tops():
    rows = [
        # top_id, episode_id, date, stage, opiates, crack, alcohol, injected, housing
        ("t1", "e0", "2011-01-05", "start", 20, 0, 5, 10, True),
        ("t2", "e0", "2011-07-02", "review", 0, 0, 3, 0, False),  # day 182
        ("t3", "e0", "2011-04-02", "review", 5, 0, 0, 4, True),  # day 91, further from 182
        ("t4", "e1", "2011-01-01", "start", 28, 3, 0, 0, False),
        ("t5", "e1", "2011-10-01", "review", 0, 0, 0, 0, False),  # day 273: last day in the window
        ("t6", "e2", "2011-01-03", "start", 10, 0, 0, 2, True),
        ("t7", "e2", "2011-10-02", "review", 0, 0, 0, 0, True),  # day 274: outside the review window
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "top_id",
            "episode_id",
            "top_date",
            "top_stage",
            "days_opiates",
            "days_crack",
            "days_alcohol",
            "days_injected",
            "acute_housing_problem",
        ],
    )
    df["top_date"] = D(df["top_date"])
    for c in ["days_cocaine", "days_amphetamines", "days_cannabis", "days_other_drug"]:
        df[c] = 0
    df["quality_of_life"] = 10
    return df


def _top_journeys():
    j = _journeys(3)
    j["substance_2"] = pd.array(["crack", None, None], dtype="string")
    ej = pd.DataFrame({"episode_id": ["e0", "e1", "e2"], "journey_id": ["j0", "j1", "j2"]})
    start, review = outcomes.journey_tops(j, _tops(), ej, 42, 91, 273, 182)
    return j, start, review


def test_review_top_is_the_one_closest_to_six_months_inside_the_window():
    _, start, review = _top_journeys()
    assert review["top_id"].to_dict() == {"j0": "t2", "j1": "t5"}  # j2's only review is on day 274
    assert start["top_id"].to_dict() == {"j0": "t1", "j1": "t4", "j2": "t6"}


def test_abstinence_counts_every_problem_substance():
    j, start, review = _top_journeys()
    # j0: heroin and crack both 0 at review (alcohol 3 is not a problem substance): abstinent
    # j1: abstinent; j2: no review TOP in the window: outside the denominator
    assert outcomes.abstinence(j, start, review).tolist() == [1, 1, pd.NA]
    j.loc[0, "substance_3"] = "alcohol"
    assert outcomes.abstinence(j, start, review).tolist()[0] == 0


def test_non_injecting_among_injectors_at_start():
    j, start, review = _top_journeys()
    # j0 injected 10 days at start, 0 at review; j1 not injecting at start; j2 has no review
    assert outcomes.non_injecting(j, start, review).tolist() == [1, pd.NA, pd.NA]


def test_housing_problem_at_review():
    j, start, review = _top_journeys()
    assert outcomes.housing_problem(j, start, review, among_start_problem=False).tolist() == [0, 0, pd.NA]
    assert outcomes.housing_problem(j, start, review, among_start_problem=True).tolist() == [0, pd.NA, pd.NA]
    # without a start TOP a journey is outside the default denominator, inside the alternative's
    no_start = start.drop(index=j.loc[0, "journey_id"])
    assert outcomes.housing_problem(j, no_start, review, among_start_problem=False).tolist() == [
        pd.NA,
        0,
        pd.NA,
    ]
    assert outcomes.housing_problem(j, no_start, review, False, requires_start_top=False).tolist() == [
        0,
        0,
        pd.NA,
    ]


def test_drug_death_window_cause_and_timing():
    j = _journeys(5)
    deaths = pd.DataFrame(
        {
            "person_id": ["p0", "p1", "p2", "p3", "p4"],
            "date_of_death": D(["2011-01-01", "2012-01-01", "2012-01-02", "2010-12-31", "2011-05-01"]),
            "underlying_cause": ["X42", "F112", "X42", "X42", "I21"],
        }
    )
    # p0 day 0; p1 day 365 with a 4-character code; p2 day 366; p3 died before the journey; p4 not poisoning
    assert outcomes.drug_related_death(j, deaths, 365, ICD).tolist() == [1, 1, 0, 0, 0]


def test_acquisitive_offence_from_the_start_day():
    j = _journeys(3)
    offences = pd.DataFrame(
        {
            "person_id": ["p0", "p1", "p2", "p2"],
            "offence_date": D(["2010-12-31", "2011-01-01", "2011-03-01", "2011-02-01"]),
            "offence_group": ["burglary", "theft_shoplifting", "violence", "drugs_possession"],
        }
    )
    # p0: the day before the start; p1: day 0; p2: only non-acquisitive offences
    assert outcomes.acquisitive_crime(j, offences, 365, ["burglary", "theft_shoplifting"]).tolist() == [
        0,
        1,
        0,
    ]


def test_baseline_covariates_band_and_mark_missing_tops():
    j, start, _ = _top_journeys()
    base = outcomes.baseline_covariates(j, start)
    # j0: heroin 20 and crack 0 -> max 20; j1: heroin 28; j2: heroin 10
    assert base["baseline_use"].tolist() == ["8-20", "21-28", "8-20"]
    j2 = _journeys(1)
    j2["journey_id"] = ["none"]
    assert outcomes.baseline_covariates(j2, start)["baseline_use"].tolist() == ["no_top"]


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


def test_baseline_table_percentages_sum_to_100_per_cell():
    a = pd.DataFrame(
        {
            "cohort": ["drug"] * 4,
            "group": ["pilot", "pilot", "other", "other"],
            "period": ["pre"] * 4,
            "sex": ["M", None, "F", "F"],
        }
    )
    t = outcomes.baseline_table(a, ["sex"])
    pilot = t[t.group == "pilot"].set_index("level")
    assert pilot["n"].to_dict() == {"M": 1, "unknown": 1}
    assert (t.groupby(["group", "variable"])["percent"].sum() == 100).all()


def test_quarterly_rates():
    a = pd.DataFrame(
        {
            "cohort": ["drug"] * 4,
            "group": ["pilot"] * 4,
            "quarter": [0, 0, 1, 1],
            "y": pd.array([1, 0, 1, pd.NA], dtype="Int64"),
        }
    )
    q = outcomes.quarterly_rates(a, ["y"]).set_index("quarter")
    assert q["rate"].to_dict() == {0: 0.5, 1: 1.0}
    assert q.loc[1, "n"] == 1
