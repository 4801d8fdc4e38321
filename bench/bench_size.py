"""Size of every test the report bases a verdict on, with the study's own geometry.

Run:  .venv/bin/python bench/bench_size.py --analysis results/s01/derive/analysis_drug.parquet
      (make the table with: .venv/bin/snakemake --cores 2 results/s01/derive/analysis_drug.parquet
       --config 'synthetic={scale: 0.1}' results_dir=results/s01)
      --reps R --chunk K/N runs replicates K, K+N, ... (chunks of a long run, merged with --merge)

Data-generating mechanism (a parametric bootstrap under the null, on the real design): the
analysis table's areas (149, unequal sizes), pilot set (the eight, Kent among the largest
and Bracknell Forest among the smallest), periods and covariates are kept; the outcome is
redrawn as y* ~ Bernoulli(expit(eta0 + u[area, half-year])), where eta0 is the fitted main
logit's linear predictor with the DiD term set to 0 (no effect, exactly parallel trends)
and u are area x half-year shocks, normal with sd ``--shock-sd`` (0.1 by default), which
make errors correlated within areas as in real data. Every method is run on the same
replicates (common random numbers) through the pipeline's own functions; a test "rejects"
when p <= 0.05.

Performance measure: the rejection rate at nominal 5% with its Monte Carlo standard error
sqrt(r (1 - r) / R). Results go to ``--out`` (CSV: method, check, scenario, replicates,
rejection_rate, mc_se, command), the file the report's methods section quotes
(``pbr.registry.methods.measured_sizes``).
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pbr.fit import design, draws, inference, models, pilot_trends, pilots, robustness
from pbr.fit.frame import model_rows
from pbr.fit.spec import FitSpec
from pbr.registry import outcomes
from pbr.registry.methods import SIZE_COLUMNS
from pbr.simstudy import performance, sizes

warnings.filterwarnings("ignore")
logging.getLogger("pbr").setLevel(logging.ERROR)

ALPHA = 0.05


def null_linear_predictor(df: pd.DataFrame, spec: FitSpec) -> tuple[pd.DataFrame, np.ndarray]:
    """(model rows, eta0): the main logit fitted to the data, its DiD term then set to 0."""
    mf, _, _ = model_rows(df, spec, extra=["start_date", "half_year", "quarter"])
    d = design.build_design(mf, spec.outcome, list(spec.covariates))
    fit = design.fit_terms(d, d.did, "logit")
    return mf, fit.eta - float(fit.coef[0]) * d.did


def replicate(mf: pd.DataFrame, eta0: np.ndarray, outcome: str, shock_sd: float, seed: int) -> pd.DataFrame:
    """One null data set: the outcome redrawn from eta0 plus area x half-year shocks."""
    rng = np.random.default_rng([seed, 19])
    area = pd.factorize(mf["area_code"], sort=True)[0]
    half = mf["half_year"].to_numpy(dtype=np.int64)
    shocks = rng.normal(0.0, shock_sd, (area.max() + 1, half.max() + 1))
    p = special.expit(eta0 + shocks[area, half])
    out = mf.copy()
    out[outcome] = (rng.random(len(out)) < p).astype("int64")
    return out


def _few_cluster(methods: tuple[str, ...], reps: int) -> Callable[[pd.DataFrame, FitSpec, int], list]:
    def run(df: pd.DataFrame, spec: FitSpec, seed: int) -> list:
        rows = inference.few_cluster_rows(
            df, spec, reps=reps, ri_reps=reps, seed=seed, lpm_ci=False, logit_ci=False, methods=methods
        )
        return _pvalues(rows)

    return run


def _pvalues(rows: pd.DataFrame) -> list[tuple[str, str, float]]:
    """(specification, method, p) of result rows; the leave-one-out fits count as one check."""
    spec = rows["specification"].str.replace(r"^leave_out_.*$", "leave_one_out", regex=True)
    spec = spec.str.replace(r"^pilot_.*$", "per_pilot_fit", regex=True)
    return list(zip(spec, rows["method"], rows["p_value"], strict=True))


def _crv1(df: pd.DataFrame, spec: FitSpec, seed: int) -> list:
    return _pvalues(models.fit_did(df, spec))


def _robustness(reps: int) -> Callable[[pd.DataFrame, FitSpec, int], list]:
    def run(df: pd.DataFrame, spec: FitSpec, seed: int) -> list:
        rows, _ = robustness.robustness_rows(
            df,
            spec,
            bootstrap=draws.Bootstrap(reps=reps, seed=seed),
            window_days=outcomes.window_days(spec.outcome, default_config()["outcomes"]),
        )
        return _pvalues(rows)

    return run


@functools.cache
def default_config() -> dict:
    """The default study configuration (config/config.yaml): its covariates and outcome windows."""
    with open(Path(__file__).resolve().parents[1] / "config" / "config.yaml") as f:
        return yaml.safe_load(f)


def p_values_only(few_cluster_rows: Callable) -> Callable:
    """``few_cluster_rows`` without its test-inversion intervals: a test's size needs only its
    p-value, and the intervals are most of the cost of the robustness checks' refits."""

    def rows(*args, **kwargs):
        return few_cluster_rows(*args, **(kwargs | {"logit_ci": False, "lpm_ci": False}))

    return rows


# the robustness checks call inference.few_cluster_rows through the module: p-values only here
inference.few_cluster_rows = p_values_only(inference.few_cluster_rows)


def _pilots(df: pd.DataFrame, spec: FitSpec, seed: int) -> list:
    rows, _ = pilots.pilot_rows(df, spec)
    return _pvalues(rows[rows["specification"] == "per_pilot"])


def _trends(df: pd.DataFrame, spec: FitSpec, seed: int) -> list:
    """The tests over the pilots' linear pre-trends, on all pre-period journeys and on those clear of the start."""
    window = outcomes.window_days(spec.outcome, default_config()["outcomes"])
    return _pvalues(pilot_trends.pilot_trend_rows(df, spec, window_days=window))


def checks(reps: int) -> dict[str, Callable[[pd.DataFrame, FitSpec, int], list]]:
    """Name -> function(null data, spec, seed) returning [(check, method, p-value)]."""
    return {
        "main_crv1": _crv1,
        "main_few_cluster": _few_cluster(inference.METHODS, reps),
        "robustness": _robustness(reps),
        "pilots": _pilots,
        "trends": _trends,
    }


def run(args: argparse.Namespace) -> pd.DataFrame:
    """The p-values of every check on replicates chunk::n_chunks (one row per replicate x method)."""
    analysis = pd.read_parquet(args.analysis)
    spec = FitSpec(args.cohort, args.outcome, tuple(default_config()["models"]["covariates"]))
    mf, eta0 = null_linear_predictor(analysis, spec)
    mf = mf.assign(pilot=mf["pilot"].astype(bool), start_date=pd.to_datetime(mf["start_date"]))
    chosen = {k: fn for k, fn in checks(args.bootstrap_reps).items() if not args.checks or k in args.checks}
    rows = []
    start = time.perf_counter()
    todo = range(args.chunk, args.reps, args.n_chunks)
    for i, r in enumerate(todo):
        data = replicate(mf, eta0, args.outcome, args.shock_sd, args.seed + r)
        for fn in chosen.values():
            for check, method, p in fn(data, spec, args.seed + r):
                rows.append({"replicate": r, "check": check, "method": method, "p_value": p})
        if (i + 1) % 10 == 0:
            rate = (time.perf_counter() - start) / (i + 1)
            print(f"  {i + 1}/{len(todo)} replicates, {rate:.1f} s each", flush=True)
            if args.pvalues:  # a checkpoint: a long run stopped early keeps what it finished
                pd.DataFrame(rows).to_parquet(args.pvalues, index=False)
    return pd.DataFrame(rows)


def summary(pvalues: pd.DataFrame, scenario: str, command: str) -> pd.DataFrame:
    """Rejection rate at 5% and its MC SE per check x method (p-values of every replicate; the
    leave-one-out fits pooled: each is a null p)."""
    out = []
    for (check, method), g in pvalues.groupby(["check", "method"], sort=True):
        r, mc_se, n = performance.rate(g["p_value"], ALPHA)
        out.append(
            {
                "method": method,
                "check": check,
                "scenario": scenario,
                "replicates": n,
                "rejection_rate": r,
                "mc_se": mc_se,
                "command": command,
            }
        )
    return pd.DataFrame(out)


BEGIN, END = "<!-- sizes: begin (bench/bench_size.py --docs) -->", "<!-- sizes: end -->"


def markdown(table: pd.DataFrame) -> str:
    """The sizes as a markdown table: check, method, rejection rate (MC SE), replicates."""
    lines = ["| check (specification) | method | rejection at 5% (MC SE) | replicates |", "|---|---|---|---|"]
    for r in table.sort_values(["check", "method"]).itertuples():
        lines.append(
            f"| {r.check} | `{r.method}` | {r.rejection_rate:.3f} ({r.mc_se:.3f}) | {r.replicates} |"
        )
    return "\n".join(lines)


def markers(checks: list[str] | None) -> tuple[str, str]:
    """The docs block's markers: :data:`BEGIN` / :data:`END` for a run of every check, their own
    for a run of some (``--checks``), so that each block shows the rows of one command."""
    if not checks:
        return BEGIN, END
    tag = " ".join(sorted(checks))
    return (
        f"<!-- sizes: begin (bench/bench_size.py --docs --checks {tag}) -->",
        f"<!-- sizes --checks {tag}: end -->",
    )


def write_docs(
    path: str, table: pd.DataFrame, scenario: str, command: str, checks: list[str] | None = None
) -> None:
    """Replace the block of ``checks`` (:func:`markers`) in ``path`` with the table; a block not
    yet in the file goes after the block of every check."""
    begin, end = markers(checks)
    text = Path(path).read_text()
    block = f"{begin}\nScenario: {scenario}. Command: `{command}`.\n\n{markdown(table)}\n{end}"
    if begin not in text:
        head, tail = text.split(END)
        Path(path).write_text(f"{head}{END}\n\n{block}{tail}")
        return
    head, rest = text.split(begin)
    _, tail = rest.split(end)
    Path(path).write_text(head + block + tail)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--analysis", default="results/s01/derive/analysis_drug.parquet")
    ap.add_argument("--cohort", default="drug")
    ap.add_argument("--outcome", default="successful_completion")
    ap.add_argument("--reps", type=int, default=500)
    ap.add_argument("--bootstrap-reps", type=int, default=999)
    ap.add_argument("--shock-sd", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=20120401)
    ap.add_argument("--chunk", type=int, default=0)
    ap.add_argument("--n-chunks", type=int, default=1)
    ap.add_argument("--pvalues", default=None, help="write the per-replicate p-values here (Parquet)")
    ap.add_argument("--merge", nargs="*", default=None, help="p-value files of chunks to summarise")
    ap.add_argument("--out", default=None, help="summary CSV")
    ap.add_argument("--docs", default=None, help="markdown file whose sizes block is rewritten")
    ap.add_argument("--run-command", default=None, help="with --merge: the command that made the chunks")
    ap.add_argument(
        "--checks",
        nargs="*",
        choices=sorted(checks(99)),
        default=None,
        help="run only these checks; with --out, the file's other rows of this bench stay",
    )
    args = ap.parse_args()
    command = "python " + " ".join(sys.argv)
    if args.merge and args.run_command:
        command = f"{args.run_command}; merged by {command}"
    if args.merge:
        pvalues = pd.concat([pd.read_parquet(f) for f in args.merge], ignore_index=True)
    else:
        print(
            f"# Size at nominal 5%: {args.cohort}/{args.outcome}, {args.reps} replicates, shock sd {args.shock_sd}"
        )
        pvalues = run(args)
        if args.pvalues:
            pvalues.to_parquet(args.pvalues, index=False)
    scenario = f"study geometry ({args.cohort} {args.outcome}), shock sd {args.shock_sd}"
    table = summary(pvalues, scenario, command)
    print(table.drop(columns=["command", "scenario"]).to_string(index=False))
    measured = table
    if args.checks and args.out and Path(args.out).exists():  # the checks not re-run keep their rows
        table = sizes.merged(_bench_rows(args.out), table)
    study = _study_rows(args.out)
    if len(study):  # the simulation study's rows stay, and supersede these for the checks it covers
        covered = _covered(table, study)
        table = table[~covered]
        print(f"{covered.sum()} rows superseded by the simulation study")
    if args.out:
        sizes.merged(table, study).to_csv(args.out, index=False)
    if args.docs:
        write_docs(args.docs, measured, scenario, command, args.checks)


def _study_rows(path: str | None) -> pd.DataFrame:
    """The simulation study's rows (:mod:`pbr.simstudy.sizes`) of an existing sizes file."""
    if not path or not Path(path).exists():
        return pd.DataFrame(columns=list(SIZE_COLUMNS))
    old = pd.read_csv(path)
    return old[old["scenario"].astype(str).str.startswith("simulation study")]


def _bench_rows(path: str) -> pd.DataFrame:
    """This bench's rows (the study geometry's, not the simulation study's) of an existing sizes file."""
    old = pd.read_csv(path)
    return old[~old["scenario"].astype(str).str.startswith("simulation study")]


def _covered(table: pd.DataFrame, study: pd.DataFrame) -> pd.Series:
    pairs = set(zip(study["method"], study["check"], strict=True))
    return pd.Series(
        [(m, c) in pairs for m, c in zip(table["method"], table["check"], strict=True)], index=table.index
    )


if __name__ == "__main__":
    main()
