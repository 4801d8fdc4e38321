"""Unit tests for pbr.extract: a small valid extract, then one test per kind of bad input.

Every fatal test checks that the ExtractError message names the file, the column, the
number of rows and the example row numbers (data rows counted from 1, header excluded).
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from extract_fixtures import TODAY, arrow_table, as_text, valid_tables, write_csv, write_parquet

from pbr.contract import TABLES, to_markdown
from pbr.extract.problems import ExtractError
from pbr.extract.tables import load_extracts, read_extracts, validate_tables, write_extracts
from pbr.io import read_table

ROOT = Path(__file__).resolve().parents[2]

# ----------------------------------------------------------------------------- fixture


def fail(directory: Path, **kw) -> str:
    """Read the extract expecting an ExtractError; return its message."""
    with pytest.raises(ExtractError) as info:
        read_extracts(directory=directory, today=TODAY, **kw)
    msg = str(info.value)
    assert "Traceback" not in msg
    assert "What to do" in msg or "run again" in msg
    return msg


def line_about(msg: str, *needles: str) -> str:
    """The one message line that contains all the needles."""
    lines = [ln for ln in msg.splitlines() if all(n in ln for n in needles)]
    assert len(lines) == 1, f"expected one line with {needles} in:\n{msg}"
    return lines[0]


def assert_rows(line: str, n: int, rows: list[int]) -> None:
    assert re.search(rf"\b{n} rows? ", line), line
    label = "row" if len(rows) == 1 else "rows"
    assert f"{label} {', '.join(map(str, rows))}" in line, line


@pytest.fixture
def good() -> dict[str, list[dict]]:
    return valid_tables()


# ----------------------------------------------------------------------------- valid inputs


def test_valid_csv_reads_with_canonical_dtypes(tmp_path, good):
    tables, flow = read_extracts(directory=write_csv(tmp_path, good), today=TODAY)
    assert list(tables) == list(TABLES)
    expected = {
        "string": "string",
        "int": "Int64",
        "float": "Float64",
        "bool": "boolean",
        "date": "datetime64[s]",
    }
    for name, table in TABLES.items():
        df = tables[name]
        assert list(df.columns) == table.column_names
        assert len(df) == 10
        for c in table.columns:
            assert str(df[c.name].dtype) == expected[c.dtype], (name, c.name, df[c.name].dtype)
        assert df[list(table.key)].equals(
            df[list(table.key)].sort_values(list(table.key)).reset_index(drop=True)
        )
    ep = tables["ndtms_episodes"].set_index("episode_id")
    assert ep.loc["E003", "discharge_date"] is pd.NaT
    assert pd.isna(ep.loc["E003", "discharge_reason"])
    assert ep.loc["E001", "discharge_reason"] == 80
    assert ep.loc["E001", "referral_date"] == pd.Timestamp("2011-01-01")
    assert tables["areas"].set_index("area_code").loc["A04", "pilot"]
    assert set(flow["stage"]) == {"extract"}


def test_csv_and_parquet_give_identical_tables(tmp_path, good):
    from_csv, flow_csv = read_extracts(directory=write_csv(tmp_path / "csv", good), today=TODAY)
    from_pq, flow_pq = read_extracts(directory=write_parquet(tmp_path / "pq", good), today=TODAY)
    for name in TABLES:
        pd.testing.assert_frame_equal(from_csv[name], from_pq[name], check_exact=True)
    pd.testing.assert_frame_equal(flow_csv, flow_pq)


def test_parquet_with_pandas_physical_types(tmp_path, good):
    """Parquet written by pandas: nullable ints as float64 (NaN), timestamps instead of dates."""
    from_csv, _ = read_extracts(directory=write_csv(tmp_path / "csv", good), today=TODAY)
    out = tmp_path / "pd"
    out.mkdir()
    for name, records in good.items():
        df = pd.DataFrame(records)
        for c in TABLES[name].columns:
            if c.dtype == "date":
                df[c.name] = pd.to_datetime(df[c.name])
            elif c.dtype == "int":
                df[c.name] = df[c.name].astype("float64")
        df.to_parquet(out / f"{name}.parquet", index=False)
    from_pd, _ = read_extracts(directory=out, today=TODAY)
    for name in TABLES:
        pd.testing.assert_frame_equal(from_csv[name], from_pd[name])


def test_csv_with_utf8_bom(tmp_path, good):
    plain, _ = read_extracts(directory=write_csv(tmp_path / "plain", good), today=TODAY)
    bom_dir = write_csv(tmp_path / "bom", good, bom=True)
    assert (bom_dir / "areas.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with_bom, _ = read_extracts(directory=bom_dir, today=TODAY)
    for name in TABLES:
        pd.testing.assert_frame_equal(plain[name], with_bom[name])


def test_csv_accepts_crlf_and_other_boolean_spellings(tmp_path, good):
    d = write_csv(tmp_path, good)
    text = (d / "areas.csv").read_text().replace("true", "TRUE").replace("false", "0")
    (d / "areas.csv").write_bytes(text.replace("\n", "\r\n").encode())
    tables, _ = read_extracts(directory=d, today=TODAY)
    assert tables["areas"]["pilot"].sum() == 2


def test_validate_tables_accepts_typed_frames(good):
    raw = {name: pd.DataFrame(records) for name, records in good.items()}
    origin = {name: f"memory {name}" for name in TABLES}
    tables, flow = validate_tables(raw, origin, today=TODAY)
    assert flow["n"].sum() > 0
    assert len(tables["ndtms_episodes"]) == 10
    assert str(tables["ndtms_top"]["days_opiates"].dtype) == "Int64"


def test_tolerable_problems_are_counted_and_reconcile(tmp_path, good):
    bad = copy.deepcopy(good)
    bad["ndtms_episodes"][1]["area_code"] = (
        "Z99"  # E002: unknown area -> dropped, its TOP records T003,T004 too
    )
    bad["ndtms_episodes"][6]["area_code"] = "Z98"  # E007: unknown area, no TOP records
    bad["ndtms_top"][9]["episode_id"] = "E999"  # orphan TOP record -> dropped
    bad["ndtms_top"][0]["top_date"] = date(2010, 12, 1)  # before E001's referral -> flagged
    bad["ndtms_episodes"][3]["discharge_reason"] = None  # E004 closed without a reason -> flagged
    bad["ons_deaths"][0]["area_code"] = "Q01"  # flagged, kept
    bad["pnc_offences"][4]["area_code"] = "Q02"  # flagged, kept
    tables, flow = read_extracts(directory=write_csv(tmp_path, bad), today=TODAY)

    def n(table, action, reason=None):
        sel = (flow["table"] == table) & (flow["action"] == action)
        if reason is not None:
            sel &= flow["reason"] == reason
        return int(flow.loc[sel, "n"].sum())

    assert n("ndtms_episodes", "dropped", "area_code not in areas") == 2
    assert n("ndtms_top", "dropped", "episode_id not in ndtms_episodes") == 1
    assert n("ndtms_top", "dropped", "episode dropped (area_code not in areas)") == 2
    assert n("ndtms_top", "flagged", "top_date before the episode's referral_date") == 1
    assert n("ndtms_episodes", "flagged", "discharge_date without discharge_reason") == 1
    assert n("ons_deaths", "flagged", "area_code not in areas") == 1
    assert n("pnc_offences", "flagged", "area_code not in areas") == 1
    # read = kept + dropped, for every table, and kept equals the rows returned
    for name in TABLES:
        assert n(name, "kept") + n(name, "dropped") == len(bad[name]), name
        assert n(name, "kept") == len(tables[name]), name
        assert (flow.loc[flow["table"] == name, "action"] == "kept").sum() == 1
    assert "E002" not in set(tables["ndtms_episodes"]["episode_id"])
    assert not set(tables["ndtms_top"]["top_id"]) & {"T003", "T004", "T010"}
    assert set(flow["stage"]) == {"extract"}
    assert list(flow.columns) == [
        "stage",
        "step",
        "table",
        "unit",
        "action",
        "reason",
        "cohort",
        "group",
        "period",
        "n",
    ]


def test_flow_has_zero_rows_for_a_clean_extract(tmp_path, good):
    _, flow = read_extracts(directory=write_csv(tmp_path, good), today=TODAY)
    assert (flow.loc[flow["action"] != "kept", "n"] == 0).all()
    assert (flow.loc[flow["action"] == "kept", "n"] == 10).all()


def test_write_extracts_sorted_parquet(tmp_path, good):
    shuffled = copy.deepcopy(good)
    shuffled["ndtms_episodes"].reverse()
    tables, flow = read_extracts(directory=write_csv(tmp_path / "in", shuffled), today=TODAY)
    write_extracts(tables, flow, tmp_path / "out")
    for name, table in TABLES.items():
        back = read_table(tmp_path / "out" / f"{name}.parquet")
        assert list(back.columns) == table.column_names
        assert back[table.key[0]].tolist() == sorted(back[table.key[0]].tolist())
    assert len(read_table(tmp_path / "out" / "flow.parquet")) == len(flow)
    back, back_flow = load_extracts(tmp_path / "out")
    for name in TABLES:
        pd.testing.assert_frame_equal(back[name], tables[name], check_exact=True)
    pd.testing.assert_frame_equal(back_flow, flow)


# ----------------------------------------------------------------------------- the source


def test_missing_table_file(tmp_path, good):
    d = write_csv(tmp_path, good)
    (d / "ons_deaths.csv").unlink()
    msg = fail(d)
    line = line_about(msg, "ons_deaths")
    assert "not found" in line and "ons_deaths.csv" in line and "ons_deaths.parquet" in line


def test_missing_parquet_file_reported_once(tmp_path, good):
    d = write_parquet(tmp_path, good)
    (d / "pnc_offences.parquet").unlink()
    msg = fail(d, fmt="parquet")
    line = line_about(msg, "pnc_offences")
    assert "not found" in line and "pnc_offences.parquet" in line
    assert "1 problem;" in msg


def test_table_without_rows_is_an_error(tmp_path, good):
    """An empty table is a failed export, not a table to analyse (CSV: tests/unit/test_bad_extracts.py)."""
    d = write_parquet(tmp_path, good)
    pq.write_table(arrow_table("ons_deaths", []), d / "ons_deaths.parquet")
    line = line_about(fail(d), "ons_deaths.parquet")
    assert "has no data rows" in line


def test_both_csv_and_parquet_present(tmp_path, good):
    d = write_csv(tmp_path, good)
    write_parquet(d, {"areas": good["areas"]})
    line = line_about(fail(d), "areas.csv", "areas.parquet")
    assert "both" in line
    tables, _ = read_extracts(directory=d, fmt="csv", today=TODAY)  # an explicit format resolves it
    assert len(tables["areas"]) == 10


def test_missing_directory_and_bad_arguments(tmp_path):
    with pytest.raises(ExtractError, match="does not exist"):
        read_extracts(directory=tmp_path / "nowhere")
    with pytest.raises(ExtractError, match="exactly one"):
        read_extracts()
    with pytest.raises(ExtractError, match="exactly one"):
        read_extracts(directory=tmp_path, url="sqlite://")
    with pytest.raises(ExtractError, match="Unknown extract format"):
        read_extracts(directory=tmp_path, fmt="xlsx")


# ----------------------------------------------------------------------------- unparseable files


def test_wrong_delimiter(tmp_path, good):
    d = write_csv(tmp_path, good)
    (d / "areas.csv").write_text((d / "areas.csv").read_text().replace(",", ";"))
    line = line_about(fail(d), "areas.csv")
    assert "not comma-separated" in line and "';'" in line


def test_wrong_encoding(tmp_path, good):
    good["areas"][2]["area_name"] = "Bracknell Forêt"  # row 3, line 4
    d = write_csv(tmp_path, good)
    (d / "areas.csv").write_bytes((d / "areas.csv").read_text(encoding="utf-8").encode("cp1252"))
    line = line_about(fail(d), "areas.csv")
    assert "not valid UTF-8" in line and "line 4" in line and "Windows-1252" in line


def test_utf16_file(tmp_path, good):
    d = write_csv(tmp_path, good)
    (d / "areas.csv").write_bytes((d / "areas.csv").read_text().encode("utf-16"))
    assert "UTF-16" in line_about(fail(d), "areas.csv")


def test_truncated_file(tmp_path, good):
    d = write_csv(tmp_path, good)
    data = (d / "pnc_offences.csv").read_bytes()
    (d / "pnc_offences.csv").write_bytes(data[: len(data) - 40])  # cut inside the last row
    line = line_about(fail(d), "pnc_offences.csv")
    assert "truncated" in line
    assert_rows(line, 1, [10])


def test_unclosed_quote(tmp_path, good):
    d = write_csv(tmp_path, good)
    text = (d / "areas.csv").read_text().splitlines()
    text[5] = text[5].replace("Area 5", '"Area 5')
    (d / "areas.csv").write_text("\n".join(text) + "\n")
    line = line_about(fail(d), "areas.csv")
    assert "quote" in line and "row 4" in line


def test_row_with_extra_values(tmp_path, good):
    good["ons_deaths"][3]["underlying_cause"] = "X42"
    d = write_csv(tmp_path, good)
    lines = (d / "ons_deaths.csv").read_text().splitlines()
    lines[4] += ",extra"  # data rows 4 and 7
    lines[7] += ",extra,more"
    (d / "ons_deaths.csv").write_text("\n".join(lines) + "\n")
    line = line_about(fail(d), "ons_deaths.csv")
    assert "do not have 9 values" in line
    assert_rows(line, 2, [4, 7])


def test_empty_file_and_corrupt_parquet(tmp_path, good):
    d = write_parquet(tmp_path, good)
    (d / "areas.parquet").write_bytes(b"PAR1 this is not parquet")
    (d / "pnc_offences.parquet").unlink()
    (d / "pnc_offences.csv").write_text("")
    msg = fail(d)
    assert "cannot be read as Parquet" in line_about(msg, "areas.parquet")
    assert "is empty" in line_about(msg, "pnc_offences.csv")


# ----------------------------------------------------------------------------- columns


def test_missing_column(tmp_path, good):
    for r in good["ndtms_episodes"]:
        del r["triage_date"]
    line = line_about(fail(write_csv(tmp_path, good)), "ndtms_episodes.csv")
    assert 'missing column "triage_date"' in line


def test_extra_column_and_misspelt_column(tmp_path, good):
    for r in good["ndtms_top"]:
        r["comment"] = "x"
        r["Days_Opiates"] = r.pop("days_opiates")
    msg = fail(write_csv(tmp_path, good))
    missing = line_about(msg, "ndtms_top.csv", "missing")
    assert '"days_opiates"' in missing and 'rename "Days_Opiates" -> "days_opiates"' in missing
    extra = line_about(msg, "ndtms_top.csv", "not in the contract")
    assert '"comment"' in extra and '"Days_Opiates"' in extra


def test_duplicate_header_name(tmp_path, good):
    d = write_csv(tmp_path, good)
    lines = (d / "areas.csv").read_text().splitlines()
    lines[0] = lines[0].replace("region", "area_name")
    (d / "areas.csv").write_text("\n".join(lines) + "\n")
    assert "'area_name' more than once" in line_about(fail(d), "areas.csv")


def test_parquet_column_with_incompatible_type(tmp_path, good):
    d = write_parquet(tmp_path, good)
    t = arrow_table("ndtms_episodes", good["ndtms_episodes"])
    i = t.column_names.index("discharge_reason")
    t = t.set_column(
        i, "discharge_reason", pa.array([as_text(r["discharge_reason"]) for r in good["ndtms_episodes"]])
    )
    pq.write_table(t, d / "ndtms_episodes.parquet")
    line = line_about(fail(d), "ndtms_episodes.parquet", '"discharge_reason"')
    assert "Parquet type string" in line and "int" in line


def test_parquet_timestamps_with_time_of_day(tmp_path, good):
    d = write_parquet(tmp_path, good)
    t = arrow_table("ons_deaths", good["ons_deaths"])
    ts = [pd.Timestamp(r["date_of_death"]) for r in good["ons_deaths"]]
    ts[2] += pd.Timedelta(hours=13)
    t = t.set_column(t.column_names.index("date_of_death"), "date_of_death", pa.array(ts, pa.timestamp("us")))
    pq.write_table(t, d / "ons_deaths.parquet")
    line = line_about(fail(d), "ons_deaths.parquet", '"date_of_death"')
    assert "time of day" in line
    assert_rows(line, 1, [3])


# ----------------------------------------------------------------------------- values


def test_text_in_int_column(tmp_path, good):
    good["ndtms_episodes"][1]["discharge_reason"] = "eighty"  # row 2
    good["ndtms_episodes"][6]["discharge_reason"] = "86.5"  # row 7
    line = line_about(fail(write_csv(tmp_path, good)), "ndtms_episodes.csv", '"discharge_reason"')
    assert "not a whole number" in line
    assert_rows(line, 2, [2, 7])
    assert "'eighty'" in line and "'86.5'" in line


def test_bad_boolean(tmp_path, good):
    good["areas"][8]["pilot"] = "maybe"
    line = line_about(fail(write_csv(tmp_path, good)), "areas.csv", '"pilot"')
    assert "not true or false" in line and "'maybe'" in line
    assert_rows(line, 1, [9])


def test_unparseable_dates(tmp_path, good):
    good["ndtms_episodes"][0]["referral_date"] = "01/01/2011"  # not ISO
    good["ndtms_episodes"][4]["referral_date"] = "2011-02-30"  # not a real date
    good["ndtms_episodes"][8]["referral_date"] = "2011-9-1"  # not zero-padded
    line = line_about(fail(write_csv(tmp_path, good)), "ndtms_episodes.csv", '"referral_date"')
    assert "YYYY-MM-DD" in line
    assert_rows(line, 3, [1, 5, 9])
    assert "'01/01/2011'" in line and "'2011-02-30'" in line
    # a failed date is reported once, not again as empty
    assert "no value" not in fail(tmp_path)


def test_identifier_values_are_not_printed(tmp_path, good):
    good["ndtms_episodes"][2]["date_of_birth"] = "3rd May 1980"
    line = line_about(fail(write_csv(tmp_path, good)), "ndtms_episodes.csv", '"date_of_birth"')
    assert_rows(line, 1, [3])
    detail = line.split('"date_of_birth"', 1)[1]
    assert "May" not in detail and "values" not in detail


def test_code_not_in_code_list(tmp_path, good):
    good["ndtms_episodes"][0]["substance_1"] = "Heroin"
    good["ndtms_episodes"][5]["discharge_reason"] = 90
    msg = fail(write_csv(tmp_path, good))
    sub = line_about(msg, "ndtms_episodes.csv", '"substance_1"')
    assert "not in the code list" in sub and "'Heroin'" in sub
    assert_rows(sub, 1, [1])
    reason = line_about(msg, "ndtms_episodes.csv", '"discharge_reason"')
    assert_rows(reason, 1, [6])
    assert "90" in reason


def test_number_out_of_range(tmp_path, good):
    for i in (2, 4, 5, 6, 7, 8, 9):
        good["ndtms_top"][i]["days_opiates"] = 29 + i
    line = line_about(fail(write_csv(tmp_path, good)), "ndtms_top.csv", '"days_opiates"')
    assert "outside the range 0 to 28" in line
    assert_rows(line, 7, [3, 5, 6, 7, 8])
    assert "(and 2 more)" in line


def test_empty_value_in_required_column(tmp_path, good):
    good["pnc_offences"][1]["offence_date"] = None
    good["pnc_offences"][3]["offence_date"] = None
    good["pnc_offences"][3]["disposal"] = None
    msg = fail(write_csv(tmp_path, good))
    line = line_about(msg, "pnc_offences.csv", '"offence_date"')
    assert "have no value" in line
    assert_rows(line, 2, [2, 4])
    assert_rows(line_about(msg, "pnc_offences.csv", '"disposal"'), 1, [4])


def test_duplicate_keys(tmp_path, good):
    good["ndtms_top"][5]["top_id"] = good["ndtms_top"][1]["top_id"]  # rows 2 and 6
    line = line_about(fail(write_csv(tmp_path, good)), "ndtms_top.csv", '"top_id"')
    assert "share their key" in line
    assert_rows(line, 2, [2, 6])
    assert "'T002'" in line


def test_discharge_before_referral(tmp_path, good):
    good["ndtms_episodes"][3]["discharge_date"] = date(2010, 1, 1)  # row 4
    line = line_about(fail(write_csv(tmp_path, good)), "ndtms_episodes.csv", '"discharge_date"')
    assert "discharge_date before referral_date" in line and '"referral_date"' in line
    assert_rows(line, 1, [4])


def test_death_before_birth_and_registration_before_death(tmp_path, good):
    good["ons_deaths"][0]["date_of_birth"] = date(2014, 1, 1)  # row 1: born after death
    good["ons_deaths"][5]["date_of_registration"] = date(2013, 1, 1)  # row 6
    msg = fail(write_csv(tmp_path, good))
    birth = line_about(msg, "ons_deaths.csv", "date_of_death before date_of_birth")
    assert_rows(birth, 1, [1])
    reg = line_about(msg, "ons_deaths.csv", "date_of_registration before date_of_death")
    assert_rows(reg, 1, [6])


def test_date_of_birth_in_the_future(tmp_path, good):
    good["pnc_offences"][6]["date_of_birth"] = date(2030, 1, 1)
    good["pnc_offences"][6]["offence_date"] = date(2031, 1, 1)
    good["pnc_offences"][6]["disposal_date"] = date(2031, 2, 1)
    msg = fail(write_csv(tmp_path, good))
    line = line_about(msg, "pnc_offences.csv", '"date_of_birth"')
    assert "after today (2024-06-30)" in line and "date of birth" in line
    assert_rows(line, 1, [7])
    assert "2030" not in line  # an identifier: no values shown


def test_no_episode_in_a_known_area(tmp_path, good):
    """Dropping and counting every episode would leave nothing to analyse: an error instead."""
    for r in good["ndtms_episodes"]:
        r["area_code"] = "X" + r["area_code"]
    line = line_about(fail(write_csv(tmp_path, good)), "ndtms_episodes.csv", '"area_code"')
    assert "no episode has an area_code in the area lookup" in line and "'XA02'" in line


@pytest.mark.parametrize("pilot", [False, True])
def test_no_pilot_or_no_comparison_area(tmp_path, good, pilot):
    for r in good["areas"]:
        r["pilot"] = pilot
    line = line_about(fail(write_csv(tmp_path, good)), "areas.csv", '"pilot"')
    assert ("every area is" if pilot else "no area is") in line and "cannot be compared" in line


def test_all_problems_of_a_table_reported_together(tmp_path, good):
    good["ndtms_episodes"][0]["sex"] = "X"
    good["ndtms_episodes"][1]["referral_date"] = "yesterday"
    good["ndtms_episodes"][2]["episode_id"] = "E001"
    good["areas"][0]["area_name"] = None
    msg = fail(write_csv(tmp_path, good))
    assert "4 problems" in msg
    bullet = [ln for ln in msg.splitlines() if ln.startswith("- ")]
    assert len(bullet) == 4
    assert bullet[0].startswith(f"- {tmp_path / 'areas.csv'}")


# ----------------------------------------------------------------------------- the generated contract document


def test_input_contract_doc_is_current():
    doc = ROOT / "docs" / "input-contract.md"
    assert doc.is_file(), "run: python -m pbr.contract > docs/input-contract.md"
    # compared without trailing newlines: `print` adds one, end-of-file fixers may remove it
    assert doc.read_text(encoding="utf-8").rstrip("\n") == to_markdown().rstrip("\n"), (
        "docs/input-contract.md is out of date: run `python -m pbr.contract > docs/input-contract.md`"
    )


def test_contract_module_prints_the_doc():
    out = subprocess.run([sys.executable, "-m", "pbr.contract"], capture_output=True, text=True, check=True)
    assert out.stdout == to_markdown() + "\n"


# ----------------------------------------------------------------------------- text, identifiers, codes


def test_settings_defaults_are_the_contract_defaults():
    """The extract's defaults are those of the config keys the workflow passes (one source of truth)."""
    from pbr.config import validate_config
    from pbr.contract import MAX_AGE, PLACEHOLDER_DATES_OF_BIRTH

    cfg = validate_config({})
    assert tuple(cfg["linkage"]["placeholder_dates_of_birth"]) == PLACEHOLDER_DATES_OF_BIRTH
    assert cfg["study"]["max_age"] == MAX_AGE


def test_spaces_and_null_tokens_are_cleaned_and_counted_except_in_free_text(tmp_path, good):
    _, clean_flow = read_extracts(directory=write_csv(tmp_path / "clean", good), today=TODAY)
    bad = copy.deepcopy(good)
    bad["ndtms_episodes"][1]["area_code"] = " A03 "  # a code with spaces: trimmed
    bad["ndtms_episodes"][2]["sub_area"] = "West Kent"  # another spelling: normalised
    bad["ndtms_episodes"][4]["sex"] = "NULL"  # E005 is female: 'NULL' would not be in the code list
    bad["ndtms_episodes"][4]["substance_3"] = "n/a"
    bad["ndtms_episodes"][5]["discharge_date"] = "NULL"  # a date column (E006 is closed: reason kept)
    bad["areas"][1]["pilot_sub_area"] = " NULL "
    bad["areas"][0]["area_name"] = " Area 1 "  # free text: kept exactly
    bad["areas"][2]["region"] = "NULL"  # free text: kept exactly
    bad["ons_deaths"][0]["surname"] = "NA"  # a surname (Na), not a null token in a name column
    tables, flow = read_extracts(directory=write_csv(tmp_path / "bad", bad), today=TODAY)
    ep = tables["ndtms_episodes"].set_index("episode_id")
    assert ep.loc["E002", "area_code"] == "A03" and ep.loc["E003", "sub_area"] == "west_kent"
    assert pd.isna(ep.loc["E005", "sex"]) and pd.isna(ep.loc["E005", "substance_3"])
    assert pd.isna(ep.loc["E006", "discharge_date"])
    areas = tables["areas"].set_index("area_code")
    assert areas.loc["A01", "area_name"] == " Area 1 " and areas.loc["A03", "region"] == "NULL"
    assert pd.isna(areas.loc["A02", "pilot_sub_area"])
    assert tables["ons_deaths"].set_index("death_id").loc["D001", "surname"] == "NA"

    def n(table, reason):
        return flow.loc[(flow["table"] == table) & flow["reason"].str.startswith(reason), "n"].tolist()

    assert n("ndtms_episodes", "value with surrounding spaces") == [1]
    assert n("ndtms_episodes", "value written as a null token") == [2]  # rows E005 and E006
    assert n("ndtms_episodes", "sub_area in another spelling") == [1]
    assert n("areas", "value written as a null token") == [1]
    assert n("ons_deaths", "value written as a null token") == [0]
    assert set(flow["reason"]) == set(clean_flow["reason"])  # every check has its row, zero or not


def test_null_tokens_in_a_typed_source_are_missing_too(tmp_path, good):
    """Parquet text columns are cleaned like CSV's: the same tables from either."""
    bad = copy.deepcopy(good)
    bad["ndtms_episodes"][0]["route"] = "NULL"
    bad["ndtms_episodes"][1]["agency_id"] = "AG2 "
    from_csv, flow_csv = read_extracts(directory=write_csv(tmp_path / "csv", bad), today=TODAY)
    from_pq, flow_pq = read_extracts(directory=write_parquet(tmp_path / "pq", bad), today=TODAY)
    for name in TABLES:
        pd.testing.assert_frame_equal(from_csv[name], from_pq[name], check_exact=True)
    pd.testing.assert_frame_equal(flow_csv, flow_pq)
    assert pd.isna(from_pq["ndtms_episodes"].loc[0, "route"])


def test_initials_in_any_case_or_accented_are_letters(tmp_path, good):
    good["ndtms_episodes"][0]["initial_first"] = "a"
    good["ndtms_episodes"][1]["initial_surname"] = "É"
    tables, flow = read_extracts(directory=write_csv(tmp_path, good), today=TODAY)
    ep = tables["ndtms_episodes"].set_index("episode_id")
    assert ep.loc["E001", "initial_first"] == "A" and ep.loc["E002", "initial_surname"] == "E"
    assert flow.loc[flow["reason"].str.startswith("initial not one letter"), "n"].tolist() == [0]


def test_invalid_initials_are_read_as_missing_and_counted(tmp_path, good, caplog):
    for i, v in ((0, "?"), (1, "1"), (2, "-")):
        good["ndtms_episodes"][i]["initial_first"] = v
    good["ndtms_episodes"][3]["initial_surname"] = "Jones"
    tables, flow = read_extracts(directory=write_csv(tmp_path, good), today=TODAY)
    ep = tables["ndtms_episodes"].set_index("episode_id")
    assert ep.loc[["E001", "E002", "E003"], "initial_first"].isna().all() and pd.isna(
        ep.loc["E004", "initial_surname"]
    )
    assert flow.loc[flow["reason"].str.startswith("initial not one letter"), "n"].tolist() == [4]
    warned = "\n".join(r.getMessage() for r in caplog.records)
    assert 'column "initial_first": 3 rows' in warned and "rows 1, 2, 3" in warned and "Jones" not in warned


def test_placeholder_dates_and_max_age_follow_the_settings(tmp_path, good):
    good["ndtms_episodes"][0]["date_of_birth"] = date(1900, 1, 1)  # the default list
    d = write_csv(tmp_path, good)
    _, flow = read_extracts(directory=d, today=TODAY)
    dropped = flow[(flow["table"] == "ndtms_episodes") & (flow["action"] == "dropped") & (flow["n"] > 0)]
    assert dropped["reason"].str.startswith("date_of_birth a placeholder").tolist() == [True]
    # another list, another maximum: E002 (born 1972-02-12) is a placeholder; over 35 at referral: E001-E004
    tables, flow = read_extracts(
        directory=d, today=TODAY, placeholder_dates_of_birth=["1972-02-12"], max_age=35
    )
    n = flow.set_index("reason")["n"]
    assert n["date_of_birth a placeholder (1972-02-12; linkage.placeholder_dates_of_birth)"] == 1
    assert n["aged over 35 at referral: date_of_birth implausible (study.max_age)"] == 3
    assert set(tables["ndtms_episodes"]["episode_id"]) == {f"E{i:03d}" for i in range(5, 11)}


def test_a_placeholder_before_1880_is_counted_not_fatal(tmp_path, good):
    good["ndtms_episodes"][4]["date_of_birth"] = date(1800, 1, 1)
    good["ons_deaths"][2]["date_of_birth"] = date(1800, 1, 1)
    tables, _ = read_extracts(directory=write_csv(tmp_path, good), today=TODAY)
    assert "E005" not in set(tables["ndtms_episodes"]["episode_id"])
    assert pd.isna(tables["ons_deaths"].set_index("death_id").loc["D003", "date_of_birth"])
    good["ndtms_episodes"][4]["date_of_birth"] = date(1801, 1, 1)  # not a placeholder: a typo
    assert "before 1880-01-01" in line_about(fail(write_csv(tmp_path / "typo", good)), '"date_of_birth"')


def test_pilot_sub_area_on_an_area_that_is_not_pilot_is_an_error(tmp_path, good):
    good["areas"][4]["pilot_sub_area"] = "east_kent"  # A05 is not a pilot area
    line = line_about(fail(write_csv(tmp_path, good)), "areas.csv", '"pilot_sub_area"')
    assert "not pilot areas" in line and "'A05'" in line
    assert_rows(line, 1, [5])


def test_register_without_usable_names_is_named(tmp_path, good):
    for r in good["ons_deaths"]:
        r["forename"] = "?"
    line = line_about(fail(write_csv(tmp_path, good)), "ons_deaths.csv")
    assert 'column "forename"' in line and "gives an initial" in line


def test_a_value_longer_than_the_csv_field_limit_is_read(tmp_path, good):
    good["areas"][3]["area_name"] = "x" * 1_000_000  # legal CSV, over csv's default limit of 131,072
    tables, _ = read_extracts(directory=write_csv(tmp_path, good), today=TODAY)
    assert len(tables["areas"].set_index("area_code").loc["A04", "area_name"]) == 1_000_000
    import csv as csv_module

    assert csv_module.field_size_limit() == 131072  # the limit is restored after reading


def test_nul_bytes_are_named_by_line(tmp_path, good):
    d = write_csv(tmp_path, good)
    lines = (d / "areas.csv").read_bytes().split(b"\n")
    lines[2] += b"\x00"
    lines[4] = b"\x00" + lines[4]
    (d / "areas.csv").write_bytes(b"\n".join(lines))
    assert "2 NUL bytes" in line_about(fail(d), "areas.csv", "on lines 3, 5")


def test_utf16_big_endian_without_bom(tmp_path, good):
    d = write_csv(tmp_path, good)
    (d / "areas.csv").write_bytes((d / "areas.csv").read_text().encode("utf-16-be"))
    assert "UTF-16BE text without a byte-order mark" in line_about(fail(d), "areas.csv")


def test_unnamed_columns_with_values_are_an_error(tmp_path, good):
    d = write_csv(tmp_path, good)
    lines = (d / "areas.csv").read_text().splitlines()
    lines = [lines[0] + ","] + [
        ln + ("," if i not in (2, 6) else ",note") for i, ln in enumerate(lines[1:], 1)
    ]
    (d / "areas.csv").write_text("\n".join(lines) + "\n")
    line = line_about(fail(d), "areas.csv")
    assert "no name in the header (column 6" in line
    assert_rows(line, 2, [2, 6])


def test_rows_with_trailing_empty_values_are_named_as_trailing_commas(tmp_path, good):
    d = write_csv(tmp_path, good)
    lines = (d / "areas.csv").read_text().splitlines()
    lines[3] += ",,"
    (d / "areas.csv").write_text("\n".join(lines) + "\n")
    line = line_about(fail(d), "areas.csv")
    assert "do not have 5 values" in line or "does not have 5 values" in line
    assert "trailing commas" in line


def test_parquet_pandas_index_is_data_only_when_it_is_a_contract_column(tmp_path, good):
    d = write_parquet(tmp_path, good)
    expected, _ = read_extracts(directory=d, today=TODAY)
    df = pd.DataFrame(good["areas"])
    df.index = df.index * 10  # not a range index: pandas stores it as a column '__index_level_0__'
    for c in ("area_code",):
        df[c] = df[c].astype("string")
    df.to_parquet(d / "areas.parquet")
    tables, _ = read_extracts(directory=d, today=TODAY)
    pd.testing.assert_frame_equal(tables["areas"], expected["areas"])
    named = pd.DataFrame(good["ons_deaths"]).rename_axis("row_number")  # a named index that is not data
    for c in ("date_of_birth", "date_of_death", "date_of_registration"):
        named[c] = pd.to_datetime(named[c])
    named.index = named.index + 100
    named.to_parquet(d / "ons_deaths.parquet")
    tables, _ = read_extracts(directory=d, today=TODAY)
    pd.testing.assert_frame_equal(tables["ons_deaths"], expected["ons_deaths"])


def test_unknown_area_codes_are_logged_quoted_with_the_look_alike(tmp_path, good, caplog):
    good["ndtms_episodes"][1]["area_code"] = "a03"
    read_extracts(directory=write_csv(tmp_path, good), today=TODAY)
    warned = "\n".join(r.getMessage() for r in caplog.records)
    assert "codes 'a03'" in warned and "'a03' looks like 'A03'" in warned and "rows 2" not in warned
    assert 'ndtms_episodes.csv, column "area_code": 1 episodes' in warned and "row 2" in warned


def test_long_values_are_cut_in_messages(tmp_path, good):
    good["ndtms_episodes"][0]["substance_1"] = "cocaine " * 100
    line = line_about(fail(write_csv(tmp_path, good)), '"substance_1"')
    assert "(799 characters)" in line and "cocaine " * 10 not in line
