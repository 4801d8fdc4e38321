"""Hand-made valid extracts (one list of records per table) and writers, shared by the tests
of extraction, its properties and the database source."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pbr.contract import TABLES

TODAY = date(2024, 6, 30)


D = date.fromisoformat


def valid_tables() -> dict[str, list[dict]]:
    """A small consistent extract: every table as a list of records of Python values (None: empty)."""
    areas = [
        {
            "area_code": f"A{i:02d}",
            "area_name": f"Area {i}",
            "region": ["North West", "London", None][i % 3],
            "pilot": i in (1, 4),
            "pilot_sub_area": "west_kent" if i == 4 else None,
        }
        for i in range(1, 11)
    ]
    substances = ["heroin", "crack", "cannabis", "alcohol", "cocaine"]
    episodes = []
    for i in range(1, 11):
        closed = i % 3 != 0
        episodes.append(
            {
                "episode_id": f"E{i:03d}",
                "client_id": f"C{i:03d}",
                "agency_id": f"AG{i % 4}",
                "area_code": f"A{(i % 10) + 1:02d}",
                "sub_area": "west_kent" if i == 3 else None,
                "initial_first": "ABCDEFGHIJ"[i - 1],
                "initial_surname": "KLMNOPQRST"[i - 1],
                "date_of_birth": date(1970 + i, i, 10 + i),
                "sex": "MF"[i % 2],
                "referral_date": date(2011, i, 1),
                "triage_date": date(2011, i, 8),
                "first_offered_date": date(2011, i, 15) if i != 5 else None,
                "first_intervention_date": date(2011, i, 20) if i != 5 else None,
                "discharge_date": date(2012, i, 1) if closed else None,
                "discharge_reason": [80, 85, 81, 83, 89, 82, 86, 88, 84, 87][i - 1] if closed else None,
                "substance_1": substances[i % 5],
                "substance_2": substances[(i + 1) % 5] if i % 2 else None,
                "substance_3": None,
                "route": ["inject", "smoke", None, "oral", "sniff"][i % 5],
                "injecting_status": ["current", "previous", "never", "declined", None][i % 5],
                "referral_source": ["self", "gp", "criminal_justice", "health_social", "other"][i % 5],
                "previously_treated": [True, False, None][i % 3],
                "accommodation_need": i % 2 == 0,
                "employment": ["employed", "unemployed", "other", None][i % 4],
            }
        )
    top = []
    for i in range(1, 11):
        ep = episodes[(i - 1) // 2]
        rec = {
            "top_id": f"T{i:03d}",
            "episode_id": ep["episode_id"],
            "top_date": date(ep["referral_date"].year, ep["referral_date"].month, 25 if i % 2 else 28),
            "top_stage": "start" if i % 2 else "review",
        }
        for c in TABLES["ndtms_top"].columns[4:]:
            if c.dtype == "bool":
                rec[c.name] = [True, False, None][i % 3]
            else:
                rec[c.name] = None if (i + len(c.name)) % 7 == 0 else (i * len(c.name)) % (int(c.maximum) + 1)
        top.append(rec)
    deaths = [
        {
            "death_id": f"D{i:03d}",
            "forename": f"Name{i}",
            "surname": f"Surname{i}",
            "date_of_birth": date(1960 + i, 1, i) if i != 7 else None,
            "sex": "MF"[i % 2] if i != 2 else None,
            "area_code": f"A{i:02d}" if i != 9 else None,
            "date_of_death": date(2013, i, 5),
            "date_of_registration": date(2013, i, 12),
            "underlying_cause": ["X42", "F112", "I21", "C34"][i % 4],
        }
        for i in range(1, 11)
    ]
    offences = [
        {
            "offence_id": f"O{i:03d}",
            "pnc_id": f"P{(i + 1) // 2:03d}",
            "forename": f"Name{i}",
            "surname": f"Surname{i}",
            "date_of_birth": date(1975, i, 1),
            "sex": "MF"[i % 2],
            "area_code": f"A{i:02d}",
            "offence_date": date(2012, i, 3),
            "disposal_date": date(2012, i, 20),
            "offence_group": ["theft_shoplifting", "burglary", "violence", "drugs_possession"][i % 4],
            "disposal": ["caution", "conviction"][i % 2],
        }
        for i in range(1, 11)
    ]
    # each register holds one record of the client of episode E010 (initials J T, born 1980-10-20),
    # as a register with no client in it cannot be linked
    for register in (deaths, offences):
        register[9].update(forename="Jack", surname="Turner", date_of_birth=date(1980, 10, 20))
    return {
        "areas": areas,
        "ndtms_episodes": episodes,
        "ndtms_top": top,
        "ons_deaths": deaths,
        "pnc_offences": offences,
    }


def as_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def write_csv(directory: Path, tables: dict[str, list[dict]], bom: bool = False, crlf: bool = False) -> Path:
    """Write each table as <name>.csv; records may carry extra keys or miss keys (bad inputs).

    Lines end with LF, or CRLF with ``crlf`` (then values holding a lone CR are quoted too).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name, records in tables.items():
        columns = list(dict.fromkeys(k for r in records for k in r)) or TABLES[name].column_names
        with open(directory / f"{name}.csv", "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
            w = csv.writer(fh, lineterminator="\r\n" if crlf else "\n")
            w.writerow(columns)
            for r in records:
                w.writerow([as_text(r.get(c)) for c in columns])
    return directory


ARROW_TYPES = {
    "string": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
}


def arrow_table(name: str, records: list[dict]) -> pa.Table:
    """A contract table as Arrow with the natural physical types."""
    cols = TABLES[name].columns
    return pa.table({c.name: pa.array([r[c.name] for r in records], type=ARROW_TYPES[c.dtype]) for c in cols})


def write_parquet(directory: Path, tables: dict[str, list[dict]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, records in tables.items():
        pq.write_table(arrow_table(name, records), directory / f"{name}.parquet")
    return directory


def sqlite_db(path: Path, extract_dir: Path) -> str:
    """The CSV extract as typed tables in an SQLite database (dates as DATE, and so on)."""
    import pandas as pd
    import sqlalchemy as sa

    from pbr.contract import TABLES as CONTRACT

    sql = {"string": sa.Text, "int": sa.BigInteger, "float": sa.Float, "bool": sa.Boolean, "date": sa.Date}
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for t in TABLES:
            df = pd.read_csv(extract_dir / f"{t}.csv", dtype=str, keep_default_na=False).replace("", None)
            for c in CONTRACT[t].columns:
                if c.dtype == "date":
                    df[c.name] = pd.to_datetime(df[c.name]).dt.date
                elif c.dtype == "int":
                    df[c.name] = pd.to_numeric(df[c.name]).astype("Int64")
                elif c.dtype == "float":
                    df[c.name] = pd.to_numeric(df[c.name])
                elif c.dtype == "bool":
                    df[c.name] = df[c.name].map({"true": True, "false": False}).astype("boolean")
            types = {c.name: sql[c.dtype] for c in CONTRACT[t].columns}
            df.to_sql(t, conn, index=False, dtype=types)
    engine.dispose()
    return url
