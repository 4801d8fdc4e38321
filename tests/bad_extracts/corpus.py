"""A corpus of bad extracts: each case is a valid extract with one thing wrong, and its outcome.

The valid extract is a tiny synthetic one (:func:`valid_extract`) written as CSV files in
the input contract (:func:`write_csv_extract`), as an analyst would place them. Each
:class:`Case` corrupts a copy of it in place and returns what the user must get
(:class:`Expect`): a clear error (the file, the column, how many rows, example rows), a
counted exclusion (its reason and exact count in the flow table), or the same tables as
the valid extract. The cases and their outcomes are listed in ``README.md`` beside this
file; ``tests/unit/test_bad_extracts.py`` checks every one.

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
NORMALISED = "accepted, cleaned and counted"  # read as the valid extract; what was cleaned is counted
WARNED = "warning"  # the run goes on; a warning in the log and a flagged row in the flow table


@dataclass(frozen=True)
class Expect:
    """What the user gets from a case.

    ``kind`` is ERROR, COUNTED, ACCEPTED, NORMALISED or WARNED. ``stage`` is where it shows:
    ``extract`` (reading and validating the extract), ``link`` (linking persons to the
    registers) or ``derive`` (building journeys and cohorts, with the study settings
    ``study`` over the defaults). For an error, one message line per entry of ``lines``:
    each names ``table``'s file and holds every phrase given; ``rows`` (if given) are the
    exact data rows the line must count and list; no line holds a phrase of ``absent``. For
    a counted exclusion, and for what a normalised case cleaned, ``flow`` maps (table, the
    start of a reason) to the exact count of dropped or flagged rows in the flow table (None:
    any count, the row must be there). ``warnings``: lines the log must hold (same form as
    ``lines``, each naming the file). ``check``: more checks, of a derive case's journeys and
    flow, or of an extract case's validated tables and flow.
    """

    kind: str
    stage: str = "extract"
    lines: list[Line] = field(default_factory=list)
    flow: dict[tuple[str, str], int | None] = field(default_factory=dict)
    warnings: list[Line] = field(default_factory=list)
    absent: tuple[str, ...] = ()
    study: dict = field(default_factory=dict)
    check: Callable[[object, pd.DataFrame], None] | None = None  # (journeys or tables, flow)


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
    outcome: str  # ERROR, COUNTED, ACCEPTED, NORMALISED or WARNED, as README.md lists it
    corrupt: Callable[[Path], Expect]


# ----------------------------------------------------------------------------- the valid extract


def valid_extract(scale: float = SCALE, seed: int = SEED) -> dict[str, pd.DataFrame]:
    """A tiny synthetic extract in the input contract (canonical dtypes, rows in key order)."""
    from pbr.config import synthetic_settings, validate_config
    from pbr.synthetic import generator, params

    cfg = validate_config({"synthetic": {"scale": scale, "seed": seed}})
    return generator.generate(params.SyntheticParams.from_config(synthetic_settings(cfg))).tables


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
        warnings=[Line("ndtms_episodes", (f"codes {gone!r}", "dropped"), column="area_code")],
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


# ----------------------------------------------------------------------------- identifiers and codes

POST_START = date(2012, 4, 1)  # the default study.post_start


def placeholder_dates_of_birth(d: Path) -> Expect:
    """Every eighth episode has the placeholder date of birth 1900-01-01 (a few 1800-01-01, before
    1880): without the check they are clients aged 101-114, and clients sharing initials and sex
    become one person."""
    path, top = d / "ndtms_episodes.csv", d / "ndtms_top.csv"
    header, rows = read_rows(path)
    dob = header.index("date_of_birth")
    bad = _every(rows, 8)
    for k, i in enumerate(bad):
        rows[i][dob] = "1800-01-01" if k % 20 == 0 else "1900-01-01"
    write_rows(path, header, rows)
    gone = {rows[i][0] for i in bad}
    top_header, top_rows = read_rows(top)
    n_top = sum(r[top_header.index("episode_id")] in gone for r in top_rows)
    return Expect(
        COUNTED,
        flow={
            ("ndtms_episodes", "date_of_birth a placeholder"): len(bad),
            ("ndtms_top", "episode dropped (date_of_birth a placeholder or implausible)"): n_top,
        },
        warnings=[
            Line(
                "ndtms_episodes",
                ("episodes dropped", "placeholder"),
                column="date_of_birth",
                rows=[i + 1 for i in bad],
            )
        ],
    )


def implausible_ages(d: Path) -> Expect:
    """Seven clients would be 105 at referral (a date of birth a century off)."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    dob, ref = header.index("date_of_birth"), header.index("referral_date")
    bad = _every(rows, 230, 11, 7)
    for i in bad:
        rows[i][dob] = _shift_year(rows[i][ref], -105)
    write_rows(path, header, rows)
    return Expect(
        COUNTED,
        flow={("ndtms_episodes", "aged over 100 at referral"): len(bad)},
        warnings=[
            Line("ndtms_episodes", ("aged over 100",), column="date_of_birth", rows=[i + 1 for i in bad])
        ],
    )


def register_placeholder_dates_of_birth(d: Path) -> Expect:
    """ONS records with the placeholder date of birth 1900-01-01, PNC offenders 104 at the offence:
    those records cannot be linked (their date of birth is read as missing), counted."""
    deaths, offences = d / "ons_deaths.csv", d / "pnc_offences.csv"
    header, rows_d = read_rows(deaths)
    dob = header.index("date_of_birth")
    bad_d = [i for i in _every(rows_d, 20, 3) if rows_d[i][dob]]
    for i in bad_d:
        rows_d[i][dob] = "1900-01-01"
    write_rows(deaths, header, rows_d)
    header, rows = read_rows(offences)
    dob, off = header.index("date_of_birth"), header.index("offence_date")
    bad_o = _every(rows, 700, 5)
    for i in bad_o:
        rows[i][dob] = _shift_year(rows[i][off], -104)
    write_rows(offences, header, rows)
    d_ids = [rows_d[i][0] for i in bad_d]
    o_ids = [rows[i][0] for i in bad_o]

    def check(tables: dict[str, pd.DataFrame], flow: pd.DataFrame) -> None:
        for name, ids in (("ons_deaths", d_ids), ("pnc_offences", o_ids)):
            df = tables[name].set_index(TABLES[name].key[0])
            assert df.loc[ids, "date_of_birth"].isna().all(), name  # not linkable

    return Expect(
        COUNTED,
        check=check,
        flow={
            ("ons_deaths", "date_of_birth a placeholder or an age over 100"): len(bad_d),
            ("pnc_offences", "date_of_birth a placeholder or an age over 100"): len(bad_o),
        },
        warnings=[
            Line("ons_deaths", ("cannot be linked",), column="date_of_birth", rows=[i + 1 for i in bad_d]),
            Line("pnc_offences", ("cannot be linked",), column="date_of_birth", rows=[i + 1 for i in bad_o]),
        ],
    )


def date_of_birth_heaping(d: Path) -> Expect:
    """A placeholder not in the list: 30 clients with different initials share 1970-01-01."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    dob, first, sur = (header.index(c) for c in ("date_of_birth", "initial_first", "initial_surname"))
    seen, bad = set(), []
    for i, r in enumerate(rows):
        if r[first] and r[sur] and (r[first], r[sur]) not in seen and len(bad) < 30:
            seen.add((r[first], r[sur]))
            bad.append(i)
    for i in bad:
        rows[i][dob] = "1970-01-01"
    write_rows(path, header, rows)
    return Expect(
        COUNTED,
        flow={("ndtms_episodes", "date_of_birth shared by far more people than chance"): len(bad)},
        warnings=[
            Line(
                "ndtms_episodes",
                ("share 1 date of birth", "linkage.placeholder_dates_of_birth"),
                column="date_of_birth",
                rows=[i + 1 for i in bad],
                hidden=("1970-01-01",),
            )
        ],
    )


def initials_not_letters(d: Path) -> Expect:
    """Initials '?', '1', '-' and a whole first name ('John') in NDTMS: read as missing and counted
    (the episodes then have no complete attributor and are dropped, counted, when persons are built)."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    first, sur = header.index("initial_first"), header.index("initial_surname")
    bad_first = _every(rows, 150, 4, 9)
    bad_sur = _every(rows, 211, 7, 5)
    for k, i in enumerate(bad_first):
        rows[i][first] = ["?", "1", "-", "John"][k % 4]
    for i in bad_sur:
        rows[i][sur] = "Smith"
    write_rows(path, header, rows)
    both = sorted(set(bad_first) | set(bad_sur))
    ids = {
        c: [rows[i][0] for i in bad]
        for c, bad in (("initial_first", bad_first), ("initial_surname", bad_sur))
    }

    def check(tables: dict[str, pd.DataFrame], flow: pd.DataFrame) -> None:
        ep = tables["ndtms_episodes"].set_index("episode_id")
        for c, rows_ in ids.items():
            assert ep.loc[rows_, c].isna().all(), c  # read as missing: no attributor, no person

    return Expect(
        COUNTED,
        check=check,
        flow={("ndtms_episodes", "initial not one letter A-Z"): len(both)},
        warnings=[
            Line(
                "ndtms_episodes",
                ("not one letter A-Z", "read as missing"),
                column="initial_first",
                rows=[i + 1 for i in bad_first],
                hidden=("John",),
            ),
            Line(
                "ndtms_episodes",
                ("not one letter A-Z",),
                column="initial_surname",
                rows=[i + 1 for i in bad_sur],
                hidden=("Smith",),
            ),
        ],
    )


def initials_mostly_names(d: Path) -> Expect:
    """initial_first holds whole first names (a query that exported the name, not its initial)."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    first = header.index("initial_first")
    bad = [i for i, r in enumerate(rows) if r[first]]
    for i in bad:
        rows[i][first] += "ohnny"
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line(
                "ndtms_episodes",
                ("not one letter A-Z", "more than half", "not whole names"),
                column="initial_first",
                rows=[i + 1 for i in bad],
                hidden=("ohnny",),
            )
        ],
    )


def initials_all_missing(d: Path) -> Expect:
    """Both NDTMS initials columns are empty: the message names them, not the registers."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    for c in ("initial_first", "initial_surname"):
        i = header.index(c)
        for r in rows:
            r[i] = ""
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line(
                "ndtms_episodes",
                (
                    'columns "initial_first" and "initial_surname"',
                    "both initials columns are empty",
                    f"all {len(rows)} rows",
                ),
            )
        ],
        absent=("shares initials and date of birth", "ons_deaths.csv", "pnc_offences.csv"),
    )


def null_tokens(d: Path) -> Expect:
    """'NULL', 'N/A', 'None', 'NA' and 'nan' where the valid extract is empty (a database export that
    wrote its NULLs as text), in text, code and date columns: read as missing, counted."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    tokens = ["NULL", "N/A", "None", "NA", "nan", " NULL ", "#N/A"]
    touched: set[int] = set()
    for col in ("sub_area", "route", "triage_date", "substance_3", "employment"):
        j = header.index(col)
        empty = [i for i, r in enumerate(rows) if not r[j]][:12]
        for k, i in enumerate(empty):
            rows[i][j] = tokens[k % len(tokens)]
        touched |= set(empty)
    write_rows(path, header, rows)
    deaths = d / "ons_deaths.csv"
    header, drows = read_rows(deaths)
    j = header.index("area_code")
    d_empty = [i for i, r in enumerate(drows) if not r[j]]
    for i in d_empty:
        drows[i][j] = "NULL"
    write_rows(deaths, header, drows)
    return Expect(
        NORMALISED,
        flow={
            ("ndtms_episodes", "value written as a null token"): len(touched),
            ("ons_deaths", "value written as a null token"): len(d_empty),
        },
        warnings=[Line("ndtms_episodes", ("null token", "read as missing", "'NULL'"), column="sub_area")],
    )


def null_token_in_required_column(d: Path) -> Expect:
    """'NULL' where a value is required (the primary substance): the error says it was written 'NULL'."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    j = header.index("substance_1")
    bad = _every(rows, 400, 9)
    for i in bad:
        rows[i][j] = "NULL"
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line(
                "ndtms_episodes",
                ("have no value", f"{len(bad)} of them hold a null token"),
                column="substance_1",
                rows=[i + 1 for i in bad],
            )
        ],
    )


def intervention_after_discharge(d: Path) -> Expect:
    """Triage dates and first-intervention dates after the episode's discharge."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    tri, first, dis = (header.index(c) for c in ("triage_date", "first_intervention_date", "discharge_date"))
    closed = [i for i, r in enumerate(rows) if r[dis] and r[tri] and r[first]]
    bad_tri, bad_first = closed[3:300:60], closed[10:500:70]
    bad_tri = [i for i in bad_tri if i not in bad_first]
    for i in bad_tri:
        rows[i][tri] = (date.fromisoformat(rows[i][dis]) + timedelta(days=10)).isoformat()
    for i in bad_first:
        rows[i][first] = (date.fromisoformat(rows[i][dis]) + timedelta(days=5)).isoformat()
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line(
                "ndtms_episodes",
                ("discharge_date before triage_date",),
                column="triage_date",
                rows=[i + 1 for i in bad_tri],
            ),
            Line(
                "ndtms_episodes",
                ("discharge_date before first_intervention_date",),
                column="first_intervention_date",
                rows=[i + 1 for i in bad_first],
            ),
        ],
    )


def sub_area_spelling(d: Path) -> Expect:
    """ndtms_episodes spells Kent's sub-areas 'West Kent' and 'East-Kent'; the lookup says 'west_kent'."""
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    j = header.index("sub_area")
    changed = [i for i, r in enumerate(rows) if r[j]]
    for i in changed:
        rows[i][j] = {"west_kent": "West Kent", "east_kent": "East-Kent"}[rows[i][j]]
    write_rows(path, header, rows)
    return Expect(
        NORMALISED,
        flow={("ndtms_episodes", "sub_area in another spelling"): len(changed)},
        warnings=[
            Line(
                "ndtms_episodes",
                ("another spelling", "'West Kent'"),
                column="sub_area",
                rows=[i + 1 for i in changed],
            )
        ],
    )


def pilot_sub_area_null_token(d: Path) -> Expect:
    """'NULL' in pilot_sub_area of every area that did not pilot in part (148 areas)."""
    path = d / "areas.csv"
    header, rows = read_rows(path)
    j = header.index("pilot_sub_area")
    nulls = [i for i, r in enumerate(rows) if not r[j]]
    for i in nulls:
        rows[i][j] = "NULL"
    write_rows(path, header, rows)
    return Expect(
        NORMALISED,
        flow={("areas", "value written as a null token"): len(nulls)},
        warnings=[Line("areas", ("null token",), column="pilot_sub_area", rows=[i + 1 for i in nulls])],
    )


def pilot_sub_area_unmatched(d: Path) -> Expect:
    """The lookup names Kent's pilot sub-area 'north_kent', which no episode records: with a rule that
    splits the area the study stops, naming both spellings (the whole-area rule would not need it)."""
    path = d / "areas.csv"
    header, rows = read_rows(path)
    j = header.index("pilot_sub_area")
    (kent,) = [i for i, r in enumerate(rows) if r[j]]
    rows[kent][j] = "north_kent"
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        stage="derive",
        study={"partial_pilot_rule": "sub_area_pilot_rest_other"},
        lines=[Line("", ("'north_kent'", "'west_kent'", "'east_kent'", "study.partial_pilot_rule"))],
        warnings=[Line("areas", ("'north_kent'", "none of its"), column="pilot_sub_area")],
    )


def partial_pilot_rest_other(d: Path) -> Expect:
    """No change to the files: the rule sub_area_pilot_rest_other keeps the rest of Kent as a
    comparison area (it used to be excluded, as under sub_area_pilot_rest_excluded)."""
    header, rows = read_rows(d / "areas.csv")
    (kent,) = [r[0] for r in rows if r[header.index("pilot_sub_area")]]

    def check(j: pd.DataFrame, flow: pd.DataFrame) -> None:
        rest = j[j["analysis_area"] == f"{kent}:rest"]
        assert len(rest) and not rest["partial_rest"].any() and (rest["group"] == "other").all()
        in_windows = rest[(rest["period"] != "outside") & (rest["age_at_start"] >= 18)]
        assert len(in_windows) and in_windows["exclusion"].isna().all()
        excluded = flow.loc[flow["reason"] == "in the excluded part of a partially piloted area", "n"]
        assert excluded.sum() == 0

    return Expect(
        ACCEPTED, stage="derive", study={"partial_pilot_rule": "sub_area_pilot_rest_other"}, check=check
    )


def area_code_trailing_space(d: Path) -> Expect:
    """A pilot area's code written 'E0142 ' (a trailing space) in every one of its episodes."""
    areas, path = d / "areas.csv", d / "ndtms_episodes.csv"
    header, rows = read_rows(areas)
    code = [r[0] for r in rows if r[header.index("pilot")] == "true"][-1]
    header, rows = read_rows(path)
    j = header.index("area_code")
    spaced = [i for i, r in enumerate(rows) if r[j] == code]
    for i in spaced:
        rows[i][j] = code + " "
    write_rows(path, header, rows)
    return Expect(
        NORMALISED,
        flow={("ndtms_episodes", "value with surrounding spaces"): len(spaced)},
        warnings=[
            Line(
                "ndtms_episodes",
                ("surrounding spaces, removed", f"{code + ' '!r}"),
                column="area_code",
                rows=[i + 1 for i in spaced],
            )
        ],
    )


# ----------------------------------------------------------------------------- the design and linkage


def _keep_episodes(d: Path, keep: Callable[[dict[str, str]], bool]) -> None:
    path = d / "ndtms_episodes.csv"
    header, rows = read_rows(path)
    write_rows(path, header, [r for r in rows if keep(dict(zip(header, r, strict=True)))])


def pre_period_only(d: Path) -> Expect:
    """An extract that ends before the pilots started: no episode referred on or after 2012-04-01."""
    _keep_episodes(d, lambda r: date.fromisoformat(r["referral_date"]) < POST_START)
    return Expect(
        ERROR,
        stage="derive",
        lines=[
            Line("", ("no journey starts in the post period (2012-04-01 to 2014-03-31)", "study.post_start"))
        ],
    )


def post_period_only(d: Path) -> Expect:
    """An extract that starts when the pilots started: no episode referred before 2012-04-01."""
    _keep_episodes(d, lambda r: date.fromisoformat(r["referral_date"]) >= POST_START)
    return Expect(
        ERROR,
        stage="derive",
        lines=[
            Line("", ("no journey starts in the pre period (2010-04-01 to 2012-03-31)", "study.pre_start"))
        ],
    )


def no_pilot_journeys(d: Path) -> Expect:
    """The pilot areas are in the lookup but none of their episodes is in the extract."""
    header, rows = read_rows(d / "areas.csv")
    pilots = {r[0] for r in rows if r[header.index("pilot")] == "true"}
    _keep_episodes(d, lambda r: r["area_code"] not in pilots)
    return Expect(
        ERROR, stage="derive", lines=[Line("", ("no journey in the study windows is in a pilot area",))]
    )


def register_sharing_few_clients(d: Path) -> Expect:
    """ons_deaths shares initials and date of birth with only two clients (the rest are other
    people): it can be linked, but far fewer persons link than any plausible mortality implies."""
    episodes, path = d / "ndtms_episodes.csv", d / "ons_deaths.csv"
    header, rows = read_rows(episodes)
    keys = {
        (
            r[header.index("initial_first")],
            r[header.index("initial_surname")],
            r[header.index("date_of_birth")],
        )
        for r in rows
    }
    header, rows = read_rows(path)
    f, s_, dob = (header.index(c) for c in ("forename", "surname", "date_of_birth"))
    shared = [i for i, r in enumerate(rows) if (r[f][:1].upper(), r[s_][:1].upper(), r[dob]) in keys]
    for i, r in enumerate(rows):
        if r[dob] and i not in shared[:2]:
            r[dob] = (date.fromisoformat(r[dob]) - timedelta(days=400)).isoformat()
    write_rows(path, header, rows)
    return Expect(
        WARNED,
        stage="link",
        flow={("ons_deaths", "link rate far below expected: deaths all"): None},
        warnings=[
            Line("", ("link rate far below", "deaths all", "NDTMS persons linked", "linkage.min_link_rate")),
            Line("", ("link rate far below", "deaths all", "NDTMS study journeys linked")),
        ],
    )


# ----------------------------------------------------------------------------- files


def field_over_csv_limit(d: Path) -> Expect:
    """A value of a million characters in ons_deaths (legal CSV, over Python's csv field limit of
    131,072): the problem named is the value, not a quote never closed."""
    path = d / "ons_deaths.csv"
    header, rows = read_rows(path)
    rows[41][header.index("sex")] = "M" * 1_000_000
    write_rows(path, header, rows)
    return Expect(
        ERROR,
        lines=[
            Line("ons_deaths", ("not in the code list", "(1,000,000 characters)"), column="sex", rows=[42])
        ],
        absent=("quote is never closed", "M" * 100),
    )


def utf16_without_bom(d: Path) -> Expect:
    """ons_deaths.csv in UTF-16 without a byte-order mark (little-endian)."""
    path = d / "ons_deaths.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16-le"))
    return Expect(ERROR, lines=[Line("ons_deaths", ("UTF-16LE", "without a byte-order mark", "iconv"))])


def nul_byte(d: Path) -> Expect:
    """One NUL byte in the middle of pnc_offences.csv (a damaged copy)."""
    path = d / "pnc_offences.csv"
    lines = path.read_bytes().split(b"\n")
    lines[99] = lines[99][:5] + b"\x00" + lines[99][5:]
    path.write_bytes(b"\n".join(lines))
    return Expect(ERROR, lines=[Line("pnc_offences", ("1 NUL byte", "on line 100"))])


def parquet_key_as_index(d: Path) -> Expect:
    """ndtms_top as Parquet written by pandas with its key top_id as the index (not a column)."""
    from pbr.extract.tables import read_extracts

    tables, _ = read_extracts(directory=d, today=TODAY)
    (d / "ndtms_top.csv").unlink()
    tables["ndtms_top"].set_index("top_id").to_parquet(d / "ndtms_top.parquet")
    return Expect(ACCEPTED)


def excel_trailing_commas(d: Path) -> Expect:
    """areas.csv saved from a spreadsheet with two empty columns: every line ends with ',,'."""
    path = d / "areas.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text("".join(line + ",,\n" for line in text.splitlines()), encoding="utf-8")
    return Expect(ACCEPTED, warnings=[Line("areas", ("2 empty column names", "trailing commas", "ignored"))])


def csv_and_parquet_both(d: Path) -> Expect:
    """areas is there twice, as areas.csv and areas.parquet."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    pq.write_table(pacsv.read_csv(d / "areas.csv"), d / "areas.parquet")
    return Expect(ERROR, lines=[Line("areas", ("both areas.csv and areas.parquet", "data.real.format"))])


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
    Case(
        "placeholder_dates_of_birth",
        "dates of birth 1900-01-01 / 1800-01-01",
        COUNTED,
        placeholder_dates_of_birth,
    ),
    Case("implausible_ages", "clients aged 105 at referral", COUNTED, implausible_ages),
    Case(
        "register_placeholder_dates_of_birth",
        "register dates of birth a placeholder or over 100",
        COUNTED,
        register_placeholder_dates_of_birth,
    ),
    Case("date_of_birth_heaping", "one date of birth shared by 30 clients", COUNTED, date_of_birth_heaping),
    Case("initials_not_letters", "initials '?', '1', '-', 'John'", COUNTED, initials_not_letters),
    Case("initials_mostly_names", "whole names in an initials column", ERROR, initials_mostly_names),
    Case("initials_all_missing", "both initials columns empty", ERROR, initials_all_missing),
    Case("null_tokens", "'NULL', 'N/A', 'None' written for empty values", NORMALISED, null_tokens),
    Case(
        "null_token_in_required_column", "'NULL' in a required column", ERROR, null_token_in_required_column
    ),
    Case(
        "intervention_after_discharge",
        "triage, intervention after discharge",
        ERROR,
        intervention_after_discharge,
    ),
    Case("sub_area_spelling", "sub-areas 'West Kent' vs 'west_kent'", NORMALISED, sub_area_spelling),
    Case("pilot_sub_area_null_token", "'NULL' in pilot_sub_area", NORMALISED, pilot_sub_area_null_token),
    Case("pilot_sub_area_unmatched", "a pilot sub-area no episode records", ERROR, pilot_sub_area_unmatched),
    Case("partial_pilot_rest_other", "rule sub_area_pilot_rest_other", ACCEPTED, partial_pilot_rest_other),
    Case("area_code_trailing_space", "an area code 'E0142 '", NORMALISED, area_code_trailing_space),
    Case("pre_period_only", "no journey in the post period", ERROR, pre_period_only),
    Case("post_period_only", "no journey in the pre period", ERROR, post_period_only),
    Case("no_pilot_journeys", "no journey in a pilot area", ERROR, no_pilot_journeys),
    Case(
        "register_sharing_few_clients", "a register sharing few clients", WARNED, register_sharing_few_clients
    ),
    Case("field_over_csv_limit", "a value of a million characters", ERROR, field_over_csv_limit),
    Case("utf16_without_bom", "UTF-16 without a byte-order mark", ERROR, utf16_without_bom),
    Case("nul_byte", "one NUL byte", ERROR, nul_byte),
    Case("parquet_key_as_index", "Parquet key saved as the pandas index", ACCEPTED, parquet_key_as_index),
    Case("excel_trailing_commas", "empty columns from trailing commas", ACCEPTED, excel_trailing_commas),
    Case("csv_and_parquet_both", "a table as both CSV and Parquet", ERROR, csv_and_parquet_both),
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
