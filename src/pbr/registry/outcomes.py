"""The outcomes of the study: one entry each, the only place an outcome is named.

An entry gives the outcome's ``name`` (its column in the analysis table and its key in the
config), its ``label`` in the report, its ``denominator`` in words, its ``definition`` (a
function of the config's ``outcomes:`` section giving the text the report prints), the
``inputs`` its derivation reads, the config section (``settings``) whose keys are passed
to it as keyword arguments, whether it is ``decided_at_start`` (:func:`start_decided_outcomes`)
and its ``window`` (:func:`window_days`: the last day after the
journey start its value can depend on; the timing sensitivity of :mod:`pbr.fit.robustness`
drops or avoids journeys whose window crosses the pilots' start). Its derivation is the function of the same name in
:mod:`pbr.derive.outcomes`, called as ``fn(*inputs, **settings)``; the inputs are:

- ``journeys``: the study journeys (with the baseline covariates and the outcomes derived
  before this one, in registry order);
- ``start_top`` / ``review_top``: each journey's start and review TOP interviews;
- ``gap``: days from each journey's end to the person's next journey start;
- ``deaths`` / ``offences``: the register's link table at the linkage threshold in use
  (an outcome that reads a register is *linked*: it is derived again at each sensitivity
  threshold, and fitted at each by ``fit_linkage_sensitivity``);
- the name of an outcome derived before it (its 0/1 column).

A linked outcome whose register records the event late (``registered`` in
:data:`pbr.registry.registers.REGISTERS`: deaths are registered after they occur) may carry
:data:`REGISTRATION_SETTING` in its config section: it is then derived again counting only
the register records registered within that many days of the event, as the column
``<outcome>`` + :func:`registration_suffix`, and fitted beside the linkage-threshold variants
as specification :func:`registration_spec` (the late-registration sensitivity).

The config's schema takes its list of valid outcome names from here; the report its labels
and definitions; the workflow the linked outcomes. Adding an outcome: an entry here, its
function in :mod:`pbr.derive.outcomes`, its test (docs/adding-an-outcome.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pbr.registry.registers import REGISTERS


@dataclass(frozen=True)
class Outcome:
    """One outcome (see the module docstring)."""

    name: str
    label: str
    denominator: str
    definition: Callable[[Mapping], str]
    inputs: tuple[str, ...] = ("journeys",)
    settings: str | None = None  # the config section under outcomes: passed as keywords (None: none)
    window: Callable[[Mapping], int] | None = (
        None  # days after the start the value can depend on (window_days)
    )
    decided_at_start: bool = False  # decided at or before treatment starts (start_decided_outcomes)

    @property
    def register(self) -> str | None:
        """The register the outcome is linked to, or None."""
        return next((i for i in self.inputs if i in REGISTERS), None)


def _codes(codes: list) -> str:
    return ", ".join(map(str, codes))


def _tops(o: Mapping) -> str:
    t = o["top"]
    return (
        f"start TOP on days 0–{t['start_max_days']}, review TOP on days {t['review_min_days']}–"
        f"{t['review_max_days']} closest to day {t['review_target_days']}"
    )


def _representation_window(o: Mapping) -> int:
    """Completion within its window, then a new journey within the re-presentation window of discharge."""
    return int(o["successful_completion"]["window_days"]) + int(o["representation"]["window_days"])


def _review_window(o: Mapping) -> int:
    """The review TOP is read up to its last admissible day."""
    return int(o["top"]["review_max_days"])


OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "treatment_initiation",
        "Treatment initiation",
        "journeys with a triage",
        lambda o: (
            "Among journeys with a triage: a structured intervention started within "
            f"{o['treatment_initiation']['max_days']} days of triage."
        ),
        settings="treatment_initiation",
        window=lambda o: o["treatment_initiation"]["max_days"],
        decided_at_start=True,
    ),
    Outcome(
        "waiting_over_3_weeks",
        "Waiting time over 3 weeks",
        "journeys in which an intervention started",
        lambda o: (
            "Among journeys in which an intervention started: more than "
            f"{o['waiting_over_3_weeks']['threshold_days']} days from referral to the first intervention."
        ),
        settings="waiting_over_3_weeks",
        window=lambda o: o["treatment_initiation"]["max_days"],
        decided_at_start=True,
    ),
    Outcome(
        "successful_completion",
        "Successful completion (12 months)",
        "all journeys",
        lambda o: (
            f"The journey ends with discharge code {_codes(o['successful_completion']['discharge_codes'])} "
            f"on days 0–{o['successful_completion']['window_days']}."
        ),
        settings="successful_completion",
        window=lambda o: o["successful_completion"]["window_days"],
    ),
    Outcome(
        "completion_without_representation",
        "Completion without re-presentation",
        "all journeys",
        lambda o: (
            f"Successfully completed and no new journey within {o['representation']['window_days']} days of "
            "discharge."
        ),
        inputs=("successful_completion", "gap"),
        settings="representation",
        window=_representation_window,
    ),
    Outcome(
        "representation",
        "Re-presentation",
        "completers",
        lambda o: (
            f"Among completers: a new journey within {o['representation']['window_days']} days of discharge."
        ),
        inputs=("successful_completion", "gap"),
        settings="representation",
        window=_representation_window,
    ),
    Outcome(
        "abstinence",
        "Abstinence at review",
        "journeys with a start TOP and a review TOP recording the substances",
        lambda o: (
            f"Among journeys with a start TOP and a review TOP ({_tops(o)}): zero days of use of every "
            "problem substance in the 28 days before the review."
        ),
        inputs=("journeys", "start_top", "review_top"),
        window=_review_window,
    ),
    Outcome(
        "non_injecting",
        "Non-injecting at review",
        "journeys injecting at the start TOP, with a review TOP",
        lambda o: (
            "Among journeys injecting at the start TOP, with a review TOP: zero days injected at review."
        ),
        inputs=("journeys", "start_top", "review_top"),
        window=_review_window,
    ),
    Outcome(
        "housing_problem",
        "Housing problem at review",
        "journeys with a review TOP recording it (and a start TOP, unless requires_start_top is false)",
        lambda o: (
            "An acute housing problem at the review TOP, among journeys with "
            + (
                "start and review TOPs recording it"
                if o["housing_problem"].get("requires_start_top", True)
                or o["housing_problem"]["among_start_problem"]
                else "a review TOP recording it (a start TOP not required)"
            )
            + (" and a problem at the start." if o["housing_problem"]["among_start_problem"] else ".")
        ),
        inputs=("journeys", "start_top", "review_top"),
        settings="housing_problem",
        window=_review_window,
    ),
    Outcome(
        "drug_related_death",
        "Drug-related death (12 months)",
        "all journeys",
        lambda o: (
            f"A linked ONS death with underlying cause "
            f"{', '.join(o['drug_related_death']['icd10_prefixes'])} dated (by date of death) on days "
            f"0–{o['drug_related_death']['window_days']} after the journey start."
        ),
        inputs=("journeys", "deaths"),
        settings="drug_related_death",
        window=lambda o: o["drug_related_death"]["window_days"],
    ),
    Outcome(
        "acquisitive_crime",
        "Acquisitive offence (12 months)",
        "all journeys",
        lambda o: (
            f"A linked proven offence in {', '.join(o['acquisitive_crime']['offence_groups'])} "
            f"dated (by offence date) on days 0–{o['acquisitive_crime']['window_days']}."
        ),
        inputs=("journeys", "offences"),
        settings="acquisitive_crime",
        window=lambda o: o["acquisitive_crime"]["window_days"],
    ),
    Outcome(
        "declined_to_continue",
        "Declined to continue (Mason 2015)",
        "all journeys",
        lambda o: (
            f"The journey ends with discharge code {_codes(o['declined_to_continue']['discharge_codes'])} "
            f"within {o['declined_to_continue']['window_days']} days (Mason 2015)."
        ),
        settings="declined_to_continue",
        window=lambda o: o["declined_to_continue"]["window_days"],
        decided_at_start=True,
    ),
    Outcome(
        "retention",
        "Retention (12 weeks)",
        "journeys in which an intervention started",
        lambda o: (
            "Among journeys in which an intervention started: still in treatment "
            f"{o['retention']['min_days']} days after the first intervention (no discharge before then; "
            "a death counts as a discharge). Measured from the first intervention, not triage: "
            "retention is time in treatment, and every starter has that date. Binary at a day count, as "
            "the final report's 'longer retention' is read here; a linear model for days retained is not "
            "built (open journeys have no length yet)."
        ),
        settings="retention",
        window=lambda o: o["treatment_initiation"]["max_days"] + o["retention"]["min_days"],
    ),
    Outcome(
        "unplanned_discharge",
        "Unplanned discharge",
        "journeys in which an intervention started, discharged within the window",
        lambda o: (
            "Among journeys in which an intervention started and that ended on days "
            f"0–{o['unplanned_discharge']['window_days']}: discharge code "
            f"{_codes(o['unplanned_discharge']['discharge_codes'])} (an unplanned exit: dropped out, "
            "treatment withdrawn by the provider)."
        ),
        settings="unplanned_discharge",
        window=lambda o: o["unplanned_discharge"]["window_days"],
    ),
)


def start_decided_outcomes() -> tuple[str, ...]:
    """The outcomes decided at or before treatment starts (initiation, waiting, declined): the start
    TOP, mostly recorded when an intervention starts, is partly their outcome, so under the config's
    ``models.start_outcome_covariates: before_start`` their DiD omits the start-TOP covariates
    (:func:`pbr.fit.spec.outcome_covariates`)."""
    return tuple(o.name for o in OUTCOMES if o.decided_at_start)


def by_name() -> dict[str, Outcome]:
    """The registered outcomes by name (read at call time, so an added entry counts)."""
    return {o.name: o for o in OUTCOMES}


def names() -> tuple[str, ...]:
    """The registered outcome names, in registry order."""
    return tuple(o.name for o in OUTCOMES)


def linked_outcomes() -> tuple[str, ...]:
    """The outcomes that read a linked register (derived and fitted at each linkage threshold)."""
    return tuple(o.name for o in OUTCOMES if o.register)


def register_outcome(register: str) -> str:
    """The first registered outcome linked to ``register`` (the row a negative control of that
    register's linkage is reported under)."""
    for o in OUTCOMES:
        if o.register == register:
            return o.name
    raise ValueError(f"no registered outcome reads the register {register!r}")


def label(name: str) -> str:
    """The report's label of an outcome (the name in words for one not registered)."""
    entry = by_name().get(name)
    return entry.label if entry else name.replace("_", " ")


def definitions(outcome_settings: Mapping) -> dict[str, str]:
    """Each outcome's definition in words, from the config's ``outcomes:`` section."""
    return {o.name: o.definition(outcome_settings) for o in OUTCOMES}


def window_days(name: str, outcome_settings: Mapping) -> int:
    """The last day after the journey start (day 0) on which the outcome's value can depend, from
    the config's ``outcomes:`` section: a journey starting d days before a date D has an outcome
    read partly on or after D when d <= this window. Per outcome:

    - successful completion, declined to continue, drug-related death, acquisitive crime: their
      ``window_days`` (the discharge, death or offence is dated on days 0..window_days);
    - completion without re-presentation and re-presentation: the completion window plus the
      re-presentation window (a new journey within ``representation.window_days`` of a discharge
      on day <= ``successful_completion.window_days``);
    - abstinence, non-injecting, housing problem: ``top.review_max_days`` (the review TOP's last day);
    - treatment initiation: ``treatment_initiation.max_days`` (an intervention within that many days
      of triage; triage is taken to be at referral, so a late triage extends the window by its delay);
    - waiting over 3 weeks: the same (its flag is read by day ``threshold_days``; its denominator,
      an intervention started, is taken as read within the initiation window: an approximation);
    - retention: the initiation window plus ``retention.min_days`` (counted from the first
      intervention, itself within the initiation window, the same approximation);
    - unplanned discharge: its ``window_days`` (a discharge on days 0..window_days).

    ValueError for an outcome not registered or registered without a window.
    """
    entry = by_name().get(name)
    if entry is None or entry.window is None:
        raise ValueError(f"outcome {name!r} has no registered window (registry.outcomes: window=...)")
    return int(entry.window(outcome_settings))


#: The key, in a linked outcome's config section, of its late-registration sensitivity (days; null:
#: none). Not passed to the outcome's function: the main outcome counts every linked record.
REGISTRATION_SETTING = "registered_within_days"
#: The result rows' specification of the late-registration sensitivity starts with this.
REGISTRATION_SPEC_PREFIX = "registered_within_"


def registration_lag(name: str, outcome_settings: Mapping) -> int | None:
    """The days within which a record must be registered in ``name``'s late-registration
    sensitivity, from the config's ``outcomes:`` section; None when the outcome has none (not
    linked, its register has no registration date, or the setting is absent or null)."""
    entry = by_name().get(name)
    if entry is None or entry.register is None or entry.settings is None:
        return None
    if REGISTERS[entry.register].get("registered") is None:
        return None
    days = (outcome_settings.get(entry.settings) or {}).get(REGISTRATION_SETTING)
    return None if days is None else int(days)


def registration_suffix(days: int) -> str:
    """Column suffix of an outcome counting only records registered within ``days``: 365 -> '_reg365'."""
    return f"_reg{int(days)}"


def registration_spec(days: int) -> str:
    """Specification of the late-registration sensitivity fit: 365 -> 'registered_within_365d'."""
    return f"{REGISTRATION_SPEC_PREFIX}{int(days)}d"


def registration_spec_days(spec: str) -> int | None:
    """The days of a late-registration specification ('registered_within_365d' -> 365); None for another."""
    if not (spec.startswith(REGISTRATION_SPEC_PREFIX) and spec.endswith("d")):
        return None
    days = spec.removeprefix(REGISTRATION_SPEC_PREFIX).removesuffix("d")
    return int(days) if days.isdigit() else None
