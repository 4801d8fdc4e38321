"""The input contract: the five tables an extract must provide, column by column.

This module is the single source of truth for the extract format. The synthetic
generator writes it, the reader validates against it, and ``docs/input-contract.md``
is generated from it (``python -m pbr.contract > docs/input-contract.md``), so the
written contract cannot drift from the code that checks it.

Types are logical: ``string``, ``int``, ``float``, ``bool``, ``date`` (ISO 8601
``YYYY-MM-DD`` in CSV; a date or timestamp column in Parquet or SQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

EARLIEST_DATE = date(1880, 1, 1)  # no date in an extract is earlier: an earlier one is a typo (1011 for 2011)

DISCHARGE_REASONS: dict[int, str] = {
    80: "treatment completed, drug-free",
    81: "treatment completed, alcohol-free",
    82: "treatment completed, occasional user (not opiates or crack)",
    83: "transferred, not in custody",
    84: "transferred, in custody",
    85: "dropped out",
    86: "treatment withdrawn by provider",
    87: "retained in custody",
    88: "treatment commencement declined by client",
    89: "client died",
}

SUBSTANCES: dict[str, str] = {
    "heroin": "heroin",
    "methadone": "illicit methadone",
    "other_opiate": "other opiates",
    "crack": "crack cocaine",
    "cocaine": "powder cocaine",
    "amphetamine": "amphetamines",
    "cannabis": "cannabis",
    "benzodiazepine": "benzodiazepines",
    "alcohol": "alcohol",
    "other": "other drug",
}

# problem substance -> the TOP column counting its days of use
SUBSTANCE_TOP_COLUMN: dict[str, str] = {
    "heroin": "days_opiates",
    "methadone": "days_opiates",
    "other_opiate": "days_opiates",
    "crack": "days_crack",
    "cocaine": "days_cocaine",
    "amphetamine": "days_amphetamines",
    "cannabis": "days_cannabis",
    "benzodiazepine": "days_other_drug",
    "alcohol": "days_alcohol",
    "other": "days_other_drug",
}

ROUTES = {"inject": "injected", "sniff": "sniffed", "smoke": "smoked", "oral": "oral", "other": "other"}
INJECTING_STATUS = {
    "current": "currently injecting",
    "previous": "previously injected",
    "never": "never injected",
    "declined": "declined to answer",
}
REFERRAL_SOURCES = {
    "self": "self, family or friends",
    "gp": "GP",
    "criminal_justice": "criminal justice (arrest referral, DIP, probation, prison)",
    "health_social": "other health or social care",
    "other": "other",
}
EMPLOYMENT = {
    "employed": "in paid work",
    "unemployed": "unemployed",
    "other": "economically inactive, student, other",
}
TOP_STAGES = {"start": "treatment start", "review": "review (about every 3 months)", "exit": "treatment exit"}
SEX = {"M": "male", "F": "female"}
DISPOSALS = {"caution": "caution, reprimand or warning", "conviction": "conviction"}

OFFENCE_GROUPS: dict[str, str] = {
    "theft_shoplifting": "theft from shops",
    "theft_other": "other theft",
    "burglary": "burglary",
    "robbery": "robbery",
    "vehicle": "theft of or from a vehicle",
    "fraud_forgery": "fraud and forgery",
    "handling": "handling stolen goods",
    "violence": "violence against the person",
    "drugs_possession": "drug possession",
    "drugs_supply": "drug supply",
    "public_order": "public order",
    "criminal_damage": "criminal damage",
    "motoring": "motoring",
    "other": "other offences",
}


@dataclass(frozen=True)
class Column:
    """One column of a contract table.

    ``codes`` lists the allowed values (None: any value of the type); ``minimum`` and
    ``maximum`` bound numbers; ``nullable`` says whether the column may be empty.
    """

    name: str
    dtype: str
    description: str
    nullable: bool = False
    codes: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    identifier: bool = False


@dataclass(frozen=True)
class Table:
    """One contract table: its columns, primary key and row-level date-order rules."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    date_orders: tuple[tuple[str, str], ...] = field(default=())

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")


def _days(name: str, what: str) -> Column:
    return Column(name, "int", f"days of {what} in the past 28 days", nullable=True, minimum=0, maximum=28)


def _score(name: str, what: str) -> Column:
    return Column(
        name, "int", f"self-rated {what}, 0 (poor) to 20 (good)", nullable=True, minimum=0, maximum=20
    )


AREAS = Table(
    "areas",
    "Area lookup: one row per drug and alcohol commissioning (DAT) area.",
    (
        Column("area_code", "string", "DAT area code, the key used by every other table"),
        Column("area_name", "string", "area name"),
        Column("region", "string", "government office region", nullable=True),
        Column("pilot", "bool", "true for the eight PbR pilot areas"),
        Column(
            "pilot_sub_area",
            "string",
            "where only part of the area piloted PbR (Kent: 'west_kent'), the sub-area that did",
            nullable=True,
        ),
    ),
    key=("area_code",),
)

NDTMS_EPISODES = Table(
    "ndtms_episodes",
    "NDTMS treatment episodes: one row per episode (a client at one agency, referral to discharge).",
    (
        Column("episode_id", "string", "episode identifier, unique"),
        Column(
            "client_id", "string", "client identifier as the agency records it (not unique across agencies)"
        ),
        Column("agency_id", "string", "treatment agency (provider) code"),
        Column("area_code", "string", "DAT area of residence; must be in the area lookup"),
        Column(
            "sub_area",
            "string",
            "sub-area of residence where the area is split (Kent: 'west_kent', 'east_kent')",
            nullable=True,
        ),
        Column(
            "initial_first", "string", "first letter of the first name (A-Z)", nullable=True, identifier=True
        ),
        Column(
            "initial_surname", "string", "first letter of the surname (A-Z)", nullable=True, identifier=True
        ),
        Column("date_of_birth", "date", "date of birth", identifier=True),
        Column("sex", "string", "sex", nullable=True, codes=tuple(SEX)),
        Column("referral_date", "date", "date referred to the agency"),
        Column("triage_date", "date", "date of triage (comprehensive assessment)", nullable=True),
        Column(
            "first_offered_date",
            "date",
            "date the first structured intervention was first offered",
            nullable=True,
        ),
        Column(
            "first_intervention_date", "date", "date the first structured intervention started", nullable=True
        ),
        Column("discharge_date", "date", "date of discharge; empty while the episode is open", nullable=True),
        Column(
            "discharge_reason",
            "int",
            "discharge reason code; empty while open",
            nullable=True,
            codes=tuple(DISCHARGE_REASONS),
        ),
        Column("substance_1", "string", "primary problem substance", codes=tuple(SUBSTANCES)),
        Column("substance_2", "string", "second problem substance", nullable=True, codes=tuple(SUBSTANCES)),
        Column("substance_3", "string", "third problem substance", nullable=True, codes=tuple(SUBSTANCES)),
        Column(
            "route",
            "string",
            "route of administration of the primary substance",
            nullable=True,
            codes=tuple(ROUTES),
        ),
        Column(
            "injecting_status",
            "string",
            "injecting status at referral",
            nullable=True,
            codes=tuple(INJECTING_STATUS),
        ),
        Column(
            "referral_source", "string", "source of referral", nullable=True, codes=tuple(REFERRAL_SOURCES)
        ),
        Column(
            "previously_treated",
            "bool",
            "treated in a structured programme before this episode",
            nullable=True,
        ),
        Column("accommodation_need", "bool", "has an urgent housing problem at referral", nullable=True),
        Column(
            "employment", "string", "employment status at referral", nullable=True, codes=tuple(EMPLOYMENT)
        ),
    ),
    key=("episode_id",),
    date_orders=(
        ("date_of_birth", "referral_date"),
        ("referral_date", "triage_date"),
        ("referral_date", "first_intervention_date"),
        ("referral_date", "discharge_date"),
    ),
)

NDTMS_TOP = Table(
    "ndtms_top",
    "NDTMS Treatment Outcomes Profile records: one row per TOP interview.",
    (
        Column("top_id", "string", "TOP record identifier, unique"),
        Column("episode_id", "string", "the episode the interview belongs to"),
        Column("top_date", "date", "interview date"),
        Column("top_stage", "string", "stage of treatment", codes=tuple(TOP_STAGES)),
        _days("days_alcohol", "alcohol use"),
        _days("days_opiates", "opiate use"),
        _days("days_crack", "crack use"),
        _days("days_cocaine", "powder cocaine use"),
        _days("days_amphetamines", "amphetamine use"),
        _days("days_cannabis", "cannabis use"),
        _days("days_other_drug", "other drug use"),
        _days("days_injected", "injecting"),
        Column("sharing", "bool", "shared injecting equipment in the past 28 days", nullable=True),
        _days("days_shop_theft", "shop theft"),
        _days("days_drug_selling", "selling drugs"),
        _days("days_other_theft", "other theft"),
        _days("days_assault", "assault or violence"),
        _score("psych_health", "psychological health"),
        _score("phys_health", "physical health"),
        _score("quality_of_life", "overall quality of life"),
        _days("days_paid_work", "paid work"),
        Column("acute_housing_problem", "bool", "acute housing problem (no fixed abode)", nullable=True),
        Column("eviction_risk", "bool", "at risk of eviction", nullable=True),
    ),
    key=("top_id",),
)

ONS_DEATHS = Table(
    "ons_deaths",
    "ONS mortality register: one row per registered death (all deaths, not only clients').",
    (
        Column("death_id", "string", "death registration identifier, unique"),
        Column("forename", "string", "first forename", nullable=True, identifier=True),
        Column("surname", "string", "surname", nullable=True, identifier=True),
        Column("date_of_birth", "date", "date of birth", nullable=True, identifier=True),
        Column("sex", "string", "sex", nullable=True, codes=tuple(SEX)),
        Column("area_code", "string", "DAT area of usual residence", nullable=True),
        Column("date_of_death", "date", "date of death (outcomes are dated by this)"),
        Column("date_of_registration", "date", "date the death was registered"),
        Column("underlying_cause", "string", "underlying cause of death, ICD-10 code (e.g. X42, F112)"),
    ),
    key=("death_id",),
    date_orders=(("date_of_birth", "date_of_death"), ("date_of_death", "date_of_registration")),
)

PNC_OFFENCES = Table(
    "pnc_offences",
    "Police National Computer: one row per proven offence (caution or conviction).",
    (
        Column("offence_id", "string", "offence record identifier, unique"),
        Column("pnc_id", "string", "PNC person identifier (one offender, possibly under several names)"),
        Column("forename", "string", "forename as recorded for this offence", nullable=True, identifier=True),
        Column("surname", "string", "surname as recorded for this offence", nullable=True, identifier=True),
        Column("date_of_birth", "date", "date of birth as recorded", nullable=True, identifier=True),
        Column("sex", "string", "sex", nullable=True, codes=tuple(SEX)),
        Column("area_code", "string", "DAT area of the recorded address", nullable=True),
        Column("offence_date", "date", "date of the offence (outcomes are dated by this)"),
        Column("disposal_date", "date", "date of the caution or conviction"),
        Column("offence_group", "string", "offence group", codes=tuple(OFFENCE_GROUPS)),
        Column("disposal", "string", "type of disposal", codes=tuple(DISPOSALS)),
    ),
    key=("offence_id",),
    date_orders=(("date_of_birth", "offence_date"), ("offence_date", "disposal_date")),
)

TABLES: dict[str, Table] = {t.name: t for t in (AREAS, NDTMS_EPISODES, NDTMS_TOP, ONS_DEATHS, PNC_OFFENCES)}

IDENTIFIER_COLUMNS: frozenset[str] = frozenset(
    c.name for t in TABLES.values() for c in t.columns if c.identifier
)


def to_markdown() -> str:
    """Render the contract as the Markdown document an analyst reads."""
    out = [
        "# Input contract for real extracts",
        "",
        "<!-- generated by `python -m pbr.contract`; do not edit by hand -->",
        "",
        "Each table is a CSV (UTF-8, comma-separated, header row, ISO dates `YYYY-MM-DD`)",
        "or Parquet file named `<table>.csv` / `<table>.parquet` in the directory given by",
        "`data.real.directory`, or a table of that name in the database at `data.real.url`.",
        "Column names must match exactly; columns may come in any order; no other columns.",
        "Every table holds at least one row, and a CSV file ends with a line break (a file",
        f"without one looks truncated). Dates lie between {EARLIEST_DATE.isoformat()} and the day of the run.",
        "Each register (`ons_deaths`, `pnc_offences`) must hold records of at least some NDTMS",
        "clients: a register in which no record shares initials and date of birth with an",
        "episode cannot be linked.",
        "",
    ]
    for t in TABLES.values():
        out += [f"## `{t.name}`", "", t.description, "", f"Key: `{', '.join(t.key)}` (unique).", ""]
        if t.date_orders:
            rules = "; ".join(f"`{a}` <= `{b}`" for a, b in t.date_orders)
            out += [f"Date order (where both are present): {rules}.", ""]
        out += ["| column | type | may be empty | allowed values | meaning |", "|---|---|---|---|---|"]
        for c in t.columns:
            if c.codes is not None:
                allowed = ", ".join(f"`{v}`" for v in c.codes)
            elif c.minimum is not None:
                allowed = f"{c.minimum:g} to {c.maximum:g}"
            else:
                allowed = ""
            ident = " (identifier: used for linkage only)" if c.identifier else ""
            out.append(
                f"| `{c.name}` | {c.dtype} | {'yes' if c.nullable else 'no'} | {allowed} | {c.description}{ident} |"
            )
        out.append("")
    out += ["## Code lists", ""]
    for title, codes in (
        ("Discharge reasons (`discharge_reason`)", DISCHARGE_REASONS),
        ("Substances (`substance_1..3`)", SUBSTANCES),
        ("Offence groups (`offence_group`)", OFFENCE_GROUPS),
    ):
        out += [f"### {title}", "", "| code | meaning |", "|---|---|"]
        out += [f"| `{k}` | {v} |" for k, v in codes.items()]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(to_markdown())
