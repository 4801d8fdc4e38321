"""Synthetic NDTMS, ONS mortality and PNC extracts with a known truth.

The real record systems are restricted, so the pipeline runs end to end on extracts
generated here: the five contract tables (:mod:`pbr.contract`) that look and behave like
the real ones, plus the truth behind them (who is who, which journeys are which, and the
outcomes planted in them), used only to evaluate the linkage and the estimates.

How the data are made
---------------------
* **Areas.** The 149 DAT areas of England (8 pilots), with realistic sizes (population
  times a treatment-need factor). Kent is split into West Kent (the pilot sub-area) and
  East Kent; episodes there carry ``sub_area``.
* **Journeys.** A month-by-month simulation from the first referral month to the last.
  Each month the people scheduled to re-present (earlier journeys' successors) arrive,
  and new people are added so that the number of *adult* journeys starting in each study
  window equals the published counts times ``scale`` exactly, by cohort and group
  (pilot/other). When more re-presenters arrive than the month needs, re-presentations
  that no outcome depends on (after a non-completion, or more than 183 days after a
  completion) are dropped at random, so the selection never depends on an outcome (only
  at tiny scales, when the count could not be met otherwise, is a re-presentation within
  183 days of a completion dropped; ``effects["representations_dropped_forced"]``).
* **Outcomes** come from logistic models with area random effects, a post-period effect,
  covariate effects and the planted difference-in-differences term (log OR on
  pilot x post). Intercepts are calibrated so that the pre-period rates in both groups and
  the post-period rate in the other areas hit the targets in ``rates``; the pilot post
  rate follows from the planted OR. The simulated outcomes are calibrated on a pilot run
  (same seed, scale <= 0.15) so that re-presentations are in the mix; the TOP and
  crime outcomes on the realised journeys themselves. Initiation, completion and completion without
  re-presentation are nested (completion needs initiation, and so on) and each keeps its
  own exact logistic margin. Every outcome is realised in the records so that the
  pipeline's definitions (config ``outcomes:``) recover it, with dates kept clear of the
  definitions' boundaries.
* **Records.** Journeys are cut into episodes (transfers, 83/84, re-referred within
  0-20 days), given agencies, agency-local client ids and the NDTMS attributor
  (initials, date of birth, sex) with recording noise; TOP interviews at start, about
  every three months in treatment, and at exit. Clients' deaths and proven offences go
  into ONS and PNC registers that also hold many more unrelated people drawn from the
  same name, date-of-birth and sex distributions, with full names and register-copy
  errors (date-of-birth typos, name typos and swaps, moves, missing sex, aliases,
  surname changes).

Truth
-----
``truth["journeys"]`` holds, per true journey, its covariates (as used by the generating
model) and its outcomes *as the study's default definitions find them on the true
persons*, <NA> outside an outcome's denominator (no triage, no start or review TOP, not
injecting at start, ...). These equal the planted draws for every outcome except
drug-related death and acquisitive crime, where a person's overlapping 12-month windows
can share one death or offence. ``effects`` records the planted ORs, the calibration
(intercepts, targets, implied pilot post rate), realised rates and raw DiD ORs per cell,
counts against targets, register sizes and the covariate coefficients.

Everything is vectorised (numpy / pyarrow); the only Python loop of any length is over the
72 referral months. The same parameters give byte-identical tables.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import logging
import time
import typing
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pbr.contract import SUBSTANCE_TOP_COLUMN, TABLES

log = logging.getLogger(__name__)

__all__ = [
    "OUTCOMES",
    "CellRates",
    "CohortEffects",
    "CohortRates",
    "CountsParams",
    "DatesParams",
    "EffectsParams",
    "NoiseParams",
    "ProcessParams",
    "RatesParams",
    "RegistersParams",
    "SyntheticExtract",
    "SyntheticParams",
    "generate",
]

# ---------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------

#: Outcomes with a planted DiD odds ratio and a calibrated baseline, in model order.
OUTCOMES = (
    "initiation",
    "waiting",
    "completion",
    "completion_no_representation",
    "abstinence",
    "non_injecting",
    "housing_problem",
    "drug_related_death",
    "acquisitive_crime",
)
PILOT_RULES = ("whole_area_pilot", "sub_area_pilot_rest_other", "sub_area_pilot_rest_excluded")


@dataclass(frozen=True)
class DatesParams:
    """Calendar of the extract. Every date is ISO ``YYYY-MM-DD``; windows start on the 1st of a month."""

    #: first referral date in the extract; registers start here too
    referral_start: str = "2009-04-01"
    #: first day of the pre window
    pre_start: str = "2010-04-01"
    #: first day of the post window (PbR go-live)
    post_start: str = "2012-04-01"
    #: last day of the post window
    post_end: str = "2014-03-31"
    #: extract date: last referral date, episodes open then have no discharge, registers end here
    extract_end: str = "2015-03-31"


@dataclass(frozen=True)
class CountsParams:
    """Adult journeys starting in each window at scale 1 (published), and the extras around them."""

    #: drug journeys, pre window, pilot areas (Jones 2018)
    drug_pre_pilot: int = 10716
    #: drug journeys, pre window, other areas
    drug_pre_other: int = 143459
    #: drug journeys, post window, pilot areas
    drug_post_pilot: int = 10012
    #: drug journeys, post window, other areas
    drug_post_other: int = 138929
    #: alcohol journeys, pre window, all areas (final report)
    alcohol_pre: int = 159153
    #: alcohol journeys, post window, all areas
    alcohol_post: int = 165833
    #: share of alcohol journeys in pilot areas (not published; drug clients: 6.9%)
    alcohol_pilot_share: float = 0.07
    #: new journeys per month in the years outside the windows, relative to a window month
    outside_window_share: float = 0.35
    #: under-18 journeys added, relative to adult journeys
    under18_share: float = 0.02
    #: share of Kent's clients living in West Kent (the pilot sub-area)
    kent_west_share: float = 0.47


@dataclass(frozen=True)
class CohortEffects:
    """Planted DiD odds ratios (pilot x post) for one cohort."""

    #: treatment initiation within 90 days of triage
    initiation: float = 1.0
    #: more than 21 days from referral to first intervention (among starters)
    waiting: float = 1.0
    #: successful completion within 12 months
    completion: float = 1.0
    #: completion without re-presentation within 6 months
    completion_no_representation: float = 1.0
    #: abstinence from the problem substances at the ~6-month review TOP
    abstinence: float = 1.0
    #: not injecting at review, among those injecting at start
    non_injecting: float = 1.0
    #: acute housing problem at review
    housing_problem: float = 1.0
    #: drug-poisoning death within 12 months of journey start
    drug_related_death: float = 1.0
    #: proven acquisitive offence within 12 months of journey start
    acquisitive_crime: float = 1.0


def _drug_effects() -> CohortEffects:
    return CohortEffects(
        initiation=0.17,
        completion=0.60,
        completion_no_representation=0.63,
        abstinence=1.50,
        non_injecting=1.32,
    )


def _alcohol_effects() -> CohortEffects:
    return CohortEffects(completion=0.80, completion_no_representation=0.80)


@dataclass(frozen=True)
class EffectsParams:
    """Planted DiD odds ratios per cohort (defaults: Jones 2018 for drug clients)."""

    #: drug cohort (first episode's primary substance is not alcohol)
    drug: CohortEffects = field(default_factory=_drug_effects)
    #: alcohol cohort
    alcohol: CohortEffects = field(default_factory=_alcohol_effects)


@dataclass(frozen=True)
class CellRates:
    """Calibration targets (raw rates among adult journeys in the windows)."""

    #: rate in the pilot areas, pre window
    pilot_pre: float = 0.5
    #: rate in the other areas, pre window
    other_pre: float = 0.5
    #: rate in the other areas, post window (the pilot post rate follows from the planted OR)
    other_post: float = 0.5


def _r(a: float, b: float, c: float) -> CellRates:
    return CellRates(a, b, c)


@dataclass(frozen=True)
class CohortRates:
    """Calibration targets for one cohort, per outcome (the outcomes of :class:`CohortEffects`)."""

    initiation: CellRates = field(default_factory=lambda: _r(0.96, 0.955, 0.955))
    waiting: CellRates = field(default_factory=lambda: _r(0.07, 0.07, 0.065))
    completion: CellRates = field(default_factory=lambda: _r(0.34, 0.27, 0.29))
    completion_no_representation: CellRates = field(default_factory=lambda: _r(0.30, 0.235, 0.255))
    abstinence: CellRates = field(default_factory=lambda: _r(0.22, 0.23, 0.22))
    non_injecting: CellRates = field(default_factory=lambda: _r(0.45, 0.45, 0.45))
    housing_problem: CellRates = field(default_factory=lambda: _r(0.08, 0.08, 0.08))
    drug_related_death: CellRates = field(default_factory=lambda: _r(0.006, 0.006, 0.006))
    acquisitive_crime: CellRates = field(default_factory=lambda: _r(0.22, 0.22, 0.21))


def _alcohol_rates() -> CohortRates:
    return CohortRates(
        initiation=_r(0.96, 0.96, 0.96),
        waiting=_r(0.07, 0.07, 0.065),
        completion=_r(0.62, 0.60, 0.61),
        completion_no_representation=_r(0.55, 0.53, 0.54),
        abstinence=_r(0.30, 0.30, 0.31),
        non_injecting=_r(0.50, 0.50, 0.50),
        housing_problem=_r(0.04, 0.04, 0.04),
        drug_related_death=_r(0.001, 0.001, 0.001),
        acquisitive_crime=_r(0.05, 0.05, 0.05),
    )


@dataclass(frozen=True)
class RatesParams:
    """Baseline calibration targets per cohort (drug: the University's published raw rates)."""

    drug: CohortRates = field(default_factory=CohortRates)
    alcohol: CohortRates = field(default_factory=_alcohol_rates)


@dataclass(frozen=True)
class NoiseParams:
    """Identifier errors. Register rates apply to clients' register copies (ONS, PNC)."""

    #: share of register copies with a wrong date of birth (day +-1, year +-1, day/month swapped)
    register_dob_error: float = 0.05
    #: share of register copies with a name typo or forename/surname swapped
    register_name_error: float = 0.02
    #: share of register copies recorded in a different area
    register_area_move: float = 0.10
    #: share of those moves that stay within the home area's region (0: any area, by population)
    register_area_move_same_region: float = 0.0
    #: share of register copies with no area
    register_area_missing: float = 0.01
    #: share of register copies with sex missing
    register_sex_missing: float = 0.01
    #: share of women whose register surname differs (marriage)
    surname_change_female: float = 0.05
    #: share of client offenders who use aliases on the PNC
    pnc_alias_person: float = 0.10
    #: share of an alias user's offences recorded under an alias
    pnc_alias_record: float = 0.30
    #: share of NDTMS (client, agency) records with a wrong date of birth
    ndtms_dob_error: float = 0.005
    #: share of NDTMS (client, agency) records with a wrong or swapped initial
    ndtms_initial_error: float = 0.005
    #: share of NDTMS (client, agency) records with initials missing
    ndtms_initials_missing: float = 0.002
    #: share of NDTMS (client, agency) records with sex missing
    ndtms_sex_missing: float = 0.003


@dataclass(frozen=True)
class RegistersParams:
    """Sizes of the unrelated populations in the registers."""

    #: unrelated deaths per client death in the ONS extract (>= 5 keeps linkage honest)
    deaths_unrelated_ratio: float = 5.0
    #: unrelated offence records per client offence record in the PNC extract
    offences_unrelated_ratio: float = 5.0
    #: share of unrelated deaths among the elderly (born 1915-1950); the rest share the clients' birth years
    deaths_elderly_share: float = 0.3
    #: client background proven offences per person-year, opiate or crack users (others scaled down)
    offending_rate: float = 0.25


@dataclass(frozen=True)
class ProcessParams:
    """Treatment process settings."""

    #: SD of the area random intercepts (logit scale), every outcome
    area_sd: float = 0.25
    #: share of journeys with more than one episode (transfers)
    multi_episode_share: float = 0.10
    #: share of journeys with no triage date recorded
    triage_missing: float = 0.03
    #: probability of a start TOP (days 0-14) for journeys that start treatment
    start_top_initiated: float = 0.90
    #: probability of a start TOP for journeys that never start treatment
    start_top_not_initiated: float = 0.30
    #: probability that each quarterly review TOP is done while in treatment
    review_top: float = 0.85
    #: probability of an exit TOP at a planned discharge
    exit_top: float = 0.50
    #: most review TOPs per journey
    max_reviews: int = 8
    #: probability that a drug client re-presents after a journey not completed
    representation_drug: float = 0.55
    #: probability that an alcohol client re-presents after a journey not completed
    representation_alcohol: float = 0.35
    #: probability of a late (> 6 months) re-presentation after a completion
    late_representation: float = 0.20
    #: probability that a re-presentation switches cohort (drug <-> alcohol)
    cohort_switch: float = 0.05
    #: probability that a re-presentation is in another area
    move_area: float = 0.05


@dataclass(frozen=True)
class SyntheticParams:
    """All settings of the synthetic extract (config section ``synthetic:``).

    ``scale`` multiplies every count (1.0: the published study); ``seed`` fixes every
    random draw; ``pilot_rule`` says how Kent (pilot only in West Kent) is treated, as the
    study's ``partial_pilot_rule``: it decides which journeys carry the planted effect and
    which count towards the published pilot counts. The nested sections are documented
    on their classes.
    """

    #: multiplies every count; 1.0 gives the published journey counts
    scale: float = 1.0
    #: random seed; the same parameters give byte-identical extracts
    seed: int = 20120401
    #: whole_area_pilot | sub_area_pilot_rest_other | sub_area_pilot_rest_excluded
    pilot_rule: str = "whole_area_pilot"
    dates: DatesParams = field(default_factory=DatesParams)
    counts: CountsParams = field(default_factory=CountsParams)
    effects: EffectsParams = field(default_factory=EffectsParams)
    rates: RatesParams = field(default_factory=RatesParams)
    noise: NoiseParams = field(default_factory=NoiseParams)
    registers: RegistersParams = field(default_factory=RegistersParams)
    process: ProcessParams = field(default_factory=ProcessParams)

    def __post_init__(self) -> None:
        _check_params(self)

    @classmethod
    def from_config(cls, cfg: dict | None) -> SyntheticParams:
        """Parameters from the ``synthetic:`` config section (a nested dict).

        Missing keys take their defaults; an unknown key raises ``ValueError`` naming it.
        """
        return _from_dict(cls(), cfg or {}, "synthetic")

    def to_dict(self) -> dict:
        """The parameters as a nested, JSON-serialisable dict (the config section)."""
        return dataclasses.asdict(self)


def _from_dict(base, cfg, path: str):
    """``base`` (a params dataclass instance) with the values in ``cfg`` replacing its own."""
    cls = type(base)
    if not isinstance(cfg, dict):
        raise ValueError(f"{path} must be a mapping, got {type(cfg).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in cfg.items():
        if key not in names:
            raise ValueError(f"unknown key {path}.{key} (allowed: {', '.join(sorted(names))})")
        kind = hints[key]
        where = f"{path}.{key}"
        if dataclasses.is_dataclass(kind):
            kwargs[key] = _from_dict(getattr(base, key), value, where)
        elif kind is int:
            if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
                raise ValueError(f"{where} must be an integer, got {value!r}")
            kwargs[key] = int(value)
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{where} must be a number, got {value!r}")
            kwargs[key] = float(value)
        elif kind is str:
            if isinstance(value, _dt.date):
                value = value.isoformat()
            if not isinstance(value, str):
                raise ValueError(f"{where} must be a string, got {value!r}")
            kwargs[key] = value
        else:  # pragma: no cover - every field is one of the above
            raise TypeError(f"unsupported parameter type for {where}")
    try:
        return dataclasses.replace(base, **kwargs)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def _check_params(p: SyntheticParams) -> None:
    if not p.scale > 0:
        raise ValueError(f"scale must be > 0, got {p.scale}")
    if p.pilot_rule not in PILOT_RULES:
        raise ValueError(f"pilot_rule must be one of {PILOT_RULES}, got {p.pilot_rule!r}")
    d = p.dates
    try:
        days = [np.datetime64(getattr(d, k), "D") for k in ("referral_start", "pre_start", "post_start")]
        post_end = np.datetime64(d.post_end, "D")
        extract_end = np.datetime64(d.extract_end, "D")
    except ValueError as err:
        raise ValueError(f"dates: {err}") from None
    for k, day in zip(("referral_start", "pre_start", "post_start"), days, strict=True):
        if day != day.astype("datetime64[M]").astype("datetime64[D]"):
            raise ValueError(f"dates.{k} must be the first day of a month")
    if (post_end + 1) != (post_end + 1).astype("datetime64[M]").astype("datetime64[D]"):
        raise ValueError("dates.post_end must be the last day of a month")
    if not days[0] < days[1] < days[2] < post_end < extract_end:
        raise ValueError(
            "dates must satisfy referral_start < pre_start < post_start < post_end < extract_end"
        )
    c = p.counts
    for name in ("drug_pre_pilot", "drug_pre_other", "drug_post_pilot", "drug_post_other"):
        if getattr(c, name) < 0:
            raise ValueError(f"counts.{name} must be >= 0")
    for name in ("alcohol_pilot_share", "kent_west_share"):
        if not 0 <= getattr(c, name) <= 1:
            raise ValueError(f"counts.{name} must be in [0, 1]")
    for cohort in ("drug", "alcohol"):
        eff = getattr(p.effects, cohort)
        rates = getattr(p.rates, cohort)
        for o in OUTCOMES:
            if not getattr(eff, o) > 0:
                raise ValueError(f"effects.{cohort}.{o} must be > 0")
            cell = getattr(rates, o)
            for k in ("pilot_pre", "other_pre", "other_post"):
                if not 0 < getattr(cell, k) < 1:
                    raise ValueError(f"rates.{cohort}.{o}.{k} must be in (0, 1)")
    for section in (p.noise, p.process):
        for f in dataclasses.fields(section):
            v = getattr(section, f.name)
            if f.name in ("area_sd", "max_reviews"):
                if v < 0:
                    raise ValueError(f"{f.name} must be >= 0")
            elif not 0 <= v <= 1:
                raise ValueError(f"{f.name} must be in [0, 1], got {v}")
    r = p.registers
    if r.deaths_unrelated_ratio < 0 or r.offences_unrelated_ratio < 0 or r.offending_rate < 0:
        raise ValueError("registers ratios and rates must be >= 0")
    if not 0 <= r.deaths_elderly_share <= 1:
        raise ValueError("registers.deaths_elderly_share must be in [0, 1]")


@dataclass
class SyntheticExtract:
    """What :func:`generate` returns.

    ``tables``: the five contract tables. ``truth``: evaluation-only tables
    (``episode_person``, ``death_person``, ``offence_person``, ``journeys``), never read by
    the analysis. ``effects``: planted odds ratios, calibration, realised rates and counts
    (JSON-serialisable).
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    effects: dict


# ---------------------------------------------------------------------------------------
# Reference data: areas, names, code lists
# ---------------------------------------------------------------------------------------

PILOT_AREAS = (
    "Bracknell Forest",
    "Enfield",
    "Kent",
    "Lincolnshire",
    "Oxfordshire",
    "Stockport",
    "Wakefield",
    "Wigan",
)

# name | region | population (thousands, 2011) | treatment need relative to its region
_AREA_TABLE = """
County Durham|North East|513|1.1
Darlington|North East|106|1.2
Gateshead|North East|200|1.1
Hartlepool|North East|92|1.4
Middlesbrough|North East|138|1.6
Newcastle upon Tyne|North East|280|1.2
North Tyneside|North East|201|1.0
Northumberland|North East|316|0.8
Redcar and Cleveland|North East|135|1.2
South Tyneside|North East|148|1.2
Stockton-on-Tees|North East|191|1.1
Sunderland|North East|275|1.2
Blackburn with Darwen|North West|147|1.3
Blackpool|North West|142|2.0
Bolton|North West|276|1.0
Bury|North West|185|1.0
Cheshire East|North West|370|0.7
Cheshire West and Chester|North West|329|0.9
Cumbria|North West|499|0.8
Halton|North West|126|1.2
Knowsley|North West|146|1.3
Lancashire|North West|1172|0.9
Liverpool|North West|466|1.6
Manchester|North West|503|1.5
Oldham|North West|225|1.1
Rochdale|North West|212|1.2
Salford|North West|234|1.3
Sefton|North West|274|1.1
St Helens|North West|176|1.1
Stockport|North West|283|0.8
Tameside|North West|219|1.1
Trafford|North West|226|0.7
Warrington|North West|203|0.9
Wigan|North West|318|1.0
Wirral|North West|320|1.2
Barnsley|Yorkshire and The Humber|231|1.1
Bradford|Yorkshire and The Humber|522|1.2
Calderdale|Yorkshire and The Humber|204|1.0
Doncaster|Yorkshire and The Humber|302|1.2
East Riding of Yorkshire|Yorkshire and The Humber|334|0.6
Kingston upon Hull|Yorkshire and The Humber|257|1.5
Kirklees|Yorkshire and The Humber|423|0.9
Leeds|Yorkshire and The Humber|751|1.1
North East Lincolnshire|Yorkshire and The Humber|160|1.3
North Lincolnshire|Yorkshire and The Humber|167|0.9
North Yorkshire|Yorkshire and The Humber|598|0.6
Rotherham|Yorkshire and The Humber|258|1.1
Sheffield|Yorkshire and The Humber|552|1.1
Wakefield|Yorkshire and The Humber|325|1.0
York|Yorkshire and The Humber|198|0.9
Derby|East Midlands|248|1.2
Derbyshire|East Midlands|770|0.8
Leicester|East Midlands|330|1.1
Leicestershire|East Midlands|650|0.6
Lincolnshire|East Midlands|713|0.8
Northamptonshire|East Midlands|691|0.9
Nottingham|East Midlands|305|1.5
Nottinghamshire|East Midlands|786|0.9
Rutland|East Midlands|37|0.4
Birmingham|West Midlands|1073|1.2
Coventry|West Midlands|317|1.1
Dudley|West Midlands|313|0.9
Herefordshire|West Midlands|184|0.7
Sandwell|West Midlands|309|1.1
Shropshire|West Midlands|306|0.7
Solihull|West Midlands|207|0.7
Staffordshire|West Midlands|849|0.7
Stoke-on-Trent|West Midlands|249|1.4
Telford and Wrekin|West Midlands|166|1.1
Walsall|West Midlands|269|1.0
Warwickshire|West Midlands|546|0.7
Wolverhampton|West Midlands|250|1.2
Worcestershire|West Midlands|566|0.7
Bedford|East of England|157|1.1
Cambridgeshire|East of England|622|0.8
Central Bedfordshire|East of England|255|0.7
Essex|East of England|1393|0.8
Hertfordshire|East of England|1116|0.7
Luton|East of England|203|1.2
Norfolk|East of England|858|1.0
Peterborough|East of England|184|1.4
Southend-on-Sea|East of England|174|1.4
Suffolk|East of England|728|0.9
Thurrock|East of England|158|1.0
Barking and Dagenham|London|186|1.0
Barnet|London|356|0.6
Bexley|London|232|0.6
Brent|London|311|1.0
Bromley|London|310|0.6
Camden|London|220|1.5
Croydon|London|363|0.9
Ealing|London|338|0.9
Enfield|London|313|0.8
Greenwich|London|254|1.1
Hackney and City of London|London|253|1.4
Hammersmith and Fulham|London|182|1.3
Haringey|London|255|1.3
Harrow|London|239|0.5
Havering|London|237|0.6
Hillingdon|London|274|0.7
Hounslow|London|254|0.9
Islington|London|206|1.6
Kensington and Chelsea|London|159|1.2
Kingston upon Thames|London|160|0.6
Lambeth|London|303|1.5
Lewisham|London|276|1.1
Merton|London|200|0.7
Newham|London|308|0.9
Redbridge|London|279|0.6
Richmond upon Thames|London|187|0.6
Southwark|London|288|1.4
Sutton|London|190|0.6
Tower Hamlets|London|254|1.4
Waltham Forest|London|258|1.0
Wandsworth|London|307|0.9
Westminster|London|219|1.7
Bracknell Forest|South East|113|0.8
Brighton and Hove|South East|273|1.8
Buckinghamshire|South East|505|0.6
East Sussex|South East|527|1.0
Hampshire|South East|1318|0.8
Isle of Wight|South East|138|1.1
Kent|South East|1464|1.0
Medway|South East|264|1.2
Milton Keynes|South East|249|1.0
Oxfordshire|South East|654|0.8
Portsmouth|South East|205|1.4
Reading|South East|155|1.3
Slough|South East|140|1.1
Southampton|South East|237|1.4
Surrey|South East|1132|0.6
West Berkshire|South East|154|0.7
West Sussex|South East|806|0.8
Windsor and Maidenhead|South East|145|0.6
Wokingham|South East|154|0.5
Bath and North East Somerset|South West|176|0.9
Bournemouth and Poole|South West|330|1.3
Bristol|South West|428|1.5
Cornwall and Isles of Scilly|South West|534|1.1
Devon|South West|746|0.9
Dorset|South West|413|0.7
Gloucestershire|South West|596|0.9
North Somerset|South West|202|0.9
Plymouth|South West|256|1.4
Somerset|South West|529|0.9
South Gloucestershire|South West|262|0.7
Swindon|South West|209|1.2
Torbay|South West|131|1.4
Wiltshire|South West|471|0.8
"""

_REGION_NEED = {
    "North East": 1.35,
    "North West": 1.35,
    "Yorkshire and The Humber": 1.2,
    "East Midlands": 1.0,
    "West Midlands": 1.05,
    "East of England": 0.8,
    "London": 1.1,
    "South East": 0.8,
    "South West": 0.95,
}

# Substance codes (contract order) and how they map to TOP columns and model groups.
SUBST = (
    "heroin",
    "methadone",
    "other_opiate",
    "crack",
    "cocaine",
    "amphetamine",
    "cannabis",
    "benzodiazepine",
    "alcohol",
    "other",
)
_NONE = len(SUBST)  # "no substance" code
_ALC = SUBST.index("alcohol")
TOP_DAY_COLUMNS = (
    "days_alcohol",
    "days_opiates",
    "days_crack",
    "days_cocaine",
    "days_amphetamines",
    "days_cannabis",
    "days_other_drug",
)
_SUB_COL = np.array([TOP_DAY_COLUMNS.index(SUBSTANCE_TOP_COLUMN[s]) for s in SUBST] + [-1])
# model substance groups: 0 opiate, 1 crack, 2 cocaine, 3 cannabis, 4 amphetamine, 5 other drug, 6 alcohol
GROUPS = ("opiate", "crack", "cocaine", "cannabis", "amphetamine", "other_drug", "alcohol")
_SUB_GRP = np.array([0, 0, 0, 1, 2, 4, 3, 5, 6, 5])
INJ = ("current", "previous", "never", "declined")
REF = ("self", "gp", "criminal_justice", "health_social", "other")
EMP = ("employed", "unemployed", "other")
ROUTE = ("inject", "sniff", "smoke", "oral", "other")
AGE_GROUPS = ("<25", "25-34", "35-44", "45+")

# primary substance of a new drug client (adult / under 18), and the drug an alcohol client
# reports if they later present for drugs
_P_DRUG = np.array([0.55, 0.02, 0.03, 0.08, 0.09, 0.05, 0.12, 0.02, 0.0, 0.04])
_P_DRUG_MINOR = np.array([0.02, 0.0, 0.0, 0.02, 0.06, 0.04, 0.75, 0.03, 0.0, 0.08])
_P_ALC_DRUG = np.array([0.0, 0.0, 0.0, 0.0, 0.35, 0.10, 0.45, 0.0, 0.0, 0.10])
# secondary substance given the primary's group (10 substances + none)
_P_SECOND = np.array(
    [
        # her  meth  oop  crack coc  amph  cann benzo alc  oth  none
        [0.00, 0.00, 0.00, 0.45, 0.04, 0.02, 0.10, 0.08, 0.10, 0.01, 0.20],  # opiate
        [0.10, 0.00, 0.00, 0.00, 0.10, 0.00, 0.25, 0.00, 0.20, 0.05, 0.30],  # crack
        [0.00, 0.00, 0.00, 0.05, 0.00, 0.00, 0.20, 0.00, 0.35, 0.05, 0.35],  # cocaine
        [0.00, 0.00, 0.00, 0.00, 0.12, 0.08, 0.00, 0.00, 0.25, 0.10, 0.45],  # cannabis
        [0.00, 0.00, 0.00, 0.00, 0.10, 0.00, 0.30, 0.00, 0.20, 0.05, 0.35],  # amphetamine
        [0.10, 0.00, 0.00, 0.00, 0.10, 0.00, 0.20, 0.00, 0.20, 0.00, 0.40],  # other drug
        [0.00, 0.00, 0.00, 0.00, 0.10, 0.02, 0.12, 0.03, 0.00, 0.03, 0.70],  # alcohol
    ]
)
_P_THIRD = np.array([0.35, 0.25, 0.2, 0.2, 0.2, 0.2, 0.15])
# person injecting history by group: current, previous, never, declined
_P_INJ = np.array(
    [
        [0.30, 0.30, 0.38, 0.02],
        [0.08, 0.15, 0.75, 0.02],
        [0.02, 0.06, 0.90, 0.02],
        [0.01, 0.04, 0.93, 0.02],
        [0.08, 0.10, 0.80, 0.02],
        [0.04, 0.08, 0.86, 0.02],
        [0.01, 0.04, 0.93, 0.02],
    ]
)
_P_PREV = np.array([0.60, 0.40, 0.25, 0.20, 0.30, 0.30, 0.30])  # treated before the extract starts
_AGE_MEAN = np.array([36.0, 33.0, 29.0, 26.0, 32.0, 32.0, 44.0])
_AGE_SD = np.array([8.0, 8.0, 8.0, 9.0, 9.0, 10.0, 11.0])
_P_REF = np.array(
    [
        [0.38, 0.08, 0.32, 0.14, 0.08],
        [0.35, 0.07, 0.35, 0.15, 0.08],
        [0.45, 0.12, 0.18, 0.15, 0.10],
        [0.45, 0.12, 0.18, 0.15, 0.10],
        [0.45, 0.12, 0.18, 0.15, 0.10],
        [0.45, 0.12, 0.18, 0.15, 0.10],
        [0.38, 0.25, 0.07, 0.22, 0.08],
    ]
)
_P_EMP = np.array(
    [[0.10, 0.68, 0.22], [0.14, 0.62, 0.24], [0.35, 0.45, 0.20]]
)  # opiate/crack, other drug, alcohol
_P_ACCOM = np.array([0.20, 0.18, 0.10, 0.10, 0.12, 0.10, 0.08])
_DAYS_BETA = np.array([[4.0, 1.2], [2.0, 1.5], [1.5, 2.5], [4.0, 1.2], [2.0, 2.0], [1.5, 1.5], [3.0, 1.2]])
_P_LONG = np.array(
    [0.55, 0.35, 0.15, 0.12, 0.20, 0.20, 0.15]
)  # still in treatment at 12 months (non-completers)

# logistic covariate effects per outcome (reference: age <25, male, opiate, current injector
# for 'inj' index 0, self referral; days centred at 14, scores at 10)
_COEF = {
    "initiation": dict(
        age=(0, 0.05, 0.10, 0.15),
        female=0.10,
        grp=(0.3, 0, 0, -0.1, 0, 0, 0),
        inj=(0, 0, 0, -0.2),
        prev=0.2,
        ref=(0, 0.2, -0.4, 0.1, 0),
        days=0.0,
        qol=0.01,
        psych=0.0,
        phys=0.0,
        accom=-0.2,
    ),
    "waiting": dict(
        age=(0, 0, 0, 0),
        female=0.0,
        grp=(0.3, 0.1, 0, 0, 0, 0, 0),
        inj=(0, 0, 0, 0),
        prev=0.0,
        ref=(0, 0.2, -0.5, 0, 0),
        days=0.0,
        qol=0.0,
        psych=0.0,
        phys=0.0,
        accom=0.0,
    ),
    "completion": dict(
        age=(-0.15, 0, 0.05, 0.15),
        female=0.05,
        grp=(0, 0.4, 1.2, 1.3, 0.9, 0.9, 0),
        inj=(-0.3, -0.15, 0, 0),
        prev=-0.25,
        ref=(0, 0.15, -0.25, 0.05, 0),
        days=-0.015,
        qol=0.03,
        psych=0.02,
        phys=0.01,
        accom=-0.2,
    ),
    "abstinence": dict(
        age=(-0.1, 0, 0.1, 0.2),
        female=0.05,
        grp=(-0.4, -0.2, 0.4, -0.2, 0.2, 0.2, 0),
        inj=(-0.3, -0.1, 0, 0),
        prev=-0.1,
        ref=(0, 0.1, 0, 0, 0),
        days=-0.04,
        qol=0.03,
        psych=0.02,
        phys=0.0,
        accom=-0.2,
    ),
    "non_injecting": dict(
        age=(0, 0.05, 0.1, 0.15),
        female=0.1,
        grp=(0, 0.1, 0.2, 0.2, 0, 0, 0),
        inj=(0, 0, 0, 0),
        prev=-0.1,
        ref=(0, 0, 0, 0, 0),
        days=-0.02,
        qol=0.02,
        psych=0.0,
        phys=0.0,
        accom=-0.2,
    ),
    "housing_problem": dict(
        age=(0.1, 0, 0, -0.1),
        female=-0.1,
        grp=(0.3, 0.3, 0, 0, 0.1, 0, 0),
        inj=(0.3, 0, 0, 0),
        prev=0.1,
        ref=(0, 0, 0.3, 0.1, 0),
        days=0.01,
        qol=-0.03,
        psych=0.0,
        phys=0.0,
        accom=2.0,
    ),
    "drug_related_death": dict(
        age=(-0.3, 0, 0.3, 0.5),
        female=-0.4,
        grp=(1.5, 0.5, 0, -0.8, 0, 0.3, 0),
        inj=(0.5, 0.2, 0, 0),
        prev=0.2,
        ref=(0, 0, 0, 0, 0),
        days=0.02,
        qol=-0.02,
        psych=0.0,
        phys=0.0,
        accom=0.3,
    ),
    "acquisitive_crime": dict(
        age=(0.3, 0.1, -0.1, -0.5),
        female=-0.4,
        grp=(1.0, 1.0, 0.2, 0, 0.3, 0, 0),
        inj=(0.2, 0.1, 0, 0),
        prev=0.2,
        ref=(0, -0.3, 0.8, 0, 0),
        days=0.02,
        qol=-0.02,
        psych=0.0,
        phys=0.0,
        accom=0.3,
    ),
}
_COEF["completion_no_representation"] = _COEF["completion"]  # shares completion's predictor (nesting)

# deaths from other causes within a year of journey start, by cohort and age group
_P_OTHER_DEATH = np.array([[0.002, 0.004, 0.007, 0.015], [0.003, 0.006, 0.012, 0.025]])
# yearly death hazard after the last journey's first year, by group; share that are drug poisonings
_BG_HAZARD = np.array([0.012, 0.006, 0.004, 0.003, 0.005, 0.005, 0.020])
_BG_DRD_SHARE = np.array([0.45, 0.30, 0.25, 0.15, 0.25, 0.30, 0.05])
_AGE_HAZ = np.array([0.6, 0.8, 1.0, 1.5])
_OFFEND_REL = np.array([1.0, 1.0, 0.45, 0.35, 0.5, 0.45, 0.25])  # relative background offending

DRUG_POISONING_CAUSES = {
    "X42": 0.40, "X44": 0.10, "X41": 0.05, "X40": 0.02, "X43": 0.005, "X62": 0.08, "X61": 0.04,
    "X64": 0.03, "X60": 0.01, "X63": 0.005, "Y12": 0.05, "Y11": 0.01, "Y14": 0.01, "X85": 0.005,
    "F112": 0.10, "F119": 0.03, "F142": 0.01, "F192": 0.03, "F132": 0.005, "F152": 0.005,
}  # fmt: skip
_CAUSES_DRUG_OTHER = {
    "I219": 0.06, "I251": 0.05, "C349": 0.06, "K703": 0.08, "K746": 0.05, "J449": 0.08, "J189": 0.07,
    "B182": 0.05, "B24": 0.03, "G409": 0.04, "X70": 0.05, "X59": 0.03, "W19": 0.03, "V892": 0.03,
    "R99": 0.03, "I269": 0.03, "A419": 0.04, "L031": 0.02, "I330": 0.02, "F102": 0.05, "X45": 0.03,
}  # fmt: skip
_CAUSES_ALCOHOL_OTHER = {
    "K703": 0.25, "K709": 0.08, "K740": 0.05, "F102": 0.10, "I219": 0.08, "C349": 0.06, "C220": 0.04,
    "J449": 0.06, "J189": 0.06, "I64": 0.04, "X45": 0.04, "W19": 0.04, "X70": 0.03, "R99": 0.02,
    "I426": 0.03, "K852": 0.02,
}  # fmt: skip
_CAUSES_ELDERLY = {
    "I219": 0.10, "I251": 0.10, "I64": 0.08, "C349": 0.07, "J449": 0.07, "F03": 0.08, "G309": 0.05,
    "J189": 0.07, "C509": 0.03, "C61": 0.03, "C189": 0.03, "I500": 0.04, "N390": 0.02, "R54": 0.03,
    "I639": 0.04, "C259": 0.02, "J841": 0.02, "E149": 0.02, "I48": 0.02, "W19": 0.02, "K703": 0.01,
}  # fmt: skip
_CAUSES_WORKING_AGE = {
    "I219": 0.10, "C349": 0.06, "C509": 0.05, "K703": 0.07, "X42": 0.03, "X44": 0.01, "X62": 0.01,
    "F112": 0.01, "X70": 0.05, "V892": 0.04, "W19": 0.03, "C189": 0.04, "I251": 0.07, "J449": 0.04,
    "G409": 0.03, "I64": 0.03, "C719": 0.03, "J189": 0.04, "E149": 0.02, "K746": 0.02, "R99": 0.03,
    "C259": 0.02, "I420": 0.02, "X59": 0.02,
}  # fmt: skip

#: ICD-10 prefixes of the ONS drug-poisoning definition
POISONING_PREFIXES = (
    *(f"F1{i}" for i in (1, 2, 3, 4, 5, 6, 8, 9)),
    *(f"X4{i}" for i in range(5)),
    *(f"X6{i}" for i in range(5)),
    "X85",
    *(f"Y1{i}" for i in range(5)),
)
ACQUISITIVE = (
    "theft_shoplifting",
    "theft_other",
    "burglary",
    "robbery",
    "vehicle",
    "fraud_forgery",
    "handling",
)
OFFENCE_GROUPS = (
    *ACQUISITIVE,
    "violence",
    "drugs_possession",
    "drugs_supply",
    "public_order",
    "criminal_damage",
    "motoring",
    "other",
)
_P_ACQ = np.array([0.45, 0.18, 0.12, 0.04, 0.07, 0.08, 0.06])
_P_NONACQ = np.array([0.25, 0.22, 0.06, 0.15, 0.12, 0.12, 0.08])

# First names (England, people born 1960-1995; relative weights) and surnames (% of people).
_MALE_NAMES = """David 40 Paul 36 Mark 35 Michael 34 Andrew 30 John 29 Stephen 26 Richard 22 Robert 21
Christopher 24 James 24 Peter 15 Ian 15 Darren 18 Lee 17 Daniel 20 Matthew 19 Anthony 14 Gary 16 Steven 14
Jason 15 Simon 14 Craig 13 Neil 12 Kevin 11 Martin 11 Wayne 12 Dean 10 Carl 10 Scott 11 Thomas 12
Jonathan 9 Nicholas 9 Shaun 8 Adam 11 Philip 8 Alan 8 Stuart 8 Graham 6 Keith 6 Kenneth 4 Brian 5 Colin 5
Gavin 5 Jamie 9 Ryan 9 Russell 4 Barry 5 Terry 4 Sean 7 Kieran 4 Liam 8 Benjamin 7 Luke 8 Karl 5 Glen 4
Tony 5 Trevor 4 Raymond 4 Roger 3 William 7 George 4 Joseph 6 Samuel 5 Aaron 6 Ashley 6 Jake 4 Joshua 5
Nathan 6 Marc 4 Dale 4 Leon 4 Mohammed 5 Imran 2 Ricky 4 Kyle 4 Jordan 4 Robin 2 Derek 3 Gareth 4 Jeffrey 2
Dennis 2 Frank 2 Francis 2 Patrick 4 Edward 4 Alexander 4 Oliver 3 Bradley 3 Charles 3 Damien 3 Nigel 3"""
_FEMALE_NAMES = """Sarah 30 Claire 22 Lisa 24 Nicola 20 Emma 22 Michelle 20 Karen 18 Joanne 18 Julie 16
Helen 15 Rachel 16 Louise 15 Kelly 15 Donna 12 Amanda 12 Samantha 13 Tracey 10 Laura 14 Gemma 12 Victoria 12
Rebecca 13 Susan 10 Deborah 9 Dawn 8 Elizabeth 8 Catherine 8 Natalie 9 Hayley 9 Kerry 8 Stacey 8 Jodie 7
Leanne 8 Zoe 7 Katie 7 Amy 9 Charlotte 8 Jessica 6 Hannah 6 Jade 6 Jennifer 6 Angela 8 Alison 7 Caroline 7
Sharon 8 Tracy 6 Wendy 5 Jacqueline 5 Linda 5 Paula 6 Mandy 4 Kirsty 6 Danielle 7 Stephanie 6 Sophie 5
Lucy 5 Kimberley 5 Carly 5 Lauren 6 Anna 5 Vicky 3 Jane 6 Sally 4 Melanie 5 Lorraine 4 Joanna 4 Marie 4
Sian 3 Jemma 3 Toni 3 Charlene 3 Diane 4 Christine 4 Tina 3 Andrea 4 Janet 3 Heather 3 Natasha 4 Leah 3"""
_SURNAMES = """Smith 1.15 Jones 0.94 Williams 0.68 Taylor 0.55 Brown 0.54 Davies 0.48 Evans 0.38 Wilson 0.38
Thomas 0.36 Johnson 0.36 Roberts 0.34 Robinson 0.31 Thompson 0.31 Wright 0.30 Walker 0.29 White 0.28
Edwards 0.27 Hughes 0.27 Green 0.26 Hall 0.26 Lewis 0.26 Harris 0.25 Clarke 0.25 Patel 0.24 Jackson 0.23
Wood 0.23 Turner 0.22 Martin 0.22 Cooper 0.21 Hill 0.21 Ward 0.21 Morris 0.21 Moore 0.21 Clark 0.20
Lee 0.20 King 0.20 Baker 0.20 Harrison 0.20 Morgan 0.19 Allen 0.19 James 0.18 Scott 0.18 Phillips 0.18
Watson 0.18 Davis 0.17 Parker 0.17 Price 0.17 Bennett 0.17 Young 0.17 Griffiths 0.16 Mitchell 0.16
Kelly 0.16 Cook 0.16 Carter 0.16 Richardson 0.16 Bailey 0.15 Collins 0.15 Bell 0.15 Shaw 0.15 Murphy 0.15
Miller 0.15 Cox 0.15 Richards 0.14 Khan 0.14 Marshall 0.14 Anderson 0.14 Simpson 0.14 Ellis 0.14
Adams 0.14 Singh 0.13 Begum 0.13 Wilkinson 0.13 Foster 0.13 Chapman 0.13 Powell 0.13 Webb 0.13 Rogers 0.13
Gray 0.13 Mason 0.12 Ali 0.12 Hunt 0.12 Hussain 0.12 Campbell 0.12 Matthews 0.12 Owen 0.12 Palmer 0.12
Holmes 0.12 Mills 0.12 Barnes 0.11 Knight 0.11 Lloyd 0.11 Butler 0.11 Russell 0.11 Barker 0.11
Fisher 0.11 Stevens 0.11 Jenkins 0.11 Murray 0.11 Dixon 0.11 Harvey 0.11"""
# share of surnames by initial letter (England, approximate)
_SURNAME_INITIALS = dict(
    S=0.098, B=0.092, H=0.078, M=0.077, C=0.074, W=0.064, P=0.05, R=0.048, G=0.047, T=0.043, D=0.045,
    L=0.043, F=0.032, K=0.028, J=0.025, A=0.03, N=0.017, E=0.017, O=0.012, V=0.006, Y=0.004, I=0.004,
    Q=0.001, U=0.002, Z=0.002, X=0.0003,
)  # fmt: skip
_ONSETS = dict(
    A=("Ab", "Ad", "Al", "An", "Ar", "Ash", "Atk"), B=("B", "Bl", "Br", "Bur", "Bel", "Bow"),
    C=("C", "Ch", "Cl", "Cr", "Cor", "Col"), D=("D", "Dr", "Dun", "Dal"), E=("Ed", "El", "Em", "En", "Ev", "Esk"),
    F=("F", "Fl", "Fr", "Far"), G=("G", "Gr", "Gl", "Gil"), H=("H", "Har", "Hol", "Hen", "Hul"),
    I=("Ib", "Il", "In", "Ir", "Is"), J=("J", "Jen", "Jar"), K=("K", "Kn", "Ker", "Kil"), L=("L", "Lan", "Lov"),
    M=("M", "Mar", "Mor", "Mel", "Mac"), N=("N", "Nor", "New"), O=("Ob", "Ol", "On", "Or", "Os"),
    P=("P", "Pr", "Pen", "Pl"), Q=("Qu",), R=("R", "Rad", "Ros", "Ry"), S=("S", "Sh", "St", "Sw", "Sm", "Sl", "Sp"),
    T=("T", "Tr", "Th", "Tol"), U=("Ul", "Un", "Up", "Ur"), V=("V", "Ver", "Vin"), W=("W", "Wh", "Wr", "Wil"),
    X=("X",), Y=("Y", "Yar"), Z=("Z", "Zel"),
)  # fmt: skip
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "oo", "ow", "ar", "er", "or", "ay")
_CODAS = ("b", "ck", "d", "dd", "g", "l", "ll", "m", "n", "nd", "ng", "nt", "r", "rd", "rk", "rt", "s", "st", "t",
          "tt", "v", "w", "sh", "th")  # fmt: skip
_ENDINGS = ("", "s", "son", "er", "ley", "ton", "ford", "field", "well", "wood", "by", "ham", "worth", "combe",
            "den", "ridge", "stone", "shaw", "hurst", "man", "ett", "ington", "ick", "more", "cott", "low", "land",
            "wick", "ell", "ing")  # fmt: skip
_FIRST_ENDINGS_M = ("", "an", "on", "el", "ie", "o", "us", "in", "ick", "ard", "ert", "y")
_FIRST_ENDINGS_F = ("a", "ia", "ie", "elle", "ette", "ine", "ey", "ah", "ina", "ene", "issa", "y")
_FIRST_ONSETS = ("B", "D", "J", "K", "L", "M", "N", "R", "S", "T", "Br", "Ch", "Cl", "Gr", "St", "Tr", "Sh",
                 "C", "G", "H", "P", "V", "W", "A", "E", "F", "Al", "El")  # fmt: skip
_N_SURNAME_TAIL = 30000
_N_FIRST_TAIL = 3000
_FIRST_TAIL_MASS = 0.15


@functools.lru_cache(maxsize=1)
def _name_pools() -> dict:
    """Forename and surname pools with probabilities (fixed, independent of the seed).

    The head is a list of real common names; the tail is made-up but name-like, with a
    Zipf-like (1/rank) frequency continuing the head and a realistic spread of initials.
    """
    rng = np.random.default_rng(19660730)

    def parse(text):
        parts = text.split()
        return parts[0::2], np.array(parts[1::2], dtype=float)

    def made_up(onsets, vowels, codas, endings, n, exclude):
        combos = len(onsets) * len(vowels) * len(codas) * len(endings)
        pick = rng.choice(combos, size=min(combos, 3 * n), replace=False)
        out, seen = [], set(exclude)
        for k in pick.tolist():
            k, e = divmod(k, len(endings))
            k, c = divmod(k, len(codas))
            o, v = divmod(k, len(vowels))
            name = (onsets[o] + vowels[v] + codas[c] + endings[e]).capitalize()
            if name not in seen:
                seen.add(name)
                out.append(name)
                if len(out) == n:
                    break
        return out

    pools = {}
    for sex, text, ends in (("M", _MALE_NAMES, _FIRST_ENDINGS_M), ("F", _FEMALE_NAMES, _FIRST_ENDINGS_F)):
        head, w = parse(text)
        tail = made_up(_FIRST_ONSETS, _VOWELS[:6], _CODAS, ends, _N_FIRST_TAIL, head)
        tw = 1.0 / np.arange(len(head) + 1, len(head) + 1 + len(tail))
        p = np.concatenate([w / w.sum() * (1 - _FIRST_TAIL_MASS), tw / tw.sum() * _FIRST_TAIL_MASS])
        pools[sex] = (np.array(head + tail), p)
    head, w = parse(_SURNAMES)
    w = w / 100.0
    letters = sorted(_SURNAME_INITIALS)
    share = np.array([_SURNAME_INITIALS[x] for x in letters])
    share /= share.sum()
    tail = []
    for letter, s in zip(letters, share, strict=True):
        n = max(3, round(s * _N_SURNAME_TAIL))
        tail += made_up(_ONSETS[letter], _VOWELS, _CODAS, _ENDINGS, n, head)
    tail = [tail[i] for i in rng.permutation(len(tail))]
    tw = 1.0 / np.arange(len(head) + 1, len(head) + 1 + len(tail))
    p = np.concatenate([w, tw / tw.sum() * (1 - w.sum())])
    pools["S"] = (np.array(head + tail), p / p.sum())
    return pools


# ---------------------------------------------------------------------------------------
# Small vectorised helpers
# ---------------------------------------------------------------------------------------

NA = np.int64(-(2**40))  # missing day number
_EPOCH = np.datetime64("1970-01-01", "D")


def _day(s: str) -> int:
    return int((np.datetime64(s, "D") - _EPOCH).astype(np.int64))


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    y = m.astype("datetime64[Y]")
    return (
        y.astype(np.int64) + 1970,
        (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
        (d - m.astype("datetime64[D]")).astype(np.int64) + 1,
    )


def _from_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    months = (np.asarray(y) - 1970) * 12 + (np.asarray(m) - 1)
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64) + (np.asarray(d) - 1)


def _days_in_month(y: np.ndarray, m: np.ndarray) -> np.ndarray:
    first = _from_ymd(y, m, np.ones_like(m))
    nxt = (((np.asarray(y) - 1970) * 12 + np.asarray(m)).astype("datetime64[M]")).astype("datetime64[D]")
    return nxt.astype(np.int64) - first


def _age_years(dob: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Whole years of age (calendar rule, as the pipeline computes it)."""
    yb, mb, db = _ymd(dob)
    yo, mo, do = _ymd(on)
    return yo - yb - ((mo * 100 + do) < (mb * 100 + db))


def _birthday(dob: np.ndarray, years: int) -> np.ndarray:
    y, m, d = _ymd(dob)
    return _from_ymd(y + years, m, d)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _choice(rng: np.random.Generator, p: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws from the categorical distribution ``p`` (fast, via the cumulative sum)."""
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(p) - 1)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per element from ``probs[rows[i]]`` (a table of categorical distributions)."""
    cdf = np.cumsum(probs, axis=1)
    cdf /= cdf[:, -1:]
    u = rng.random(len(rows))
    return np.minimum((u[:, None] >= cdf[rows]).sum(axis=1), probs.shape[1] - 1)


def _uniform_int(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Integers uniform on [lo, hi] (elementwise; hi >= lo)."""
    return lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64)


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total``."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    raw = total * weights / weights.sum()
    base = np.floor(raw).astype(np.int64)
    short = total - base.sum()
    order = np.argsort(-(raw - base), kind="stable")
    base[order[:short]] += 1
    return base


def _solve_intercept(lp: np.ndarray, target: float, weights: np.ndarray | None = None) -> float:
    """The intercept a with mean(sigmoid(a + lp)) == target (weighted), by bisection."""
    w = np.ones_like(lp) if weights is None else weights
    lo, hi = -30.0, 30.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if np.sum(w * _sigmoid(mid + lp)) / np.sum(w) < target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _str(values, na_mask: np.ndarray | None = None) -> pd.Series:
    """A pandas 'string' Series from a numpy/pyarrow array (``na_mask`` True -> <NA>)."""
    arr = values if isinstance(values, pa.Array | pa.ChunkedArray) else pa.array(values)
    if na_mask is not None and na_mask.any():
        arr = pc.if_else(pa.array(na_mask), pa.nulls(len(arr), arr.type), arr)
    arr = arr.cast(pa.string())
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    return pd.Series(pd.arrays.ArrowStringArray(arr))


def _codes(labels, codes: np.ndarray) -> pd.Series:
    """A 'string' Series of ``labels[codes]``; negative codes -> <NA>."""
    codes = np.asarray(codes)
    idx = pa.array(np.where(codes < 0, 0, codes), mask=codes < 0)
    return _str(pc.take(pa.array(list(labels), pa.string()), idx))


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()), width, padding="0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


@contextlib.contextmanager
def _stage(name: str):
    """Log a stage's wall time and the process's peak resident memory so far (debug level)."""
    t0 = time.perf_counter()
    yield
    try:
        import resource

        peak = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f}"  # KiB -> GiB (Linux)
    except ImportError:  # pragma: no cover - not on Windows
        peak = "?"
    log.debug("synthetic: %s in %.1f s (peak RSS %s GiB)", name, time.perf_counter() - t0, peak)


def _date_order(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Row order by date, ties in random order (so ids carry no other information)."""
    perm = rng.permutation(len(days))
    return perm[np.argsort(days[perm], kind="stable")]


def _date_col(days: np.ndarray) -> pd.Series:
    days = np.asarray(days, dtype=np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[s]")
    out[days == NA] = np.datetime64("NaT")
    return pd.Series(out)


def _int_col(values: np.ndarray, na_mask: np.ndarray | None = None) -> pd.Series:
    v = np.asarray(values, dtype=np.int64)
    mask = np.zeros(len(v), dtype=bool) if na_mask is None else np.asarray(na_mask, dtype=bool)
    return pd.Series(pd.arrays.IntegerArray(np.where(mask, 0, v), mask))


def _bool_col(values: np.ndarray, na_mask: np.ndarray | None = None) -> pd.Series:
    v = np.asarray(values, dtype=bool)
    mask = np.zeros(len(v), dtype=bool) if na_mask is None else np.asarray(na_mask, dtype=bool)
    return pd.Series(pd.arrays.BooleanArray(v & ~mask, mask))


def _dob_errors(rng: np.random.Generator, dob: np.ndarray) -> np.ndarray:
    """Typical date-of-birth recording errors: day +-1, year +-1, or day and month transposed."""
    y, m, d = _ymd(dob)
    n = len(dob)
    kind = rng.integers(0, 3, n)
    dim = _days_in_month(y, m)
    step = np.where(rng.random(n) < 0.5, -1, 1)
    d1 = np.where(d + step < 1, d + 1, np.where(d + step > dim, d - 1, d + step))
    out = _from_ymd(y, m, d1)
    yr = _from_ymd(y + step, m, np.minimum(d, _days_in_month(y + step, m)))
    out = np.where(kind == 1, yr, out)
    can_swap = (d <= 12) & (d != m)
    sw = _from_ymd(y, np.where(can_swap, d, 1), np.where(can_swap, m, 1))
    out = np.where((kind == 2) & can_swap, sw, out)
    # never create 29 February (age on non-leap years is ambiguous between systems)
    _, m2, d2 = _ymd(out)
    return np.where((m2 == 2) & (d2 == 29), out - 1, out)


def _name_errors(rng: np.random.Generator, names: np.ndarray) -> np.ndarray:
    """One keying error per name: a letter substituted, deleted, transposed or doubled."""
    width = 24
    b = np.char.encode(names.astype(str), "ascii").astype(f"S{width}")
    n = len(b)
    mat = np.frombuffer(b.tobytes(), dtype=np.uint8).reshape(n, width).copy()
    length = (mat != 0).sum(axis=1)
    kind = rng.integers(0, 4, n)
    kind = np.where((kind == 1) & (length <= 3), 0, kind)
    kind = np.where((kind == 3) & (length >= width - 1), 0, kind)
    kind = np.where((kind == 2) & (length < 2), 0, kind)
    pos = np.minimum((rng.random(n) * length).astype(np.int64), np.maximum(length - 1, 0))
    cols = np.arange(width)[None, :]
    rows = np.arange(n)[:, None]
    p = pos[:, None]
    # substitute
    letter = rng.integers(0, 26, n).astype(np.uint8) + ord("a")
    cur = mat[np.arange(n), pos] | 0x20
    letter = np.where(letter == cur, (letter - ord("a") + 1) % 26 + ord("a"), letter).astype(np.uint8)
    sub = mat.copy()
    sub[np.arange(n), pos] = letter
    # delete
    src = np.where(cols >= p, np.minimum(cols + 1, width - 1), cols)
    dele = mat[rows, src]
    dele[np.arange(n), np.maximum(length - 1, 0)] = 0
    # transpose (pos, pos+1)
    tp = np.minimum(pos, np.maximum(length - 2, 0))[:, None]
    src = np.where(cols == tp, tp + 1, np.where(cols == tp + 1, tp, cols))
    trans = mat[rows, src]
    # double
    src = np.where(cols > p, cols - 1, cols)
    dbl = mat[rows, src]
    out = np.where(
        (kind == 0)[:, None],
        sub,
        np.where((kind == 1)[:, None], dele, np.where((kind == 2)[:, None], trans, dbl)),
    )
    # normalise case: first letter upper, the rest lower
    alpha = out != 0
    out = np.where(alpha, out | 0x20, 0).astype(np.uint8)
    out[:, 0] = np.where(out[:, 0] != 0, out[:, 0] & 0xDF, 0)
    return np.char.decode(out.view(f"S{width}").ravel(), "ascii")


# ---------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------


def generate(params: SyntheticParams) -> SyntheticExtract:
    """Generate the five contract tables, their truth and the planted effects."""
    return _Generator(params).run()


@dataclass
class _People:
    """Person attributes (true values), indexed by person number."""

    female: np.ndarray
    dob: np.ndarray
    drug: np.ndarray  # primary substance when presenting for drugs
    inj: np.ndarray  # injecting history category
    prev: np.ndarray  # treated before the extract starts
    death: np.ndarray  # day of death or NA
    drd: np.ndarray  # death is a drug poisoning
    n: int = 0


class _Generator:
    def __init__(self, p: SyntheticParams):
        self.p = p
        seq = np.random.SeedSequence(p.seed)
        streams = seq.spawn(9)
        self.rng_area, self.rng_cal, self.rng_loop, self.rng_post, self.rng_top = (
            np.random.Generator(np.random.PCG64(s)) for s in streams[:5]
        )
        self.rng_reg, self.rng_noise, self.rng_ids, self.rng_ep = (
            np.random.Generator(np.random.PCG64(s)) for s in streams[5:]
        )
        d = p.dates
        self.d_ref0 = _day(d.referral_start)
        self.d_pre = _day(d.pre_start)
        self.d_post = _day(d.post_start)
        self.d_post_end = _day(d.post_end)
        self.d_end = _day(d.extract_end)
        self.clipped: dict[str, int] = {}

    # ----------------------------------------------------------------- areas and units
    def _areas(self) -> None:
        rng = self.rng_area
        rows = [line.split("|") for line in _AREA_TABLE.strip().splitlines()]
        rows.sort(key=lambda r: r[0])
        if len(rows) != 149:  # pragma: no cover - guards the table above
            raise AssertionError(f"expected 149 areas, got {len(rows)}")
        names = [r[0] for r in rows]
        self.area_name = names
        self.area_region = [r[1] for r in rows]
        pop = np.array([float(r[2]) for r in rows])
        need = np.array([float(r[3]) * _REGION_NEED[r[1]] for r in rows])
        self.area_code = [f"E{i + 1:04d}" for i in range(len(rows))]
        self.area_pilot = np.array([n in PILOT_AREAS for n in names])
        w_drug = pop * need * np.exp(rng.normal(0, 0.2, len(rows)))
        w_alc = pop * np.sqrt(need) * np.exp(rng.normal(0, 0.2, len(rows)))
        kent = names.index("Kent")
        self.kent = kent
        # units: every area, Kent split into West (sub 1) and East (sub 2)
        kw = self.p.counts.kent_west_share
        self.unit_area = np.append(np.arange(len(rows)), kent)
        self.unit_sub = np.append(np.zeros(len(rows), dtype=np.int64), 2)
        self.unit_sub[kent] = 1
        wd = np.append(w_drug, w_drug[kent] * (1 - kw))
        wa = np.append(w_alc, w_alc[kent] * (1 - kw))
        wd[kent] *= kw
        wa[kent] *= kw
        self.unit_w = np.vstack([wd, wa])  # [cohort, unit]
        # group of a unit for counts and for the planted effect: 1 pilot, 0 other, 2 excluded
        grp = self.area_pilot[self.unit_area].astype(np.int64)
        east = len(rows)
        if self.p.pilot_rule == "sub_area_pilot_rest_other":
            grp[east] = 0
        elif self.p.pilot_rule == "sub_area_pilot_rest_excluded":
            grp[east] = 2
        self.unit_group = grp
        self.unit_treated = grp == 1
        # agencies: 2-8 per unit, more in bigger units
        share = wd / wd.sum()
        n_ag = np.clip(np.round(2 + share * 400), 2, 8).astype(np.int64)
        self.unit_nag = n_ag
        self.unit_ag0 = np.concatenate([[0], np.cumsum(n_ag)[:-1]])
        self.n_agencies = int(n_ag.sum())
        self.agency_codes = _ids("AG", 1000 + rng.permutation(self.n_agencies) + 1, 4)
        # area random effects per outcome (shared by completion and its nested outcome)
        sd = self.p.process.area_sd
        self.re = {o: rng.normal(0, sd, len(rows)) for o in OUTCOMES if o != "completion_no_representation"}
        self.re["completion_no_representation"] = self.re["completion"]

    # ----------------------------------------------------------------- month grid and targets
    def _calendar(self) -> None:
        p = self.p
        m0 = np.datetime64(p.dates.referral_start, "M")
        m1 = np.datetime64(p.dates.extract_end, "M")
        months = np.arange(m0, m1 + 1)
        self.m_start = months.astype("datetime64[D]").astype(np.int64)
        self.m_end = np.minimum((months + 1).astype("datetime64[D]").astype(np.int64) - 1, self.d_end)
        nm = len(months)
        self.n_months = nm
        per = np.full(nm, -1)
        per[(self.m_start >= self.d_pre) & (self.m_start < self.d_post)] = 0
        per[(self.m_start >= self.d_post) & (self.m_start <= self.d_post_end)] = 1
        self.m_period = per
        # day weights within months: fewer referrals at weekends
        wk = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.25, 0.15])  # Mon..Sun
        self.m_days = []
        self.m_dayw = np.zeros(nm)
        for m in range(nm):
            days = np.arange(self.m_start[m], self.m_end[m] + 1)
            w = wk[(days + 3) % 7]  # 1970-01-01 was a Thursday
            self.m_days.append((days, np.cumsum(w) / w.sum()))
            self.m_dayw[m] = w.sum()
        c = p.counts
        s = p.scale
        alc_pre, alc_post = round(c.alcohol_pre * s), round(c.alcohol_post * s)
        alc_pre_p = round(c.alcohol_pre * c.alcohol_pilot_share * s)
        alc_post_p = round(c.alcohol_post * c.alcohol_pilot_share * s)
        # target[cohort, group(0 other, 1 pilot), period]
        t = np.zeros((2, 2, 2), dtype=np.int64)
        t[0, 1, 0], t[0, 0, 0] = round(c.drug_pre_pilot * s), round(c.drug_pre_other * s)
        t[0, 1, 1], t[0, 0, 1] = round(c.drug_post_pilot * s), round(c.drug_post_other * s)
        t[1, 1, 0], t[1, 0, 0] = alc_pre_p, alc_pre - alc_pre_p
        t[1, 1, 1], t[1, 0, 1] = alc_post_p, alc_post - alc_post_p
        self.targets = t
        target_m = np.zeros((2, 3, nm))  # hard in windows (groups 0/1), soft elsewhere
        for per_i in (0, 1):
            ms = np.flatnonzero(per == per_i)
            for co in (0, 1):
                for g in (0, 1):
                    target_m[co, g, ms] = _largest_remainder(int(t[co, g, per_i]), self.m_dayw[ms])
        rng = self.rng_loop
        in_win = per >= 0
        mean_w = self.m_dayw[in_win].mean() if in_win.any() else 1.0
        for co in (0, 1):
            for g in (0, 1):
                avg = t[co, g].sum() / max(in_win.sum(), 1)
                soft = c.outside_window_share * avg * self.m_dayw[~in_win] / mean_w
                target_m[co, g, ~in_win] = rng.poisson(soft)
            # the excluded East Kent (sub_area_pilot_rest_excluded): soft, at its share of the pilot flow
            w = self.unit_w[co]
            pil = w[self.unit_group == 1].sum()
            ex = w[self.unit_group == 2].sum()
            if ex > 0 and pil > 0:
                lam = target_m[co, 1] * ex / pil
                target_m[co, 2] = rng.poisson(lam)
        self.target_m = target_m.astype(np.int64)
        self.minor_m = rng.poisson(c.under18_share * target_m).astype(np.int64)

    # ----------------------------------------------------------------- covariates
    def _new_person_attrs(self, rng, n: int, cohort: int, start: np.ndarray, minor: bool) -> dict:
        female = rng.random(n) < (0.30 if cohort == 0 else 0.40)
        if cohort == 0:
            drug = _choice(rng, _P_DRUG_MINOR if minor else _P_DRUG, n)
            grp = _SUB_GRP[drug]
        else:
            drug = _choice(rng, _P_ALC_DRUG, n)
            grp = np.full(n, 6)
        if minor:
            age_days = np.floor(16 * 365.25 + rng.random(n) * (2 * 365.25 - 12)).astype(np.int64)
        else:
            age = rng.normal(_AGE_MEAN[grp], _AGE_SD[grp])
            age = np.where(age < 18.05, 18.05 + rng.random(n) * 6, np.minimum(age, 85))
            age_days = np.floor(age * 365.25).astype(np.int64)
        dob = start - age_days
        _, m, d = _ymd(dob)
        dob = np.where((m == 2) & (d == 29), dob - 1, dob)
        inj = _choice_rows(rng, _P_INJ, grp)
        prev = rng.random(n) < np.where(minor, 0.05, _P_PREV[grp])
        return dict(female=female, dob=dob, drug=drug, inj=inj, prev=prev)

    def _covariates(self, rng, cohort, start, female, dob, drug, pinj, prev) -> dict:
        n = len(start)
        age = _age_years(dob, start)
        agegrp = np.digitize(age, [25, 35, 45])
        sub1 = np.where(cohort == 1, _ALC, drug)
        grp = _SUB_GRP[sub1]
        sub2 = _choice_rows(rng, _P_SECOND, grp)
        sub2 = np.where(sub2 == sub1, _NONE, sub2)
        third = (sub2 != _NONE) & (rng.random(n) < _P_THIRD[grp])
        sub3 = _choice_rows(rng, _P_SECOND, grp)
        sub3 = np.where(~third | (sub3 == sub1) | (sub3 == sub2), _NONE, sub3)
        # injecting status at this journey, from the person's history
        u = rng.random(n)
        inj = np.select(
            [pinj == 0, pinj == 1, pinj == 2],
            [np.where(u < 0.8, 0, 1), np.where(u < 0.9, 1, 0), np.where(u < 0.97, 2, 3)],
            np.where(u < 0.5, 3, 2),
        )
        u = rng.random(n)
        route = np.select(
            [
                (sub1 == 0) & (inj == 0),
                sub1 == 0,
                np.isin(sub1, [1, 7, _ALC]),
                (sub1 == 2) & (inj == 0) & (u < 0.3),
                sub1 == 2,
                np.isin(sub1, [3, 6]),
                sub1 == 4,
                (sub1 == 5) & (inj == 0) & (u < 0.4),
                sub1 == 5,
            ],
            [0, np.where(u < 0.9, 2, 3), 3, 0, 3, 2, np.where(u < 0.9, 1, 2), 0, np.where(u < 0.6, 1, 3)],
            np.where(u < 0.6, 3, np.where(u < 0.9, 1, 4)),
        )
        ref = _choice_rows(rng, _P_REF, grp)
        emp_row = np.where(grp <= 1, 0, np.where(grp == 6, 2, 1))
        emp = _choice_rows(rng, _P_EMP, emp_row)
        accom = rng.random(n) < _P_ACCOM[grp]
        beta = _DAYS_BETA[grp]
        days = np.rint(28 * rng.beta(beta[:, 0], beta[:, 1])).astype(np.int64)
        mean = np.where(cohort == 1, 11.0, 10.0)
        qol = np.clip(np.rint(rng.normal(mean, 3.5)), 0, 20).astype(np.int64)
        psych = np.clip(np.rint(0.5 * (qol - mean) + rng.normal(mean, 3.0)), 0, 20).astype(np.int64)
        phys = np.clip(np.rint(0.4 * (qol - mean) + rng.normal(mean + 1, 3.0)), 0, 20).astype(np.int64)
        return dict(
            age=age, agegrp=agegrp, female=female, sub1=sub1, sub2=sub2, sub3=sub3, grp=grp, inj=inj,
            route=route, ref=ref, emp=emp, accom=accom, days=days, qol=qol, psych=psych, phys=phys, prev=prev,
        )  # fmt: skip

    @staticmethod
    def _xb(outcome: str, cov: dict) -> np.ndarray:
        c = _COEF[outcome]
        return (
            np.take(c["age"], cov["agegrp"])
            + c["female"] * cov["female"]
            + np.take(c["grp"], cov["grp"])
            + np.take(c["inj"], cov["inj"])
            + c["prev"] * cov["prev"]
            + np.take(c["ref"], cov["ref"])
            + c["days"] * (cov["days"] - 14)
            + c["qol"] * (cov["qol"] - 10)
            + c["psych"] * (cov["psych"] - 10)
            + c["phys"] * (cov["phys"] - 10)
            + c["accom"] * cov["accom"]
        )

    def _lp(self, outcome: str, cohort, treated, post, area, xb) -> np.ndarray:
        a, b, d = self.icpt[outcome], self.bpost[outcome], self.logor[outcome]
        return (
            a[cohort, treated.astype(np.int64)]
            + b[cohort] * post
            + d[cohort] * (treated & post)
            + xb
            + self.re[outcome][area]
        )

    # ----------------------------------------------------------------- calibration
    def _init_model(self) -> None:
        self.icpt = {o: np.zeros((2, 2)) for o in OUTCOMES}
        self.bpost = {o: np.zeros(2) for o in OUTCOMES}
        self.logor = {
            o: np.log([getattr(self.p.effects.drug, o), getattr(self.p.effects.alcohol, o)]) for o in OUTCOMES
        }
        self.calibration: dict = {"drug": {}, "alcohol": {}}

    def _calibrate(self, outcome: str, cohort: int, samples: dict, weights: dict | None = None) -> None:
        """Intercepts so that pilot-pre, other-pre and other-post rates hit the targets.

        ``samples[(group, period)]`` holds (xb + area effect) for journeys of that cell.
        """
        name = ("drug", "alcohol")[cohort]
        tgt = getattr(getattr(self.p.rates, name), outcome)
        w = weights or {}
        a_p = _solve_intercept(samples[(1, 0)], tgt.pilot_pre, w.get((1, 0)))
        a_o = _solve_intercept(samples[(0, 0)], tgt.other_pre, w.get((0, 0)))
        b = _solve_intercept(samples[(0, 1)] + a_o, tgt.other_post, w.get((0, 1)))
        d = self.logor[outcome][cohort]
        self.icpt[outcome][cohort] = (a_o, a_p)
        self.bpost[outcome][cohort] = b
        x = samples[(1, 1)]
        ww = w.get((1, 1))
        implied = float(np.average(_sigmoid(a_p + b + d + x), weights=ww))
        self.calibration[name][outcome] = dict(
            targets=dataclasses.asdict(tgt),
            intercept_pilot=round(a_p, 6),
            intercept_other=round(a_o, 6),
            post_effect=round(b, 6),
            log_did_or=round(float(d), 6),
            did_or=round(float(np.exp(d)), 6),
            implied_pilot_post=round(implied, 6),
        )

    def _calibrate_loop_outcomes(self) -> None:
        """Calibrate the outcomes drawn during the journey simulation on a large fixed sample."""
        rng = self.rng_cal
        n = 20000
        for cohort in (0, 1):
            start = np.full(n, self.d_post, dtype=np.int64)
            att = self._new_person_attrs(rng, n, cohort, start, minor=False)
            prev = att["prev"] | (rng.random(n) < 0.35)  # about a third of journeys are re-presentations
            cov = self._covariates(
                rng, np.full(n, cohort), start, att["female"], att["dob"], att["drug"], att["inj"], prev
            )
            units = {
                g: _choice(rng, np.where(self.unit_group == g, self.unit_w[cohort], 0.0), n) for g in (0, 1)
            }
            xb = {o: self._xb(o, cov) for o in ("initiation", "waiting", "completion", "drug_related_death")}

            def cells(o, xb=xb, units=units):
                return {
                    (g, per): xb[o] + self.re[o][self.unit_area[units[g]]] for g in (0, 1) for per in (0, 1)
                }

            for o in ("initiation", "completion", "completion_no_representation", "drug_related_death"):
                self._calibrate(o, cohort, cells(o if o != "completion_no_representation" else "completion"))
            # waiting is among starters: weight by the probability of starting
            pi = {}
            for g in (0, 1):
                for per in (0, 1):
                    tr = np.full(n, g == 1)
                    pst = np.full(n, per == 1)
                    lp = self._lp(
                        "initiation", np.full(n, cohort), tr, pst, self.unit_area[units[g]], xb["initiation"]
                    )
                    pi[(g, per)] = _sigmoid(lp)
            self._calibrate("waiting", cohort, cells("waiting"), pi)

    def _refine_calibration(self) -> None:
        """Re-solve the simulated outcomes' intercepts on the journeys of a pilot run.

        The first calibration uses a sample of new clients, but the simulated journeys also
        include re-presentations (more opiate users, all previously treated). A pilot run at
        scale <= 0.15 (same seed, hence the same areas and area effects) gives the real
        covariate mix, and the intercepts are solved again on its adult window journeys.
        """
        pilot = _Generator(dataclasses.replace(self.p, scale=min(self.p.scale, 0.15)))
        pilot._areas()
        pilot._calendar()
        pilot._init_model()
        pilot._calibrate_loop_outcomes()
        pilot._simulate()
        J = pilot.J
        start = J["start"]
        period = np.full(len(start), -1)
        period[(start >= self.d_pre) & (start < self.d_post)] = 0
        period[(start >= self.d_post) & (start <= self.d_post_end)] = 1
        group = self.unit_group[J["unit"]]
        area = self.unit_area[J["unit"]]
        base = (J["age"] >= 18) & (period >= 0) & (group < 2)
        for cohort in (0, 1):
            cells = {
                (g, per): base & (J["cohort"] == cohort) & (group == g) & (period == per)
                for g in (0, 1)
                for per in (0, 1)
            }
            if min(int(c.sum()) for c in cells.values()) < 20:
                continue  # too few journeys to improve on the first calibration
            xb = {
                o: self._xb(o, J) + self.re[o][area]
                for o in ("initiation", "waiting", "completion", "drug_related_death")
            }
            xb["completion_no_representation"] = xb["completion"]
            for o in ("initiation", "completion", "completion_no_representation", "drug_related_death"):
                self._calibrate(o, cohort, {k: xb[o][m] for k, m in cells.items()})
            weights = {}
            for (g, per), m in cells.items():
                a = self.icpt["initiation"][cohort]
                lp = (
                    a[g]
                    + self.bpost["initiation"][cohort] * per
                    + self.logor["initiation"][cohort] * (g * per)
                    + xb["initiation"][m]
                )
                weights[(g, per)] = _sigmoid(lp)
            self._calibrate("waiting", cohort, {k: xb["waiting"][m] for k, m in cells.items()}, weights)

    # ----------------------------------------------------------------- the month loop
    def _simulate(self) -> None:
        rng = self.rng_loop
        cap = int(self.target_m.sum() + self.minor_m.sum()) + 16
        self.P = _People(
            female=np.zeros(cap, bool), dob=np.zeros(cap, np.int64), drug=np.zeros(cap, np.int64),
            inj=np.zeros(cap, np.int64), prev=np.zeros(cap, bool), death=np.full(cap, NA, np.int64),
            drd=np.zeros(cap, bool),
        )  # fmt: skip
        buckets: dict[int, list[dict]] = {}
        chunks: list[dict] = []
        balance = np.zeros((2, 2), dtype=np.int64)  # cumulative target - realised, this period
        remaining = np.zeros((2, 2), dtype=np.int64)  # journeys still to start in this period
        self.count_mismatch = np.zeros((2, 2, 2), dtype=np.int64)
        self.n_dropped = 0
        self.n_forced = 0
        offset = 0
        for m in range(self.n_months):
            per = self.m_period[m]
            fo = buckets.pop(m, [])
            fo = {k: np.concatenate([f[k] for f in fo]) for k in fo[0]} if fo else None
            new_parts = []
            if fo is not None:
                keep = np.ones(len(fo["pid"]), dtype=bool)
                adult = _age_years(self.P.dob[fo["pid"]], fo["start"]) >= 18
                fgrp = self.unit_group[fo["unit"]]
            for co in (0, 1):
                for g in (0, 1, 2):
                    if fo is not None:
                        sel = np.flatnonzero(adult & (fo["cohort"] == co) & (fgrp == g))
                    else:
                        sel = np.zeros(0, dtype=np.int64)
                    n_f = len(sel)
                    if per >= 0 and g < 2:
                        if m == 0 or self.m_period[m - 1] != per:
                            remaining[co, g] = self.targets[co, g, per]
                            balance[co, g] = 0
                        want = int(self.target_m[co, g, m] + balance[co, g])
                        if n_f > max(want, 0):
                            # too many re-presenters this month: drop ones no outcome depends on
                            cand = sel[fo["droppable"][sel]]
                            k = min(n_f - max(want, 0), len(cand))
                            if k:
                                keep[rng.choice(cand, size=k, replace=False)] = False
                                self.n_dropped += k
                                n_f -= k
                        if n_f > remaining[co, g]:
                            # only if the window's count could not be met otherwise (tiny scales)
                            kept = sel[keep[sel]]
                            k = n_f - int(remaining[co, g])
                            keep[rng.choice(kept, size=k, replace=False)] = False
                            self.n_forced += k
                            n_f -= k
                        n_new = max(0, min(want - n_f, int(remaining[co, g]) - n_f))
                        remaining[co, g] -= n_f + n_new
                        balance[co, g] = want - n_f - n_new
                        last = m + 1 >= self.n_months or self.m_period[m + 1] != per
                        if last:
                            self.count_mismatch[co, g, per] = remaining[co, g]
                    else:
                        n_new = max(0, int(self.target_m[co, g, m]) - n_f)
                    if n_new:
                        new_parts.append((co, g, n_new, False))
                    if self.minor_m[co, g, m]:
                        new_parts.append((co, g, int(self.minor_m[co, g, m]), True))
            parts = []
            if fo is not None and keep.any():
                k = np.flatnonzero(keep)
                parts.append(
                    dict(
                        pid=fo["pid"][k],
                        start=fo["start"][k],
                        cohort=fo["cohort"][k],
                        unit=fo["unit"][k],
                        follow=np.ones(len(k), bool),
                    )
                )
            for co, g, n_new, minor in new_parts:
                days, cdf = self.m_days[m]
                start = days[np.minimum(np.searchsorted(cdf, rng.random(n_new), side="right"), len(days) - 1)]
                w = np.where(self.unit_group == g, self.unit_w[co], 0.0)
                unit = _choice(rng, w, n_new)
                att = self._new_person_attrs(rng, n_new, co, start, minor)
                pid = np.arange(self.P.n, self.P.n + n_new)
                for key, val in att.items():
                    getattr(self.P, key)[pid] = val
                self.P.n += n_new
                parts.append(
                    dict(
                        pid=pid,
                        start=start,
                        cohort=np.full(n_new, co),
                        unit=unit,
                        follow=np.zeros(n_new, bool),
                    )
                )
            if not parts:
                continue
            J = {k: np.concatenate([x[k] for x in parts]) for k in parts[0]}
            chunk, succ = self._journeys_month(rng, m, J, offset)
            chunks.append(chunk)
            offset += len(J["pid"])
            if succ is not None:
                sm = np.searchsorted(self.m_start, succ["start"], side="right") - 1
                for mm in np.unique(sm).tolist():
                    sel = sm == mm
                    buckets.setdefault(mm, []).append({k: v[sel] for k, v in succ.items()})
        self.J = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        log.info(
            "simulated %d journeys of %d people (%d re-presentations dropped)",
            offset,
            self.P.n,
            self.n_dropped,
        )
        if self.count_mismatch.any():
            log.warning("journey counts off target by %s", self.count_mismatch.tolist())

    def _journeys_month(self, rng, m: int, J: dict, offset: int):
        p = self.p
        P = self.P
        n = len(J["pid"])
        pid, start, cohort, unit = J["pid"], J["start"], J["cohort"], J["unit"]
        cov = self._covariates(
            rng, cohort, start, P.female[pid], P.dob[pid], P.drug[pid], P.inj[pid], J["follow"] | P.prev[pid]
        )
        area = self.unit_area[unit]
        treated = self.unit_treated[unit]
        post = start >= self.d_post
        prob = {}
        for o in (
            "initiation",
            "waiting",
            "completion",
            "completion_no_representation",
            "drug_related_death",
        ):
            xb = self._xb(o, cov)
            prob[o] = _sigmoid(self._lp(o, cohort, treated, post, area, xb))
        p_i, p_c, p_y = prob["initiation"], prob["completion"], prob["completion_no_representation"]
        self.clipped["completion_above_initiation"] = self.clipped.get(
            "completion_above_initiation", 0
        ) + int((p_c > p_i).sum())
        self.clipped["no_representation_above_completion"] = self.clipped.get(
            "no_representation_above_completion", 0
        ) + int((p_y > p_c).sum())
        init = rng.random(n) < p_i
        comp = init & (rng.random(n) < np.minimum(p_c / p_i, 1.0))
        norep = comp & (rng.random(n) < np.minimum(p_y / np.maximum(p_c, 1e-12), 1.0))
        wait = init & (rng.random(n) < prob["waiting"])
        triaged = rng.random(n) >= p.process.triage_missing
        tlag = np.minimum(rng.geometric(0.25, n) - 1, 14).astype(np.int64)
        u = rng.random(n)
        w = np.where(
            wait,
            23 + np.floor(u**1.7 * (tlag + 88 - 23 + 1)).astype(np.int64),
            tlag + np.floor(u * (20 - tlag + 1)).astype(np.int64),
        )
        w = np.where(init, w, NA)
        # discharge: non-starters, completers, non-completers (short or still in treatment at a year)
        grp = cov["grp"]
        u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
        d_non = tlag + 7 + np.minimum(np.floor(rng.exponential(35.0, n)), 150).astype(np.int64)
        r_non = np.select([u1 < 0.55, u1 < 0.85, u1 < 0.92], [88, 85, 86], 87)
        beta_c = np.where(grp == 0, rng.beta(2.2, 1.6, n), rng.beta(1.6, 2.2, n))
        lo_c = np.where(init, w, 0) + 28
        d_comp = lo_c + np.floor((360 - lo_c) * beta_c).astype(np.int64)
        r_comp = self._completion_reason(cov["sub1"], u2)
        long_ = u3 < _P_LONG[grp]
        d_long = 370 + np.floor(rng.exponential(500.0, n)).astype(np.int64)
        u4 = rng.random(n)
        r_long = np.select(
            [u4 < 0.30, u4 < 0.72, u4 < 0.80, u4 < 0.93, u4 < 0.97], [r_comp, 85, 86, 87, 83], 84
        )
        lo_s = np.where(init, w, 0) + 7
        d_short = lo_s + np.floor((358 - lo_s) * rng.beta(1.1, 1.6, n)).astype(np.int64)
        r_short = np.select([u4 < 0.62, u4 < 0.74, u4 < 0.90, u4 < 0.96], [85, 86, 87, 83], 84)
        d = np.select([~init, comp, long_], [d_non, d_comp, d_long], d_short)
        reason = np.select([~init, comp, long_], [r_non, r_comp, r_long], r_short)
        D = start + d
        open_ = self.d_end < D
        D = np.where(open_, NA, D)
        reason = np.where(open_, -1, reason)
        comp_r = comp & ~open_
        # offered date: before the intervention, or before a declined start
        u5 = rng.random(n)
        offer = np.where(
            init, w - np.floor(u5 * (np.minimum(7, np.where(init, w, 0) - tlag) + 1)).astype(np.int64), NA
        )
        offer = np.where(init & (rng.random(n) < 0.08), NA, offer)
        dn = np.where(open_, 0, d)
        offer = np.where(
            ~init & (reason == 88), tlag + np.floor(u5 * np.maximum(dn - tlag, 1)).astype(np.int64), offer
        )
        # deaths within a year of the start (drug poisoning or other causes)
        p_od = _P_OTHER_DEATH[cohort, cov["agegrp"]] * np.where(grp == 0, 1.5, 1.0)
        drd = rng.random(n) < prob["drug_related_death"]
        dies = drd | (rng.random(n) < p_od)
        lo = start + np.where(init, w, tlag) + 1
        lo = np.where(comp_r, np.maximum(lo, np.where(open_, 0, D) + 1), lo)
        hi = np.minimum(start + 365, self.d_end)
        dies &= ~(comp_r & ~norep) & (lo <= hi)
        t_d = np.where(dies, _uniform_int(rng, lo, np.maximum(hi, lo)), NA)
        # the next journey (re-presentation)
        pr = p.process
        u6 = rng.random(n)
        mand = comp_r & ~norep
        gmax = np.minimum(175, self.d_end - np.where(open_, self.d_end, D))
        g_mand = 1 + np.floor(u6**1.3 * np.maximum(gmax, 1)).astype(np.int64)
        late = comp_r & norep & (rng.random(n) < pr.late_representation)
        g_late = 190 + np.floor(rng.exponential(400.0, n)).astype(np.int64)
        p_re = np.where(cohort == 0, pr.representation_drug, pr.representation_alcohol)
        nonc = ~comp_r & ~open_ & (rng.random(n) < p_re)
        g_non = (
            1
            + np.floor(rng.exponential(300.0, n)).astype(np.int64)
            + np.where(np.isin(reason, [83, 84]), 30, 0)
        )
        has = (mand & (gmax >= 1)) | late | nonc
        gap = np.select([mand, late], [g_mand, g_late], g_non)
        succ = np.where(has, np.where(open_, 0, D) + gap, NA)
        both = dies & has
        cancel_death = both & (succ < t_d)
        dies &= ~cancel_death
        drd &= dies
        t_d = np.where(dies, t_d, NA)
        has &= ~(dies & has)
        succ = np.where(has, succ, NA)
        cut = dies & (open_ | (t_d <= np.where(open_, t_d, D)))
        D = np.where(cut, t_d, D)
        reason = np.where(cut, 89, reason)
        P.death[pid[dies]] = t_d[dies]
        P.drd[pid[dies]] = drd[dies]
        chunk = dict(
            pid=pid, start=start, cohort=cohort, unit=unit, follow=J["follow"], month=np.full(n, m),
            init=init, wait=wait, comp=comp, norep=norep, triaged=triaged, tlag=tlag, w=w, offer=offer,
            D=D, reason=reason, death=t_d, drd_lat=drd, **cov,
        )  # fmt: skip
        if not has.any():
            return chunk, None
        k = np.flatnonzero(has)
        s = succ[k]
        # next month at the earliest, and never within 3 days of an 18th birthday
        s = np.where(s <= self.m_end[m], self.m_end[m] + 1 + rng.integers(0, 3, len(k)), s)
        b18 = _birthday(P.dob[pid[k]], 18)
        s = np.where(np.abs(s - b18) <= 3, b18 + 4, s)
        ok = s <= self.d_end
        k, s = k[ok], s[ok]
        coh2 = np.where(rng.random(len(k)) < pr.cohort_switch, 1 - cohort[k], cohort[k])
        move = rng.random(len(k)) < pr.move_area
        unit2 = unit[k].copy()
        if move.any():
            cdf = np.cumsum(self.unit_w, axis=1)
            cdf /= cdf[:, -1:]
            u = rng.random(int(move.sum()))
            rows = coh2[move]
            unit2[move] = (u[:, None] >= cdf[rows]).sum(axis=1)
        succ_d = dict(
            pid=pid[k],
            start=s,
            cohort=coh2,
            unit=np.minimum(unit2, len(self.unit_area) - 1),
            droppable=~mand[k],
            prev_j=offset + k,
        )
        return chunk, succ_d

    @staticmethod
    def _completion_reason(sub1: np.ndarray, u: np.ndarray) -> np.ndarray:
        grp = _SUB_GRP[sub1]
        opi_crack = grp <= 1
        alc = sub1 == _ALC
        return np.select(
            [opi_crack, alc & (u < 0.75), alc & (u < 0.90), alc, u < 0.6],
            [80, 81, 82, 80, 80],
            82,
        )

    # ----------------------------------------------------------------- after the loop
    def _finish_journeys(self) -> None:
        """Order journeys by person, add deaths after the last journey, realise the journey outcomes."""
        J = self.J
        order = np.lexsort((J["start"], J["pid"]))
        J = {k: v[order] for k, v in J.items()}
        self.J = J
        pid, start = J["pid"], J["start"]
        n = len(pid)
        same_next = np.zeros(n, dtype=bool)
        same_next[:-1] = pid[1:] == pid[:-1]
        nxt = np.full(n, NA)
        nxt[:-1] = np.where(same_next[:-1], start[1:], NA)
        J["next_start"] = nxt
        J["last"] = ~same_next
        # deaths after the first year of a person's last journey
        rng = self.rng_post
        P = self.P
        lj = np.flatnonzero(J["last"] & (P.death[pid] == NA))
        frm = start[lj] + 366
        span = self.d_end - frm + 1
        h = _BG_HAZARD[J["grp"][lj]] * _AGE_HAZ[J["agegrp"][lj]]
        dies = (span > 0) & (rng.random(len(lj)) < 1 - np.exp(-h * np.maximum(span, 0) / 365.25))
        t = frm + np.floor(rng.random(len(lj)) * np.maximum(span, 1)).astype(np.int64)
        drd = rng.random(len(lj)) < _BG_DRD_SHARE[J["grp"][lj]]
        lj, t, drd = lj[dies], t[dies], drd[dies]
        P.death[pid[lj]] = t
        P.drd[pid[lj]] = drd
        D = J["D"]
        cut = (D[lj] == NA) | (D[lj] > t)
        D[lj[cut]] = t[cut]
        J["reason"][lj[cut]] = 89
        # realised journey outcomes (pipeline definitions on the true persons)
        Dv = D != NA
        comp = Dv & np.isin(J["reason"], [80, 81, 82]) & (D - start <= 365)
        rep = Dv & (nxt != NA) & (nxt - D <= 183)
        J["comp_r"] = comp
        J["norep_r"] = comp & ~rep
        J["adult"] = J["age"] >= 18
        per = np.full(n, -1)
        per[(start >= self.d_pre) & (start < self.d_post)] = 0
        per[(start >= self.d_post) & (start <= self.d_post_end)] = 1
        J["period"] = per
        J["treated"] = self.unit_treated[J["unit"]]
        J["group"] = self.unit_group[J["unit"]]
        J["area"] = self.unit_area[J["unit"]]

    def _episodes(self) -> None:
        """Cut journeys into episodes (transfers) and give them agencies and dates."""
        rng = self.rng_ep
        J = self.J
        n = len(J["pid"])
        start, D, init = J["start"], J["D"], J["init"]
        Dv = D != NA
        L = np.where(Dv, D, self.d_end) - start
        w = np.where(init, J["w"], 0)
        lo = w + 14
        hi = np.minimum(L, 400) - 28
        elig = init & (hi >= lo + 7)
        share = self.p.process.multi_episode_share
        p_t = min(1.0, share * n / max(int(elig.sum()), 1))
        two = elig & (rng.random(n) < p_t)
        three = two & (rng.random(n) < 0.2) & (hi - lo >= 90)
        n_ep = 1 + two.astype(np.int64) + three.astype(np.int64)
        mid = lo + (hi - lo) // 2
        t1 = np.where(
            three, _uniform_int(rng, lo, np.maximum(mid, lo)), _uniform_int(rng, lo, np.maximum(hi, lo))
        )
        t2 = _uniform_int(rng, np.minimum(t1 + 35, hi), np.maximum(hi, t1 + 35))
        g1 = rng.integers(0, 21, n)
        g2 = rng.integers(0, 21, n)
        ej = np.repeat(np.arange(n), n_ep)
        first = np.concatenate([[0], np.cumsum(n_ep)[:-1]])
        ek = np.arange(len(ej)) - first[ej]
        ne = len(ej)
        last = ek == n_ep[ej] - 1
        s = start[ej]
        ref = s + np.select([ek == 0, ek == 1], [0, t1[ej] + g1[ej]], t2[ej] + g2[ej])
        dis = np.where(last, D[ej], s + np.where(ek == 0, t1[ej], t2[ej]))
        u = rng.random(ne)
        reason = np.where(last, J["reason"][ej], np.where(u < 0.85, 83, 84))
        # area: transfers (83) move area now and then; custody transfers (84) stay
        unit = J["unit"][ej].copy()
        moved = (ek >= 1) & (rng.random(ne) < 0.10)
        prev_reason = np.concatenate([[0], reason[:-1]])
        moved &= prev_reason == 83
        moved_j = np.zeros(n, dtype=bool)
        moved_j[ej[moved & (ek == 1)]] = True
        new_unit = _choice(rng, self.unit_w[0], n)
        unit = np.where((ek >= 1) & moved_j[ej], new_unit[ej], unit)
        # agency: usually the person's usual agency in the area; a transfer goes elsewhere
        nag = self.unit_nag[unit]
        pid = J["pid"][ej]
        pref = (pid * 2654435761 + unit * 40503) % nag
        loc = np.where(rng.random(ne) < 0.75, pref, rng.integers(0, 1 << 30, ne) % nag)
        for k in (1, 2):
            sel = np.flatnonzero(ek == k)
            prev = loc[sel - 1]
            same = unit[sel] == unit[sel - 1]
            step = 1 + rng.integers(0, 1 << 30, len(sel)) % np.maximum(nag[sel] - 1, 1)
            loc[sel] = np.where(same, (prev + step) % nag[sel], loc[sel])
        agency = self.unit_ag0[unit] + loc
        # dates
        triaged = J["triaged"][ej]
        tri = np.where(ek == 0, s + J["tlag"][ej], ref + rng.integers(0, 6, ne))
        tri = np.where(triaged & ((ek == 0) | (rng.random(ne) < 0.8)), tri, NA)
        iv_lag = rng.integers(0, 8, ne)
        iv = np.where(ek == 0, np.where(init[ej], s + w[ej], NA), ref + iv_lag)
        off0 = np.where(J["offer"][ej] == NA, NA, s + J["offer"][ej])
        offk = np.where(
            rng.random(ne) < 0.9, ref + np.floor(rng.random(ne) * (iv_lag + 1)).astype(np.int64), NA
        )
        offer = np.where(ek == 0, off0, offk)
        self.E = dict(
            j=ej, k=ek, ref=ref, dis=dis, reason=reason, unit=unit, agency=agency, pid=pid, triage=tri,
            offer=offer, iv=iv, last=last,
        )  # fmt: skip
        J["n_ep"] = n_ep
        log.info("%d episodes (%d journeys with transfers)", ne, int(two.sum()))

    def _top_schedule(self) -> None:
        """Which TOP interviews exist and when: start, quarterly reviews in treatment, exit."""
        rng = self.rng_top
        pr = self.p.process
        J = self.J
        n = len(J["pid"])
        start, D, init = J["start"], J["D"], J["init"]
        Dv = D != NA
        end_eff = np.where(Dv, D, self.d_end + 1)
        s_date = start + J["tlag"]
        has_s = np.where(
            init, rng.random(n) < pr.start_top_initiated, rng.random(n) < pr.start_top_not_initiated
        )
        has_s &= (s_date <= self.d_end) & (s_date < end_eff)
        kmax = np.where(init, np.clip((end_eff - start - 3) // 91, 0, pr.max_reviews), 0)
        rj = np.repeat(np.arange(n), kmax)
        first = np.concatenate([[0], np.cumsum(kmax)[:-1]])
        rk = np.arange(len(rj)) - first[rj] + 1
        r_date = start[rj] + 91 * rk + 2 + np.floor(rng.random(len(rj)) * 19).astype(np.int64)
        ok = (r_date < end_eff[rj]) & (r_date <= self.d_end) & (rng.random(len(rj)) < pr.review_top)
        rj, rk, r_date = rj[ok], rk[ok], r_date[ok]
        in_win = rk <= 2  # days 93-111 and 184-202: inside the 91-273 review window
        has_rw = np.bincount(rj[in_win], minlength=n) > 0
        has_x = init & Dv & (J["reason"] != 89) & (rng.random(n) < pr.exit_top)
        J["has_start_top"] = has_s
        J["has_review_top"] = has_rw
        J["observed"] = has_s & has_rw
        self.T = dict(
            s=np.flatnonzero(has_s), s_date=s_date, rj=rj, rk=rk, r_date=r_date, x=np.flatnonzero(has_x)
        )

    def _late_outcomes(self) -> None:
        """Abstinence, non-injecting, housing and acquisitive crime (calibrated on the realised sample)."""
        from scipy.special import ndtr

        J = self.J
        rng = self.rng_post
        n = len(J["pid"])
        base = J["adult"] & (J["period"] >= 0)
        injector = J["inj"] == 0
        masks = {
            "abstinence": J["observed"],
            "non_injecting": J["observed"] & injector,
            "housing_problem": J["observed"],
            "acquisitive_crime": np.ones(n, dtype=bool),
        }
        post = J["start"] >= self.d_post
        prob = {}
        for o, mask in masks.items():
            xb = self._xb(o, J) + self.re[o][J["area"]]
            for c in (0, 1):
                coh = J["cohort"] == c
                samples = {}
                for g in (0, 1):
                    for per in (0, 1):
                        cell = base & coh & (J["group"] == g) & (J["period"] == per)
                        x = xb[cell & mask]
                        if len(x) < 5:
                            x = xb[cell] if cell.sum() >= 5 else np.zeros(1)
                        samples[(g, per)] = x
                self._calibrate(o, c, samples)
            prob[o] = _sigmoid(
                self._lp(o, J["cohort"], J["treated"], post, J["area"], xb - self.re[o][J["area"]])
            )
        # abstinence and non-injecting are correlated (Gaussian copula), each with its exact margin
        z1 = rng.standard_normal(n)
        z2 = 0.5 * z1 + np.sqrt(1 - 0.25) * rng.standard_normal(n)
        J["abst"] = ndtr(z1) < prob["abstinence"]
        J["noninj"] = ndtr(z2) < prob["non_injecting"]
        J["housing"] = rng.random(n) < prob["housing_problem"]
        J["acq_lat"] = rng.random(n) < prob["acquisitive_crime"]

    def _tops(self) -> pd.DataFrame:
        """The TOP table, realising abstinence, non-injecting and housing at the window reviews."""
        rng = self.rng_top
        J, T, E = self.J, self.T, self.E
        n = len(J["pid"])
        tj = np.concatenate([T["s"], T["rj"], T["x"]])
        td = np.concatenate([T["s_date"][T["s"]], T["r_date"], J["D"][T["x"]]])
        ns, nrev, nx = len(T["s"]), len(T["rj"]), len(T["x"])
        stage = np.concatenate([np.zeros(ns, np.int8), np.ones(nrev, np.int8), np.full(nx, 2, np.int8)])
        win = np.concatenate([np.zeros(ns, bool), T["rk"] <= 2, np.zeros(nx, bool)])
        nr = len(tj)
        # the episode each interview belongs to: the journey's latest episode referred by then
        off = 30000
        ekey = E["j"] * 131072 + (E["ref"] + off)  # E is in (journey, episode) order
        e = np.searchsorted(ekey, tj * 131072 + (td + off), side="right") - 1
        order = _date_order(rng, td)
        tj, td, stage, win, e = tj[order], td[order], stage[order], win[order], e[order]
        del order
        cols = {
            "top_id": _str(_ids("TOP", np.arange(1, nr + 1), 9)),
            "episode_id": _str(pc.take(self.ep_ids, pa.array(self.ep_rank[e]))),
            "top_date": _date_col(td),
            "top_stage": _codes(("start", "review", "exit"), stage),
        }
        del e, td

        def rand() -> np.ndarray:
            return rng.random(nr, dtype=np.float32)

        first, later = stage == 0, stage > 0
        key_rows = first | win

        def miss(q: float) -> np.ndarray:
            return (rand() < q) & ~key_rows

        # the status each interview shows: the latent outcome at window reviews, related values elsewhere
        other = ~win & later
        abst = J["abst"][tj]
        abst = np.where(other, np.where(rand() < 0.7, abst, rand() < 0.4), abst)
        abst = np.where((stage == 2) & J["comp_r"][tj], rand() < 0.85, abst)
        noninj = J["noninj"][tj]
        noninj = np.where(other, np.where(rand() < 0.7, noninj, rand() < 0.5), noninj)
        hous = J["housing"][tj]
        hous = np.where(other, np.where(rand() < 0.7, hous, J["accom"][tj]), hous)
        # days of use: problem substances from the baseline, others mostly none
        prim = _SUB_COL[J["sub1"]]
        problem = np.zeros((n, 7), dtype=bool)
        for key in ("sub1", "sub2", "sub3"):
            sub = J[key]
            ok = sub != _NONE
            problem[np.flatnonzero(ok), _SUB_COL[sub[ok]]] = True
        prim_r = prim[tj]
        used = np.zeros(nr, dtype=bool)
        day_cols = []
        for c in range(7):
            base = np.where(
                problem[:, c],
                1 + np.floor(27 * rng.beta(1.5, 2.0, n)),
                np.where(rng.random(n) < 0.15, 1 + np.floor(rng.random(n) * 8), 0),
            )
            base = np.where(prim == c, J["days"], base).astype(np.int8)[tj]
            pm = problem[tj, c]
            use = np.where(rand() < 0.65, 1 + np.floor(rand() * np.maximum(base, 1)), 0)
            nonp = np.where(rand() < 0.08, 1 + np.floor(rand() * 6), 0)
            val = np.where(pm, np.where(abst, 0, use), nonp).astype(np.int8)
            used |= pm & (val > 0)
            day_cols.append(np.where(first, base, val).astype(np.int8))
        fix = later & ~abst & ~used
        fill = (1 + np.floor(rand() * 20)).astype(np.int8)
        for c in range(7):
            day_cols[c] = np.where(fix & (prim_r == c), fill, day_cols[c])
        for c, name in enumerate(TOP_DAY_COLUMNS):
            cols[name] = _int_col(day_cols[c], miss(0.01))
        del day_cols
        injector = (J["inj"] == 0)[tj]
        bi = (1 + np.floor(27 * rng.beta(3.0, 1.5, n))).astype(np.int8)[tj]
        inj_later = np.where(
            injector,
            np.where(noninj, 0, 1 + np.floor(rand() * 28)),
            np.where(rand() < 0.01, 1 + np.floor(rand() * 4), 0),
        )
        inj = np.where(first, np.where(injector, bi, 0), inj_later).astype(np.int8)
        cols["days_injected"] = _int_col(inj, miss(0.01))
        cols["sharing"] = _bool_col(rand() < 0.08, inj == 0)
        grp = J["grp"][tj]
        fac = np.where(first, 1.0, 0.5)
        for name, probs in (
            ("days_shop_theft", (0.25, 0.25, 0.08, 0.06, 0.08, 0.06, 0.03)),
            ("days_drug_selling", (0.08, 0.10, 0.06, 0.06, 0.05, 0.03, 0.01)),
            ("days_other_theft", (0.08, 0.08, 0.04, 0.03, 0.04, 0.03, 0.02)),
            ("days_assault", (0.05, 0.06, 0.05, 0.04, 0.05, 0.04, 0.06)),
        ):
            pos = rand() < np.take(probs, grp) * fac
            v = np.where(pos, 1 + np.floor(27 * rng.beta(1.0, 2.5, nr)), 0).astype(np.int8)
            cols[name] = _int_col(v, rand() < 0.015)
        gain = np.where(first, 0.0, rng.normal(1.5, 2.5, nr).astype(np.float32))
        for name, key in (("psych_health", "psych"), ("phys_health", "phys"), ("quality_of_life", "qol")):
            noise = np.where(first, 0.0, rng.normal(0, 1.0, nr).astype(np.float32))
            v = np.clip(np.rint(J[key][tj] + gain + noise), 0, 20).astype(np.int8)
            cols[name] = _int_col(v, rand() < 0.01)
        work = np.where(
            J["emp"][tj] == 0,
            8 + np.floor(rand() * 13),
            np.where(rand() < 0.02, 1 + np.floor(rand() * 5), 0),
        ).astype(np.int8)
        cols["days_paid_work"] = _int_col(work, rand() < 0.015)
        cols["acute_housing_problem"] = _bool_col(np.where(first, J["accom"][tj], hous), miss(0.01))
        cols["eviction_risk"] = _bool_col(rand() < 0.08, rand() < 0.01)
        return pd.DataFrame(cols)

    # ----------------------------------------------------------------- names and registers
    def _names(self) -> None:
        pools = _name_pools()
        (m_names, p_m), (f_names, p_f), (s_names, p_s) = pools["M"], pools["F"], pools["S"]
        self.fore_pool = np.concatenate([m_names, f_names]).astype("<U24")
        self.n_male_names = len(m_names)
        self.p_m, self.p_f = p_m, p_f
        self.sur_pool = s_names.astype("<U24")
        self.p_s = p_s
        self.fore_pa = pa.array(self.fore_pool, pa.string())
        self.sur_pa = pa.array(self.sur_pool, pa.string())
        rng = self.rng_ids
        n = self.P.n
        self.P_fore = self._forenames(rng, self.P.female[:n])
        self.P_sur = _choice(rng, p_s, n)
        # each person's home area: the area of their last journey
        J = self.J
        home = np.zeros(n, dtype=np.int64)
        home[J["pid"][J["last"]]] = J["area"][J["last"]]
        self.P_home = home
        # area weights for unrelated people (population-like)
        self.area_w = np.bincount(self.unit_area, weights=self.unit_w[1], minlength=len(self.area_code))

    def _forenames(self, rng, female: np.ndarray) -> np.ndarray:
        n = len(female)
        return np.where(female, self.n_male_names + _choice(rng, self.p_f, n), _choice(rng, self.p_m, n))

    def _register_copy(self, rng, pids: np.ndarray) -> dict:
        """Clients' identifiers as a register holds them: full names, with recording errors."""
        nz = self.p.noise
        P = self.P
        k = len(pids)
        fem = P.female[pids]
        fn = self.fore_pool[self.P_fore[pids]]
        sn = self.sur_pool[self.P_sur[pids]]
        chg = fem & (rng.random(k) < nz.surname_change_female)
        sn = np.where(chg, self.sur_pool[_choice(rng, self.p_s, k)], sn)
        err = rng.random(k) < nz.register_name_error
        kind = rng.integers(0, 4, k)
        swap = err & (kind == 0)
        fn, sn = np.where(swap, sn, fn), np.where(swap, fn, sn)
        tf, ts = err & (kind == 1), err & (kind >= 2)
        if tf.any():
            fn[tf] = _name_errors(rng, fn[tf])
        if ts.any():
            sn[ts] = _name_errors(rng, sn[ts])
        dob = P.dob[pids].copy()
        de = rng.random(k) < nz.register_dob_error
        dob[de] = _dob_errors(rng, dob[de])
        sex = np.where(fem, 1, 0)
        sex = np.where(rng.random(k) < nz.register_sex_missing, -1, sex)
        area = self.P_home[pids].copy()
        moved = rng.random(k) < nz.register_area_move
        area[moved] = _choice(rng, self.area_w, int(moved.sum()))
        if nz.register_area_move_same_region > 0:  # no extra draws by default: same data as before
            local = np.flatnonzero(moved)[rng.random(int(moved.sum())) < nz.register_area_move_same_region]
            area[local] = self._area_in_region(rng, self.P_home[pids[local]])
        area[rng.random(k) < nz.register_area_missing] = -1
        return dict(fn=fn, sn=sn, dob=dob, sex=sex, area=area)

    def _area_in_region(self, rng, home: np.ndarray) -> np.ndarray:
        """Another area of each home area's region, drawn by population (the home area itself if alone)."""
        region = np.asarray(self.area_region)
        out = home.copy()
        for r in np.unique(region[home]):
            rows = np.flatnonzero(region[home] == r)
            w = np.where(region == r, self.area_w, 0.0)
            for h in np.unique(home[rows]):
                at = rows[home[rows] == h]
                wh = w.copy()
                if (wh > 0).sum() > 1:
                    wh[h] = 0.0
                out[at] = _choice(rng, wh, len(at))
        return out

    def _unrelated_people(self, rng, n: int, p_female: float | np.ndarray, dob: np.ndarray) -> dict:
        female = rng.random(n) < p_female
        fore = self._forenames(rng, female)
        sur = _choice(rng, self.p_s, n)
        sex = np.where(rng.random(n) < self.p.noise.register_sex_missing, -1, female.astype(np.int64))
        area = _choice(rng, self.area_w, n)
        area[rng.random(n) < self.p.noise.register_area_missing] = -1
        return dict(fore=fore, sur=sur, dob=dob, sex=sex, area=area)

    def _resampled_dobs(self, rng, n: int) -> np.ndarray:
        """Dates of birth from the clients' distribution (resampled and jittered)."""
        src = self.P.dob[: self.P.n]
        dob = src[rng.integers(0, len(src), n)] + np.rint(rng.normal(0, 600, n)).astype(np.int64)
        _, m, d = _ymd(dob)
        return np.where((m == 2) & (d == 29), dob - 1, dob)

    def _deaths(self) -> dict:
        rng = self.rng_reg
        P, J = self.P, self.J
        r = self.p.registers
        dead = np.flatnonzero(P.death[: P.n] != NA)
        k = len(dead)
        copy = self._register_copy(rng, dead)
        last_cohort = np.zeros(P.n, dtype=np.int64)
        last_cohort[J["pid"][J["last"]]] = J["cohort"][J["last"]]
        drd = P.drd[dead]

        def causes(table: dict, m: int) -> np.ndarray:
            keys = np.array(list(table))
            return keys[_choice(rng, np.array(list(table.values())), m)]

        c_drd = causes(DRUG_POISONING_CAUSES, k)
        c_drug = causes(_CAUSES_DRUG_OTHER, k)
        c_alc = causes(_CAUSES_ALCOHOL_OTHER, k)
        cause = np.where(drd, c_drd, np.where(last_cohort[dead] == 1, c_alc, c_drug))
        dod = P.death[dead]
        # unrelated deaths: the elderly, and people of the clients' ages
        nu = round(r.deaths_unrelated_ratio * k)
        eld = rng.random(nu) < r.deaths_elderly_share
        d_eld = _uniform_int(rng, np.full(nu, _day("1915-01-01")), np.full(nu, _day("1950-12-31")))
        dob_u = np.where(eld, d_eld, self._resampled_dobs(rng, nu))
        dod_u = _uniform_int(rng, np.full(nu, self.d_ref0), np.full(nu, self.d_end))
        dob_u = np.minimum(dob_u, dod_u - 6210)  # at least 17 years old
        _, m, d = _ymd(dob_u)
        dob_u = np.where((m == 2) & (d == 29), dob_u - 1, dob_u)
        u = self._unrelated_people(rng, nu, np.where(eld, 0.5, 0.35), dob_u)
        cause_u = np.where(eld, causes(_CAUSES_ELDERLY, nu), causes(_CAUSES_WORKING_AGE, nu))
        # assemble (clients first, then unrelated; rows are re-ordered by date below)
        fn = pa.concat_arrays([pa.array(copy["fn"], pa.string()), pc.take(self.fore_pa, pa.array(u["fore"]))])
        sn = pa.concat_arrays([pa.array(copy["sn"], pa.string()), pc.take(self.sur_pa, pa.array(u["sur"]))])
        dob = np.concatenate([copy["dob"], dob_u])
        sex = np.concatenate([copy["sex"], u["sex"]])
        area = np.concatenate([copy["area"], u["area"]])
        date = np.concatenate([dod, dod_u])
        cause = np.concatenate([cause, cause_u])
        is_pois = np.isin(cause.astype("<U3"), list(POISONING_PREFIXES))
        lag = np.where(
            is_pois & (rng.random(len(date)) < 0.7),
            60 + np.floor(rng.exponential(120.0, len(date))),
            1 + np.floor(rng.exponential(6.0, len(date))),
        ).astype(np.int64)
        owner = np.concatenate([dead, np.full(nu, -1)])
        order = _date_order(rng, date)
        ids = _ids("DTH", np.arange(1, len(date) + 1), 8)
        o = pa.array(order)
        table = pd.DataFrame(
            {
                "death_id": _str(ids),
                "forename": _str(pc.take(fn, o)),
                "surname": _str(pc.take(sn, o)),
                "date_of_birth": _date_col(dob[order]),
                "sex": _codes(("M", "F"), sex[order]),
                "area_code": _codes(self.area_code, area[order]),
                "date_of_death": _date_col(date[order]),
                "date_of_registration": _date_col(date[order] + lag[order]),
                "underlying_cause": _str(cause[order]),
            }
        )
        truth = pd.DataFrame({"death_id": _str(ids), "true_person_id": self._person_ids(owner[order])})
        return dict(table=table, truth=truth, n_client=k, n_unrelated=nu)

    def _person_ids(self, pids: np.ndarray) -> pd.Series:
        pids = np.asarray(pids)
        return _str(_ids("P", np.maximum(pids, 0) + 1, 8), na_mask=pids < 0)

    def _offences(self) -> dict:
        rng = self.rng_reg
        P, J = self.P, self.J
        r = self.p.registers
        nz = self.p.noise
        n = P.n
        off = 30000  # day offset for person-date keys
        # offences realising acquisitive crime within a year of a journey start
        # Planted offences stay out of the person's neighbouring journeys' windows, so that a
        # journey's realised outcome is its own planted one: they fall before the next
        # journey starts, and after the window of a previous journey without the outcome.
        # (Otherwise re-presentations, more frequent where completion fell, would carry
        # another journey's offences and bias the null DiD for crime.)
        nj = len(J["pid"])
        same_next = np.zeros(nj, dtype=bool)
        same_next[:-1] = J["pid"][1:] == J["pid"][:-1]
        next_start = np.where(same_next, np.roll(J["start"], -1), np.iinfo(np.int64).max // 2)
        same_prev = np.roll(same_next, 1)
        same_prev[0] = False
        prev_start = np.roll(J["start"], 1)
        prev_blocks = same_prev & ~np.roll(J["acq_lat"], 1) & (prev_start + 365 >= J["start"])
        lo_all = np.where(prev_blocks, prev_start + 366, J["start"])
        aj = np.flatnonzero(J["acq_lat"])
        death = P.death[J["pid"][aj]]
        hi = np.minimum(
            np.minimum(np.minimum(J["start"][aj] + 365, next_start[aj] - 1), self.d_end),
            np.where(death == NA, self.d_end, death - 1),
        )
        lo = lo_all[aj]
        ok = hi >= lo
        aj, hi, lo = aj[ok], hi[ok], lo[ok]
        per = 1 + rng.poisson(0.5, len(aj))
        oj = np.repeat(aj, per)
        a_pid = J["pid"][oj]
        a_date = _uniform_int(rng, np.repeat(lo, per), np.repeat(hi, per))
        a_grp = _choice(rng, _P_ACQ, len(oj))
        # background offending over the register period
        grp_p = np.zeros(n, dtype=np.int64)
        grp_p[J["pid"][J["last"]]] = J["grp"][J["last"]]
        lam = (
            r.offending_rate
            * _OFFEND_REL[grp_p]
            * np.where(P.female[:n], 0.5, 1.0)
            * rng.gamma(0.8, 1 / 0.8, n)
        )
        lo = np.maximum(self.d_ref0, _birthday(P.dob[:n], 12))
        hi = np.minimum(self.d_end, np.where(P.death[:n] == NA, self.d_end, P.death[:n] - 1))
        years = np.maximum(hi - lo + 1, 0) / 365.25
        nb = rng.poisson(lam * years)
        b_pid = np.repeat(np.arange(n), nb)
        b_date = _uniform_int(rng, lo[b_pid], hi[b_pid])
        acq = rng.random(len(b_pid)) < 0.35
        b_grp = np.where(
            acq, _choice(rng, _P_ACQ, len(b_pid)), len(ACQUISITIVE) + _choice(rng, _P_NONACQ, len(b_pid))
        )
        # background acquisitive offences never fall inside a journey's 12-month window
        jkey = J["pid"] * 65536 + (J["start"] + off)
        bkey = b_pid * 65536 + (b_date + off)
        last = np.searchsorted(jkey, bkey, side="right") - 1
        inside = np.zeros(len(b_pid), dtype=bool)
        for back in range(4):  # every journey starting in the year before the offence
            idx = last - back
            safe = np.maximum(idx, 0)
            inside |= (idx >= 0) & (J["pid"][safe] == b_pid) & (b_date - J["start"][safe] <= 365)
        keep = ~(acq & inside)
        c_pid = np.concatenate([a_pid, b_pid[keep]])
        c_date = np.concatenate([a_date, b_date[keep]])
        c_grp = np.concatenate([a_grp, b_grp[keep]])
        nc = len(c_pid)
        # realised acquisitive crime per journey (first acquisitive offence on or after the start)
        is_acq = c_grp < len(ACQUISITIVE)
        akey = np.sort(c_pid[is_acq] * 65536 + (c_date[is_acq] + off))
        pos = np.searchsorted(akey, jkey, side="left")
        nxt = akey[np.minimum(pos, len(akey) - 1)] if len(akey) else np.zeros(len(jkey), np.int64)
        J["acq_r"] = (
            (pos < len(akey)) & (nxt // 65536 == J["pid"]) & ((nxt % 65536) - off - J["start"] <= 365)
        )
        # the offenders' PNC records: one register copy each, some using aliases
        offenders, oi = np.unique(c_pid, return_inverse=True)
        no = len(offenders)
        copy = self._register_copy(rng, offenders)
        alias_p = rng.random(no) < nz.pnc_alias_person
        akind = rng.integers(0, 3, no)
        afn = np.where(akind != 1, self.fore_pool[self._forenames(rng, P.female[offenders])], copy["fn"])
        asn = np.where(akind != 0, self.sur_pool[_choice(rng, self.p_s, no)], copy["sn"])
        adob = np.where(rng.random(no) < 0.3, _dob_errors(rng, copy["dob"]), copy["dob"])
        use = alias_p[oi] & (rng.random(nc) < nz.pnc_alias_record)
        name_idx = pa.array(np.where(use, oi + no, oi))
        fn_c = pc.take(pa.array(np.concatenate([copy["fn"], afn]), pa.string()), name_idx)
        sn_c = pc.take(pa.array(np.concatenate([copy["sn"], asn]), pa.string()), name_idx)
        dob_c = np.where(use, adob[oi], copy["dob"][oi])
        # unrelated offenders: same name, date-of-birth distributions, mostly men
        nu = round(r.offences_unrelated_ratio * nc)
        cnt = rng.geometric(0.55, int(nu / 1.8 * 1.2) + 20)
        while cnt.sum() < nu:
            cnt = np.concatenate([cnt, rng.geometric(0.55, len(cnt))])
        cs = np.cumsum(cnt)
        m = int(np.searchsorted(cs, nu))
        cnt = cnt[: m + 1]
        cnt[-1] -= int(cs[m] - nu)
        cnt = cnt[cnt > 0]
        nuo = len(cnt)
        dob_u = self._resampled_dobs(rng, nuo)
        dob_u = np.minimum(dob_u, self.d_end - 13 * 366)
        u = self._unrelated_people(rng, nuo, 0.15, dob_u)
        ui = np.repeat(np.arange(nuo), cnt)
        u_lo = np.maximum(self.d_ref0, _birthday(dob_u, 12))[ui]
        u_date = _uniform_int(rng, u_lo, np.full(len(ui), self.d_end))
        u_acq = rng.random(len(ui)) < 0.35
        u_grp = np.where(
            u_acq, _choice(rng, _P_ACQ, len(ui)), len(ACQUISITIVE) + _choice(rng, _P_NONACQ, len(ui))
        )
        # assemble, rows in date order (ids follow it, so they carry nothing else)
        date = np.concatenate([c_date, u_date])
        total = len(date)
        order = _date_order(rng, date)
        date = date[order]
        o = pa.array(order)
        cols = {"offence_id": _str(_ids("OFF", np.arange(1, total + 1), 9))}
        # PNC ids 'YY/NNNNNNNL', numbered in random order over offenders
        n_people = no + nuo
        seq = rng.permutation(n_people)
        yy = (rng.integers(80, 115, n_people) % 100).astype(np.int64)
        letters = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"))
        pnc = pc.binary_join_element_wise(
            pc.utf8_lpad(pc.cast(pa.array(yy), pa.string()), 2, padding="0"),
            pc.utf8_lpad(pc.cast(pa.array(seq + 1), pa.string()), 7, padding="0"),
            "/",
        )
        pnc = pc.binary_join_element_wise(pnc, pa.array(letters[(seq * 7 + yy) % len(letters)]), "")
        person = np.concatenate([oi, no + ui])[order]  # PNC person number
        cols["pnc_id"] = _str(pc.take(pnc, pa.array(person)))
        del pnc, person
        fn = pa.concat_arrays([fn_c, pc.take(self.fore_pa, pa.array(u["fore"][ui]))])
        cols["forename"] = _str(pc.take(fn, o))
        sn = pa.concat_arrays([sn_c, pc.take(self.sur_pa, pa.array(u["sur"][ui]))])
        cols["surname"] = _str(pc.take(sn, o))
        del fn, sn, fn_c, sn_c
        cols["date_of_birth"] = _date_col(np.concatenate([dob_c, dob_u[ui]])[order])
        cols["sex"] = _codes(("M", "F"), np.concatenate([copy["sex"][oi], u["sex"][ui]])[order])
        cols["area_code"] = _codes(self.area_code, np.concatenate([copy["area"][oi], u["area"][ui]])[order])
        grp = np.concatenate([c_grp, u_grp])[order]
        caution = rng.random(total) < np.where(
            grp == OFFENCE_GROUPS.index("drugs_possession"),
            0.5,
            np.where(grp == OFFENCE_GROUPS.index("motoring"), 0.1, 0.3),
        )
        lag = np.where(
            caution, np.floor(rng.exponential(10.0, total)), 14 + np.floor(rng.exponential(90.0, total))
        ).astype(np.int64)
        cols["offence_date"] = _date_col(date)
        cols["disposal_date"] = _date_col(date + lag)
        cols["offence_group"] = _codes(OFFENCE_GROUPS, grp)
        cols["disposal"] = _codes(("caution", "conviction"), np.where(caution, 0, 1))
        del grp, caution, lag, date
        table = pd.DataFrame(cols)
        del cols
        owner = np.concatenate([c_pid, np.full(len(ui), -1)])[order]
        truth = pd.DataFrame({"offence_id": table["offence_id"], "true_person_id": self._person_ids(owner)})
        return dict(
            table=table,
            truth=truth,
            n_client=nc,
            n_unrelated=nu,
            n_client_offenders=no,
            n_unrelated_offenders=nuo,
        )

    # ----------------------------------------------------------------- NDTMS identifiers
    def _ndtms_identifiers(self) -> dict:
        """Attributor per (agency, client) record: initials, date of birth, sex, with noise; client ids."""
        rng = self.rng_noise
        nz = self.p.noise
        E, P = self.E, self.P
        key = E["agency"] * (P.n + 1) + E["pid"]
        pairs, inv = np.unique(key, return_inverse=True)
        npair = len(pairs)
        p_ag = pairs // (P.n + 1)
        p_pid = pairs % (P.n + 1)
        fi = np.array([s[0] for s in self.fore_pool.tolist()])[self.P_fore[p_pid]]
        si = np.array([s[0] for s in self.sur_pool.tolist()])[self.P_sur[p_pid]]
        letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        li = np.array([_SURNAME_INITIALS[x] for x in letters])
        err = rng.random(npair) < nz.ndtms_initial_error
        kind = rng.integers(0, 5, npair)
        rnd = letters[_choice(rng, li, npair)]
        fi2 = np.where(err & (kind <= 1), rnd, fi)
        si2 = np.where(err & (kind >= 2) & (kind <= 3), rnd, si)
        swap = err & (kind == 4)
        fi2, si2 = np.where(swap, si, fi2), np.where(swap, fi, si2)
        miss = rng.random(npair) < nz.ndtms_initials_missing
        dob = P.dob[p_pid].copy()
        de = rng.random(npair) < nz.ndtms_dob_error
        dob[de] = _dob_errors(rng, dob[de])
        # a recorded date of birth never changes whether a journey's first episode is an adult's
        first = np.flatnonzero(E["k"] == 0)
        s = E["ref"][first]
        true_adult = _age_years(P.dob[E["pid"][first]], s) >= 18
        rec_adult = _age_years(dob[inv[first]], s) >= 18
        dob[inv[first][true_adult != rec_adult]] = P.dob[p_pid[inv[first][true_adult != rec_adult]]]
        dob = np.minimum(dob, self._first_ref_of_pair(inv, npair))
        sex = np.where(P.female[p_pid], 1, 0)
        sex = np.where(rng.random(npair) < nz.ndtms_sex_missing, -1, sex)
        # client ids: numbered within agency in order of first referral (not unique across agencies)
        first_ref = self._first_ref_of_pair(inv, npair)
        o = np.lexsort((first_ref, p_ag))
        rank = np.empty(npair, dtype=np.int64)
        start_of_ag = np.searchsorted(p_ag[o], p_ag[o], side="left")
        rank[o] = np.arange(npair) - start_of_ag
        base = rng.integers(1, 20000, self.n_agencies)
        client = base[p_ag] + rank
        return dict(inv=inv, fi=fi2, si=si2, miss=miss, dob=dob, sex=sex, client=client)

    def _first_ref_of_pair(self, inv: np.ndarray, npair: int) -> np.ndarray:
        out = np.full(npair, np.iinfo(np.int64).max)
        np.minimum.at(out, inv, self.E["ref"])
        return out

    # ----------------------------------------------------------------- assembly
    def _episode_order(self) -> None:
        """Output order of the episodes (by referral date) and their ids."""
        ne = len(self.E["j"])
        order = _date_order(self.rng_ids, self.E["ref"])
        rank = np.empty(ne, dtype=np.int64)
        rank[order] = np.arange(ne)
        self.ep_order, self.ep_rank = order, rank
        self.ep_ids = _ids("EP", np.arange(1, ne + 1), 8)

    def _episode_table(self, ident: dict) -> pd.DataFrame:
        rng = self.rng_ids
        E, J = self.E, self.J
        ne = len(E["j"])
        j = E["j"]
        later = E["k"] >= 1
        inv = ident["inv"]
        order, ids = self.ep_order, self.ep_ids

        def nulls(q):
            return rng.random(ne) < q

        ref_src = np.where(later, 4, J["ref"][j])
        prev = np.where(later, True, J["prev"][j])
        cols = {
            "episode_id": _str(ids),
            "client_id": _str(
                pc.utf8_lpad(pc.cast(pa.array(ident["client"][inv][order]), pa.string()), 7, padding="0")
            ),
            "agency_id": _str(pc.take(self.agency_codes, pa.array(E["agency"][order]))),
            "area_code": _codes(self.area_code, self.unit_area[E["unit"]][order]),
            "sub_area": _codes(
                ("", "west_kent", "east_kent"),
                np.where(self.unit_sub[E["unit"]] == 0, -1, self.unit_sub[E["unit"]])[order],
            ),
            "initial_first": _str(ident["fi"][inv][order], ident["miss"][inv][order]),
            "initial_surname": _str(ident["si"][inv][order], ident["miss"][inv][order]),
            "date_of_birth": _date_col(ident["dob"][inv][order]),
            "sex": _codes(("M", "F"), ident["sex"][inv][order]),
            "referral_date": _date_col(E["ref"][order]),
            "triage_date": _date_col(E["triage"][order]),
            "first_offered_date": _date_col(E["offer"][order]),
            "first_intervention_date": _date_col(E["iv"][order]),
            "discharge_date": _date_col(E["dis"][order]),
            "discharge_reason": _int_col(E["reason"][order], (E["reason"] < 0)[order]),
            "substance_1": _codes(SUBST, J["sub1"][j][order]),
            "substance_2": _codes(SUBST, np.where(J["sub2"] == _NONE, -1, J["sub2"])[j][order]),
            "substance_3": _codes(SUBST, np.where(J["sub3"] == _NONE, -1, J["sub3"])[j][order]),
            "route": _codes(ROUTE, np.where(nulls(0.02), -1, J["route"][j])[order]),
            "injecting_status": _codes(INJ, np.where(nulls(0.01), -1, J["inj"][j])[order]),
            "referral_source": _codes(REF, np.where(nulls(0.02), -1, ref_src)[order]),
            "previously_treated": _bool_col(prev[order], nulls(0.01)[order]),
            "accommodation_need": _bool_col(J["accom"][j][order], nulls(0.02)[order]),
            "employment": _codes(EMP, np.where(nulls(0.03), -1, J["emp"][j])[order]),
        }
        return pd.DataFrame(cols)

    def _areas_table(self) -> pd.DataFrame:
        n = len(self.area_code)
        sub = np.full(n, -1)
        sub[self.kent] = 0
        return pd.DataFrame(
            {
                "area_code": _str(np.array(self.area_code)),
                "area_name": _str(np.array(self.area_name)),
                "region": _str(np.array(self.area_region)),
                "pilot": _bool_col(self.area_pilot),
                "pilot_sub_area": _codes(("west_kent",), sub),
            }
        )

    def _truth_journeys(self, deaths: dict) -> pd.DataFrame:
        J, P = self.J, self.P
        n = len(J["pid"])
        death = P.death[J["pid"]]
        drd_r = P.drd[J["pid"]] & (death != NA) & (death - J["start"] >= 0) & (death - J["start"] <= 365)
        J["drd_r"] = drd_r
        Dv = J["D"] != NA
        injector = J["inj"] == 0
        obs = J["observed"]
        never = np.zeros(n, dtype=bool)
        declined = Dv & (J["reason"] == 88) & (J["D"] - J["start"] <= 365)
        self.outcome_arrays = {
            "initiation": (J["init"], ~J["triaged"]),
            "waiting": (J["wait"], ~J["init"]),
            "completion": (J["comp_r"], never),
            "completion_no_representation": (J["norep_r"], never),
            "abstinence": (J["abst"], ~obs),
            "non_injecting": (J["noninj"], ~(obs & injector)),
            "housing_problem": (J["housing"], ~obs),
            "drug_related_death": (drd_r, never),
            "acquisitive_crime": (J["acq_r"], never),
            "representation": (J["comp_r"] & ~J["norep_r"], ~J["comp_r"]),
            "declined": (declined, never),
        }
        outcome_cols = {o: _bool_col(v, na) for o, (v, na) in self.outcome_arrays.items()}
        cohort = np.where(J["cohort"] == 1, "alcohol", "drug")
        period = np.select([J["period"] == 0, J["period"] == 1], ["pre", "post"], "outside")
        return pd.DataFrame(
            {
                "true_journey_id": _str(_ids("J", np.arange(1, n + 1), 8)),
                "true_person_id": self._person_ids(J["pid"]),
                "cohort": _str(cohort),
                "pilot": _bool_col(J["treated"]),
                "period": _str(period),
                "adult": _bool_col(J["adult"]),
                "in_study": _bool_col(J["adult"] & (J["period"] >= 0) & (J["group"] < 2)),
                "area_code": _codes(self.area_code, J["area"]),
                "sub_area": _codes(
                    ("", "west_kent", "east_kent"),
                    np.where(self.unit_sub[J["unit"]] == 0, -1, self.unit_sub[J["unit"]]),
                ),
                "start_date": _date_col(J["start"]),
                "end_date": _date_col(J["D"]),
                "discharge_reason": _int_col(J["reason"], J["reason"] < 0),
                "n_episodes": _int_col(J["n_ep"]),
                "age": _int_col(J["age"]),
                "age_group": _codes(AGE_GROUPS, J["agegrp"]),
                "female": _bool_col(J["female"]),
                "substance_group": _codes(GROUPS, J["grp"]),
                "injecting": _codes(INJ, J["inj"]),
                "previously_treated": _bool_col(J["prev"]),
                "referral_source": _codes(REF, J["ref"]),
                "accommodation_need": _bool_col(J["accom"]),
                "baseline_days_primary": _int_col(J["days"]),
                "baseline_quality_of_life": _int_col(J["qol"]),
                "baseline_psych_health": _int_col(J["psych"]),
                "baseline_phys_health": _int_col(J["phys"]),
                "has_start_top": _bool_col(J["has_start_top"]),
                "has_review_top": _bool_col(J["has_review_top"]),
                **outcome_cols,
            }
        )

    def _effects(self, n_truth: int, deaths: dict, offences: dict, n_rows: dict) -> dict:
        J = self.J
        realised: dict = {}
        counts: dict = {}
        ins = J["adult"] & (J["period"] >= 0) & (J["group"] < 2)
        for ci, cohort in enumerate(("drug", "alcohol")):
            realised[cohort] = {}
            cells = {
                f"{gname}_{per}": ins & (J["cohort"] == ci) & (J["treated"] == g) & (J["period"] == pi)
                for g, gname in ((True, "pilot"), (False, "other"))
                for pi, per in ((0, "pre"), (1, "post"))
            }
            for o, (value, na) in self.outcome_arrays.items():
                cell: dict = {}
                for key, m in cells.items():
                    v = value[m & ~na]
                    cell[key] = {"n": len(v), "rate": round(float(v.mean()), 6) if len(v) else None}
                r = {k: cell[k]["rate"] for k in cell}
                if all(x is not None and 0 < x < 1 for x in r.values()):
                    odds = {k: x / (1 - x) for k, x in r.items()}
                    cell["raw_did_or"] = round(
                        odds["pilot_post"] / odds["pilot_pre"] / (odds["other_post"] / odds["other_pre"]), 6
                    )
                realised[cohort][o] = cell
            counts[cohort] = {k: int(m.sum()) for k, m in cells.items()}
        t = self.targets
        targets = {
            cohort: {
                f"{g}_{per}": int(t[ci, gi, pi])
                for g, gi in (("pilot", 1), ("other", 0))
                for per, pi in (("pre", 0), ("post", 1))
            }
            for ci, cohort in enumerate(("drug", "alcohol"))
        }
        did = {cohort: dataclasses.asdict(getattr(self.p.effects, cohort)) for cohort in ("drug", "alcohol")}
        return {
            "did_or": did,
            "calibration": self.calibration,
            "realised": realised,
            "counts": {"targets": targets, "realised": counts, "journeys_total": n_truth},
            "registers": {
                "deaths_client": deaths["n_client"],
                "deaths_unrelated": deaths["n_unrelated"],
                "offences_client": offences["n_client"],
                "offences_unrelated": offences["n_unrelated"],
                "offenders_client": offences["n_client_offenders"],
                "offenders_unrelated": offences["n_unrelated_offenders"],
            },
            "rows": n_rows,
            "persons": int(self.P.n),
            "representations_dropped": int(self.n_dropped),
            "representations_dropped_forced": int(self.n_forced),
            "clipped_probabilities": dict(sorted(self.clipped.items())),
            "model": {
                "coefficients": {
                    o: {k: list(v) if isinstance(v, tuple) else v for k, v in c.items()}
                    for o, c in _COEF.items()
                },
                "levels": {
                    "age_group": AGE_GROUPS,
                    "substance_group": GROUPS,
                    "injecting": INJ,
                    "referral_source": REF,
                },
                "centring": {"baseline_days_primary": 14, "scores": 10},
                "area_sd": self.p.process.area_sd,
            },
            "params": self.p.to_dict(),
        }

    # ----------------------------------------------------------------- driver
    def run(self) -> SyntheticExtract:
        with _stage("simulate journeys"):
            self._areas()
            self._calendar()
            self._init_model()
            self._calibrate_loop_outcomes()
            self._refine_calibration()
            self._simulate()
            self._finish_journeys()
        with _stage("episodes and TOP"):
            self._episodes()
            self._top_schedule()
            self._late_outcomes()
            self._episode_order()
            top = self._tops()
            del self.T
        with _stage("registers"):
            self._names()
            deaths = self._deaths()
            offences = self._offences()
        with _stage("episode table"):
            episodes = self._episode_table(self._ndtms_identifiers())
            ep_truth = pd.DataFrame(
                {
                    "episode_id": episodes["episode_id"],
                    "true_person_id": self._person_ids(self.E["pid"][self.ep_order]),
                    "true_journey_id": _str(_ids("J", self.E["j"][self.ep_order] + 1, 8)),
                }
            )
            del self.E, self.ep_order, self.ep_rank, self.ep_ids
        tables = {
            "areas": self._areas_table(),
            "ndtms_episodes": episodes,
            "ndtms_top": top,
            "ons_deaths": deaths.pop("table"),
            "pnc_offences": offences.pop("table"),
        }
        for name, df in tables.items():
            expected = TABLES[name].column_names
            if list(df.columns) != expected:  # pragma: no cover - guards the contract
                raise AssertionError(f"{name}: columns {list(df.columns)} != contract {expected}")
        with _stage("truth"):
            journeys = self._truth_journeys(deaths)
            truth = {
                "episode_person": ep_truth,
                "death_person": deaths.pop("truth"),
                "offence_person": offences.pop("truth"),
                "journeys": journeys,
            }
            n_rows = {name: len(df) for name, df in tables.items()}
            effects = self._effects(len(journeys), deaths, offences, n_rows)
        del self.J
        return SyntheticExtract(tables=tables, truth=truth, effects=effects)
