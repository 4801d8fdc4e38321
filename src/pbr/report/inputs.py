"""The report's inputs: the results, rates, flow and the other tables the report reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class ReportInputs:
    """Everything the report reads. Frames left empty are reported as not available."""

    results: pd.DataFrame
    rates: pd.DataFrame
    flow: pd.DataFrame
    event_study: pd.DataFrame = field(default_factory=pd.DataFrame)
    trends: pd.DataFrame = field(default_factory=pd.DataFrame)
    baseline: pd.DataFrame = field(default_factory=pd.DataFrame)
    quality: pd.DataFrame = field(default_factory=pd.DataFrame)
    match_rates: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the reliability of the match probabilities against the synthetic truth
    #: (results/link/calibration.parquet, :func:`pbr.link.quality.linkage_calibration`); empty with real data
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the linkage quality without truth by register x cohort x group x period
    #: (results/link/indicators.parquet, :func:`pbr.link.indicators.cell_indicators`)
    link_indicators: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the death and crime outcomes' events and expected false and missed events by cohort x group x
    #: period (results/fit/linkage_bounds.parquet, :func:`pbr.fit.link_bounds.cell_event_errors`)
    link_bounds: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the delay from death to registration of the linked deaths by group x period, and the extract's
    #: latest registration (results/link/registration_lag.parquet, :mod:`pbr.derive.registration`)
    registration_lag: pd.DataFrame = field(default_factory=pd.DataFrame)
    pairs: dict[str, pd.DataFrame] = field(default_factory=dict)
    effects: dict | None = None
    #: the validated area lookup (results/extract/areas.parquet: area_code, area_name, pilot,
    #: pilot_sub_area); empty: the report counts areas from the results alone, without names
    areas: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: each pilot area's DiD against all comparison areas (results/fit/pilot_areas.parquet: cohort,
    #: outcome, area_code, beta, odds_ratio, risk_difference, leverage_share, n, events); empty:
    #: the per-pilot section reads the result rows alone
    pilot_areas: pd.DataFrame = field(default_factory=pd.DataFrame)


AREA_COLUMNS = ["area_code", "area_name", "region", "pilot", "pilot_sub_area"]


def load_inputs(
    results: str | Path,
    rates: str | Path,
    flows: Sequence[str | Path],
    event_study: str | Path | None = None,
    trends: str | Path | None = None,
    baseline: str | Path | None = None,
    quality: str | Path | None = None,
    match_rates: str | Path | None = None,
    calibration: str | Path | None = None,
    link_indicators: str | Path | None = None,
    link_bounds: str | Path | None = None,
    registration_lag: str | Path | None = None,
    pairs: Sequence[str | Path] = (),
    effects: Sequence[str | Path] = (),
    areas: str | Path | None = None,
    extracts: Sequence[str | Path] = (),
    pilot_areas: str | Path | None = None,
) -> ReportInputs:
    """Read the report's inputs; ``pairs`` files are named pairs_<register>.parquet, ``effects`` is 0 or 1 JSON file.

    The area lookup is ``areas``, or else the file named ``areas.*`` among ``extracts`` (the
    validated extracts the rule already takes as inputs); only its area columns are read
    (the lookup holds no identifier, and area names are not personal data). ``pilot_areas``
    is optional (absent: the per-pilot section reads the result rows alone).
    """
    from pbr import io as pio
    from pbr.flow import concat_flows

    def opt(path):
        return pio.read_table(path) if path else pd.DataFrame()

    if areas is None:
        areas = next((p for p in extracts if Path(p).name.split(".")[0] == "areas"), None)
    area_table = opt(areas)
    area_table = area_table[[c for c in AREA_COLUMNS if c in area_table.columns]]

    return ReportInputs(
        results=pio.read_table(results),
        rates=pio.read_table(rates),
        flow=concat_flows(*[pio.read_table(p) for p in flows]),
        event_study=opt(event_study),
        trends=opt(trends),
        baseline=opt(baseline),
        quality=opt(quality),
        match_rates=opt(match_rates),
        calibration=opt(calibration),
        link_indicators=opt(link_indicators),
        link_bounds=opt(link_bounds),
        registration_lag=opt(registration_lag),
        pairs={Path(p).stem.removeprefix("pairs_"): pio.read_table(p) for p in pairs},
        effects=pio.read_json(effects[0]) if effects else None,
        areas=area_table,
        pilot_areas=opt(pilot_areas),
    )
