"""Property-based tests (hypothesis) of the extract readers and of the outcome functions.

Readers: any value the contract allows comes back exactly; a file cut anywhere is an
error unless it was cut at a line break (then it reads as whole rows, all counted); a
damaged file gives an ``ExtractError`` or a reconciled read, never another exception; the
order of rows and columns does not matter. Outcomes: each outcome equals a brute-force
reading of its definition, is 0/1 inside its denominator and <NA> outside it, moves the
right way with its window, and every journey is counted once in the cohort flow.

The hypothesis profile (tests/conftest.py) is deterministic with a modest number of examples.
"""

from __future__ import annotations

import csv
import functools
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from extract_fixtures import TODAY, valid_tables, write_csv
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pbr.contract import EARLIEST_DATE, TABLES
from pbr.derive import journeys, outcomes
from pbr.extract.problems import ExtractError
from pbr.extract.tables import read_extracts

# ----------------------------------------------------------------------------- readers


def _read(directory: Path):
    return read_extracts(directory=directory, today=TODAY)


@functools.cache
def _clean():
    with tempfile.TemporaryDirectory() as tmp:
        return _read(write_csv(Path(tmp), valid_tables()))


def _read_records(records: dict[str, list[dict]], crlf: bool = False):
    with tempfile.TemporaryDirectory() as tmp:
        return _read(write_csv(Path(tmp), records, crlf=crlf))


# each read validates five tables (about 0.3 s): reader properties get fewer examples
READER = settings(max_examples=10)


# any text a CSV cell can hold: commas, quotes, line breaks, spaces, 'NA', any script
# (not NUL, which no text file holds, and not surrogates, which UTF-8 cannot encode); the
# spellings that readers commonly turn into missing values or numbers are drawn often
TRICKY_TEXT = [
    "NA",
    "N/A",
    "#N/A",
    "NULL",
    "null",
    "nan",
    "None",
    "-",
    " ",
    "0",
    "1e5",
    '"',
    ",",
    "a,b",
    "x\ny",
]
TEXT = st.sampled_from(TRICKY_TEXT) | st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=12
)


@READER
@given(
    names=st.lists(TEXT, min_size=10, max_size=10),
    regions=st.lists(st.none() | TEXT, min_size=10, max_size=10),
    crlf=st.booleans(),
)
def test_any_text_comes_back_exactly(names, regions, crlf):
    t = valid_tables()
    for r, name, region in zip(t["areas"], names, regions, strict=True):
        r["area_name"], r["region"] = name, region
    if not crlf:  # a writer with LF line ends leaves a lone CR unquoted: not a valid CSV value then
        assume(not any("\r" in (v or "") for v in [*names, *regions]))
    tables, _ = _read_records(t, crlf=crlf)
    got = tables["areas"]  # sorted by area_code, as the records are
    assert got["area_name"].tolist() == names
    assert [None if pd.isna(v) else v for v in got["region"]] == regions


BOOL_SPELLINGS = {
    True: ["true", "TRUE", "t", "Yes", "y", "1"],
    False: ["false", "False", "F", "no", "N", "0"],
}


def _int_spellings(i: int) -> list[str]:
    return [str(i), f"+{i}", f"{i}.0", f"{i}.00"] if i >= 0 else [str(i), f"{i}.0"]


@READER
@given(st.data())
def test_any_documented_spelling_of_a_value_reads_as_that_value(data):
    t = valid_tables()
    expected = []
    for r in t["ndtms_top"]:
        row = {"top_date": data.draw(st.dates(EARLIEST_DATE, TODAY))}
        r["top_date"] = row["top_date"]
        for c in TABLES["ndtms_top"].columns[4:]:
            value = data.draw(
                st.none()
                | (st.booleans() if c.dtype == "bool" else st.integers(int(c.minimum), int(c.maximum)))
            )
            row[c.name] = value
            if value is None:
                r[c.name] = None
            else:
                spellings = BOOL_SPELLINGS[value] if isinstance(value, bool) else _int_spellings(value)
                r[c.name] = data.draw(st.sampled_from(spellings))
        expected.append(row)
    tables, flow = _read_records(t)
    got = tables["ndtms_top"]
    for i, row in enumerate(expected):
        for name, value in row.items():
            v = got.at[i, name]
            assert (pd.isna(v) and value is None) or v == (
                pd.Timestamp(value) if name == "top_date" else value
            )
    # TOP dates outside their episode are flagged (counted), never dropped
    top = flow[flow["table"] == "ndtms_top"]
    assert top.loc[top["action"] == "dropped", "n"].sum() == 0 and len(got) == len(t["ndtms_top"])


@st.composite
def cuts(draw):
    """A table and a byte offset to cut its CSV file at: anywhere, right after a line break, or
    strictly inside the last value of a row (the cut that still leaves every row whole)."""
    table = draw(st.sampled_from(list(TABLES)))
    with tempfile.TemporaryDirectory() as tmp:
        data = (write_csv(Path(tmp), valid_tables()) / f"{table}.csv").read_bytes()
    lines = data.splitlines(keepends=True)
    ends = np.cumsum([len(x) for x in lines])
    mode = draw(st.sampled_from(["anywhere", "line_break", "last_value"]))
    if mode == "anywhere":
        offset = draw(st.integers(0, len(data)))
    elif mode == "line_break":
        offset = int(ends[draw(st.integers(0, len(lines) - 1))])
    else:
        i = draw(st.integers(1, len(lines) - 1))
        line = lines[i].rstrip(b"\n")
        start = line.rfind(b",") + 1
        if len(line) - start < 2:
            offset = int(ends[i]) - 1  # the last value is too short to cut inside: drop the line break
        else:
            offset = int(ends[i - 1]) + draw(st.integers(start + 1, len(line) - 1))
    return table, data, offset


@READER
@given(cuts())
def test_a_file_cut_short_is_an_error_unless_cut_at_a_line_break(cut):
    table, data, offset = cut
    part = data[:offset]
    with tempfile.TemporaryDirectory() as tmp:
        d = write_csv(Path(tmp), valid_tables())
        (d / f"{table}.csv").write_bytes(part)
        try:
            _, flow = _read(d)
        except ExtractError as e:
            # a cut inside a row is reported on that file; whole rows cut off may break other
            # tables' references instead (e.g. a register loses its only client)
            assert part.endswith(b"\n") or f"{table}.csv" in str(e)
            return
    # it read: only possible when the cut fell on a line break; every whole row is counted
    assert part == data or part.endswith(b"\n"), (
        f"{table}.csv cut at byte {offset} of {len(data)} read silently"
    )
    f = flow[flow["table"] == table]
    assert f.loc[f["action"].isin(["kept", "dropped"]), "n"].sum() == part.count(b"\n") - 1


@settings(max_examples=20)
@given(
    table=st.sampled_from(list(TABLES)),
    junk=st.sampled_from([b'"', b"\x00", b"\xff", b",", b"\n", b"\r", b";", b"\xef\xbb\xbf", b"\xfe\xff"])
    | st.binary(min_size=1, max_size=40)
    | TEXT.map(str.encode),
    where=st.floats(0, 1),
    mode=st.sampled_from(["insert", "overwrite", "replace_file"]),
)
def test_a_damaged_file_gives_an_extract_error_or_a_reconciled_read(table, junk, where, mode):
    with tempfile.TemporaryDirectory() as tmp:
        d = write_csv(Path(tmp), valid_tables())
        path = d / f"{table}.csv"
        data = path.read_bytes()
        at = int(where * len(data))
        damaged = {
            "insert": data[:at] + junk + data[at:],
            "overwrite": data[:at] + junk + data[at + len(junk) :],
            "replace_file": junk,
        }[mode]
        path.write_bytes(damaged)
        try:
            tables, flow = _read(d)
        except ExtractError:
            return  # any other exception fails the test: no traceback reaches the user
    text = damaged.decode("utf-8-sig")
    n_rows = sum(1 for row in csv.reader(io.StringIO(text, newline="")) if row) - 1
    f = flow[flow["table"] == table]
    assert f.loc[f["action"].isin(["kept", "dropped"]), "n"].sum() == n_rows
    assert f.loc[f["action"] == "kept", "n"].sum() == len(tables[table])


@READER
@given(st.data())
def test_row_and_column_order_do_not_change_the_result(data):
    t = valid_tables()
    for name in TABLES:
        columns = data.draw(st.permutations(TABLES[name].column_names))
        rows = data.draw(st.permutations(t[name]))
        t[name] = [{c: r[c] for c in columns} for r in rows]
    tables, flow = _read_records(t)
    clean_tables, clean_flow = _clean()
    for name in TABLES:
        pd.testing.assert_frame_equal(tables[name], clean_tables[name], check_exact=True)
    pd.testing.assert_frame_equal(flow, clean_flow)


# ----------------------------------------------------------------------------- outcomes

DAY0 = pd.Timestamp("2010-04-01")
CODES = list(range(80, 90))


def _day(n: int | None) -> pd.Timestamp:
    return pd.NaT if n is None else DAY0 + pd.Timedelta(days=n)


def _days_or_none(draw, lo: int, hi: int, near: tuple[int, ...]) -> int | None:
    """None, any day in lo..hi, or a day at a boundary of a definition (``near``): boundaries
    are where an off-by-one would hide, so they are drawn often."""
    return draw(st.none() | st.integers(lo, hi) | st.sampled_from(near or (0,)))


@st.composite
def journey_frames(draw, near: tuple[int, ...] = (), max_journeys: int = 25) -> pd.DataFrame:
    """Journeys of a few persons: start, end (or open), discharge reason, triage and first intervention
    (counted from the start or from the triage); ``near`` are day counts to favour."""
    near = tuple(sorted({d + k for d in near for k in (-1, 0, 1)} | {0}))
    n = draw(st.integers(1, max_journeys))
    rows = []
    for i in range(n):
        start = draw(st.integers(0, 1500))
        length = _days_or_none(draw, 0, 800, near)
        triage = _days_or_none(draw, 0, 120, near)
        first = _days_or_none(draw, -5, 300, near)
        if first is not None and triage is not None and draw(st.booleans()):
            first += triage  # a wait counted from the triage
        rows.append(
            {
                "journey_id": f"J{i:03d}",
                "person_id": f"P{draw(st.integers(0, 5))}",
                "start_date": _day(start),
                "end_date": _day(None if length is None else start + length),
                "discharge_reason": None if length is None else draw(st.sampled_from(CODES)),
                "triage_date": _day(None if triage is None else start + triage),
                "first_intervention_date": _day(None if first is None else start + first),
            }
        )
    df = pd.DataFrame(rows)
    df["discharge_reason"] = df["discharge_reason"].astype("Int64")
    df = df.sort_values(["person_id", "start_date", "journey_id"]).reset_index(drop=True)
    df["journey_seq"] = df.groupby("person_id").cumcount() + 1
    shuffled = draw(st.permutations(range(len(df))))  # row order must not matter
    return df.iloc[list(shuffled)].reset_index(drop=True)


def _is_binary_in(series: pd.Series, denominator: pd.Series) -> None:
    """0/1 inside the denominator, <NA> outside it, aligned with the journeys."""
    assert str(series.dtype) == "Int64"
    assert (series.isna() == ~denominator.to_numpy(dtype=bool)).all()
    assert series.dropna().isin([0, 1]).all()


@given(st.data(), st.integers(0, 120), st.integers(0, 60), st.integers(1, 400), st.integers(1, 365))
def test_journey_outcomes_follow_their_definitions(data, max_days, threshold, window, rep_window):
    j = data.draw(journey_frames(near=(max_days, threshold, window, rep_window)))
    days = lambda a, b: (j[a] - j[b]).dt.days  # noqa: E731
    codes = [80, 81, 82]

    ti = outcomes.treatment_initiation(j, max_days)
    _is_binary_in(ti, j["triage_date"].notna())
    wait = days("first_intervention_date", "triage_date")
    assert (ti.dropna() == wait.between(0, max_days)[ti.notna()].astype(int)).all()

    w3 = outcomes.waiting_over_3_weeks(j, threshold)
    _is_binary_in(w3, j["first_intervention_date"].notna())
    assert (
        w3.dropna() == (days("first_intervention_date", "start_date") > threshold)[w3.notna()].astype(int)
    ).all()

    sc = outcomes.successful_completion(j, window, codes)
    _is_binary_in(sc, pd.Series(True, index=j.index))
    oracle = [
        int(
            pd.notna(r.end_date)
            and r.discharge_reason in codes
            and (r.end_date - r.start_date).days <= window
        )
        for r in j.itertuples()
    ]
    assert sc.tolist() == oracle

    gap = outcomes.next_journey_gap(j, j)
    nxt = {(r.person_id, r.journey_seq): r.start_date for r in j.itertuples()}
    for r, g in zip(j.itertuples(), gap, strict=True):
        following = nxt.get((r.person_id, r.journey_seq + 1))
        want = None if following is None or pd.isna(r.end_date) else (following - r.end_date).days
        assert (pd.isna(g) and want is None) or g == want

    rep = outcomes.representation(sc, gap, rep_window)
    cwr = outcomes.completion_without_representation(sc, gap, rep_window)
    _is_binary_in(rep, sc.eq(1))
    _is_binary_in(cwr, pd.Series(True, index=j.index))
    # a completer either comes back within the window or completes without re-presenting
    assert (rep[sc.eq(1)] + cwr[sc.eq(1)] == 1).all()
    assert (cwr[sc.eq(0)] == 0).all()


@given(st.data(), st.integers(0, 100), st.integers(0, 100), st.integers(1, 300), st.integers(0, 300))
def test_outcomes_move_the_right_way_with_their_windows(data, a, b, w, extra):
    j = data.draw(journey_frames(near=(a, b, w, w + extra)))
    lo, hi = sorted((a, b))
    assert (outcomes.treatment_initiation(j, lo) <= outcomes.treatment_initiation(j, hi)).dropna().all()
    assert (outcomes.waiting_over_3_weeks(j, lo) >= outcomes.waiting_over_3_weeks(j, hi)).dropna().all()
    codes = [80, 81, 82]
    assert (
        outcomes.successful_completion(j, w, codes) <= outcomes.successful_completion(j, w + extra, codes)
    ).all()


CAUSES = ["X42", "F112", "I21", "C34", "Y12", "X61"]
PREFIXES = ["F11", "X42", "X61"]


@given(st.data(), st.integers(1, 400))
def test_linked_death_outcome_equals_a_brute_force_reading(data, window):
    j = data.draw(journey_frames())
    starts = [(int((r.start_date - DAY0).days), r.person_id) for r in j.itertuples()]
    # deaths of the journeys' persons near their starts (days -1, 0, window, window + 1 ...),
    # anywhere, and of persons with no journey (P6..P8)
    near = st.sampled_from(starts).flatmap(
        lambda sp: st.tuples(
            st.just(sp[1]),
            st.sampled_from([-1, 0, 1, window - 1, window, window + 1]).map(lambda k: sp[0] + k),
        )
    )
    anywhere = st.tuples(st.sampled_from([f"P{k}" for k in range(9)]), st.integers(0, 2000))
    events = data.draw(st.lists(st.tuples(near | anywhere, st.sampled_from(CAUSES)), max_size=30))
    deaths = pd.DataFrame(
        {
            "person_id": [p for (p, _), _ in events],
            "date_of_death": [_day(d) for (_, d), _ in events],
            "underlying_cause": [c for _, c in events],
        },
        columns=["person_id", "date_of_death", "underlying_cause"],
    ).astype({"date_of_death": "datetime64[us]"})  # as read from the link table, even when empty
    got = outcomes.drug_related_death(j, deaths, window, PREFIXES)
    _is_binary_in(got, pd.Series(True, index=j.index))
    oracle = [
        int(
            any(
                p == r.person_id
                and c.startswith(tuple(PREFIXES))
                and 0 <= (_day(d) - r.start_date).days <= window
                for (p, d), c in events
            )
        )
        for r in j.itertuples()
    ]
    assert got.tolist() == oracle
    # a longer window never loses an event
    assert (got <= outcomes.drug_related_death(j, deaths, window + 30, PREFIXES)).all()


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["drug", "alcohol"]),
            st.sampled_from(["pilot", "other"]),
            st.sampled_from(["pre", "post"]),
            st.none() | st.integers(0, 1),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_rates_count_every_journey_in_the_denominator_once(rows):
    analysis = pd.DataFrame(rows, columns=["cohort", "group", "period", "y"])
    analysis["y"] = analysis["y"].astype("Int64")
    if analysis["y"].isna().all():
        return
    rates = outcomes.outcome_rates(analysis, ["y"])
    assert rates["n"].sum() == analysis["y"].notna().sum()
    assert rates["events"].sum() == analysis["y"].sum()
    assert ((rates["events"] <= rates["n"]) & (rates["n"] > 0)).all()
    assert np.allclose(rates["rate"], rates["events"] / rates["n"])


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["pre", "post", "outside"]),
            st.none() | st.integers(10, 70),
            st.booleans(),
            st.sampled_from(["drug", "alcohol"]),
            st.sampled_from(["pilot", "other"]),
        ),
        min_size=0,
        max_size=40,
    ),
    st.sampled_from([["drug"], ["alcohol"], ["drug", "alcohol"]]),
)
def test_every_journey_is_counted_once_in_the_cohort_flow(rows, cohorts):
    j = pd.DataFrame(rows, columns=["period", "age_at_start", "partial_rest", "cohort", "group"])
    j["age_at_start"] = j["age_at_start"].astype("Int64")
    out, flow = journeys.flag_exclusions(j, cohorts, 18)
    assert flow["n"].sum() == len(j)  # kept + dropped = all journeys
    assert flow.loc[flow["action"] == "kept", "n"].sum() == out["exclusion"].isna().sum()
    for reason, n in out["exclusion"].value_counts().items():
        assert flow.loc[flow["reason"] == reason, "n"].sum() == n
    kept = out[out["exclusion"].isna()]
    assert kept["cohort"].isin(cohorts).all() and (kept["period"] != "outside").all()
    assert (kept["age_at_start"] >= 18).all() and not kept["partial_rest"].any()
