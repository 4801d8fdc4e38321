"""Benchmark linkage against registers larger than the cohort's (issue #24).

Usage::

    .venv/bin/python bench/bench_registers.py                          # scale 1, multipliers 1 5 20
    .venv/bin/python bench/bench_registers.py --scale 0.05 --multipliers 1 5 20
    .venv/bin/python bench/bench_registers.py --national               # 3.5M deaths, 10M offences
    .venv/bin/python bench/bench_registers.py --national --skip-pairs  # without counting the pairs
    .venv/bin/python bench/bench_registers.py --national --keep /tmp/reg  # keep the files

What is measured. The cohort stays at ``--scale``; the registers grow with
``synthetic.registers.size_multiplier`` (``--multipliers``: each multiplies both unrelated
populations, so a register holds ``client x (1 + 5 x multiplier)`` records). Per multiplier the
extracts are generated and validated once, in a fresh process (wall time and peak RSS printed,
not counted). Then the linkage runs as the workflow's jobs run it, each job in a fresh process:
the NDTMS side's linkage records once (rule link_records[ndtms]), and per register (deaths,
offences) its linkage records (link_records), the model (train_linkage) and the scored, matched
pairs and link tables (predict_links, reading only the candidate units' rows of the register's
linked columns, as the rule does); 2 threads for training and prediction; DuckDB held to the share
of the link rules' memory that the workflow gives it, ``--job-mem-mb``. (Before session 23 one
process did all three steps of a register, holding the whole register and its records at once:
8.95 GiB for 10 million offence records. Measured job by job, predict_links held 7.38 GiB reading
the register's linked columns whole, and 6.56 GiB reading only the candidate units' rows, as the
rule now does.) Its blocking rules' candidate pairs are counted in another fresh process (not
timed): per rule, from its keys' frequencies on each side without forming the pairs (equal to
splink's exact count per rule, checked at scale 0.02), summed over the rules, an upper bound of
the distinct pairs scored (1.7-1.9 times them at scale 0.02,
where most pairs are true ones that several rules find).

Printed per register and multiplier: register rows, link records (PNC: offender identities),
candidate pairs, (person, unit) pairs kept at p >= linkage.min_probability, each job's seconds
(records, train, predict with matching and the link tables; ``wall_s`` their sum) and peak RSS;
then the seconds of each phase the library logs (training: lambda, u, the three EM sessions;
prediction: scoring the pairs in splink, matching and the link tables). Then, between
consecutive multipliers, each figure's and each phase's growth exponent: log(its ratio) /
log(ratio of register rows); 1 is linear. Fixed costs (the NDTMS side, Python and library
start, u from a fixed number of sampled pairs, EM on at most linkage.em_max_pairs pairs) keep the
exponents of time and memory below 1 while they dominate. One step grows faster underneath:
splink 5's EM blocks both sides concatenated against themselves, so a session also forms (and
drops) the register's pairs with itself within its key, about (its link pairs) x (register
records / persons): with the square of the register while the session is below em_max_pairs
(at scale 0.05, multiplier 20, the initials-area-sex session formed 57 million pairs to keep 0.92
million; 4.8 s), linearly once its records are sampled down to em_max_pairs.

Sizes: at scale 1 the default registers hold 160,722 deaths and 2,720,190 offence records, so
multiplier 20 makes 2.7 million deaths and 46 million offence records. Measured at scale 0.05
(session of issue #24), generation took about 0.7 GiB and linking the offences about 0.9 GiB
per million offence records: scale 1 at multiplier 20 would need well over this machine's 23 GiB.
``--national`` (10 million offence records) was run in session 23: generating and validating took
10.5 GiB, the largest link job 6.56 GiB (docs/cluster.md).

``--national`` links registers of national size instead: the unrelated ratios are set per
register from the registers' client records at ``--scale`` (counted first, not timed) so that
``ons_deaths`` holds ``--national-deaths`` records (3.5 million: England and Wales, 2009-2015)
and ``pnc_offences`` ``--national-offences`` (10 million); the sizes reached are printed.

Target (issue #24, this 2-core machine), printed MET / NOT MET with ``--national``: at scale 1,
both national-size registers linked (every link job's wall time summed, the NDTMS records' job
included; the largest job's peak) in at most 10 minutes and 6 GiB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import re
import sys
import tempfile
from pathlib import Path
from time import perf_counter

from _targets import target
from _timing import timed
from bench_linkage import SECRET, TRANSFERS, prepare

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pandas as pd  # noqa: E402

from pbr import io  # noqa: E402
from pbr.link import matching, model, records  # noqa: E402
from pbr.link.model import DUCKDB_MEMORY_SHARE, duckdb_memory_mb  # noqa: E402
from pbr.registry.registers import REGISTERS  # noqa: E402

#: the memory (MB) the workflow gives train_linkage and predict_links (workflow/rules/link.smk)
LINK_JOB_MEM_MB = 6000
#: Target (issue #24): both national-size registers linked at scale 1 within these
TARGET_SECONDS, TARGET_GIB = 600, 6.0
NATIONAL_DEATHS, NATIONAL_OFFENCES = 3_500_000, 10_000_000
#: the figures whose growth with the register rows is printed
GROWTH = ("candidate_pairs", "unit_pairs", "train_s", "predict_s", "wall_s", "peak_gib")


def national_ratios(scale: float, seed: int, deaths: int, offences: int) -> None:
    """Print, as JSON, the unrelated ratios that bring the registers at ``scale`` to ``deaths`` and
    ``offences`` records, and the client records they were computed from (generated twice: the
    clients' deaths first, then their offences, which the deaths' ratio moves: both registers
    draw from one random stream)."""
    from pbr.synthetic import generator, params

    def clients(registers: params.RegistersParams, kind: str) -> int:
        settings = params.SyntheticParams(scale=scale, seed=seed, registers=registers)
        return generator.generate(settings).effects["registers"][f"{kind}_client"]

    dead = clients(params.RegistersParams(), "deaths")
    ratios = {"deaths_unrelated_ratio": deaths / dead - 1}
    offending = clients(params.RegistersParams(**ratios), "offences")
    ratios["offences_unrelated_ratio"] = offences / offending - 1
    print(json.dumps({"ratios": ratios, "deaths_client": dead, "offences_client": offending}))


def pair_count_sql(keys: list[tuple[str, str]]) -> str:
    """SQL counting the pairs of tables ``l`` and ``r`` whose ``keys`` (each a pair of expressions,
    left and right) are equal: per key value, its rows on the left times its rows on the right."""
    left = ", ".join(f"{lk} AS k{i}" for i, (lk, _) in enumerate(keys))
    right = ", ".join(f"{rk} AS k{i}" for i, (_, rk) in enumerate(keys))
    using = ", ".join(f"k{i}" for i in range(len(keys)))
    return (
        f"WITH a AS (SELECT {left}, count(*) AS n FROM l GROUP BY ALL), "
        f"b AS (SELECT {right}, count(*) AS n FROM r GROUP BY ALL) "
        f"SELECT coalesce(sum(a.n * b.n), 0) FROM a JOIN b USING ({using})"
    )


def count_pairs(tmp: str, name: str) -> None:
    """Print, as a JSON list, the candidate pairs each of the model's blocking rules makes (the
    rules' equality keys; their pairs are never formed)."""
    import duckdb

    from pbr.link.model import blocking_rules

    left = io.read_table(Path(tmp) / "records_ndtms.parquet")
    right = io.read_table(Path(tmp) / f"records_{name}.parquet")
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("l", left)
    con.register("r", right)
    rules = [rule.get_blocking_rule("duckdb")._equi_join_conditions for rule in blocking_rules()]
    print(json.dumps([int(con.execute(pair_count_sql(keys)).fetchone()[0]) for keys in rules]))


#: a phase's log lines (:class:`pbr.logs.Phases`): "<what>: phase i of n (<name>) started" / "done in"
PHASE_LINE = re.compile(r"^(?P<what>.+?): phase \d+ of \d+ \((?P<name>.+)\) (?P<event>started|done in)")


def phase_label(name: str) -> str:
    """A short label for a linkage phase ('u by random sampling of up to ...' -> 'u')."""
    for prefix, label in (("lambda", "lambda"), ("u by", "u"), ("scoring", "score"), ("matching", "match")):
        if name.startswith(prefix):
            return label
    return name.replace("EM training blocked on ", "EM ").replace("area_code", "area")


class PhaseClock(logging.Handler):
    """Seconds of each phase that :class:`pbr.logs.Phases` logs, to the precision of perf_counter."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        line = PHASE_LINE.match(record.getMessage())
        if line:
            label = phase_label(line["name"])
            if line["event"] == "started":
                self.started[label] = perf_counter()
            else:
                self.seconds[label] = perf_counter() - self.started.pop(label)


def _phase_clock() -> PhaseClock:
    clock, logger = PhaseClock(), logging.getLogger("pbr")
    logger.setLevel(logging.INFO)
    logger.addHandler(clock)
    return clock


def records_job(tmp: str, side: str) -> None:
    """Rule link_records: one side's linkage records (``ndtms`` or a register) from the validated
    table, written to ``tmp``/records_``side``.parquet; its sizes to ``tmp``/records_``side``.json."""
    valid = Path(tmp) / "valid"
    areas = io.read_table(valid / "areas.parquet")
    if side == "ndtms":
        tops = io.read_table(valid / "ndtms_top.parquet", columns=["episode_id", "top_date"])
        table = io.read_table(valid / "ndtms_episodes.parquet", columns=records.NDTMS_RECORD_COLUMNS)
        out = records.ndtms_link_records(table, SECRET, areas, tops, TRANSFERS)
    else:
        spec = REGISTERS[side]
        table = io.read_table(
            valid / f"{spec['table']}.parquet", columns=records.register_record_columns(spec)
        )
        out = records.register_link_records(
            table, spec["id"], areas, spec["group"], spec.get("event"), SECRET
        )
    io.write_table(out, Path(tmp) / f"records_{side}.parquet")
    (Path(tmp) / f"records_{side}.json").write_text(json.dumps({"rows": len(table), "records": len(out)}))


def train_job(cfg: dict, tmp: str, name: str, memory_mb: int | None) -> None:
    """Rule train_linkage: the model of register ``name`` from the two sides' records (2 threads)."""
    clock = _phase_clock()
    left, right = (
        io.read_table(Path(tmp) / "records_ndtms.parquet"),
        io.read_table(Path(tmp) / f"records_{name}.parquet"),
    )
    trained = model.train_link_model(
        left, right, cfg["recall"], cfg["seed"], cfg["u_max_pairs"], 2, cfg["em_max_pairs"], memory_mb
    )
    (Path(tmp) / f"model_{name}.json").write_text(json.dumps(trained))
    (Path(tmp) / f"phases_train_{name}.json").write_text(json.dumps(clock.seconds))


def predict_job(cfg: dict, tmp: str, name: str, memory_mb: int | None) -> None:
    """Rule predict_links: score, match and write the link tables of register ``name`` (2 threads),
    reading what the rule reads (the register's linked columns only)."""
    clock = _phase_clock()
    spec = REGISTERS[name]
    left, right = (
        io.read_table(Path(tmp) / "records_ndtms.parquet"),
        io.read_table(Path(tmp) / f"records_{name}.parquet"),
    )
    register = Path(tmp) / "valid" / f"{spec['table']}.parquet"  # as the rule: read lazily
    trained = json.loads((Path(tmp) / f"model_{name}.json").read_text())
    out = matching.link_register_probabilistic(left, right, register, spec, trained, cfg, name, 2, memory_mb)
    for table in ("links", "pairs", "candidates", "exact"):
        io.write_table(out[table], Path(tmp) / f"{table}_{name}.parquet")
    (Path(tmp) / f"phases_predict_{name}.json").write_text(json.dumps(clock.seconds))
    (Path(tmp) / f"predict_{name}.json").write_text(json.dumps({"unit_pairs": len(out["pairs"])}))


def generate(tmp: str, scale: float, seed: int, registers: dict) -> None:
    """Generate and validate the extracts into ``tmp``; print the time, peak and registers' sizes."""
    from pbr.synthetic.params import NoiseParams

    moves = NoiseParams().register_area_move_same_region
    wall, peak, _ = timed(
        prepare,
        scale=scale,
        seed=seed,
        tmp=tmp,
        same_region_moves=moves,
        noise_overrides={},
        registers=registers,
    )
    sizes = json.loads((Path(tmp) / "registers.json").read_text())
    print(
        f"  extracts generated and validated in {wall:.0f} s, peak {peak:.2f} GiB (not counted): "
        f"{sizes['deaths_client'] + sizes['deaths_unrelated']:,} deaths ({sizes['deaths_client']:,} clients'), "
        f"{sizes['offences_client'] + sizes['offences_unrelated']:,} offences ({sizes['offences_client']:,} clients')"
    )


def link(tmp: str, cfg: dict, name: str, memory_mb: int | None, count: bool) -> dict:
    """Link register ``name`` as the workflow's rules do, each job in a fresh process (link_records,
    train_linkage, predict_links; the NDTMS side's records are built once, by :func:`ndtms_records`),
    and count its candidate pairs in another; its figures."""
    records_s, records_gib, _ = timed(records_job, tmp=tmp, side=name)
    train_s, train_gib, _ = timed(train_job, cfg=cfg, tmp=tmp, name=name, memory_mb=memory_mb)
    predict_s, predict_gib, _ = timed(predict_job, cfg=cfg, tmp=tmp, name=name, memory_mb=memory_mb)
    sizes = json.loads((Path(tmp) / f"records_{name}.json").read_text())
    phases = {
        **json.loads((Path(tmp) / f"phases_train_{name}.json").read_text()),
        **json.loads((Path(tmp) / f"phases_predict_{name}.json").read_text()),
    }
    pairs = sum(json.loads(timed(count_pairs, tmp=tmp, name=name)[2])) if count else float("nan")
    return {
        "register": name,
        "register_rows": sizes["rows"],
        "link_records": sizes["records"],
        "candidate_pairs": pairs,
        "unit_pairs": json.loads((Path(tmp) / f"predict_{name}.json").read_text())["unit_pairs"],
        "records_s": records_s,
        "train_s": train_s,
        "predict_s": predict_s,
        "wall_s": records_s + train_s + predict_s,
        "records_gib": records_gib,
        "train_gib": train_gib,
        "predict_gib": predict_gib,
        "peak_gib": max(records_gib, train_gib, predict_gib),
        "phases": phases,
    }


def ndtms_records(tmp: str) -> dict:
    """The NDTMS side's linkage records (rule link_records[ndtms]), built once for both registers."""
    wall, peak, _ = timed(records_job, tmp=tmp, side="ndtms")
    sizes = json.loads((Path(tmp) / "records_ndtms.json").read_text())
    print(f"  NDTMS linkage records: {sizes['records']:,} persons in {wall:.1f} s, peak {peak:.2f} GiB")
    return {"wall_s": wall, "peak_gib": peak}


def work_directory(keep: Path | None, label: str) -> contextlib.AbstractContextManager[str]:
    """Where a run's extracts, records, models and link tables go: ``keep``/``label`` (created,
    kept afterwards) or a temporary directory (removed)."""
    if keep is None:
        return tempfile.TemporaryDirectory()
    (keep / label).mkdir(parents=True, exist_ok=True)
    return contextlib.nullcontext(str(keep / label))


def measure(args: argparse.Namespace, cfg: dict, registers: dict, label: str) -> tuple[list[dict], dict]:
    """Generate the extracts with ``registers`` (RegistersParams settings), link each register;
    (a row of figures per register, the NDTMS side's records job)."""
    memory_mb = duckdb_memory_mb(args.job_mem_mb)  # as the workflow's rules set it
    with work_directory(args.keep, label) as tmp:
        generate(tmp, args.scale, args.seed, registers)
        ndtms = ndtms_records(tmp)
        return [link(tmp, cfg, name, memory_mb, not args.skip_pairs) for name in sorted(REGISTERS)], ndtms


def print_runs(runs: pd.DataFrame) -> None:
    """The figures of every register and multiplier, then the seconds of their linkage's phases."""
    columns = ["register", "multiplier", "register_rows", "link_records", "candidate_pairs", "unit_pairs"]
    columns += ["records_s", "train_s", "predict_s", "wall_s", "records_gib", "train_gib", "predict_gib"]
    print("\n" + runs[columns].to_string(index=False, float_format=lambda v: f"{v:,.2f}"))
    print("\nseconds per phase (training: lambda, u, EM sessions by blocking; prediction: score, match):")
    print(phase_table(runs).to_string(index=False, float_format=lambda v: f"{v:,.2f}"))


def phase_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Register, multiplier, register rows and the seconds of each phase of its linkage."""
    phases = pd.DataFrame(list(runs["phases"]), index=runs.index)
    return pd.concat([runs[["register", "multiplier", "register_rows"]], phases], axis=1)


def exponent(y0: float, y1: float, x0: float, x1: float) -> float:
    """log(y1 / y0) / log(x1 / x0): how ``y`` grows with ``x`` (1: linearly); NaN if undefined."""
    if not (y0 > 0 and y1 > 0 and x0 > 0 and x1 > 0) or x0 == x1:
        return float("nan")
    return math.log(y1 / y0) / math.log(x1 / x0)


def growth(runs: pd.DataFrame, figures: list[str]) -> pd.DataFrame:
    """Per register, between consecutive multipliers: the exponent of each of ``figures`` (columns
    of ``runs``) in the register rows."""
    rows = []
    for name, g in runs.sort_values("multiplier", kind="mergesort").groupby("register", sort=True):
        for a, b in zip(g.to_dict("records"), g.iloc[1:].to_dict("records"), strict=False):
            x = (a["register_rows"], b["register_rows"])
            exps = {f: exponent(a[f], b[f], *x) for f in figures}
            rows.append(
                {"register": name, "multipliers": f"{a['multiplier']:g} -> {b['multiplier']:g}", **exps}
            )
    return pd.DataFrame(rows)


def run_multipliers(args: argparse.Namespace, cfg: dict) -> None:
    """Link both registers at each multiplier; print the figures and their growth exponents."""
    runs = []
    for m in args.multipliers:
        print(f"scale {args.scale}, register size multiplier {m:g}")
        rows, _ = measure(args, cfg, {"size_multiplier": m}, f"multiplier_{m:g}")
        runs += [r | {"multiplier": m} for r in rows]
    runs = pd.DataFrame(runs).sort_values(["register", "multiplier"], kind="mergesort")
    print_runs(runs)
    if len(args.multipliers) < 2:
        return
    print("\ngrowth exponents, log(figure ratio) / log(register rows ratio), 1 = linear:")
    print(growth(runs, list(GROWTH)).to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    phases = phase_table(runs)
    print("\ngrowth exponents of the phases:")
    print(growth(phases, list(phases.columns[3:])).to_string(index=False, float_format=lambda v: f"{v:.2f}"))


def run_national(args: argparse.Namespace, cfg: dict) -> None:
    """Link both registers at national size; print the figures and the target."""
    sizes = {"deaths": args.national_deaths, "offences": args.national_offences}
    wall, _, out = timed(national_ratios, scale=args.scale, seed=args.seed, **sizes)
    ratios = json.loads(out)["ratios"]
    print(f"unrelated ratios set in {wall:.0f} s (not counted) from the client records: {out.strip()}")
    print(
        f"scale {args.scale}, national-size registers: {', '.join(f'{k} {v:.3f}' for k, v in ratios.items())}"
    )
    rows, ndtms = measure(args, cfg, ratios, "national")
    runs = pd.DataFrame(rows).assign(multiplier=1.0)
    print_runs(runs)
    total, peak = runs["wall_s"].sum() + ndtms["wall_s"], max(runs["peak_gib"].max(), ndtms["peak_gib"])
    met = total <= TARGET_SECONDS and peak <= TARGET_GIB
    reached = runs.set_index("register")["register_rows"]
    national = reached["deaths"] >= 0.95 * NATIONAL_DEATHS and reached["offences"] >= NATIONAL_OFFENCES
    print()
    target(
        f"national-size registers linked <= {TARGET_SECONDS / 60:g} min and <= {TARGET_GIB:g} GiB",
        f"{total:.0f} s, peak {peak:.2f} GiB ({reached['deaths']:,} deaths, {reached['offences']:,} offences, "
        f"scale {args.scale:g})",
        met if args.scale == 1.0 and national else None,
    )
    if args.scale != 1.0 or not national:
        print("(the target is set at scale 1 with national-size registers; these are not those)")


def main() -> None:
    from pbr.config import validate_config

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="cohort scale (default 1.0)")
    ap.add_argument("--multipliers", type=float, nargs="+", default=[1.0, 5.0, 20.0])
    ap.add_argument("--seed", type=int, default=20120401, help="generator seed (default: the pipeline's)")
    ap.add_argument("--national", action="store_true", help="registers of national size (above)")
    ap.add_argument("--national-deaths", type=int, default=NATIONAL_DEATHS)
    ap.add_argument("--national-offences", type=int, default=NATIONAL_OFFENCES)
    ap.add_argument(
        "--job-mem-mb",
        type=int,
        default=LINK_JOB_MEM_MB,
        help=f"the link jobs' memory; DuckDB may hold {DUCKDB_MEMORY_SHARE * 100:.0f}%% of it (default "
        f"{LINK_JOB_MEM_MB}, the workflow's; 0: unbounded, as bench_linkage.py)",
    )
    ap.add_argument("--skip-pairs", action="store_true", help="do not count the candidate pairs")
    ap.add_argument(
        "--keep",
        type=Path,
        help="keep each run's files (extracts, records, models, link tables) in KEEP/national or "
        "KEEP/multiplier_M (default: a temporary directory, removed)",
    )
    args = ap.parse_args()
    cfg = validate_config({})["linkage"]
    pd.set_option("display.width", 250)
    if args.national:
        run_national(args, cfg)
    else:
        run_multipliers(args, cfg)


if __name__ == "__main__":
    main()
