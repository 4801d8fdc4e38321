"""The ONS deaths register: clients' deaths among at least 5 times as many unrelated deaths."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pbr.synthetic.columns import code_col, date_col, id_array, person_ids, string_col
from pbr.synthetic.dates import NA, day_number, ymd
from pbr.synthetic.draws import choice, date_order, uniform_int
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.params import SyntheticParams
from pbr.synthetic.population import Population
from pbr.synthetic.reference import (
    CAUSES_ALCOHOL_CLIENT_OTHER,
    CAUSES_DRUG_CLIENT_OTHER,
    CAUSES_ELDERLY,
    CAUSES_WORKING_AGE,
    DRUG_POISONING_CAUSES,
    POISONING_PREFIXES,
)
from pbr.synthetic.registers import (
    RegisterPeople,
    UnrelatedPeople,
    register_copy,
    resampled_dobs,
    unrelated_people,
)


@dataclass
class DeathRegister:
    """The contract table ``ons_deaths``, its truth (death_id -> true person), and its sizes."""

    table: pd.DataFrame
    truth: pd.DataFrame
    n_client: int
    n_unrelated: int


def _causes(rng: np.random.Generator, table: dict[str, float], m: int) -> np.ndarray:
    """``m`` causes of death (ICD-10) drawn from ``table``'s weights."""
    keys = np.array(list(table))
    return keys[choice(rng, np.array(list(table.values())), m)]


def _unrelated_deaths(
    rng: np.random.Generator,
    params: SyntheticParams,
    population: Population,
    people: RegisterPeople,
    nu: int,
    referral_start: int,
    extract_end: int,
) -> tuple[UnrelatedPeople, np.ndarray, np.ndarray]:
    """``nu`` unrelated deaths: the elderly (born 1915-1950) and people of the clients' ages;
    the people, their days of death and causes."""
    r = params.registers
    eld = rng.random(nu) < r.deaths_elderly_share
    d_eld = uniform_int(rng, np.full(nu, day_number("1915-01-01")), np.full(nu, day_number("1950-12-31")))
    dob_u = np.where(eld, d_eld, resampled_dobs(rng, population, nu))
    dod_u = uniform_int(rng, np.full(nu, referral_start), np.full(nu, extract_end))
    dob_u = np.minimum(dob_u, dod_u - 6210)  # at least 17 years old
    _, month, day = ymd(dob_u)
    dob_u = np.where((month == 2) & (day == 29), dob_u - 1, dob_u)
    u = unrelated_people(rng, params.noise, people, nu, np.where(eld, 0.5, 0.35), dob_u)
    cause_u = np.where(eld, _causes(rng, CAUSES_ELDERLY, nu), _causes(rng, CAUSES_WORKING_AGE, nu))
    return u, dod_u, cause_u


def death_register(
    params: SyntheticParams,
    population: Population,
    journeys: Journeys,
    people: RegisterPeople,
    area_codes: list[str],
    referral_start: int,
    extract_end: int,
    rng: np.random.Generator,
) -> DeathRegister:
    """Every client death (cause by drug poisoning, cohort) and the unrelated deaths, in date order."""
    population, journeys = population, journeys
    r = params.registers
    dead = np.flatnonzero(population.death[: population.n] != NA)
    k = len(dead)
    copy = register_copy(rng, params.noise, population, people, dead)
    last_cohort = np.zeros(population.n, dtype=np.int64)
    last_cohort[journeys.person[journeys.last]] = journeys.cohort[journeys.last]
    drd = population.drug_death[dead]
    c_drd = _causes(rng, DRUG_POISONING_CAUSES, k)
    c_drug = _causes(rng, CAUSES_DRUG_CLIENT_OTHER, k)
    c_alc = _causes(rng, CAUSES_ALCOHOL_CLIENT_OTHER, k)
    cause = np.where(drd, c_drd, np.where(last_cohort[dead] == 1, c_alc, c_drug))
    dod = population.death[dead]
    # unrelated deaths: the elderly, and people of the clients' ages
    nu = round(r.deaths_ratio() * k)
    u, dod_u, cause_u = _unrelated_deaths(rng, params, population, people, nu, referral_start, extract_end)
    # assemble (clients first, then unrelated; rows are re-ordered by date below)
    pools = people.pools
    fn = pa.concat_arrays(
        [pa.array(copy.forename, pa.string()), pc.take(pools.forenames_arrow, pa.array(u.forename))]
    )
    sn = pa.concat_arrays(
        [pa.array(copy.surname, pa.string()), pc.take(pools.surnames_arrow, pa.array(u.surname))]
    )
    dob = np.concatenate([copy.dob, u.dob])
    sex = np.concatenate([copy.sex, u.sex])
    area = np.concatenate([copy.area, u.area])
    date = np.concatenate([dod, dod_u])
    cause = np.concatenate([cause, cause_u])
    is_pois = np.isin(cause.astype("<U3"), list(POISONING_PREFIXES))
    lag = np.where(
        is_pois & (rng.random(len(date)) < 0.7),
        60 + np.floor(rng.exponential(120.0, len(date))),
        1 + np.floor(rng.exponential(6.0, len(date))),
    ).astype(np.int64)
    owner = np.concatenate([dead, np.full(nu, -1)])
    order = date_order(rng, date)
    ids = id_array("DTH", np.arange(1, len(date) + 1), 8)
    o = pa.array(order)
    table = pd.DataFrame(
        {
            "death_id": string_col(ids),
            "forename": string_col(pc.take(fn, o)),
            "surname": string_col(pc.take(sn, o)),
            "date_of_birth": date_col(dob[order]),
            "sex": code_col(("M", "F"), sex[order]),
            "area_code": code_col(area_codes, area[order]),
            "date_of_death": date_col(date[order]),
            "date_of_registration": date_col(date[order] + lag[order]),
            "underlying_cause": string_col(cause[order]),
        }
    )
    truth = pd.DataFrame({"death_id": string_col(ids), "true_person_id": person_ids(owner[order])})
    registered = _registered_by(date[order] + lag[order], r.deaths_registered_by)
    if registered is None:
        return DeathRegister(table=table, truth=truth, n_client=k, n_unrelated=nu)
    n_client = int((registered & (owner[order] >= 0)).sum())
    return DeathRegister(
        table=table[registered].reset_index(drop=True),
        truth=truth[registered].reset_index(drop=True),
        n_client=n_client,
        n_unrelated=int(registered.sum()) - n_client,
    )


def _registered_by(registration: np.ndarray, cut_off: str) -> np.ndarray | None:
    """Which deaths (``registration``: day numbers) are registered on or before ``cut_off`` (ISO
    date), the extract's registration cut-off; None when there is none ('')."""
    if not cut_off:
        return None
    return registration <= day_number(cut_off)
