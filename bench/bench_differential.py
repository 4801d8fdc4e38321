"""Measure differential linkage error planted by the generator: realised error shares by group x period.

Usage::

    .venv/bin/python bench/bench_differential.py                       # scale 0.05, pilot_post NDTMS errors x3
    .venv/bin/python bench/bench_differential.py --cell other_pre --ndtms 2 --register-area-move 2

Generates the extract with ``noise.differential.<cell>`` set and its error-free twin (the four
NDTMS error rates at 0; ``pbr.synthetic.errors``), then prints per cell the NDTMS (agency,
client) records and the shares with each attributor error, the clients' register copies and the
share recorded outside their home area, and each share's ratio to the other three cells pooled.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))  # this checkout's library


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--cell", default="pilot_post", help="the cell given the multipliers")
    ap.add_argument("--ndtms", type=float, default=3.0, help="multiplier of the NDTMS error rates")
    ap.add_argument("--register-area-move", type=float, default=1.0, help="multiplier of register_area_move")
    args = ap.parse_args()

    import pandas as pd

    from pbr.synthetic import errors, generator, params

    cell = {"ndtms": args.ndtms, "register_area_move": args.register_area_move}
    cfg = {"scale": args.scale, "noise": {"differential": {args.cell: cell}}}
    settings = params.SyntheticParams.from_config(
        cfg | ({"seed": args.seed} if args.seed is not None else {})
    )
    t0 = time.perf_counter()
    extract = generator.generate(settings)
    clean = generator.generate(errors.without_ndtms_errors(settings))
    print(
        f"scale {settings.scale}, seed {settings.seed}, {args.cell}: {cell} ({time.perf_counter() - t0:.1f} s)"
    )
    pd.set_option("display.width", 200)
    for title, table, n in (
        (
            "NDTMS records: share with each attributor error",
            errors.ndtms_error_shares(extract, clean),
            "records",
        ),
        (
            "clients' register copies: share outside the home area",
            errors.register_move_shares(extract),
            "copies",
        ),
    ):
        shares = table.drop(columns=n)
        others = table.drop(index=args.cell)
        pooled = (others[shares.columns].mul(others[n], axis=0)).sum() / others[n].sum()
        print(f"\n{title}\n{table.round(4).to_string()}")
        print(f"ratio, {args.cell} / other cells pooled: " + ", ".join(
            f"{c} {shares.loc[args.cell, c] / pooled[c]:.2f}" for c in shares.columns
        ))  # fmt: skip


if __name__ == "__main__":
    main()
