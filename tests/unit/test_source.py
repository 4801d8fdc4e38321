"""The real-data source: checked before any job runs, fingerprinted, and never a credential recorded."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from extract_fixtures import sqlite_db
from workflow_utils import TEST_KEY, edit_keeping_size_and_date

from pbr import source
from pbr.config import public_config, validate_config

KEY = TEST_KEY
TABLES = source.TABLE_NAMES


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
    edit_keeping_size_and_date(d / "ndtms_top.csv")
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


def test_a_database_fingerprint_sees_an_edited_row_and_a_missing_table(tmp_path, extract_dir):
    url = sqlite_db(tmp_path / "x.db", extract_dir)
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
