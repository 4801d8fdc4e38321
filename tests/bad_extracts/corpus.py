"""A corpus of bad extracts: each case is a valid extract with one thing wrong, and its outcome.

The valid extract is a tiny synthetic one (:func:`valid_extract`) written as CSV files in
the input contract (:func:`write_csv_extract`), as an analyst would place them. Each
:class:`Case` corrupts a copy of it in place and returns what the user must get
(:class:`Expect`): a clear error (the file, the column, how many rows, example rows), a
counted exclusion (its reason and exact count in the flow table), or the same tables as
the valid extract. The cases and their outcomes are listed in ``README.md`` beside this
file; ``tests/test_bad_extracts.py`` checks every one.

Write the whole corpus to a directory, to look at or to try by hand::

    python tests/bad_extracts/corpus.py /tmp/bad-extracts
"""

from __future__ import annotations

import csv
import io
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

if __name__ == "__main__":  # run as a script: use this checkout's library
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import pandas as pd

from pbr.contract import TABLES

SCALE = 0.002  # about 1,700 episodes in 149 areas: a dozen episodes per area
SEED = 5
TODAY = date(2024, 6, 30)

ERROR, COUNTED, ACCEPTED = "clear error", "counted exclusion", "accepted unchanged"


@dataclass(frozen=True)
class Expect:
    """What the user gets from a case.

    ``kind`` is ERROR, COUNTED or ACCEPTED. ``stage`` is where it shows: ``extract``
    (reading and validating the extract) or ``derive`` (building journeys and cohorts).
    For an error, one message line per entry of ``lines``: each names ``table``'s file
    and holds every phrase given; ``rows`` (if given) are the exact data rows the line
    must count and list. For a counted exclusion, ``flow`` maps (table, reason) to the
    exact count in the flow table.
    """

    kind: str
    stage: str = "extract"
    lines: list[Line] = field(default_factory=list)
    flow: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """One expected line of an error message."""

    table: str
    phrases: tuple[str, ...]
    column: str | None = None
    rows: list[int] | None = None
    hidden: tuple[str, ...] = ()  # values that must not be shown (identifiers)


@dataclass(frozen=True)
class Case:
    """One bad extract: its name, what is wrong, and how to make it from the valid extract."""

    name: str
    problem: str
    outcome: str  # ERROR, COUNTED or ACCEPTED, as README.md lists it
    corrupt: Callable[[Path], Expect]


# ----------------------------------------------------------------------------- the valid extract


def valid_extract(scale: float = SCALE, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """A tiny synthetic extract in the input contract (canonical dtypes, rows in key order)."""
    from pbr import synthetic
    from pbr.config import synthetic_settings, validate_config

    cfg = validate_config({"synthetic": {"scale": scale, "seed": seed}})
    return synthetic.generate(synthetic.SyntheticParams.from_config(synthetic_settings(cfg))).tables


def _text(v: object, dtype: str) -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return ""
    if dtype == "date":
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    if dtype == "bool":
        return "true" if v else "false"
    return str(v)


def write_csv_extract(tables: dict[str, pd.DataFrame], directory: Path) -> Path:
    """Write each contract table as ``<table>.csv`` (UTF-8, comma-separated, ISO dates, empty = missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, table in TABLES.items():
        df = tables[name]
        columns = [
            (df[c.name].astype(object).where(df[c.name].notna(), None).tolist(), c.dtype)
            for c in table.columns
        ]
        with open(directory / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(table.column_names)
            for i in range(len(df)):
                w.writerow([_text(values[i], dtype) for values, dtype in columns])
    return directory


# ----------------------------------------------------------------------------- editing helpers


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of a CSV file, as text."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> None:
    """Write a CSV file from a header and text rows."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))


def _every(rows: list[list[str]], step: int, start: int = 0, limit: int | None = None) -> list[int]:
    """Indexes start, start + step, ... (at most ``limit``) of rows."""
    return list(range(start, len(rows), step))[:limit]


def _shift_year(text: str, years: int) -> str:
    d = date.fromisoformat(text)
    return d.replace(year=d.year + years, day=min(d.day, 28)).isoformat()


# ----------------------------------------------------------------------------- the cases


def truncated_file(d: Path) -> Expect:
    """pnc_offences.csv cut at 60% of its bytes (a copy that stopped part-way)."""
    path = d / "pnc_offences.csv"
    data = path.read_bytes()
    cut = data[: int(len(data) * 0.6)]
    if cut.endswith(b"\n"):
        cut = cut[:-3]
    path.write_bytes(cut)
    last_row = cut.count(b"\n")  # the header is line 1, so the partial last line is data row <newlines>
    return Expect(ERROR, lines=[Line("pnc_offences", ("truncated", f"row {last_row}"))])


def truncated_in_last_value(d: Path) -> Expect:
    """ons_deaths.csv cut inside its last value (a cause of death 'X42' left as 'X4'): every row
    still has all its values, and 'X4' would pass as a value."""
    path = d / "ons_deaths.csv"
    header, rows = read_rows(path)
    assert header[-1] == "underlying_cause" and len(rows[-1][-1]) >= 2
    path.write_bytes(path.read_bytes()[:-2])  # the line break and the last character
    return Expect(
        ERROR, lines=[Line("ons_deaths", ("does not end with a line break", "truncated", f"row {len(rows)}"))]
    )


def wrong_delimiter(d: Path) -> Expect:
    """ndtms_episodes.csv saved with semicolons (a European spreadsheet locale)."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    buf = io.StringIO()
    csv.writer(buf, delimiter=";", lineterminator="\n").writerows([header, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return Expect(ERROR, lines=[Line("ndtms_episodes", ("not comma-separated", "';'"))])


def windows_1252(d: Path) -> Expect:
    """areas.csv saved as Windows-1252 with an accented area name (Excel's default 'CSV')."""
    path = d / "areas.csv"
    header, rows = read_rows(path)
    i = header.index("area_name")
    rows[6][i] = "Bracknell Forêt"  # data row 7, line 8
    write_rows(path, header, rows, encoding="cp1252")
    return Expect(ERROR, lines=[Line("areas", ("not valid UTF-8", "line 8", "Windows-1252"))])


def utf16(d: Path) -> Expect:
    """ons_deaths.csv saved as UTF-16 ('Unicode text' in Excel)."""
    path = d / "ons_deaths.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    return Expect(ERROR, lines=[Line("ons_deaths", ("UTF-16",))])


def utf8_bom(d: Path) -> Expect:
    """Every file starts with a UTF-8 byte-order mark (Excel's 'CSV UTF-8')."""
    for path in d.glob("*.csv"):
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return Expect(ACCEPTED)


def header_only(d: Path) -> Expect:
    """ndtms_top.csv holds its header and no rows (an export that selected nothing)."""
    path = d / "ndtms_top.csv"
    header, _ = read_rows(path)
    write_rows(path, header, [])
    return Expect(ERROR, lines=[Line("ndtms_top", ("has no data rows",))])


def duplicated_rows(d: Path) -> Expect:
    """Three ndtms_episodes rows appear twice (a query joined to a table with repeated keys)."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    picked = [10, 500, 1200]
    write_rows(path, header, rows + [rows[i] for i in picked])
    n = len(rows)
    expected = sorted([i + 1 for i in picked] + [n + 1, n + 2, n + 3])
    return Expect(
        ERROR,
        lines=[
            Line(
                "ndtms_episodes",
                ("share their key", "3 of them are exact copies"),
                column="episode_id",
                rows=expected,
            )
        ],
    )


def concatenated_exports(d: Path) -> Expect:
    """pnc_offences.csv is two exports joined together: the header appears again mid-file."""
    path = d / "pnc_offences.csv"
    header, rows = read_rows(path)
    half = len(rows) // 2
    write_rows(path, header, [*rows[:half], header, *rows[half:]])
    return Expect(ERROR, lines=[Line("pnc_offences", ("copy of the header row",), rows=[half + 1])])


def shuffled_columns(d: Path) -> Expect:
    """Every table's columns in reverse order and its rows shuffled (allowed by the contract)."""
    for path in d.glob("*.csv"):
        header, rows = read_rows(path)
        order = list(reversed(range(len(header))))
        rows = [[r[i] for i in order] for r in rows]
        rows = rows[1::2] + rows[::2]
        write_rows(path, [header[i] for i in order], rows)
    return Expect(ACCEPTED)


def mixed_date_formats(d: Path) -> Expect:
    """Some ndtms_episodes dates written DD/MM/YYYY (rows re-typed in a spreadsheet)."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    ref, dob = header.index("referral_date"), header.index("date_of_birth")
    bad_ref = _every(rows, 97, 3, 7)
    bad_dob = _every(rows, 401, 8, 2)
    hidden = []
    for i in bad_ref:
        rows[i][ref] = date.fromisoformat(rows[i][ref]).strftime("%d/%m/%Y")
    for i in bad_dob:
        rows[i][dob] = date.fromisoformat(rows[i][dob]).strftime("%d/%m/%Y")
        hidden.append(rows[i][dob])
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line(
                "ndtms_episodes",
                ("YYYY-MM-DD", f"values {rows[bad_ref[0]][ref]!r}"),
                column="referral_date",
                rows=[i + 1 for i in bad_ref],
            ),
            Line(
                "ndtms_episodes",
                ("YYYY-MM-DD",),
                column="date_of_birth",
                rows=[i + 1 for i in bad_dob],
                hidden=tuple(hidden),
            ),
        ],
    )


def later_version_codes(d: Path) -> Expect:
    """Codes from a later data-set version: discharge reason 90, substance 'nps' (new psychoactive substances)."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    reason, sub = header.index("discharge_reason"), header.index("substance_1")
    closed = [i for i, r in enumerate(rows) if r[reason]]
    bad_reason = closed[5:400:60]
    bad_sub = _every(rows, 150, 2, 6)
    for i in bad_reason:
        rows[i][reason] = "90"
    for i in bad_sub:
        rows[i][sub] = "nps"
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line(
                "ndtms_episodes",
                ("not in the code list", "value 90.", "another version of the data set"),
                column="discharge_reason",
                rows=[i + 1 for i in bad_reason],
            ),
            Line(
                "ndtms_episodes",
                ("not in the code list", "value 'nps'."),
                column="substance_1",
                rows=[i + 1 for i in bad_sub],
            ),
        ],
    )


def negative_ages(d: Path) -> Expect:
    """Three episodes whose client is born after the referral (a negative age at referral)."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    ref, dob = header.index("referral_date"), header.index("date_of_birth")
    bad = [20, 700, 1500]
    hidden = []
    for i in bad:
        rows[i][dob] = (date.fromisoformat(rows[i][ref]) + timedelta(days=30)).isoformat()
        hidden.append(rows[i][dob])
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line(
                "ndtms_episodes",
                ("referral_date before date_of_birth", "negative age"),
                column="date_of_birth",
                rows=[i + 1 for i in bad],
                hidden=tuple(hidden),
            )
        ],
    )


def centuries_off(d: Path) -> Expect:
    """Years typed a millennium off: TOP interviews in 1011 for 2011, offence disposals in 2912."""
    top, offences = d / "ndtms_top.csv", d / "pnc_offences.csv"
    header, rows = read_rows(top)
    i_top = header.index("top_date")
    bad_top = _every(rows, 300, 7, 4)
    for i in bad_top:
        rows[i][i_top] = _shift_year(rows[i][i_top], -1000)
    write_rows(top, header, rows)
    header, rows = read_rows(offences)
    i_disp = header.index("disposal_date")
    bad_disp = _every(rows, 1000, 5, 3)
    for i in bad_disp:
        rows[i][i_disp] = _shift_year(rows[i][i_disp], 900)
    write_rows(offences, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line("ndtms_top", ("before 1880-01-01",), column="top_date", rows=[i + 1 for i in bad_top]),
            Line(
                "pnc_offences",
                (f"after today ({TODAY.isoformat()})",),
                column="disposal_date",
                rows=[i + 1 for i in bad_disp],
            ),
        ],
    )


def area_missing_from_lookup(d: Path) -> Expect:
    """One comparison area is missing from areas.csv: its episodes (and their TOP records) are dropped."""
    areas, episodes, top = d / "areas.csv", d / "ndtms_episodes.csv", d / "ndtms_top.csv"
    header, rows = read_rows(areas)
    code, pilot = header.index("area_code"), header.index("pilot")
    gone = next(r[code] for r in rows[10:] if r[pilot] == "false")
    write_rows(areas, header, [r for r in rows if r[code] != gone])
    header, rows = read_rows(episodes)
    dropped = {r[0] for r in rows if r[header.index("area_code")] == gone}
    header, rows = read_rows(top)
    top_dropped = sum(r[header.index("episode_id")] in dropped for r in rows)
    assert dropped and top_dropped
    return Expect(
        COUNTED,
        flow={
            ("ndtms_episodes", "area_code not in areas"): len(dropped),
            ("ndtms_top", "episode dropped (area_code not in areas)"): top_dropped,
        },
    )


def register_without_matches(d: Path) -> Expect:
    """ons_deaths.csv holds other people only: no record shares initials and date of birth with a client."""
    path = d / "ons_deaths.csv"
    header, rows = read_rows(path)
    dob = header.index("date_of_birth")
    for r in rows:
        if r[dob]:
            r[dob] = (date.fromisoformat(r[dob]) - timedelta(days=400)).isoformat()
    write_rows(path, header, rows)
    return Expect(ERROR, lines=[Line("ons_deaths", (f"none of its {len(rows)} records shares initials",))])


def empty_cohort(d: Path) -> Expect:
    """Every alcohol client is 15 at referral: the alcohol cohort is empty once under-18s are excluded."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    sub, ref, dob = (header.index(c) for c in ("substance_1", "referral_date", "date_of_birth"))
    for r in rows:
        if r[sub] == "alcohol":
            r[dob] = _shift_year(r[ref], -15)
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        stage="derive",
        lines=[Line("", ("cohort 'alcohol' has no journey left", "aged under 18", "flow_cohorts"))],
    )


def missing_table(d: Path) -> Expect:
    """A partial extract: ons_deaths.csv was never copied."""
    (d / "ons_deaths.csv").unlink()
    return Expect(ERROR, lines=[Line("ons_deaths", ("file not found", "ons_deaths.parquet"))])


CASES: list[Case] = [
    Case("truncated_file", "file cut part-way through a row", ERROR, truncated_file),
    Case("truncated_in_last_value", "file cut inside its last value", ERROR, truncated_in_last_value),
    Case("wrong_delimiter", "semicolon-separated", ERROR, wrong_delimiter),
    Case("windows_1252", "Windows-1252 encoding", ERROR, windows_1252),
    Case("utf16", "UTF-16 encoding", ERROR, utf16),
    Case("utf8_bom", "UTF-8 byte-order mark", ACCEPTED, utf8_bom),
    Case("header_only", "a table with a header and no rows", ERROR, header_only),
    Case("duplicated_rows", "rows repeated", ERROR, duplicated_rows),
    Case("concatenated_exports", "two exports joined, header repeated", ERROR, concatenated_exports),
    Case("shuffled_columns", "columns and rows in another order", ACCEPTED, shuffled_columns),
    Case("mixed_date_formats", "some dates DD/MM/YYYY", ERROR, mixed_date_formats),
    Case("later_version_codes", "codes from a later data-set version", ERROR, later_version_codes),
    Case("negative_ages", "born after the referral", ERROR, negative_ages),
    Case("centuries_off", "years a millennium off", ERROR, centuries_off),
    Case("area_missing_from_lookup", "an area missing from the lookup", COUNTED, area_missing_from_lookup),
    Case("register_without_matches", "a register with no client in it", ERROR, register_without_matches),
    Case("empty_cohort", "a cohort emptied by the exclusions", ERROR, empty_cohort),
    Case("missing_table", "a table file missing", ERROR, missing_table),
]


def write_corpus(root: Path) -> dict[str, Expect]:
    """Write ``root/valid`` and one directory per case under ``root``; return each case's expectation."""
    valid = write_csv_extract(valid_extract(), root / "valid")
    out = {}
    for case in CASES:
        d = root / case.name
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(valid, d)
        out[case.name] = case.corrupt(d)
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/bad_extracts/corpus.py OUT_DIR")
    for name, expect in write_corpus(Path(sys.argv[1])).items():
        print(f"{name}: {expect.kind}")
