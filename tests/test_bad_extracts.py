"""Every case of the bad-extract corpus (tests/bad_extracts/) gives the user its documented outcome.

A clear error names the file, the column, how many rows and which (``ExtractError`` or
``OutcomeError``, never a traceback, nothing written); a counted exclusion has its exact
count in the flow table and every table reconciles (rows read = kept + dropped); an
accepted case gives exactly the tables of the valid extract.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from bad_extracts.corpus import (
    ACCEPTED,
    CASES,
    COUNTED,
    ERROR,
    TODAY,
    Expect,
    read_rows,
    valid_extract,
    write_csv_extract,
)

from pbr import journeys, link, outcomes
from pbr.config import validate_config
from pbr.contract import TABLES
from pbr.extract import ExtractError, read_extracts

CORPUS = Path(__file__).resolve().parent / "bad_extracts"


@pytest.fixture(scope="module")
def valid_dir(tmp_path_factory) -> Path:
    return write_csv_extract(valid_extract(), tmp_path_factory.mktemp("valid"))


@pytest.fixture(scope="module")
def clean(valid_dir):
    return read_extracts(directory=valid_dir, today=TODAY)


def _derive_cohorts(tables: dict[str, pd.DataFrame], cohorts: list[str]):
    """The derive stage up to the cohorts, with the default study settings; returns journeys and flow."""
    cfg = validate_config({})
    study, jc = cfg["study"], cfg["journeys"]
    episodes, _ = link.link_persons(tables["ndtms_episodes"], b"corpus-key")
    ep = journeys.assign_journeys(episodes, jc["transfer_codes"], jc["transfer_gap_days"])
    j = journeys.assign_study_fields(
        journeys.summarise_journeys(ep),
        tables["areas"],
        study["pre_start"],
        study["post_start"],
        study["post_end"],
    )
    return journeys.flag_exclusions(j, cohorts, study["min_age"])


def _check_error_lines(msg: str, expect: Expect, d: Path) -> None:
    assert "Traceback" not in msg
    lines = msg.splitlines()
    for exp in expect.lines:
        prefix = f"- {d / exp.table}." if exp.table else ""
        found = [
            ln
            for ln in lines
            if ln.startswith(prefix)
            and (exp.column is None or f'"{exp.column}"' in ln)
            and all(p in ln for p in exp.phrases)
        ]
        assert len(found) == 1, f"no single line for {exp} in:\n{msg}"
        line = found[0]
        if exp.rows is not None:  # how many rows, and the first example rows
            n = len(exp.rows)
            assert re.search(rf": {n} rows? ", line), line
            shown = sorted(exp.rows)[:5]
            assert f"{'row' if n == 1 else 'rows'} {', '.join(map(str, shown))}" in line, line
        for value in exp.hidden:
            assert value not in msg, f"identifier value {value!r} shown in the message"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_extract_gives_its_outcome(case, valid_dir, clean, tmp_path):
    d = shutil.copytree(valid_dir, tmp_path / case.name)
    expect = case.corrupt(d)
    assert expect.kind == case.outcome

    if expect.stage == "derive":
        tables, _ = read_extracts(directory=d, today=TODAY)  # a valid extract ...
        j, flow = _derive_cohorts(tables, ["drug", "alcohol"])
        # ... whose journeys are all counted, kept or dropped with a reason ...
        assert flow["n"].sum() == len(j)
        assert len(outcomes.study_journeys(j, "drug"))
        with pytest.raises(outcomes.OutcomeError) as info:  # ... and a clear error for the empty cohort
            outcomes.study_journeys(j, "alcohol")
        _check_error_lines(str(info.value), expect, d)
        return

    if expect.kind == ERROR:
        with pytest.raises(ExtractError) as info:
            read_extracts(directory=d, today=TODAY)
        msg = str(info.value)
        assert "nothing was written" in msg.splitlines()[0]
        _check_error_lines(msg, expect, d)
        return

    tables, flow = read_extracts(directory=d, today=TODAY)
    if expect.kind == ACCEPTED:
        for name in TABLES:
            pd.testing.assert_frame_equal(tables[name], clean[0][name], check_exact=True)
        pd.testing.assert_frame_equal(flow, clean[1])
        return

    assert expect.kind == COUNTED
    for (table, reason), n in expect.flow.items():
        got = flow.loc[
            (flow["table"] == table) & (flow["reason"] == reason) & (flow["action"] == "dropped"), "n"
        ]
        assert got.tolist() == [n], (table, reason)
    for name in TABLES:  # nothing lost silently: rows read = kept + dropped, kept = rows returned
        f = flow[flow["table"] == name]
        read = len(read_rows(d / f"{name}.csv")[1])
        assert f.loc[f["action"].isin(["kept", "dropped"]), "n"].sum() == read, name
        assert f.loc[f["action"] == "kept", "n"].sum() == len(tables[name]), name


def test_readme_lists_every_case_with_its_outcome():
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", (CORPUS / "README.md").read_text(), re.MULTILINE)
    assert dict((name, outcome.strip()) for name, outcome in rows) == {c.name: c.outcome for c in CASES}
