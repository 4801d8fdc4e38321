"""The NDTMS episode table: agency-local client ids and the attributor (initials, date of birth,
sex) per (agency, client) record, with recording errors (at rates that can differ by group x
period: ``noise.differential``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pbr.synthetic.areas import Areas, sub_area_codes
from pbr.synthetic.columns import bool_col, code_col, date_col, int_col, string_col
from pbr.synthetic.dates import age_years
from pbr.synthetic.draws import choice
from pbr.synthetic.episodes import EpisodeOrder, Episodes
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.names import NamePools, dob_errors
from pbr.synthetic.params import NoiseParams
from pbr.synthetic.population import Population
from pbr.synthetic.reference import (
    EMPLOYMENT,
    INJECTING,
    NO_SUBSTANCE,
    REFERRAL_SOURCES,
    ROUTES,
    SUBSTANCES,
    SURNAME_INITIALS,
)


@dataclass
class Attributors:
    """One NDTMS record per (agency, client): what the agency recorded about the person."""

    #: the record of each episode
    record: np.ndarray
    initial_first: np.ndarray
    initial_surname: np.ndarray
    initials_missing: np.ndarray
    dob: np.ndarray
    #: 0 male, 1 female, -1 missing
    sex: np.ndarray
    #: agency-local client number
    client: np.ndarray


def _first_referral(record: np.ndarray, n_records: int, referral: np.ndarray) -> np.ndarray:
    """The earliest referral day of each record's episodes."""
    out = np.full(n_records, np.iinfo(np.int64).max)
    np.minimum.at(out, record, referral)
    return out


def _error_multiplier(
    noise: NoiseParams,
    episodes: Episodes,
    record: np.ndarray,
    first_ref: np.ndarray,
    areas: Areas,
    post_start: int,
) -> np.ndarray:
    """Per record: the multiplier of the NDTMS error rates in its cell, pilot if its agency's unit
    carries the planted effect, post if its first referral is on or after ``post_start``."""
    unit = np.zeros(len(first_ref), dtype=np.int64)
    unit[record] = episodes.unit  # a record's episodes share its agency, so its unit
    return noise.differential.multipliers("ndtms", areas.unit_treated[unit], first_ref >= post_start)


def _initials(
    rng: np.random.Generator, noise: NoiseParams, fi: np.ndarray, si: np.ndarray, mult: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Recorded initials: some wrong (a random letter) or swapped, some missing (rates x ``mult``)."""
    n = len(fi)
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    li = np.array([SURNAME_INITIALS[x] for x in letters])
    err = rng.random(n) < noise.ndtms_initial_error * mult
    kind = rng.integers(0, 5, n)
    rnd = letters[choice(rng, li, n)]
    fi2 = np.where(err & (kind <= 1), rnd, fi)
    si2 = np.where(err & (kind >= 2) & (kind <= 3), rnd, si)
    swap = err & (kind == 4)
    fi2, si2 = np.where(swap, si, fi2), np.where(swap, fi, si2)
    return fi2, si2, rng.random(n) < noise.ndtms_initials_missing * mult


def ndtms_attributors(
    noise: NoiseParams,
    episodes: Episodes,
    population: Population,
    pools: NamePools,
    forename: np.ndarray,
    surname: np.ndarray,
    areas: Areas,
    post_start: int,
    rng: np.random.Generator,
) -> Attributors:
    """Attributor per (agency, client) record: initials, date of birth, sex, with noise; client ids.

    ``forename`` and ``surname`` are each person's names (indices into ``pools``); the error
    rates are multiplied by the record's cell's ``noise.differential`` multiplier.
    """
    episodes, population = episodes, population
    key = episodes.agency * (population.n + 1) + episodes.person
    pairs, inv = np.unique(key, return_inverse=True)
    npair = len(pairs)
    p_ag = pairs // (population.n + 1)
    p_pid = pairs % (population.n + 1)
    fi = np.array([s[0] for s in pools.forenames.tolist()])[forename[p_pid]]
    si = np.array([s[0] for s in pools.surnames.tolist()])[surname[p_pid]]
    first_ref = _first_referral(inv, npair, episodes.referral)
    mult = _error_multiplier(noise, episodes, inv, first_ref, areas, post_start)
    fi2, si2, miss = _initials(rng, noise, fi, si, mult)
    dob = population.dob[p_pid].copy()
    de = rng.random(npair) < noise.ndtms_dob_error * mult
    dob[de] = dob_errors(rng, dob[de])
    # a recorded date of birth never changes whether a journey's first episode is an adult's
    first = np.flatnonzero(episodes.index == 0)
    s = episodes.referral[first]
    true_adult = age_years(population.dob[episodes.person[first]], s) >= 18
    rec_adult = age_years(dob[inv[first]], s) >= 18
    dob[inv[first][true_adult != rec_adult]] = population.dob[p_pid[inv[first][true_adult != rec_adult]]]
    dob = np.minimum(dob, first_ref)
    sex = np.where(population.female[p_pid], 1, 0)
    sex = np.where(rng.random(npair) < noise.ndtms_sex_missing * mult, -1, sex)
    # client ids: numbered within agency in order of first referral (not unique across agencies)
    o = np.lexsort((first_ref, p_ag))
    rank = np.empty(npair, dtype=np.int64)
    start_of_ag = np.searchsorted(p_ag[o], p_ag[o], side="left")
    rank[o] = np.arange(npair) - start_of_ag
    base = rng.integers(1, 20000, areas.n_agencies)
    return Attributors(
        record=inv,
        initial_first=fi2,
        initial_surname=si2,
        initials_missing=miss,
        dob=dob,
        sex=sex,
        client=base[p_ag] + rank,
    )


def episode_table(
    episodes: Episodes,
    episode_order: EpisodeOrder,
    journeys: Journeys,
    attributors: Attributors,
    areas: Areas,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The contract table ``ndtms_episodes``, rows in referral-date order; some fields missing."""
    cov = journeys.cov
    ne = len(episodes.journey)
    j = episodes.journey
    later = episodes.index >= 1
    inv = attributors.record
    order, ids = episode_order.order, episode_order.ids

    def nulls(q):
        return rng.random(ne) < q

    ref_src = np.where(later, 4, cov.referral[j])
    prev = np.where(later, True, cov.previously_treated[j])
    miss = attributors.initials_missing[inv][order]
    cols = {
        "episode_id": string_col(ids),
        "client_id": string_col(
            pc.utf8_lpad(pc.cast(pa.array(attributors.client[inv][order]), pa.string()), 7, padding="0")
        ),
        "agency_id": string_col(pc.take(areas.agency_codes, pa.array(episodes.agency[order]))),
        "area_code": code_col(areas.code, areas.unit_area[episodes.unit][order]),
        "sub_area": code_col(("", "west_kent", "east_kent"), sub_area_codes(areas, episodes.unit)[order]),
        "initial_first": string_col(attributors.initial_first[inv][order], miss),
        "initial_surname": string_col(attributors.initial_surname[inv][order], miss),
        "date_of_birth": date_col(attributors.dob[inv][order]),
        "sex": code_col(("M", "F"), attributors.sex[inv][order]),
        "referral_date": date_col(episodes.referral[order]),
        "triage_date": date_col(episodes.triage[order]),
        "first_offered_date": date_col(episodes.offer[order]),
        "first_intervention_date": date_col(episodes.intervention[order]),
        "discharge_date": date_col(episodes.discharge[order]),
        "discharge_reason": int_col(episodes.reason[order], (episodes.reason < 0)[order]),
        "substance_1": code_col(SUBSTANCES, cov.substance_1[j][order]),
        "substance_2": code_col(
            SUBSTANCES, np.where(cov.substance_2 == NO_SUBSTANCE, -1, cov.substance_2)[j][order]
        ),
        "substance_3": code_col(
            SUBSTANCES, np.where(cov.substance_3 == NO_SUBSTANCE, -1, cov.substance_3)[j][order]
        ),
        "route": code_col(ROUTES, np.where(nulls(0.02), -1, cov.route[j])[order]),
        "injecting_status": code_col(INJECTING, np.where(nulls(0.01), -1, cov.injecting[j])[order]),
        "referral_source": code_col(REFERRAL_SOURCES, np.where(nulls(0.02), -1, ref_src)[order]),
        "previously_treated": bool_col(prev[order], nulls(0.01)[order]),
        "accommodation_need": bool_col(cov.accommodation_need[j][order], nulls(0.02)[order]),
        "employment": code_col(EMPLOYMENT, np.where(nulls(0.03), -1, cov.employment[j])[order]),
    }
    return pd.DataFrame(cols)
