"""The registers linked to NDTMS persons: which extract table, which identifiers, which fields.

Read by the workflow (one link job per register), the linkage, its quality assessment, the
bench and the tests. A register's outcomes name it in :mod:`pbr.registry.outcomes`.
"""

from __future__ import annotations

#: name -> spec: ``table`` (the validated extract), ``id`` (one row's identifier), ``unit``
#: (what links to a person: a death, or a PNC identity holding many offences), ``group``
#: (the column grouping rows into one unit, or None), ``keep`` (the fields the link table
#: carries to the outcomes), ``event`` (the event date a person must be alive before, or None),
#: ``registered`` (the date the register recorded the event, when it lags the event date: a death
#: is registered after it occurs, often months later when a coroner holds an inquest; or None).
REGISTERS: dict[str, dict] = {
    "deaths": {
        "table": "ons_deaths",
        "id": "death_id",
        "unit": "death_id",
        "group": None,
        "keep": ["death_id", "date_of_death", "date_of_registration", "underlying_cause"],
        "event": "date_of_death",
        "registered": "date_of_registration",
    },
    "offences": {
        "table": "pnc_offences",
        "id": "offence_id",
        "unit": "pnc_id",
        "group": "pnc_id",
        "keep": ["offence_id", "offence_date", "offence_group"],
        "event": None,
        "registered": None,
    },
}


def linked_columns(spec: dict) -> list[str]:
    """The register columns a link table is built from: the record's id, its unit and the carried
    fields (``keep``), never the identifiers (names, date of birth), which the link records hold."""
    return list(dict.fromkeys([spec["id"], spec["unit"], *spec["keep"]]))


#: register -> the synthetic truth table that says which person each record belongs to
TRUTH_TABLES = {"deaths": "death_person", "offences": "offence_person"}

#: Negative controls of the linkage (issue #21): per-journey indicators the scheme should not move
#: unless the linkage itself changed (e.g. pilots recording attributors more carefully after April
#: 2012). name -> ``register``, ``label`` (what is 1), ``among`` (the denominator) and, for one
#: dated by the register's records, ``date`` (the link table's date column). Their DiD is
#: fitted as an outcome's (rule fit_linkage_negative_control, :mod:`pbr.link.indicators`) and the
#: report flags one that differs from no change.
NEGATIVE_CONTROLS: dict[str, dict[str, str]] = {
    "grey_deaths": {
        "register": "deaths",
        "label": "the death link's probability in the grey zone (0.2 to 0.9)",
        "among": "journeys whose person links to a death",
    },
    "grey_offences": {
        "register": "offences",
        "label": "the offender link's probability in the grey zone (0.2 to 0.9)",
        "among": "journeys whose person links to a PNC identity",
    },
    "prior_offence": {
        "register": "offences",
        "label": "a linked offence dated in the 365 days before the journey starts",
        "among": "all journeys",
        "date": "offence_date",
    },
}

#: the specification of a negative control's fit rows: this prefix and the control's name
NEGATIVE_CONTROL_PREFIX = "negative_control_"


def negative_control_spec(name: str) -> str:
    """The specification of negative control ``name``'s fit rows ('negative_control_prior_offence')."""
    return NEGATIVE_CONTROL_PREFIX + name
