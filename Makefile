# The two set-up commands (see README.md):
#   make report   install into .venv if needed, run the whole pipeline on the default
#                 synthetic data, leave results/report/report.html
#   make test     install into .venv if needed, lint, run the test suite (all three tiers)
#   make report-small   the whole pipeline at 5% of the paper's size (config/small.yaml)
# Tiers: make test-fast (tests/unit: the library, no workflow run, under 2 minutes),
#        make test-workflow (tests/workflow: tiny runs of the workflow),
#        make test-system (tests/system: SLURM cluster, PostgreSQL, browser, reproducibility)
# Everything else is plain snakemake: .venv/bin/snakemake --help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP_VERSION := 26.3
UV_VERSION := 0.13.9

.PHONY: report report-small test test-fast test-workflow test-system test-cluster lint install lock clean

# every package at the version requirements.lock pins (`make lock` rewrites it from pyproject.toml)
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet pip==$(PIP_VERSION)
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# re-resolve requirements.lock after a change of pyproject.toml's pins (uv in its own venv;
# versions already in the lock are kept where the pins allow)
lock:
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet uv==$(UV_VERSION)
	.venv-lock/bin/uv pip compile pyproject.toml --extra dev --extra cluster --universal \
		--python-version 3.11 -o requirements.lock

install: $(VENV)/.installed

report: $(VENV)/.installed
	$(BIN)/snakemake
	@echo "Report: results/report/report.html"

# the small run (config/small.yaml): every section at 5% of the paper's size, results/small
report-small: $(VENV)/.installed
	$(BIN)/snakemake --configfile config/small.yaml
	@echo "Report: results/small/report/report.html"

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1 >/dev/null
	$(BIN)/mypy

# the unit tier on all cores; the workflow and system tiers on two workers, one test module per
# worker at a time (--dist loadfile; the workers share one tiny run, tests/conftest.py). Their
# time goes mostly to waiting on Snakemake subprocesses and the SLURM queue, so two overlap well.
# The system tier first: its slowest module (the SLURM cluster) should not start last.
test: lint
	$(BIN)/python -m pytest -n auto tests/unit
	$(BIN)/python -m pytest -n 2 --dist loadfile --durations=25 tests/system tests/workflow

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
