"""Benchmark linkage: time, memory and quality of linking NDTMS persons to ONS deaths and PNC offenders.

Usage::

    .venv/bin/python bench/bench_linkage.py              # scale 1.0 (the published study)
    .venv/bin/python bench/bench_linkage.py --scale 0.1
    .venv/bin/python bench/bench_linkage.py --same-region-moves 0.6   # a scenario: local moves

Generates and validates synthetic extracts (not timed against the target), then, in a
fresh process per register as the workflow runs it, trains and predicts the linkage.
Prints wall time and peak RSS per register and together (target at scale 1.0: both in
at most 3 minutes and 6 GiB), then precision, recall and F1 against the synthetic truth
at the configured threshold and across thresholds, beside the exact-key match, overall
and by group x period (pilot/other x pre/post) of the person's first study journey
(target: F1 >= 0.95 for both registers, no material difference between groups).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from _timing import timed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pandas as pd  # noqa: E402

from pbr import io, journeys, link  # noqa: E402
from pbr.config import validate_config  # noqa: E402

PREPARE = """
import sys; sys.path.insert(0, {src!r})
from pathlib import Path
from pbr import extract, io, synthetic
from pbr.contract import TABLES
noise = synthetic.NoiseParams(register_area_move_same_region={same_region})
ext = synthetic.generate(synthetic.SyntheticParams(scale={scale}, seed=20120401, noise=noise))
raw = Path({tmp!r}) / "raw"
for name, df in ext.tables.items():
    io.write_table(df, raw / f"{{name}}.parquet", sort_by=TABLES[name].key)
for name, df in ext.truth.items():
    io.write_table(df, Path({tmp!r}) / "truth" / f"{{name}}.parquet")
tables, flow = extract.read_extracts(directory=str(raw), fmt="parquet")
extract.write_extracts(tables, flow, Path({tmp!r}) / "valid")
"""

LINK = """
import sys; sys.path.insert(0, {src!r})
from pathlib import Path
from pbr import io, link
cfg = {cfg!r}; spec = {spec!r}; v = Path({tmp!r}) / "valid"
register = io.read_table(v / (spec["table"] + ".parquet"))
left, right = link.link_inputs(
    io.read_table(v / "ndtms_episodes.parquet"), register, spec, b"bench", io.read_table(v / "areas.parquet")
)
model = link.train_link_model(left, right, cfg["recall"], cfg["seed"], cfg["u_max_pairs"], 2, cfg["em_max_pairs"])
out = link.link_register_probabilistic(left, right, register, spec, model, cfg, {name!r}, 2)
io.write_table(out["links"], Path({tmp!r}) / "links_{name}.parquet")
io.write_table(out["exact"], Path({tmp!r}) / "exact_{name}.parquet")
"""

REGISTERS = {
    "deaths": {"table": "ons_deaths", "id": "death_id", "unit": "death_id", "group": None,
               "keep": ["death_id", "date_of_death", "underlying_cause"], "truth": "death_person",
               "event": "date_of_death"},
    "offences": {"table": "pnc_offences", "id": "offence_id", "unit": "pnc_id", "group": "pnc_id",
                 "keep": ["offence_id", "offence_date", "offence_group"], "truth": "offence_person",
                 "event": None},
}  # fmt: skip


def quality(tmp: Path, cfg: dict, study: dict) -> pd.DataFrame:
    """Precision / recall / F1 per register, threshold and scope, from the bench's outputs."""
    v = tmp / "valid"
    episodes, _ = link.link_persons(io.read_table(v / "ndtms_episodes.parquet"), b"bench")
    ep = journeys.assign_journeys(episodes, [83, 84], 21)
    j = journeys.assign_study_fields(
        journeys.summarise_journeys(ep), io.read_table(v / "areas.parquet"),
        study["pre_start"], study["post_start"], study["post_end"],
    )  # fmt: skip
    j, _ = journeys.flag_exclusions(j, ["drug", "alcohol"], 18)
    scopes = link.person_scopes(j)
    scopes["scope"] = scopes["scope"].str.split("/", n=1).str[1]  # group/period, both cohorts
    episode_truth = io.read_table(tmp / "truth" / "episode_person.parquet")
    parts = []
    for name, spec in REGISTERS.items():
        unit_truth = io.read_table(tmp / "truth" / f"{spec['truth']}.parquet")
        if spec["unit"] != spec["id"]:
            off = io.read_table(v / f"{spec['table']}.parquet", columns=[spec["id"], spec["unit"]])
            off[spec["unit"]] = link.unit_ids(off[spec["unit"]], b"bench")
            unit_truth = unit_truth.merge(off, on=spec["id"])
        truth = link.true_pairs(episodes, episode_truth, unit_truth, spec["unit"])
        links = io.read_table(tmp / f"links_{name}.parquet")
        matches = links[["person_id", spec["unit"], "match_weight", "match_probability"]].drop_duplicates()
        matches.columns = ["left_id", "right_id", "match_weight", "match_probability"]
        exact = io.read_table(tmp / f"exact_{name}.parquet")
        parts.append(link.quality_table(matches, exact, truth, cfg["quality_thresholds"], name, scopes))
    return pd.concat(parts, ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument(
        "--same-region-moves",
        type=float,
        default=0.0,
        help="share of register area moves that stay in the home region (default 0: any area, as the generator)",
    )
    args = ap.parse_args()
    config = validate_config({})
    cfg, study = config["linkage"], config["study"]
    src = str(ROOT / "src")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        prep = timed(PREPARE.format(src=src, scale=args.scale, tmp=d, same_region=args.same_region_moves))
        print(
            f"linkage at scale {args.scale}, {args.same_region_moves:.0%} of register area moves within the "
            f"home region (extracts generated and validated in {prep[0]:.0f} s, not counted)"
        )
        runs = {}
        for name, spec in REGISTERS.items():
            runs[name] = timed(LINK.format(src=src, cfg=cfg, spec=spec, tmp=d, name=name))
        print(f"\n{'register':<12}{'wall s':>8}{'peak GiB':>10}")
        for name, (wall, peak, _) in runs.items():
            print(f"{name:<12}{wall:>8.1f}{peak:>10.2f}")
        total, peak = sum(r[0] for r in runs.values()), max(r[1] for r in runs.values())
        print(f"{'both':<12}{total:>8.1f}{peak:>10.2f}")
        if args.scale == 1.0:
            print(f"target <= 180 s and <= 6 GiB: {'met' if total <= 180 and peak <= 6 else 'NOT met'}")
        q = quality(tmp, cfg, study)
    pd.set_option("display.width", 200)
    t = cfg["threshold"]
    main_rows = q[(q.scope == "all") & ((q.threshold == t) | (q.method == "exact_key"))]
    print(f"\nquality at p >= {t} (probabilistic) and of the exact key:")
    print(
        main_rows[["register", "method", "n_predicted", "n_true", "precision", "recall", "f1"]]
        .round(4)
        .to_string(index=False)
    )
    for name in REGISTERS:
        f1 = main_rows[(main_rows.register == name) & (main_rows.method == "probabilistic")]["f1"].iloc[0]
        ex = main_rows[(main_rows.register == name) & (main_rows.method == "exact_key")]["f1"].iloc[0]
        print(
            f"{name}: F1 {f1:.4f} (target >= 0.95: {'met' if f1 >= 0.95 else 'NOT met'}; exact key {ex:.4f})"
        )
    print("\nacross thresholds (all persons):")
    sweep = q[(q.scope == "all") & (q.method == "probabilistic")]
    print(sweep[["register", "threshold", "precision", "recall", "f1"]].round(4).to_string(index=False))
    print(f"\nby group/period of the person's first study journey, at p >= {t}:")
    by = q[(q.scope != "all") & (q.threshold == t)]
    print(by[["register", "scope", "n_true", "precision", "recall", "f1"]].round(4).to_string(index=False))


if __name__ == "__main__":
    main()
