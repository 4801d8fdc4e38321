"""The real-data source in the workflow: every check before any job runs, also where old
results exist, and a replaced extract re-runs validation."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from extract_fixtures import sqlite_db
from workflow_utils import TEST_KEY, copy_workflow, edit_keeping_size_and_date, planned_jobs, run_snakemake

KEY = TEST_KEY


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
    edit_keeping_size_and_date(secure / "ndtms_top.csv")
    assert planned_jobs(_dry(work, env, "extract").output) == {"validate_extracts": 1, "extract": 1}
    # the same through a database
    url = sqlite_db(tmp_path / "x.db", extract_dir)
    _real_yaml(work, f"    url: {url}\n")
    run_snakemake(work, "extract", "--cores", "1", "--configfile", "real.yaml", env=env)
    assert planned_jobs(_dry(work, env, "extract").output) == {}
    con = sqlite3.connect(tmp_path / "x.db")
    con.execute("UPDATE areas SET area_name = area_name || 'x' WHERE rowid = 2")
    con.commit()
    con.close()
    assert planned_jobs(_dry(work, env, "extract").output) == {"validate_extracts": 1, "extract": 1}
