"""Benchmark of the few-cluster inference (pbr.fit.inference): speed at full scale, coverage at small scale.

Run:  .venv/bin/python bench/bench_inference.py            (about 4-5 minutes on 2 cores)
      .venv/bin/python bench/bench_inference.py --quick    (a smoke run, ~1 minute)

1. Speed: one simulated cohort of 300,000 journeys in 149 areas (8 pilot), 16 quarters,
   six categorical covariates like the study's; wall time per outcome of each method
   (including building the design), with and without the test-inversion intervals.
2. Coverage: R replicates at small scale (20,000 journeys, 149 areas, 8 pilot, unequal
   area sizes and area x half-year shocks, so errors are correlated within areas):
   - with a planted DiD odds ratio (0.7): share of 95% intervals covering the truth
     (logit: the planted log-OR; LPM: the design-conditional estimand x~'p / x~'x~
     computed from the true probabilities, i.e. E[beta_LPM | design]);
   - with no effect: share of p-values <= 0.05 (rejection of a true null).
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pbr.fit import design, inference, models
from pbr.fit.frame import model_rows
from pbr.fit.spec import FitSpec

warnings.filterwarnings("ignore")
logging.getLogger("pbr").setLevel(logging.WARNING)

FULL_COVS = ["age_group", "sex", "substance_group", "injecting", "previously_treated", "referral_source"]
SMALL_COVS = ["age_group", "sex"]


def simulate(n, n_areas=149, n_pilot=8, log_or=0.0, seed=0, shock_sd=0.1, size_sd=0.6, covariates=SMALL_COVS):
    """Repeated cross-section of journeys with a logit DGP; p_true kept for the LPM estimand."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, size_sd, n_areas)
    area = rng.choice(n_areas, n, p=size / size.sum())
    quarter = rng.integers(0, 16, n)
    pilot = area < n_pilot  # area sizes are iid, so the pilot set is exchangeable with any other
    post = quarter >= 8
    lp = (
        -0.8
        + rng.normal(0, 0.4, n_areas)[area]
        + 0.03 * quarter
        + rng.normal(0, shock_sd, (n_areas, 8))[area, quarter // 2]
        + log_or * (pilot & post)
    )
    cols = {}
    levels = {
        "age_group": 5,
        "sex": 2,
        "substance_group": 5,
        "injecting": 4,
        "previously_treated": 2,
        "referral_source": 6,
    }
    for c in covariates:
        k = levels[c]
        code = rng.integers(0, k, n)
        lp = lp + np.linspace(-0.3, 0.3, k)[code]
        cols[c] = np.array([f"{c[:3]}{i}" for i in range(k)])[code]
    p = 1 / (1 + np.exp(-lp))
    y = (rng.random(n) < p).astype(int)
    return pd.DataFrame(
        {
            "area_code": np.array([f"E{a:03d}" for a in range(n_areas)])[area],
            "pilot": pilot,
            "post": post.astype("int64"),
            "did": (pilot & post).astype("int64"),
            "quarter": quarter,
            **cols,
            "y": pd.array(y, dtype="Int64"),
            "p_true": p,
        }
    )


def lpm_estimand(df, covariates):
    """E[beta_LPM | design] = x~'p / x~'x~ on the model rows (OLS is linear in y)."""
    mf, _, _ = model_rows(df, FitSpec("drug", "y", covariates), extra=("p_true",))
    d = design.build_design(mf, "y", covariates)
    x_t = design.Projector(d).resid(d.did)
    return float(x_t @ mf["p_true"].to_numpy() / (x_t @ x_t))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def speed(n, reps, ri_reps, seed):
    df = simulate(n, log_or=np.log(0.85), seed=seed, covariates=FULL_COVS)
    print(f"\n## Speed: {len(df):,} journeys, 149 areas (8 pilot), 16 quarters, {len(FULL_COVS)} covariates")
    print(f"WCB: {reps} Webb draws; RI: {ri_reps} re-assignments; times are wall seconds per outcome\n")
    _, t_main = timed(lambda: models.fit_did(df, FitSpec("drug", "y", FULL_COVS)))
    jobs = [
        ("lpm_wcb_webb", ("lpm_wcb_webb",), f"LPM WCR, {reps} reps"),
        ("logit_score_wcb", ("logit_score_wcb",), f"logit score WCB, {reps} reps"),
        (
            "lpm_ri (+ _t, _t_size)",
            ("lpm_ri", "lpm_ri_t", "lpm_ri_t_size"),
            f"LPM RI, {ri_reps} re-assignments",
        ),
        (
            "logit_ri (+ _t, _t_size)",
            ("logit_ri", "logit_ri_t", "logit_ri_t_size"),
            f"logit RI, {ri_reps} re-assignments",
        ),
    ]
    lines = [f"| models.fit_did (CRV1 logit + LPM, exact engine) | {t_main:.1f} | | |"]
    for label, methods, desc in jobs:
        kw = {"reps": reps, "ri_reps": ri_reps, "seed": seed, "methods": methods}
        _, t_p = timed(
            lambda kw=kw: inference.few_cluster_rows(
                df, FitSpec("drug", "y", FULL_COVS), lpm_ci=False, logit_ci=False, **kw
            )
        )
        rows, t_ci = timed(
            lambda kw=kw: inference.few_cluster_rows(df, FitSpec("drug", "y", FULL_COVS), **kw)
        )
        r = rows.iloc[0]
        ci = "p only" if np.isnan(r["ci_low"]) else f"{r['ci_low']:.4f} to {r['ci_high']:.4f}"
        lines.append(
            f"| {label}: {desc} | {t_p:.1f} | {t_ci:.1f} | est {r['estimate']:.4f}, p {r['p_value']:.4f}, CI {ci} |"
        )
    rows, t_all = timed(
        lambda: inference.few_cluster_rows(
            df, FitSpec("drug", "y", FULL_COVS), reps=reps, ri_reps=ri_reps, seed=seed
        )
    )
    lines.append(f"| few_cluster_rows, all {len(rows)} methods with intervals | | {t_all:.1f} | |")
    print("| method | p only (s) | with CI (s) | result |")
    print("|---|---|---|---|")
    print("\n".join(lines))
    print(f"\npeak RSS so far: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2:.2f} GiB")


def coverage(n, n_rep, reps, ri_reps, log_or, seed0):
    head = f"effect OR {np.exp(log_or):.2f} / null"
    print(f"\n## Coverage: {n_rep} replicates x 2 ({head}), {n:,} journeys, 149 areas, 8 pilot")
    mc_se = np.sqrt(0.95 * 0.05 / n_rep)
    print(f"WCB {reps} draws, RI {ri_reps} re-assignments per replicate; 95% intervals")
    print(f"(Monte Carlo s.e. of a share near 0.95: {mc_se:.3f})\n")
    methods = [
        "logit_crv1",
        "lpm_crv1",
        "lpm_wcb_webb",
        "logit_score_wcb",
        "lpm_ri",
        "lpm_ri_t",
        "logit_ri",
        "logit_ri_t",
    ]
    cover = {m: [] for m in methods}
    width = {m: [] for m in methods}
    power = {m: [] for m in methods}
    size = {m: [] for m in methods}
    t0 = time.perf_counter()
    t_eff = t_null = 0.0
    for r in range(n_rep):
        t = time.perf_counter()
        df = simulate(n, log_or=log_or, seed=seed0 + r)
        truth = {"odds_ratio": log_or, "risk_difference": lpm_estimand(df, SMALL_COVS)}
        res = pd.concat(
            [
                models.fit_did(df, FitSpec("drug", "y", SMALL_COVS)),
                inference.few_cluster_rows(
                    df, FitSpec("drug", "y", SMALL_COVS), reps=reps, ri_reps=ri_reps, seed=seed0 + r
                ),
            ]
        ).set_index("method")
        t_eff += time.perf_counter() - t
        for m in methods:
            row = res.loc[m]
            power[m].append(row["p_value"] <= 0.05)
            if np.isnan(row["ci_low"]):
                continue
            lo, hi = row["ci_low"], row["ci_high"]
            if row["scale"] == "odds_ratio":
                lo, hi = np.log(lo) if lo > 0 else -np.inf, np.log(hi)
            tr = truth[row["scale"]]
            cover[m].append(lo <= tr <= hi)
            width[m].append(hi - lo)
        t = time.perf_counter()
        df0 = simulate(n, log_or=0.0, seed=10_000 + seed0 + r)
        res0 = pd.concat(
            [
                models.fit_did(df0, FitSpec("drug", "y", SMALL_COVS)),
                inference.few_cluster_rows(
                    df0,
                    FitSpec("drug", "y", SMALL_COVS),
                    reps=reps,
                    ri_reps=ri_reps,
                    seed=seed0 + r,
                    lpm_ci=False,
                    logit_ci=False,
                ),
            ]
        ).set_index("method")
        t_null += time.perf_counter() - t
        for m in methods:
            size[m].append(res0.loc[m, "p_value"] <= 0.05)
        if (r + 1) % 10 == 0:
            print(f"  ... {r + 1} replicates, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    cols = ["method", "coverage of truth (95% CI)", "median CI width (log-OR / RD)"]
    cols += ["rejects true null (p<=0.05)", f"power at OR {np.exp(log_or):.2f}"]
    print("| " + " | ".join(cols) + " |")
    print("|---|---|---|---|---|")
    for m in methods:
        cov = f"{np.mean(cover[m]):.3f}" if cover[m] else "no interval"
        wid = f"{np.median(width[m]):.3f}" if width[m] else ""
        print(f"| {m} | {cov} | {wid} | {np.mean(size[m]):.3f} | {np.mean(power[m]):.3f} |")
    per_eff, per_null = t_eff / n_rep, t_null / n_rep
    print(f"\ntime: {per_eff:.2f} s per effect replicate (all methods with CIs), ", end="")
    print(f"{per_null:.2f} s per null replicate (p only); total {time.perf_counter() - t0:.0f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small smoke run")
    ap.add_argument("--n-full", type=int, default=300_000)
    ap.add_argument("--n-small", type=int, default=20_000)
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--boot-reps", type=int, default=9999, help="WCB draws in the speed test")
    ap.add_argument("--ri-reps", type=int, default=999)
    ap.add_argument("--coverage-boot-reps", type=int, default=1999)
    ap.add_argument("--seed", type=int, default=20120401)
    a = ap.parse_args()
    if a.quick:
        a.n_full, a.replicates = 50_000, 5
    t = time.perf_counter()
    speed(a.n_full, a.boot_reps, a.ri_reps, a.seed)
    coverage(a.n_small, a.replicates, a.coverage_boot_reps, a.ri_reps, np.log(0.7), a.seed)
    print(f"\nbench total: {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
