"""Benchmark the linkage's EM sessions: F1, information ceiling and calibration under other designs.

Usage::

    .venv/bin/python bench/bench_em_sessions.py --scale 1 current dob

Generates the synthetic extracts once (the generator's default noise; ``--same-region-moves``
as in bench_linkage.py), then for each named design of the EM sessions
(:data:`DESIGNS`; ``current`` is :func:`pbr.link.model.em_sessions`) trains, predicts and
links both registers as the workflow does and prints, per register, F1 at p >= 0.5, the
information ceiling and its gap, the expected calibration error, the precision and recall
spread over group x period, the offenders' area m-probabilities and the reliability curve.
Measured in session 15 (docs/linkage.md, "What the EM estimates for the area comparison").
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import bench_linkage as bl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pbr.config import validate_config  # noqa: E402
from pbr.link import model, quality  # noqa: E402
from pbr.registry.registers import REGISTERS  # noqa: E402


def _designs() -> dict:
    from splink import block_on

    return {
        "current": model.em_sessions,
        # before session 18: the date of birth's session blocked on initials and area, sex left free
        "before18": lambda: [
            block_on("dob", "area_code"),
            block_on("initials", "area_code"),
            block_on("initials", "dob"),
        ],
        # the area's session blocked on date of birth alone: initials, sex and area estimated together
        "dob": lambda: [block_on("dob", "area_code"), block_on("initials", "area_code"), block_on("dob")],
    }


def assess_design(tmp: Path, config: dict, name: str) -> None:
    """Train, link and score both registers with the EM sessions of design ``name``; print the figures."""
    model.em_sessions = _designs()[name]
    start = time.time()
    for register, spec in REGISTERS.items():
        bl.link_register(config["linkage"], spec, str(tmp), register)
    print(f"{name}: trained and linked in {time.time() - start:.0f} s", flush=True)
    scored, ceilings, calibration, _ = bl.assess(tmp, config)
    at = scored[(scored.scope == "all") & (scored.method == "probabilistic") & (scored.threshold == 0.5)]
    errors = quality.calibration_error(calibration)
    for register in REGISTERS:
        f1 = at[at.register == register].f1.iloc[0]
        ceiling = ceilings[ceilings.register == register].f1.iloc[0]
        ece = errors[(errors.register == register) & (errors.scope == "all")].iloc[0]
        cells = scored[
            (scored.scope != "all") & (scored.threshold == 0.5) & (scored.method == "probabilistic")
        ]
        cells = cells[cells.register == register]
        print(
            f"{name} {register}: F1 {f1:.4f}, ceiling {ceiling:.4f} (gap {ceiling - f1:.4f}), ECE {ece.ece:.4f} "
            f"(largest gap {ece.max_gap:.4f}), spread over group/period: precision "
            f"{cells.precision.max() - cells.precision.min():.4f}, recall {cells.recall.max() - cells.recall.min():.4f}"
        )
    trained = json.loads((tmp / "model_offences.json").read_text())
    area = next(c for c in trained["comparisons"] if c["output_column_name"] == "area")
    print(
        f"{name} offences area m-probabilities:",
        [(lv["label_for_charts"], lv.get("m_probability")) for lv in area["comparison_levels"]],
    )
    curve = calibration[calibration.scope == "all"]
    print(
        curve[["register", "bin_low", "pairs", "mean_probability", "share_true"]]
        .round(4)
        .to_string(index=False)
    )


def main() -> None:
    from pbr.synthetic.params import NoiseParams

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="+", choices=sorted(_designs()))
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=20120401)
    ap.add_argument("--same-region-moves", type=float, default=NoiseParams().register_area_move_same_region)
    args = ap.parse_args()
    config = validate_config({})
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bl.prepare(args.scale, args.seed, str(tmp), args.same_region_moves, {})
        print(
            f"EM session designs at scale {args.scale}, seed {args.seed}, "
            f"{args.same_region_moves:.0%} of moves in the region"
        )
        for name in args.designs:
            assess_design(tmp, config, name)


if __name__ == "__main__":
    main()
