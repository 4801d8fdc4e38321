"""environment.yml (conda), pyproject.toml (pip) and requirements.lock (every installed package)
pin the same versions, and the environment running the tests is the lock's."""

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
    return {_name(d): d.replace(" ", "") for d in pip if not d.startswith("-")}


def test_conda_installs_the_lock():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.lock" in pip


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


LOCK = ROOT / "requirements.lock"
#: installed by the set-up itself, not resolved into the lock
NOT_LOCKED = {"pbr", "pip", "setuptools", "wheel"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock_pins() -> dict[str, tuple[str, str | None]]:
    """requirements.lock: package -> (version, environment marker or None)."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        hit = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)\s*(?:;\s*(.+))?$", line)
        if hit:
            pins[_norm(hit[1])] = (hit[2], hit[3])
    return pins


def _project_pins() -> dict[str, str]:
    """pyproject.toml's exact pins, the dev and cluster extras included: package -> version."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [
        *project["dependencies"],
        *(r for extra in project["optional-dependencies"].values() for r in extra),
    ]
    return {_norm(_name(r)): r.split("==")[1].split()[0] for r in (r.split("#")[0].strip() for r in reqs)}


def test_lock_pins_every_dependency_at_its_pyproject_version():
    lock = _lock_pins()
    assert len(lock) > 100, f"requirements.lock pins only {len(lock)} packages"
    wrong = {
        p: (v, lock.get(p, ("missing",))[0]) for p, v in _project_pins().items() if lock.get(p, ("",))[0] != v
    }
    assert not wrong, f"pyproject.toml pin vs requirements.lock: {wrong}; run `make lock`"


def test_environment_yml_pins_agree_with_the_lock():
    lock = _lock_pins()
    conda = {_norm(p): pin.split("==")[1] for p, pin in _conda_pins().items()}
    assert {p: v for p, v in conda.items() if lock.get(p, ("",))[0] != v} == {}


def test_installed_packages_are_the_locked_ones():
    """The environment running the tests (make install, CI) is the lock's, no more and no less."""
    from importlib import metadata

    from packaging.markers import Marker

    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions()}
    lock = _lock_pins()
    wanted = {p: v for p, (v, marker) in lock.items() if marker is None or Marker(marker).evaluate()}
    wrong = {p: (v, installed.get(p, "missing")) for p, v in wanted.items() if installed.get(p) != v}
    extra = sorted(set(installed) - set(lock) - NOT_LOCKED)
    fix = "rebuild the environment from the lock: rm -rf .venv && make install"
    assert not wrong, f"locked vs installed versions: {wrong}; {fix}"
    assert not extra, f"installed but not in requirements.lock: {extra}; {fix}"


#: runtime dependencies that no script of the pipeline imports, and why each is pinned
NOT_IMPORTED = {
    "snakemake": "runs the workflow",
    "psycopg": "the PostgreSQL driver SQLAlchemy loads for a data.real.url of postgresql+psycopg://",
    "pygments": "snakemake --report's HTML reporter imports it, and snakemake does not declare it",
}


def _imported() -> set[str]:
    from pbr.dependencies import imported_distributions

    scripts = sorted(p for p in (ROOT / "scripts").glob("*.py") if not p.name.startswith("_"))
    return {_norm(d) for d in imported_distributions(scripts, ROOT / "src")}


def test_every_runtime_dependency_is_imported_by_the_pipeline_or_says_why():
    """No package is pinned that nothing imports (issue 22): each runtime dependency is imported
    by a workflow script or the modules it uses, or is listed in NOT_IMPORTED with its reason."""
    declared = {_norm(_name(d)) for d in _pyproject_pins()}
    unused = declared - _imported() - set(NOT_IMPORTED)
    assert not unused, f"pinned but never imported by the pipeline: {sorted(unused)}"
    assert not set(NOT_IMPORTED) & _imported(), "NOT_IMPORTED lists a package the code now imports"


def test_every_package_the_pipeline_imports_is_a_declared_dependency():
    declared = {_norm(_name(d)) for d in _pyproject_pins()}
    undeclared = _imported() - declared
    assert not undeclared, (
        f"imported by the pipeline but not in pyproject's dependencies: {sorted(undeclared)}"
    )


def test_the_reports_package_table_lists_what_the_pipeline_imports():
    from pbr.report.render import package_versions

    versions = package_versions()
    names = {_norm(n) for n in versions}
    assert {"pandas", "splink", "matplotlib", "jinja2", "snakemake"} <= names
    assert {"pytest", "hypothesis", "ruff"}.isdisjoint(
        names
    )  # installed, but the pipeline never imports them
    assert names - {"snakemake", "python"} == _imported()
    assert all(v != "not installed" for v in versions.values()), versions
