"""Coverage of the multiply-imputed linked outcomes under planted differential linkage error (issue #21).

Usage::

    .venv/bin/python bench/bench_linkage_mi.py --replicates 0-199 --jobs 2      # both scenarios
    .venv/bin/python bench/bench_linkage_mi.py --scenario differential --replicates 0-99
    .venv/bin/python bench/bench_linkage_mi.py --summary-only                   # print what is stored

Each replicate generates synthetic extracts at ``--scale`` (default 0.05) with seed
``--seed`` + replicate, and runs in-process what the workflow runs for the death and crime
outcomes: validation, pseudonymous persons, journeys, the linkage (the Fellegi-Sunter model
trained afresh, one-to-one links at the threshold), the analysis tables, and then

- the **true** outcomes: the linked outcomes derived from the synthetic truth's (person, unit)
  pairs (:func:`pbr.link.quality.register_true_pairs`) through the same outcome functions;
- the **single-link** fit: the headline method (``models.headline_method``, the score wild
  bootstrap with ``--bootstrap-reps`` draws) and CRV1 on the outcomes of the one link set;
- the **MI** fit: ``linkage.imputations`` imputed link sets (:mod:`pbr.link.imputation`), CRV1 on
  each, combined as the rule ``combine_imputations`` combines them (:func:`pbr.fit.imputed.combined_rows`:
  Rubin's rules; the headline interval centred on the MI estimate and widened by sqrt(T/W)).

Scenarios (paired: the same seeds):

- ``non-differential``: the default noise;
- ``differential``: NDTMS attributor errors x ``--ndtms`` and register area moves x
  ``--register-area-move`` in ``--cell`` only (``noise.differential``; default pilot_post x3, x2).

``--death-rate R`` sets the drug-related death rate of both cohorts to R in every cell (the
generator's ``rates``): at scale 0.05 the default rates (0.006 drug, 0.001 alcohol) leave the
pilot areas' post-period cell without a death in many replicates, so the death outcome has no
estimate there; a raised rate measures the death outcome's coverage at a small scale.

Rows are stored per replicate under ``--out`` (default results/bench/linkage_mi/), so runs can be
split into chunks (``--replicates 0-49``, then ``50-99``) or across cluster jobs and resumed; the
summary reads every stored replicate. For each scenario x cohort x linked outcome it prints the
mean log OR on the true outcomes, the bias (mean estimate minus true, same replicate) of the
single-link and MI estimates, the coverage of the true-outcome OR by each interval (headline
method and CRV1) with its Monte Carlo standard error, and the mean fraction of missing
information. Target (issue #21): the MI headline interval covers the true-outcome OR in at least
93% of at least 200 replicates of the differential scenario.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

# One BLAS thread per process, set before numpy loads OpenBLAS: the bench runs ``--jobs``
# replicates side by side, and OpenBLAS's own threads on top of them oversubscribe the cores
# (measured, scale 0.05 with --death-rate 0.05: 95-97 s per replicate two at a time on 2 cores
# with OpenBLAS's default threads; 32 s for one alone with one thread). Snakemake sets the same
# variables to each job's threads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

#: the bench's pseudonymisation key (synthetic data only)
SECRET = b"bench-mi"
#: coverage target of the MI headline interval (issue #21)
TARGET = 0.93
#: replicates the target needs
TARGET_REPLICATES = 200
SCENARIOS = ("non-differential", "differential")


def replicate_config(args: argparse.Namespace, scenario: str, replicate: int) -> dict:
    """The synthetic settings of one replicate of ``scenario``."""
    cfg: dict = {"scale": args.scale, "seed": args.seed + replicate}
    if scenario == "differential":
        cell = {"ndtms": args.ndtms, "register_area_move": args.register_area_move}
        cfg["noise"] = {"differential": {args.cell: cell}}
    if args.death_rate is not None:
        rate = dict.fromkeys(("pilot_pre", "other_pre", "other_post"), args.death_rate)
        cfg["rates"] = {cohort: {"drug_related_death": rate} for cohort in ("drug", "alcohol")}
    return cfg


def validated_tables(synthetic: dict, tmp: Path) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Generate the extracts of ``synthetic``; return the validated tables and the truth tables."""
    from pbr import io
    from pbr.contract import TABLES
    from pbr.extract.tables import read_extracts
    from pbr.synthetic import generator, params

    extract = generator.generate(params.SyntheticParams.from_config(synthetic))
    for name, df in extract.tables.items():
        io.write_table(df, tmp / f"{name}.parquet", sort_by=TABLES[name].key)
    tables, _ = read_extracts(directory=str(tmp), fmt="parquet")
    return tables, extract.truth


def study_journeys(config: dict, episodes: pd.DataFrame, areas: pd.DataFrame):
    """(all journeys with study fields and exclusions, episode -> journey), as rule build_journeys."""
    from pbr.derive import journeys

    study, jcfg = config["study"], config["journeys"]
    ep = journeys.assign_journeys(episodes, jcfg["transfer_codes"], jcfg["transfer_gap_days"])
    j = journeys.assign_study_fields(
        journeys.summarise_journeys(ep), areas,
        study["pre_start"], study["post_start"], study["post_end"], study["partial_pilot_rule"],
    )  # fmt: skip
    j, _ = journeys.flag_exclusions(j, study["cohorts"], study["min_age"])
    return j, ep[["episode_id", "journey_id"]]


def linked_register(config: dict, tables: dict, name: str, spec: dict) -> dict:
    """Train and predict one register's linkage (one thread); the outputs of
    :func:`pbr.link.matching.link_register_probabilistic` and the linkage records of both sides."""
    from pbr.link import matching, model, records
    from pbr.link.persons import transfer_settings

    cfg = config["linkage"]
    tops = tables["ndtms_top"][["episode_id", "top_date"]]
    register = tables[spec["table"]]
    left, right = records.link_inputs(
        tables["ndtms_episodes"], register, spec, SECRET, tables["areas"], tops, transfer_settings(config)
    )
    trained = model.train_link_model(
        left, right, cfg["recall"], cfg["seed"], cfg["u_max_pairs"], 1, cfg["em_max_pairs"]
    )
    out = matching.link_register_probabilistic(left, right, register, spec, trained, cfg, name, 1)
    return out | {"left": left, "right": right}


def true_links(
    episodes: pd.DataFrame, truth: dict, tables: dict, linked: dict, name: str, spec: dict
) -> pd.DataFrame:
    """The link table of the true (person, unit) pairs of register ``name`` (every true pair, found
    by the linkage or not), in the link table's units and columns."""
    from pbr.link import matching, quality
    from pbr.link.records import unit_pseudonyms
    from pbr.registry.registers import TRUTH_TABLES

    register = tables[spec["table"]]
    pairs = quality.register_true_pairs(
        episodes,
        truth["episode_person"],
        truth[TRUTH_TABLES[name]],
        spec,
        register[[spec["id"], spec["unit"]]] if spec["unit"] != spec["id"] else None,
        linked["right"] if spec["unit"] != spec["id"] else None,
    )
    records = register
    if spec["group"] is not None:
        records = register.assign(
            **{spec["unit"]: register[spec["unit"]].map(unit_pseudonyms(linked["right"], spec["group"]))}
        )
    matches = pairs.assign(match_weight=np.inf, match_probability=1.0)
    return matching.link_table(matches, records, spec["unit"], spec["keep"])


def outcome_fits(config: dict, analysis: pd.DataFrame, cohort: str, outcome: str, columns: dict, reps: int):
    """Per estimate (true, single, each imputation): the CRV1 logit row; the true outcomes' and
    the single link set's headline rows. ``columns``: estimate name -> the outcome's values."""
    from pbr.fit.frame import analysis_columns
    from pbr.fit.inference import few_cluster_results
    from pbr.fit.models import fit_did
    from pbr.fit.spec import FitSpec

    models = config["models"]
    spec = FitSpec.from_config(cohort, outcome, models, config["study"]["period_unit"])
    frame = analysis[list(dict.fromkeys(["journey_id", *analysis_columns([], spec)]))]
    crv1 = {}
    for name, values in columns.items():
        fit = fit_did(frame.assign(**{outcome: values}), spec, methods=("logit_crv1",))
        crv1[name] = fit.iloc[0]
    headline = {
        name: few_cluster_results(
            frame.assign(**{outcome: columns[name]}),
            spec,
            reps=reps,
            seed=config["models"]["inference"]["seed"],
            methods=(models["headline_method"],),
            ri_reps=0,
        )[0]
        for name in ("true", "single")
    }
    return crv1, headline


def replicate_rows(args: argparse.Namespace, scenario: str, replicate: int) -> pd.DataFrame:
    """Every cohort x linked outcome's true, single-link and MI estimates of one replicate."""
    from pbr import config as pbr_config
    from pbr.derive import outcomes
    from pbr.fit.imputed import combined_rows
    from pbr.link.imputation import imputation_seed, imputed_links
    from pbr.link.matching import candidate_links
    from pbr.link.persons import link_persons, transfer_settings
    from pbr.registry.outcomes import OUTCOMES
    from pbr.registry.registers import REGISTERS

    config = pbr_config.load_config(ROOT / "config" / "config.yaml")
    linked_names = tuple(e.name for e in OUTCOMES if e.register)
    with tempfile.TemporaryDirectory() as tmp:
        tables, truth = validated_tables(replicate_config(args, scenario, replicate), Path(tmp))
    episodes, _ = link_persons(tables["ndtms_episodes"], SECRET, transfer_settings(config))
    all_journeys, episode_journey = study_journeys(config, episodes, tables["areas"])
    linked = {name: linked_register(config, tables, name, spec) for name, spec in REGISTERS.items()}
    truths = {
        name: true_links(episodes, truth, tables, linked[name], name, spec)
        for name, spec in REGISTERS.items()
    }
    threshold = config["linkage"]["threshold"]
    m_total = int(config["linkage"]["imputations"])
    imputed = {}
    for m in range(1, m_total + 1):
        rng = imputation_seed(int(config["linkage"]["imputation_seed"]), m)
        imputed[m] = {
            name: candidate_links(
                linked[name]["candidates"], imputed_links(linked[name]["pairs"], rng), spec["unit"]
            )
            for name, spec in sorted(REGISTERS.items())
        }
    rows = []
    for cohort in config["study"]["cohorts"]:
        study = outcomes.study_journeys(all_journeys, cohort)
        analysis = outcomes.derive_outcomes(
            study, all_journeys, tables["ndtms_top"], episode_journey,
            linked["deaths"]["links"], linked["offences"]["links"], config["outcomes"], threshold=threshold,
        )  # fmt: skip
        true_columns = outcomes.linked_outcome_columns(analysis, truths, config["outcomes"], linked_names)
        imputed_columns = {
            m: outcomes.linked_outcome_columns(analysis, links, config["outcomes"], linked_names)
            for m, links in imputed.items()
        }
        for outcome in linked_names:
            columns = {"true": true_columns[outcome].to_numpy(), "single": analysis[outcome].to_numpy()}
            columns |= {f"m{m}": c[outcome].to_numpy() for m, c in imputed_columns.items()}
            crv1, headline = outcome_fits(config, analysis, cohort, outcome, columns, args.bootstrap_reps)
            mi_input = pd.DataFrame([crv1[f"m{m}"] for m in imputed]).assign(imputation=list(imputed))
            mi = combined_rows(
                mi_input, headline["single"], config["models"]["headline_method"],
                float(config["models"]["confidence_level"]),
            )  # fmt: skip
            rec = estimate_record(scenario, replicate, cohort, outcome, crv1, headline, mi, columns)
            rows.append(rec | pooled_parts(mi_input))
    return pd.DataFrame(rows)


def pooled_parts(imputed: pd.DataFrame) -> dict:
    """Rubin's within and between variances and degrees of freedom of the CRV1 fits (NaN when an
    imputation gave no estimate, as :func:`pbr.fit.imputed.combined_rows` then gives none)."""
    from pbr.fit.imputed import rubin

    ok = imputed[imputed["status"] != "not_estimable"]
    if len(ok) < max(2, len(imputed)):
        return {"within": math.nan, "between": math.nan, "mi_df": math.nan, "m": len(imputed)}
    pooled = rubin(ok["beta"].to_numpy(), ok["se"].to_numpy(), float(ok["n_clusters"].min()) - 1)
    return {"within": pooled["within"], "between": pooled["between"], "mi_df": pooled["df"], "m": len(ok)}


def _interval(row) -> tuple[float, float, float]:
    """(log OR, log lower, log upper) of a result row (ORs on the row), NaN when not estimable."""
    if row is None or row["status"] == "not_estimable" or not np.isfinite(row["beta"]):
        return (math.nan,) * 3
    lo = math.log(row["ci_low"]) if row["ci_low"] > 0 else -math.inf
    return float(row["beta"]), lo, math.log(row["ci_high"]) if np.isfinite(row["ci_high"]) else math.inf


def estimate_record(scenario, replicate, cohort, outcome, crv1, headline, mi, columns) -> dict:
    """One replicate x cohort x outcome: the events, and each estimate's log OR and interval."""
    method = headline["single"]["method"].iloc[0] if len(headline["single"]) else "logit_score_wcb"
    rec = {"scenario": scenario, "replicate": replicate, "cohort": cohort, "outcome": outcome}
    rec |= {
        f"events_{k}": float(np.nansum(pd.to_numeric(columns[k], errors="coerce")))
        for k in ("true", "single")
    }
    pick = {
        "true_crv1": crv1["true"],
        "single_crv1": crv1["single"],
        "true_headline": headline["true"].iloc[0] if len(headline["true"]) else None,
        "single_headline": headline["single"].iloc[0] if len(headline["single"]) else None,
        "mi_crv1": _row(mi, "logit_crv1"),
        "mi_headline": _row(mi, method),
    }
    for key, row in pick.items():
        rec[f"{key}_beta"], rec[f"{key}_lo"], rec[f"{key}_hi"] = _interval(row)
    return rec


def _row(frame: pd.DataFrame, method: str):
    sel = frame[frame["method"] == method]
    return sel.iloc[0] if len(sel) else None


def parse_range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def library_commit() -> str:
    """The commit of this checkout (the library the replicates ran), or 'unknown' outside git."""
    import subprocess

    done = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def run_one(args: argparse.Namespace, scenario: str, replicate: int, path: Path) -> tuple[str, int, float]:
    import logging

    logging.disable(logging.WARNING)  # splink's and the pipeline's info logs, once per replicate
    t0 = time.perf_counter()
    rows = replicate_rows(args, scenario, replicate).assign(commit=library_commit())
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(path.with_suffix(".tmp"), index=False)
    path.with_suffix(".tmp").rename(path)
    return scenario, replicate, time.perf_counter() - t0


def covered(lo: pd.Series, hi: pd.Series, target) -> pd.Series:
    return (lo <= target) & (target <= hi)


def summary(out: Path) -> pd.DataFrame:
    """Per scenario x cohort x outcome (replicates whose true outcomes gave an estimate): the mean
    true log OR (the estimand's Monte Carlo estimate), bias and RMSE of the single-link and MI
    estimates against the same replicate's true-outcome estimate, the coverage of that estimate
    (the issue's target) and of the estimand by each interval, and how well the MI's between
    variance accounts for the linkage error (MI estimate minus true-outcome estimate)."""
    files = sorted(out.glob("*/*.parquet"))
    if not files:
        raise SystemExit(f"no replicates stored under {out}: run without --summary-only first")
    rows = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    commits = rows["commit"].fillna("before 'commit' was stored") if "commit" in rows else None
    if commits is not None and commits.nunique() > 1:
        raise SystemExit(
            f"the replicates under {out} ran on {commits.nunique()} library versions "
            f"({commits.value_counts().to_dict()}): run each version into its own --out"
        )
    table = []
    for (scenario, cohort, outcome), g in rows.groupby(["scenario", "cohort", "outcome"], sort=False):
        g = g[np.isfinite(g["true_crv1_beta"])]
        theta = g["true_crv1_beta"].mean()
        rec = {
            "scenario": scenario,
            "cohort": cohort,
            "outcome": outcome,
            "replicates": len(g),
            "theta": theta,
        }
        for est in ("true_headline", "single_headline", "mi_headline", "true_crv1", "single_crv1", "mi_crv1"):
            ok = g[np.isfinite(g[f"{est}_beta"])]
            rec[f"{est}_n"] = len(ok)
            rec[f"{est}_bias"] = (ok[f"{est}_beta"] - ok["true_crv1_beta"]).mean()
            rec[f"{est}_rmse"] = math.sqrt(((ok[f"{est}_beta"] - ok["true_crv1_beta"]) ** 2).mean())
            rec[f"{est}_same"] = covered(ok[f"{est}_lo"], ok[f"{est}_hi"], ok["true_crv1_beta"]).mean()
            rec[f"{est}_pop"] = covered(ok[f"{est}_lo"], ok[f"{est}_hi"], theta).mean()
        mi = g[np.isfinite(g["between"]) & np.isfinite(g["mi_crv1_beta"])]
        spread = (1 + 1 / mi["m"]) * mi["between"]
        error = mi["mi_crv1_beta"] - mi["true_crv1_beta"]
        q = stats.t.ppf(0.975, mi["mi_df"].clip(lower=1))
        rec["linkage_n"] = len(mi)
        rec["linkage_cover"] = (error.abs() <= q * np.sqrt(spread)).mean()
        rec["linkage_var_ratio"] = float((error**2).mean() / spread.mean()) if len(mi) else math.nan
        rec["fmi"] = float((spread / (mi["within"] + spread)).mean())
        table.append(rec)
    return pd.DataFrame(table)


def _mcse(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n) if n else math.nan


def print_summary(table: pd.DataFrame) -> None:
    for _, r in table.iterrows():
        n = int(r["mi_headline_n"])
        print(
            f"\n{r['scenario']} / {r['cohort']} / {r['outcome']}: {r['replicates']} replicates with a "
            f"true-outcome estimate; mean true log OR {r['theta']:+.3f} (OR {math.exp(r['theta']):.3f})"
        )
        print(
            f"  bias against the same replicate's true-outcome log OR: single {r['single_crv1_bias']:+.4f} "
            f"(RMSE {r['single_crv1_rmse']:.4f}), MI {r['mi_crv1_bias']:+.4f} (RMSE {r['mi_crv1_rmse']:.4f}); "
            f"mean FMI {r['fmi']:.3f}"
        )
        for family, label in (("headline", "headline method"), ("crv1", "CRV1")):
            same = [f"{e} {r[f'{e}_{family}_same']:.3f}" for e in ("single", "mi")]
            pop = [f"{e} {r[f'{e}_{family}_pop']:.3f}" for e in ("true", "single", "mi")]
            print(
                f"  {label}: covers the replicate's true-outcome OR: {', '.join(same)}; "
                f"covers the mean true OR: {', '.join(pop)} (n {int(r[f'mi_{family}_n'])})"
            )
        print(
            f"  linkage error (MI minus true-outcome log OR) within t x sqrt((1 + 1/M) B): "
            f"{r['linkage_cover']:.3f} of {int(r['linkage_n'])}; mean squared error / mean (1 + 1/M) B "
            f"{r['linkage_var_ratio']:.2f}"
        )
        if r["scenario"] == "differential":
            cover = r["mi_headline_same"]
            state = "met" if cover >= TARGET else "NOT met"
            if n < TARGET_REPLICATES:
                state = f"open ({n} replicates so far)"
            print(
                f"  target: the MI headline interval covers the true-outcome OR in >= {TARGET:.0%} of "
                f">= {TARGET_REPLICATES} replicates: {cover:.3f} (MC SE {_mcse(cover, n):.3f}): {state}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=7000)
    ap.add_argument("--replicates", default="0-199", help="replicate range, e.g. 0-49")
    ap.add_argument("--scenario", choices=(*SCENARIOS, "both"), default="both")
    ap.add_argument("--cell", default="pilot_post")
    ap.add_argument("--ndtms", type=float, default=3.0)
    ap.add_argument("--register-area-move", type=float, default=2.0)
    ap.add_argument("--bootstrap-reps", type=int, default=999)
    ap.add_argument(
        "--death-rate",
        type=float,
        default=None,
        help="the drug-related death rate of both cohorts in every cell (default: the generator's, "
        "0.006 drug and 0.001 alcohol, which leave a small run's pilot cells without deaths)",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "linkage_mi")
    ap.add_argument("--summary-only", action="store_true")
    args = ap.parse_args()
    scenarios = SCENARIOS if args.scenario == "both" else (args.scenario,)
    tag = f"s{args.scale:g}_seed{args.seed}_{args.cell}_x{args.ndtms:g}_a{args.register_area_move:g}"
    tag += f"_b{args.bootstrap_reps}" + (f"_d{args.death_rate:g}" if args.death_rate is not None else "")
    out = args.out / tag
    if not args.summary_only:
        todo = [
            (s, r, out / s / f"{r:04d}.parquet")
            for r in parse_range(args.replicates)
            for s in scenarios
            if not (out / s / f"{r:04d}.parquet").exists()
        ]
        print(f"{len(todo)} replicates to run ({args.jobs} processes), stored under {out}", flush=True)
        t0 = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(run_one, args, s, r, p) for s, r, p in todo]
            for i, f in enumerate(as_completed(futures), 1):
                s, r, secs = f.result()
                done = f"{secs:.0f} s ({time.perf_counter() - t0:.0f} s so far)"
                print(f"[{i}/{len(todo)}] {s} replicate {r}: {done}", flush=True)
    pd.set_option("display.width", 200)
    print_summary(summary(out))


if __name__ == "__main__":
    main()
