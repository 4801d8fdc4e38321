"""The input contract: the five tables an extract must provide, column by column.

This module is the single source of truth for the extract format. The synthetic
generator writes it, the reader validates against it, and ``docs/input-contract.md``
is generated from it (``python -m pbr.contract > docs/input-contract.md``), so the
written contract cannot drift from the code that checks it. That is also why it is one module
of about 600 lines: most of it is the tables' column lists and the rules' prose, which belong
beside each other.

Types are logical: ``string``, ``int``, ``float``, ``bool``, ``date`` (ISO 8601
``YYYY-MM-DD`` in CSV; a date or timestamp column in Parquet or SQL).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

EARLIEST_DATE = date(1880, 1, 1)  # no date in an extract is earlier: an earlier one is a typo (1011 for 2011)

#: dates of birth that systems write when the real one is unknown (the default of the config key
#: ``linkage.placeholder_dates_of_birth``): such an episode is dropped, such a register record cannot be linked
PLACEHOLDER_DATES_OF_BIRTH: tuple[str, ...] = ("1800-01-01", "1900-01-01", "1901-01-01")
#: the oldest plausible age in years (the default of ``study.max_age``): an older age is a wrong date of birth
MAX_AGE = 100

#: a date of birth is 'heaped' (a placeholder not listed?) when at least this many different people
#: (initials and sex) share it, and this many times the average for a day of its birth year
HEAP_MIN_PEOPLE = 10
HEAP_FACTOR = 5

#: the lowest share of NDTMS persons (or study journeys) that plausibly links to each register, the
#: default of ``linkage.min_link_rate``: deaths, about half the lowest yearly mortality of adults in drug
#: or alcohol treatment (about 1%); offences, a fraction of the third or more with a proven offence
MIN_LINK_RATE = {"deaths": 0.005, "offences": 0.05}
#: a link rate is judged only where at least this many links are expected (fewer could be chance)
LINK_RATE_MIN_EXPECTED = 5
#: a group x period cell is far below the others with under this share of the links their rate implies
#: (judged where at least twice LINK_RATE_MIN_EXPECTED are expected)
LINK_RATE_RELATIVE = 1 / 3
#: NDTMS 'client died' discharges: judged from this many persons, and at least this share should link
DIED_MIN = 5
DIED_SHARE = 0.5

#: whole values (after removing surrounding spaces, in any case) that mean "no value": an export of a
#: database NULL, a spreadsheet's #N/A. Read as missing and counted, in every column except free text.
NULL_TOKENS: tuple[str, ...] = ("NULL", "N/A", "NA", "None", "NaN", "#N/A")
#: in name columns 'NA' and 'Nan' are real names (a surname Na, a forename Nan), and registers write unknown
#: names in words
NAME_NULL_TOKENS: tuple[str, ...] = (
    "NULL",
    "N/A",
    "None",
    "#N/A",
    "UNKNOWN",
    "NOT KNOWN",
    "NOT STATED",
)
NAME_COLUMNS = frozenset(
    {"forename", "surname"}
)  # full names of the registers (initials are taken from them)
INITIAL_COLUMNS = frozenset({"initial_first", "initial_surname"})  # NDTMS initials: one letter A-Z

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
    ``maximum`` bound numbers; ``nullable`` says whether the column may be empty;
    ``free_text`` marks descriptive text (names of places) that is kept exactly as written,
    where every other text value is trimmed and null tokens are read as missing.
    """

    name: str
    dtype: str
    description: str
    nullable: bool = False
    codes: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    identifier: bool = False
    free_text: bool = False  # descriptive text kept exactly as written (no trimming, no null tokens)


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
        """The table's column names, in contract order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called ``name``; KeyError naming the table when there is none."""
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
        Column("area_name", "string", "area name", free_text=True),
        Column("region", "string", "government office region", nullable=True, free_text=True),
        Column("pilot", "bool", "true for the eight PbR pilot areas"),
        Column(
            "pilot_sub_area",
            "string",
            "where only part of the area piloted PbR (Kent: 'west_kent'), the sub-area that did; "
            "empty for every other area, which must then not be a pilot area in part",
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
            "sub-area of residence where the area is split (Kent: 'west_kent', 'east_kent'); compared with "
            "`pilot_sub_area` ignoring case, spaces, hyphens and underscores",
            nullable=True,
        ),
        Column(
            "initial_first",
            "string",
            "first letter of the first name: one letter A-Z (any case; an accented letter counts as "
            "its base letter); any other value is read as missing and counted",
            nullable=True,
            identifier=True,
        ),
        Column(
            "initial_surname",
            "string",
            "first letter of the surname, as `initial_first`",
            nullable=True,
            identifier=True,
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
        ("referral_date", "first_offered_date"),
        ("referral_date", "first_intervention_date"),
        ("first_offered_date", "first_intervention_date"),
        ("referral_date", "discharge_date"),
        ("triage_date", "discharge_date"),
        ("first_intervention_date", "discharge_date"),
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
        Column(
            "forename",
            "string",
            "first forename (its first letter, A-Z, is the initial used for linkage)",
            nullable=True,
            identifier=True,
        ),
        Column(
            "surname", "string", "surname (its first letter is the initial)", nullable=True, identifier=True
        ),
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

#: the column each register's age is measured at (a date of birth older than MAX_AGE there is implausible)
REGISTER_EVENT_COLUMNS = {"ons_deaths": "date_of_death", "pnc_offences": "offence_date"}


def null_tokens(column: str) -> tuple[str, ...]:
    """The values read as missing in ``column`` (compared in upper case, after trimming)."""
    return NAME_NULL_TOKENS if column in NAME_COLUMNS else NULL_TOKENS


def _fold(text: str) -> str:
    """Upper case without accents ('é' -> 'E'): how a letter is compared."""
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)).upper()


def letter_initial(value: str | None) -> str | None:
    """An NDTMS initial as the contract allows it: exactly one letter A-Z (any case, accents ignored),
    in upper case; None for anything else ('?', '1', '-', 'Jo', a null token)."""
    if value is None:
        return None
    v = _fold(value.strip())
    return v if len(v) == 1 and "A" <= v <= "Z" else None


def name_initial(value: str | None) -> str | None:
    """The initial of a register name: its first character, A-Z once accents are removed ('Élodie' -> 'E');
    None when the name is missing, a null token, or does not start with a letter ('?', '1', '-x')."""
    if value is None:
        return None
    v = value.strip()
    if not v or v.upper() in NAME_NULL_TOKENS:
        return None
    first = _fold(v[0])[:1]
    return first if first and "A" <= first <= "Z" else None


def normal_sub_area(value: str | None) -> str | None:
    """A sub-area code in its one spelling: lower case, words joined by '_' ('West Kent', 'WEST-KENT',
    ' west_kent ' -> 'west_kent'); None for a missing value or a null token."""
    if value is None:
        return None
    v = value.strip()
    if not v or v.upper() in NULL_TOKENS:
        return None
    return re.sub(r"[\s_\-]+", "_", v.lower()).strip("_") or None


def _rules_markdown() -> list[str]:
    """The reading rules of the contract that are not column types: cleaning, identifiers, codes,
    the design and linkage checks."""
    return [*_reading_rules(), *_check_rules()]


def _reading_rules() -> list[str]:
    """How values are read and cleaned, and how identifiers (initials, names, dates of birth) are read."""
    tokens = ", ".join(f"`{t}`" for t in NULL_TOKENS)
    name_tokens = ", ".join(f"`{t}`" for t in NAME_NULL_TOKENS)
    free = ", ".join(f"`{c.name}`" for t in TABLES.values() for c in t.columns if c.free_text)
    placeholders = ", ".join(f"`{day}`" for day in PLACEHOLDER_DATES_OF_BIRTH)
    return [
        "## Reading and cleaning",
        "",
        f"- **Text.** Surrounding spaces are removed from every value except free text ({free}, kept",
        "  exactly as written), so `'E0142 '` is `E0142`; counted (`value with surrounding spaces`). A",
        f"  value that is blank or a null token, compared in any case ({tokens}), is missing, in every",
        "  column but free text and of every type (text, codes, numbers, dates); counted (`value",
        "  written as a null token`). In name columns (`forename`, `surname`) the null tokens are",
        f"  {name_tokens}: `NA` is a surname there. A null token where a value is required is an error",
        "  that says so.",
        "- **Files.** A value may be of any length. A file in UTF-16 or UTF-32 (with or without a",
        "  byte-order mark) or holding NUL bytes is an error naming the encoding or the lines. Columns",
        "  with no name in the header (trailing commas from a spreadsheet) are ignored, with a warning,",
        "  when they are empty in every row, and an error otherwise. A Parquet file written by pandas",
        "  with a contract column as its index (e.g. the key) is read with that column; another index",
        "  is not data and is ignored. A table present both as CSV and as Parquet is an error: remove",
        "  one, or choose with `data.real.format`.",
        "",
        "## Identifiers",
        "",
        "- **NDTMS initials** (`initial_first`, `initial_surname`) are one letter A-Z, in any case; an",
        "  accented letter is its base letter. Any other value (`?`, `1`, `-`, a whole name) is read as",
        "  missing and counted (`initial not one letter A-Z`); the episode then has no complete",
        "  attributor and is dropped when persons are built (counted, stage `link`). A column in which",
        "  more than half of the values are not single letters is an error (it holds names or codes,",
        "  not initials), and so are episodes of which none has both initials (the error names the",
        "  NDTMS columns).",
        "- **NDTMS sex** may be missing. The episode is kept: it joins the person of the same initials",
        "  and date of birth when the other episodes with them record one sex only; otherwise it forms a",
        "  person of unknown sex. Each case is counted in the flow table (stage `link`, flagged;",
        '  docs/linkage.md, "Persons").',
        "- **Register names**: the initial of `forename` and `surname` is their first letter (accents",
        "  removed); a name that does not start with a letter gives no initial (counted).",
        "- **Dates of birth.** A placeholder date of birth (config `linkage.placeholder_dates_of_birth`,",
        f"  default {placeholders}), or an age over `study.max_age` (default {MAX_AGE}) at the referral:",
        "  the NDTMS episode is dropped (counted with the reason; its TOP records too), because it",
        "  would merge different clients who share initials and sex into one person of an impossible",
        "  age. In a register, a placeholder or an age over the maximum at the death or offence: the",
        "  date of birth is set to missing, so the record cannot be linked (counted). A placeholder",
        f"  before {EARLIEST_DATE.isoformat()} is counted this way, not an error. An NDTMS date of birth",
        f"  that at least {HEAP_MIN_PEOPLE} different clients (initials and sex) share, over {HEAP_FACTOR} times",
        "  the average for a day of its birth year, is counted and warned about, not dropped: if it is",
        "  a placeholder, add it to `linkage.placeholder_dates_of_birth`.",
        "",
    ]


def _check_rules() -> list[str]:
    """The checks on codes, on the study design and on the plausibility of the link rate."""
    return [
        "## Codes",
        "",
        "- **Area codes** and every other code or key are compared after removing surrounding",
        "  spaces; an `area_code` of an episode that is not in `areas` drops the episode (counted),",
        "  and the log quotes the codes (`'E0142 '`) and names a code that differs only in case or",
        "  spaces.",
        "- **Sub-areas** (`sub_area`, `pilot_sub_area`) are read in one spelling: lower case, words",
        "  joined by `_` (`West Kent`, `WEST-KENT` and `west_kent` are `west_kent`); counted. Only a",
        "  pilot area may have a `pilot_sub_area` (an error otherwise). A pilot sub-area that none of",
        "  its area's episodes records is a warning when reading; when `study.partial_pilot_rule`",
        "  splits areas by sub-area, the derive stage stops with both spellings.",
        "",
        "## The study design",
        "",
        "Journeys (derive stage) must fill the four cells of the design: pilot and comparison areas,",
        "before and after `study.post_start`, within `study.pre_start` to `study.post_end`. An extract",
        "covering one period only, or with no journey in a pilot or in a comparison area, stops the",
        "run with the study dates and the journeys found per cell. (Fewer or more than eight pilot",
        "areas are allowed; the report states how many.)",
        "",
        "## Linkage: is the link rate plausible?",
        "",
        "A register that shares identifiers with only a few clients (other people, other years) can",
        "be linked, but too few links bias the death and crime outcomes towards zero. After linkage,",
        "the share of NDTMS persons linked (stage `link`) and of study journeys linked, overall and by",
        "group (pilot, other) and period (pre, post) (`results/link/match_rates.parquet`, column",
        f"`note`), is warned about when, where at least {LINK_RATE_MIN_EXPECTED} links are expected:",
        "",
        f"- it is below `linkage.min_link_rate` (default {MIN_LINK_RATE['deaths']:.1%} for deaths, about half the",
        f"  lowest yearly mortality of adults in treatment; {MIN_LINK_RATE['offences']:.0%} for offenders);",
        f"- a group and period has under {LINK_RATE_RELATIVE:.0%} of the links the other cells' rate implies",
        f"  (at least {2 * LINK_RATE_MIN_EXPECTED} expected);",
        f"- (deaths) fewer than {DIED_SHARE:.0%} of at least {DIED_MIN} persons NDTMS discharged as 'client died'",
        "  (within the register's dates) link to a death.",
        "",
        "Each finding is a warning in the log and, for persons, a flagged row of the link flow table",
        "(`link rate far below expected: ...`) naming the register, the count, the rate and the",
        "register's size. The run goes on.",
        "",
    ]


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
        f"without one looks truncated). Dates lie between {EARLIEST_DATE.isoformat()} and the day of the run",
        "(a listed placeholder date of birth excepted, below).",
        "Each register (`ons_deaths`, `pnc_offences`) must hold records of at least some NDTMS",
        "clients: a register in which no record shares initials and date of birth with an",
        "episode cannot be linked.",
        "",
        "What each kind of bad input gives (an error naming the file, column, row count and",
        "example rows; a counted exclusion; a warning) is listed, case by case, in",
        "`tests/bad_extracts/README.md`. Every problem below that is not an error is counted in the",
        "flow table (`results/extract/flow.parquet`, stage `extract`: `dropped` rows are removed,",
        "`flagged` rows are kept; every check has its row, zero or not) and logged in",
        "`results/logs/validate_extracts.log` with the file, the column, the count and example rows.",
        "Values of identifiers (initials, names, dates of birth) are never shown, in errors or warnings.",
        "",
        *_rules_markdown(),
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
