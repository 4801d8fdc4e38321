"""What the ONS and PNC registers know people by: clients' full names and home areas, their
register copies with recording errors (area moves at rates that can differ by group x period:
``noise.differential``), and unrelated people drawn from the same distributions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pbr.synthetic.areas import Areas
from pbr.synthetic.dates import ymd
from pbr.synthetic.draws import choice
from pbr.synthetic.journeys import Journeys
from pbr.synthetic.names import NamePools, dob_errors, name_errors
from pbr.synthetic.params import NoiseParams
from pbr.synthetic.population import Population


@dataclass
class RegisterPeople:
    """The clients as the registers know them, and where people live."""

    pools: NamePools
    #: per person: forename and surname (indices into the pools) and home area (of the last journey)
    forename: np.ndarray
    surname: np.ndarray
    home: np.ndarray
    #: population-like weight of each area
    area_weight: np.ndarray
    #: region of each area
    region: np.ndarray
    #: per person, the cell of the last journey: in a pilot unit, starting on or after post_start
    pilot: np.ndarray
    post: np.ndarray


@dataclass
class RegisterCopy:
    """Identifiers of some clients as a register holds them (with recording errors)."""

    forename: np.ndarray
    surname: np.ndarray
    dob: np.ndarray
    #: 0 male, 1 female, -1 missing
    sex: np.ndarray
    #: area, -1 missing
    area: np.ndarray


@dataclass
class UnrelatedPeople:
    """People in a register who are not clients: names (pool indices), dates of birth, sex, area."""

    forename: np.ndarray
    surname: np.ndarray
    dob: np.ndarray
    sex: np.ndarray
    area: np.ndarray


def register_people(
    population: Population, journeys: Journeys, areas: Areas, post_start: int, rng: np.random.Generator
) -> RegisterPeople:
    """Full names for every client, and each one's home area and group x period cell: those of
    their last journey."""
    pools = NamePools.load()
    n = population.n
    forename = pools.draw_forenames(rng, population.female[:n])
    surname = pools.draw_surnames(rng, n)
    J = journeys
    home = np.zeros(n, dtype=np.int64)
    home[J.person[J.last]] = J.area[J.last]
    pilot = np.zeros(n, dtype=bool)
    pilot[J.person[J.last]] = J.treated[J.last]
    post = np.zeros(n, dtype=bool)
    post[J.person[J.last]] = J.start[J.last] >= post_start
    return RegisterPeople(
        pools=pools,
        forename=forename,
        surname=surname,
        home=home,
        area_weight=areas.register_weights(),
        region=np.asarray(areas.region),
        pilot=pilot,
        post=post,
    )


def register_copy(
    rng: np.random.Generator,
    noise: NoiseParams,
    population: Population,
    people: RegisterPeople,
    pids: np.ndarray,
) -> RegisterCopy:
    """Clients' identifiers as a register holds them: full names, with recording errors (area
    moves at ``register_area_move`` x the client's cell's ``noise.differential`` multiplier)."""
    pools = people.pools
    k = len(pids)
    fem = population.female[pids]
    fn = pools.forenames[people.forename[pids]]
    sn = pools.surnames[people.surname[pids]]
    chg = fem & (rng.random(k) < noise.surname_change_female)
    sn = np.where(chg, pools.surnames[pools.draw_surnames(rng, k)], sn)
    err = rng.random(k) < noise.register_name_error
    kind = rng.integers(0, 4, k)
    swap = err & (kind == 0)
    fn, sn = np.where(swap, sn, fn), np.where(swap, fn, sn)
    tf, ts = err & (kind == 1), err & (kind >= 2)
    if tf.any():
        fn[tf] = name_errors(rng, fn[tf])
    if ts.any():
        sn[ts] = name_errors(rng, sn[ts])
    dob = population.dob[pids].copy()
    de = rng.random(k) < noise.register_dob_error
    dob[de] = dob_errors(rng, dob[de])
    sex = np.where(fem, 1, 0)
    sex = np.where(rng.random(k) < noise.register_sex_missing, -1, sex)
    area = people.home[pids].copy()
    move_rate = noise.register_area_move * noise.differential.multipliers(
        "register_area_move", people.pilot[pids], people.post[pids]
    )
    moved = rng.random(k) < move_rate
    area[moved] = choice(rng, people.area_weight, int(moved.sum()))
    if noise.register_area_move_same_region > 0:  # 0 draws nothing more: the data of the old rule
        local = np.flatnonzero(moved)[rng.random(int(moved.sum())) < noise.register_area_move_same_region]
        area[local] = area_in_region(rng, people.region, people.area_weight, people.home[pids[local]])
    area[rng.random(k) < noise.register_area_missing] = -1
    return RegisterCopy(forename=fn, surname=sn, dob=dob, sex=sex, area=area)


def area_in_region(
    rng: np.random.Generator, region: np.ndarray, area_weight: np.ndarray, home: np.ndarray
) -> np.ndarray:
    """Another area of each home area's region, drawn by ``area_weight`` (the home area itself if alone).

    ``region`` holds each area's region.
    """
    out = home.copy()
    for r in np.unique(region[home]):
        rows = np.flatnonzero(region[home] == r)
        w = np.where(region == r, area_weight, 0.0)
        for h in np.unique(home[rows]):
            at = rows[home[rows] == h]
            wh = w.copy()
            if (wh > 0).sum() > 1:
                wh[h] = 0.0
            out[at] = choice(rng, wh, len(at))
    return out


def unrelated_people(
    rng: np.random.Generator,
    noise: NoiseParams,
    people: RegisterPeople,
    n: int,
    p_female: float | np.ndarray,
    dob: np.ndarray,
) -> UnrelatedPeople:
    """``n`` people who are not clients, with dates of birth ``dob``: names from the same pools, areas by population."""
    female = rng.random(n) < p_female
    fore = people.pools.draw_forenames(rng, female)
    sur = people.pools.draw_surnames(rng, n)
    sex = np.where(rng.random(n) < noise.register_sex_missing, -1, female.astype(np.int64))
    area = choice(rng, people.area_weight, n)
    area[rng.random(n) < noise.register_area_missing] = -1
    return UnrelatedPeople(forename=fore, surname=sur, dob=dob, sex=sex, area=area)


def resampled_dobs(rng: np.random.Generator, population: Population, n: int) -> np.ndarray:
    """Dates of birth from the clients' distribution (resampled and jittered)."""
    src = population.dob[: population.n]
    dob = src[rng.integers(0, len(src), n)] + np.rint(rng.normal(0, 600, n)).astype(np.int64)
    _, m, d = ymd(dob)
    return np.where((m == 2) & (d == 29), dob - 1, dob)
