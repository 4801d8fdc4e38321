"""Link stage: attributor keys, keyed person ids, identifiers removed, exact register links."""

import pandas as pd
import pytest

from pbr import link
from pbr.contract import IDENTIFIER_COLUMNS

SECRET = b"test-key"


def _episodes():
    return pd.DataFrame(
        {
            "episode_id": ["e1", "e2", "e3", "e4"],
            "client_id": ["c1", "c9", "c2", "c3"],
            "agency_id": ["A1", "A2", "A1", "A1"],
            "area_code": ["X", "X", "Y", "Y"],
            "initial_first": ["J", "J", "M", None],
            "initial_surname": ["S", "S", "B", "K"],
            "date_of_birth": pd.to_datetime(["1980-01-31", "1980-01-31", "1975-06-01", "1990-02-02"]),
            "sex": ["M", "M", "F", "M"],
            "referral_date": pd.to_datetime(["2011-01-30", "2012-05-01", "2011-06-01", "2011-01-01"]),
        }
    )


def test_same_attributor_is_one_person_across_agencies():
    out, flow = link.link_persons(_episodes(), SECRET)
    pid = out.set_index("episode_id")["person_id"]
    assert pid["e1"] == pid["e2"] != pid["e3"]
    assert "e4" not in pid.index  # missing initial: cannot be a person
    dropped = flow[(flow.action == "dropped")]["n"].sum()
    kept = flow[(flow.action == "kept")]["n"].sum()
    assert (dropped, kept) == (1, 3)


def test_identifiers_do_not_leave_linkage():
    out, _ = link.link_persons(_episodes(), SECRET)
    assert not (set(out.columns) & IDENTIFIER_COLUMNS)
    assert "client_id" not in out.columns


def test_age_at_referral_counts_whole_years():
    out, _ = link.link_persons(_episodes(), SECRET)
    age = out.set_index("episode_id")["age_at_referral"]
    assert age["e1"] == 30  # referral the day before the 31st birthday
    assert age["e3"] == 36


def test_person_id_is_a_keyed_hash():
    a, _ = link.link_persons(_episodes(), b"key-one")
    b, _ = link.link_persons(_episodes(), b"key-two")
    assert set(a["person_id"]).isdisjoint(set(b["person_id"]))
    again, _ = link.link_persons(_episodes(), b"key-one")
    assert a["person_id"].tolist() == again["person_id"].tolist()


def test_real_mode_without_key_stops_with_instructions(monkeypatch):
    monkeypatch.delenv(link.KEY_ENV, raising=False)
    with pytest.raises(link.LinkError, match="PBR_LINK_KEY"):
        link.pseudonymisation_key("real")
    assert link.pseudonymisation_key("synthetic")
    monkeypatch.setenv(link.KEY_ENV, "abc")
    assert link.pseudonymisation_key("real") == b"abc"


def test_register_links_on_exact_key_and_counts_unmatched():
    deaths = pd.DataFrame(
        {
            "death_id": ["d1", "d2", "d3"],
            "forename": ["John", "mary", "John"],
            "surname": ["Smith", "Brown", "Smith"],
            "date_of_birth": pd.to_datetime(["1980-01-31", "1975-06-01", "1980-02-01"]),
            "sex": ["M", "F", "M"],
            "date_of_death": pd.to_datetime(["2012-01-01", "2013-01-01", "2012-01-01"]),
            "underlying_cause": ["X42", "I21", "X42"],
        }
    )
    links, flow = link.link_register(
        _episodes(), deaths, "death_id", ["date_of_death", "underlying_cause"], SECRET, "deaths"
    )
    persons, _ = link.link_persons(_episodes(), SECRET)
    pid = persons.set_index("episode_id")["person_id"]
    got = dict(zip(links["death_id"], links["person_id"], strict=True))
    assert got == {
        "d1": pid["e1"],
        "d2": pid["e3"],
    }  # lower-case name still gives initial M; d3's dob differs
    assert not (set(links.columns) & IDENTIFIER_COLUMNS)
    assert flow.set_index("action")["n"].to_dict() == {"kept": 2, "dropped": 1}
