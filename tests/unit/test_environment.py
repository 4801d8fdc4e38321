"""environment.yml (conda) and pyproject.toml (pip) pin the same versions."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MUST_PIN = {"splink", "duckdb", "pyfixest", "statsmodels", "linearmodels", "pandas", "snakemake"}


def _name(req: str) -> str:
    return re.split(r"[\[=<>!~ ]", req, maxsplit=1)[0].lower()


def _pyproject_pins() -> dict[str, str]:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {_name(d): d.replace(" ", "") for d in deps}


def _conda_pins() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return {_name(d): d.replace(" ", "") for d in pip}


def test_same_packages_same_pins():
    assert _pyproject_pins() == _conda_pins()


def test_numbers_depend_on_exact_pins():
    pins = _pyproject_pins()
    for pkg in MUST_PIN:
        assert pkg in pins, f"{pkg} is not a dependency"
        assert "==" in pins[pkg], f"{pkg} is not pinned exactly: {pins[pkg]}"


def test_python_versions_agree():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_py = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    major_minor = conda_py.split("=")[1]
    assert f">={major_minor}" in requires
