"""Size of the event study's joint pre-trend tests under exactly parallel trends (no effect).

Run:  .venv/bin/python bench/bench_pretrend.py                   (R = 300 replicates)
      .venv/bin/python bench/bench_pretrend.py --replicates 20   (a smoke run)

Data: ``simulate`` of bench/bench_inference.py (a logit DGP with area effects, a common
quarterly trend, area x half-year shocks, two covariates, no pilot effect), 149 areas of
unequal size (log-normal, sd 0.6; the log of population x need of the study's 149 areas
has sd 0.62), with the *pilot geometry*: the 8 treated areas are those whose size ranks
equal the published pilot areas' ranks among the 149 by population x need (1st, 23rd,
27th, 60th, 61st, 89th, 97th and 146th largest: Kent ... Bracknell Forest). Each replicate
fits the half-year event study (reference = the last pre-period half-year, 3 pre-period
terms) with the four methods of ``pbr.fit.event_study.event_study`` and records p <= 0.05:
CRV1 chi2 / F tests and the restricted wild cluster bootstraps (``pbr.fit.joint``).
Prints each method's rejection rate with its Monte Carlo standard error.

Measured (this script with --seed 20120401 / 20130401 / 20140401 and --replicates 300 /
150 / 300; 750 replicates in all): CRV1 logit 0.343, CRV1 LPM 0.335 (MC s.e. 0.017);
logit_score_wcb 0.052 (0.008), lpm_wcb_webb 0.039 (0.007). About 1-2 s per replicate on
one core of an idle machine.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_inference import SMALL_COVS, simulate

from pbr.fit import draws, event_study
from pbr.fit.spec import FitSpec

warnings.filterwarnings("ignore")
logging.getLogger("pbr").setLevel(logging.WARNING)

#: Size ranks (1 = largest) of the 8 published pilot areas among the 149, by population x need
#: (src/pbr/synthetic/data/areas.csv).
PILOT_RANKS = (1, 23, 27, 60, 61, 89, 97, 146)


def pilot_geometry(df: pd.DataFrame) -> pd.DataFrame:
    """``simulate``'s data with the pilots re-assigned to the areas of the pilots' size ranks (null data
    only: area effects and shocks are independent of the label, so any assignment is a valid null)."""
    counts = df["area_code"].value_counts()
    ranked = counts.sort_values(ascending=False, kind="mergesort").index
    pilots = {ranked[r - 1] for r in PILOT_RANKS}
    pilot = df["area_code"].isin(pilots).to_numpy()
    post = df["post"].to_numpy().astype(bool)
    return df.assign(pilot=pilot, did=(pilot & post).astype("int64"), half_year=df["quarter"] // 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicates", type=int, default=300)
    ap.add_argument("--n", type=int, default=20_000, help="journeys per replicate")
    ap.add_argument("--boot-reps", type=int, default=999)
    ap.add_argument("--seed", type=int, default=20120401)
    a = ap.parse_args()
    methods = event_study.EVENT_STUDY_METHODS
    reject: dict[str, list[bool]] = {m: [] for m in methods}
    status: dict[str, list[str]] = {m: [] for m in methods}
    t0 = time.perf_counter()
    for r in range(a.replicates):
        df = pilot_geometry(simulate(a.n, log_or=0.0, seed=a.seed + r))
        _, summary = event_study.event_study(
            df,
            FitSpec("drug", "y", SMALL_COVS),
            bootstrap=draws.Bootstrap(reps=a.boot_reps, seed=a.seed + r),
        )
        for _, row in summary.iterrows():
            status[row["method"]].append(row["status"])
            if row["status"] != "not_estimable":
                reject[row["method"]].append(bool(row["p_value"] <= 0.05))
        if (r + 1) % 25 == 0:
            print(f"  ... {r + 1} replicates, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    print(f"\n## Pre-trend test size: {a.replicates} null replicates, {a.n:,} journeys, 149 areas, 8 pilot")
    print(f"(pilot geometry: size ranks {PILOT_RANKS}; bootstrap {a.boot_reps} Webb draws; nominal 5%)\n")
    print("| method | rejection rate at 5% | MC s.e. | replicates estimable |")
    print("|---|---|---|---|")
    for m in methods:
        x = np.array(reject[m], dtype=float)
        rate = x.mean() if len(x) else np.nan
        se = np.sqrt(rate * (1 - rate) / max(len(x), 1))
        print(f"| {m} | {rate:.3f} | {se:.3f} | {len(x)} / {a.replicates} |")
    print(f"\ntime: {(time.perf_counter() - t0) / a.replicates:.2f} s per replicate")


if __name__ == "__main__":
    main()
