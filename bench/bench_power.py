"""Cross-check of the score-space power of logit_score_wcb (pbr.fit.power) against brute force.

Run:  .venv/bin/python bench/bench_power.py             (about 5 minutes on 2 cores)
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
   Paired with each: the score-space power at the planted OR on its null twin, so the
   difference brute - score space is free of the between-geometry variation.

Measured 2026-12-03, session 10 (scores at the estimate, leverage-adjusted; shared 2-core machine):
  $ .venv/bin/python bench/bench_power.py --budget 300
    planted OR 0.414 (score-space MDE of the twins' mean curve; size there 0.054); brute
    force power 0.734 (MC SE 0.038, 139 data sets); score space on their null twins 0.744
    (paired difference -0.010, SE 0.036); on the planted data sets 0.658 (+0.076, SE 0.035);
    from the planted data's no-effect scores (before session 10) 0.358 (+0.376, SE 0.042); 305 s.
Session 9 (scores at no effect): brute force 0.762 (MC SE 0.036, 143 data sets) at OR 0.410
against 0.753 on the null twins; at OR 1, brute force 0.040 (MC SE 0.040, 25 data sets)
against 0.051.
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

from pbr.fit import inference, power, wild_bootstrap
from pbr.fit.design import build_design
from pbr.fit.draws import area_webb_weights
from pbr.fit.frame import model_rows
from pbr.fit.spec import FitSpec

warnings.filterwarnings("ignore")
logging.getLogger("pbr").setLevel(logging.WARNING)
SPEC = FitSpec("drug", "y", SMALL_COVS)


def score_space_curve(
    df, betas: np.ndarray, replicates: int, boot: int, seed: int, at_estimate: bool = True
) -> np.ndarray:
    """Score-space power of logit_score_wcb at each log-OR of ``betas`` on data set ``df``, from the
    logit's leverage-adjusted scores at its estimate (pbr.fit.power.noise_space) or, with
    ``at_estimate=False``, from its scores at no effect."""
    mf, _, _ = model_rows(df, SPEC)
    design = build_design(mf, "y", SMALL_COVS)
    if at_estimate:
        space = power.noise_space(design)
    else:
        space = power.score_space(design, wild_bootstrap.logit_parts(design, 0.0))
    u = area_webb_weights(space.area_codes, replicates, seed, stream="power")
    v = area_webb_weights(space.area_codes, boot, seed)
    return power.score_space_power(space, betas, u, v, 0.05)


def brute_force(
    n: int, log_or: float, boot: int, budget: float, twin_reps: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per data set r (seed 1000 + r, ``log_or`` planted) until ``budget`` seconds: the brute-force
    p-value of logit_score_wcb; the score-space power at ``log_or`` on its null twin; and on the
    planted data set itself, from its scores at the estimate and at no effect (all paired)."""
    start, pvals, twin, own, own_null = time.perf_counter(), [], [], [], []
    r = 0
    while time.perf_counter() - start < budget:
        df = simulate(n, log_or=log_or, seed=1000 + r)
        row = inference.few_cluster_rows(
            df, SPEC, reps=boot, seed=r, methods=("logit_score_wcb",), logit_ci=False
        )
        pvals.append(float(row.iloc[0]["p_value"]))
        null_twin = simulate(n, seed=1000 + r)
        twin.append(float(score_space_curve(null_twin, np.array([log_or]), twin_reps, boot, 5000 + r)[0]))
        at = np.array([log_or])
        own.append(float(score_space_curve(df, at, twin_reps, boot, 5000 + r)[0]))
        own_null.append(float(score_space_curve(df, at, twin_reps, boot, 5000 + r, at_estimate=False)[0]))
        r += 1
    return np.array(pvals), np.array(twin), np.array(own), np.array(own_null)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=6000)
    ap.add_argument("--boot", type=int, default=399)
    ap.add_argument("--budget", type=float, default=180.0)
    ap.add_argument("--twins", type=int, default=6)
    ap.add_argument("--replicates", type=int, default=300)
    ap.add_argument("--planted-or", type=float, default=None, help="plant this OR instead (e.g. 1: size)")
    a = ap.parse_args()
    if a.quick:
        a.budget, a.twins, a.replicates = 30.0, 3, 100
    print("$ .venv/bin/python bench/bench_power.py " + " ".join(sys.argv[1:]))
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
    if a.planted_or is not None:
        beta = math.log(a.planted_or)
    t1 = time.perf_counter()
    pvals, twin, own, own_null = brute_force(a.n, beta, a.boot, a.budget, a.replicates)
    hit = (pvals <= 0.05).astype(float)
    pw, se = float(hit.mean()), float(hit.std(ddof=1) / math.sqrt(len(hit)))
    print(
        f"\n2. brute force at planted OR {math.exp(beta):.3f}: power {pw:.3f} (MC SE {se:.3f}) over "
        f"{len(pvals)} data sets; score-space power at that OR:"
    )
    for label, ss in (
        ("on their null twins", twin),
        ("on the planted data, noise_space (leverage-adjusted scores at the estimate)", own),
        ("on the planted data, scores at no effect (before session 10)", own_null),
    ):
        diff = hit - ss
        print(
            f"   {label}: {ss.mean():.3f}; paired difference brute - score space {diff.mean():+.3f} "
            f"(SE {diff.std(ddof=1) / math.sqrt(len(diff)):.3f})"
        )
    print(
        f"   ({time.perf_counter() - t1:.0f} s; each: simulate + few_cluster_rows(logit_score_wcb, B={a.boot}) + twin)"
    )
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
