"""Reading the extract from a real PostgreSQL server (installed and started by the test).

The contract tables are written with pandas ``to_sql`` into a throwaway server, read
back with ``read_extracts(url=...)`` and compared with the same tables read from CSV.
"""

from __future__ import annotations

import copy
import os
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa
from extract_fixtures import TODAY, valid_tables, write_csv
from pg_server import PostgresServer, PostgresUnavailable

from pbr.contract import TABLES
from pbr.extract.problems import ExtractError
from pbr.extract.tables import read_extracts

SQL_TYPES = {"string": sa.Text, "int": sa.BigInteger, "float": sa.Float, "bool": sa.Boolean, "date": sa.Date}


@pytest.fixture(scope="module")
def pg():
    try:
        server = PostgresServer()
    except PostgresUnavailable as e:
        if os.environ.get("CI"):  # CI can always install it: there, not having it is a failure
            pytest.fail(str(e))
        pytest.skip(str(e))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def typed_frame(name: str, records: list[dict]) -> pd.DataFrame:
    """A contract table as pandas with nullable dtypes (dates stay Python dates for a DATE column)."""
    df = pd.DataFrame(records, columns=TABLES[name].column_names)
    for c in TABLES[name].columns:
        if c.dtype == "string":
            df[c.name] = df[c.name].astype("string")
        elif c.dtype == "int":
            df[c.name] = df[c.name].astype("Int64")
        elif c.dtype == "bool":
            df[c.name] = df[c.name].astype("boolean")
        elif c.dtype == "date":
            df[c.name] = df[c.name].astype(object)
    return df


def load(url: str, tables: dict[str, list[dict]], schema: str | None, sql_types: dict | None = None) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            if schema:
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            for name, records in tables.items():
                types = {c.name: SQL_TYPES[c.dtype] for c in TABLES[name].columns}
                types.update((sql_types or {}).get(name, {}))
                df = typed_frame(name, records)
                df.to_sql(name, conn, schema=schema, if_exists="replace", index=False, dtype=types)
    finally:
        engine.dispose()


def tolerable_extract() -> dict[str, list[dict]]:
    """A valid extract with a few tolerable problems, so the flow tables have non-zero counts."""
    t = valid_tables()
    t["ndtms_episodes"][1]["area_code"] = "Z99"
    t["ndtms_top"][9]["episode_id"] = "E999"
    t["ons_deaths"][0]["area_code"] = "Q01"
    return t


@pytest.mark.postgres
def test_round_trip_equals_directory_read(pg, tmp_path):
    extract = tolerable_extract()
    load(pg.url, extract, schema="ext")
    from_db, flow_db = read_extracts(url=pg.url, db_schema="ext", today=TODAY)
    from_csv, flow_csv = read_extracts(directory=write_csv(tmp_path, extract), today=TODAY)
    for name in TABLES:
        pd.testing.assert_frame_equal(from_db[name], from_csv[name], check_exact=True)
    pd.testing.assert_frame_equal(flow_db, flow_csv)
    assert int(flow_db.loc[flow_db["reason"] == "area_code not in areas", "n"].iloc[0]) == 1


@pytest.mark.postgres
def test_timestamp_columns_and_default_schema(pg, tmp_path):
    """Dates stored as TIMESTAMP (as pandas writes datetime64) and tables in the default schema."""
    extract = valid_tables()
    stamps = {
        name: {c.name: sa.DateTime for c in table.columns if c.dtype == "date"}
        for name, table in TABLES.items()
    }
    load(pg.url, extract, schema=None, sql_types=stamps)
    from_db, _ = read_extracts(url=pg.url, today=TODAY)
    from_csv, _ = read_extracts(directory=write_csv(tmp_path, extract), today=TODAY)
    for name in TABLES:
        pd.testing.assert_frame_equal(from_db[name], from_csv[name])


@pytest.mark.postgres
def test_fatal_errors_name_the_db_table(pg):
    bad = copy.deepcopy(valid_tables())
    bad["ndtms_top"][5]["top_id"] = bad["ndtms_top"][1]["top_id"]  # duplicate key T002
    bad["ons_deaths"][3]["date_of_registration"] = date(2012, 1, 1)  # registered before death
    for r in bad["ndtms_episodes"]:
        r["discharge_reason"] = None if r["discharge_reason"] is None else str(r["discharge_reason"])
    del bad["pnc_offences"]
    load(pg.url, bad, schema="bad", sql_types={"ndtms_episodes": {"discharge_reason": sa.Text}})
    with pytest.raises(ExtractError) as info:
        read_extracts(url=pg.url, db_schema="bad", today=TODAY)
    msg = str(info.value)
    lines = msg.splitlines()
    assert "postgresql+psycopg://postgres@127.0.0.1" in lines[0]
    (reason,) = [ln for ln in lines if "db table bad.ndtms_episodes" in ln]
    assert '"discharge_reason"' in reason and "SQL type TEXT" in reason and "int" in reason
    (dup,) = [ln for ln in lines if "db table bad.ndtms_top" in ln]
    assert '"top_id"' in dup and "2 rows share their key" in dup and "rows 2, 3" in dup  # rows in key order
    (order,) = [ln for ln in lines if "db table bad.ons_deaths" in ln]
    assert "date_of_registration before date_of_death" in order and "row 4" in order
    (missing,) = [ln for ln in lines if "db table bad.pnc_offences" in ln]
    assert "does not exist" in missing


@pytest.mark.postgres
def test_synthetic_extract_round_trip(pg, tmp_path):
    """A small synthetic extract (the default source) reads the same from CSV and from PostgreSQL."""
    from pbr.synthetic import generator, params

    tables = generator.generate(params.SyntheticParams(scale=0.005, seed=1)).tables
    records = {}
    for name in TABLES:
        df = tables[name].copy()
        for col in df.columns:
            if pd.api.types.is_datetime64_any_dtype(df[col]):
                df[col] = df[col].dt.date  # dates, as the contract has them (no time of day)
        records[name] = df.astype(object).where(df.notna(), None).to_dict("records")
    load(pg.url, records, schema="syn")
    from_db, flow_db = read_extracts(url=pg.url, db_schema="syn")
    from_csv, flow_csv = read_extracts(directory=write_csv(tmp_path, records))
    for name in TABLES:
        pd.testing.assert_frame_equal(from_db[name], from_csv[name])
    pd.testing.assert_frame_equal(flow_db, flow_csv)


def test_sqlite_round_trip(tmp_path):
    """The same reader on SQLite (no server needed): dates come back through SQLAlchemy's DATE type."""
    extract = tolerable_extract()
    url = f"sqlite:///{tmp_path / 'extract.db'}"
    load(url, extract, schema=None)
    from_db, flow_db = read_extracts(url=url, today=TODAY)
    from_csv, flow_csv = read_extracts(directory=write_csv(tmp_path / "csv", extract), today=TODAY)
    for name in TABLES:
        pd.testing.assert_frame_equal(from_db[name], from_csv[name])
    pd.testing.assert_frame_equal(flow_db, flow_csv)


def test_unreachable_database_is_a_clear_error():
    with pytest.raises(ExtractError) as info:
        read_extracts(url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    msg = str(info.value)
    assert "Cannot read the database" in msg and "127.0.0.1:1" in msg


def test_a_password_in_the_url_is_refused_without_showing_it():
    with pytest.raises(ExtractError) as info:
        read_extracts(url="postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    msg = str(info.value)
    assert "holds a password" in msg and "~/.pgpass" in msg and "secret" not in msg


@pytest.mark.postgres
def test_the_fingerprint_of_a_postgres_table_sees_an_edited_row(pg):
    """PostgreSQL computes the row checksum itself (sum of the rows' MD5 digests)."""
    from pbr import source

    load(pg.url, valid_tables(), schema="fp")
    first = source.database_fingerprint(pg.url, "fp")
    assert first["tables"]["areas"]["checksum"].startswith("pg-md5-sum:")
    assert source.database_fingerprint(pg.url, "fp") == first
    engine = sa.create_engine(pg.url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE fp.areas SET area_name = area_name || 'x' "
                "WHERE area_code = (SELECT min(area_code) FROM fp.areas)"
            )
        )
    engine.dispose()
    second = source.database_fingerprint(pg.url, "fp")
    assert second["tables"]["areas"]["rows"] == first["tables"]["areas"]["rows"]
    assert second["tables"]["areas"]["checksum"] != first["tables"]["areas"]["checksum"]
    assert {t: second["tables"][t] for t in TABLES if t != "areas"} == {
        t: first["tables"][t] for t in TABLES if t != "areas"
    }


def test_invalid_database_url():
    with pytest.raises(ExtractError, match="not a valid SQLAlchemy URL"):
        read_extracts(url="not a url")
