"""The people: who presents (sex, date of birth, substance, injecting history), and the
covariates of each journey (substances, injecting, referral, baseline scores, ...)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from pbr.synthetic.dates import NA, age_years, ymd
from pbr.synthetic.draws import choice, choice_rows
from pbr.synthetic.params import CaseMixShift
from pbr.synthetic.reference import (
    AGE_MEAN,
    AGE_SD,
    ALCOHOL,
    DAYS_USED_BETA,
    NO_SUBSTANCE,
    P_ACCOMMODATION_NEED,
    P_DRUG_OF_ALCOHOL_CLIENT,
    P_EMPLOYMENT,
    P_INJECTING_HISTORY,
    P_OTHER_SUBSTANCE,
    P_PREVIOUSLY_TREATED,
    P_PRIMARY_DRUG,
    P_PRIMARY_DRUG_UNDER18,
    P_REFERRAL_SOURCE,
    P_THIRD_SUBSTANCE,
    REFERRAL_SOURCES,
    SUBSTANCE_GROUP,
)

CRIMINAL_JUSTICE = REFERRAL_SOURCES.index("criminal_justice")


@dataclass
class NewPeople:
    """Attributes of people presenting for the first time (true values)."""

    female: np.ndarray
    dob: np.ndarray
    #: primary substance when presenting for drugs
    drug: np.ndarray
    #: injecting history: 0 current, 1 previous, 2 never, 3 declined
    injecting_history: np.ndarray
    #: treated before the extract starts
    previously_treated: np.ndarray


@dataclass
class Population:
    """Person attributes (true values), indexed by person number, filled as people present.

    ``death`` and ``drug_death`` are filled in as the simulation decides them.
    """

    female: np.ndarray
    dob: np.ndarray
    drug: np.ndarray
    injecting_history: np.ndarray
    previously_treated: np.ndarray
    #: day of death or NA
    death: np.ndarray
    #: the death is a drug poisoning
    drug_death: np.ndarray
    #: number of people so far
    n: int = 0

    @classmethod
    def empty(cls, capacity: int) -> Population:
        """Room for ``capacity`` people, none yet."""
        return cls(
            female=np.zeros(capacity, bool),
            dob=np.zeros(capacity, np.int64),
            drug=np.zeros(capacity, np.int64),
            injecting_history=np.zeros(capacity, np.int64),
            previously_treated=np.zeros(capacity, bool),
            death=np.full(capacity, NA, np.int64),
            drug_death=np.zeros(capacity, bool),
        )

    def add(self, people: NewPeople) -> np.ndarray:
        """Add ``people``; their person numbers."""
        pid = np.arange(self.n, self.n + len(people.dob))
        for f in dataclasses.fields(people):
            getattr(self, f.name)[pid] = getattr(people, f.name)
        self.n += len(pid)
        return pid


def new_people(rng: np.random.Generator, n: int, cohort: int, start: np.ndarray, minor: bool) -> NewPeople:
    """``n`` people first presenting on ``start`` days in ``cohort`` (0 drug, 1 alcohol), adults or under 18."""
    female = rng.random(n) < (0.30 if cohort == 0 else 0.40)
    if cohort == 0:
        drug = choice(rng, P_PRIMARY_DRUG_UNDER18 if minor else P_PRIMARY_DRUG, n)
        grp = SUBSTANCE_GROUP[drug]
    else:
        drug = choice(rng, P_DRUG_OF_ALCOHOL_CLIENT, n)
        grp = np.full(n, 6)
    if minor:
        age_days = np.floor(16 * 365.25 + rng.random(n) * (2 * 365.25 - 12)).astype(np.int64)
    else:
        age = rng.normal(AGE_MEAN[grp], AGE_SD[grp])
        age = np.where(age < 18.05, 18.05 + rng.random(n) * 6, np.minimum(age, 85))
        age_days = np.floor(age * 365.25).astype(np.int64)
    dob = start - age_days
    _, month, day = ymd(dob)
    dob = np.where((month == 2) & (day == 29), dob - 1, dob)
    inj = choice_rows(rng, P_INJECTING_HISTORY, grp)
    prev = rng.random(n) < np.where(minor, 0.05, P_PREVIOUSLY_TREATED[grp])
    return NewPeople(female=female, dob=dob, drug=drug, injecting_history=inj, previously_treated=prev)


@dataclass
class Covariates:
    """A journey's covariates as the generating models use them (codes index the reference code lists)."""

    #: whole years at the start
    age: np.ndarray
    #: 0 <25, 1 25-34, 2 35-44, 3 45+
    age_group: np.ndarray
    female: np.ndarray
    #: primary, secondary and third substance (NO_SUBSTANCE for none)
    substance_1: np.ndarray
    substance_2: np.ndarray
    substance_3: np.ndarray
    #: substance group of the primary substance
    group: np.ndarray
    #: injecting status at this journey (INJECTING)
    injecting: np.ndarray
    route: np.ndarray
    referral: np.ndarray
    employment: np.ndarray
    accommodation_need: np.ndarray
    #: days of use of the primary substance in the 28 days before the start
    days_used: np.ndarray
    quality_of_life: np.ndarray
    psych_health: np.ndarray
    phys_health: np.ndarray
    previously_treated: np.ndarray


def draw_covariates(
    rng: np.random.Generator,
    cohort: np.ndarray,
    start: np.ndarray,
    female: np.ndarray,
    dob: np.ndarray,
    drug: np.ndarray,
    injecting_history: np.ndarray,
    prev: np.ndarray,
    shift: CaseMixShift | None = None,
    shifted: np.ndarray | None = None,
    shift_rng: np.random.Generator | None = None,
) -> Covariates:
    """Covariates of journeys starting on ``start``, from their people's attributes; the journeys
    ``shifted`` (the pilot-post cell) with the case mix ``shift``, its moves drawn from
    ``shift_rng`` (no draw when the shift is null or no journey is shifted)."""
    n = len(start)
    age = age_years(dob, start)
    agegrp = np.digitize(age, [25, 35, 45])
    sub1 = np.where(cohort == 1, ALCOHOL, drug)
    grp = SUBSTANCE_GROUP[sub1]
    sub2 = choice_rows(rng, P_OTHER_SUBSTANCE, grp)
    sub2 = np.where(sub2 == sub1, NO_SUBSTANCE, sub2)
    third = (sub2 != NO_SUBSTANCE) & (rng.random(n) < P_THIRD_SUBSTANCE[grp])
    sub3 = choice_rows(rng, P_OTHER_SUBSTANCE, grp)
    sub3 = np.where(~third | (sub3 == sub1) | (sub3 == sub2), NO_SUBSTANCE, sub3)
    # injecting status at this journey, from the person's history
    pinj = injecting_history
    u = rng.random(n)
    inj = np.select(
        [pinj == 0, pinj == 1, pinj == 2],
        [np.where(u < 0.8, 0, 1), np.where(u < 0.9, 1, 0), np.where(u < 0.97, 2, 3)],
        np.where(u < 0.5, 3, 2),
    )
    route = _route(rng, sub1, inj)
    ref = choice_rows(rng, P_REFERRAL_SOURCE, grp)
    emp_row = np.where(grp <= 1, 0, np.where(grp == 6, 2, 1))
    emp = choice_rows(rng, P_EMPLOYMENT, emp_row)
    accom = rng.random(n) < P_ACCOMMODATION_NEED[grp]
    beta = DAYS_USED_BETA[grp]
    days = np.rint(28 * rng.beta(beta[:, 0], beta[:, 1])).astype(np.int64)
    mean = np.where(cohort == 1, 11.0, 10.0)
    active = shift is not None and shifted is not None and bool(shifted.any()) and not shift.is_null()
    if active:
        assert shift is not None and shifted is not None and shift_rng is not None
        ref, prev = _shift_case_mix(shift, shifted, shift_rng, ref, prev)
        if shift.quality_of_life:
            mean = mean + shift.quality_of_life * shifted
    qol = np.clip(np.rint(rng.normal(mean, 3.5)), 0, 20).astype(np.int64)
    psych = np.clip(np.rint(0.5 * (qol - mean) + rng.normal(mean, 3.0)), 0, 20).astype(np.int64)
    phys = np.clip(np.rint(0.4 * (qol - mean) + rng.normal(mean + 1, 3.0)), 0, 20).astype(np.int64)
    return Covariates(
        age=age, age_group=agegrp, female=female, substance_1=sub1, substance_2=sub2, substance_3=sub3,
        group=grp, injecting=inj, route=route, referral=ref, employment=emp, accommodation_need=accom,
        days_used=days, quality_of_life=qol, psych_health=psych, phys_health=phys, previously_treated=prev,
    )  # fmt: skip


def _shift_case_mix(
    shift: CaseMixShift, shifted: np.ndarray, rng: np.random.Generator, ref: np.ndarray, prev: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The referral sources and previously-treated flags after ``shift``'s moves among ``shifted``:
    each shifted journey not at the level moves to it with the field's probability (one uniform
    per shifted journey and field, in field order, whether or not it is already at the level)."""
    k = np.flatnonzero(shifted)
    ref, prev = ref.copy(), np.asarray(prev, dtype=bool).copy()
    if shift.criminal_justice_referral:
        move = rng.random(len(k)) < shift.criminal_justice_referral
        ref[k[move]] = CRIMINAL_JUSTICE
    if shift.previously_treated:
        move = rng.random(len(k)) < shift.previously_treated
        prev[k[move]] = True
    return ref, prev


def _route(rng: np.random.Generator, sub1: np.ndarray, inj: np.ndarray) -> np.ndarray:
    """Route of administration of the primary substance (ROUTES), given injecting status."""
    u = rng.random(len(sub1))
    return np.select(
        [
            (sub1 == 0) & (inj == 0),
            sub1 == 0,
            np.isin(sub1, [1, 7, ALCOHOL]),
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
