"""Link stage: attributor keys, keyed person ids, identifiers removed, exact register links."""

import copy
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pbr import source
from pbr.config import validate_config
from pbr.contract import IDENTIFIER_COLUMNS, MIN_LINK_RATE
from pbr.link import matching, model, pseudonyms, quality, records
from pbr.link.persons import link_persons
from pbr.registry import registers
from pbr.registry.registers import REGISTERS

SECRET = b"test-key"
#: the linkage settings' defaults
LINKAGE = validate_config({})["linkage"]


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
            "triage_date": pd.to_datetime(["2011-02-05", "2012-05-03", None, "2011-01-02"]),
            "first_intervention_date": pd.to_datetime(["2011-02-20", "2012-05-20", None, None]),
            "discharge_date": pd.to_datetime(["2011-06-30", None, "2011-12-01", "2011-03-01"]),
            "discharge_reason": pd.array([83, None, 89, 80], dtype="Int64"),
        }
    )


AREAS = pd.DataFrame({"area_code": ["X", "Y", "Z", "A99"], "region": ["North", "North", "South", "South"]})

#: TOP interviews of the episodes above: e2's review is its person's latest contact
TOPS = pd.DataFrame(
    {"episode_id": ["e1", "e2", "e3"], "top_date": pd.to_datetime(["2011-03-01", "2012-08-01", "2011-07-01"])}
)
NO_TOPS = pd.DataFrame(
    {"episode_id": pd.Series([], dtype="string"), "top_date": pd.Series([], dtype="datetime64[ns]")}
)


def test_same_attributor_is_one_person_across_agencies():
    out, flow = link_persons(_episodes(), SECRET)
    pid = out.set_index("episode_id")["person_id"]
    assert pid["e1"] == pid["e2"] != pid["e3"]
    assert "e4" not in pid.index  # missing initial: cannot be a person
    dropped = flow[(flow.action == "dropped")]["n"].sum()
    kept = flow[(flow.action == "kept")]["n"].sum()
    assert (dropped, kept) == (1, 3)


def test_identifiers_do_not_leave_linkage():
    out, _ = link_persons(_episodes(), SECRET)
    assert not (set(out.columns) & IDENTIFIER_COLUMNS)
    assert "client_id" not in out.columns


def test_age_at_referral_counts_whole_years():
    out, _ = link_persons(_episodes(), SECRET)
    age = out.set_index("episode_id")["age_at_referral"]
    assert age["e1"] == 30  # referral the day before the 31st birthday
    assert age["e3"] == 36


def test_person_id_is_a_keyed_hash():
    a, _ = link_persons(_episodes(), b"key-one")
    b, _ = link_persons(_episodes(), b"key-two")
    assert set(a["person_id"]).isdisjoint(set(b["person_id"]))
    again, _ = link_persons(_episodes(), b"key-one")
    assert a["person_id"].tolist() == again["person_id"].tolist()


def test_real_mode_without_key_stops_with_instructions(monkeypatch):
    monkeypatch.delenv(source.KEY_ENV, raising=False)
    with pytest.raises(pseudonyms.LinkError, match="PBR_LINK_KEY"):
        pseudonyms.pseudonymisation_key("real")
    assert pseudonyms.pseudonymisation_key("synthetic")
    monkeypatch.setenv(source.KEY_ENV, " ")  # blank or short keys are refused, with how to make one
    with pytest.raises(pseudonyms.LinkError, match=r"(?s)too weak.*openssl rand"):
        pseudonyms.pseudonymisation_key("real")
    monkeypatch.setenv(source.KEY_ENV, "fifteen-bytes-x")
    with pytest.raises(pseudonyms.LinkError, match="15 byte"):
        pseudonyms.pseudonymisation_key("real")
    monkeypatch.setenv(source.KEY_ENV, "  sixteen-bytes-xy  ")
    assert pseudonyms.pseudonymisation_key("real") == b"sixteen-bytes-xy"


def _deaths():
    return pd.DataFrame(
        {
            "death_id": ["d1", "d2", "d3"],
            "forename": ["John", "mary", "John"],
            "surname": ["Smith", "Brown", "Smith"],
            "date_of_birth": pd.to_datetime(["1980-01-31", "1975-06-01", "1980-02-01"]),
            "sex": ["M", "F", "M"],
            "area_code": ["X", "Y", None],
            "date_of_death": pd.to_datetime(["2012-01-01", "2013-01-01", "2012-01-01"]),
            "underlying_cause": ["X42", "I21", "X42"],
        }
    )


DEATH_SPEC = {
    "id": "death_id",
    "unit": "death_id",
    "group": None,
    "keep": ["death_id", "date_of_death", "underlying_cause"],
    "event": "date_of_death",
}


def test_deterministic_register_link_on_exact_key_carries_no_identifiers(tmp_path):
    cfg = LINKAGE | {"method": "deterministic", "threshold": 0.9}
    left, right = records.link_inputs(_episodes(), _deaths(), DEATH_SPEC, SECRET, AREAS, TOPS)
    out = matching.link_register_probabilistic(left, right, _deaths(), DEATH_SPEC, {}, cfg, "deaths")
    _deaths().to_parquet(tmp_path / "deaths.parquet")  # read from its file: the candidate deaths only
    from_file = matching.link_register_probabilistic(
        left, right, tmp_path / "deaths.parquet", DEATH_SPEC, {}, cfg, "deaths"
    )
    for name, table in out.items():
        pd.testing.assert_frame_equal(from_file[name], table, obj=name)
    persons, _ = link_persons(_episodes(), SECRET)
    pid = persons.set_index("episode_id")["person_id"]
    got = dict(zip(out["links"]["death_id"], out["links"]["person_id"], strict=True))
    assert got == {
        "d1": pid["e1"],
        "d2": pid["e3"],
    }  # lower-case name still gives initial M; d3's dob differs
    assert not (set(out["links"].columns) & IDENTIFIER_COLUMNS)
    assert out["flow"].set_index("action")["n"].to_dict() == {"kept": 2, "dropped": 1}


def test_best_matches_is_one_to_one_greedy_and_threshold_consistent():
    pairs = pd.DataFrame(
        {
            "left_id": ["a", "a", "b", "b", "c"],
            "right_id": ["x", "y", "x", "z", "z"],
            "match_weight": [5.0, 3.0, 4.0, 1.0, 1.0],
            "match_probability": [0.97, 0.9, 0.95, 0.6, 0.6],
        }
    )
    m = matching.best_matches(pairs)
    assert list(zip(m.left_id, m.right_id, strict=True)) == [("a", "x"), ("b", "z")]  # tie b/c on z: b first
    high = matching.best_matches(pairs[pairs.match_probability >= 0.9])
    assert (
        high[["left_id", "right_id"]].values.tolist()
        == m[m.match_probability >= 0.9][["left_id", "right_id"]].values.tolist()
    )


def _brute_capacity_matches(pairs: pd.DataFrame) -> list[tuple[str, str]]:
    """The greedy capacity assignment spelled out pair by pair (the order best_matches states)."""
    taken: dict = {}
    used: set = set()
    out = []
    for r in sorted(pairs.itertuples(), key=lambda r: (-r.match_weight, r.left_id, r.right_id)):
        if r.right_id not in used and taken.get(r.left_id, 0) < r.capacity:
            taken[r.left_id] = taken.get(r.left_id, 0) + 1
            used.add(r.right_id)
            out.append((r.left_id, r.right_id))
    return sorted(out)


def test_best_matches_lets_a_person_take_units_up_to_its_capacity():
    pairs = pd.DataFrame(
        {
            "left_id": ["a", "a", "a", "b", "b"],
            "right_id": ["x", "y", "z", "x", "y"],
            "match_weight": [5.0, 4.0, 3.0, 4.5, 1.0],
            "match_probability": [0.97, 0.95, 0.9, 0.96, 0.6],
            "capacity": [2, 2, 2, 1, 1],
        }
    )
    m = matching.best_matches(pairs, capacity="capacity")
    # a takes x and y (its two best), b loses x to a and y to a: no link; z stays free
    assert list(zip(m.left_id, m.right_id, strict=True)) == [("a", "x"), ("a", "y")]
    one = matching.best_matches(pairs.assign(capacity=1), capacity="capacity")
    assert one[["left_id", "right_id"]].equals(matching.best_matches(pairs)[["left_id", "right_id"]])
    # random tables: the brute-force greedy, each unit once, each person within capacity, and the
    # assignment above any threshold is the one made from the pairs above it alone
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = 300
        persons = rng.integers(0, 60, n)
        caps = rng.integers(1, 4, 60)
        rand = pd.DataFrame(
            {
                "left_id": [f"p{i:02d}" for i in persons],
                "right_id": [f"u{i:02d}" for i in rng.integers(0, 80, n)],
                "match_weight": rng.integers(-5, 5, n).astype(float),  # ties on purpose
                "capacity": caps[persons],
            }
        ).drop_duplicates(["left_id", "right_id"])
        rand["match_probability"] = 1 / (1 + 2.0 ** -rand["match_weight"])
        got = matching.best_matches(rand, capacity="capacity")
        assert sorted(zip(got.left_id, got.right_id, strict=True)) == _brute_capacity_matches(rand)
        assert not got["right_id"].duplicated().any()
        assert (got.groupby("left_id").size() <= got.groupby("left_id")["capacity"].first()).all()
        above = matching.best_matches(rand[rand.match_weight >= 1], capacity="capacity")
        kept = got[got.match_weight >= 1]
        assert above[["left_id", "right_id"]].values.tolist() == kept[["left_id", "right_id"]].values.tolist()


def test_group_pairs_keep_each_units_best_pair_as_pandas_sorts_them():
    """to_group_pairs (integer sort codes) against the same steps in pandas: merge, sort by person,
    unit and weight (descending, stable), first of each (person, unit)."""
    rng = np.random.default_rng(11)
    n = 2000
    right = pd.DataFrame({"unique_id": [f"r{i:04d}" for i in range(400)]})
    right["group"] = pd.Series([f"g{i:03d}" for i in rng.integers(0, 150, len(right))], dtype="str")
    pairs = pd.DataFrame(
        {
            "left_id": pd.Series([f"p{i:03d}" for i in rng.integers(0, 120, n)], dtype="str"),
            "right_id": pd.Series([f"r{i:04d}" for i in rng.integers(0, 400, n)], dtype="str"),
            "match_weight": rng.integers(-3, 4, n).astype(float),  # ties on purpose
        }
    ).drop_duplicates(["left_id", "right_id"])
    pairs["match_probability"] = rng.random(len(pairs))  # tells tied rows apart
    pairs.loc[pairs.index[:5], "match_weight"] = np.inf  # exact pairs carry an infinite weight
    expected = (
        pairs.merge(right, left_on="right_id", right_on="unique_id", how="left")
        .sort_values(["left_id", "group", "match_weight"], ascending=[True, True, False], kind="mergesort")
        .drop_duplicates(["left_id", "group"], keep="first")[
            ["left_id", "group", "match_weight", "match_probability"]
        ]
        .rename(columns={"group": "right_id"})
        .reset_index(drop=True)
    )
    got = matching.to_group_pairs(pairs, right)
    assert len(got) < len(pairs)
    pd.testing.assert_frame_equal(got, expected)


def test_unit_capacity_is_the_persons_clients_up_to_the_setting():
    left = pd.DataFrame({"unique_id": ["a", "b", "c"], "clients": [1, 2, 3]})
    pairs = pd.DataFrame({"left_id": ["a", "b", "c", "c", "zz"]})
    assert matching.unit_capacity(pairs, left, 2).tolist() == [1, 2, 2, 2, 1]
    assert matching.unit_capacity(pairs, left, 1).tolist() == [1, 1, 1, 1, 1]


def test_link_records_count_the_clients_a_person_merges():
    """Two clients (another agency, or the same agency's second client id) sharing an attributor are
    one person of two clients; one client's two episodes are one client."""
    eps = _episodes()
    extra = eps.iloc[[0, 0, 0]].assign(
        episode_id=["e5", "e6", "e7"], agency_id=["A9", "A1", "A1"], client_id=["c1", "c7", "c1"]
    )
    left = records.ndtms_link_records(pd.concat([eps, extra], ignore_index=True), SECRET, AREAS, TOPS)
    person = left.set_index("unique_id")["clients"]
    # the J S 1980-01-31 attributor: c1 at A1 (e1, e7), c9 at A2, c1 at A9, c7 at A1 -> 4 clients;
    # M B: one client; e4 (no first initial) is no person
    assert sorted(person.tolist()) == [1, 4]


def test_offender_identities_collapse_to_the_offender():
    pnc = pd.DataFrame(
        {
            "offence_id": ["o1", "o2", "o3"],
            "pnc_id": ["N1", "N1", "N2"],
            "forename": ["John", "Jon", "Ann"],
            "surname": ["Smith", "Smith", "Lee"],
            "date_of_birth": pd.to_datetime(["1980-01-31"] * 3),
            "sex": ["M", "M", "F"],
            "area_code": ["X", "X", "X"],
        }
    )
    rec = records.register_link_records(pnc, "offence_id", AREAS, "pnc_id", secret=SECRET)
    n1, n2 = pseudonyms.unit_ids(pd.Series(["N1", "N2"]), SECRET)
    assert rec[["unique_id", "group"]].values.tolist() == [["o1", n1], ["o3", n2]]  # John/Jon share initials
    assert not {"N1", "N2"} & set(rec["group"])  # the PNC id itself never leaves linkage
    # later steps look the pseudonym up instead of hashing every PNC id again
    assert records.unit_pseudonyms(rec, "pnc_id").to_dict() == {"N1": n1, "N2": n2}


def _pnc() -> pd.DataFrame:
    """Four offence records of three offenders (N1 with two offences)."""
    return pd.DataFrame(
        {
            "offence_id": ["o1", "o2", "o3", "o4"],
            "pnc_id": ["N1", "N1", "N2", "N3"],
            "forename": ["John", "Jon", "Ann", "Mary"],
            "surname": ["Smith", "Smith", "Lee", "Brown"],
            "date_of_birth": pd.to_datetime(["1980-01-31", "1980-01-31", "1970-01-01", "1975-06-01"]),
            "sex": ["M", "M", "F", "F"],
            "area_code": ["X", "X", "X", "Y"],
            "offence_date": pd.to_datetime(["2011-01-01", "2012-01-01", "2011-01-01", "2013-01-01"]),
            "offence_group": ["theft", "theft", "drugs", "theft"],
        }
    )


def test_offender_link_carries_the_pseudonym_and_counts_every_offence(tmp_path):
    pnc = _pnc()
    spec = {
        "id": "offence_id",
        "unit": "pnc_id",
        "group": "pnc_id",
        "keep": ["offence_id", "offence_date", "offence_group"],
    }
    cfg = LINKAGE | {"method": "deterministic", "threshold": 0.9}
    left, right = records.link_inputs(_episodes(), pnc, spec, SECRET, AREAS, TOPS)
    out = matching.link_register_probabilistic(left, right, pnc, spec, {}, cfg, "offences")
    links = out["links"].set_index("offence_id")
    n1, n3 = pseudonyms.unit_ids(pd.Series(["N1", "N3"]), SECRET)
    assert sorted(links.index) == ["o1", "o2", "o4"]  # J S 1980-01-31 M (both offences), M B 1975-06-01 F
    assert links.loc["o1", "pnc_id"] == links.loc["o2", "pnc_id"] == n1 and links.loc["o4", "pnc_id"] == n3
    assert out["flow"].set_index("action")["n"].to_dict() == {"kept": 3, "dropped": 1}
    # the truth names offenders as the link table does (pseudonyms looked up in the records)
    persons, _ = link_persons(_episodes(), SECRET)
    episode_truth = pd.DataFrame(
        {"episode_id": ["e1", "e2", "e3", "e4"], "true_person_id": ["T1", "T1", "T2", "T3"]}
    )
    unit_truth = pd.DataFrame(
        {"offence_id": ["o1", "o2", "o3", "o4"], "true_person_id": ["T1", "T1", None, "T2"]}
    )
    truth = quality.register_true_pairs(persons, episode_truth, unit_truth, spec, pnc, right)
    linked = quality.link_matches(out["links"], "pnc_id")
    pair_columns = ["left_id", "right_id"]
    assert set(truth[pair_columns].itertuples(index=False)) == set(
        linked[pair_columns].itertuples(index=False)
    )
    assert set(truth["right_id"]) == {n1, n3}
    with pytest.raises(ValueError, match="needs the register and its records"):
        quality.register_true_pairs(persons, episode_truth, unit_truth, spec)
    # predict_links passes the register's file: only the candidate units' rows of its linked
    # columns (no identifiers) are read, with the same outputs
    assert not set(registers.linked_columns(REGISTERS["offences"])) & IDENTIFIER_COLUMNS
    path = tmp_path / "pnc_offences.parquet"
    pnc.to_parquet(path)
    rows = matching.register_rows(path, REGISTERS["offences"], pd.Series(["N1", "N3"], dtype="string"))
    assert sorted(rows["offence_id"]) == ["o1", "o2", "o4"]
    assert list(rows.columns) == registers.linked_columns(REGISTERS["offences"])
    same = matching.link_register_probabilistic(left, right, path, REGISTERS["offences"], {}, cfg, "offences")
    for name, table in out.items():
        pd.testing.assert_frame_equal(same[name], table, obj=name)


def _noisy_population(n=3000, n_unrelated=15000, seed=5):
    """Persons with initials/dob/sex/area, a register holding noisy copies of a third of them among strangers."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("ABCDEFGHIJKLMNOPRSTW"))
    p = rng.dirichlet(np.ones(len(letters)) * 0.7)

    def people(k):
        return pd.DataFrame(
            {
                "first": rng.choice(letters, k, p=p),
                "sur": rng.choice(letters, k, p=p),
                "dob": pd.Timestamp("1965-01-01") + pd.to_timedelta(rng.integers(0, 25 * 365, k), unit="D"),
                "sex": rng.choice(["M", "F"], k, p=[0.7, 0.3]),
                "area": rng.choice([f"A{i}" for i in range(30)], k),
                "last": pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, k), unit="D"),
            }
        )

    ppl = people(n)
    episodes = pd.DataFrame(
        {
            "episode_id": [f"e{i}" for i in range(n)],
            "client_id": [f"c{i}" for i in range(n)],
            "agency_id": "G1",
            "area_code": ppl["area"],
            "initial_first": ppl["first"],
            "initial_surname": ppl["sur"],
            "date_of_birth": ppl["dob"],
            "sex": ppl["sex"],
            "referral_date": ppl["last"],
            "triage_date": ppl["last"],
            "first_intervention_date": ppl["last"],
            "discharge_date": ppl["last"] + pd.Timedelta(days=100),
            "discharge_reason": pd.array([80] * n, dtype="Int64"),
        }
    )
    copies = ppl.sample(n // 3, random_state=1).copy()
    truth_idx = copies.index.to_numpy()
    k = len(copies)
    typo = rng.random(k) < 0.05
    copies.loc[typo, "dob"] = copies.loc[typo, "dob"] + pd.Timedelta(days=1)
    swap = rng.random(k) < 0.02
    copies.loc[swap, ["first", "sur"]] = copies.loc[swap, ["sur", "first"]].to_numpy()
    moved = rng.random(k) < 0.10
    copies.loc[moved, "area"] = "A99"
    reg = pd.concat([copies, people(n_unrelated)], ignore_index=True)
    register = pd.DataFrame(
        {
            "death_id": [f"d{i:05d}" for i in range(len(reg))],
            "forename": reg["first"] + "x",
            "surname": reg["sur"] + "y",
            "date_of_birth": reg["dob"],
            "sex": reg["sex"],
            "area_code": reg["area"],
            "date_of_death": reg["last"] + pd.Timedelta(days=200),
            "underlying_cause": "X42",
        }
    )
    truth = {(f"e{i}", f"d{j:05d}") for j, i in enumerate(truth_idx)}
    return episodes, register, truth


def test_probabilistic_linkage_beats_the_exact_key_on_noisy_records():
    episodes, register, truth = _noisy_population()
    areas = pd.DataFrame({"area_code": [f"A{i}" for i in range(30)] + ["A99"], "region": "R"})
    left, right = records.link_inputs(episodes, register, DEATH_SPEC, SECRET, areas, NO_TOPS)
    trained = model.train_link_model(left, right, recall=0.8, seed=1, max_pairs=2e5)
    cfg = LINKAGE | {"method": "probabilistic", "threshold": 0.5}
    out = matching.link_register_probabilistic(left, right, register, DEATH_SPEC, trained, cfg, "deaths")
    persons, _ = link_persons(episodes, SECRET)
    ep_of = persons.groupby("person_id")["episode_id"].apply(set).to_dict()
    true_pairs = pd.DataFrame(
        [(pid, d) for pid, eps in ep_of.items() for e, d in truth if e in eps],
        columns=["left_id", "right_id"],
    )
    links = out["links"].rename(columns={"person_id": "left_id", "death_id": "right_id"})
    prob = quality.precision_recall(links[links.match_probability >= 0.5], true_pairs)
    exact = quality.precision_recall(out["exact"], true_pairs)
    # measured: F1 0.972 (P 0.971, R 0.973) against the exact key's 0.944 (P 0.954, R 0.935)
    assert prob["f1"] > exact["f1"] + 0.01
    assert prob["recall"] > 0.95 and prob["precision"] > 0.95
    # the model JSON is stable: training again gives the same bytes
    again = model.train_link_model(left, right, recall=0.8, seed=1, max_pairs=2e5)
    assert json.dumps(trained, sort_keys=True) == json.dumps(again, sort_keys=True)
    # DuckDB held to a memory limit (a job's mem_mb; it spills beyond) gives the same model and pairs
    small = model.duckdb_memory_mb(400)
    assert small == 256 and model.duckdb_memory_mb(6000) == 3600 and model.duckdb_memory_mb(None) is None
    limited = model.train_link_model(left, right, recall=0.8, seed=1, max_pairs=2e5, memory_mb=small)
    assert json.dumps(limited, sort_keys=True) == json.dumps(trained, sort_keys=True)
    pd.testing.assert_frame_equal(
        model.predict_link_pairs(left, right, trained, 0.05, memory_mb=small),
        model.predict_link_pairs(left, right, trained, 0.05),
    )
    linker = model.duckdb_linker(left, right, trained, 1, small)
    con = linker._db_api.duckdb_con
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] in (
        "244.1 MiB",
        "256.0 MiB",
        "256 MiB",
    )
    # closed once the pairs are read, the connection gives its memory back (and takes no more queries)
    model.close_linker(linker)
    with pytest.raises(duckdb.ConnectionException):
        con.execute("SELECT 1")
    # the EM underflow floor changes nothing where EM never reaches it: same bytes without it
    import contextlib

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(model, "em_underflow_floor", lambda floored: contextlib.nullcontext())
        unfloored = model.train_link_model(left, right, recall=0.8, seed=1, max_pairs=2e5)
    assert json.dumps(unfloored, sort_keys=True) == json.dumps(trained, sort_keys=True)


def _comparison_level(label: str):
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [cll.NullLevel("x"), cll.CustomLevel("x_l = x_r", label), cll.ElseLevel()]
    comparison = cl.CustomComparison(output_column_name="x", comparison_levels=levels)
    return comparison.get_comparison("duckdb").comparison_levels[1]


def test_em_underflow_floor_holds_a_zero_m_at_splinks_floor_and_passes_the_rest():
    from splink.internals import expectation_maximisation as em

    level = _comparison_level("a level no match falls in")
    zero = {"x": {level.comparison_vector_value: {"m_probability": 0.0, "u_probability": 0.2}}}
    # splink 5.0.0 itself refuses the 0.0 its own EM can produce
    with pytest.raises(ValueError, match="below the minimum"):
        em.populate_m_u_from_lookup(set(), level, "x", copy.deepcopy(zero))
    floored: list = []
    with model.em_underflow_floor(floored):
        em.populate_m_u_from_lookup(set(), level, "x", copy.deepcopy(zero))
        assert level.m_probability == 1e-300 and level.u_probability == 0.2
        assert floored == [("x", "a level no match falls in", "m")]
        tiny = {"x": {level.comparison_vector_value: {"m_probability": 2e-300, "u_probability": 0.2}}}
        em.populate_m_u_from_lookup(set(), level, "x", tiny)
        assert level.m_probability == 2e-300 and len(floored) == 1
    assert em.populate_m_u_from_lookup.__name__ == "populate_m_u_from_lookup"  # restored


#: the generator's drug defaults before issue #23 changed them: the extract that made EM drive a
#: level to zero was drawn with these, and the new defaults draw another that does not
PRE_23_DEFAULTS = {
    "effects": {
        "drug": {
            "treatment_initiation": 0.17,
            "waiting_over_3_weeks": 1.0,
            "successful_completion": 0.60,
            "completion_without_representation": 0.63,
            "abstinence": 1.50,
        }
    },
    "effects_second_year": {
        "drug": dict.fromkeys(
            ("treatment_initiation", "successful_completion", "completion_without_representation")
        )
    },
    "rates": {"drug": {"treatment_initiation": {"pilot_pre": 0.96, "other_pre": 0.955, "other_post": 0.955}}},
    # no case mix shift (issue #23's default shifts the pilot areas' post-period case mix)
    "case_mix": {
        "pilot_post": {"criminal_justice_referral": 0.0, "previously_treated": 0.0, "quality_of_life": 0.0}
    },
}


def test_a_deaths_level_em_drives_to_zero_trains_at_the_floor(tmp_path, caplog):
    """The replicate that stopped the linkage MI bench (``--scenario differential
    --replicates 103-103``): EM drove 'discharged as died on another date' to exactly 0."""
    from pbr import config as pbr_config
    from pbr import io
    from pbr.contract import TABLES
    from pbr.extract.tables import read_extracts
    from pbr.link.persons import transfer_settings
    from pbr.registry.registers import REGISTERS
    from pbr.synthetic import generator, params

    cell = {"ndtms": 3.0, "register_area_move": 2.0}
    synthetic = {
        "scale": 0.05,
        "seed": 7103,
        "noise": {"differential": {"pilot_post": cell}},
    } | PRE_23_DEFAULTS
    extract = generator.generate(params.SyntheticParams.from_config(synthetic))
    for name, df in extract.tables.items():
        io.write_table(df, tmp_path / f"{name}.parquet", sort_by=TABLES[name].key)
    tables, _ = read_extracts(directory=str(tmp_path), fmt="parquet")
    config = pbr_config.load_config(Path(__file__).parents[2] / "config" / "config.yaml")
    spec, cfg = REGISTERS["deaths"], config["linkage"]
    left, right = records.link_inputs(
        tables["ndtms_episodes"], tables[spec["table"]], spec, SECRET, tables["areas"],
        tables["ndtms_top"][["episode_id", "top_date"]], transfer_settings(config),
    )  # fmt: skip
    caplog.set_level("WARNING", logger="pbr.link.model")
    trained = model.train_link_model(
        left, right, cfg["recall"], cfg["seed"], cfg["u_max_pairs"], 1, cfg["em_max_pairs"]
    )
    levels = {
        (c["output_column_name"], level.get("label_for_charts")): level.get("m_probability")
        for c in trained["comparisons"]
        for level in c["comparison_levels"]
    }
    assert levels[("event_timing", "discharged as died on another date")] == 1e-300
    assert levels[("event_timing", "discharged as died within 60 days of the event")] > 0.1
    warned = [r.getMessage() for r in caplog.records if "held at splink's floor" in r.getMessage()]
    assert len(warned) == 1 and "discharged as died on another date" in warned[0]


def test_person_link_record_carries_areas_and_dates_for_comparison():
    left, right = records.link_inputs(_episodes(), _deaths(), DEATH_SPEC, SECRET, AREAS, TOPS)
    persons, _ = link_persons(_episodes(), SECRET)
    pid = persons.set_index("episode_id")["person_id"]
    rec = left.set_index("unique_id")
    js, mb = rec.loc[pid["e1"]], rec.loc[pid["e3"]]
    day = (pd.Timestamp("2012-08-01") - pd.Timestamp("1970-01-01")).days
    assert js["areas"] == "|X|" and js["region"] == "North"
    assert js["last_contact"] == day  # latest contact: a TOP review of e2 (another agency)
    # e3: referred 2011-06-01, TOP 2011-07-01, discharged as died 2011-12-01 (a discharge is no contact)
    assert mb["last_contact"] == (pd.Timestamp("2011-07-01") - pd.Timestamp("1970-01-01")).days
    assert pd.isna(js["died_on"]) and pd.isna(js["event_date"])
    assert (
        mb["died_on"] == (pd.Timestamp("2011-12-01") - pd.Timestamp("1970-01-01")).days
    )  # discharged as died
    d1 = right.set_index("unique_id").loc["d1"]
    assert d1["event_date"] == (pd.Timestamp("2012-01-01") - pd.Timestamp("1970-01-01")).days
    assert d1["region"] == "North" and d1["areas"] == "|X|" and pd.isna(d1["last_contact"])


@pytest.mark.parametrize("person_side", ["l", "r"])
def test_pair_sql_finds_the_person_side_whichever_way_round(person_side):
    import duckdb

    reg_side = "r" if person_side == "l" else "l"
    cols = {
        f"last_contact_{person_side}": "100",
        f"last_contact_{reg_side}": "NULL::BIGINT",
        f"area_code_{person_side}": "'X'",
        f"area_code_{reg_side}": "'Y'",
    }
    sel = ", ".join(f"{v} AS {k}" for k, v in cols.items())
    sql = f"SELECT {model._person_register_sql('area_code')}, {model._person_register_sql('area_code', True)}"
    assert duckdb.connect().execute(f"{sql} FROM (SELECT {sel})").fetchone() == ("X", "Y")


# ---------------------------------------------------------------------------------------------
# register names, regions, and whether the link rate is plausible


def test_register_initials_ignore_accents_null_tokens_and_non_letters():
    names = pd.Series(["Élodie", "NULL", "?x", "unknown", "o'Brien", "Na", " smith", None, "1st"])
    assert records._name_initials(names).tolist() == ["E", pd.NA, pd.NA, pd.NA, "O", "N", "S", pd.NA, pd.NA]


def test_a_null_token_region_is_no_region():
    areas = pd.DataFrame({"area_code": ["X", "Y", "Z"], "region": ["NULL", "NULL", None]})
    rec = records.register_link_records(_deaths(), "death_id", areas, event_column="date_of_death")
    assert rec["region"].isna().all()  # 'NULL' would have made X and Y 'same region'


def test_min_link_rate_default_is_the_schema_default():
    from pbr.config import validate_config

    assert validate_config({})["linkage"]["min_link_rate"] == MIN_LINK_RATE


def _units(n_per_cell: int, died: int = 0) -> pd.DataFrame:
    rows = [(g, p) for g in ("pilot", "other") for p in ("pre", "post") for _ in range(n_per_cell)]
    units = pd.DataFrame(rows, columns=["group", "period"])
    units["died"] = False
    units.loc[: died - 1, "died"] = died > 0
    return units


def test_link_rate_notes_floor_relative_and_client_died():
    units = _units(1000)
    rate = np.r_[np.arange(4000) % 10 == 0]  # 10% everywhere: plausible
    assert quality.link_rate_notes(units, rate, "offences", 0.05) == []
    few = np.arange(4000) % 500 == 0  # 0.2%: below a floor of 5% everywhere
    notes = quality.link_rate_notes(units, few, "offences", 0.05)
    assert {n["cell"] for n in notes} == {"all", "pilot/pre", "pilot/post", "other/pre", "other/post"}
    assert notes[0]["n"] == 8 and "8 of 4,000 NDTMS persons linked (0.2%)" in notes[0]["text"]
    # one cell far below the others (a register missing the post period of the pilot areas)
    gap = rate & ~((units["group"] == "pilot") & (units["period"] == "post")).to_numpy()
    notes = quality.link_rate_notes(units, gap, "deaths", 0.005)
    assert {n["cell"] for n in notes} == {"pilot/post"}
    assert any(
        "under a third of the 100 the other groups and periods' rate (10.0%)" in n["text"] for n in notes
    )
    # few cells, few expected: no judgement from chance
    assert quality.link_rate_notes(_units(20), np.zeros(80, dtype=bool), "deaths", 0.005) == []
    # persons NDTMS discharged as died that do not link to a death
    died = _units(1000, died=10)  # all in pilot/pre
    notes = quality.link_rate_notes(died, rate, "deaths", 0.005)
    assert [n["cell"] for n in notes] == ["all", "pilot/pre"] and [n["n"] for n in notes] == [9, 9]
    assert "only 1 of the 10 NDTMS persons discharged as 'client died'" in notes[0]["text"]


def test_a_register_sharing_few_clients_is_flagged_in_the_flow_and_match_rates(caplog):
    n = 2000
    episodes = pd.DataFrame(
        {
            "episode_id": [f"e{i}" for i in range(n)],
            "client_id": [f"c{i}" for i in range(n)],
            "agency_id": "A1",
            "area_code": "X",
            "initial_first": [chr(65 + i % 26) for i in range(n)],
            "initial_surname": [chr(65 + (i // 26) % 26) for i in range(n)],
            "date_of_birth": pd.Timestamp("1970-01-01") + pd.to_timedelta(np.arange(n), unit="D"),
            "sex": "M",
            "referral_date": pd.Timestamp("2011-01-01"),
            "triage_date": pd.NaT,
            "first_intervention_date": pd.NaT,
            "discharge_date": pd.NaT,
            "discharge_reason": pd.array([None] * n, dtype="Int64"),
        }
    )

    def deaths(k: int) -> pd.DataFrame:
        """400 deaths, of which the first ``k`` are clients' (the others are born 400 days earlier)."""
        ep = episodes.iloc[:400]
        shift = pd.to_timedelta(np.where(np.arange(400) < k, 0, 400), unit="D")
        return pd.DataFrame(
            {
                "death_id": [f"d{i:03d}" for i in range(400)],
                "forename": ep["initial_first"] + "x",
                "surname": ep["initial_surname"] + "y",
                "date_of_birth": ep["date_of_birth"] - shift,
                "sex": "M",
                "area_code": "X",
                "date_of_death": pd.Timestamp("2013-01-01"),
                "underlying_cause": "X42",
            }
        )

    cfg = LINKAGE | {"method": "deterministic", "threshold": 0.5}
    for k, flagged in ((40, False), (3, True)):
        caplog.clear()
        reg = deaths(k)
        left, right = records.link_inputs(episodes, reg, DEATH_SPEC, SECRET, AREAS, NO_TOPS)
        out = matching.link_register_probabilistic(left, right, reg, DEATH_SPEC, {}, cfg, "deaths")
        notes = out["flow"][out["flow"]["action"] == "flagged"]
        assert len(notes) == flagged, notes
        assert any("link rate far below" in r.getMessage() for r in caplog.records) == flagged
        if flagged:
            reason = notes["reason"].iloc[0]
            assert reason.startswith(
                "link rate far below expected: deaths all: 3 of 2,000 NDTMS persons linked"
            )
            assert "to a register of 400 deaths (0.1%)" in reason
            assert notes["n"].iloc[0] == 3
    # the floor is a setting: no note with a floor of 0
    out = matching.link_register_probabilistic(
        left, right, reg, DEATH_SPEC, {}, cfg | {"min_link_rate": {"deaths": 0}}, "deaths"
    )
    assert (out["flow"]["action"] != "flagged").all()
    # by group and period, over study journeys: match_rates notes the cells
    persons, _ = link_persons(episodes, SECRET)
    journeys = persons[["person_id"]].assign(
        exclusion=pd.NA,
        cohort="drug",
        group=np.where(np.arange(len(persons)) % 2, "pilot", "other"),
        period=np.where(np.arange(len(persons)) % 4 < 2, "pre", "post"),
        discharge_reason=pd.array([None] * len(persons), dtype="Int64"),
    )
    rates = quality.match_rates(journeys, {"deaths": out["links"]}, 0.5)
    assert list(rates.columns) == [
        "register",
        "cohort",
        "group",
        "period",
        "journeys",
        "linked",
        "rate",
        "note",
    ]
    assert rates["note"].str.startswith("deaths all: 3 of 2,000 NDTMS study journeys").all()
    assert (quality.match_rates(journeys, {"deaths": out["links"]}, 0.5, {"deaths": 0.0})["note"] == "").all()


# ---------------------------------------------------------------------------------------------
# Calibration of the match probabilities


def _scored_pairs(n: int = 4000, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Candidate pairs with probabilities and a truth drawn so that a pair with probability p is
    true with probability p**2 (over-confident in the middle), a few on the inner bin edges."""
    rng = np.random.default_rng(seed)
    p = np.r_[rng.uniform(0, 1, n), [0.1, 0.5, 0.9, 1.0, 0.0]]
    true = rng.uniform(0, 1, len(p)) < p**2
    pairs = pd.DataFrame(
        {"left_id": [f"P{i % 900}" for i in range(len(p))], "right_id": [f"R{i}" for i in range(len(p))]}
    ).assign(match_probability=p)
    return pairs, pairs.loc[true, ["left_id", "right_id"]]


def test_calibration_table_matches_scikit_learn_calibration_curve():
    from sklearn.calibration import calibration_curve

    pairs, truth = _scored_pairs()
    table = quality.calibration_table(pairs, truth, "deaths")
    is_true = pairs.set_index(["left_id", "right_id"]).index.isin(
        truth.set_index(["left_id", "right_id"]).index
    )
    prob_true, prob_pred = calibration_curve(
        is_true, pairs["match_probability"], n_bins=10, strategy="uniform"
    )
    np.testing.assert_allclose(table["share_true"], prob_true, rtol=1e-12)
    np.testing.assert_allclose(table["mean_probability"], prob_pred, rtol=1e-12)
    assert table["pairs"].sum() == len(pairs)


def test_calibration_error_is_the_pair_weighted_gap_by_hand():
    pairs = pd.DataFrame(
        {
            "left_id": ["A", "B", "C", "D", "E"],
            "right_id": ["1", "2", "3", "4", "5"],
            "match_probability": [0.95, 0.97, 0.15, 0.12, 0.5],
        }
    )
    truth = pd.DataFrame({"left_id": ["A", "C", "E"], "right_id": ["1", "3", "5"]})
    scopes = pd.DataFrame({"person_id": ["A", "B", "C", "D", "E"], "scope": ["x", "x", "y", "y", "y"]})
    table = quality.calibration_table(pairs, truth, "offences", scopes)
    err = quality.calibration_error(table).set_index("scope")
    # bins: 0.9-1 (0.96 predicted, 1/2 true), 0.1-0.2 (0.135, 1/2), 0.4-0.5 (0.5, 1/1: 0.5 on an edge)
    gaps = {"high": abs(0.96 - 0.5), "low": abs(0.135 - 0.5), "mid": abs(0.5 - 1.0)}
    assert err.loc["all", "ece"] == pytest.approx((2 * gaps["high"] + 2 * gaps["low"] + gaps["mid"]) / 5)
    assert err.loc["all", "max_gap"] == pytest.approx(gaps["mid"])
    assert err.loc["x", "ece"] == pytest.approx(gaps["high"]) and err.loc["x", "pairs"] == 2
    assert err.loc["y", "ece"] == pytest.approx((2 * gaps["low"] + gaps["mid"]) / 3)
    mid = table[(table["scope"] == "all") & (table["share_true"] == 1.0)]
    assert (mid["bin_low"].iloc[0], mid["bin_high"].iloc[0]) == pytest.approx((0.4, 0.5))


def test_a_calibrated_score_has_a_small_error_and_an_overconfident_one_does_not():
    rng = np.random.default_rng(3)
    p = rng.uniform(0, 1, 20000)
    pairs = pd.DataFrame(
        {"left_id": [f"P{i}" for i in range(len(p))], "right_id": "R", "match_probability": p}
    )
    for truth_p, low in ((p, True), (p**3, False)):
        truth = pairs.loc[rng.uniform(0, 1, len(p)) < truth_p, ["left_id", "right_id"]]
        ece = quality.calibration_error(quality.calibration_table(pairs, truth, "deaths"))["ece"].iloc[0]
        assert bool(ece < 0.02) is low


# --------------------------------------------------------------------------- a missing sex (issue #25)


def _sex_episodes(rows):
    """Episodes (episode_id, initials, date of birth, sex) with the other columns link_persons reads."""
    df = pd.DataFrame(rows, columns=["episode_id", "initials", "date_of_birth", "sex"])
    n = len(df)
    return pd.DataFrame(
        {
            "episode_id": df["episode_id"],
            "client_id": [f"c{i}" for i in range(n)],
            "agency_id": ["A1"] * n,
            "area_code": ["X"] * n,
            "initial_first": df["initials"].str[0],
            "initial_surname": df["initials"].str[1],
            "date_of_birth": pd.to_datetime(df["date_of_birth"]),
            "sex": pd.array(df["sex"], dtype="string"),
            "referral_date": pd.to_datetime(["2011-01-01"] * n),
            "triage_date": pd.to_datetime(["2011-01-02"] * n),
            "first_intervention_date": pd.to_datetime([None] * n),
            "discharge_date": pd.to_datetime([None] * n),
            "discharge_reason": pd.array([None] * n, dtype="Int64"),
        }
    )


SEX_CASES = [
    ("a1", "JS", "1980-01-31", "M"),
    ("a2", "JS", "1980-01-31", None),  # filled: the one sex recorded with JS / 1980-01-31
    ("b1", "MB", "1975-06-01", "M"),
    ("b2", "MB", "1975-06-01", "F"),
    ("b3", "MB", "1975-06-01", None),  # ambiguous: both sexes recorded
    ("c1", "KL", "1990-02-02", None),  # unknown: no sex recorded anywhere
    ("c2", "KL", "1990-02-02", None),
    ("d1", "jS", "1980-02-01", "F"),  # another date of birth: its sex does not count for JS / 1980-01-31
]


def test_a_missing_sex_joins_the_one_sex_recorded_with_the_same_initials_and_birth_date():
    episodes = _sex_episodes(SEX_CASES)
    out, flow = link_persons(episodes, SECRET)
    pid = out.set_index("episode_id")["person_id"]
    assert pid["a1"] == pid["a2"]  # one client, not two
    assert len({pid["b1"], pid["b2"], pid["b3"]}) == 3  # ambiguous: kept apart
    assert pid["c1"] == pid["c2"]  # the same unknown sex: one person
    sex = out.set_index("episode_id")["sex"]
    assert sex["a2"] == "M" and pd.isna(sex["b3"]) and pd.isna(sex["c1"])
    flagged = flow[flow["action"] == "flagged"].set_index("reason")["n"]
    assert flagged["sex " + pseudonyms.SEX_SETTLED["filled"]] == 1
    assert flagged["sex " + pseudonyms.SEX_SETTLED["ambiguous"]] == 1
    assert flagged["sex " + pseudonyms.SEX_SETTLED["unknown"]] == 2
    kept = flow[flow["action"] == "kept"]["n"].sum()
    assert kept == len(episodes)  # flagged rows count episodes already kept, not more


def test_the_linkage_records_hold_the_same_persons_with_the_settled_sex():
    episodes = _sex_episodes(SEX_CASES)
    persons, _ = link_persons(episodes, SECRET)
    recs = records.ndtms_link_records(episodes, SECRET, AREAS, NO_TOPS)
    assert set(recs["unique_id"]) == set(persons["person_id"])
    by_person = recs.set_index("unique_id")["sex"]
    a2 = persons.set_index("episode_id").loc["a2", "person_id"]
    assert by_person[a2] == "M"


def test_read_rows_reads_only_the_rows_asked_for(tmp_path):
    from pbr import io

    table = pd.DataFrame({"k": ["a", "b", "c", "b", None], "n": [1, 2, 3, 4, 5], "x": list("vwxyz")})
    table.to_parquet(tmp_path / "t.parquet")
    got = io.read_rows(tmp_path / "t.parquet", "k", pd.Series(["b", "c", "b", None, "q"]), columns=["n", "k"])
    assert list(got.columns) == ["n", "k"] and got["n"].tolist() == [2, 3, 4]
    ints = io.read_rows(tmp_path / "t.parquet", "n", [5, 1])  # compared as text, every column
    assert ints["x"].tolist() == ["v", "z"]
    assert io.read_rows(tmp_path / "t.parquet", "k", []).empty


@pytest.mark.parametrize("register", ["deaths", "offences"])
def test_link_records_need_only_the_record_columns(register):
    """link_records reads a register's register_record_columns: the same linkage records as from every column."""
    spec = REGISTERS[register]
    table = _deaths() if register == "deaths" else _pnc()
    table = table.assign(extra_field="not needed")
    assert set(records.register_record_columns(spec)) <= set(table.columns)
    full = records.register_link_records(table, spec["id"], AREAS, spec["group"], spec.get("event"), SECRET)
    lean = table[records.register_record_columns(spec)]
    assert len(lean.columns) < len(table.columns)
    pd.testing.assert_frame_equal(
        records.register_link_records(lean, spec["id"], AREAS, spec["group"], spec.get("event"), SECRET), full
    )


def test_ndtms_link_records_need_only_their_columns():
    """link_records reads NDTMS_RECORD_COLUMNS of the episodes: the same records as from every column."""
    episodes = _episodes().assign(substance_1="opiates", sub_area="X1", employment="unemployed")
    assert set(records.NDTMS_RECORD_COLUMNS) <= set(episodes.columns)
    full = records.ndtms_link_records(episodes, SECRET, AREAS, TOPS)
    lean = episodes[records.NDTMS_RECORD_COLUMNS]
    assert len(lean.columns) < len(episodes.columns)
    pd.testing.assert_frame_equal(records.ndtms_link_records(lean, SECRET, AREAS, TOPS), full)
