"""Persons against the synthetic truth: how often the attributor rule splits a client or merges two (issue #25).

Usage::

    .venv/bin/python bench/bench_persons.py                  # scales 0.1, 0.3 and 1.0
    .venv/bin/python bench/bench_persons.py --scales 0.1

For each scale, generates and validates the synthetic extracts (as the workflow does), builds
persons from the NDTMS episodes by the pipeline's rule (:func:`pbr.link.pseudonyms.link_persons`:
the attributor, a missing sex settled by :func:`pbr.link.pseudonyms.person_keys`) and by the
rule before issue #25 (the attributor as recorded, a missing sex a person of its own), and
prints against the truth's clients (``episode_person``): pairwise precision, recall and F1 over
pairs of episodes (a pair is predicted when both episodes are one person, true when one client),
the clients split over two or more persons, the persons holding two or more clients, and the
episodes whose sex was missing, by how the rule settled it.
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


def journey_scores(episodes: pd.DataFrame, truth: pd.DataFrame, config: dict) -> dict:
    """Journeys as the workflow builds them (:func:`pbr.derive.journeys.assign_journeys` on
    ``episodes``, which carry person_id) against the truth's journeys: the share of true journeys
    whose episodes form exactly one built journey, and of the rest those inside a person that
    holds episodes of two or more clients."""
    from pbr.derive import journeys

    cfg = config["journeys"]
    built = journeys.assign_journeys(episodes, cfg["transfer_codes"], cfg["transfer_gap_days"])
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


def bridged_persons(episodes: pd.DataFrame, persons: pd.DataFrame, config: dict):
    """(episode -> person after joining the persons of each transfer bridge, the bridges)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from pbr.link.bridges import transfer_bridges

    person = persons.set_index("episode_id")["person_id"]
    cfg = config["journeys"]
    bridges = transfer_bridges(
        episodes.assign(person_id=person.reindex(episodes["episode_id"]).to_numpy()).dropna(
            subset=["person_id"]
        ),
        cfg["transfer_codes"],
        cfg["transfer_gap_days"],
    )
    ids, codes = np.unique(person.to_numpy(), return_inverse=True)
    index = pd.Series(np.arange(len(ids)), index=ids)
    a, b = index[bridges["person_from"]].to_numpy(), index[bridges["person_to"]].to_numpy()
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(ids), len(ids)))
    _, component = connected_components(graph, directed=False)
    return pd.Series(ids[component][codes], index=person.index), bridges


def scale_rows(scale: float, seed: int | None) -> list[dict]:
    from pbr import io
    from pbr.config import validate_config
    from pbr.contract import TABLES
    from pbr.extract.tables import read_extracts
    from pbr.link import pseudonyms
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
    episodes = tables["ndtms_episodes"]
    truth = extract.truth["episode_person"].set_index("episode_id")["true_person_id"]
    true = truth.reindex(episodes["episode_id"]).to_numpy()
    index = episodes["episode_id"].to_numpy()
    as_recorded = pseudonyms.attributor_key(
        episodes["initial_first"], episodes["initial_surname"], episodes["date_of_birth"], episodes["sex"]
    )
    key, settled = pseudonyms.person_keys(episodes)
    persons, _ = pseudonyms.link_persons(episodes, SECRET)
    config = validate_config({})
    journeys = journey_scores(persons, extract.truth["episode_person"], config)
    out = []
    for rule, k in (("as recorded (before #25)", as_recorded), ("missing sex settled (pipeline)", key)):
        scores = person_scores(pd.Series(k.to_numpy(), index=index), pd.Series(true, index=index))
        out.append({"scale": scale, "rule": rule} | scores)
    out[-1] |= journeys  # the pipeline's persons
    bridged, bridges = bridged_persons(episodes, persons, config)
    true_person = truth.reindex(bridges["from"]).to_numpy() == truth.reindex(bridges["to"]).to_numpy()
    scores = person_scores(
        pd.Series(bridged.reindex(index).to_numpy(), index=index), pd.Series(true, index=index)
    )
    out.append({"scale": scale, "rule": "+ transfer bridges (prototype)"} | scores)
    out[-1] |= journey_scores(
        persons.assign(person_id=bridged.reindex(persons["episode_id"]).to_numpy()),
        extract.truth["episode_person"],
        config,
    )
    by_part = pd.Series(true_person, index=bridges.index).groupby(bridges["differs"]).agg(["size", "mean"])
    print(f"  transfer bridges: {len(bridges)}, {true_person.mean():.4f} join one true client; by part:")
    print("  " + by_part.round(4).to_string().replace("\n", "\n  "))
    counts = settled.value_counts()
    print(
        f"scale {scale}: {len(episodes)} validated episodes in {time.perf_counter() - t0:.0f} s; sex missing on "
        + ", ".join(f"{counts.get(way, 0)} {way}" for way in pseudonyms.SEX_SETTLED if way != "recorded"),
        flush=True,
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    rows = [row for scale in args.scales for row in scale_rows(scale, args.seed)]
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(5).to_string(index=False))


if __name__ == "__main__":
    main()
