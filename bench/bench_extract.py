"""Benchmark the whole extract stage: generate, write, read back and validate.

Usage::

    .venv/bin/python bench/bench_extract.py              # scale 1.0 (the published study)
    .venv/bin/python bench/bench_extract.py --scale 0.1

Each step runs in its own process, as the two Snakemake rules do (generate_synthetic,
validate_extracts); prints wall time and peak RSS per step and the stage total against
the target (60 s, 3 GiB peak).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _timing import timed

TARGET_S, TARGET_GIB = 60.0, 3.0


def generate(scale: float, out: str) -> None:
    """Generate the extracts at ``scale`` and write them as Parquet to ``out`` (as generate_synthetic does)."""
    from pbr import io
    from pbr.contract import TABLES
    from pbr.synthetic import generator, params

    extracts = generator.generate(params.SyntheticParams(scale=scale, seed=20120401))
    for name, df in extracts.tables.items():
        io.write_table(df, Path(out) / f"{name}.parquet", sort_by=TABLES[name].key)


def validate(out: str, valid: str) -> None:
    """Read the Parquet extracts in ``out``, validate them and write the valid tables to ``valid``."""
    from pbr.extract.tables import read_extracts, write_extracts

    tables, flow = read_extracts(directory=out, fmt="parquet")
    write_extracts(tables, flow, valid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out, valid = str(Path(tmp) / "raw"), str(Path(tmp) / "valid")
        g = timed(generate, scale=args.scale, out=out)
        v = timed(validate, out=out, valid=valid)
    total, peak = g[0] + v[0], max(g[1], v[1])
    print(f"extract stage at scale {args.scale}")
    print(f"{'step':<22}{'wall s':>8}{'peak GiB':>10}")
    print(f"{'generate + write':<22}{g[0]:>8.1f}{g[1]:>10.2f}")
    print(f"{'read + validate':<22}{v[0]:>8.1f}{v[1]:>10.2f}")
    print(f"{'stage':<22}{total:>8.1f}{peak:>10.2f}")
    if args.scale == 1.0:
        ok = total <= TARGET_S and peak <= TARGET_GIB
        print(f"target <= {TARGET_S:.0f} s and <= {TARGET_GIB:.0f} GiB: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
