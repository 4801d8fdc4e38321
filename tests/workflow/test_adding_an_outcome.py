"""docs/adding-an-outcome.md is true: its three code blocks, applied as written to a copy of
the finished tiny run, add an outcome that its own test passes, that the config accepts,
that the pipeline derives, fits and reports, and that re-runs nothing upstream of the
outcomes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from workflow_utils import TINY, UPSTREAM_OF_OUTCOMES, planned_jobs, run_snakemake

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "adding-an-outcome.md"


def doc_blocks() -> dict[str, str]:
    """The doc's code blocks by their tag (```python registry / function / test)."""
    blocks = dict(re.findall(r"```python (\w+)\n(.*?)```", DOC.read_text(), flags=re.S))
    assert set(blocks) == {"registry", "function", "test"}, sorted(blocks)
    return blocks


def add_outcome(work: Path, blocks: dict[str, str]) -> None:
    """Apply the registry entry and the function to the copy, as the doc says."""
    registry = work / "src" / "pbr" / "registry" / "outcomes.py"
    text = registry.read_text()
    start = text.index("OUTCOMES: tuple[Outcome, ...] = (")
    end = text.index("\n)\n", start)  # the tuple's closing parenthesis
    entry = "".join(f"    {line}\n" if line else "\n" for line in blocks["registry"].rstrip("\n").split("\n"))
    registry.write_text(text[:end] + "\n" + entry.rstrip("\n") + "," + text[end:])
    derive = work / "src" / "pbr" / "derive" / "outcomes.py"
    derive.write_text(derive.read_text() + "\n\n" + blocks["function"])


def test_the_doc_names_the_files_its_blocks_go_to():
    """...and its registry block is one entry (a formatter once turned it into a tuple)."""
    assert doc_blocks()["registry"].startswith("Outcome(\n")
    text = DOC.read_text()
    for path in ("src/pbr/registry/outcomes.py", "src/pbr/derive/outcomes.py"):
        assert (ROOT / path).exists() and path in text


@pytest.mark.slow
def test_the_walkthrough_adds_an_outcome_end_to_end(tiny_run, tmp_path):
    blocks = doc_blocks()
    name = re.search(r'Outcome\(\s*"(\w+)"', blocks["registry"]).group(1)
    label = re.search(r'Outcome\(\s*"\w+",\s*"([^"]+)"', blocks["registry"]).group(1)
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)
    add_outcome(work, blocks)

    # its own test passes against the edited library
    test_name = re.search(r"def (test_\w+)\(", blocks["test"]).group(1)
    env = os.environ | {"PYTHONPATH": str(work / "src")}
    code = blocks["test"] + f"\n{test_name}()\n"
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=work)

    # listed under models.outcomes, it plans derive onwards and nothing upstream
    (work / "extra.yaml").write_text(f"models:\n  outcomes: [successful_completion, {name}]\n")
    plan = planned_jobs(run_snakemake(work, *TINY, "extra.yaml", "-n").output)
    assert plan.get("derive_outcomes") == 2 and plan.get("render_report") == 1, plan
    assert not UPSTREAM_OF_OUTCOMES & set(plan), plan

    run_snakemake(work, *TINY, "extra.yaml", "--cores", "2")
    analysis = pd.read_parquet(work / "results" / "derive" / "analysis_drug.parquet")
    assert analysis[name].notna().all() and set(analysis[name].unique()) <= {0, 1}
    results = pd.read_parquet(work / "results" / "fit" / "did_results.parquet")
    rows = results[results["outcome"] == name]
    assert set(rows["method"]) >= {"logit_crv1", "lpm_crv1"}, rows
    assert set(rows["status"]) <= {"ok", "caveat", "not_estimable"}
    report = (work / "results" / "report" / "report.html").read_text()
    assert label in report and "The journey has no discharge on days 0–180" in report
