# The two set-up commands (see README.md):
#   make report   install into .venv if needed, run the whole pipeline on the default
#                 synthetic data, leave results/report/report.html
#   make test     install into .venv if needed, lint, run the test suite (all three tiers)
# Tiers: make test-fast (tests/unit: the library, no workflow run, under 2 minutes),
#        make test-workflow (tests/workflow: tiny runs of the workflow),
#        make test-system (tests/system: SLURM cluster, PostgreSQL, browser, reproducibility)
# Everything else is plain snakemake: .venv/bin/snakemake --help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: report test test-fast test-workflow test-system test-cluster lint install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,cluster]"
	touch $@

install: $(VENV)/.installed

report: $(VENV)/.installed
	$(BIN)/snakemake
	@echo "Report: results/report/report.html"

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1 >/dev/null
	$(BIN)/mypy

# the unit tier on all cores; the workflow and system tiers in one process (one shared tiny run)
test: lint
	$(BIN)/python -m pytest -n auto tests/unit
	$(BIN)/python -m pytest --durations=25 tests/workflow tests/system

test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -n auto tests/unit

test-workflow: $(VENV)/.installed
	$(BIN)/python -m pytest tests/workflow

test-system: $(VENV)/.installed
	$(BIN)/python -m pytest tests/system

# only the cluster and reproducibility suites (a local SLURM cluster, several tiny runs)
test-cluster: $(VENV)/.installed
	$(BIN)/python -m pytest -m "cluster or reproducibility"

clean:
	rm -rf results .snakemake
