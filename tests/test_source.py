"""The real-data source: checked before any job runs, fingerprinted, and never a credential recorded."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from workflow_utils import copy_workflow, planned_jobs, run_snakemake

from pbr import source
from pbr.config import public_config, validate_config

KEY = "pbr-test-key-5c1f9e0b7d2a4e38"
TABLES = source.TABLE_NAMES


@pytest.fixture(scope="module")
def extract_dir(tmp_path_factory) -> Path:
    """A tiny valid CSV extract (a few thousand episodes)."""
    from bad_extracts.corpus import valid_extract, write_csv_extract

    return write_csv_extract(valid_extract(), tmp_path_factory.mktemp("secure") / "extract")


def _edit_keeping_size_and_date(f: Path) -> None:
    """Another digit in the first data row (same size), then the file dated a thousand seconds older."""
    st = f.stat()
    lines = f.read_text().split("\n")
    row = lines[1]
    i = max(k for k, ch in enumerate(row) if ch.isdigit())
    lines[1] = row[:i] + str((int(row[i]) + 1) % 10) + row[i + 1 :]
    f.write_text("\n".join(lines))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns - 10**12))
    assert f.stat().st_size == st.st_size


# ---------------------------------------------------------------------------------------
# Unit: directories, files, fingerprints


def test_a_missing_directory_a_file_and_missing_tables_are_named(tmp_path, extract_dir):
    with pytest.raises(source.SourceError, match="does not exist"):
        source.check_directory(tmp_path / "nowhere", "auto")
    (tmp_path / "f.csv").write_text("x\n")
    with pytest.raises(source.SourceError, match="is a file, not a directory"):
        source.check_directory(tmp_path / "f.csv", "auto")
    d = shutil.copytree(extract_dir, tmp_path / "e")
    (d / "ons_deaths.csv").unlink()
    with pytest.raises(
        source.SourceError, match=r"ons_deaths.csv: file not found: expected ons_deaths.csv or"
    ):
        source.check_directory(d, "auto")
    with pytest.raises(source.SourceError, match=r"expected ons_deaths.parquet in"):
        source.check_directory(d, "parquet")


def test_both_formats_present_names_the_config_key(tmp_path, extract_dir):
    d = shutil.copytree(extract_dir, tmp_path / "e")
    shutil.copy(d / "areas.csv", d / "areas.parquet")
    with pytest.raises(source.SourceError, match=r"both areas.csv and areas.parquet exist.*data.real.format"):
        source.check_directory(d, "auto")
    assert set(source.check_directory(d, "csv")) == set(TABLES)


def test_an_older_dated_copy_with_other_content_changes_the_fingerprint(tmp_path, extract_dir):
    d = shutil.copytree(extract_dir, tmp_path / "e")
    cache = tmp_path / "cache.json"
    files = source.check_directory(d, "csv")
    first = source.files_fingerprint(files, cache)
    assert source.files_fingerprint(files, cache) == first  # from the cache, same answer
    _edit_keeping_size_and_date(d / "ndtms_top.csv")
    second = source.files_fingerprint(files, cache)
    assert second["ndtms_top"]["sha256"] != first["ndtms_top"]["sha256"]
    assert second["ndtms_top"]["bytes"] == first["ndtms_top"]["bytes"]
    assert {t: second[t] for t in TABLES if t != "ndtms_top"} == {
        t: first[t] for t in TABLES if t != "ndtms_top"
    }


def test_a_changed_source_during_the_run_stops_validation(tmp_path, extract_dir):
    src = {"kind": "files", "directory": str(extract_dir), "format": "csv"}
    read = source.read_fingerprint(src)
    source.check_unchanged(read, read)
    other = {**read, "tables": {**read["tables"], "areas": {**read["tables"]["areas"], "sha256": "0" * 64}}}
    with pytest.raises(source.SourceError, match=r"changed after this run started \(table\(s\) areas\)"):
        source.check_unchanged(read, other)


# ---------------------------------------------------------------------------------------
# Unit: databases and credentials


def _sqlite_db(path: Path, extract_dir: Path) -> str:
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


def test_a_database_fingerprint_sees_an_edited_row_and_a_missing_table(tmp_path, extract_dir):
    url = _sqlite_db(tmp_path / "x.db", extract_dir)
    first = source.database_fingerprint(url, None)
    assert first["tables"]["areas"]["rows"] > 100
    assert source.database_fingerprint(url, None) == first
    con = sqlite3.connect(tmp_path / "x.db")
    con.execute("UPDATE areas SET area_name = area_name || ' ' WHERE rowid = 1")
    con.commit()
    second = source.database_fingerprint(url, None)
    assert second["tables"]["areas"]["rows"] == first["tables"]["areas"]["rows"]
    assert second["tables"]["areas"]["checksum"] != first["tables"]["areas"]["checksum"]
    con.execute("DROP TABLE pnc_offences")
    con.commit()
    con.close()
    with pytest.raises(source.SourceError, match=r"table.s. pnc_offences not found"):
        source.database_fingerprint(url, None)


def test_a_password_in_the_url_is_refused_and_never_shown():
    url = "postgresql+psycopg://analyst:s3cr3t-pw@dbhost/pbr"
    with pytest.raises(source.SourceError) as e:
        source.check_url(url)
    assert (
        "s3cr3t-pw" not in str(e.value)
        and "~/.pgpass" in str(e.value)
        and source.PASSWORD_ENV in str(e.value)
    )
    assert "s3cr3t-pw" not in source.public_url(url)
    cfg = validate_config({"data": {"source": "real", "real": {"url": url}}})
    assert "s3cr3t-pw" not in repr(public_config(cfg))


def test_the_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(source.PASSWORD_ENV, "from-env")
    assert source.connect_url("postgresql+psycopg://analyst@dbhost/pbr").password == "from-env"


def test_an_unreachable_database_says_what_to_check():
    pytest.importorskip("psycopg")
    with pytest.raises(
        source.SourceError, match=r"cannot reach the database at .*127.0.0.1:9.*server is running"
    ):
        source.database_fingerprint("postgresql+psycopg://analyst@127.0.0.1:9/pbr", None)


# ---------------------------------------------------------------------------------------
# Workflow: every check before any job runs, also where old results exist


def _real_yaml(work: Path, real: str) -> None:
    (work / "real.yaml").write_text(
        f"data:\n  source: real\n  real:\n{real}models:\n  outcomes: [successful_completion]\n"
    )


def _dry(work: Path, env: dict | None = None, *args: str):
    return run_snakemake(work, *args, "-n", "--configfile", "real.yaml", check=False, env=env)


@pytest.mark.slow
def test_real_mode_problems_stop_before_any_job_even_over_old_results(tiny_run, tmp_path, extract_dir):
    """A clone holding synthetic results, switched to real data: each problem stops the run with one
    message (printed once) and exit 1, before any job runs, and the old report is not touched."""
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)
    report = work / "results" / "report" / "report.html"
    before = report.stat().st_mtime_ns
    (tmp_path / "afile").write_text("")
    sqlite3.connect(tmp_path / "empty.db").close()
    incomplete = shutil.copytree(extract_dir, tmp_path / "incomplete")
    (incomplete / "pnc_offences.csv").unlink()
    cases = {
        "missing directory": (
            f"    directory: {tmp_path / 'nowhere'}\n",
            {"PBR_LINK_KEY": KEY},
            "does not exist",
        ),
        "a file": (
            f"    directory: {tmp_path / 'afile'}\n",
            {"PBR_LINK_KEY": KEY},
            "is a file, not a directory",
        ),
        "missing table": (
            f"    directory: {incomplete}\n",
            {"PBR_LINK_KEY": KEY},
            "pnc_offences.csv: file not found",
        ),
        "weak key": (f"    directory: {extract_dir}\n", {"PBR_LINK_KEY": " "}, "too weak"),
        "unreachable database": (
            "    url: postgresql+psycopg://analyst@127.0.0.1:9/pbr\n",
            {"PBR_LINK_KEY": KEY},
            "cannot reach the database at postgresql+psycopg://analyst@127.0.0.1:9/pbr",
        ),
        "database without the tables": (
            f"    url: sqlite:///{tmp_path / 'empty.db'}\n",
            {"PBR_LINK_KEY": KEY},
            "table(s) areas, ndtms_episodes, ndtms_top, ons_deaths, pnc_offences not found",
        ),
        "password": (
            "    url: postgresql+psycopg://analyst:pw-9f8e7d@dbhost/pbr\n",
            {"PBR_LINK_KEY": KEY},
            "~/.pgpass",
        ),
    }
    for name, (real, env, expected) in cases.items():
        _real_yaml(work, real)
        for args in ((), ("--cores", "1")):  # a dry run and a real run
            proc = (
                _dry(work, env, *args)
                if args == ()
                else run_snakemake(work, "--configfile", "real.yaml", *args, check=False, env=env)
            )
            assert proc.returncode == 1, (name, proc.output[-2000:])
            assert proc.output.count(expected) == 1, (name, proc.output[-2000:])
            assert "Traceback" not in proc.output and "rule " not in proc.output.split(expected)[0], name
            assert "pw-9f8e7d" not in proc.output
    # no key at all
    _real_yaml(work, f"    directory: {extract_dir}\n")
    proc = run_snakemake(
        work, "--configfile", "real.yaml", "--cores", "1", check=False, env={"PBR_LINK_KEY": None}
    )
    assert proc.returncode == 1 and proc.output.count("PBR_LINK_KEY, which is not set") == 1, proc.output[
        -2000:
    ]
    assert report.stat().st_mtime_ns == before
    assert not list((work / ".snakemake" / "metadata").glob("*")) or all(
        "pw-9f8e7d" not in p.read_text(errors="ignore") for p in (work / ".snakemake" / "metadata").glob("*")
    )


@pytest.mark.slow
def test_an_extract_replaced_by_an_older_dated_copy_reruns_validation(tmp_path, extract_dir):
    """Validation only (the 'extract' target): unchanged data plans nothing; a file replaced by a copy
    with other content and an older date, or a database row edited, plans validation again."""
    work = copy_workflow(tmp_path / "w")
    secure = shutil.copytree(extract_dir, tmp_path / "secure")
    env = {"PBR_LINK_KEY": KEY}
    _real_yaml(work, f"    directory: {secure}\n    format: csv\n")
    run_snakemake(work, "extract", "--cores", "1", "--configfile", "real.yaml", env=env)
    fp = (work / "results" / "extract" / "source.json").read_text()
    assert str(secure / "areas.csv") in fp and "sha256" in fp
    assert planned_jobs(_dry(work, env, "extract").output) == {}
    _edit_keeping_size_and_date(secure / "ndtms_top.csv")
    assert planned_jobs(_dry(work, env, "extract").output) == {"validate_extracts": 1, "extract": 1}
    # the same through a database
    url = _sqlite_db(tmp_path / "x.db", extract_dir)
    _real_yaml(work, f"    url: {url}\n")
    run_snakemake(work, "extract", "--cores", "1", "--configfile", "real.yaml", env=env)
    assert planned_jobs(_dry(work, env, "extract").output) == {}
    con = sqlite3.connect(tmp_path / "x.db")
    con.execute("UPDATE areas SET area_name = area_name || 'x' WHERE rowid = 2")
    con.commit()
    con.close()
    assert planned_jobs(_dry(work, env, "extract").output) == {"validate_extracts": 1, "extract": 1}
