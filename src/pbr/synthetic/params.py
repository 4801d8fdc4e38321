"""The generator's settings: the *Params dataclasses, reading them from the config, their checks."""

from __future__ import annotations

import dataclasses
import datetime as _dt
import typing
from dataclasses import dataclass, field

import numpy as np

from pbr.registry.published import PUBLISHED_ALCOHOL_JOURNEYS, PUBLISHED_JOURNEYS

#: Outcomes with a planted DiD odds ratio and a calibrated baseline, in model order.
OUTCOMES = (
    "treatment_initiation",
    "waiting_over_3_weeks",
    "successful_completion",
    "completion_without_representation",
    "abstinence",
    "non_injecting",
    "housing_problem",
    "drug_related_death",
    "acquisitive_crime",
)
#: Outcomes with a planted DiD odds ratio but no calibrated baseline (the month loop's own rates):
#: planted after the journeys are drawn (pbr.synthetic.discharges), other outcomes' data unchanged.
DISCHARGE_OUTCOMES = ("retention", "unplanned_discharge")
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
    drug_pre_pilot: int = PUBLISHED_JOURNEYS[("drug", "pilot", "pre")]
    #: drug journeys, pre window, other areas
    drug_pre_other: int = PUBLISHED_JOURNEYS[("drug", "other", "pre")]
    #: drug journeys, post window, pilot areas
    drug_post_pilot: int = PUBLISHED_JOURNEYS[("drug", "pilot", "post")]
    #: drug journeys, post window, other areas
    drug_post_other: int = PUBLISHED_JOURNEYS[("drug", "other", "post")]
    #: alcohol journeys, pre window, all areas (final report)
    alcohol_pre: int = PUBLISHED_ALCOHOL_JOURNEYS["pre"]
    #: alcohol journeys, post window, all areas
    alcohol_post: int = PUBLISHED_ALCOHOL_JOURNEYS["post"]
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
    treatment_initiation: float = 1.0
    #: more than 21 days from referral to first intervention (among starters)
    waiting_over_3_weeks: float = 1.0
    #: successful completion within 12 months
    successful_completion: float = 1.0
    #: completion without re-presentation within 6 months
    completion_without_representation: float = 1.0
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
    #: still in treatment 84 days after the first intervention, among starters (raw DiD OR of the
    #: study journeys; a placeholder: the final report gave a direction, longer retention, no number)
    retention: float = 1.0
    #: discharge code 85 or 86 among starters discharged within 365 days (raw DiD OR; a placeholder:
    #: the final report gave a direction, more unplanned discharges, no number)
    unplanned_discharge: float = 1.0


def _drug_effects() -> CohortEffects:
    # issue #23: one world for Mason 2015 (first post year) and Jones 2018 (two post years), chosen
    # with bench/bench_calibration.py (docs/synthetic.md, "One synthetic world"); the first post
    # year's ORs where effects_second_year sets the second's
    return CohortEffects(
        treatment_initiation=0.34,
        waiting_over_3_weeks=1.5,
        successful_completion=0.86,
        completion_without_representation=0.90,
        abstinence=1.58,
        non_injecting=1.32,
        retention=1.2,
        unplanned_discharge=1.3,
    )


def _alcohol_effects() -> CohortEffects:
    return CohortEffects(
        successful_completion=0.80,
        completion_without_representation=0.80,
        retention=1.2,
        unplanned_discharge=1.3,
    )


@dataclass(frozen=True)
class EffectsParams:
    """Planted DiD odds ratios per cohort (defaults, drug clients: Mason 2015's first-year ORs and,
    with ``effects_second_year``, Jones 2018's two-year ones; docs/synthetic.md, "One synthetic
    world"): over the whole post period, or over its first year for an outcome that
    ``effects_second_year`` sets."""

    #: drug cohort (first episode's primary substance is not alcohol)
    drug: CohortEffects = field(default_factory=_drug_effects)
    #: alcohol cohort
    alcohol: CohortEffects = field(default_factory=_alcohol_effects)


@dataclass(frozen=True)
class CohortSecondYearEffects:
    """Planted DiD odds ratios of one cohort in the second post year (journeys referred from
    ``dates.post_start`` + 12 months, FY2013-14 by default); null (the default): the cohort's OR
    in ``effects``, the same in both years."""

    treatment_initiation: float | None = None
    waiting_over_3_weeks: float | None = None
    successful_completion: float | None = None
    completion_without_representation: float | None = None
    abstinence: float | None = None
    non_injecting: float | None = None
    housing_problem: float | None = None
    drug_related_death: float | None = None
    acquisitive_crime: float | None = None


def _drug_second_year() -> CohortSecondYearEffects:
    # issue #23: initiation and completion fall further in the second post year, so that the first
    # year gives Mason 2015's ORs and the two years together Jones 2018's
    return CohortSecondYearEffects(
        treatment_initiation=0.12,
        successful_completion=0.35,
        completion_without_representation=0.85,
    )


@dataclass(frozen=True)
class SecondYearEffectsParams:
    """Planted DiD odds ratios in the second post year per cohort (null: the cohort's OR in
    ``effects``, constant over the post period). With a value set, ``effects`` holds the first post
    year's OR. Defaults: drug initiation, completion and completion without re-presentation
    (issue #23); every other one null."""

    #: drug cohort
    drug: CohortSecondYearEffects = field(default_factory=_drug_second_year)
    #: alcohol cohort
    alcohol: CohortSecondYearEffects = field(default_factory=CohortSecondYearEffects)

    def odds_ratio(self, first_year: EffectsParams, cohort: str, outcome: str) -> float:
        """The second post year's OR of ``cohort`` x ``outcome``: its own value, or the first year's."""
        value = getattr(getattr(self, cohort), outcome)
        return float(getattr(getattr(first_year, cohort), outcome)) if value is None else float(value)

    def resolved(self, first_year: EffectsParams) -> dict[str, dict[str, float]]:
        """Every cohort x outcome's second-year OR, nulls resolved to the first year's."""
        return {c: {o: self.odds_ratio(first_year, c, o) for o in OUTCOMES} for c in ("drug", "alcohol")}


@dataclass(frozen=True)
class CellRates:
    """Calibration targets (raw rates among adult journeys in the windows)."""

    #: rate in the pilot areas, pre window
    pilot_pre: float = 0.5
    #: rate in the other areas, pre window
    other_pre: float = 0.5
    #: rate in the other areas, post window (the pilot post rate follows from the planted OR)
    other_post: float = 0.5


def _cell_rates(a: float, b: float, c: float) -> CellRates:
    return CellRates(a, b, c)


@dataclass(frozen=True)
class CohortRates:
    """Calibration targets for one cohort, per outcome (the outcomes of :class:`CohortEffects`)."""

    #: drug: 0.99, so that Mason 2015's declined-to-continue rate (code 88, about half the journeys
    #: not started) is near 0.5% and rises by about 0.9 points at its OR of 2.9 (issue #23)
    treatment_initiation: CellRates = field(default_factory=lambda: _cell_rates(0.99, 0.99, 0.99))
    waiting_over_3_weeks: CellRates = field(default_factory=lambda: _cell_rates(0.07, 0.07, 0.065))
    successful_completion: CellRates = field(default_factory=lambda: _cell_rates(0.34, 0.27, 0.29))
    completion_without_representation: CellRates = field(
        default_factory=lambda: _cell_rates(0.30, 0.235, 0.255)
    )
    abstinence: CellRates = field(default_factory=lambda: _cell_rates(0.22, 0.23, 0.22))
    non_injecting: CellRates = field(default_factory=lambda: _cell_rates(0.45, 0.45, 0.45))
    housing_problem: CellRates = field(default_factory=lambda: _cell_rates(0.08, 0.08, 0.08))
    drug_related_death: CellRates = field(default_factory=lambda: _cell_rates(0.006, 0.006, 0.006))
    acquisitive_crime: CellRates = field(default_factory=lambda: _cell_rates(0.22, 0.22, 0.21))


def _alcohol_rates() -> CohortRates:
    return CohortRates(
        treatment_initiation=_cell_rates(0.96, 0.96, 0.96),
        waiting_over_3_weeks=_cell_rates(0.07, 0.07, 0.065),
        successful_completion=_cell_rates(0.62, 0.60, 0.61),
        completion_without_representation=_cell_rates(0.55, 0.53, 0.54),
        abstinence=_cell_rates(0.30, 0.30, 0.31),
        non_injecting=_cell_rates(0.50, 0.50, 0.50),
        housing_problem=_cell_rates(0.04, 0.04, 0.04),
        drug_related_death=_cell_rates(0.001, 0.001, 0.001),
        acquisitive_crime=_cell_rates(0.05, 0.05, 0.05),
    )


@dataclass(frozen=True)
class RatesParams:
    """Baseline calibration targets per cohort (drug: the University's published raw rates)."""

    drug: CohortRates = field(default_factory=CohortRates)
    alcohol: CohortRates = field(default_factory=_alcohol_rates)


@dataclass(frozen=True)
class CaseMixShift:
    """How the case mix of the pilot areas' post-period journeys differs from the rest: each field
    0 (the generator's own mix, the extract byte for byte as without the setting) or a shift
    towards a worse prognosis for successful completion, drawn from its own random stream
    (``Streams.case_mix``). Applies to the journeys carrying the planted effect (pilot areas,
    referred from ``dates.post_start``), adults and under 18s, new clients and re-presentations;
    docs/synthetic.md, "Case mix shift"."""

    #: share of the cell's journeys not referred by criminal justice that are referred by it instead
    #: (its share rises by this times the share not so referred)
    criminal_justice_referral: float = 0.0
    #: share of the cell's journeys not previously treated that are recorded as previously treated
    previously_treated: float = 0.0
    #: points added to the mean of the start quality-of-life score (0-20; negative: worse); the
    #: psychological and physical health scores, drawn around the same mean, move with it
    quality_of_life: float = 0.0

    def is_null(self) -> bool:
        """No shift at all."""
        return all(getattr(self, f.name) == 0 for f in dataclasses.fields(self))


def _pilot_post_case_mix() -> CaseMixShift:
    # issue #23: adjusting for the case mix moves Jones 2018's completion OR from the press
    # release's unadjusted 0.555 to 0.60 (and abstinence's from 1.389 to 1.50): the pilot areas'
    # post-period clients had a worse prognosis (docs/synthetic.md, "One synthetic world")
    return CaseMixShift(criminal_justice_referral=0.25, previously_treated=0.5)


@dataclass(frozen=True)
class CaseMixParams:
    """Case mix shifts by cell; only the pilot areas' post period (the cell the scheme could
    change, through referral and recording) has one."""

    #: the pilot areas' journeys referred from ``dates.post_start``
    pilot_post: CaseMixShift = field(default_factory=_pilot_post_case_mix)


#: the NDTMS attributor error rates that ``CellNoise.ndtms`` multiplies
NDTMS_ERROR_RATES = ("ndtms_dob_error", "ndtms_initial_error", "ndtms_initials_missing", "ndtms_sex_missing")
#: the group x period cells of :class:`DifferentialNoise`, in index order ``2 * pilot + post``
DIFFERENTIAL_CELLS = ("other_pre", "other_post", "pilot_pre", "pilot_post")


@dataclass(frozen=True)
class CellNoise:
    """Multipliers of identifier error rates in one group x period cell (1: the base rate)."""

    #: multiplies the four NDTMS attributor error rates of the cell's (agency, client) records
    ndtms: float = 1.0
    #: multiplies register_area_move for the register copies of the cell's clients
    register_area_move: float = 1.0


@dataclass(frozen=True)
class DifferentialNoise:
    """Differential linkage error: error-rate multipliers per group (pilot, other) x period (pre:
    before ``dates.post_start``, post: from it). All 1 (the default): none. An NDTMS record's cell
    is its agency's unit and its first referral; a register copy's, the client's last journey."""

    pilot_pre: CellNoise = field(default_factory=CellNoise)
    pilot_post: CellNoise = field(default_factory=CellNoise)
    other_pre: CellNoise = field(default_factory=CellNoise)
    other_post: CellNoise = field(default_factory=CellNoise)

    def multipliers(self, rate: str, pilot: np.ndarray, post: np.ndarray) -> np.ndarray:
        """Each element's multiplier of ``rate`` (a :class:`CellNoise` field) by its cell."""
        per_cell = np.array([getattr(getattr(self, c), rate) for c in DIFFERENTIAL_CELLS])
        return per_cell[2 * np.asarray(pilot, dtype=np.int64) + np.asarray(post, dtype=np.int64)]


@dataclass(frozen=True)
class NoiseParams:
    """Identifier errors. Register rates apply to clients' register copies (ONS, PNC)."""

    #: share of register copies with a wrong date of birth (day +-1, year +-1, day/month swapped)
    register_dob_error: float = 0.05
    #: share of register copies with a name typo or forename/surname swapped
    register_name_error: float = 0.02
    #: share of register copies recorded in a different area
    register_area_move: float = 0.10
    #: share of those moves that stay within the home area's region (0: any area, by population,
    #: the rule before issue #21); the rest go to any area. 0.6 follows the census: docs/synthetic.md
    register_area_move_same_region: float = 0.6
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
    #: multipliers of the NDTMS error rates and of register_area_move per group x period
    #: (all 1: no differential error); docs/synthetic.md, "Differential linkage error"
    differential: DifferentialNoise = field(default_factory=DifferentialNoise)


@dataclass(frozen=True)
class RegistersParams:
    """Sizes of the unrelated populations in the registers."""

    #: unrelated deaths per client death in the ONS extract (>= 5 keeps linkage honest)
    deaths_unrelated_ratio: float = 5.0
    #: unrelated offence records per client offence record in the PNC extract
    offences_unrelated_ratio: float = 5.0
    #: multiplies both unrelated populations (the two ratios above), so that the registers grow
    #: apart from the cohort (``scale``); 1 (the default): the extract as without the setting
    size_multiplier: float = 1.0
    #: share of unrelated deaths among the elderly (born 1915-1950); the rest share the clients' birth years
    deaths_elderly_share: float = 0.3
    #: client background proven offences per person-year, opiate or crack users (others scaled down)
    offending_rate: float = 0.25
    #: the ONS extract's registration cut-off (ISO date): deaths registered after it are not in
    #: ons_deaths, as in a real extract; '' (the default): every death drawn is in it
    deaths_registered_by: str = ""

    def deaths_ratio(self) -> float:
        """Unrelated deaths per client death: ``deaths_unrelated_ratio`` x ``size_multiplier``."""
        return self.deaths_unrelated_ratio * self.size_multiplier

    def offences_ratio(self) -> float:
        """Unrelated offence records per client one: ``offences_unrelated_ratio`` x ``size_multiplier``."""
        return self.offences_unrelated_ratio * self.size_multiplier


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
    effects_second_year: SecondYearEffectsParams = field(default_factory=SecondYearEffectsParams)
    rates: RatesParams = field(default_factory=RatesParams)
    case_mix: CaseMixParams = field(default_factory=CaseMixParams)
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
        elif kind == float | None:
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"{where} must be a number or null, got {value!r}")
            kwargs[key] = None if value is None else float(value)
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
            second = getattr(getattr(p.effects_second_year, cohort), o)
            if second is not None and not second > 0:
                raise ValueError(f"effects_second_year.{cohort}.{o} must be > 0 or null")
            cell = getattr(rates, o)
            for k in ("pilot_pre", "other_pre", "other_post"):
                if not 0 < getattr(cell, k) < 1:
                    raise ValueError(f"rates.{cohort}.{o}.{k} must be in (0, 1)")
        for o in DISCHARGE_OUTCOMES:
            if not getattr(eff, o) > 0:
                raise ValueError(f"effects.{cohort}.{o} must be > 0")
    for section in (p.noise, p.process):
        for f in dataclasses.fields(section):
            v = getattr(section, f.name)
            if f.name == "differential":
                continue
            if f.name in ("area_sd", "max_reviews"):
                if v < 0:
                    raise ValueError(f"{f.name} must be >= 0")
            elif not 0 <= v <= 1:
                raise ValueError(f"{f.name} must be in [0, 1], got {v}")
    r = p.registers
    if r.deaths_unrelated_ratio < 0 or r.offences_unrelated_ratio < 0 or r.offending_rate < 0:
        raise ValueError("registers ratios and rates must be >= 0")
    if not r.size_multiplier > 0:
        raise ValueError(f"registers.size_multiplier must be > 0, got {r.size_multiplier}")
    if not 0 <= r.deaths_elderly_share <= 1:
        raise ValueError("registers.deaths_elderly_share must be in [0, 1]")
    if r.deaths_registered_by:
        try:
            np.datetime64(r.deaths_registered_by, "D")
        except ValueError:
            raise ValueError(
                f"registers.deaths_registered_by must be an ISO date (YYYY-MM-DD) or '', "
                f"got {r.deaths_registered_by!r}"
            ) from None
    _check_differential(p.noise)
    shift = p.case_mix.pilot_post
    for name in ("criminal_justice_referral", "previously_treated"):
        if not 0 <= getattr(shift, name) <= 1:
            raise ValueError(f"case_mix.pilot_post.{name} must be in [0, 1], got {getattr(shift, name)}")
    if not -20 <= shift.quality_of_life <= 20:
        raise ValueError(
            f"case_mix.pilot_post.quality_of_life must be in [-20, 20], got {shift.quality_of_life}"
        )


def _check_differential(noise: NoiseParams) -> None:
    """Every multiplier >= 0, and no multiplied rate above 1."""
    rates = {"ndtms": NDTMS_ERROR_RATES, "register_area_move": ("register_area_move",)}
    for cell in DIFFERENTIAL_CELLS:
        for name, bases in rates.items():
            where = f"noise.differential.{cell}.{name}"
            v = getattr(getattr(noise.differential, cell), name)
            if not v >= 0:
                raise ValueError(f"{where} must be >= 0, got {v}")
            for base in bases:
                if getattr(noise, base) * v > 1:
                    raise ValueError(f"{where} x noise.{base} must be <= 1, got {v} x {getattr(noise, base)}")
