"""Late death registration: the lag table, the sensitivity outcome, its vocabulary, the generator's cut-off."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from pbr.config import load_schema, validate_config
from pbr.derive import outcomes, registration
from pbr.registry import outcomes as outcome_registry
from pbr.synthetic import generator, params

D = pd.to_datetime
ICD = ["X42", "F11"]


def _journeys(rows):
    """Study journeys: (journey_id, person_id, start_date, group, period[, exclusion])."""
    df = pd.DataFrame(
        [r if len(r) == 6 else (*r, None) for r in rows],
        columns=["journey_id", "person_id", "start_date", "group", "period", "exclusion"],
    )
    df["start_date"] = D(df["start_date"])
    return df


def _deaths(rows, p=0.9):
    """Linked deaths: (death_id, person_id, date_of_death, date_of_registration, cause)."""
    df = pd.DataFrame(
        rows, columns=["death_id", "person_id", "date_of_death", "date_of_registration", "underlying_cause"]
    )
    for c in ("date_of_death", "date_of_registration"):
        df[c] = D(df[c])
    df["match_probability"] = p
    return df


# --------------------------------------------------------------------------- the sensitivity outcome


def test_a_death_registered_after_the_lag_is_not_counted_one_within_is():
    j = pd.DataFrame({"journey_id": ["j0", "j1", "j2"], "person_id": ["p0", "p1", "p2"]})
    j["start_date"] = D(["2011-01-01"] * 3)
    deaths = _deaths(
        [
            ("d0", "p0", "2011-06-01", "2012-05-31", "X42"),  # day 365 of the lag: registered within
            ("d1", "p1", "2011-06-01", "2012-06-01", "X42"),  # day 366: after the lag
            ("d2", "p2", "2011-06-01", "2011-06-01", "X42"),  # registered the same day
        ]
    )
    assert outcomes.drug_related_death(j, deaths, 365, ICD).tolist() == [1, 1, 1]
    late = outcomes.registered_within(deaths, "deaths", 365)
    assert late["death_id"].tolist() == ["d0", "d2"]
    assert outcomes.drug_related_death(j, late, 365, ICD).tolist() == [1, 0, 1]


def test_the_sensitivity_names_a_missing_registration_column():
    deaths = _deaths([("d0", "p0", "2011-06-01", "2011-06-02", "X42")]).drop(columns="date_of_registration")
    with pytest.raises(outcomes.OutcomeError, match="date_of_registration"):
        outcomes.registered_within(deaths, "deaths", 365)


def test_the_vocabulary_is_the_registrys():
    settings = {"drug_related_death": {"window_days": 365, "registered_within_days": 365}}
    assert outcome_registry.registration_lag("drug_related_death", settings) == 365
    assert outcome_registry.registration_lag("acquisitive_crime", {"acquisitive_crime": {}}) is None
    assert outcome_registry.registration_lag("drug_related_death", {"drug_related_death": {}}) is None
    null = {"drug_related_death": {"registered_within_days": None}}
    assert outcome_registry.registration_lag("drug_related_death", null) is None
    assert outcome_registry.registration_suffix(365) == "_reg365"
    spec = outcome_registry.registration_spec(365)
    assert spec == "registered_within_365d" and outcome_registry.registration_spec_days(spec) == 365
    assert outcome_registry.registration_spec_days("linkage_threshold_0.2") is None


def test_the_fit_names_the_registration_variant_beside_the_thresholds(monkeypatch):
    import importlib.util
    import sys
    import types
    from pathlib import Path

    # the script's _bootstrap would re-import pbr from scratch: stand it in
    monkeypatch.setitem(sys.modules, "_bootstrap", types.ModuleType("_bootstrap"))
    path = Path(__file__).resolve().parents[2] / "scripts" / "fit_linkage_sensitivity.py"
    spec = importlib.util.spec_from_file_location("fit_linkage_sensitivity", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    variants = script.variants

    linkage = {
        "threshold": 0.5,
        "sensitivity_thresholds": [0.2, 0.9],
        "recall": 0.8,
        "recall_sensitivity": [0.6],
    }
    fits = variants("drug_related_death", linkage, 365)
    assert [f[:2] for f in fits] == [
        ("drug_related_death_p020", "linkage_threshold_0.2"),
        ("drug_related_death_p090", "linkage_threshold_0.9"),
        ("drug_related_death_r060", "linkage_recall_0.6"),
        ("drug_related_death_reg365", "registered_within_365d"),
    ]
    assert "p >= 0.429" in fits[2][2]
    one = linkage | {"sensitivity_thresholds": [0.2], "recall_sensitivity": []}
    assert len(variants("acquisitive_crime", one, None)) == 1


# --------------------------------------------------------------------------- the config


def _config(value):
    return {"outcomes": {"drug_related_death": {"registered_within_days": value}}}


def test_the_schema_documents_the_lag_with_its_default_and_checks_it():
    node = load_schema()["properties"]["outcomes"]["properties"]["drug_related_death"]["properties"]
    assert node["registered_within_days"]["default"] == 365
    assert node["registered_within_days"]["type"] == ["integer", "null"]
    assert validate_config(_config(None))["outcomes"]["drug_related_death"]["registered_within_days"] is None
    assert validate_config({})["outcomes"]["drug_related_death"]["registered_within_days"] == 365
    with pytest.raises(Exception, match="registered_within_days"):
        validate_config(_config(-1))
    with pytest.raises(Exception, match="registered_within_days"):
        validate_config(_config("a year"))


# --------------------------------------------------------------------------- the lag table


def test_the_lag_table_by_group_and_period_with_exact_figures():
    journeys = _journeys(
        [
            ("j0", "p0", "2011-01-01", "pilot", "pre"),
            ("j1", "p1", "2011-01-01", "pilot", "pre"),
            ("j2", "p2", "2011-01-01", "pilot", "pre"),
            ("j3", "p3", "2012-06-01", "other", "post"),
            ("j4", "p3", "2011-09-01", "pilot", "pre"),  # p3's earlier journey: the later one takes the death
            ("j5", "p4", "2012-06-01", "other", "post", "under 18"),  # excluded: its death is not counted
            ("j6", "p5", "2011-01-01", "other", "pre"),
        ]
    )
    deaths = _deaths(
        [
            ("d0", "p0", "2011-02-01", "2011-02-11", "I21"),  # 10 days
            ("d1", "p1", "2011-02-01", "2011-08-02", "X42"),  # 182 days: 6 months and 1 day
            ("d2", "p2", "2011-02-01", "2012-02-02", "F112"),  # 366 days: over 12 months
            ("d3", "p3", "2012-07-01", "2012-07-31", "X42"),  # 30 days, other/post
            ("d4", "p4", "2012-07-01", "2012-07-02", "X42"),  # excluded journey
            ("d5", "p5", "2012-02-01", "2012-02-03", "X42"),  # day 396 of its journey: outside the window
        ]
    )
    low = _deaths([("d9", "p0", "2011-03-01", "2011-03-02", "X42")], p=0.3)  # below the threshold
    extract = pd.concat([deaths, low])[["date_of_death", "date_of_registration"]]
    t = registration.registration_lag_table(
        journeys, pd.concat([deaths, low]), extract, 0.5, "2014-03-31", 365, ICD
    )
    assert list(t.columns) == registration.LAG_COLUMNS
    assert len(t) == 2 * 2 * 2 + 1  # every cell of both kinds, then the extract
    cell = t.set_index(["deaths", "group", "period"])
    pilot_pre = cell.loc[("linked", "pilot", "pre")]
    assert pilot_pre["n"] == 3
    assert pilot_pre["median_days"] == 182 and pilot_pre["p90_days"] == pytest.approx(182 + 0.8 * 184)
    assert (pilot_pre["n_over_6_months"], pilot_pre["n_over_12_months"]) == (2, 1)
    assert pilot_pre["share_over_6_months"] == pytest.approx(2 / 3)
    poison = cell.loc[("drug_poisoning", "pilot", "pre")]
    assert poison["n"] == 2 and poison["median_days"] == 274
    other_post = cell.loc[("linked", "other", "post")]
    assert other_post["n"] == 1 and other_post["median_days"] == 30
    assert other_post["latest_registration"] == pd.Timestamp("2012-07-31")
    empty = cell.loc[("linked", "other", "pre")]  # d5 is outside its journey's window
    assert empty["n"] == 0 and np.isnan(empty["median_days"]) and np.isnan(empty["share_over_6_months"])
    whole = cell.loc[("extract", "all", "all")]
    assert whole["n"] == 7 and whole["latest_registration"] == pd.Timestamp("2012-07-31")
    # the last outcome window ends 2014-03-31 + 365 days = 2015-03-31
    assert whole["days_after_last_window"] == (D("2012-07-31") - D("2015-03-31")).days


def test_the_same_inputs_give_the_same_bytes(tmp_path):
    from pbr import io

    journeys = _journeys([("j0", "p0", "2011-01-01", "pilot", "pre")])
    deaths = _deaths([("d0", "p0", "2011-02-01", "2011-06-01", "X42")])
    extract = deaths[["date_of_death", "date_of_registration"]]
    paths = [tmp_path / f"{i}.parquet" for i in range(2)]
    for p in paths:
        io.write_table(
            registration.registration_lag_table(journeys, deaths, extract, 0.5, "2014-03-31", 365, ICD), p
        )
    assert paths[0].read_bytes() == paths[1].read_bytes()


# --------------------------------------------------------------------------- the generator's cut-off


@pytest.fixture(scope="module")
def tiny():
    return params.SyntheticParams(scale=0.004, seed=11)


def test_no_death_registered_after_the_cut_off_is_in_the_extract(tiny):
    base = generator.generate(tiny)
    registers = dataclasses.replace(tiny.registers, deaths_registered_by="2014-06-30")
    cut = generator.generate(dataclasses.replace(tiny, registers=registers))
    deaths = cut.tables["ons_deaths"]
    assert (deaths["date_of_registration"] <= D("2014-06-30")).all()
    kept = base.tables["ons_deaths"]["date_of_registration"] <= D("2014-06-30")
    assert (~kept).sum() > 0 and deaths.equals(base.tables["ons_deaths"][kept].reset_index(drop=True))
    assert set(cut.truth["death_person"]["death_id"]) == set(deaths["death_id"])
    for name in ("ndtms_episodes", "ndtms_top", "pnc_offences", "areas"):
        assert cut.tables[name].equals(base.tables[name]), name


def test_the_default_is_no_cut_off_and_leaves_the_extract_unchanged(tiny):
    assert params.SyntheticParams().registers.deaths_registered_by == ""
    late = dataclasses.replace(tiny.registers, deaths_registered_by="2100-01-01")
    a, b = generator.generate(tiny), generator.generate(dataclasses.replace(tiny, registers=late))
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    registration_dates = a.tables["ons_deaths"]["date_of_registration"]
    assert registration_dates.max() > D(tiny.dates.extract_end)  # late registrations are all there


def test_a_bad_cut_off_is_named():
    with pytest.raises(ValueError, match=r"registers\.deaths_registered_by"):
        params.SyntheticParams.from_config({"registers": {"deaths_registered_by": "June 2014"}})
