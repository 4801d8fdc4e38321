"""Side-by-side benchmark: the pipeline's stages against bare scripts of the libraries they wrap.

Usage::

    .venv/bin/python bench/bench_pipeline.py --scales 1 --cores 2 --keep /tmp/run   # a finished run
    .venv/bin/python bench/bench_side_by_side.py --workdir /tmp/run/scale_1        # then this
    .venv/bin/python bench/bench_side_by_side.py --workdir DIR --parts link fit     # skip (c)
    .venv/bin/python bench/bench_side_by_side.py --workdir DIR --wall 348           # (c) with this wall time

From ONE finished run directory (``DIR`` = ``K/scale_S`` of ``bench_pipeline.py --keep K``: its
``results/``, ``config/config.yaml`` + ``bench_scale.yaml`` and Snakemake's log ``bench_run.log``)
it prints three comparisons. The pipeline's times and peaks are its jobs' own, from Snakemake's
benchmark files (``results/benchmarks/**.tsv``, ``s`` and ``max_rss``); only the link rules of (a) are
re-run, alone (below).
Each bare step runs in a fresh Python under /usr/bin/time (``bench/_timing.py``): wall time with
interpreter start, imports and reading, and peak RSS; with the thread variables Snakemake sets for
a job of the rule's threads (``OMP_NUM_THREADS`` and the like), as recorded in ``bench_run.log``.

(a) Link stage, per register: rules ``train_linkage`` + ``predict_links`` against a bare splink
    script on the same records (the pipeline's ``results/extract/link_records_<side>.parquet``,
    read by the bare script with pandas): a DuckDB connection with the rule's threads and DuckDB
    memory limit, splink's ``Linker`` with the pipeline's settings (:func:`pbr.link.model.
    splink_settings`, the only pipeline code used), lambda from the same exact rule and recall,
    u by random sampling (same max pairs and seed), the same three EM sessions (same blocking,
    max pairs, lambda fixed), the model saved; then, in a second process as in the workflow,
    prediction at ``linkage.min_probability`` with the saved model and the pairs written to
    Parquet. The pipeline's ``predict_links`` also matches the pairs (each unit to one person)
    and writes the link tables, which the bare script does not: that is part of what the
    wrapping costs (its duration, from the rule's log, is printed beside). Checked: the bare
    model's m and u against the pipeline's, and the number of scored pairs.
    In the run two 2-thread link jobs may share the 2 cores, while each bare step runs alone; so
    the four link jobs are re-run in the run directory alone (``snakemake --forcerun``, one job at
    a time), their outputs checked byte for byte against the run's and the run's benchmark files,
    logs and file times put back. Printed: the jobs' times in the run and alone.
    Target (issue #24): pipeline (alone) / bare <= 1.2 for both registers together.
(b) Fit stage, per outcome x cohort: the ``fit_did`` job (logit with area and period fixed
    effects, covariates and the DiD term, CRV1 by area, and its linear probability model, by the
    run's ``models.engine``) against a bare script that reads the same analysis Parquet, selects
    the same rows (:func:`pbr.fit.frame.model_rows`, so both fit identical rows; N is checked) and
    fits both models with pyfixest (``feglm`` logit and ``feols``, vcov CRV1 by area) or with
    statsmodels and linearmodels (``GLM`` Binomial on area, period and covariate dummies,
    ``cov_type="cluster"`` by area; ``AbsorbingLS`` absorbing area and period, clustered by
    area), each job in a fresh process, one thread as the rule. Printed per job and summed, with
    the largest difference of the DiD coefficient from the pipeline's.
    Target (issue #24): pipeline / bare <= 1.2 (or faster), summed over the jobs.
(c) Whole run: its wall time (``--wall``, else ``bench_run.json`` written by bench_pipeline.py,
    else the span of the timestamps in ``bench_run.log``, which misses Snakemake's start) against
    the sum of its rules' own work (``s`` summed over every benchmark file, divided by the cores):
    the ratio is Snakemake's and I/O's overhead plus whatever the cores sat idle. Also printed:
    the same with each job's seconds weighted by its threads, and the rules without a benchmark
    file (timed from the log; counted as overhead). No target.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

# Only the standard library at module level: every bare step imports this file in its fresh
# process (bench/_timing.py), and what it imports there counts in the bare side's time.
from _targets import target
from _timing import timed
from bench_pipeline import STAMP, read_benchmarks, times_from_log

TARGET_RATIO = 1.2
REGISTERS = ("deaths", "offences")
#: the libraries of part (b)'s bare fits
LIBRARIES = ("pyfixest", "statsmodels")
#: what Snakemake sets to a job's threads (snakemake/shell.py)
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: prefix of the one line of JSON a bare step prints (libraries may print too)
MARK = "BARE-RESULT "
MIB_PER_GIB = 1024


# The run: its config, its jobs' settings and times


def run_config(workdir: Path) -> dict:
    """The config the run used: config/config.yaml updated by bench_scale.yaml, validated (defaults filled)."""
    import yaml

    from pbr.config import validate_config

    config = yaml.safe_load((workdir / "config" / "config.yaml").read_text()) or {}
    extra = workdir / "bench_scale.yaml"
    return validate_config(merged(config, yaml.safe_load(extra.read_text()) if extra.exists() else {}))


def merged(base: dict, update: dict) -> dict:
    """``base`` updated by ``update``, nested dicts merged (as Snakemake merges config files)."""
    out = dict(base)
    for key, value in (update or {}).items():
        out[key] = (
            merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def job_settings(log: Path) -> dict[str, dict[str, int]]:
    """Benchmark file (path relative to the run) -> the job's ``threads`` and ``mem_mb``, from
    Snakemake's log (a job prints ``threads:`` only above 1)."""
    jobs: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for line in log.read_text(errors="replace").splitlines():
        text = line.strip()
        if re.match(r"^(local)?rule \w+:$", text):
            current = None
        elif text.startswith("benchmark: "):
            current = jobs.setdefault(text.removeprefix("benchmark: "), {"threads": 1})
        elif current is not None and text.startswith("threads: "):
            current["threads"] = int(text.removeprefix("threads: "))
        elif current is not None and text.startswith("resources: "):
            mem = re.search(r"\bmem_mb=(\d+)", text)
            if mem:
                current["mem_mb"] = int(mem.group(1))
    return jobs


def provided_cores(log: Path) -> int | None:
    """The cores Snakemake was given ('Provided cores: N' in its log), or None."""
    found = re.search(r"^Provided cores: (\d+)$", log.read_text(errors="replace"), re.M)
    return int(found.group(1)) if found else None


def tsv_row(path: Path) -> dict[str, float]:
    """The last row of a Snakemake benchmark file: ``s`` and ``max_rss`` (MB; NaN when not measured)."""
    with open(path) as f:
        row = list(csv.DictReader(f, delimiter="\t"))[-1]
    rss = row.get("max_rss", "")
    return {"s": float(row["s"]), "max_rss": float(rss) if rss not in ("", "NA", "-") else math.nan}


def rule_log(workdir: Path, rule: str, wildcard: str) -> str:
    """The text of a job's log (results/logs/<rule>/<wildcard>.log); '' when absent."""
    path = workdir / "results" / "logs" / rule / f"{wildcard}.log"
    return path.read_text(errors="replace") if path.exists() else ""


# Measuring a bare step


@contextlib.contextmanager
def thread_environment(threads: int) -> Iterator[None]:
    """Within this block, child processes get the thread variables Snakemake sets for a job of ``threads``."""
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, str(threads)))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def measured(step, job_threads: int, **kwargs: object) -> tuple[float, float, dict]:
    """``step(**kwargs)`` in a fresh process with ``job_threads``: (wall s, peak RSS GiB, the JSON it printed)."""
    with thread_environment(job_threads):
        wall, peak, stdout = timed(step, **kwargs)
    lines = [line for line in stdout.splitlines() if line.startswith(MARK)]
    return wall, peak, json.loads(lines[-1].removeprefix(MARK)) if lines else {}


# (a) bare splink: run in fresh processes by :func:`measured`


def bare_duckdb_linker(left: str, right: str, settings, threads: int, memory_mb: int | None, spill: str):
    """splink's Linker of two linkage-record files over a fresh DuckDB (``threads``, ``memory_mb``)."""
    import logging

    import duckdb
    import pandas as pd
    from splink import DuckDBAPI, Linker

    from pbr.link.records import LINK_COLUMNS

    con = duckdb.connect()
    con.execute(f"SET threads TO {int(threads)}")
    if memory_mb:
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
        con.execute(f"SET temp_directory = '{spill}'")
    db = DuckDBAPI(connection=con)
    tables = [
        db.register(pd.read_parquet(path, columns=LINK_COLUMNS), dataset_display_name=name)
        for name, path in (("ndtms", left), ("register", right))
    ]
    return Linker(tables, settings, log_level=logging.WARNING)


def bare_train(
    left: str,
    right: str,
    model: str,
    recall: float,
    seed: int,
    u_max_pairs: float,
    em_max_pairs: float,
    threads: int,
    memory_mb: int | None,
) -> None:
    """Train as rule train_linkage does, with splink directly; save the model to ``model``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from splink import block_on

    from pbr.link.model import EM_SESSION_BLOCKS, splink_settings

    event_dates = pc.any(pc.is_valid(pq.read_table(right, columns=["event_date"])["event_date"])).as_py()
    linker = bare_duckdb_linker(
        left, right, splink_settings(bool(event_dates)), threads, memory_mb, str(Path(model).parent)
    )
    linker.training.estimate_probability_two_random_records_match(
        [block_on("initials", "dob", "sex", "area_code")], recall=recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    for columns in EM_SESSION_BLOCKS:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*columns), fix_probability_two_random_records_match=True, max_pairs=em_max_pairs
        )
    Path(model).write_text(json.dumps(linker.misc.save_model_to_json()))
    print(MARK + json.dumps({}))


def bare_predict(
    left: str, right: str, model: str, pairs: str, min_probability: float, threads: int, memory_mb: int | None
) -> None:
    """Score the candidate pairs with the saved ``model`` at ``min_probability``; write them to ``pairs``."""
    linker = bare_duckdb_linker(
        left, right, json.loads(Path(model).read_text()), threads, memory_mb, str(Path(pairs).parent)
    )
    scored = linker.inference.predict(threshold_match_probability=min_probability).as_pandas_dataframe()
    scored[["unique_id_l", "unique_id_r", "match_weight", "match_probability"]].to_parquet(pairs)
    print(MARK + json.dumps({"pairs": len(scored)}))


# (b) bare model fits: run in fresh processes by :func:`measured`


def bare_fit(analysis: str, cohort: str, outcome: str, models: dict, period_unit: str, library: str) -> None:
    """Read the analysis table, select the model's rows as the pipeline does, fit the logit and the
    LPM with ``library``; print rows, and each model's DiD coefficient and N (NaN and a reason if it failed)."""
    from pbr import io
    from pbr.fit.frame import analysis_columns, model_rows
    from pbr.fit.spec import FitSpec

    spec = FitSpec.from_config(cohort, outcome, models, period_unit)
    df, _, _ = model_rows(io.read_present_columns(analysis, analysis_columns([outcome], spec)), spec)
    fit = pyfixest_did if library == "pyfixest" else statsmodels_did
    out: dict[str, object] = {"rows": len(df)}
    for model in ("logit", "lpm"):
        if df.empty:  # pyfixest's demeaning aborts the process on an empty frame
            out[model] = {"beta": math.nan, "n": 0, "error": "no rows to fit"}
            continue
        try:
            out[model] = fit(df, outcome, list(spec.covariates), model == "logit")
        except Exception as exc:  # a model a library cannot fit: reported, not fatal
            out[model] = {"beta": math.nan, "n": 0, "error": f"{type(exc).__name__}: {exc}"[:200]}
    print(MARK + json.dumps(out))


def pyfixest_did(df, outcome: str, covariates: list[str], logit: bool) -> dict:
    """The DiD coefficient and N by pyfixest feglm (logit) or feols, CRV1 by area."""
    import pyfixest as pf

    rhs = " + ".join(["did", *[f"C({c})" for c in covariates]])
    formula = f"{outcome} ~ {rhs} | area_code + period_fe"
    vcov = {"CRV1": "area_code"}
    fit = (
        pf.feglm(formula, data=df, family="logit", vcov=vcov)
        if logit
        else pf.feols(formula, data=df, vcov=vcov)
    )
    return {"beta": float(fit.coef()["did"]), "se": float(fit.se()["did"]), "n": int(fit._N)}


def statsmodels_did(df, outcome: str, covariates: list[str], logit: bool) -> dict:
    """The DiD coefficient and N by statsmodels GLM Binomial on dummies (logit) or linearmodels
    AbsorbingLS (LPM), clustered by area."""
    import pandas as pd

    groups = pd.factorize(df["area_code"])[0]
    did = df[["did"]].astype(float)
    dummies = pd.get_dummies(df[covariates], drop_first=True, dtype=float)
    if logit:
        import statsmodels.api as sm

        x = pd.concat(
            [
                did,
                dummies,
                pd.get_dummies(df["area_code"], prefix="area", dtype=float),
                pd.get_dummies(df["period_fe"], prefix="period", drop_first=True, dtype=float),
            ],
            axis=1,
        )
        res = sm.GLM(df[outcome].astype(float), x, family=sm.families.Binomial()).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
        return {"beta": float(res.params["did"]), "se": float(res.bse["did"]), "n": int(res.nobs)}
    from linearmodels.iv.absorbing import AbsorbingLS

    absorb = pd.DataFrame(
        {"area": pd.Categorical(df["area_code"]), "period": pd.Categorical(df["period_fe"])}, index=df.index
    )
    res = AbsorbingLS(df[outcome].astype(float), pd.concat([did, dummies], axis=1), absorb=absorb).fit(
        cov_type="clustered", clusters=groups
    )
    return {"beta": float(res.params["did"]), "se": float(res.std_errors["did"]), "n": int(res.nobs)}


# (a) the link stage


def link_inputs(workdir: Path, register: str) -> tuple[Path, Path]:
    """The linkage records rule train_linkage and predict_links read (NDTMS persons, the register's)."""
    extract = workdir / "results" / "extract"
    return extract / "link_records_ndtms.parquet", extract / f"link_records_{register}.parquet"


def duckdb_memory_mb(job: dict[str, int]) -> int | None:
    """The DuckDB memory limit the rule set for a job of ``job['mem_mb']`` (as pbr.link.model does)."""
    from pbr.link.model import duckdb_memory_mb as of_job

    return of_job(job.get("mem_mb"))


def pipeline_pairs(workdir: Path, register: str) -> int | None:
    """The candidate pairs predict_links scored (from its log), or None."""
    found = re.search(rf"{register}: (\d+) candidate pairs", rule_log(workdir, "predict_links", register))
    return int(found.group(1)) if found else None


def matching_seconds(workdir: Path, register: str) -> float | None:
    """Seconds predict_links spent matching pairs and building link tables (its log's phase 2), or None."""
    found = re.search(
        r"phase 2 of 2 \(matching .*?\) done in ([\d.]+) s", rule_log(workdir, "predict_links", register)
    )
    return float(found.group(1)) if found else None


def model_difference(a: dict, b: dict) -> float:
    """The largest absolute difference of lambda and every level's m and u between two splink models."""
    diffs = [abs(a["probability_two_random_records_match"] - b["probability_two_random_records_match"])]
    for ca, cb in zip(a["comparisons"], b["comparisons"], strict=True):
        for la, lb in zip(ca["comparison_levels"], cb["comparison_levels"], strict=True):
            diffs += [abs(la[k] - lb[k]) for k in ("m_probability", "u_probability") if k in la and k in lb]
    return max(diffs)


def bare_link(workdir: Path, register: str, cfg: dict, jobs: dict, out: Path) -> dict[str, tuple]:
    """Train and predict one register barely, each step in a fresh process with the rule's threads and
    DuckDB memory; return {'train': (wall, peak, payload), 'predict': ...} and the bare model's path."""
    left, right = link_inputs(workdir, register)
    model, pairs = out / f"model_{register}.json", out / f"pairs_{register}.parquet"
    train_job = jobs.get(f"results/benchmarks/train_linkage/{register}.tsv", {"threads": 2, "mem_mb": 6000})
    predict_job = jobs.get(f"results/benchmarks/predict_links/{register}.tsv", {"threads": 2, "mem_mb": 6000})
    train = measured(
        bare_train,
        train_job["threads"],
        left=left,
        right=right,
        model=model,
        recall=cfg["recall"],
        seed=cfg["seed"],
        u_max_pairs=cfg["u_max_pairs"],
        em_max_pairs=cfg["em_max_pairs"],
        threads=train_job["threads"],
        memory_mb=duckdb_memory_mb(train_job),
    )
    predict = measured(
        bare_predict,
        predict_job["threads"],
        left=left,
        right=right,
        model=model,
        pairs=pairs,
        min_probability=cfg["min_probability"],
        threads=predict_job["threads"],
        memory_mb=duckdb_memory_mb(predict_job),
    )
    return {"train": train, "predict": predict, "model": model, "threads": train_job["threads"]}


def pipeline_link(workdir: Path, register: str) -> dict[str, dict[str, float]]:
    """The rules' own time and peak per step of one register (benchmark files)."""
    bench = workdir / "results" / "benchmarks"
    return {
        "train": tsv_row(bench / "train_linkage" / f"{register}.tsv"),
        "predict": tsv_row(bench / "predict_links" / f"{register}.tsv"),
    }


#: what rules train_linkage and predict_links write per register (results/...), compared after a re-run
LINK_OUTPUTS = (
    "link/model_{r}.json",
    "link/{r}.parquet",
    "link/pairs_{r}.parquet",
    "link/candidates_{r}.parquet",
    "link/exact_{r}.parquet",
    "link/flow_{r}.parquet",
)


def link_rules_alone(workdir: Path, cores: int) -> dict[str, dict]:
    """The link rules re-run in the finished run, one job at a time: {register: pipeline_link(...) and
    ``matching_s``, predict_links' seconds matching and on link tables (:func:`matching_seconds`)}.

    In the run, two 2-thread link jobs may share the 2 cores (and the bare steps run alone), so the
    rules are re-run here alone (``--forcerun``, ``--cores`` the run's: one 2-thread job at a time)
    for a like-for-like time. Their outputs must come out byte for byte as the run wrote them (else
    SystemExit); the run's own benchmark files and logs are put back afterwards.
    """
    from bench_pipeline import SNAKEMAKE

    res = workdir / "results"
    outputs = [res / o.format(r=r) for r in REGISTERS for o in LINK_OUTPUTS]
    before = {p: p.read_bytes() for p in outputs}
    times = {p: (p.stat().st_atime_ns, p.stat().st_mtime_ns) for p in outputs}
    kept = [
        res / kind / rule / f"{r}.{ext}"
        for r in REGISTERS
        for rule in ("train_linkage", "predict_links")
        for kind, ext in (("benchmarks", "tsv"), ("logs", "log"))
    ]
    saved = {p: (p.read_bytes(), (p.stat().st_atime_ns, p.stat().st_mtime_ns)) for p in kept if p.exists()}
    targets = [str(p.relative_to(workdir)) for p in outputs]
    cmd = [*SNAKEMAKE, *targets, "--cores", str(cores), "--forcerun", "train_linkage", "predict_links"]
    extra = workdir / "bench_scale.yaml"
    cmd += ["--configfile", extra.name] if extra.exists() else []
    try:
        proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"re-running the link rules failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
        changed = [str(p.relative_to(workdir)) for p in outputs if p.read_bytes() != before[p]]
        if changed:
            raise SystemExit(f"the link rules re-run alone wrote other bytes: {changed}")
        return {
            r: {**pipeline_link(workdir, r), "matching_s": matching_seconds(workdir, r)} for r in REGISTERS
        }
    finally:
        for path, (data, ns) in saved.items():
            path.write_bytes(data)
            os.utime(path, ns=ns)
        for path, ns in times.items():  # same bytes, same times: the run's later rules stay up to date
            os.utime(path, ns=ns)


def link_side_by_side(workdir: Path, cfg: dict, jobs: dict, out: Path, cores: int) -> float:
    """Print part (a); return pipeline (its rules re-run alone) / bare over both registers."""
    print(
        "\n## (a) Link stage: rules train_linkage + predict_links against bare splink (same records, settings)"
    )
    if cfg["method"] != "probabilistic":
        print(f"  linkage.method is {cfg['method']!r}: no splink model to compare")
        return math.nan
    in_run = {register: pipeline_link(workdir, register) for register in REGISTERS}
    alone = link_rules_alone(workdir, cores)
    print(
        f"  {'register':9s} {'step':8s} {'in run s':>9s} {'alone s':>8s} {'bare s':>8s} {'ratio':>6s} "
        f"{'pipe GiB':>9s} {'bare GiB':>9s}"
    )
    totals = {"in_run": 0.0, "alone": 0.0, "bare": 0.0}
    notes = []
    for register in REGISTERS:
        bare = bare_link(workdir, register, cfg, jobs, out)
        for step in ("train", "predict"):
            wall, peak, _ = bare[step]
            p, a = in_run[register][step], alone[register][step]
            totals["in_run"] += p["s"]
            totals["alone"] += a["s"]
            totals["bare"] += wall
            print(
                f"  {register:9s} {step:8s} {p['s']:9.1f} {a['s']:8.1f} {wall:8.1f} {a['s'] / wall:6.2f} "
                f"{a['max_rss'] / MIB_PER_GIB:9.2f} {peak:9.2f}"
            )
        pipe_model = json.loads((workdir / "results" / "link" / f"model_{register}.json").read_text())
        diff = model_difference(pipe_model, json.loads(bare["model"].read_text()))
        matching = alone[register]["matching_s"]
        notes.append(
            f"  {register}: scored pairs pipeline {pipeline_pairs(workdir, register)}, bare "
            f"{bare['predict'][2].get('pairs')}; max |diff| of lambda, m, u {diff:.1e}; "
            f"predict_links (alone) spent {'?' if matching is None else f'{matching:.0f}'} s matching and "
            "on link tables (not in the bare script)"
        )
    ratio = totals["alone"] / totals["bare"]
    print(
        f"  {'both':9s} {'all':8s} {totals['in_run']:9.1f} {totals['alone']:8.1f} {totals['bare']:8.1f} "
        f"{ratio:6.2f}"
    )
    print(
        "  in run: the rules' times in the run, where two link jobs may share the cores; alone: the same "
        "rules re-run one at a time (same output bytes), as the bare steps run; ratio = alone / bare"
    )
    print("\n".join(notes))
    target(f"link stage pipeline / bare splink <= {TARGET_RATIO}", f"{ratio:.2f}", ratio <= TARGET_RATIO)
    return ratio


# (b) the fit stage


def fit_jobs(workdir: Path) -> list[tuple[str, str]]:
    """(cohort, outcome) of every fit_did job of the run (its benchmark files)."""
    bench = workdir / "results" / "benchmarks" / "fit_did"
    return [(tsv.parent.name, tsv.stem) for tsv in sorted(bench.glob("*/*.tsv"))]


def pipeline_fit(workdir: Path, cohort: str, outcome: str) -> dict[str, object]:
    """The fit_did job's time and peak, and its DiD coefficient and N per model (NaN: not estimable)."""
    import pandas as pd

    row = tsv_row(workdir / "results" / "benchmarks" / "fit_did" / cohort / f"{outcome}.tsv")
    res = pd.read_parquet(workdir / "results" / "fit" / cohort / f"{outcome}.parquet").set_index("method")
    for model, method in (("logit", "logit_crv1"), ("lpm", "lpm_crv1")):
        row[model] = {"beta": float(res.loc[method, "beta"]), "n": int(res.loc[method, "n"])}
    return row


def beta_difference(pipe: dict, bare: dict) -> float:
    """The larger |DiD coefficient difference| of the logit and LPM (NaN where either has none)."""
    diffs = [abs(pipe[m]["beta"] - bare[m]["beta"]) for m in ("logit", "lpm") if m in bare]
    diffs = [d for d in diffs if not math.isnan(d)]
    return max(diffs) if diffs else math.nan


def n_check(pipe: dict, bare: dict) -> str:
    """'same' when the bare fits used the pipeline's N (each model the pipeline estimated), else what differs."""
    odd = [
        f"{m} {bare[m]['n']} vs {pipe[m]['n']}"
        for m in ("logit", "lpm")
        if m in bare and not math.isnan(pipe[m]["beta"]) and bare[m]["n"] != pipe[m]["n"]
    ]
    return "; ".join(odd) or "same"


def bare_fits(workdir: Path, config: dict, cohort: str, outcome: str, libraries: list[str]) -> dict:
    """Library -> (wall s, peak GiB, result) of the bare fit of one job, each in a fresh one-thread
    process; (NaN, NaN, {'crash': message}) for a process that died."""
    out = {}
    for lib in libraries:
        try:
            out[lib] = measured(
                bare_fit,
                1,
                analysis=workdir / "results" / "derive" / f"analysis_{cohort}.parquet",
                cohort=cohort,
                outcome=outcome,
                models=config["models"],
                period_unit=config["study"]["period_unit"],
                library=lib,
            )
        except SystemExit as exc:  # bench/_timing.py's report of a failed process
            out[lib] = (math.nan, math.nan, {"crash": str(exc).strip().splitlines()[-1][:200]})
    return out


def fit_notes(job: str, lib: str, pipe: dict, bare: dict) -> list[str]:
    """What to say of one bare fit: an N that differs from the pipeline's, a model it could not fit."""
    check = n_check(pipe, bare)
    notes = [f"{job} {lib}: N {check}"] if check != "same" else []
    return notes + [
        f"{job} {lib} {m}: {bare[m]['error']}" for m in ("logit", "lpm") if "error" in bare.get(m, {})
    ]


def fit_cell(pipe: dict, wall: float, result: dict) -> str:
    """One library's columns of a job's line: its seconds, pipeline / bare, |d beta|, whether N agrees."""
    same_n = "ok" if n_check(pipe, result) == "same" else "DIFF"
    return f"{wall:14.2f} {pipe['s'] / wall:6.2f} {beta_difference(pipe, result):8.1e} {same_n:>4s}"


def fit_side_by_side(workdir: Path, config: dict, libraries: list[str]) -> dict[str, float]:
    """Print part (b); return pipeline / bare summed over the jobs every bare library finished, per library."""
    print(
        f"\n## (b) Fit stage: fit_did jobs (engine {config['models']['engine']}) against bare "
        f"{' and '.join(libraries)} fits of the same rows (one thread each)"
    )
    cols = " ".join(f"{lib + ' s':>14s} {'ratio':>6s} {'|d beta|':>8s} {'N':>4s}" for lib in libraries)
    print(f"  {'cohort/outcome':42s} {'rows':>6s} {'pipeline s':>10s} {cols}")
    sums = dict.fromkeys(["pipeline", *libraries], 0.0)
    peaks = dict.fromkeys(["pipeline", *libraries], 0.0)
    worst = dict.fromkeys(libraries, 0.0)
    notes: list[str] = []
    for cohort, outcome in fit_jobs(workdir):
        job = f"{cohort}/{outcome}"
        pipe, bare = (
            pipeline_fit(workdir, cohort, outcome),
            bare_fits(workdir, config, cohort, outcome, libraries),
        )
        crashed = [lib for lib, (_, _, result) in bare.items() if "crash" in result]
        notes += [
            f"{job} {lib}: the process died ({bare[lib][2]['crash']}); job left out of the sums"
            for lib in crashed
        ]
        if not crashed:
            sums["pipeline"] += pipe["s"]
        peaks["pipeline"] = max(peaks["pipeline"], pipe["max_rss"] / MIB_PER_GIB)
        cells = []
        for lib, (wall, peak, result) in bare.items():
            if lib in crashed:
                cells.append(f"{'died':>14s} {'':6s} {'':8s} {'':4s}")
                continue
            if not crashed:
                sums[lib] += wall
            peaks[lib] = max(peaks[lib], peak)
            diff = beta_difference(pipe, result)
            worst[lib] = worst[lib] if math.isnan(diff) else max(worst[lib], diff)
            cells.append(fit_cell(pipe, wall, result))
            notes += fit_notes(job, lib, pipe, result)
        rows = next(iter(bare.values()))[2].get("rows", "?")
        print(f"  {job:42s} {rows!s:>6s} {pipe['s']:10.2f} " + " ".join(cells))
    ratios = {lib: sums["pipeline"] / sums[lib] for lib in libraries}
    total = " ".join(f"{sums[lib]:14.2f} {ratios[lib]:6.2f} {worst[lib]:8.1e} {'':4s}" for lib in libraries)
    print(f"  {'all jobs (summed)':42s} {'':6s} {sums['pipeline']:10.2f} {total}")
    print("  peak RSS of one job: " + ", ".join(f"{k} {v:.2f} GiB" for k, v in peaks.items()))
    for line in notes:
        print(f"  note: {line}")
    for lib, ratio in ratios.items():
        target(f"fit stage pipeline / bare {lib} <= {TARGET_RATIO}", f"{ratio:.2f}", ratio <= TARGET_RATIO)
    return ratios


# (c) the whole run


def run_wall(workdir: Path, wall: float | None) -> tuple[float | None, str]:
    """The run's wall time and where it came from: ``--wall``, bench_run.json, or the log's timestamps."""
    if wall is not None:
        return wall, "--wall"
    stored = workdir / "bench_run.json"
    if stored.exists():
        return float(json.loads(stored.read_text())["wall_s"]), "bench_run.json"
    from datetime import datetime

    stamps = [
        datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        for m in (
            STAMP.match(line.strip())
            for line in (workdir / "bench_run.log").read_text(errors="replace").splitlines()
        )
        if m
    ]
    if len(stamps) < 2:
        return None, "not found (pass --wall)"
    return (
        stamps[-1] - stamps[0]
    ).total_seconds(), "the log's first and last timestamps (Snakemake's start not counted)"


def rules_work(workdir: Path, jobs: dict) -> tuple[int, float, float]:
    """(benchmark files, their ``s`` summed, ``s`` x the job's threads summed)."""
    files = sorted((workdir / "results" / "benchmarks").rglob("*.tsv"))
    seconds = [tsv_row(f)["s"] for f in files]
    threads = [jobs.get(str(f.relative_to(workdir)), {}).get("threads", 1) for f in files]
    return len(files), sum(seconds), sum(s * t for s, t in zip(seconds, threads, strict=True))


def unbenchmarked_seconds(workdir: Path) -> float:
    """Seconds of the rules without a benchmark file, from the timestamps of Snakemake's log."""
    benchmarked = read_benchmarks(workdir / "results")
    timed_rules = times_from_log(workdir / "bench_run.log")
    return sum(st.total_s for rule, st in timed_rules.items() if rule != "all" and rule not in benchmarked)


def overhead(workdir: Path, jobs: dict, wall: float | None, cores: int) -> float:
    """Print part (c); return wall / (rules' own seconds / cores)."""
    print("\n## (c) Whole run against the sum of its rules' own work")
    wall, source = run_wall(workdir, wall)
    n, plain, weighted = rules_work(workdir, jobs)
    print(f"  wall time: {'n/a' if wall is None else f'{wall:.1f} s'} (from {source}), {cores} cores")
    print(
        f"  rules' own work: {plain:.1f} s over {n} benchmark files -> {plain / cores:.1f} s on {cores} cores"
    )
    print(
        f"  weighted by each job's threads: {weighted:.1f} core-s -> {weighted / cores:.1f} s on {cores} cores"
    )
    print(
        f"  rules without a benchmark file (log timestamps, 1 s resolution): "
        f"{unbenchmarked_seconds(workdir):.0f} s, counted as overhead"
    )
    if wall is None:
        return math.nan
    ratio = wall / (plain / cores)
    print(f"  wall / (own work / cores): {ratio:.2f}; thread-weighted: {wall / (weighted / cores):.2f}")
    return ratio


def load() -> str:
    """The machine's 1, 5 and 15 minute load averages (the bare steps' times depend on them)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--workdir", type=Path, required=True, help="a finished run: bench_pipeline.py --keep K -> K/scale_S"
    )
    ap.add_argument(
        "--parts", nargs="+", choices=["link", "fit", "overhead"], default=["link", "fit", "overhead"]
    )
    ap.add_argument(
        "--libraries", nargs="+", choices=LIBRARIES, default=list(LIBRARIES), help="bare fit libraries (b)"
    )
    ap.add_argument("--wall", type=float, default=None, help="the run's wall time in seconds, for (c)")
    ap.add_argument("--cores", type=int, default=None, help="the run's cores (default: from its log)")
    args = ap.parse_args()
    workdir = args.workdir.resolve()
    if not (workdir / "results" / "benchmarks").is_dir():
        raise SystemExit(
            f"{workdir}/results/benchmarks not found: pass a finished run (bench_pipeline.py --keep)"
        )
    config = run_config(workdir)
    log = workdir / "bench_run.log"
    jobs = job_settings(log) if log.exists() else {}
    cores = args.cores or (provided_cores(log) if log.exists() else None) or 2
    print(f"side by side: {workdir} (scale {config['synthetic'].get('scale')}, {cores} cores)")
    print(
        f"load average at the start: {load()} (the run's jobs were timed earlier, perhaps under another load)"
    )
    t0 = time.perf_counter()
    if "link" in args.parts:
        with tempfile.TemporaryDirectory(prefix="pbr-bare-") as out:
            link_side_by_side(workdir, config["linkage"], jobs, Path(out), cores)
    if "fit" in args.parts:
        fit_side_by_side(workdir, config, args.libraries)
    if "overhead" in args.parts:
        overhead(workdir, jobs, args.wall, cores)
    print(f"\n(this benchmark took {time.perf_counter() - t0:.0f} s; load average at the end: {load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
