"""Every case of the bad-extract corpus (tests/bad_extracts/) gives the user its documented outcome.

A clear error names the file, the column, how many rows and which (``ExtractError``,
``JourneyError`` or ``OutcomeError``, never a traceback, nothing written); a counted exclusion
has its exact count in the flow table and every table reconciles (rows read = kept + dropped);
an accepted case gives exactly the tables of the valid extract, and a normalised one too, with
what was cleaned counted; a warning is in the log and flagged in the flow table. Warnings in
the log name the file, the column and the rows, like errors, and never an identifier's value.
"""

from __future__ import annotations

import logging
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
    NORMALISED,
    TODAY,
    WARNED,
    Expect,
    Line,
    read_rows,
    valid_extract,
    write_csv_extract,
)

from pbr.config import validate_config
from pbr.contract import TABLES
from pbr.derive import journeys, outcomes
from pbr.extract.problems import ExtractError
from pbr.extract.tables import read_extracts
from pbr.link import matching, quality, records
from pbr.link.persons import link_persons
from pbr.registry.registers import REGISTERS

CORPUS = Path(__file__).resolve().parents[1] / "bad_extracts"


@pytest.fixture(scope="module")
def valid_dir(tmp_path_factory) -> Path:
    return write_csv_extract(valid_extract(), tmp_path_factory.mktemp("valid"))


@pytest.fixture(scope="module")
def clean(valid_dir):
    return read_extracts(directory=valid_dir, today=TODAY)


def _derive_cohorts(tables: dict[str, pd.DataFrame], cohorts: list[str], study: dict | None = None):
    """The derive stage up to the cohorts, with the default study settings (``study`` over them);
    returns journeys and flow."""
    cfg = validate_config({"study": study or {}})
    study, jc = cfg["study"], cfg["journeys"]
    episodes, _ = link_persons(tables["ndtms_episodes"], b"corpus-key")
    ep = journeys.assign_journeys(episodes, jc["transfer_codes"], jc["transfer_gap_days"])
    j = journeys.assign_study_fields(
        journeys.summarise_journeys(ep),
        tables["areas"],
        study["pre_start"],
        study["post_start"],
        study["post_end"],
        study["partial_pilot_rule"],
    )
    return journeys.flag_exclusions(j, cohorts, study["min_age"])


def _link(tables: dict[str, pd.DataFrame], journeys_: pd.DataFrame) -> dict[str, dict]:
    """Both registers linked on the exact key (the link-rate checks do not depend on the method),
    with the match rates of the study journeys."""
    cfg = validate_config({})["linkage"] | {"method": "deterministic"}
    out, links = {}, {}
    for name, spec in REGISTERS.items():
        left, right = records.link_inputs(
            tables["ndtms_episodes"],
            tables[spec["table"]],
            spec,
            b"corpus-key",
            tables["areas"],
            tables["ndtms_top"],
        )
        out[name] = matching.link_register_probabilistic(
            left, right, tables[spec["table"]], spec, {}, cfg, name
        )
        links[name] = out[name]["links"]
    rates = quality.match_rates(journeys_, links, cfg["threshold"], cfg["min_link_rate"])
    return {"flow": pd.concat([o["flow"] for o in out.values()], ignore_index=True), "rates": rates}


def _check_lines(lines: list[str], expected: list[Line], d: Path, prefix: str, what: str) -> None:
    """Each expected line is exactly one of ``lines``: it names the file (after ``prefix``), the column,
    every phrase, the count and first rows; identifier values it hides appear in none of the lines."""
    text = "\n".join(lines)
    assert "Traceback" not in text
    for exp in expected:
        start = f"{prefix}{d / exp.table}." if exp.table else prefix
        found = [
            ln
            for ln in lines
            if ln.startswith(start)
            and (exp.column is None or f'"{exp.column}"' in ln)
            and all(p in ln for p in exp.phrases)
        ]
        assert len(found) == 1, f"no single {what} line for {exp} in:\n{text}"
        line = found[0]
        if exp.rows is not None:  # how many rows, and the first example rows
            n = len(exp.rows)
            assert re.search(rf": {n} (rows?|episodes|records) ", line), line
            shown = sorted(exp.rows)[:5]
            assert f"{'row' if n == 1 else 'rows'} {', '.join(map(str, shown))}" in line, line
        for value in exp.hidden:
            assert value not in text, f"identifier value {value!r} shown in the {what}"


def _check_error_lines(msg: str, expect: Expect, d: Path) -> None:
    _check_lines(msg.splitlines(), expect.lines, d, "- " if expect.stage == "extract" else "", "message")
    for phrase in expect.absent:
        assert phrase not in msg, f"{phrase!r} in:\n{msg}"


def _flow_count(flow: pd.DataFrame, table: str, reason: str) -> list[int]:
    """The counts of dropped or flagged rows of ``table`` whose reason starts with ``reason``."""
    sel = (flow["table"] == table) & flow["reason"].str.startswith(reason) & (flow["action"] != "kept")
    return flow.loc[sel, "n"].tolist()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_extract_gives_its_outcome(case, valid_dir, clean, tmp_path, caplog):
    d = shutil.copytree(valid_dir, tmp_path / case.name)
    expect = case.corrupt(d)
    assert expect.kind == case.outcome
    caplog.set_level(logging.WARNING)

    if expect.stage == "extract" and expect.kind == ERROR:
        with pytest.raises(ExtractError) as info:
            read_extracts(directory=d, today=TODAY)
        msg = str(info.value)
        assert "nothing was written" in msg.splitlines()[0]
        _check_error_lines(msg, expect, d)
        return

    tables, flow = read_extracts(directory=d, today=TODAY)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]

    if expect.stage == "derive":
        try:
            j, jflow = _derive_cohorts(tables, ["drug", "alcohol"], expect.study)
        except journeys.JourneyError as e:  # the design cannot be estimated: stop before the cohorts
            assert expect.kind == ERROR
            _check_error_lines(str(e), expect, d)
            _check_lines(warnings, expect.warnings, d, "", "warning")
            return
        assert jflow["n"].sum() == len(j)  # every journey counted, kept or dropped with a reason
        if expect.check is not None:
            expect.check(j, jflow)
        errors = []
        for cohort in ("drug", "alcohol"):
            try:
                outcomes.study_journeys(j, cohort)
            except outcomes.OutcomeError as e:
                errors.append(str(e))
        if expect.kind == ERROR:  # a clear error for the empty cohort, after its journeys were counted
            assert len(errors) == 1, errors
            _check_error_lines(errors[0], expect, d)
        else:
            assert not errors, errors
        return

    if expect.stage == "link":
        assert expect.kind == WARNED
        j, _ = _derive_cohorts(tables, ["drug", "alcohol"])
        caplog.clear()
        linked = _link(tables, j)
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        _check_lines(warnings, expect.warnings, d, "", "warning")
        for (table, reason), n in expect.flow.items():
            got = _flow_count(linked["flow"], table, reason)
            assert got if n is None else got == [n], (table, reason, got)
        noted = linked["rates"].loc[linked["rates"]["register"] == "deaths", "note"]
        assert noted.str.contains(
            "below the lowest plausible rate|under a third|client died", regex=True
        ).all()
        # the valid extract gives no such warning
        valid_j, _ = _derive_cohorts(clean[0], ["drug", "alcohol"])
        ok = _link(clean[0], valid_j)
        assert not ok["flow"]["reason"].str.startswith("link rate far below").any()
        assert (ok["rates"]["note"] == "").all()
        return

    _check_lines(warnings, expect.warnings, d, "", "warning")

    if expect.kind in (ACCEPTED, NORMALISED):
        for name in TABLES:
            pd.testing.assert_frame_equal(tables[name], clean[0][name], check_exact=True)
        if expect.kind == ACCEPTED:
            pd.testing.assert_frame_equal(flow, clean[1])
            return
        changed = pd.Series(False, index=flow.index)
        for (table, reason), n in expect.flow.items():
            assert _flow_count(flow, table, reason) == [n], (table, reason)
            changed |= (flow["table"] == table) & flow["reason"].str.startswith(reason)
        pd.testing.assert_frame_equal(  # nothing else changed
            flow.loc[~changed].reset_index(drop=True), clean[1].loc[~changed].reset_index(drop=True)
        )
        return

    assert expect.kind == COUNTED
    if expect.check is not None:
        expect.check(tables, flow)
    for (table, reason), n in expect.flow.items():
        got = _flow_count(flow, table, reason)
        assert got if n is None else got == [n], (table, reason, got)
    for name in TABLES:  # nothing lost silently: rows read = kept + dropped, kept = rows returned
        f = flow[flow["table"] == name]
        read = len(read_rows(d / f"{name}.csv")[1])
        assert f.loc[f["action"].isin(["kept", "dropped"]), "n"].sum() == read, name
        assert f.loc[f["action"] == "kept", "n"].sum() == len(tables[name]), name


def test_placeholder_dates_of_birth_do_not_merge_clients(valid_dir, tmp_path):
    """Without the check, clients who share initials and sex and the placeholder 1900-01-01 were one
    person aged over 100: none of those episodes is a person now, and every other one is."""
    d = shutil.copytree(valid_dir, tmp_path / "placeholder")
    next(c for c in CASES if c.name == "placeholder_dates_of_birth").corrupt(d)
    header, rows = read_rows(d / "ndtms_episodes.csv")
    dob = header.index("date_of_birth")
    placeholder = {r[0] for r in rows if r[dob] in ("1900-01-01", "1800-01-01")}
    tables, _ = read_extracts(directory=d, today=TODAY)
    episodes, _ = link_persons(tables["ndtms_episodes"], b"corpus-key")
    assert (episodes["age_at_referral"] <= 100).all()
    assert placeholder and not placeholder & set(episodes["episode_id"])
    assert len(tables["ndtms_episodes"]) == len(rows) - len(placeholder)


def test_readme_lists_every_case_with_its_outcome():
    rows = re.findall(r"^\| `(\w+)` \| [^|]+ \| ([^|]+) \|", (CORPUS / "README.md").read_text(), re.MULTILINE)
    assert dict((name, outcome.strip()) for name, outcome in rows) == {c.name: c.outcome for c in CASES}
