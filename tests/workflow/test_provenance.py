"""Trusting the cache: a change of code, setting or data re-runs exactly what it affects.

- Code: each rule's library inputs are derived from its script's imports
  (pbr.dependencies), checked against the standard library's modulefinder, and editing any
  library module plans exactly the rules whose scripts import it and their downstream jobs
  (Snakemake's own --forcerun of those rules is the reference).
- Settings: each rule receives only the settings it reads.
- Targets and result directories: named stage targets, one results directory per study,
  nested numbers on the command line.
"""

from __future__ import annotations

import modulefinder
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from workflow_utils import ROOT, TINY, copy_workflow, planned_jobs, run_snakemake

from pbr.dependencies import code_inputs

SCRIPTS = sorted(p for p in (ROOT / "scripts").glob("*.py") if not p.name.startswith("_"))
MODULES = sorted((ROOT / "src" / "pbr").rglob("*.py"))


def _modulefinder_pbr_files(script: Path) -> set[Path]:
    """The package files the standard library's modulefinder sees a script import (bytecode scan,
    nested functions included), with only this checkout on its path."""
    finder = modulefinder.ModuleFinder(path=[str(ROOT / "src"), str(ROOT / "scripts")])
    finder.run_script(str(script))
    files = {Path(m.__file__).resolve() for name, m in finder.modules.items() if m.__file__}
    return {f for f in files if f.is_relative_to(ROOT / "src" / "pbr") or f.parent == ROOT / "scripts"} - {
        script.resolve()
    }


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_code_inputs_are_what_modulefinder_finds(script, monkeypatch):
    monkeypatch.chdir(ROOT)
    derived = {(ROOT / p).resolve() for p in code_inputs(script, ROOT / "src")}
    assert derived == _modulefinder_pbr_files(script)
    assert ROOT / "scripts" / "_bootstrap.py" in derived


def test_code_inputs_follow_relative_imports_and_functions(tmp_path):
    """A relative import inside a function and a sub-package's __init__ are followed."""
    pkg = tmp_path / "src" / "pbr"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "leaf.py").write_text("X = 1\n")
    (pkg / "a.py").write_text("def f():\n    from .sub import leaf\n    return leaf.X\n")
    (pkg / "unused.py").write_text("")
    script = tmp_path / "scripts" / "s.py"
    script.parent.mkdir()
    script.write_text("import numpy\nfrom pbr.a import f\n")
    found = {Path(p).resolve().relative_to(tmp_path) for p in code_inputs(script, tmp_path / "src")}
    names = {str(p) for p in found}
    assert names == {"src/pbr/__init__.py", "src/pbr/a.py", "src/pbr/sub/__init__.py", "src/pbr/sub/leaf.py"}


def test_every_rule_declares_the_code_of_its_own_script():
    """code=code("x") and script: ../../scripts/x.py name the same script, in every rule."""
    checked = 0
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"(?m)^rule ", smk.read_text())[1:]:
            script = re.search(r'scripts/(\w+)\.py"', block)
            if script is None:
                continue
            code = re.search(r'code=code\("(\w+)"\)', block)
            assert code is not None, f"{smk.name}: rule {block.split(':')[0]} declares no code input"
            assert code.group(1) == script.group(1), f"{smk.name}: rule {block.split(':')[0]}"
            checked += 1
    # one rule per script (scripts/_*.py are helpers): none left without its rule
    assert checked == len([p for p in (ROOT / "scripts").glob("*.py") if not p.name.startswith("_")]) == 28
    assert "lib(" not in (ROOT / "workflow" / "rules" / "common.smk").read_text()


def _rules_of_script(work: Path) -> dict[str, str]:
    """Rule name -> script stem, read from the rule modules of ``work``."""
    out = {}
    for smk in (work / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"(?m)^rule ", smk.read_text())[1:]:
            script = re.search(r'scripts/(\w+)\.py"', block)
            if script:
                out[block.split(":")[0].strip()] = script.group(1)
    return out


def _edit_plans(
    work: Path, modules: list[Path], imports: dict[str, set[Path]]
) -> list[tuple[Path, frozenset, dict, dict]]:
    """(module, its importers in the default target's DAG, the dry-run plan after editing it, the
    plan of --forcerun of those importers) for each of ``modules``, one after the other in the copy ``work``."""
    reference: dict[frozenset, dict] = {}
    out = []
    for module in modules:
        importers = frozenset(r for r, files in imports.items() if module.resolve() in files)
        path = work / module.relative_to(ROOT)
        original, st = path.read_bytes(), path.stat()
        path.write_bytes(original + b"\n# edited\n")
        try:
            plan = planned_jobs(run_snakemake(work, *TINY, "-n").output)
        finally:
            path.write_bytes(original)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        if importers not in reference:
            forced = ["--forcerun", *sorted(importers)] if importers else []
            reference[importers] = planned_jobs(run_snakemake(work, *TINY, "-n", *forced).output)
        out.append((module, importers, plan, reference[importers]))
    return out


@pytest.mark.slow
def test_editing_each_library_module_reruns_exactly_the_rules_that_import_it(tiny_run, tmp_path):
    """For every module of src/pbr: edit it, and the dry run plans exactly what Snakemake plans
    when told to re-run the rules whose scripts import it (modulefinder's view), nothing else.
    The modules are split over two copies of the run, dry-run side by side (one per core)."""
    copies = [tmp_path / f"w{i}" for i in range(2)]
    for work in copies:
        shutil.copytree(tiny_run, work, symlinks=True)
    rules = _rules_of_script(copies[0])
    # rules outside the default target's DAG (the simulation study): --forcerun would add them
    in_dag = set(planned_jobs(run_snakemake(copies[0], *TINY, "-n", "--forceall").output))
    imports = {
        rule: _modulefinder_pbr_files(ROOT / "scripts" / f"{s}.py")
        for rule, s in rules.items()
        if rule in in_dag
    }
    assert {"sim_truth", "sim_chunk", "sim_summary"} <= set(rules) - in_dag
    with ThreadPoolExecutor(max_workers=len(copies)) as pool:
        halves = pool.map(
            lambda i: _edit_plans(copies[i], MODULES[i :: len(copies)], imports), range(len(copies))
        )
        results = [r for half in halves for r in half]
    assert len(results) == len(MODULES)
    for module, importers, plan, reference in results:
        assert plan == reference, f"{module.relative_to(ROOT)}: imported by {sorted(importers)}"
    assert planned_jobs(run_snakemake(copies[0], *TINY, "-n").output) == {}
    # the estimator's module reaches every fit rule; a module no script imports re-runs nothing
    fit_rules = {"fit_did", "fit_linkage_sensitivity", "infer_few_cluster", "fit_robustness"}
    design = frozenset(
        r for r, f in imports.items() if (ROOT / "src" / "pbr" / "fit" / "design.py").resolve() in f
    )
    assert fit_rules <= design


def _plan_after_config(tiny_run, tmp_path, extra: str) -> dict[str, int]:
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)
    (work / "extra.yaml").write_text(extra)  # merged key by key over the tiny config
    return planned_jobs(run_snakemake(work, *TINY, "extra.yaml", "-n").output)


@pytest.mark.slow
def test_the_linkage_threshold_retrains_nothing(tiny_run, tmp_path):
    plan = _plan_after_config(tiny_run, tmp_path, "linkage:\n  threshold: 0.6\n")
    assert "train_linkage" not in plan and "link_records" not in plan
    assert plan["predict_links"] == 2 and plan["derive_outcomes"] == 2 and plan["render_report"] == 1


@pytest.mark.slow
def test_the_recall_sensitivity_retrains_nothing(tiny_run, tmp_path):
    """Another assumed recall is an equivalent threshold on the trained model: no linkage re-runs."""
    plan = _plan_after_config(tiny_run, tmp_path, "linkage:\n  recall_sensitivity: [0.7]\n")
    assert not {"train_linkage", "link_records", "predict_links"} & set(plan)
    assert plan["derive_outcomes"] == 2 and plan["fit_linkage_sensitivity"] == 4


@pytest.mark.slow
def test_the_model_engine_reruns_the_fits_that_use_it_only(tiny_run, tmp_path):
    plan = _plan_after_config(tiny_run, tmp_path, "models:\n  engine: pyfixest\n")
    assert "infer_few_cluster" not in plan and "derive_outcomes" not in plan
    assert plan["fit_did"] == 8 and plan["fit_robustness"] == 1 and plan["fit_linkage_sensitivity"] == 4


@pytest.mark.slow
def test_a_robustness_list_change_reruns_no_existing_robustness_job(tiny_run, tmp_path):
    """Adding an outcome to the robustness list adds its job; the existing one keeps its result."""
    plan = _plan_after_config(
        tiny_run, tmp_path, "models:\n  robustness:\n    outcomes: [successful_completion, abstinence]\n"
    )
    assert plan["fit_robustness"] == 1 and "fit_did" not in plan


@pytest.mark.slow
def test_another_results_dir_keeps_a_second_study_beside_the_first(tiny_run, tmp_path):
    work = tmp_path / "w"
    shutil.copytree(tiny_run, work, symlinks=True)
    out = run_snakemake(work, *TINY, "-n", "--config", "results_dir=studies/small").output
    plan = planned_jobs(out)
    assert plan["generate_synthetic"] == 1 and plan["render_report"] == 1
    assert "studies/small/report/report.html" in out and " results/report" not in out
    assert planned_jobs(run_snakemake(work, *TINY, "-n").output) == {}  # the first study untouched


def test_nested_numbers_on_the_command_line(tmp_path):
    work = copy_workflow(tmp_path / "w")
    out = run_snakemake(work, "-n", "--config", "synthetic={scale: 0.05, seed: 3}", "--cores", "1").output
    assert "generate_synthetic" in planned_jobs(out)
    bad = run_snakemake(work, "-n", "--config", "synthetic={scale: big}", check=False)
    assert bad.returncode != 0 and "'synthetic.scale': expected number" in bad.output


def test_named_stage_targets_stop_after_their_stage(tmp_path):
    work = copy_workflow(tmp_path / "w")
    plans = {
        t: planned_jobs(run_snakemake(work, "-n", t, "--cores", "1").output) for t in ("extract", "link")
    }
    assert set(plans["extract"]) == {"generate_synthetic", "validate_extracts", "extract"}
    assert (
        "predict_links" in plans["link"]
        and "fit_did" not in plans["link"]
        and "render_report" not in plans["link"]
    )
    for target in ("derive", "fit", "report"):
        assert target in planned_jobs(run_snakemake(work, "-n", target, "--cores", "1").output)
