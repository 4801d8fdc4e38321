"""The simulation study's results as the registry's measured sizes, the figures the report
quotes beside each verdict's method (:func:`pbr.registry.methods.measured_sizes`).

For each method of each check the study covers, two rows (:data:`pbr.registry.methods.SIZE_COLUMNS`):

- **pooled**: the rejection rate of a true null pooled over the scenarios where it holds
  (replicate-weighted), with its Monte Carlo SE; for the main model the null tested is the
  scenario's target (rejection = 1 - coverage) in every scenario, for the pre-trend and
  per-pilot tests "no effect" in the scenarios where that is true (``measure == "size"``);
- **worst**: the scenario where it rejects most (the risk to a verdict is a false rejection;
  conservative scenarios show in the docs' tables), with its own rate and SE.

They replace, in the registry's file, the rows of the same method and check (e.g. the single
geometry of ``bench/bench_size.py``); rows of checks the study does not cover stay. The rates
per scenario behind them go to :data:`pbr.registry.methods.STUDY_RATES_CSV` (the report names
the scenarios where no method holds its size from them). Run as

    python -m pbr.simstudy.sizes results/simulation/performance.csv --command "..."

after ``snakemake simulation`` (docs/inference.md gives the command of the committed figures).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from pbr.registry.methods import SIZE_COLUMNS, SIZES_CSV, STUDY_RATE_COLUMNS, STUDY_RATES_CSV, check_sizes
from pbr.report.verdicts import WORST_SCENARIO

#: The study's checks (:data:`pbr.simstudy.methods.CHECKS`, :data:`pbr.simstudy.checks.ROBUSTNESS_CHECKS`)
#: -> the result rows' specification (the registry's ``check``).
CHECK_NAMES = {
    "main": "main",
    "pretrend": "event_study_pretrend",
    "per_pilot": "per_pilot",
    "placebo": "placebo_2011",
    "leave_one_out": "leave_one_out",
    "mason_2015": "mason_2015",
    "donut": "donut",
}


def null_rates(performance: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario x check x method where the tested null is true: ``rate``, ``mc_se``,
    ``replicates`` (main: rejection at the target; others: rejection of no effect where that is the size)."""
    main = performance[performance["check"] == "main"].assign(
        rate=lambda t: t["reject_truth"], mc_se=lambda t: t["reject_truth_mc_se"]
    )
    other = performance[(performance["check"] != "main") & (performance["measure"] == "size")].assign(
        rate=lambda t: t["reject_zero"], mc_se=lambda t: t["reject_zero_mc_se"]
    )
    out = pd.concat([main, other], ignore_index=True)
    out = out[out["replicates"] > 0]
    return out[["scenario", "check", "method", "replicates", "rate", "mc_se"]]


def rate_rows(performance: pd.DataFrame) -> pd.DataFrame:
    """The registry's per-scenario rates (:data:`STUDY_RATE_COLUMNS`): :func:`null_rates` with each
    check named as the result rows' specification (:data:`CHECK_NAMES`)."""
    out = null_rates(performance).assign(check=lambda t: t["check"].map(CHECK_NAMES))
    return out[list(STUDY_RATE_COLUMNS)].sort_values(["check", "method", "scenario"]).reset_index(drop=True)


def size_rows(performance: pd.DataFrame, command: str) -> pd.DataFrame:
    """The registry rows (:data:`SIZE_COLUMNS`) of the study's ``performance`` table
    (:data:`pbr.simstudy.performance.PERFORMANCE_COLUMNS`): pooled, and the scenario rejecting most,
    per method x check."""
    rows = []
    for (check, method), g in null_rates(performance).groupby(["check", "method"], sort=True):
        n = int(g["replicates"].sum())
        pooled = float((g["rate"] * g["replicates"]).sum() / n)
        name = CHECK_NAMES[check]
        what = "coverage: rejection at each scenario's target" if check == "main" else "size"
        rows.append(
            _row(
                method,
                name,
                f"simulation study, pooled over {len(g)} scenarios ({what})",
                n,
                pooled,
                math.sqrt(pooled * (1 - pooled) / n),
                command,
            )
        )
        worst = g.loc[g["rate"].idxmax()]
        rows.append(
            _row(
                method,
                name,
                f"{WORST_SCENARIO}: {worst['scenario']}",
                int(worst["replicates"]),
                float(worst["rate"]),
                float(worst["mc_se"]),
                command,
            )
        )
    return pd.DataFrame(rows, columns=list(SIZE_COLUMNS))


def _row(method: str, check: str, scenario: str, n: int, rate: float, se: float, command: str) -> dict:
    return {
        "method": method,
        "check": check,
        "scenario": scenario,
        "replicates": n,
        "rejection_rate": rate,
        "mc_se": se,
        "command": command,
    }


def merged(sizes: pd.DataFrame, study: pd.DataFrame) -> pd.DataFrame:
    """``sizes`` with its rows of every method x check in ``study`` replaced by ``study``'s."""
    covered = set(zip(study["method"], study["check"], strict=True))
    keep = [(m, c) not in covered for m, c in zip(sizes["method"], sizes["check"], strict=True)]
    out = pd.concat([sizes[keep], study], ignore_index=True)
    return out.sort_values(["check", "method", "scenario"], kind="stable").reset_index(drop=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("performance", help="results/simulation/performance.csv of a `snakemake simulation` run")
    ap.add_argument("--command", required=True, help="the command (and commit) that made the table")
    ap.add_argument("--into", default=str(SIZES_CSV), help="the registry's sizes file to update")
    ap.add_argument(
        "--rates-into", default=str(STUDY_RATES_CSV), help="the registry's per-scenario rates to replace"
    )
    args = ap.parse_args(argv)
    performance = pd.read_csv(args.performance)
    study = size_rows(performance, args.command)
    rates = rate_rows(performance)
    rates.to_csv(args.rates_into, index=False, float_format="%.6g")
    into = Path(args.into)
    base = pd.read_csv(into) if into.exists() else pd.DataFrame(columns=list(SIZE_COLUMNS))
    out = merged(base, study)
    check_sizes(out, into)
    out.to_csv(into, index=False)
    print(f"{into}: {len(study)} rows from the simulation study, {len(out)} in all")
    print(f"{args.rates_into}: {len(rates)} per-scenario rates")


if __name__ == "__main__":
    main()
