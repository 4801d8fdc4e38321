"""Cross-check of the score-space power of logit_score_wcb (pbr.fit.power) against brute force.

Run:  .venv/bin/python bench/bench_power.py             (about 5 minutes on 2 idle cores)
      .venv/bin/python bench/bench_power.py --quick     (a smoke run, ~2 minutes)

Data: bench/bench_inference.py's ``simulate`` (149 areas, 8 pilot, unequal area sizes,
area x half-year shocks, two covariates, ``--n`` journeys); each seed is a new data set,
area sizes included, so brute force averages power over geometries. The score-space power
is therefore averaged over the same geometries:

1. Score space: on the null twins (no effect) of the first ``--twins`` brute-force data sets
   (seeds 1000 + r), the power curve of pbr.fit.power.score_space_power on a grid of log
   ORs below 0; their mean curve gives the planted OR (where it crosses 0.8) and the
   score-space power there (mean over twins, with its between-twin SE).
2. Brute force at that planted OR: data sets with the OR planted (seeds 1000 + r), each run
   through ``few_cluster_rows(..., methods=("logit_score_wcb",), logit_ci=False)``; power =
   share with p <= 0.05, with its Monte Carlo SE; the loop stops at ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_inference import SMALL_COVS, simulate

from pbr.fit import inference, power
from pbr.fit.design import build_design
from pbr.fit.draws import area_webb_weights
from pbr.fit.frame import model_rows
from pbr.fit.spec import FitSpec

warnings.filterwarnings("ignore")
logging.getLogger("pbr").setLevel(logging.WARNING)
SPEC = FitSpec("drug", "y", SMALL_COVS)


def score_space_curve(df, betas: np.ndarray, replicates: int, boot: int, seed: int) -> np.ndarray:
    """Score-space power of logit_score_wcb at each log-OR of ``betas`` on data set ``df``."""
    mf, _, _ = model_rows(df, SPEC)
    space = power.score_space(build_design(mf, "y", SMALL_COVS))
    u = area_webb_weights(space.area_codes, replicates, seed, stream="power")
    v = area_webb_weights(space.area_codes, boot, seed)
    return power.score_space_power(space, betas, u, v, 0.05)


def brute_force(n: int, log_or: float, boot: int, budget: float, max_reps: int) -> list[float]:
    """p-values of logit_score_wcb on fresh data sets with ``log_or`` planted, until ``budget`` seconds."""
    start, pvals = time.perf_counter(), []
    for r in range(max_reps):
        if time.perf_counter() - start > budget:
            break
        df = simulate(n, log_or=log_or, seed=1000 + r)
        row = inference.few_cluster_rows(
            df, SPEC, reps=boot, seed=r, methods=("logit_score_wcb",), logit_ci=False
        ).iloc[0]
        pvals.append(float(row["p_value"]))
    return pvals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--boot", type=int, default=399)
    ap.add_argument("--budget", type=float, default=150.0)
    ap.add_argument("--twins", type=int, default=8)
    ap.add_argument("--replicates", type=int, default=300)
    a = ap.parse_args()
    if a.quick:
        a.budget, a.twins, a.replicates = 30.0, 3, 100
    print(f"$ .venv/bin/python bench/bench_power.py{' --quick' if a.quick else ''}")
    print(
        f"  n={a.n}, B={a.boot}, {a.twins} twins x {a.replicates} score-space replicates, budget {a.budget:g} s"
    )
    t0 = time.perf_counter()
    grid = -np.linspace(0.0, 2.0, 41)  # log OR 0 .. -2
    curves = np.array(
        [
            score_space_curve(simulate(a.n, seed=1000 + r), grid, a.replicates, a.boot, r)
            for r in range(a.twins)
        ]
    )
    beta = -power.first_crossing(-grid, curves.mean(axis=0), 0.8)
    at = np.array([np.interp(-beta, -grid, c) for c in curves])
    m, s = float(at.mean()), float(at.std(ddof=1) / math.sqrt(len(at)))
    print(
        f"\n1. score space: mean power curve of {a.twins} null twins crosses 0.8 at OR {math.exp(beta):.3f}"
    )
    print(f"   power there {m:.3f} (between-twin SE {s:.3f}); per twin: {', '.join(f'{x:.2f}' for x in at)}")
    print(f"   power at OR 1 (size): {curves[:, 0].mean():.3f}  ({time.perf_counter() - t0:.0f} s)")
    t1 = time.perf_counter()
    pvals = np.array(brute_force(a.n, beta, a.boot, a.budget, 2000))
    pw = float(np.mean(pvals <= 0.05))
    se = math.sqrt(pw * (1 - pw) / len(pvals))
    print(
        f"\n2. brute force at planted OR {math.exp(beta):.3f}: power {pw:.3f} (MC SE {se:.3f}) "
        f"over {len(pvals)} data sets"
    )
    print(
        f"   ({time.perf_counter() - t1:.0f} s; each: simulate + few_cluster_rows(logit_score_wcb, B={a.boot}))"
    )
    print(
        f"\ndifference brute - score space: {pw - m:+.3f} (SE {math.hypot(se, s):.3f}); "
        f"total {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
