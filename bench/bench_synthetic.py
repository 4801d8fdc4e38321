"""Benchmark the synthetic generator: wall time and peak resident memory at a given scale.

Usage::

    .venv/bin/python bench/bench_synthetic.py            # scale 1.0 (the published study)
    .venv/bin/python bench/bench_synthetic.py --scale 0.1 --write /tmp/synth

Prints the wall time of ``pbr.synthetic.generator.generate``, the process's peak RSS (which includes
the interpreter and imported libraries, as the Snakemake rule's process would), the rows
of every table, and per-stage timings. With ``--write DIR`` it also writes the tables and
truth as Parquet through ``pbr.io.write_table`` (as the ``generate_synthetic`` rule does)
and reports that time separately. Budget for the whole extract stage: 60 s and 3 GiB.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far, in GiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 2**20 if sys.platform != "darwin" else kib / 2**30


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--write", type=Path, default=None, help="also write Parquet files here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.DEBUG, format="  %(message)s")
    for noisy in ("numexpr", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    from pbr.synthetic import generator, params

    cfg = {"scale": args.scale} | ({"seed": args.seed} if args.seed is not None else {})
    settings = params.SyntheticParams.from_config(cfg)
    base = peak_rss_gib()
    t0 = time.perf_counter()
    extract = generator.generate(settings)
    wall = time.perf_counter() - t0
    peak = peak_rss_gib()
    print(f"scale {settings.scale}, seed {settings.seed}")
    print(f"generate: wall {wall:.1f} s, peak RSS {peak:.2f} GiB (after imports {base:.2f} GiB)")
    for name, df in extract.tables.items():
        print(f"  {name:16s} {len(df):>10,d} rows")
    for name, df in extract.truth.items():
        print(f"  truth/{name:10s} {len(df):>10,d} rows")
    if args.write is not None:
        from pbr import io
        from pbr.contract import TABLES

        t1 = time.perf_counter()
        for name, df in extract.tables.items():
            io.write_table(df, args.write / f"{name}.parquet", sort_by=TABLES[name].key)
        for name, df in extract.truth.items():
            io.write_table(df, args.write / "truth" / f"{name}.parquet", sort_by=[df.columns[0]])
        io.write_json(extract.effects, args.write / "effects.json")
        print(f"write: {time.perf_counter() - t1:.1f} s, peak RSS {peak_rss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
