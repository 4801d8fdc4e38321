"""Why the offenders' recall differs over time: recall of true pairs inside and outside persons
that merge two clients (issue #21's recall-spread target; docs/linkage.md).

Usage::

    .venv/bin/python bench/bench_recall_merged.py              # scale 0.3, the pipeline's seed
    .venv/bin/python bench/bench_recall_merged.py --scale 1 --register deaths
    .venv/bin/python bench/bench_recall_merged.py --scale 1 --per-person 1   # one-to-one

Generates and validates synthetic extracts, builds the workflow's persons, trains and predicts
one register's linkage in-process (one thread; :mod:`bench_linkage_mi`'s helpers), and prints, by
the period of the person's first study journey (:func:`bench_linkage.group_period_scopes`), the
recall of the true (person, unit) pairs: for persons holding episodes of two or more true clients
(merged: two clients sharing an attributor) and the rest, for persons whose client is split over
two or more persons, and by the number of true units a person has (one-to-one links,
``--per-person 1``, let a person take one unit only).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pandas as pd  # noqa: E402
from bench_linkage import group_period_scopes  # noqa: E402
from bench_linkage_mi import SECRET, linked_register, true_links, validated_tables  # noqa: E402


def true_pair_table(scale: float, seed: int, register: str, per_person: int | None = None) -> pd.DataFrame:
    """One row per true (person, unit) pair: found at the threshold, the person's period, whether
    the person is merged (two or more clients) or its client split, and its number of true units;
    ``attrs['precision']`` and ``attrs['recall']``: of the links at the threshold over all true
    pairs (a person taking up to ``per_person`` units, no more than its NDTMS clients; None: the
    config's ``linkage.units_per_person``)."""
    from pbr import config as pbr_config
    from pbr.link.persons import link_persons, transfer_settings
    from pbr.registry.registers import REGISTERS

    config = pbr_config.load_config(ROOT / "config" / "config.yaml")
    if per_person is not None:
        config["linkage"]["units_per_person"][register] = per_person
    with tempfile.TemporaryDirectory() as tmp:
        tables, truth = validated_tables({"scale": scale, "seed": seed}, Path(tmp))
    episodes, _ = link_persons(tables["ndtms_episodes"], SECRET, transfer_settings(config))
    spec = REGISTERS[register]
    linked = linked_register(config, tables, register, spec)
    unit = spec["unit"]
    pairs = true_links(episodes, truth, tables, linked, register, spec)[["person_id", unit]].drop_duplicates()
    links = linked["links"]
    links = links[links["match_probability"] >= config["linkage"]["threshold"]]
    found = set(map(tuple, links[["person_id", unit]].drop_duplicates().to_numpy()))
    client = episodes["episode_id"].map(truth["episode_person"].set_index("episode_id")["true_person_id"])
    owners = pd.DataFrame({"person_id": episodes["person_id"], "client": client})
    clients_of = owners.groupby("person_id")["client"].nunique()
    persons_of = owners.groupby("client")["person_id"].nunique()
    main_client = owners.groupby("person_id")["client"].agg(lambda c: c.mode().iloc[0])
    scopes = group_period_scopes(config, episodes, tables["areas"]).set_index("person_id")["scope"]
    table = pairs.assign(
        found=[tuple(p) in found for p in pairs.to_numpy()],
        period=pairs["person_id"].map(scopes).str.split("/").str[1],
        merged=pairs["person_id"].map(clients_of).gt(1),
        split=pairs["person_id"].map(main_client).map(persons_of).gt(1),
        units=pairs["person_id"].map(pairs.groupby("person_id")[unit].nunique()).clip(upper=3),
    )
    true_set = set(map(tuple, pairs.to_numpy()))
    linked_pairs = links[["person_id", unit]].drop_duplicates()
    table.attrs["precision"] = float(
        sum(tuple(p) in true_set for p in linked_pairs.to_numpy()) / len(linked_pairs)
    )
    table.attrs["recall"] = float(table["found"].mean())
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=20120401)
    ap.add_argument("--register", default="offences")
    ap.add_argument(
        "--per-person",
        type=int,
        default=None,
        help="units a person may take, no more than its NDTMS clients (1: one-to-one; "
        "default: the config's linkage.units_per_person)",
    )
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    t = true_pair_table(args.scale, args.seed, args.register, args.per_person)
    limit = "linkage.units_per_person" if args.per_person is None else str(args.per_person)
    f1 = 2 * t.attrs["precision"] * t.attrs["recall"] / (t.attrs["precision"] + t.attrs["recall"])
    print(
        f"a person may take up to {limit} unit(s), at most its clients: precision {t.attrs['precision']:.4f}, "
        f"recall {t.attrs['recall']:.4f}, F1 {f1:.4f} (all true pairs and links at the threshold)"
    )
    t = t[t["period"].notna()]
    pd.set_option("display.width", 200)
    print(
        f"{args.register} at scale {args.scale}, seed {args.seed}: {len(t):,} true pairs (persons in a study journey)"
    )
    print("\nrecall by period:\n" + t.groupby("period")["found"].agg(["size", "mean"]).round(4).to_string())
    flags = {"merged": t["merged"], "split": t["split"], "units": t["units"] > 1}
    for col, words in (
        ("merged", "the person holds two or more clients"),
        ("split", "the person's client is split over two or more persons"),
        ("units", "true units of the person (3: three or more)"),
    ):
        share = flags[col].astype(float).groupby(t["period"]).mean().round(4).to_dict()
        print(f"\nrecall by period and {col} ({words}); share of pairs (units: two or more): {share}")
        print(t.groupby(["period", col])["found"].agg(["size", "mean"]).round(4).to_string())


if __name__ == "__main__":
    main()
