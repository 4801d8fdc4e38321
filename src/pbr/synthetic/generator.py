"""The generator (moved verbatim from the former module; being split into stage modules)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pbr.contract import TABLES
from pbr.synthetic.columns import bool_col, code_col, date_col, id_array, int_col, string_col
from pbr.synthetic.dates import NA, age_years, birthday, day_number, ymd
from pbr.synthetic.draws import (
    choice,
    choice_rows,
    date_order,
    largest_remainder,
    sigmoid,
    solve_intercept,
    uniform_int,
)
from pbr.synthetic.names import dob_errors, name_errors, name_pools
from pbr.synthetic.params import OUTCOMES, SyntheticParams
from pbr.synthetic.reference import (
    ACQUISITIVE,
    AGE_GROUPS,
    AGE_MEAN,
    AGE_SD,
    ALCOHOL,
    AREAS,
    CAUSES_ALCOHOL_CLIENT_OTHER,
    CAUSES_DRUG_CLIENT_OTHER,
    CAUSES_ELDERLY,
    CAUSES_WORKING_AGE,
    COEFFICIENTS,
    DAYS_USED_BETA,
    DRUG_POISONING_CAUSES,
    EMPLOYMENT,
    INJECTING,
    LATER_DEATH_AGE_FACTOR,
    LATER_DEATH_HAZARD,
    LATER_DEATH_POISONING_SHARE,
    NO_SUBSTANCE,
    OFFENCE_GROUPS,
    P_ACCOMMODATION_NEED,
    P_ACQUISITIVE_GROUP,
    P_DRUG_OF_ALCOHOL_CLIENT,
    P_EMPLOYMENT,
    P_INJECTING_HISTORY,
    P_LONG_TREATMENT,
    P_OTHER_CAUSE_DEATH,
    P_OTHER_OFFENCE_GROUP,
    P_OTHER_SUBSTANCE,
    P_PREVIOUSLY_TREATED,
    P_PRIMARY_DRUG,
    P_PRIMARY_DRUG_UNDER18,
    P_REFERRAL_SOURCE,
    P_THIRD_SUBSTANCE,
    PILOT_AREAS,
    POISONING_PREFIXES,
    REFERRAL_SOURCES,
    REGION_NEED,
    RELATIVE_OFFENDING,
    ROUTES,
    SUBSTANCE_DAY_COLUMN,
    SUBSTANCE_GROUP,
    SUBSTANCE_GROUPS,
    SUBSTANCES,
    SURNAME_INITIALS,
    TOP_DAY_COLUMNS,
)

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _stage(name: str):
    """Log a stage's wall time and the process's peak resident memory so far (debug level)."""
    t0 = time.perf_counter()
    yield
    try:
        import resource

        peak = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f}"  # KiB -> GiB (Linux)
    except ImportError:  # pragma: no cover - not on Windows
        peak = "?"
    log.debug("synthetic: %s in %.1f s (peak RSS %s GiB)", name, time.perf_counter() - t0, peak)


@dataclass
class SyntheticExtract:
    """What :func:`generate` returns.

    ``tables``: the five contract tables. ``truth``: evaluation-only tables
    (``episode_person``, ``death_person``, ``offence_person``, ``journeys``), never read by
    the analysis. ``effects``: planted odds ratios, calibration, realised rates and counts
    (JSON-serialisable).
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    effects: dict


def generate(params: SyntheticParams) -> SyntheticExtract:
    """Generate the five contract tables, their truth and the planted effects."""
    return _Generator(params).run()


@dataclass
class _People:
    """Person attributes (true values), indexed by person number."""

    female: np.ndarray
    dob: np.ndarray
    drug: np.ndarray  # primary substance when presenting for drugs
    inj: np.ndarray  # injecting history category
    prev: np.ndarray  # treated before the extract starts
    death: np.ndarray  # day of death or NA
    drd: np.ndarray  # death is a drug poisoning
    n: int = 0


class _Generator:
    def __init__(self, p: SyntheticParams):
        self.p = p
        seq = np.random.SeedSequence(p.seed)
        streams = seq.spawn(9)
        self.rng_area, self.rng_cal, self.rng_loop, self.rng_post, self.rng_top = (
            np.random.Generator(np.random.PCG64(s)) for s in streams[:5]
        )
        self.rng_reg, self.rng_noise, self.rng_ids, self.rng_ep = (
            np.random.Generator(np.random.PCG64(s)) for s in streams[5:]
        )
        d = p.dates
        self.d_ref0 = day_number(d.referral_start)
        self.d_pre = day_number(d.pre_start)
        self.d_post = day_number(d.post_start)
        self.d_post_end = day_number(d.post_end)
        self.d_end = day_number(d.extract_end)
        self.clipped: dict[str, int] = {}

    # ----------------------------------------------------------------- areas and units
    def _areas(self) -> None:
        rng = self.rng_area
        rows = sorted(AREAS, key=lambda r: r.name)
        if len(rows) != 149:  # pragma: no cover - guards the table (data/areas.csv)
            raise AssertionError(f"expected 149 areas, got {len(rows)}")
        names = [r.name for r in rows]
        self.area_name = names
        self.area_region = [r.region for r in rows]
        pop = np.array([r.population for r in rows])
        need = np.array([r.need * REGION_NEED[r.region] for r in rows])
        self.area_code = [f"E{i + 1:04d}" for i in range(len(rows))]
        self.area_pilot = np.array([n in PILOT_AREAS for n in names])
        w_drug = pop * need * np.exp(rng.normal(0, 0.2, len(rows)))
        w_alc = pop * np.sqrt(need) * np.exp(rng.normal(0, 0.2, len(rows)))
        kent = names.index("Kent")
        self.kent = kent
        # units: every area, Kent split into West (sub 1) and East (sub 2)
        kw = self.p.counts.kent_west_share
        self.unit_area = np.append(np.arange(len(rows)), kent)
        self.unit_sub = np.append(np.zeros(len(rows), dtype=np.int64), 2)
        self.unit_sub[kent] = 1
        wd = np.append(w_drug, w_drug[kent] * (1 - kw))
        wa = np.append(w_alc, w_alc[kent] * (1 - kw))
        wd[kent] *= kw
        wa[kent] *= kw
        self.unit_w = np.vstack([wd, wa])  # [cohort, unit]
        # group of a unit for counts and for the planted effect: 1 pilot, 0 other, 2 excluded
        grp = self.area_pilot[self.unit_area].astype(np.int64)
        east = len(rows)
        if self.p.pilot_rule == "sub_area_pilot_rest_other":
            grp[east] = 0
        elif self.p.pilot_rule == "sub_area_pilot_rest_excluded":
            grp[east] = 2
        self.unit_group = grp
        self.unit_treated = grp == 1
        # agencies: 2-8 per unit, more in bigger units
        share = wd / wd.sum()
        n_ag = np.clip(np.round(2 + share * 400), 2, 8).astype(np.int64)
        self.unit_nag = n_ag
        self.unit_ag0 = np.concatenate([[0], np.cumsum(n_ag)[:-1]])
        self.n_agencies = int(n_ag.sum())
        self.agency_codes = id_array("AG", 1000 + rng.permutation(self.n_agencies) + 1, 4)
        # area random effects per outcome (shared by completion and its nested outcome)
        sd = self.p.process.area_sd
        self.re = {o: rng.normal(0, sd, len(rows)) for o in OUTCOMES if o != "completion_no_representation"}
        self.re["completion_no_representation"] = self.re["completion"]

    # ----------------------------------------------------------------- month grid and targets
    def _calendar(self) -> None:
        p = self.p
        m0 = np.datetime64(p.dates.referral_start, "M")
        m1 = np.datetime64(p.dates.extract_end, "M")
        months = np.arange(m0, m1 + 1)
        self.m_start = months.astype("datetime64[D]").astype(np.int64)
        self.m_end = np.minimum((months + 1).astype("datetime64[D]").astype(np.int64) - 1, self.d_end)
        nm = len(months)
        self.n_months = nm
        per = np.full(nm, -1)
        per[(self.m_start >= self.d_pre) & (self.m_start < self.d_post)] = 0
        per[(self.m_start >= self.d_post) & (self.m_start <= self.d_post_end)] = 1
        self.m_period = per
        # day weights within months: fewer referrals at weekends
        wk = np.array([1.0, 1.0, 1.0, 1.0, 0.9, 0.25, 0.15])  # Mon..Sun
        self.m_days = []
        self.m_dayw = np.zeros(nm)
        for m in range(nm):
            days = np.arange(self.m_start[m], self.m_end[m] + 1)
            w = wk[(days + 3) % 7]  # 1970-01-01 was a Thursday
            self.m_days.append((days, np.cumsum(w) / w.sum()))
            self.m_dayw[m] = w.sum()
        c = p.counts
        s = p.scale
        alc_pre, alc_post = round(c.alcohol_pre * s), round(c.alcohol_post * s)
        alc_pre_p = round(c.alcohol_pre * c.alcohol_pilot_share * s)
        alc_post_p = round(c.alcohol_post * c.alcohol_pilot_share * s)
        # target[cohort, group(0 other, 1 pilot), period]
        t = np.zeros((2, 2, 2), dtype=np.int64)
        t[0, 1, 0], t[0, 0, 0] = round(c.drug_pre_pilot * s), round(c.drug_pre_other * s)
        t[0, 1, 1], t[0, 0, 1] = round(c.drug_post_pilot * s), round(c.drug_post_other * s)
        t[1, 1, 0], t[1, 0, 0] = alc_pre_p, alc_pre - alc_pre_p
        t[1, 1, 1], t[1, 0, 1] = alc_post_p, alc_post - alc_post_p
        self.targets = t
        target_m = np.zeros((2, 3, nm))  # hard in windows (groups 0/1), soft elsewhere
        for per_i in (0, 1):
            ms = np.flatnonzero(per == per_i)
            for co in (0, 1):
                for g in (0, 1):
                    target_m[co, g, ms] = largest_remainder(int(t[co, g, per_i]), self.m_dayw[ms])
        rng = self.rng_loop
        in_win = per >= 0
        mean_w = self.m_dayw[in_win].mean() if in_win.any() else 1.0
        for co in (0, 1):
            for g in (0, 1):
                avg = t[co, g].sum() / max(in_win.sum(), 1)
                soft = c.outside_window_share * avg * self.m_dayw[~in_win] / mean_w
                target_m[co, g, ~in_win] = rng.poisson(soft)
            # the excluded East Kent (sub_area_pilot_rest_excluded): soft, at its share of the pilot flow
            w = self.unit_w[co]
            pil = w[self.unit_group == 1].sum()
            ex = w[self.unit_group == 2].sum()
            if ex > 0 and pil > 0:
                lam = target_m[co, 1] * ex / pil
                target_m[co, 2] = rng.poisson(lam)
        self.target_m = target_m.astype(np.int64)
        self.minor_m = rng.poisson(c.under18_share * target_m).astype(np.int64)

    # ----------------------------------------------------------------- covariates
    def _new_person_attrs(self, rng, n: int, cohort: int, start: np.ndarray, minor: bool) -> dict:
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
        _, m, d = ymd(dob)
        dob = np.where((m == 2) & (d == 29), dob - 1, dob)
        inj = choice_rows(rng, P_INJECTING_HISTORY, grp)
        prev = rng.random(n) < np.where(minor, 0.05, P_PREVIOUSLY_TREATED[grp])
        return dict(female=female, dob=dob, drug=drug, inj=inj, prev=prev)

    def _covariates(self, rng, cohort, start, female, dob, drug, pinj, prev) -> dict:
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
        u = rng.random(n)
        inj = np.select(
            [pinj == 0, pinj == 1, pinj == 2],
            [np.where(u < 0.8, 0, 1), np.where(u < 0.9, 1, 0), np.where(u < 0.97, 2, 3)],
            np.where(u < 0.5, 3, 2),
        )
        u = rng.random(n)
        route = np.select(
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
        ref = choice_rows(rng, P_REFERRAL_SOURCE, grp)
        emp_row = np.where(grp <= 1, 0, np.where(grp == 6, 2, 1))
        emp = choice_rows(rng, P_EMPLOYMENT, emp_row)
        accom = rng.random(n) < P_ACCOMMODATION_NEED[grp]
        beta = DAYS_USED_BETA[grp]
        days = np.rint(28 * rng.beta(beta[:, 0], beta[:, 1])).astype(np.int64)
        mean = np.where(cohort == 1, 11.0, 10.0)
        qol = np.clip(np.rint(rng.normal(mean, 3.5)), 0, 20).astype(np.int64)
        psych = np.clip(np.rint(0.5 * (qol - mean) + rng.normal(mean, 3.0)), 0, 20).astype(np.int64)
        phys = np.clip(np.rint(0.4 * (qol - mean) + rng.normal(mean + 1, 3.0)), 0, 20).astype(np.int64)
        return dict(
            age=age, agegrp=agegrp, female=female, sub1=sub1, sub2=sub2, sub3=sub3, grp=grp, inj=inj,
            route=route, ref=ref, emp=emp, accom=accom, days=days, qol=qol, psych=psych, phys=phys, prev=prev,
        )  # fmt: skip

    @staticmethod
    def _xb(outcome: str, cov: dict) -> np.ndarray:
        c = COEFFICIENTS[outcome]
        return (
            np.take(c["age"], cov["agegrp"])
            + c["female"] * cov["female"]
            + np.take(c["grp"], cov["grp"])
            + np.take(c["inj"], cov["inj"])
            + c["prev"] * cov["prev"]
            + np.take(c["ref"], cov["ref"])
            + c["days"] * (cov["days"] - 14)
            + c["qol"] * (cov["qol"] - 10)
            + c["psych"] * (cov["psych"] - 10)
            + c["phys"] * (cov["phys"] - 10)
            + c["accom"] * cov["accom"]
        )

    def _lp(self, outcome: str, cohort, treated, post, area, xb) -> np.ndarray:
        a, b, d = self.icpt[outcome], self.bpost[outcome], self.logor[outcome]
        return (
            a[cohort, treated.astype(np.int64)]
            + b[cohort] * post
            + d[cohort] * (treated & post)
            + xb
            + self.re[outcome][area]
        )

    # ----------------------------------------------------------------- calibration
    def _init_model(self) -> None:
        self.icpt = {o: np.zeros((2, 2)) for o in OUTCOMES}
        self.bpost = {o: np.zeros(2) for o in OUTCOMES}
        self.logor = {
            o: np.log([getattr(self.p.effects.drug, o), getattr(self.p.effects.alcohol, o)]) for o in OUTCOMES
        }
        self.calibration: dict = {"drug": {}, "alcohol": {}}

    def _calibrate(self, outcome: str, cohort: int, samples: dict, weights: dict | None = None) -> None:
        """Intercepts so that pilot-pre, other-pre and other-post rates hit the targets.

        ``samples[(group, period)]`` holds (xb + area effect) for journeys of that cell.
        """
        name = ("drug", "alcohol")[cohort]
        tgt = getattr(getattr(self.p.rates, name), outcome)
        w = weights or {}
        a_p = solve_intercept(samples[(1, 0)], tgt.pilot_pre, w.get((1, 0)))
        a_o = solve_intercept(samples[(0, 0)], tgt.other_pre, w.get((0, 0)))
        b = solve_intercept(samples[(0, 1)] + a_o, tgt.other_post, w.get((0, 1)))
        d = self.logor[outcome][cohort]
        self.icpt[outcome][cohort] = (a_o, a_p)
        self.bpost[outcome][cohort] = b
        x = samples[(1, 1)]
        ww = w.get((1, 1))
        implied = float(np.average(sigmoid(a_p + b + d + x), weights=ww))
        self.calibration[name][outcome] = dict(
            targets=dataclasses.asdict(tgt),
            intercept_pilot=round(a_p, 6),
            intercept_other=round(a_o, 6),
            post_effect=round(b, 6),
            log_did_or=round(float(d), 6),
            did_or=round(float(np.exp(d)), 6),
            implied_pilot_post=round(implied, 6),
        )

    def _calibrate_loop_outcomes(self) -> None:
        """Calibrate the outcomes drawn during the journey simulation on a large fixed sample."""
        rng = self.rng_cal
        n = 20000
        for cohort in (0, 1):
            start = np.full(n, self.d_post, dtype=np.int64)
            att = self._new_person_attrs(rng, n, cohort, start, minor=False)
            prev = att["prev"] | (rng.random(n) < 0.35)  # about a third of journeys are re-presentations
            cov = self._covariates(
                rng, np.full(n, cohort), start, att["female"], att["dob"], att["drug"], att["inj"], prev
            )
            units = {
                g: choice(rng, np.where(self.unit_group == g, self.unit_w[cohort], 0.0), n) for g in (0, 1)
            }
            xb = {o: self._xb(o, cov) for o in ("initiation", "waiting", "completion", "drug_related_death")}

            def cells(o, xb=xb, units=units):
                return {
                    (g, per): xb[o] + self.re[o][self.unit_area[units[g]]] for g in (0, 1) for per in (0, 1)
                }

            for o in ("initiation", "completion", "completion_no_representation", "drug_related_death"):
                self._calibrate(o, cohort, cells(o if o != "completion_no_representation" else "completion"))
            # waiting is among starters: weight by the probability of starting
            pi = {}
            for g in (0, 1):
                for per in (0, 1):
                    tr = np.full(n, g == 1)
                    pst = np.full(n, per == 1)
                    lp = self._lp(
                        "initiation", np.full(n, cohort), tr, pst, self.unit_area[units[g]], xb["initiation"]
                    )
                    pi[(g, per)] = sigmoid(lp)
            self._calibrate("waiting", cohort, cells("waiting"), pi)

    def _refine_calibration(self) -> None:
        """Re-solve the simulated outcomes' intercepts on the journeys of a pilot run.

        The first calibration uses a sample of new clients, but the simulated journeys also
        include re-presentations (more opiate users, all previously treated). A pilot run at
        scale <= 0.15 (same seed, hence the same areas and area effects) gives the real
        covariate mix, and the intercepts are solved again on its adult window journeys.
        """
        pilot = _Generator(dataclasses.replace(self.p, scale=min(self.p.scale, 0.15)))
        pilot._areas()
        pilot._calendar()
        pilot._init_model()
        pilot._calibrate_loop_outcomes()
        pilot._simulate()
        J = pilot.J
        start = J["start"]
        period = np.full(len(start), -1)
        period[(start >= self.d_pre) & (start < self.d_post)] = 0
        period[(start >= self.d_post) & (start <= self.d_post_end)] = 1
        group = self.unit_group[J["unit"]]
        area = self.unit_area[J["unit"]]
        base = (J["age"] >= 18) & (period >= 0) & (group < 2)
        for cohort in (0, 1):
            cells = {
                (g, per): base & (J["cohort"] == cohort) & (group == g) & (period == per)
                for g in (0, 1)
                for per in (0, 1)
            }
            if min(int(c.sum()) for c in cells.values()) < 20:
                continue  # too few journeys to improve on the first calibration
            xb = {
                o: self._xb(o, J) + self.re[o][area]
                for o in ("initiation", "waiting", "completion", "drug_related_death")
            }
            xb["completion_no_representation"] = xb["completion"]
            for o in ("initiation", "completion", "completion_no_representation", "drug_related_death"):
                self._calibrate(o, cohort, {k: xb[o][m] for k, m in cells.items()})
            weights = {}
            for (g, per), m in cells.items():
                a = self.icpt["initiation"][cohort]
                lp = (
                    a[g]
                    + self.bpost["initiation"][cohort] * per
                    + self.logor["initiation"][cohort] * (g * per)
                    + xb["initiation"][m]
                )
                weights[(g, per)] = sigmoid(lp)
            self._calibrate("waiting", cohort, {k: xb["waiting"][m] for k, m in cells.items()}, weights)

    # ----------------------------------------------------------------- the month loop
    def _simulate(self) -> None:
        rng = self.rng_loop
        cap = int(self.target_m.sum() + self.minor_m.sum()) + 16
        self.P = _People(
            female=np.zeros(cap, bool), dob=np.zeros(cap, np.int64), drug=np.zeros(cap, np.int64),
            inj=np.zeros(cap, np.int64), prev=np.zeros(cap, bool), death=np.full(cap, NA, np.int64),
            drd=np.zeros(cap, bool),
        )  # fmt: skip
        buckets: dict[int, list[dict]] = {}
        chunks: list[dict] = []
        balance = np.zeros((2, 2), dtype=np.int64)  # cumulative target - realised, this period
        remaining = np.zeros((2, 2), dtype=np.int64)  # journeys still to start in this period
        self.count_mismatch = np.zeros((2, 2, 2), dtype=np.int64)
        self.n_dropped = 0
        self.n_forced = 0
        offset = 0
        for m in range(self.n_months):
            per = self.m_period[m]
            fo = buckets.pop(m, [])
            fo = {k: np.concatenate([f[k] for f in fo]) for k in fo[0]} if fo else None
            new_parts = []
            if fo is not None:
                keep = np.ones(len(fo["pid"]), dtype=bool)
                adult = age_years(self.P.dob[fo["pid"]], fo["start"]) >= 18
                fgrp = self.unit_group[fo["unit"]]
            for co in (0, 1):
                for g in (0, 1, 2):
                    if fo is not None:
                        sel = np.flatnonzero(adult & (fo["cohort"] == co) & (fgrp == g))
                    else:
                        sel = np.zeros(0, dtype=np.int64)
                    n_f = len(sel)
                    if per >= 0 and g < 2:
                        if m == 0 or self.m_period[m - 1] != per:
                            remaining[co, g] = self.targets[co, g, per]
                            balance[co, g] = 0
                        want = int(self.target_m[co, g, m] + balance[co, g])
                        if n_f > max(want, 0):
                            # too many re-presenters this month: drop ones no outcome depends on
                            cand = sel[fo["droppable"][sel]]
                            k = min(n_f - max(want, 0), len(cand))
                            if k:
                                keep[rng.choice(cand, size=k, replace=False)] = False
                                self.n_dropped += k
                                n_f -= k
                        if n_f > remaining[co, g]:
                            # only if the window's count could not be met otherwise (tiny scales)
                            kept = sel[keep[sel]]
                            k = n_f - int(remaining[co, g])
                            keep[rng.choice(kept, size=k, replace=False)] = False
                            self.n_forced += k
                            n_f -= k
                        n_new = max(0, min(want - n_f, int(remaining[co, g]) - n_f))
                        remaining[co, g] -= n_f + n_new
                        balance[co, g] = want - n_f - n_new
                        last = m + 1 >= self.n_months or self.m_period[m + 1] != per
                        if last:
                            self.count_mismatch[co, g, per] = remaining[co, g]
                    else:
                        n_new = max(0, int(self.target_m[co, g, m]) - n_f)
                    if n_new:
                        new_parts.append((co, g, n_new, False))
                    if self.minor_m[co, g, m]:
                        new_parts.append((co, g, int(self.minor_m[co, g, m]), True))
            parts = []
            if fo is not None and keep.any():
                k = np.flatnonzero(keep)
                parts.append(
                    dict(
                        pid=fo["pid"][k],
                        start=fo["start"][k],
                        cohort=fo["cohort"][k],
                        unit=fo["unit"][k],
                        follow=np.ones(len(k), bool),
                    )
                )
            for co, g, n_new, minor in new_parts:
                days, cdf = self.m_days[m]
                start = days[np.minimum(np.searchsorted(cdf, rng.random(n_new), side="right"), len(days) - 1)]
                w = np.where(self.unit_group == g, self.unit_w[co], 0.0)
                unit = choice(rng, w, n_new)
                att = self._new_person_attrs(rng, n_new, co, start, minor)
                pid = np.arange(self.P.n, self.P.n + n_new)
                for key, val in att.items():
                    getattr(self.P, key)[pid] = val
                self.P.n += n_new
                parts.append(
                    dict(
                        pid=pid,
                        start=start,
                        cohort=np.full(n_new, co),
                        unit=unit,
                        follow=np.zeros(n_new, bool),
                    )
                )
            if not parts:
                continue
            J = {k: np.concatenate([x[k] for x in parts]) for k in parts[0]}
            chunk, succ = self._journeys_month(rng, m, J, offset)
            chunks.append(chunk)
            offset += len(J["pid"])
            if succ is not None:
                sm = np.searchsorted(self.m_start, succ["start"], side="right") - 1
                for mm in np.unique(sm).tolist():
                    sel = sm == mm
                    buckets.setdefault(mm, []).append({k: v[sel] for k, v in succ.items()})
        self.J = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
        log.info(
            "simulated %d journeys of %d people (%d re-presentations dropped)",
            offset,
            self.P.n,
            self.n_dropped,
        )
        if self.count_mismatch.any():
            log.warning("journey counts off target by %s", self.count_mismatch.tolist())

    def _journeys_month(self, rng, m: int, J: dict, offset: int):
        p = self.p
        P = self.P
        n = len(J["pid"])
        pid, start, cohort, unit = J["pid"], J["start"], J["cohort"], J["unit"]
        cov = self._covariates(
            rng, cohort, start, P.female[pid], P.dob[pid], P.drug[pid], P.inj[pid], J["follow"] | P.prev[pid]
        )
        area = self.unit_area[unit]
        treated = self.unit_treated[unit]
        post = start >= self.d_post
        prob = {}
        for o in (
            "initiation",
            "waiting",
            "completion",
            "completion_no_representation",
            "drug_related_death",
        ):
            xb = self._xb(o, cov)
            prob[o] = sigmoid(self._lp(o, cohort, treated, post, area, xb))
        p_i, p_c, p_y = prob["initiation"], prob["completion"], prob["completion_no_representation"]
        self.clipped["completion_above_initiation"] = self.clipped.get(
            "completion_above_initiation", 0
        ) + int((p_c > p_i).sum())
        self.clipped["no_representation_above_completion"] = self.clipped.get(
            "no_representation_above_completion", 0
        ) + int((p_y > p_c).sum())
        init = rng.random(n) < p_i
        comp = init & (rng.random(n) < np.minimum(p_c / p_i, 1.0))
        norep = comp & (rng.random(n) < np.minimum(p_y / np.maximum(p_c, 1e-12), 1.0))
        wait = init & (rng.random(n) < prob["waiting"])
        triaged = rng.random(n) >= p.process.triage_missing
        tlag = np.minimum(rng.geometric(0.25, n) - 1, 14).astype(np.int64)
        u = rng.random(n)
        w = np.where(
            wait,
            23 + np.floor(u**1.7 * (tlag + 88 - 23 + 1)).astype(np.int64),
            tlag + np.floor(u * (20 - tlag + 1)).astype(np.int64),
        )
        w = np.where(init, w, NA)
        # discharge: non-starters, completers, non-completers (short or still in treatment at a year)
        grp = cov["grp"]
        u1, u2, u3 = rng.random(n), rng.random(n), rng.random(n)
        d_non = tlag + 7 + np.minimum(np.floor(rng.exponential(35.0, n)), 150).astype(np.int64)
        r_non = np.select([u1 < 0.55, u1 < 0.85, u1 < 0.92], [88, 85, 86], 87)
        beta_c = np.where(grp == 0, rng.beta(2.2, 1.6, n), rng.beta(1.6, 2.2, n))
        lo_c = np.where(init, w, 0) + 28
        d_comp = lo_c + np.floor((360 - lo_c) * beta_c).astype(np.int64)
        r_comp = self._completion_reason(cov["sub1"], u2)
        long_ = u3 < P_LONG_TREATMENT[grp]
        d_long = 370 + np.floor(rng.exponential(500.0, n)).astype(np.int64)
        u4 = rng.random(n)
        r_long = np.select(
            [u4 < 0.30, u4 < 0.72, u4 < 0.80, u4 < 0.93, u4 < 0.97], [r_comp, 85, 86, 87, 83], 84
        )
        lo_s = np.where(init, w, 0) + 7
        d_short = lo_s + np.floor((358 - lo_s) * rng.beta(1.1, 1.6, n)).astype(np.int64)
        r_short = np.select([u4 < 0.62, u4 < 0.74, u4 < 0.90, u4 < 0.96], [85, 86, 87, 83], 84)
        d = np.select([~init, comp, long_], [d_non, d_comp, d_long], d_short)
        reason = np.select([~init, comp, long_], [r_non, r_comp, r_long], r_short)
        D = start + d
        open_ = self.d_end < D
        D = np.where(open_, NA, D)
        reason = np.where(open_, -1, reason)
        comp_r = comp & ~open_
        # offered date: before the intervention, or before a declined start
        u5 = rng.random(n)
        offer = np.where(
            init, w - np.floor(u5 * (np.minimum(7, np.where(init, w, 0) - tlag) + 1)).astype(np.int64), NA
        )
        offer = np.where(init & (rng.random(n) < 0.08), NA, offer)
        dn = np.where(open_, 0, d)
        offer = np.where(
            ~init & (reason == 88), tlag + np.floor(u5 * np.maximum(dn - tlag, 1)).astype(np.int64), offer
        )
        # deaths within a year of the start (drug poisoning or other causes)
        p_od = P_OTHER_CAUSE_DEATH[cohort, cov["agegrp"]] * np.where(grp == 0, 1.5, 1.0)
        drd = rng.random(n) < prob["drug_related_death"]
        dies = drd | (rng.random(n) < p_od)
        lo = start + np.where(init, w, tlag) + 1
        lo = np.where(comp_r, np.maximum(lo, np.where(open_, 0, D) + 1), lo)
        hi = np.minimum(start + 365, self.d_end)
        dies &= ~(comp_r & ~norep) & (lo <= hi)
        t_d = np.where(dies, uniform_int(rng, lo, np.maximum(hi, lo)), NA)
        # the next journey (re-presentation)
        pr = p.process
        u6 = rng.random(n)
        mand = comp_r & ~norep
        gmax = np.minimum(175, self.d_end - np.where(open_, self.d_end, D))
        g_mand = 1 + np.floor(u6**1.3 * np.maximum(gmax, 1)).astype(np.int64)
        late = comp_r & norep & (rng.random(n) < pr.late_representation)
        g_late = 190 + np.floor(rng.exponential(400.0, n)).astype(np.int64)
        p_re = np.where(cohort == 0, pr.representation_drug, pr.representation_alcohol)
        nonc = ~comp_r & ~open_ & (rng.random(n) < p_re)
        g_non = (
            1
            + np.floor(rng.exponential(300.0, n)).astype(np.int64)
            + np.where(np.isin(reason, [83, 84]), 30, 0)
        )
        has = (mand & (gmax >= 1)) | late | nonc
        gap = np.select([mand, late], [g_mand, g_late], g_non)
        succ = np.where(has, np.where(open_, 0, D) + gap, NA)
        both = dies & has
        cancel_death = both & (succ < t_d)
        dies &= ~cancel_death
        drd &= dies
        t_d = np.where(dies, t_d, NA)
        has &= ~(dies & has)
        succ = np.where(has, succ, NA)
        cut = dies & (open_ | (t_d <= np.where(open_, t_d, D)))
        D = np.where(cut, t_d, D)
        reason = np.where(cut, 89, reason)
        P.death[pid[dies]] = t_d[dies]
        P.drd[pid[dies]] = drd[dies]
        chunk = dict(
            pid=pid, start=start, cohort=cohort, unit=unit, follow=J["follow"], month=np.full(n, m),
            init=init, wait=wait, comp=comp, norep=norep, triaged=triaged, tlag=tlag, w=w, offer=offer,
            D=D, reason=reason, death=t_d, drd_lat=drd, **cov,
        )  # fmt: skip
        if not has.any():
            return chunk, None
        k = np.flatnonzero(has)
        s = succ[k]
        # next month at the earliest, and never within 3 days of an 18th birthday
        s = np.where(s <= self.m_end[m], self.m_end[m] + 1 + rng.integers(0, 3, len(k)), s)
        b18 = birthday(P.dob[pid[k]], 18)
        s = np.where(np.abs(s - b18) <= 3, b18 + 4, s)
        ok = s <= self.d_end
        k, s = k[ok], s[ok]
        coh2 = np.where(rng.random(len(k)) < pr.cohort_switch, 1 - cohort[k], cohort[k])
        move = rng.random(len(k)) < pr.move_area
        unit2 = unit[k].copy()
        if move.any():
            cdf = np.cumsum(self.unit_w, axis=1)
            cdf /= cdf[:, -1:]
            u = rng.random(int(move.sum()))
            rows = coh2[move]
            unit2[move] = (u[:, None] >= cdf[rows]).sum(axis=1)
        succ_d = dict(
            pid=pid[k],
            start=s,
            cohort=coh2,
            unit=np.minimum(unit2, len(self.unit_area) - 1),
            droppable=~mand[k],
            prev_j=offset + k,
        )
        return chunk, succ_d

    @staticmethod
    def _completion_reason(sub1: np.ndarray, u: np.ndarray) -> np.ndarray:
        grp = SUBSTANCE_GROUP[sub1]
        opi_crack = grp <= 1
        alc = sub1 == ALCOHOL
        return np.select(
            [opi_crack, alc & (u < 0.75), alc & (u < 0.90), alc, u < 0.6],
            [80, 81, 82, 80, 80],
            82,
        )

    # ----------------------------------------------------------------- after the loop
    def _finish_journeys(self) -> None:
        """Order journeys by person, add deaths after the last journey, realise the journey outcomes."""
        J = self.J
        order = np.lexsort((J["start"], J["pid"]))
        J = {k: v[order] for k, v in J.items()}
        self.J = J
        pid, start = J["pid"], J["start"]
        n = len(pid)
        same_next = np.zeros(n, dtype=bool)
        same_next[:-1] = pid[1:] == pid[:-1]
        nxt = np.full(n, NA)
        nxt[:-1] = np.where(same_next[:-1], start[1:], NA)
        J["next_start"] = nxt
        J["last"] = ~same_next
        # deaths after the first year of a person's last journey
        rng = self.rng_post
        P = self.P
        lj = np.flatnonzero(J["last"] & (P.death[pid] == NA))
        frm = start[lj] + 366
        span = self.d_end - frm + 1
        h = LATER_DEATH_HAZARD[J["grp"][lj]] * LATER_DEATH_AGE_FACTOR[J["agegrp"][lj]]
        dies = (span > 0) & (rng.random(len(lj)) < 1 - np.exp(-h * np.maximum(span, 0) / 365.25))
        t = frm + np.floor(rng.random(len(lj)) * np.maximum(span, 1)).astype(np.int64)
        drd = rng.random(len(lj)) < LATER_DEATH_POISONING_SHARE[J["grp"][lj]]
        lj, t, drd = lj[dies], t[dies], drd[dies]
        P.death[pid[lj]] = t
        P.drd[pid[lj]] = drd
        D = J["D"]
        cut = (D[lj] == NA) | (D[lj] > t)
        D[lj[cut]] = t[cut]
        J["reason"][lj[cut]] = 89
        # realised journey outcomes (pipeline definitions on the true persons)
        Dv = D != NA
        comp = Dv & np.isin(J["reason"], [80, 81, 82]) & (D - start <= 365)
        rep = Dv & (nxt != NA) & (nxt - D <= 183)
        J["comp_r"] = comp
        J["norep_r"] = comp & ~rep
        J["adult"] = J["age"] >= 18
        per = np.full(n, -1)
        per[(start >= self.d_pre) & (start < self.d_post)] = 0
        per[(start >= self.d_post) & (start <= self.d_post_end)] = 1
        J["period"] = per
        J["treated"] = self.unit_treated[J["unit"]]
        J["group"] = self.unit_group[J["unit"]]
        J["area"] = self.unit_area[J["unit"]]

    def _episodes(self) -> None:
        """Cut journeys into episodes (transfers) and give them agencies and dates."""
        rng = self.rng_ep
        J = self.J
        n = len(J["pid"])
        start, D, init = J["start"], J["D"], J["init"]
        Dv = D != NA
        L = np.where(Dv, D, self.d_end) - start
        w = np.where(init, J["w"], 0)
        lo = w + 14
        hi = np.minimum(L, 400) - 28
        elig = init & (hi >= lo + 7)
        share = self.p.process.multi_episode_share
        p_t = min(1.0, share * n / max(int(elig.sum()), 1))
        two = elig & (rng.random(n) < p_t)
        three = two & (rng.random(n) < 0.2) & (hi - lo >= 90)
        n_ep = 1 + two.astype(np.int64) + three.astype(np.int64)
        mid = lo + (hi - lo) // 2
        t1 = np.where(
            three, uniform_int(rng, lo, np.maximum(mid, lo)), uniform_int(rng, lo, np.maximum(hi, lo))
        )
        t2 = uniform_int(rng, np.minimum(t1 + 35, hi), np.maximum(hi, t1 + 35))
        g1 = rng.integers(0, 21, n)
        g2 = rng.integers(0, 21, n)
        ej = np.repeat(np.arange(n), n_ep)
        first = np.concatenate([[0], np.cumsum(n_ep)[:-1]])
        ek = np.arange(len(ej)) - first[ej]
        ne = len(ej)
        last = ek == n_ep[ej] - 1
        s = start[ej]
        ref = s + np.select([ek == 0, ek == 1], [0, t1[ej] + g1[ej]], t2[ej] + g2[ej])
        dis = np.where(last, D[ej], s + np.where(ek == 0, t1[ej], t2[ej]))
        u = rng.random(ne)
        reason = np.where(last, J["reason"][ej], np.where(u < 0.85, 83, 84))
        # area: transfers (83) move area now and then; custody transfers (84) stay
        unit = J["unit"][ej].copy()
        moved = (ek >= 1) & (rng.random(ne) < 0.10)
        prev_reason = np.concatenate([[0], reason[:-1]])
        moved &= prev_reason == 83
        moved_j = np.zeros(n, dtype=bool)
        moved_j[ej[moved & (ek == 1)]] = True
        new_unit = choice(rng, self.unit_w[0], n)
        unit = np.where((ek >= 1) & moved_j[ej], new_unit[ej], unit)
        # agency: usually the person's usual agency in the area; a transfer goes elsewhere
        nag = self.unit_nag[unit]
        pid = J["pid"][ej]
        pref = (pid * 2654435761 + unit * 40503) % nag
        loc = np.where(rng.random(ne) < 0.75, pref, rng.integers(0, 1 << 30, ne) % nag)
        for k in (1, 2):
            sel = np.flatnonzero(ek == k)
            prev = loc[sel - 1]
            same = unit[sel] == unit[sel - 1]
            step = 1 + rng.integers(0, 1 << 30, len(sel)) % np.maximum(nag[sel] - 1, 1)
            loc[sel] = np.where(same, (prev + step) % nag[sel], loc[sel])
        agency = self.unit_ag0[unit] + loc
        # dates
        triaged = J["triaged"][ej]
        tri = np.where(ek == 0, s + J["tlag"][ej], ref + rng.integers(0, 6, ne))
        tri = np.where(triaged & ((ek == 0) | (rng.random(ne) < 0.8)), tri, NA)
        iv_lag = rng.integers(0, 8, ne)
        iv = np.where(ek == 0, np.where(init[ej], s + w[ej], NA), ref + iv_lag)
        off0 = np.where(J["offer"][ej] == NA, NA, s + J["offer"][ej])
        offk = np.where(
            rng.random(ne) < 0.9, ref + np.floor(rng.random(ne) * (iv_lag + 1)).astype(np.int64), NA
        )
        offer = np.where(ek == 0, off0, offk)
        self.E = dict(
            j=ej, k=ek, ref=ref, dis=dis, reason=reason, unit=unit, agency=agency, pid=pid, triage=tri,
            offer=offer, iv=iv, last=last,
        )  # fmt: skip
        J["n_ep"] = n_ep
        log.info("%d episodes (%d journeys with transfers)", ne, int(two.sum()))

    def _top_schedule(self) -> None:
        """Which TOP interviews exist and when: start, quarterly reviews in treatment, exit."""
        rng = self.rng_top
        pr = self.p.process
        J = self.J
        n = len(J["pid"])
        start, D, init = J["start"], J["D"], J["init"]
        Dv = D != NA
        end_eff = np.where(Dv, D, self.d_end + 1)
        s_date = start + J["tlag"]
        has_s = np.where(
            init, rng.random(n) < pr.start_top_initiated, rng.random(n) < pr.start_top_not_initiated
        )
        has_s &= (s_date <= self.d_end) & (s_date < end_eff)
        kmax = np.where(init, np.clip((end_eff - start - 3) // 91, 0, pr.max_reviews), 0)
        rj = np.repeat(np.arange(n), kmax)
        first = np.concatenate([[0], np.cumsum(kmax)[:-1]])
        rk = np.arange(len(rj)) - first[rj] + 1
        r_date = start[rj] + 91 * rk + 2 + np.floor(rng.random(len(rj)) * 19).astype(np.int64)
        ok = (r_date < end_eff[rj]) & (r_date <= self.d_end) & (rng.random(len(rj)) < pr.review_top)
        rj, rk, r_date = rj[ok], rk[ok], r_date[ok]
        in_win = rk <= 2  # days 93-111 and 184-202: inside the 91-273 review window
        has_rw = np.bincount(rj[in_win], minlength=n) > 0
        has_x = init & Dv & (J["reason"] != 89) & (rng.random(n) < pr.exit_top)
        J["has_start_top"] = has_s
        J["has_review_top"] = has_rw
        J["observed"] = has_s & has_rw
        self.T = dict(
            s=np.flatnonzero(has_s), s_date=s_date, rj=rj, rk=rk, r_date=r_date, x=np.flatnonzero(has_x)
        )

    def _late_outcomes(self) -> None:
        """Abstinence, non-injecting, housing and acquisitive crime (calibrated on the realised sample)."""
        from scipy.special import ndtr

        J = self.J
        rng = self.rng_post
        n = len(J["pid"])
        base = J["adult"] & (J["period"] >= 0)
        injector = J["inj"] == 0
        masks = {
            "abstinence": J["observed"],
            "non_injecting": J["observed"] & injector,
            "housing_problem": J["observed"],
            "acquisitive_crime": np.ones(n, dtype=bool),
        }
        post = J["start"] >= self.d_post
        prob = {}
        for o, mask in masks.items():
            xb = self._xb(o, J) + self.re[o][J["area"]]
            for c in (0, 1):
                coh = J["cohort"] == c
                samples = {}
                for g in (0, 1):
                    for per in (0, 1):
                        cell = base & coh & (J["group"] == g) & (J["period"] == per)
                        x = xb[cell & mask]
                        if len(x) < 5:
                            x = xb[cell] if cell.sum() >= 5 else np.zeros(1)
                        samples[(g, per)] = x
                self._calibrate(o, c, samples)
            prob[o] = sigmoid(
                self._lp(o, J["cohort"], J["treated"], post, J["area"], xb - self.re[o][J["area"]])
            )
        # abstinence and non-injecting are correlated (Gaussian copula), each with its exact margin
        z1 = rng.standard_normal(n)
        z2 = 0.5 * z1 + np.sqrt(1 - 0.25) * rng.standard_normal(n)
        J["abst"] = ndtr(z1) < prob["abstinence"]
        J["noninj"] = ndtr(z2) < prob["non_injecting"]
        J["housing"] = rng.random(n) < prob["housing_problem"]
        J["acq_lat"] = rng.random(n) < prob["acquisitive_crime"]

    def _tops(self) -> pd.DataFrame:
        """The TOP table, realising abstinence, non-injecting and housing at the window reviews."""
        rng = self.rng_top
        J, T, E = self.J, self.T, self.E
        n = len(J["pid"])
        tj = np.concatenate([T["s"], T["rj"], T["x"]])
        td = np.concatenate([T["s_date"][T["s"]], T["r_date"], J["D"][T["x"]]])
        ns, nrev, nx = len(T["s"]), len(T["rj"]), len(T["x"])
        stage = np.concatenate([np.zeros(ns, np.int8), np.ones(nrev, np.int8), np.full(nx, 2, np.int8)])
        win = np.concatenate([np.zeros(ns, bool), T["rk"] <= 2, np.zeros(nx, bool)])
        nr = len(tj)
        # the episode each interview belongs to: the journey's latest episode referred by then
        off = 30000
        ekey = E["j"] * 131072 + (E["ref"] + off)  # E is in (journey, episode) order
        e = np.searchsorted(ekey, tj * 131072 + (td + off), side="right") - 1
        order = date_order(rng, td)
        tj, td, stage, win, e = tj[order], td[order], stage[order], win[order], e[order]
        del order
        cols = {
            "top_id": string_col(id_array("TOP", np.arange(1, nr + 1), 9)),
            "episode_id": string_col(pc.take(self.ep_ids, pa.array(self.ep_rank[e]))),
            "top_date": date_col(td),
            "top_stage": code_col(("start", "review", "exit"), stage),
        }
        del e, td

        def rand() -> np.ndarray:
            return rng.random(nr, dtype=np.float32)

        first, later = stage == 0, stage > 0
        key_rows = first | win

        def miss(q: float) -> np.ndarray:
            return (rand() < q) & ~key_rows

        # the status each interview shows: the latent outcome at window reviews, related values elsewhere
        other = ~win & later
        abst = J["abst"][tj]
        abst = np.where(other, np.where(rand() < 0.7, abst, rand() < 0.4), abst)
        abst = np.where((stage == 2) & J["comp_r"][tj], rand() < 0.85, abst)
        noninj = J["noninj"][tj]
        noninj = np.where(other, np.where(rand() < 0.7, noninj, rand() < 0.5), noninj)
        hous = J["housing"][tj]
        hous = np.where(other, np.where(rand() < 0.7, hous, J["accom"][tj]), hous)
        # days of use: problem substances from the baseline, others mostly none
        prim = SUBSTANCE_DAY_COLUMN[J["sub1"]]
        problem = np.zeros((n, 7), dtype=bool)
        for key in ("sub1", "sub2", "sub3"):
            sub = J[key]
            ok = sub != NO_SUBSTANCE
            problem[np.flatnonzero(ok), SUBSTANCE_DAY_COLUMN[sub[ok]]] = True
        prim_r = prim[tj]
        used = np.zeros(nr, dtype=bool)
        day_cols = []
        for c in range(7):
            base = np.where(
                problem[:, c],
                1 + np.floor(27 * rng.beta(1.5, 2.0, n)),
                np.where(rng.random(n) < 0.15, 1 + np.floor(rng.random(n) * 8), 0),
            )
            base = np.where(prim == c, J["days"], base).astype(np.int8)[tj]
            pm = problem[tj, c]
            use = np.where(rand() < 0.65, 1 + np.floor(rand() * np.maximum(base, 1)), 0)
            nonp = np.where(rand() < 0.08, 1 + np.floor(rand() * 6), 0)
            val = np.where(pm, np.where(abst, 0, use), nonp).astype(np.int8)
            used |= pm & (val > 0)
            day_cols.append(np.where(first, base, val).astype(np.int8))
        fix = later & ~abst & ~used
        fill = (1 + np.floor(rand() * 20)).astype(np.int8)
        for c in range(7):
            day_cols[c] = np.where(fix & (prim_r == c), fill, day_cols[c])
        for c, name in enumerate(TOP_DAY_COLUMNS):
            cols[name] = int_col(day_cols[c], miss(0.01))
        del day_cols
        injector = (J["inj"] == 0)[tj]
        bi = (1 + np.floor(27 * rng.beta(3.0, 1.5, n))).astype(np.int8)[tj]
        inj_later = np.where(
            injector,
            np.where(noninj, 0, 1 + np.floor(rand() * 28)),
            np.where(rand() < 0.01, 1 + np.floor(rand() * 4), 0),
        )
        inj = np.where(first, np.where(injector, bi, 0), inj_later).astype(np.int8)
        cols["days_injected"] = int_col(inj, miss(0.01))
        cols["sharing"] = bool_col(rand() < 0.08, inj == 0)
        grp = J["grp"][tj]
        fac = np.where(first, 1.0, 0.5)
        for name, probs in (
            ("days_shop_theft", (0.25, 0.25, 0.08, 0.06, 0.08, 0.06, 0.03)),
            ("days_drug_selling", (0.08, 0.10, 0.06, 0.06, 0.05, 0.03, 0.01)),
            ("days_other_theft", (0.08, 0.08, 0.04, 0.03, 0.04, 0.03, 0.02)),
            ("days_assault", (0.05, 0.06, 0.05, 0.04, 0.05, 0.04, 0.06)),
        ):
            pos = rand() < np.take(probs, grp) * fac
            v = np.where(pos, 1 + np.floor(27 * rng.beta(1.0, 2.5, nr)), 0).astype(np.int8)
            cols[name] = int_col(v, rand() < 0.015)
        gain = np.where(first, 0.0, rng.normal(1.5, 2.5, nr).astype(np.float32))
        for name, key in (("psych_health", "psych"), ("phys_health", "phys"), ("quality_of_life", "qol")):
            noise = np.where(first, 0.0, rng.normal(0, 1.0, nr).astype(np.float32))
            v = np.clip(np.rint(J[key][tj] + gain + noise), 0, 20).astype(np.int8)
            cols[name] = int_col(v, rand() < 0.01)
        work = np.where(
            J["emp"][tj] == 0,
            8 + np.floor(rand() * 13),
            np.where(rand() < 0.02, 1 + np.floor(rand() * 5), 0),
        ).astype(np.int8)
        cols["days_paid_work"] = int_col(work, rand() < 0.015)
        cols["acute_housing_problem"] = bool_col(np.where(first, J["accom"][tj], hous), miss(0.01))
        cols["eviction_risk"] = bool_col(rand() < 0.08, rand() < 0.01)
        return pd.DataFrame(cols)

    # ----------------------------------------------------------------- names and registers
    def _names(self) -> None:
        pools = name_pools()
        (m_names, p_m), (f_names, p_f), (s_names, p_s) = pools["M"], pools["F"], pools["S"]
        self.fore_pool = np.concatenate([m_names, f_names]).astype("<U24")
        self.n_male_names = len(m_names)
        self.p_m, self.p_f = p_m, p_f
        self.sur_pool = s_names.astype("<U24")
        self.p_s = p_s
        self.fore_pa = pa.array(self.fore_pool, pa.string())
        self.sur_pa = pa.array(self.sur_pool, pa.string())
        rng = self.rng_ids
        n = self.P.n
        self.P_fore = self._forenames(rng, self.P.female[:n])
        self.P_sur = choice(rng, p_s, n)
        # each person's home area: the area of their last journey
        J = self.J
        home = np.zeros(n, dtype=np.int64)
        home[J["pid"][J["last"]]] = J["area"][J["last"]]
        self.P_home = home
        # area weights for unrelated people (population-like)
        self.area_w = np.bincount(self.unit_area, weights=self.unit_w[1], minlength=len(self.area_code))

    def _forenames(self, rng, female: np.ndarray) -> np.ndarray:
        n = len(female)
        return np.where(female, self.n_male_names + choice(rng, self.p_f, n), choice(rng, self.p_m, n))

    def _register_copy(self, rng, pids: np.ndarray) -> dict:
        """Clients' identifiers as a register holds them: full names, with recording errors."""
        nz = self.p.noise
        P = self.P
        k = len(pids)
        fem = P.female[pids]
        fn = self.fore_pool[self.P_fore[pids]]
        sn = self.sur_pool[self.P_sur[pids]]
        chg = fem & (rng.random(k) < nz.surname_change_female)
        sn = np.where(chg, self.sur_pool[choice(rng, self.p_s, k)], sn)
        err = rng.random(k) < nz.register_name_error
        kind = rng.integers(0, 4, k)
        swap = err & (kind == 0)
        fn, sn = np.where(swap, sn, fn), np.where(swap, fn, sn)
        tf, ts = err & (kind == 1), err & (kind >= 2)
        if tf.any():
            fn[tf] = name_errors(rng, fn[tf])
        if ts.any():
            sn[ts] = name_errors(rng, sn[ts])
        dob = P.dob[pids].copy()
        de = rng.random(k) < nz.register_dob_error
        dob[de] = dob_errors(rng, dob[de])
        sex = np.where(fem, 1, 0)
        sex = np.where(rng.random(k) < nz.register_sex_missing, -1, sex)
        area = self.P_home[pids].copy()
        moved = rng.random(k) < nz.register_area_move
        area[moved] = choice(rng, self.area_w, int(moved.sum()))
        if nz.register_area_move_same_region > 0:  # no extra draws by default: same data as before
            local = np.flatnonzero(moved)[rng.random(int(moved.sum())) < nz.register_area_move_same_region]
            area[local] = self._area_in_region(rng, self.P_home[pids[local]])
        area[rng.random(k) < nz.register_area_missing] = -1
        return dict(fn=fn, sn=sn, dob=dob, sex=sex, area=area)

    def _area_in_region(self, rng, home: np.ndarray) -> np.ndarray:
        """Another area of each home area's region, drawn by population (the home area itself if alone)."""
        region = np.asarray(self.area_region)
        out = home.copy()
        for r in np.unique(region[home]):
            rows = np.flatnonzero(region[home] == r)
            w = np.where(region == r, self.area_w, 0.0)
            for h in np.unique(home[rows]):
                at = rows[home[rows] == h]
                wh = w.copy()
                if (wh > 0).sum() > 1:
                    wh[h] = 0.0
                out[at] = choice(rng, wh, len(at))
        return out

    def _unrelated_people(self, rng, n: int, p_female: float | np.ndarray, dob: np.ndarray) -> dict:
        female = rng.random(n) < p_female
        fore = self._forenames(rng, female)
        sur = choice(rng, self.p_s, n)
        sex = np.where(rng.random(n) < self.p.noise.register_sex_missing, -1, female.astype(np.int64))
        area = choice(rng, self.area_w, n)
        area[rng.random(n) < self.p.noise.register_area_missing] = -1
        return dict(fore=fore, sur=sur, dob=dob, sex=sex, area=area)

    def _resampled_dobs(self, rng, n: int) -> np.ndarray:
        """Dates of birth from the clients' distribution (resampled and jittered)."""
        src = self.P.dob[: self.P.n]
        dob = src[rng.integers(0, len(src), n)] + np.rint(rng.normal(0, 600, n)).astype(np.int64)
        _, m, d = ymd(dob)
        return np.where((m == 2) & (d == 29), dob - 1, dob)

    def _deaths(self) -> dict:
        rng = self.rng_reg
        P, J = self.P, self.J
        r = self.p.registers
        dead = np.flatnonzero(P.death[: P.n] != NA)
        k = len(dead)
        copy = self._register_copy(rng, dead)
        last_cohort = np.zeros(P.n, dtype=np.int64)
        last_cohort[J["pid"][J["last"]]] = J["cohort"][J["last"]]
        drd = P.drd[dead]

        def causes(table: dict, m: int) -> np.ndarray:
            keys = np.array(list(table))
            return keys[choice(rng, np.array(list(table.values())), m)]

        c_drd = causes(DRUG_POISONING_CAUSES, k)
        c_drug = causes(CAUSES_DRUG_CLIENT_OTHER, k)
        c_alc = causes(CAUSES_ALCOHOL_CLIENT_OTHER, k)
        cause = np.where(drd, c_drd, np.where(last_cohort[dead] == 1, c_alc, c_drug))
        dod = P.death[dead]
        # unrelated deaths: the elderly, and people of the clients' ages
        nu = round(r.deaths_unrelated_ratio * k)
        eld = rng.random(nu) < r.deaths_elderly_share
        d_eld = uniform_int(rng, np.full(nu, day_number("1915-01-01")), np.full(nu, day_number("1950-12-31")))
        dob_u = np.where(eld, d_eld, self._resampled_dobs(rng, nu))
        dod_u = uniform_int(rng, np.full(nu, self.d_ref0), np.full(nu, self.d_end))
        dob_u = np.minimum(dob_u, dod_u - 6210)  # at least 17 years old
        _, m, d = ymd(dob_u)
        dob_u = np.where((m == 2) & (d == 29), dob_u - 1, dob_u)
        u = self._unrelated_people(rng, nu, np.where(eld, 0.5, 0.35), dob_u)
        cause_u = np.where(eld, causes(CAUSES_ELDERLY, nu), causes(CAUSES_WORKING_AGE, nu))
        # assemble (clients first, then unrelated; rows are re-ordered by date below)
        fn = pa.concat_arrays([pa.array(copy["fn"], pa.string()), pc.take(self.fore_pa, pa.array(u["fore"]))])
        sn = pa.concat_arrays([pa.array(copy["sn"], pa.string()), pc.take(self.sur_pa, pa.array(u["sur"]))])
        dob = np.concatenate([copy["dob"], dob_u])
        sex = np.concatenate([copy["sex"], u["sex"]])
        area = np.concatenate([copy["area"], u["area"]])
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
                "area_code": code_col(self.area_code, area[order]),
                "date_of_death": date_col(date[order]),
                "date_of_registration": date_col(date[order] + lag[order]),
                "underlying_cause": string_col(cause[order]),
            }
        )
        truth = pd.DataFrame({"death_id": string_col(ids), "true_person_id": self._person_ids(owner[order])})
        return dict(table=table, truth=truth, n_client=k, n_unrelated=nu)

    def _person_ids(self, pids: np.ndarray) -> pd.Series:
        pids = np.asarray(pids)
        return string_col(id_array("P", np.maximum(pids, 0) + 1, 8), na_mask=pids < 0)

    def _offences(self) -> dict:
        rng = self.rng_reg
        P, J = self.P, self.J
        r = self.p.registers
        nz = self.p.noise
        n = P.n
        off = 30000  # day offset for person-date keys
        # offences realising acquisitive crime within a year of a journey start
        # Planted offences stay out of the person's neighbouring journeys' windows, so that a
        # journey's realised outcome is its own planted one: they fall before the next
        # journey starts, and after the window of a previous journey without the outcome.
        # (Otherwise re-presentations, more frequent where completion fell, would carry
        # another journey's offences and bias the null DiD for crime.)
        nj = len(J["pid"])
        same_next = np.zeros(nj, dtype=bool)
        same_next[:-1] = J["pid"][1:] == J["pid"][:-1]
        next_start = np.where(same_next, np.roll(J["start"], -1), np.iinfo(np.int64).max // 2)
        same_prev = np.roll(same_next, 1)
        same_prev[0] = False
        prev_start = np.roll(J["start"], 1)
        prev_blocks = same_prev & ~np.roll(J["acq_lat"], 1) & (prev_start + 365 >= J["start"])
        lo_all = np.where(prev_blocks, prev_start + 366, J["start"])
        aj = np.flatnonzero(J["acq_lat"])
        death = P.death[J["pid"][aj]]
        hi = np.minimum(
            np.minimum(np.minimum(J["start"][aj] + 365, next_start[aj] - 1), self.d_end),
            np.where(death == NA, self.d_end, death - 1),
        )
        lo = lo_all[aj]
        ok = hi >= lo
        aj, hi, lo = aj[ok], hi[ok], lo[ok]
        per = 1 + rng.poisson(0.5, len(aj))
        oj = np.repeat(aj, per)
        a_pid = J["pid"][oj]
        a_date = uniform_int(rng, np.repeat(lo, per), np.repeat(hi, per))
        a_grp = choice(rng, P_ACQUISITIVE_GROUP, len(oj))
        # background offending over the register period
        grp_p = np.zeros(n, dtype=np.int64)
        grp_p[J["pid"][J["last"]]] = J["grp"][J["last"]]
        lam = (
            r.offending_rate
            * RELATIVE_OFFENDING[grp_p]
            * np.where(P.female[:n], 0.5, 1.0)
            * rng.gamma(0.8, 1 / 0.8, n)
        )
        lo = np.maximum(self.d_ref0, birthday(P.dob[:n], 12))
        hi = np.minimum(self.d_end, np.where(P.death[:n] == NA, self.d_end, P.death[:n] - 1))
        years = np.maximum(hi - lo + 1, 0) / 365.25
        nb = rng.poisson(lam * years)
        b_pid = np.repeat(np.arange(n), nb)
        b_date = uniform_int(rng, lo[b_pid], hi[b_pid])
        acq = rng.random(len(b_pid)) < 0.35
        b_grp = np.where(
            acq,
            choice(rng, P_ACQUISITIVE_GROUP, len(b_pid)),
            len(ACQUISITIVE) + choice(rng, P_OTHER_OFFENCE_GROUP, len(b_pid)),
        )
        # background acquisitive offences never fall inside a journey's 12-month window
        jkey = J["pid"] * 65536 + (J["start"] + off)
        bkey = b_pid * 65536 + (b_date + off)
        last = np.searchsorted(jkey, bkey, side="right") - 1
        inside = np.zeros(len(b_pid), dtype=bool)
        for back in range(4):  # every journey starting in the year before the offence
            idx = last - back
            safe = np.maximum(idx, 0)
            inside |= (idx >= 0) & (J["pid"][safe] == b_pid) & (b_date - J["start"][safe] <= 365)
        keep = ~(acq & inside)
        c_pid = np.concatenate([a_pid, b_pid[keep]])
        c_date = np.concatenate([a_date, b_date[keep]])
        c_grp = np.concatenate([a_grp, b_grp[keep]])
        nc = len(c_pid)
        # realised acquisitive crime per journey (first acquisitive offence on or after the start)
        is_acq = c_grp < len(ACQUISITIVE)
        akey = np.sort(c_pid[is_acq] * 65536 + (c_date[is_acq] + off))
        pos = np.searchsorted(akey, jkey, side="left")
        nxt = akey[np.minimum(pos, len(akey) - 1)] if len(akey) else np.zeros(len(jkey), np.int64)
        J["acq_r"] = (
            (pos < len(akey)) & (nxt // 65536 == J["pid"]) & ((nxt % 65536) - off - J["start"] <= 365)
        )
        # the offenders' PNC records: one register copy each, some using aliases
        offenders, oi = np.unique(c_pid, return_inverse=True)
        no = len(offenders)
        copy = self._register_copy(rng, offenders)
        alias_p = rng.random(no) < nz.pnc_alias_person
        akind = rng.integers(0, 3, no)
        afn = np.where(akind != 1, self.fore_pool[self._forenames(rng, P.female[offenders])], copy["fn"])
        asn = np.where(akind != 0, self.sur_pool[choice(rng, self.p_s, no)], copy["sn"])
        adob = np.where(rng.random(no) < 0.3, dob_errors(rng, copy["dob"]), copy["dob"])
        use = alias_p[oi] & (rng.random(nc) < nz.pnc_alias_record)
        name_idx = pa.array(np.where(use, oi + no, oi))
        fn_c = pc.take(pa.array(np.concatenate([copy["fn"], afn]), pa.string()), name_idx)
        sn_c = pc.take(pa.array(np.concatenate([copy["sn"], asn]), pa.string()), name_idx)
        dob_c = np.where(use, adob[oi], copy["dob"][oi])
        # unrelated offenders: same name, date-of-birth distributions, mostly men
        nu = round(r.offences_unrelated_ratio * nc)
        cnt = rng.geometric(0.55, int(nu / 1.8 * 1.2) + 20)
        while cnt.sum() < nu:
            cnt = np.concatenate([cnt, rng.geometric(0.55, len(cnt))])
        cs = np.cumsum(cnt)
        m = int(np.searchsorted(cs, nu))
        cnt = cnt[: m + 1]
        cnt[-1] -= int(cs[m] - nu)
        cnt = cnt[cnt > 0]
        nuo = len(cnt)
        dob_u = self._resampled_dobs(rng, nuo)
        dob_u = np.minimum(dob_u, self.d_end - 13 * 366)
        u = self._unrelated_people(rng, nuo, 0.15, dob_u)
        ui = np.repeat(np.arange(nuo), cnt)
        u_lo = np.maximum(self.d_ref0, birthday(dob_u, 12))[ui]
        u_date = uniform_int(rng, u_lo, np.full(len(ui), self.d_end))
        u_acq = rng.random(len(ui)) < 0.35
        u_grp = np.where(
            u_acq,
            choice(rng, P_ACQUISITIVE_GROUP, len(ui)),
            len(ACQUISITIVE) + choice(rng, P_OTHER_OFFENCE_GROUP, len(ui)),
        )
        # assemble, rows in date order (ids follow it, so they carry nothing else)
        date = np.concatenate([c_date, u_date])
        total = len(date)
        order = date_order(rng, date)
        date = date[order]
        o = pa.array(order)
        cols = {"offence_id": string_col(id_array("OFF", np.arange(1, total + 1), 9))}
        # PNC ids 'YY/NNNNNNNL', numbered in random order over offenders
        n_people = no + nuo
        seq = rng.permutation(n_people)
        yy = (rng.integers(80, 115, n_people) % 100).astype(np.int64)
        letters = np.array(list("ABCDEFGHJKLMNPQRTUVWXYZ"))
        pnc = pc.binary_join_element_wise(
            pc.utf8_lpad(pc.cast(pa.array(yy), pa.string()), 2, padding="0"),
            pc.utf8_lpad(pc.cast(pa.array(seq + 1), pa.string()), 7, padding="0"),
            "/",
        )
        pnc = pc.binary_join_element_wise(pnc, pa.array(letters[(seq * 7 + yy) % len(letters)]), "")
        person = np.concatenate([oi, no + ui])[order]  # PNC person number
        cols["pnc_id"] = string_col(pc.take(pnc, pa.array(person)))
        del pnc, person
        fn = pa.concat_arrays([fn_c, pc.take(self.fore_pa, pa.array(u["fore"][ui]))])
        cols["forename"] = string_col(pc.take(fn, o))
        sn = pa.concat_arrays([sn_c, pc.take(self.sur_pa, pa.array(u["sur"][ui]))])
        cols["surname"] = string_col(pc.take(sn, o))
        del fn, sn, fn_c, sn_c
        cols["date_of_birth"] = date_col(np.concatenate([dob_c, dob_u[ui]])[order])
        cols["sex"] = code_col(("M", "F"), np.concatenate([copy["sex"][oi], u["sex"][ui]])[order])
        cols["area_code"] = code_col(self.area_code, np.concatenate([copy["area"][oi], u["area"][ui]])[order])
        grp = np.concatenate([c_grp, u_grp])[order]
        caution = rng.random(total) < np.where(
            grp == OFFENCE_GROUPS.index("drugs_possession"),
            0.5,
            np.where(grp == OFFENCE_GROUPS.index("motoring"), 0.1, 0.3),
        )
        lag = np.where(
            caution, np.floor(rng.exponential(10.0, total)), 14 + np.floor(rng.exponential(90.0, total))
        ).astype(np.int64)
        cols["offence_date"] = date_col(date)
        cols["disposal_date"] = date_col(date + lag)
        cols["offence_group"] = code_col(OFFENCE_GROUPS, grp)
        cols["disposal"] = code_col(("caution", "conviction"), np.where(caution, 0, 1))
        del grp, caution, lag, date
        table = pd.DataFrame(cols)
        del cols
        owner = np.concatenate([c_pid, np.full(len(ui), -1)])[order]
        truth = pd.DataFrame({"offence_id": table["offence_id"], "true_person_id": self._person_ids(owner)})
        return dict(
            table=table,
            truth=truth,
            n_client=nc,
            n_unrelated=nu,
            n_client_offenders=no,
            n_unrelated_offenders=nuo,
        )

    # ----------------------------------------------------------------- NDTMS identifiers
    def _ndtms_identifiers(self) -> dict:
        """Attributor per (agency, client) record: initials, date of birth, sex, with noise; client ids."""
        rng = self.rng_noise
        nz = self.p.noise
        E, P = self.E, self.P
        key = E["agency"] * (P.n + 1) + E["pid"]
        pairs, inv = np.unique(key, return_inverse=True)
        npair = len(pairs)
        p_ag = pairs // (P.n + 1)
        p_pid = pairs % (P.n + 1)
        fi = np.array([s[0] for s in self.fore_pool.tolist()])[self.P_fore[p_pid]]
        si = np.array([s[0] for s in self.sur_pool.tolist()])[self.P_sur[p_pid]]
        letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
        li = np.array([SURNAME_INITIALS[x] for x in letters])
        err = rng.random(npair) < nz.ndtms_initial_error
        kind = rng.integers(0, 5, npair)
        rnd = letters[choice(rng, li, npair)]
        fi2 = np.where(err & (kind <= 1), rnd, fi)
        si2 = np.where(err & (kind >= 2) & (kind <= 3), rnd, si)
        swap = err & (kind == 4)
        fi2, si2 = np.where(swap, si, fi2), np.where(swap, fi, si2)
        miss = rng.random(npair) < nz.ndtms_initials_missing
        dob = P.dob[p_pid].copy()
        de = rng.random(npair) < nz.ndtms_dob_error
        dob[de] = dob_errors(rng, dob[de])
        # a recorded date of birth never changes whether a journey's first episode is an adult's
        first = np.flatnonzero(E["k"] == 0)
        s = E["ref"][first]
        true_adult = age_years(P.dob[E["pid"][first]], s) >= 18
        rec_adult = age_years(dob[inv[first]], s) >= 18
        dob[inv[first][true_adult != rec_adult]] = P.dob[p_pid[inv[first][true_adult != rec_adult]]]
        dob = np.minimum(dob, self._first_ref_of_pair(inv, npair))
        sex = np.where(P.female[p_pid], 1, 0)
        sex = np.where(rng.random(npair) < nz.ndtms_sex_missing, -1, sex)
        # client ids: numbered within agency in order of first referral (not unique across agencies)
        first_ref = self._first_ref_of_pair(inv, npair)
        o = np.lexsort((first_ref, p_ag))
        rank = np.empty(npair, dtype=np.int64)
        start_of_ag = np.searchsorted(p_ag[o], p_ag[o], side="left")
        rank[o] = np.arange(npair) - start_of_ag
        base = rng.integers(1, 20000, self.n_agencies)
        client = base[p_ag] + rank
        return dict(inv=inv, fi=fi2, si=si2, miss=miss, dob=dob, sex=sex, client=client)

    def _first_ref_of_pair(self, inv: np.ndarray, npair: int) -> np.ndarray:
        out = np.full(npair, np.iinfo(np.int64).max)
        np.minimum.at(out, inv, self.E["ref"])
        return out

    # ----------------------------------------------------------------- assembly
    def _episode_order(self) -> None:
        """Output order of the episodes (by referral date) and their ids."""
        ne = len(self.E["j"])
        order = date_order(self.rng_ids, self.E["ref"])
        rank = np.empty(ne, dtype=np.int64)
        rank[order] = np.arange(ne)
        self.ep_order, self.ep_rank = order, rank
        self.ep_ids = id_array("EP", np.arange(1, ne + 1), 8)

    def _episode_table(self, ident: dict) -> pd.DataFrame:
        rng = self.rng_ids
        E, J = self.E, self.J
        ne = len(E["j"])
        j = E["j"]
        later = E["k"] >= 1
        inv = ident["inv"]
        order, ids = self.ep_order, self.ep_ids

        def nulls(q):
            return rng.random(ne) < q

        ref_src = np.where(later, 4, J["ref"][j])
        prev = np.where(later, True, J["prev"][j])
        cols = {
            "episode_id": string_col(ids),
            "client_id": string_col(
                pc.utf8_lpad(pc.cast(pa.array(ident["client"][inv][order]), pa.string()), 7, padding="0")
            ),
            "agency_id": string_col(pc.take(self.agency_codes, pa.array(E["agency"][order]))),
            "area_code": code_col(self.area_code, self.unit_area[E["unit"]][order]),
            "sub_area": code_col(
                ("", "west_kent", "east_kent"),
                np.where(self.unit_sub[E["unit"]] == 0, -1, self.unit_sub[E["unit"]])[order],
            ),
            "initial_first": string_col(ident["fi"][inv][order], ident["miss"][inv][order]),
            "initial_surname": string_col(ident["si"][inv][order], ident["miss"][inv][order]),
            "date_of_birth": date_col(ident["dob"][inv][order]),
            "sex": code_col(("M", "F"), ident["sex"][inv][order]),
            "referral_date": date_col(E["ref"][order]),
            "triage_date": date_col(E["triage"][order]),
            "first_offered_date": date_col(E["offer"][order]),
            "first_intervention_date": date_col(E["iv"][order]),
            "discharge_date": date_col(E["dis"][order]),
            "discharge_reason": int_col(E["reason"][order], (E["reason"] < 0)[order]),
            "substance_1": code_col(SUBSTANCES, J["sub1"][j][order]),
            "substance_2": code_col(SUBSTANCES, np.where(J["sub2"] == NO_SUBSTANCE, -1, J["sub2"])[j][order]),
            "substance_3": code_col(SUBSTANCES, np.where(J["sub3"] == NO_SUBSTANCE, -1, J["sub3"])[j][order]),
            "route": code_col(ROUTES, np.where(nulls(0.02), -1, J["route"][j])[order]),
            "injecting_status": code_col(INJECTING, np.where(nulls(0.01), -1, J["inj"][j])[order]),
            "referral_source": code_col(REFERRAL_SOURCES, np.where(nulls(0.02), -1, ref_src)[order]),
            "previously_treated": bool_col(prev[order], nulls(0.01)[order]),
            "accommodation_need": bool_col(J["accom"][j][order], nulls(0.02)[order]),
            "employment": code_col(EMPLOYMENT, np.where(nulls(0.03), -1, J["emp"][j])[order]),
        }
        return pd.DataFrame(cols)

    def _areas_table(self) -> pd.DataFrame:
        n = len(self.area_code)
        sub = np.full(n, -1)
        sub[self.kent] = 0
        return pd.DataFrame(
            {
                "area_code": string_col(np.array(self.area_code)),
                "area_name": string_col(np.array(self.area_name)),
                "region": string_col(np.array(self.area_region)),
                "pilot": bool_col(self.area_pilot),
                "pilot_sub_area": code_col(("west_kent",), sub),
            }
        )

    def _truth_journeys(self, deaths: dict) -> pd.DataFrame:
        J, P = self.J, self.P
        n = len(J["pid"])
        death = P.death[J["pid"]]
        drd_r = P.drd[J["pid"]] & (death != NA) & (death - J["start"] >= 0) & (death - J["start"] <= 365)
        J["drd_r"] = drd_r
        Dv = J["D"] != NA
        injector = J["inj"] == 0
        obs = J["observed"]
        never = np.zeros(n, dtype=bool)
        declined = Dv & (J["reason"] == 88) & (J["D"] - J["start"] <= 365)
        self.outcome_arrays = {
            "initiation": (J["init"], ~J["triaged"]),
            "waiting": (J["wait"], ~J["init"]),
            "completion": (J["comp_r"], never),
            "completion_no_representation": (J["norep_r"], never),
            "abstinence": (J["abst"], ~obs),
            "non_injecting": (J["noninj"], ~(obs & injector)),
            "housing_problem": (J["housing"], ~obs),
            "drug_related_death": (drd_r, never),
            "acquisitive_crime": (J["acq_r"], never),
            "representation": (J["comp_r"] & ~J["norep_r"], ~J["comp_r"]),
            "declined": (declined, never),
        }
        outcome_cols = {o: bool_col(v, na) for o, (v, na) in self.outcome_arrays.items()}
        cohort = np.where(J["cohort"] == 1, "alcohol", "drug")
        period = np.select([J["period"] == 0, J["period"] == 1], ["pre", "post"], "outside")
        return pd.DataFrame(
            {
                "true_journey_id": string_col(id_array("J", np.arange(1, n + 1), 8)),
                "true_person_id": self._person_ids(J["pid"]),
                "cohort": string_col(cohort),
                "pilot": bool_col(J["treated"]),
                "period": string_col(period),
                "adult": bool_col(J["adult"]),
                "in_study": bool_col(J["adult"] & (J["period"] >= 0) & (J["group"] < 2)),
                "area_code": code_col(self.area_code, J["area"]),
                "sub_area": code_col(
                    ("", "west_kent", "east_kent"),
                    np.where(self.unit_sub[J["unit"]] == 0, -1, self.unit_sub[J["unit"]]),
                ),
                "start_date": date_col(J["start"]),
                "end_date": date_col(J["D"]),
                "discharge_reason": int_col(J["reason"], J["reason"] < 0),
                "n_episodes": int_col(J["n_ep"]),
                "age": int_col(J["age"]),
                "age_group": code_col(AGE_GROUPS, J["agegrp"]),
                "female": bool_col(J["female"]),
                "substance_group": code_col(SUBSTANCE_GROUPS, J["grp"]),
                "injecting": code_col(INJECTING, J["inj"]),
                "previously_treated": bool_col(J["prev"]),
                "referral_source": code_col(REFERRAL_SOURCES, J["ref"]),
                "accommodation_need": bool_col(J["accom"]),
                "baseline_days_primary": int_col(J["days"]),
                "baseline_quality_of_life": int_col(J["qol"]),
                "baseline_psych_health": int_col(J["psych"]),
                "baseline_phys_health": int_col(J["phys"]),
                "has_start_top": bool_col(J["has_start_top"]),
                "has_review_top": bool_col(J["has_review_top"]),
                **outcome_cols,
            }
        )

    def _effects(self, n_truth: int, deaths: dict, offences: dict, n_rows: dict) -> dict:
        J = self.J
        realised: dict = {}
        counts: dict = {}
        ins = J["adult"] & (J["period"] >= 0) & (J["group"] < 2)
        for ci, cohort in enumerate(("drug", "alcohol")):
            realised[cohort] = {}
            cells = {
                f"{gname}_{per}": ins & (J["cohort"] == ci) & (J["treated"] == g) & (J["period"] == pi)
                for g, gname in ((True, "pilot"), (False, "other"))
                for pi, per in ((0, "pre"), (1, "post"))
            }
            for o, (value, na) in self.outcome_arrays.items():
                cell: dict = {}
                for key, m in cells.items():
                    v = value[m & ~na]
                    cell[key] = {"n": len(v), "rate": round(float(v.mean()), 6) if len(v) else None}
                r = {k: cell[k]["rate"] for k in cell}
                if all(x is not None and 0 < x < 1 for x in r.values()):
                    odds = {k: x / (1 - x) for k, x in r.items()}
                    cell["raw_did_or"] = round(
                        odds["pilot_post"] / odds["pilot_pre"] / (odds["other_post"] / odds["other_pre"]), 6
                    )
                realised[cohort][o] = cell
            counts[cohort] = {k: int(m.sum()) for k, m in cells.items()}
        t = self.targets
        targets = {
            cohort: {
                f"{g}_{per}": int(t[ci, gi, pi])
                for g, gi in (("pilot", 1), ("other", 0))
                for per, pi in (("pre", 0), ("post", 1))
            }
            for ci, cohort in enumerate(("drug", "alcohol"))
        }
        did = {cohort: dataclasses.asdict(getattr(self.p.effects, cohort)) for cohort in ("drug", "alcohol")}
        return {
            "did_or": did,
            "calibration": self.calibration,
            "realised": realised,
            "counts": {"targets": targets, "realised": counts, "journeys_total": n_truth},
            "registers": {
                "deaths_client": deaths["n_client"],
                "deaths_unrelated": deaths["n_unrelated"],
                "offences_client": offences["n_client"],
                "offences_unrelated": offences["n_unrelated"],
                "offenders_client": offences["n_client_offenders"],
                "offenders_unrelated": offences["n_unrelated_offenders"],
            },
            "rows": n_rows,
            "persons": int(self.P.n),
            "representations_dropped": int(self.n_dropped),
            "representations_dropped_forced": int(self.n_forced),
            "clipped_probabilities": dict(sorted(self.clipped.items())),
            "model": {
                "coefficients": {
                    o: {k: list(v) if isinstance(v, tuple) else v for k, v in c.items()}
                    for o, c in COEFFICIENTS.items()
                },
                "levels": {
                    "age_group": AGE_GROUPS,
                    "substance_group": SUBSTANCE_GROUPS,
                    "injecting": INJECTING,
                    "referral_source": REFERRAL_SOURCES,
                },
                "centring": {"baseline_days_primary": 14, "scores": 10},
                "area_sd": self.p.process.area_sd,
            },
            "params": self.p.to_dict(),
        }

    # ----------------------------------------------------------------- driver
    def run(self) -> SyntheticExtract:
        with _stage("simulate journeys"):
            self._areas()
            self._calendar()
            self._init_model()
            self._calibrate_loop_outcomes()
            self._refine_calibration()
            self._simulate()
            self._finish_journeys()
        with _stage("episodes and TOP"):
            self._episodes()
            self._top_schedule()
            self._late_outcomes()
            self._episode_order()
            top = self._tops()
            del self.T
        with _stage("registers"):
            self._names()
            deaths = self._deaths()
            offences = self._offences()
        with _stage("episode table"):
            episodes = self._episode_table(self._ndtms_identifiers())
            ep_truth = pd.DataFrame(
                {
                    "episode_id": episodes["episode_id"],
                    "true_person_id": self._person_ids(self.E["pid"][self.ep_order]),
                    "true_journey_id": string_col(id_array("J", self.E["j"][self.ep_order] + 1, 8)),
                }
            )
            del self.E, self.ep_order, self.ep_rank, self.ep_ids
        tables = {
            "areas": self._areas_table(),
            "ndtms_episodes": episodes,
            "ndtms_top": top,
            "ons_deaths": deaths.pop("table"),
            "pnc_offences": offences.pop("table"),
        }
        for name, df in tables.items():
            expected = TABLES[name].column_names
            if list(df.columns) != expected:  # pragma: no cover - guards the contract
                raise AssertionError(f"{name}: columns {list(df.columns)} != contract {expected}")
        with _stage("truth"):
            journeys = self._truth_journeys(deaths)
            truth = {
                "episode_person": ep_truth,
                "death_person": deaths.pop("truth"),
                "offence_person": offences.pop("truth"),
                "journeys": journeys,
            }
            n_rows = {name: len(df) for name, df in tables.items()}
            effects = self._effects(len(journeys), deaths, offences, n_rows)
        del self.J
        return SyntheticExtract(tables=tables, truth=truth, effects=effects)
