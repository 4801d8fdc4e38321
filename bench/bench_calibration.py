"""Issue #23's one synthetic world: every published figure the generator's defaults must meet, met or not.

Usage::

    .venv/bin/python bench/bench_calibration.py                      # default settings, scale 0.25
    .venv/bin/python bench/bench_calibration.py --scale 1            # the published study's size (the check)
    .venv/bin/python bench/bench_calibration.py --set effects.drug.successful_completion=0.5 \\
        --set effects_second_year.drug.successful_completion=0.3     # a candidate (repeatable)
    .venv/bin/python bench/bench_calibration.py --config my.yaml     # a config's ``synthetic:`` section

It generates the extract (default settings, or the config's ``synthetic:`` section, then the
``--set`` values) and reads the truth journeys (the study's adult journeys in the windows, each
outcome as the study's default definitions find it on the true persons; no linkage error). For
each constraint it prints the target, the achieved value and MET / NOT MET:

- **Mason 2015 window** (FY2011-12 against FY2012-13), drug: the raw DiD OR of successful
  completion and of "declined to continue" (code 88 within a year), and the adjusted one (the
  pipeline's fixed-effects logit in that window, as its ``mason_2015`` robustness row fits it),
  each inside Mason's published interval; the raw change of the pilot areas' rate within 1
  percentage point of Mason's (completion -1.3, declined +0.9 points).
- **Jones 2018 window** (two pre against two post years), drug: each published OR inside the
  interval of the adjusted DiD logit (area and quarter fixed effects, the covariates of
  ``models.covariates``, CRV1 by area: :func:`pbr.fit.models.fit_did`, the pipeline's own fit)
  on the truth outcomes; the raw window OR beside it.
- **Press release**: the raw completion and abstinence rates of the drug cohort, pilot and other
  areas, pre and post, each within 1 percentage point; their unadjusted DiD ORs within 0.03 of
  0.555 and 1.389.
- **Not significant** (Jones 2018: housing, drug-related death, acquisitive crime) and the **final
  report's directions** (:data:`pbr.registry.published.FINAL_REPORT_DIRECTIONS`, both cohorts): the
  direction the adjusted DiD's CRV1 interval shows (wholly below 1, above 1, or including 1:
  :func:`pbr.report.final_report.found_direction`). The report judges these by its headline
  method (the wild cluster score bootstrap, wider than CRV1 with 8 treated areas); CRV1 is used
  here because it is cheap, so a "no change" met here is met there too, a "lower"/"higher" may not be.
  ``--headline`` judges the Jones intervals, the not-significant findings and the directions by
  the report's ``logit_score_wcb`` instead (slower: below).

Raw ORs and rates are from the truth, not fitted; the truth has no linkage error, so a linked
outcome (death, crime) is as the planted records give it. At the end, the constraints that pull
against each other are printed with the figures that show it (``conflicts``).

Runtime (wall, ``time``, on the 2-core machine): scale 1, 1 min 21 s at issue #23's final defaults
(the generator 17 s, the checks 62 s; 2 min 19 s, the generator 34 s, for the previous defaults on a
busier machine); scale 0.25, 71 s; scale 0.1, 51 s (with another job running). With
``--headline`` (previous defaults): scale 1, 9 min 44 s; scale 0.25, 4 min 12 s.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # this checkout's library

from pbr.config import load_config  # noqa: E402
from pbr.fit.models import fit_did  # noqa: E402
from pbr.fit.spec import FitSpec  # noqa: E402
from pbr.registry.published import (  # noqa: E402
    FINAL_REPORT_DIRECTIONS,
    PUBLISHED_MASON_2015,
    PUBLISHED_NOT_SIGNIFICANT,
    PUBLISHED_OR,
    PUBLISHED_RAW_RATES,
    PUBLISHED_UNADJUSTED_OR,
    RAW_RATE_TOLERANCE,
    UNADJUSTED_OR_TOLERANCE,
)
from pbr.report.final_report import found_direction  # noqa: E402
from pbr.synthetic.truth import raw_did_or  # noqa: E402

#: Jones 2018's drug ORs with a public value
JONES_OUTCOMES = (
    "treatment_initiation",
    "successful_completion",
    "completion_without_representation",
    "abstinence",
    "non_injecting",
)
#: Mason 2015's raw change of the pilot areas' rate, percentage points (study notes)
MASON_PILOT_CHANGE = {"successful_completion": -1.3, "declined_to_continue": 0.9}
#: the truth column of a pipeline outcome where the names differ
TRUTH_COLUMN = {"declined_to_continue": "declined"}
#: tolerances: raw rates and raw changes (proportion), unadjusted ORs (the report's, defined once)
RATE_TOLERANCE = RAW_RATE_TOLERANCE
UNADJUSTED_TOLERANCE = UNADJUSTED_OR_TOLERANCE


@dataclass
class Check:
    """One constraint: what, its target in words, the achieved value in words, met or not."""

    group: str
    what: str
    target: str
    achieved: str
    met: bool


def analysis_frame(truth: pd.DataFrame, cohort: str, pre_start: str) -> pd.DataFrame:
    """The truth's study journeys of ``cohort`` as an analysis table for :func:`fit_did`: the design
    columns (area, pilot, did, post, quarter since ``pre_start``), the covariates of
    ``models.covariates`` (the start-TOP bands from the truth's baseline values, 'no_top' without a
    start TOP) and the outcomes (the truth's columns, ``declined`` as ``declined_to_continue``).

    Approximations of the pipeline's table: ``baseline_use`` bands the primary substance's days
    (the pipeline takes the most over the problem substances), and the area is the DAT area
    (under a sub-area pilot rule the pipeline splits Kent into two analysis areas; the default rule
    does not)."""
    j = truth[truth["in_study"].astype(bool) & truth["cohort"].eq(cohort)].reset_index(drop=True)
    start = pd.to_datetime(j["start_date"])
    origin = pd.Timestamp(pre_start)
    months = (start.dt.year - origin.year) * 12 + (start.dt.month - origin.month)
    post = j["period"].eq("post")
    pilot = j["pilot"].astype(bool)
    top = j["has_start_top"].astype(bool)
    use = j["baseline_days_primary"].astype("float64")
    qol = j["baseline_quality_of_life"].astype("float64")
    out = pd.DataFrame(
        {
            "area_code": j["area_code"].astype(str),
            "pilot": pilot,
            "post": post.astype("float64"),
            "did": (pilot & post).astype("float64"),
            "quarter": np.floor_divide(months, 3).astype("int64"),
            "start_date": start,
            "age_group": j["age_group"].astype(str),
            "sex": np.where(j["female"].astype(bool), "F", "M"),
            "substance_group": j["substance_group"].astype(str),
            "injecting": j["injecting"].astype(str),
            "previously_treated": j["previously_treated"].astype(bool).astype(str),
            "referral_source": j["referral_source"].astype(str),
            "baseline_use": np.where(
                top,
                pd.cut(use, [-1, 0, 7, 20, 28], labels=["0", "1-7", "8-20", "21-28"]).astype(str),
                "no_top",
            ),
            "baseline_functioning": np.where(
                top, pd.cut(qol, [-1, 7, 13, 20], labels=["0-7", "8-13", "14-20"]).astype(str), "no_top"
            ),
        }
    )
    for outcome in (*PUBLISHED_OR, "declined_to_continue"):
        col = TRUTH_COLUMN.get(outcome, outcome)
        out[outcome] = j[col].astype("Float64")
    return out


def in_window(frame: pd.DataFrame, pre: tuple, post: tuple) -> pd.DataFrame:
    """The rows starting in ``pre`` or ``post`` (half-open date ranges), ``post`` and ``did`` by them."""
    s = frame["start_date"]
    is_pre = (s >= pre[0]) & (s < pre[1])
    is_post = (s >= post[0]) & (s < post[1])
    out = frame[is_pre | is_post].copy()
    out["post"] = is_post[is_pre | is_post].astype("float64")
    out["did"] = (out["pilot"] & out["post"].astype(bool)).astype("float64")
    return out.reset_index(drop=True)


def raw_cells(frame: pd.DataFrame, outcome: str) -> dict[str, tuple[int, float]]:
    """(n, rate) of ``outcome`` per cell pilot/other x pre/post, and the raw DiD OR under ``or``."""
    y = frame[outcome]
    ok = y.notna()
    cells = {}
    for g, is_pilot in (("pilot", True), ("other", False)):
        for per, is_post in (("pre", 0.0), ("post", 1.0)):
            m = ok & frame["pilot"].eq(is_pilot) & frame["post"].eq(is_post)
            v = y[m].astype(float)
            cells[f"{g}_{per}"] = (len(v), float(v.mean()) if len(v) else math.nan)
    return cells


def raw_or(cells: dict[str, tuple[int, float]]) -> float:
    """The raw DiD OR of four cells' rates (NaN unless every rate is in (0, 1); the generator's
    :func:`pbr.synthetic.truth.raw_did_or`)."""
    raw = raw_did_or({k: v[1] for k, v in cells.items()})
    return math.nan if raw is None else raw


def adjusted(
    frame: pd.DataFrame, cohort: str, outcome: str, models: dict, period_unit: str, headline: bool = False
) -> dict:
    """The pipeline's logit DiD row of ``outcome`` on ``frame``: ``logit_crv1`` (:func:`fit_did`), or
    with ``headline`` the report's ``logit_score_wcb`` (the wild cluster score bootstrap's interval
    by :func:`pbr.fit.inference.few_cluster_rows`, the config's draws and seed; slower)."""
    spec = FitSpec.from_config(cohort, outcome, models, period_unit)
    if headline:
        from pbr.fit.inference import few_cluster_rows

        inference = models["inference"]
        rows = few_cluster_rows(
            frame,
            spec,
            reps=inference["bootstrap_reps"],
            seed=inference["seed"],
            methods=("logit_score_wcb",),
        )
        row = rows.iloc[0]
    else:
        row = fit_did(frame, spec, methods=("logit_crv1",)).iloc[0]
    return {k: row[k] for k in ("estimate", "ci_low", "ci_high", "status", "n", "events")}


def inside(value: float, lo: float, hi: float) -> bool:
    return bool(lo <= value <= hi)


def fmt_or(fit: dict) -> str:
    if fit["status"] == "not_estimable" or not np.isfinite(fit["estimate"]):
        return "not estimable"
    return f"{fit['estimate']:.3f} ({fit['ci_low']:.3f}-{fit['ci_high']:.3f})"


def mason_checks(frame: pd.DataFrame, win: tuple, models: dict, unit: str) -> tuple[list[Check], dict]:
    """Mason 2015's two ORs (raw and adjusted) and the pilot areas' raw change, in its window."""
    mf = in_window(frame, *win)
    checks, figures = [], {}
    for outcome, (value, lo, hi, _src) in PUBLISHED_MASON_2015.items():
        cells = raw_cells(mf, outcome)
        r = raw_or(cells)
        fit = adjusted(mf, "drug", outcome, models, unit)
        figures[outcome] = {"raw_or": r, "adjusted": fit, "cells": cells}
        target = f"in ({lo}, {hi}); published {value}"
        checks.append(Check("Mason 2015", f"{outcome} raw DiD OR", target, f"{r:.3f}", inside(r, lo, hi)))
        checks.append(
            Check(
                "Mason 2015",
                f"{outcome} adjusted DiD OR",
                target,
                fmt_or(fit),
                inside(fit["estimate"], lo, hi),
            )
        )
        change = cells["pilot_post"][1] - cells["pilot_pre"][1]
        want = MASON_PILOT_CHANGE[outcome]
        checks.append(
            Check(
                "Mason 2015",
                f"{outcome} pilot raw change (points)",
                f"{want:+.1f} +- 1",
                f"{100 * change:+.2f} ({100 * cells['pilot_pre'][1]:.2f}% -> {100 * cells['pilot_post'][1]:.2f}%)",
                abs(100 * change - want) <= 100 * RATE_TOLERANCE,
            )
        )
    return checks, figures


def jones_checks(
    frame: pd.DataFrame, win: tuple, models: dict, unit: str, headline: bool = False, tolerance: float = 1.1
) -> tuple[list[Check], dict]:
    """Jones 2018's five ORs (published inside the adjusted interval, and the adjusted OR within a
    factor ``tolerance`` of it: the report's step 1, ``report.reproduction_tolerance``), the press
    release's raw rates and unadjusted ORs, and the not-significant findings, in the two-year windows."""
    jf = in_window(frame, *win)
    checks, figures = [], {}
    for outcome in JONES_OUTCOMES:
        value, lo, hi, _src = PUBLISHED_OR[outcome]
        assert value is not None and lo is not None and hi is not None
        fit = adjusted(jf, "drug", outcome, models, unit, headline)
        r = raw_or(raw_cells(jf, outcome))
        figures[outcome] = {"raw_or": r, "adjusted": fit}
        met = fit["status"] != "not_estimable" and inside(value, fit["ci_low"], fit["ci_high"])
        checks.append(
            Check(
                "Jones 2018",
                f"{outcome} adjusted DiD OR",
                f"interval holds {value} ({lo}-{hi})",
                f"{fmt_or(fit)}; raw {r:.3f}",
                met,
            )
        )
        est = fit["estimate"]
        ratio = max(est / value, value / est) if fit["status"] != "not_estimable" else math.inf
        checks.append(
            Check(
                "Jones 2018",
                f"{outcome} adjusted OR / published",
                f"within a factor {tolerance:g}",
                f"{ratio:.3f}",
                ratio <= tolerance,
            )
        )
    for outcome, rates in PUBLISHED_RAW_RATES.items():
        cells = raw_cells(jf, outcome)
        for (g, per), want in rates.items():
            got = cells[f"{g}_{per}"][1]
            checks.append(
                Check(
                    "press release",
                    f"{outcome} raw rate {g} {per}",
                    f"{100 * want:.0f}% +- 1",
                    f"{100 * got:.2f}% (n {cells[f'{g}_{per}'][0]})",
                    abs(got - want) <= RATE_TOLERANCE,
                )
            )
        r = raw_or(cells)
        want = PUBLISHED_UNADJUSTED_OR[outcome]
        figures[outcome]["unadjusted"] = r
        checks.append(
            Check(
                "press release",
                f"{outcome} unadjusted DiD OR",
                f"{want} +- {UNADJUSTED_TOLERANCE}",
                f"{r:.3f}",
                abs(r - want) <= UNADJUSTED_TOLERANCE,
            )
        )
    for outcome in PUBLISHED_NOT_SIGNIFICANT:
        fit = adjusted(jf, "drug", outcome, models, unit, headline)
        found = found_direction(fit["ci_low"], fit["ci_high"]) if fit["status"] != "not_estimable" else ""
        checks.append(
            Check(
                "Jones 2018",
                f"{outcome} not significant",
                "interval holds 1",
                fmt_or(fit),
                found == "no change",
            )
        )
    return checks, figures


def direction_checks(
    frames: dict[str, pd.DataFrame], win: tuple, models: dict, unit: str, headline: bool = False
) -> list[Check]:
    """The final report's directions, each by the adjusted DiD's CRV1 interval in the Jones window."""
    checks = []
    for cohort, outcome, direction, _text in sorted(FINAL_REPORT_DIRECTIONS, key=lambda d: d[0] != "drug"):
        jf = in_window(frames[cohort], *win)
        fit = adjusted(jf, cohort, outcome, models, unit, headline)
        found = found_direction(fit["ci_low"], fit["ci_high"]) if fit["status"] != "not_estimable" else ""
        checks.append(
            Check(
                "final report (2017)",
                f"{cohort} {outcome}",
                direction,
                f"{found or 'not estimable'}: {fmt_or(fit)}",
                found == direction,
            )
        )
    return checks


def needed_unadjusted(fit: dict, unadjusted: float, published: float) -> tuple[float, float, float]:
    """The unadjusted ORs whose adjusted OR's interval would hold ``published``, if this world's
    ratio adjusted / unadjusted and the interval's width on the log scale stay as they are:
    (ratio, low, high)."""
    ratio = fit["estimate"] / unadjusted
    half = (math.log(fit["ci_high"]) - math.log(fit["ci_low"])) / 2
    return ratio, published / ratio / math.exp(half), published * math.exp(half) / ratio


def conflicts(mason: dict, jones: dict) -> list[str]:
    """The pulls between constraints, in figures: the unadjusted OR the press release's raw rates
    allow against the one the adjusted Jones OR needs (at this world's adjusted / unadjusted ratio
    and interval width), the Mason window against the Jones window, and declined against initiation."""
    out = []
    for outcome in ("successful_completion", "abstinence"):
        j = jones[outcome]
        value = PUBLISHED_OR[outcome][0]
        assert value is not None
        want = PUBLISHED_UNADJUSTED_OR[outcome]
        ratio, need_lo, need_hi = needed_unadjusted(j["adjusted"], j["unadjusted"], value)
        allow = (want - UNADJUSTED_TOLERANCE, want + UNADJUSTED_TOLERANCE)
        gap = max(allow[0] - need_hi, need_lo - allow[1], 0.0)
        out.append(
            f"{outcome}: the raw rates allow an unadjusted OR of {allow[0]:.3f}-{allow[1]:.3f} "
            f"(published {want}); an adjusted interval holding {value} needs {need_lo:.3f}-{need_hi:.3f} here "
            f"(adjusted / unadjusted {ratio:.3f} here, {value / want:.3f} published; achieved unadjusted "
            f"{j['unadjusted']:.3f}, adjusted {fmt_or(j['adjusted'])}): "
            + (f"no overlap, a gap of {gap:.3f}" if gap > 0 else "they overlap")
        )
    m = mason["successful_completion"]
    out.append(
        f"successful_completion: Mason window raw {m['raw_or']:.3f}, adjusted {fmt_or(m['adjusted'])} "
        f"(published 0.859, 0.788-0.937) against the Jones window raw {jones['successful_completion']['raw_or']:.3f}, "
        f"adjusted {fmt_or(jones['successful_completion']['adjusted'])} (published 0.60): one OR over both post "
        "years cannot give both; effects_second_year can"
    )
    d = mason["declined_to_continue"]
    i = jones["treatment_initiation"]
    c = d["cells"]
    out.append(
        f"declined_to_continue: Mason window raw {d['raw_or']:.3f}, pilot {100 * c['pilot_pre'][1]:.2f}% -> "
        f"{100 * c['pilot_post'][1]:.2f}% (published 2.934, +0.9 points: a base rate near 0.5%); treatment "
        f"initiation in the Jones window adjusted {fmt_or(i['adjusted'])}, raw {i['raw_or']:.3f} (published 0.17)"
    )
    return out


def settings_from(args: argparse.Namespace):
    """The generator's settings: the config's ``synthetic:`` section (or none), then ``--set``."""
    from pbr.synthetic.params import SyntheticParams

    cfg: dict = {}
    if args.config:
        cfg = (yaml.safe_load(Path(args.config).read_text()) or {}).get("synthetic", {}) or {}
    for item in args.set or []:
        key, _, value = item.partition("=")
        node = cfg
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = yaml.safe_load(value)
    cfg["scale"] = args.scale
    if args.seed is not None:
        cfg["seed"] = args.seed
    return SyntheticParams.from_config(cfg)


def run(settings, config_path: Path = ROOT / "config" / "config.yaml", headline: bool = False) -> list[Check]:
    """Generate the extract of ``settings``, print every constraint, return them."""
    from pbr.synthetic import generator

    config = load_config(config_path)
    models, unit = config["models"], config["study"]["period_unit"]
    t0 = time.perf_counter()
    ex = generator.generate(settings)
    t_gen = time.perf_counter() - t0
    truth = ex.truth["journeys"]
    frames = {c: analysis_frame(truth, c, settings.dates.pre_start) for c in ("drug", "alcohol")}
    start = pd.Timestamp(settings.dates.post_start)
    year = pd.DateOffset(years=1)
    mason_win = ((start - year, start), (start, start + year))
    jones_win = ((pd.Timestamp(settings.dates.pre_start), start), (start, start + 2 * year))
    mason, mason_fig = mason_checks(frames["drug"], mason_win, models, unit)
    tolerance = float(config["report"]["reproduction_tolerance"])
    jones, jones_fig = jones_checks(frames["drug"], jones_win, models, unit, headline, tolerance)
    checks = mason + jones + direction_checks(frames, jones_win, models, unit, headline)
    print(
        f"scale {settings.scale}, seed {settings.seed}: generated in {t_gen:.1f} s, "
        f"checked in {time.perf_counter() - t0 - t_gen:.1f} s; intervals of the Jones ORs and directions: "
        + ("logit_score_wcb (the report's headline)" if headline else "logit_crv1")
    )
    width = max(len(c.what) for c in checks)
    group = ""
    for c in checks:
        if c.group != group:
            group = c.group
            print(f"\n{group}")
        print(f"  {c.what:{width}s}  {c.target:32s}  {c.achieved:40s}  {'MET' if c.met else 'NOT MET'}")
    met = sum(c.met for c in checks)
    print(f"\n{met} of {len(checks)} constraints met")
    print("\nconflicts (figures):")
    for line in conflicts(mason_fig, jones_fig):
        print(f"  - {line}")
    return checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--config", default=None, help="a YAML config whose synthetic: section is used")
    ap.add_argument("--set", action="append", help="KEY.PATH=VALUE under synthetic: (repeatable)")
    ap.add_argument(
        "--headline",
        action="store_true",
        help="judge the Jones intervals and the directions by the report's logit_score_wcb, not CRV1",
    )
    args = ap.parse_args()
    run(settings_from(args), headline=args.headline)


if __name__ == "__main__":
    main()
