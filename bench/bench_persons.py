"""Persons against the synthetic truth: how often the attributor rule splits a client or merges two (issue #25).

Usage::

    .venv/bin/python bench/bench_persons.py                  # scales 0.1, 0.3 and 1.0
    .venv/bin/python bench/bench_persons.py --scales 0.1
    .venv/bin/python bench/bench_persons.py --scales 0.3 --extra-collisions 6000   # more collisions

For each scale, generates and validates the synthetic extracts (as the workflow does), builds
persons from the NDTMS episodes by the workflow's rule (:func:`pbr.link.persons.episode_persons`:
the attributor, a missing sex settled, persons joined across transfers), by it without the
transfer bridges, and by the rule before issue #25 (the attributor as recorded, a missing sex a
person of its own), and prints against the truth's clients (``episode_person``): pairwise precision, recall and F1 over
pairs of episodes (a pair is predicted when both episodes are one person, true when one client),
the clients split over two or more persons, the persons holding two or more clients, the
episodes whose sex was missing, by how the rule settled it, the transfer bridges and the share
joining one true client, and the journeys under each overlap rule (:func:`journey_scores`;
target, issue #25: at least 99.8% equal to the truth at scale 0.3 with attributor collisions at
least as frequent as the independent extracts' 7,841 persons holding two or more clients; the
generator makes about 2,150 at 0.3, so ``--extra-collisions`` plants more; the config's default
overlap rule is ``merge``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

#: the bench's pseudonymisation key (synthetic data only)
SECRET = b"bench-persons"


def pairs(sizes: pd.Series) -> int:
    """Pairs within groups of these sizes."""
    n = sizes.to_numpy(dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def person_scores(predicted: pd.Series, true: pd.Series) -> dict:
    """Pairwise precision / recall / F1 of the episode grouping ``predicted`` against ``true``
    (both indexed by episode), and the split clients and merged persons."""
    both = pd.DataFrame({"pred": predicted, "true": true}).dropna()
    together = pairs(both.groupby(["pred", "true"]).size())
    n_pred, n_true = pairs(both.groupby("pred").size()), pairs(both.groupby("true").size())
    precision = together / n_pred if n_pred else 1.0
    recall = together / n_true if n_true else 1.0
    return {
        "episodes": len(both),
        "clients": both["true"].nunique(),
        "persons": both["pred"].nunique(),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "split_clients": int((both.groupby("true")["pred"].nunique() > 1).sum()),
        "merged_persons": int((both.groupby("pred")["true"].nunique() > 1).sum()),
    }


def journey_scores(episodes: pd.DataFrame, truth: pd.DataFrame, config: dict, overlap_rule: str) -> dict:
    """Journeys as the workflow builds them (:func:`pbr.derive.journeys.assign_journeys` on
    ``episodes``, which carry person_id, under ``overlap_rule``) against the truth's journeys: the
    share of true journeys whose episodes form exactly one built journey, and of the rest those
    inside a person that holds episodes of two or more clients."""
    from pbr.derive import journeys

    cfg = config["journeys"]
    built = journeys.assign_journeys(episodes, cfg["transfer_codes"], cfg["transfer_gap_days"], overlap_rule)
    both = built[["episode_id", "person_id", "journey_id"]].merge(truth, on="episode_id")
    true_sets = both.groupby("true_journey_id")["episode_id"].apply(frozenset)
    built_sets = set(both.groupby("journey_id")["episode_id"].apply(frozenset))
    equal = true_sets.map(lambda x: x in built_sets)
    merged = both.groupby("person_id")["true_person_id"].nunique() > 1
    in_merged = both.groupby("true_journey_id")["person_id"].agg(lambda p: bool(merged.reindex(p).any()))
    wrong = ~equal
    return {
        "true_journeys": len(true_sets),
        "journeys_equal": float(equal.mean()),
        "wrong_in_merged": int((wrong & in_merged.reindex(equal.index)).sum()),
        "wrong_elsewhere": int((wrong & ~in_merged.reindex(equal.index)).sum()),
    }


def plant_collisions(episodes: pd.DataFrame, true_of: pd.Series, n: int, seed: int) -> pd.DataFrame:
    """``episodes`` with ``n`` more attributor collisions: each of ``n`` true clients, drawn at
    random, takes the attributor (initials, date of birth, sex) of another drawn client on all its
    episodes, as two real clients who share one do. The truth is unchanged, so the persons and
    journeys built from the result are scored against who the episodes really belong to. Clients
    are paired at random, so most pairs live in different areas, as natural collisions do."""
    if n == 0:
        return episodes
    rng = np.random.default_rng(seed)
    clients = pd.unique(true_of.reindex(episodes["episode_id"]).dropna())
    drawn = rng.choice(clients, size=2 * n, replace=False)
    takes, gives = drawn[:n], drawn[n:]
    attributor = ["initial_first", "initial_surname", "date_of_birth", "sex"]
    client = true_of.reindex(episodes["episode_id"]).to_numpy()
    first = episodes.assign(_client=client).drop_duplicates("_client").set_index("_client")[attributor]
    out = episodes.copy()
    source = pd.Series(gives, index=takes)
    hit = pd.Series(client).isin(takes).to_numpy()
    donor = source.reindex(client[hit]).to_numpy()
    for col in attributor:
        out.loc[hit, col] = first.loc[donor, col].to_numpy()
    return out


def scale_rows(scale: float, seed: int | None, extra_collisions: int = 0) -> list[dict]:
    from pbr import io
    from pbr.config import validate_config
    from pbr.contract import TABLES
    from pbr.derive import journeys
    from pbr.extract.tables import read_extracts
    from pbr.link import persons, pseudonyms
    from pbr.synthetic import generator, params

    t0 = time.perf_counter()
    settings = params.SyntheticParams.from_config(
        {"scale": scale} | ({"seed": seed} if seed is not None else {})
    )
    extract = generator.generate(settings)
    with tempfile.TemporaryDirectory() as tmp:
        for name, df in extract.tables.items():
            io.write_table(df, Path(tmp) / f"{name}.parquet", sort_by=TABLES[name].key)
        tables, _ = read_extracts(directory=tmp, fmt="parquet")
    truth = extract.truth["episode_person"]
    true_of = truth.set_index("episode_id")["true_person_id"]
    episodes = plant_collisions(tables["ndtms_episodes"], true_of, extra_collisions, 25 + int(scale * 1000))
    true = pd.Series(
        true_of.reindex(episodes["episode_id"]).to_numpy(), index=episodes["episode_id"].to_numpy()
    )
    config = validate_config({})
    transfers = {k: config["journeys"][k] for k in ("transfer_codes", "transfer_gap_days")}
    as_recorded = pseudonyms.attributor_key(
        episodes["initial_first"], episodes["initial_surname"], episodes["date_of_birth"], episodes["sex"]
    )
    out = [
        {"scale": scale, "planted": extra_collisions, "rule": "sex as recorded (before #25)"}
        | person_scores(as_recorded.set_axis(true.index), true)
    ]
    for rule, bridge in (("missing sex settled", None), ("+ transfer bridges (the workflow's)", transfers)):
        person, _, settled, bridges = persons.episode_persons(episodes, SECRET, bridge)
        built, _ = persons.link_persons(episodes, SECRET, bridge)
        scores = person_scores(person.set_axis(true.index), true)
        for overlap in journeys.OVERLAP_RULES if bridge else ("merge",):
            label = f"{rule}, overlaps: {overlap}"
            row = {"scale": scale, "planted": extra_collisions, "rule": label}
            out.append(row | scores | journey_scores(built, truth, config, overlap))
    one_client = true_of.reindex(bridges["from"]).to_numpy() == true_of.reindex(bridges["to"]).to_numpy()
    by_part = pd.Series(one_client, index=bridges.index).groupby(bridges["differs"]).agg(["size", "mean"])
    counts = settled.value_counts()
    print(
        f"scale {scale}: {len(episodes)} validated episodes in {time.perf_counter() - t0:.0f} s; sex missing on "
        + ", ".join(f"{counts.get(way, 0)} {way}" for way in pseudonyms.SEX_SETTLED if way != "recorded")
        + f"; {len(bridges)} transfer bridges, {one_client.mean():.4f} joining one true client; by part:\n  "
        + by_part.round(4).to_string().replace("\n", "\n  "),
        flush=True,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument(
        "--extra-collisions",
        type=int,
        default=0,
        help="plant this many more attributor collisions (plant_collisions), e.g. 6000 at scale 0.3",
    )
    args = ap.parse_args()
    rows = [row for scale in args.scales for row in scale_rows(scale, args.seed, args.extra_collisions)]
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(5).to_string(index=False))


if __name__ == "__main__":
    main()
