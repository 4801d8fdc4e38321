"""Does the assumed recall (``linkage.recall``) act on the links only through the prior? (issue #21)

Usage::

    .venv/bin/python bench/bench_linkage_recall.py                    # scale 0.05, recalls 0.6-0.95
    .venv/bin/python bench/bench_linkage_recall.py --scale 0.2 --recalls 0.6 0.95

The recall sets lambda, the prior probability that two records match: lambda is the exact
rule's matches over recall, so lambda is proportional to 1 / recall and, with the m- and
u-probabilities held, a pair's log posterior odds move by log(r / r') when the recall goes
from r to r'. A link at p >= t under recall r' is then a link at p >= t' under r, with
logit t' = logit t + log(r' / r) (:func:`pbr.registry.recall.equivalent_threshold`), and the
one-to-one matching, which ranks a person's candidates by weight, is unchanged.

The EM sessions hold lambda fixed, so the m-probabilities may move with it. This bench
trains the model afresh at each recall in ``--recalls`` and compares, per register:

- the largest change of any m-probability against the model at the configured recall;
- the links at p >= threshold of the retrained model against the links of the configured
  model at the equivalent threshold: how many, and the share that differ (symmetric
  difference over union);
- the largest gap between the retrained model's logit p and the shifted one, over the
  candidate pairs both score.

Where the differences are small, the workflow's recall sensitivity (derived at the
equivalent thresholds, no retraining) is what a retrained model would give.
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
SECRET = b"bench-recall"


def m_probabilities(model: dict) -> dict[tuple[str, str], float]:
    """(comparison, level) -> m-probability of a saved splink model."""
    out = {}
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if "m_probability" in level:
                out[(comparison["output_column_name"], level["label_for_charts"])] = level["m_probability"]
    return out


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def trained_pairs(
    sides: tuple, register: pd.DataFrame, spec: dict, cfg: dict, name: str, recall: float, threads: int
):
    """(model, candidate pairs, seconds) of the model trained at ``recall`` (``sides``: left, right)."""
    from pbr.link import matching, model

    t0 = time.perf_counter()
    left, right = sides
    trained = model.train_link_model(
        left, right, recall, cfg["seed"], cfg["u_max_pairs"], threads, cfg["em_max_pairs"]
    )
    out = matching.link_register_probabilistic(left, right, register, spec, trained, cfg, name, threads)
    return trained, out["pairs"], time.perf_counter() - t0


def linked(pairs: pd.DataFrame, threshold: float) -> set[tuple[str, str]]:
    """The links of ``pairs`` at p >= ``threshold`` (each person within its ``capacity``, as the
    link stage matches)."""
    from pbr.link import matching

    links = matching.best_matches(pairs, capacity="capacity")
    kept = links.loc[links["match_probability"] >= threshold, ["left_id", "right_id"]]
    return set(map(tuple, kept.to_numpy()))


def comparison(base: tuple, other: tuple, t: float, recall: float, base_recall: float) -> str:
    """One line: the retrained model at ``recall`` (``other``) against the shifted ``base`` one."""
    from pbr.registry.recall import equivalent_threshold

    (base_model, base_pairs, _), (trained, pairs, secs) = base, other
    base_m, m = m_probabilities(base_model), m_probabilities(trained)
    dm = max(abs(m[k] - base_m[k]) for k in base_m)
    t_eq = equivalent_threshold(t, base_recall, recall)
    new, old = linked(pairs, t), linked(base_pairs, t_eq)
    both = base_pairs.merge(pairs, on=["left_id", "right_id"], suffixes=("_base", "_new"))
    p_new = both["match_probability_new"].to_numpy()
    gap = np.abs(
        logit(p_new) - logit(both["match_probability_base"].to_numpy()) - np.log(base_recall / recall)
    )
    informative = (p_new > 1e-6) & (p_new < 1 - 1e-6)
    differ = len(new ^ old) / max(len(new | old), 1)
    return (
        f"  recall {recall:g}: equivalent threshold {t_eq:.4f}; max |delta m| {dm:.4f}; "
        f"links retrained {len(new)}, shifted {len(old)}, differ {differ:.4f}; "
        f"max |logit gap| {gap[informative].max() if informative.any() else 0:.3f} "
        f"(median {np.median(gap):.4f}) over {len(both)} pairs ({secs:.0f} s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--recalls", type=float, nargs="+", default=[0.6, 0.7, 0.9, 0.95])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from pbr import config as pbr_config
    from pbr import io
    from pbr.contract import TABLES
    from pbr.extract.tables import read_extracts
    from pbr.link import records
    from pbr.registry.registers import REGISTERS
    from pbr.synthetic import generator, params

    config = pbr_config.load_config(ROOT / "config" / "config.yaml")
    cfg = config["linkage"]
    synthetic = {"scale": args.scale} | ({"seed": args.seed} if args.seed is not None else {})
    extract = generator.generate(params.SyntheticParams.from_config(synthetic))
    with tempfile.TemporaryDirectory() as tmp:
        for name, df in extract.tables.items():
            io.write_table(df, Path(tmp) / f"{name}.parquet", sort_by=TABLES[name].key)
        tables, _ = read_extracts(directory=tmp, fmt="parquet")
    tops = tables["ndtms_top"][["episode_id", "top_date"]]
    base, t = float(cfg["recall"]), float(cfg["threshold"])
    print(f"scale {args.scale}, configured recall {base:g}, threshold {t:g}")
    for name, spec in REGISTERS.items():
        register = tables[spec["table"]]
        sides = records.link_inputs(tables["ndtms_episodes"], register, spec, SECRET, tables["areas"], tops)
        at_base = trained_pairs(sides, register, spec, cfg, name, base, args.threads)
        print(
            f"\n{name}: {len(at_base[1])} candidate pairs at recall {base:g} ({at_base[2]:.0f} s to train and predict)"
        )
        for recall in args.recalls:
            other = trained_pairs(sides, register, spec, cfg, name, recall, args.threads)
            print(comparison(at_base, other, t, recall, base), flush=True)


if __name__ == "__main__":
    main()
