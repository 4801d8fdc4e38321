"""The PNC offences register: planted acquisitive offences, clients' background offending, and
at least 5 times as many records of unrelated offenders; some clients use aliases."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pbr.synthetic.columns import code_col, date_col, id_array, person_ids, string_col
from pbr.synthetic.dates import NA, birthday
from pbr.synthetic.draws import choice, date_order, uniform_int
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.names import dob_errors
from pbr.synthetic.outcomes import LateOutcomes
from pbr.synthetic.params import NoiseParams, RegistersParams, SyntheticParams
from pbr.synthetic.population import Population
from pbr.synthetic.reference import (
    ACQUISITIVE,
    OFFENCE_GROUPS,
    P_ACQUISITIVE_GROUP,
    P_OTHER_OFFENCE_GROUP,
    RELATIVE_OFFENDING,
)
from pbr.synthetic.registers import (
    RegisterCopy,
    RegisterPeople,
    UnrelatedPeople,
    register_copy,
    resampled_dobs,
    unrelated_people,
)

_OFF = 30000  # day offset for person-date keys (person * 65536 + day + offset)


@dataclass
class OffenceRegister:
    """The contract table ``pnc_offences``, its truth, its sizes, and the realised outcome."""

    table: pd.DataFrame
    truth: pd.DataFrame
    n_client: int
    n_unrelated: int
    n_client_offenders: int
    n_unrelated_offenders: int
    #: per journey: an acquisitive offence within 12 months of the start (the pipeline's definition)
    acquisitive_crime: np.ndarray


@dataclass
class Offences:
    """Offences: person (number, or row of the unrelated offenders), day, offence group."""

    person: np.ndarray
    day: np.ndarray
    group: np.ndarray


@dataclass
class ClientRecords:
    """The client offenders' PNC identities: one register copy each, and each offence's name and date of birth."""

    #: offender person numbers, and each offence's offender row
    offenders: np.ndarray
    row: np.ndarray
    copy: RegisterCopy
    forename: pa.Array
    surname: pa.Array
    dob: np.ndarray


@dataclass
class UnrelatedOffenders:
    """Unrelated offenders (people) and their offences (``row``: the offender of each offence)."""

    people: UnrelatedPeople
    row: np.ndarray
    offences: Offences


def _offence_groups(rng: np.random.Generator, acq: np.ndarray) -> np.ndarray:
    """Offence group of each offence: acquisitive where ``acq``, another group elsewhere."""
    n = len(acq)
    return np.where(
        acq, choice(rng, P_ACQUISITIVE_GROUP, n), len(ACQUISITIVE) + choice(rng, P_OTHER_OFFENCE_GROUP, n)
    )


def _planted_offences(
    rng: np.random.Generator, journeys: Journeys, late: LateOutcomes, population: Population, extract_end: int
) -> Offences:
    """Offences realising acquisitive crime within a year of a journey start.

    Planted offences stay out of the person's neighbouring journeys' windows, so that a
    journey's realised outcome is its own planted one: they fall before the next journey
    starts, and after the window of a previous journey without the outcome. (Otherwise
    re-presentations, more frequent where completion fell, would carry another journey's
    offences and bias the null DiD for crime.)
    """
    nj = len(journeys.person)
    same_next = np.zeros(nj, dtype=bool)
    same_next[:-1] = journeys.person[1:] == journeys.person[:-1]
    next_start = np.where(same_next, np.roll(journeys.start, -1), np.iinfo(np.int64).max // 2)
    same_prev = np.roll(same_next, 1)
    same_prev[0] = False
    prev_start = np.roll(journeys.start, 1)
    prev_blocks = same_prev & ~np.roll(late.acquisitive_crime, 1) & (prev_start + 365 >= journeys.start)
    lo_all = np.where(prev_blocks, prev_start + 366, journeys.start)
    aj = np.flatnonzero(late.acquisitive_crime)
    death = population.death[journeys.person[aj]]
    hi = np.minimum(
        np.minimum(np.minimum(journeys.start[aj] + 365, next_start[aj] - 1), extract_end),
        np.where(death == NA, extract_end, death - 1),
    )
    lo = lo_all[aj]
    ok = hi >= lo
    aj, hi, lo = aj[ok], hi[ok], lo[ok]
    per = 1 + rng.poisson(0.5, len(aj))
    oj = np.repeat(aj, per)
    return Offences(
        person=journeys.person[oj],
        day=uniform_int(rng, np.repeat(lo, per), np.repeat(hi, per)),
        group=choice(rng, P_ACQUISITIVE_GROUP, len(oj)),
    )


def _background_offences(
    rng: np.random.Generator,
    registers: RegistersParams,
    journeys: Journeys,
    population: Population,
    referral_start: int,
    extract_end: int,
) -> Offences:
    """Clients' background offending over the register period (from age 12, until death); no
    acquisitive offence inside a journey's 12-month window."""
    n = population.n
    grp_p = np.zeros(n, dtype=np.int64)
    grp_p[journeys.person[journeys.last]] = journeys.cov.group[journeys.last]
    lam = (
        registers.offending_rate
        * RELATIVE_OFFENDING[grp_p]
        * np.where(population.female[:n], 0.5, 1.0)
        * rng.gamma(0.8, 1 / 0.8, n)
    )
    lo = np.maximum(referral_start, birthday(population.dob[:n], 12))
    hi = np.minimum(extract_end, np.where(population.death[:n] == NA, extract_end, population.death[:n] - 1))
    years = np.maximum(hi - lo + 1, 0) / 365.25
    nb = rng.poisson(lam * years)
    b_pid = np.repeat(np.arange(n), nb)
    b_date = uniform_int(rng, lo[b_pid], hi[b_pid])
    acq = rng.random(len(b_pid)) < 0.35
    b_grp = _offence_groups(rng, acq)
    # background acquisitive offences never fall inside a journey's 12-month window
    jkey = journeys.person * 65536 + (journeys.start + _OFF)
    bkey = b_pid * 65536 + (b_date + _OFF)
    last = np.searchsorted(jkey, bkey, side="right") - 1
    inside = np.zeros(len(b_pid), dtype=bool)
    for back in range(4):  # every journey starting in the year before the offence
        idx = last - back
        safe = np.maximum(idx, 0)
        inside |= (idx >= 0) & (journeys.person[safe] == b_pid) & (b_date - journeys.start[safe] <= 365)
    keep = ~(acq & inside)
    return Offences(person=b_pid[keep], day=b_date[keep], group=b_grp[keep])


def realised_acquisitive_crime(journeys: Journeys, offences: Offences) -> np.ndarray:
    """Per journey: the person's first acquisitive offence on or after the start is within 365 days."""
    jkey = journeys.person * 65536 + (journeys.start + _OFF)
    is_acq = offences.group < len(ACQUISITIVE)
    akey = np.sort(offences.person[is_acq] * 65536 + (offences.day[is_acq] + _OFF))
    pos = np.searchsorted(akey, jkey, side="left")
    nxt = akey[np.minimum(pos, len(akey) - 1)] if len(akey) else np.zeros(len(jkey), np.int64)
    return (
        (pos < len(akey)) & (nxt // 65536 == journeys.person) & ((nxt % 65536) - _OFF - journeys.start <= 365)
    )


def _client_records(
    rng: np.random.Generator,
    noise: NoiseParams,
    population: Population,
    people: RegisterPeople,
    offences: Offences,
) -> ClientRecords:
    """The offenders' PNC records: one register copy each, some using aliases (another forename,
    surname or both, a date-of-birth error) on some of their offences."""
    pools = people.pools
    offenders, oi = np.unique(offences.person, return_inverse=True)
    no = len(offenders)
    copy = register_copy(rng, noise, population, people, offenders)
    alias_p = rng.random(no) < noise.pnc_alias_person
    akind = rng.integers(0, 3, no)
    afn = np.where(
        akind != 1, pools.forenames[pools.draw_forenames(rng, population.female[offenders])], copy.forename
    )
    asn = np.where(akind != 0, pools.surnames[pools.draw_surnames(rng, no)], copy.surname)
    adob = np.where(rng.random(no) < 0.3, dob_errors(rng, copy.dob), copy.dob)
    use = alias_p[oi] & (rng.random(len(offences.person)) < noise.pnc_alias_record)
    name_idx = pa.array(np.where(use, oi + no, oi))
    return ClientRecords(
        offenders=offenders,
        row=oi,
        copy=copy,
        forename=pc.take(pa.array(np.concatenate([copy.forename, afn]), pa.string()), name_idx),
        surname=pc.take(pa.array(np.concatenate([copy.surname, asn]), pa.string()), name_idx),
        dob=np.where(use, adob[oi], copy.dob[oi]),
    )


def _unrelated_offenders(
    rng: np.random.Generator,
    params: SyntheticParams,
    population: Population,
    people: RegisterPeople,
    n_offences: int,
    referral_start: int,
    extract_end: int,
) -> UnrelatedOffenders:
    """``n_offences`` offences of unrelated offenders: same name and date-of-birth distributions,
    mostly men, a geometric number of offences each."""
    nu = n_offences
    cnt = rng.geometric(0.55, int(nu / 1.8 * 1.2) + 20)
    while cnt.sum() < nu:
        cnt = np.concatenate([cnt, rng.geometric(0.55, len(cnt))])
    cs = np.cumsum(cnt)
    m = int(np.searchsorted(cs, nu))
    cnt = cnt[: m + 1]
    cnt[-1] -= int(cs[m] - nu)
    cnt = cnt[cnt > 0]
    nuo = len(cnt)
    dob_u = resampled_dobs(rng, population, nuo)
    dob_u = np.minimum(dob_u, extract_end - 13 * 366)
    u = unrelated_people(rng, params.noise, people, nuo, 0.15, dob_u)
    ui = np.repeat(np.arange(nuo), cnt)
    u_lo = np.maximum(referral_start, birthday(dob_u, 12))[ui]
    u_date = uniform_int(rng, u_lo, np.full(len(ui), extract_end))
    u_acq = rng.random(len(ui)) < 0.35
    return UnrelatedOffenders(
        people=u, row=ui, offences=Offences(person=ui, day=u_date, group=_offence_groups(rng, u_acq))
    )


def _pnc_ids(rng: np.random.Generator, n_people: int) -> pa.Array:
    """PNC ids 'YY/NNNNNNNL', numbered in random order over offenders."""
    seq = rng.permutation(n_people)
    yy = (rng.integers(80, 115, n_people) % 100).astype(np.int64)
    letters = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"))
    pnc = pc.binary_join_element_wise(
        pc.utf8_lpad(pc.cast(pa.array(yy), pa.string()), 2, padding="0"),
        pc.utf8_lpad(pc.cast(pa.array(seq + 1), pa.string()), 7, padding="0"),
        "/",
    )
    return pc.binary_join_element_wise(pnc, pa.array(letters[(seq * 7 + yy) % len(letters)]), "")


def _disposals(rng: np.random.Generator, grp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Caution or conviction of each offence, and the days from the offence to the disposal."""
    total = len(grp)
    caution = rng.random(total) < np.where(
        grp == OFFENCE_GROUPS.index("drugs_possession"),
        0.5,
        np.where(grp == OFFENCE_GROUPS.index("motoring"), 0.1, 0.3),
    )
    lag = np.where(
        caution, np.floor(rng.exponential(10.0, total)), 14 + np.floor(rng.exponential(90.0, total))
    ).astype(np.int64)
    return caution, lag


def offence_register(
    params: SyntheticParams,
    population: Population,
    journeys: Journeys,
    late: LateOutcomes,
    people: RegisterPeople,
    area_codes: list[str],
    referral_start: int,
    extract_end: int,
    rng: np.random.Generator,
) -> OffenceRegister:
    """Clients' offences (planted and background) and unrelated offenders' offences, in date order."""
    planted = _planted_offences(rng, journeys, late, population, extract_end)
    background = _background_offences(
        rng, params.registers, journeys, population, referral_start, extract_end
    )
    client = Offences(
        person=np.concatenate([planted.person, background.person]),
        day=np.concatenate([planted.day, background.day]),
        group=np.concatenate([planted.group, background.group]),
    )
    nc = len(client.person)
    acquisitive = realised_acquisitive_crime(journeys, client)
    records = _client_records(rng, params.noise, population, people, client)
    nu = round(params.registers.offences_ratio() * nc)
    unrelated = _unrelated_offenders(rng, params, population, people, nu, referral_start, extract_end)
    table, truth = _offence_table(rng, client, records, unrelated, people, area_codes)
    return OffenceRegister(
        table=table,
        truth=truth,
        n_client=nc,
        n_unrelated=nu,
        n_client_offenders=len(records.offenders),
        n_unrelated_offenders=len(unrelated.people.dob),
        acquisitive_crime=acquisitive,
    )


def _offence_table(
    rng: np.random.Generator,
    client: Offences,
    records: ClientRecords,
    unrelated: UnrelatedOffenders,
    people: RegisterPeople,
    area_codes: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table and its truth, rows in date order (ids follow it, so they carry nothing else)."""
    pools, u, ui, oi, copy = people.pools, unrelated.people, unrelated.row, records.row, records.copy
    no = len(records.offenders)
    date = np.concatenate([client.day, unrelated.offences.day])
    total = len(date)
    order = date_order(rng, date)
    date = date[order]
    o = pa.array(order)
    cols = {"offence_id": string_col(id_array("OFF", np.arange(1, total + 1), 9))}
    pnc = _pnc_ids(rng, no + len(u.dob))
    person = np.concatenate([oi, no + ui])[order]  # PNC person number
    cols["pnc_id"] = string_col(pc.take(pnc, pa.array(person)))
    fn = pa.concat_arrays([records.forename, pc.take(pools.forenames_arrow, pa.array(u.forename[ui]))])
    cols["forename"] = string_col(pc.take(fn, o))
    sn = pa.concat_arrays([records.surname, pc.take(pools.surnames_arrow, pa.array(u.surname[ui]))])
    cols["surname"] = string_col(pc.take(sn, o))
    del fn, sn
    cols["date_of_birth"] = date_col(np.concatenate([records.dob, u.dob[ui]])[order])
    cols["sex"] = code_col(("M", "F"), np.concatenate([copy.sex[oi], u.sex[ui]])[order])
    cols["area_code"] = code_col(area_codes, np.concatenate([copy.area[oi], u.area[ui]])[order])
    grp = np.concatenate([client.group, unrelated.offences.group])[order]
    caution, lag = _disposals(rng, grp)
    cols["offence_date"] = date_col(date)
    cols["disposal_date"] = date_col(date + lag)
    cols["offence_group"] = code_col(OFFENCE_GROUPS, grp)
    cols["disposal"] = code_col(("caution", "conviction"), np.where(caution, 0, 1))
    table = pd.DataFrame(cols)
    owner = np.concatenate([client.person, np.full(len(ui), -1)])[order]
    truth = pd.DataFrame({"offence_id": table["offence_id"], "true_person_id": person_ids(owner)})
    return table, truth
