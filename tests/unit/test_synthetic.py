"""Tests of the synthetic extract generator (pbr.synthetic): contract, counts, truth, effects.

Everything runs at small scale (0.01-0.1) so that the file takes well under a minute.
The pipeline's definitions are re-implemented here, independently and plainly, so that
the generator is checked against the study's rules rather than against itself.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from extract_hashes import table_hash

from pbr.contract import SUBSTANCE_TOP_COLUMN, TABLES
from pbr.registry.published import PUBLISHED_ALCOHOL_JOURNEYS, PUBLISHED_JOURNEYS
from pbr.synthetic import generator, params

PUBLISHED = PUBLISHED_JOURNEYS  # adult journeys starting in each window (Jones 2018)
ALCOHOL = PUBLISHED_ALCOHOL_JOURNEYS  # the final report
ACQUISITIVE = [
    "theft_shoplifting",
    "theft_other",
    "burglary",
    "robbery",
    "vehicle",
    "fraud_forgery",
    "handling",
]
POISONING = ("F11", "F12", "F13", "F14", "F15", "F16", "F18", "F19", "X40", "X41", "X42", "X43", "X44",
             "X60", "X61", "X62", "X63", "X64", "X85", "Y10", "Y11", "Y12", "Y13", "Y14")  # fmt: skip
SUBSTANCE_DAYS = SUBSTANCE_TOP_COLUMN
DTYPES = {"string": "string", "int": "Int64", "bool": "boolean", "date": "datetime64[s]"}


@pytest.fixture(scope="module")
def small() -> generator.SyntheticExtract:
    return generator.generate(params.SyntheticParams(scale=0.02, seed=7))


@pytest.fixture(scope="module")
def journeys(small) -> pd.DataFrame:
    """Journeys built from the episodes by the pipeline's rule, grouped by the true person."""
    return build_journeys(small)


def build_journeys(ex: generator.SyntheticExtract) -> pd.DataFrame:
    ep = ex.tables["ndtms_episodes"].merge(ex.truth["episode_person"], on="episode_id", validate="1:1")
    ep = ep.sort_values(["true_person_id", "referral_date", "episode_id"], kind="mergesort").reset_index(
        drop=True
    )
    person = ep["true_person_id"].to_numpy(dtype=object)
    same = np.r_[False, person[1:] == person[:-1]]
    gap = (ep["referral_date"] - ep["discharge_date"].shift()).dt.days
    transfer = ep["discharge_reason"].shift().isin([83, 84]).to_numpy(dtype=bool, na_value=False)
    cont = same & transfer & gap.between(0, 21).to_numpy(dtype=bool, na_value=False)
    ep["built"] = np.cumsum(~cont)
    g = ep.groupby("built", sort=True)
    first, last = g.head(1).set_index("built"), g.tail(1).set_index("built")
    j = pd.DataFrame(
        {
            "true_person_id": first["true_person_id"],
            "true_journey_id": first["true_journey_id"],
            "n_true": g["true_journey_id"].nunique(),
            "start": first["referral_date"],
            "end": last["discharge_date"],
            "reason": last["discharge_reason"],
            "triage": first["triage_date"],
            "intervention": g["first_intervention_date"].min(),
            "area_code": first["area_code"],
            "sub_area": first["sub_area"],
            "dob": first["date_of_birth"],
            "substances": first[["substance_1", "substance_2", "substance_3"]].values.tolist(),
            "cohort": np.where(first["substance_1"].eq("alcohol"), "alcohol", "drug"),
        }
    )
    areas = ex.tables["areas"].set_index("area_code")
    j["pilot"] = j["area_code"].map(areas["pilot"]).astype(bool)
    age = j["start"].dt.year - j["dob"].dt.year
    before = (j["start"].dt.month < j["dob"].dt.month) | (
        (j["start"].dt.month == j["dob"].dt.month) & (j["start"].dt.day < j["dob"].dt.day)
    )
    j["adult"] = (age - before.astype(int)) >= 18
    j["period"] = np.select(
        [
            j["start"].between(pd.Timestamp("2010-04-01"), pd.Timestamp("2012-03-31")),
            j["start"].between(pd.Timestamp("2012-04-01"), pd.Timestamp("2014-03-31")),
        ],
        ["pre", "post"],
        "outside",
    )
    j["episodes"] = g.size()
    return j.reset_index()


# --------------------------------------------------------------------------- contract


def test_tables_follow_the_contract(small):
    assert set(small.tables) == set(TABLES)
    for name, table in TABLES.items():
        df = small.tables[name]
        assert list(df.columns) == table.column_names, name
        assert len(df) > 0
        for col in table.columns:
            s = df[col.name]
            assert str(s.dtype) == DTYPES[col.dtype], (name, col.name, s.dtype)
            if not col.nullable:
                assert s.notna().all(), (name, col.name)
            if col.codes is not None:
                assert s.dropna().isin(col.codes).all(), (name, col.name, set(s.dropna()) - set(col.codes))
            if col.minimum is not None:
                assert (s.dropna() >= col.minimum).all() and (s.dropna() <= col.maximum).all(), (
                    name,
                    col.name,
                )
            if col.dtype == "date":
                assert (s.dropna() == s.dropna().dt.normalize()).all(), (name, col.name)
        assert not df.duplicated(list(table.key)).any(), name
        for a, b in table.date_orders:
            both = df[a].notna() & df[b].notna()
            assert (df.loc[both, a] <= df.loc[both, b]).all(), (name, a, b)
    today = pd.Timestamp("2015-03-31")
    for name in ("ndtms_episodes", "ons_deaths", "pnc_offences"):
        assert (small.tables[name]["date_of_birth"].dropna() < today).all()


def test_references_and_identifiers(small):
    t = small.tables
    areas = set(t["areas"]["area_code"])
    assert len(areas) == 149 and t["areas"]["pilot"].sum() == 8
    kent = t["areas"][t["areas"]["area_name"] == "Kent"]
    assert kent["pilot_sub_area"].tolist() == ["west_kent"]
    ep = t["ndtms_episodes"]
    assert set(ep["area_code"]) <= areas
    assert set(ep["episode_id"]) >= set(t["ndtms_top"]["episode_id"])
    for reg in ("ons_deaths", "pnc_offences"):
        assert set(t[reg]["area_code"].dropna()) <= areas
    kent_ep = ep["area_code"].eq(kent["area_code"].iloc[0])
    assert set(ep.loc[kent_ep, "sub_area"]) == {"west_kent", "east_kent"}
    assert ep.loc[~kent_ep, "sub_area"].isna().all()
    # initials are single capitals; register names are full names
    assert ep["initial_first"].dropna().str.fullmatch("[A-Z]").all()
    assert t["ons_deaths"]["surname"].dropna().str.len().gt(1).mean() > 0.99
    # client ids are agency-local: one per person within an agency, reused across agencies
    e = ep.merge(small.truth["episode_person"], on="episode_id")
    assert e.groupby(["agency_id", "true_person_id"])["client_id"].nunique().eq(1).all()
    assert e.groupby(["agency_id", "client_id"])["true_person_id"].nunique().eq(1).all()
    assert ep.groupby("client_id")["agency_id"].nunique().max() > 1
    sizes = ep.groupby("area_code").size()
    assert sizes.max() > 3.5 * sizes.median() and sizes.min() < 0.35 * sizes.median()  # sizes vary


def test_outcome_codes_in_records(small):
    ep = small.tables["ndtms_episodes"]
    assert ep["discharge_reason"].isna().any()  # some episodes still open at the extract date
    assert ep["discharge_date"].isna().eq(ep["discharge_reason"].isna()).all()
    causes = small.tables["ons_deaths"]["underlying_cause"]
    assert causes.str.fullmatch(r"[A-Z][0-9]{2,3}").all()
    assert causes.str[:3].isin(POISONING).any() and (~causes.str[:3].isin(POISONING)).any()


# --------------------------------------------------------------------------- journeys and counts


def test_journey_rule_recovers_true_journeys(small, journeys):
    assert (journeys["n_true"] == 1).all()
    assert journeys["true_journey_id"].is_unique
    assert set(journeys["true_journey_id"]) == set(small.truth["journeys"]["true_journey_id"])
    tj = small.truth["journeys"].set_index("true_journey_id").loc[journeys["true_journey_id"]]
    assert (tj["start_date"].to_numpy() == journeys["start"].to_numpy()).all()
    assert (tj["n_episodes"].to_numpy() == journeys["episodes"].to_numpy()).all()
    assert (tj["cohort"].to_numpy() == journeys["cohort"]).all()
    assert (tj["pilot"].to_numpy() == journeys["pilot"].to_numpy()).all()
    assert (tj["adult"].to_numpy() == journeys["adult"].to_numpy()).all()
    multi = (journeys["episodes"] > 1).mean()
    assert 0.06 < multi < 0.14
    per_person = journeys.groupby("true_person_id").size()
    assert per_person.max() >= 3 and (per_person > 1).mean() > 0.1


def test_counts_match_published_at_scale(journeys):
    scale = 0.02
    adult = journeys[journeys["adult"] & journeys["period"].ne("outside")]
    counts = adult.groupby(["cohort", np.where(adult["pilot"], "pilot", "other"), "period"]).size()
    for key, n in PUBLISHED.items():
        assert counts[key] == round(n * scale), key
    for per, n in ALCOHOL.items():
        assert counts[("alcohol", "pilot", per)] + counts[("alcohol", "other", per)] == round(n * scale)
        assert 0.05 < counts[("alcohol", "pilot", per)] / round(n * scale) < 0.09
    # extras the pipeline excludes: under-18s and journeys outside the windows
    assert (~journeys["adult"]).sum() > 0
    assert (journeys["period"] == "outside").sum() > 0.05 * len(journeys)
    assert journeys["start"].min() >= pd.Timestamp("2009-04-01")
    assert journeys["start"].max() <= pd.Timestamp("2015-03-31")


def test_cohort_and_client_mix(small, journeys):
    drug = journeys[journeys["cohort"] == "drug"]
    s1 = drug["substances"].str[0]
    assert 0.5 < s1.isin(["heroin", "methadone", "other_opiate"]).mean() < 0.72
    assert (
        drug["substances"].apply(lambda s: any(x == "alcohol" for x in s[1:] if isinstance(x, str))).mean()
        > 0.03
    )
    tj = small.truth["journeys"]
    assert 0.62 < 1 - tj.loc[tj["cohort"] == "drug", "female"].mean() < 0.78
    assert 0.52 < 1 - tj.loc[tj["cohort"] == "alcohol", "female"].mean() < 0.68
    opiate = tj[(tj["cohort"] == "drug") & (tj["substance_group"] == "opiate")]
    assert 0.2 < (opiate["injecting"] == "current").mean() < 0.4
    dob = small.tables["ndtms_episodes"]["date_of_birth"]
    drug_ep = small.tables["ndtms_episodes"]["substance_1"] != "alcohol"
    assert dob[drug_ep].dt.year.between(1960, 1990).mean() > 0.75


# --------------------------------------------------------------------------- outcomes realised in the records


def derive_outcomes(ex: generator.SyntheticExtract, j: pd.DataFrame) -> pd.DataFrame:
    """The study's outcome definitions applied to the records (true persons, default settings)."""
    out = pd.DataFrame({"true_journey_id": j["true_journey_id"]})
    out["treatment_initiation"] = ((j["intervention"] - j["triage"]).dt.days.between(0, 90)).where(
        j["triage"].notna()
    )
    out["waiting_over_3_weeks"] = ((j["intervention"] - j["start"]).dt.days > 21).where(
        j["intervention"].notna()
    )
    comp = j["reason"].isin([80, 81, 82]).fillna(False) & ((j["end"] - j["start"]).dt.days <= 365).fillna(
        False
    )
    out["successful_completion"] = comp
    nxt = j.sort_values(["true_person_id", "start"]).groupby("true_person_id")["start"].shift(-1)
    gap = (nxt.reindex(j.index) - j["end"]).dt.days
    out["completion_without_representation"] = comp & ~gap.between(0, 183).fillna(False)
    # retention: open, or discharged 84+ days after the first intervention (starters); unplanned:
    # 85/86 among starters discharged on days 0-365
    started = j["intervention"].notna()
    kept = j["end"].isna() | ((j["end"] - j["intervention"]).dt.days >= 84).fillna(False)
    out["retention"] = kept.where(started)
    ended = started & ((j["end"] - j["start"]).dt.days <= 365).fillna(False)
    out["unplanned_discharge"] = j["reason"].isin([85, 86]).fillna(False).where(ended)
    # TOPs: start (days 0-42, earliest) and review (days 91-273, closest to 182)
    top = ex.tables["ndtms_top"].merge(
        ex.truth["episode_person"][["episode_id", "true_journey_id"]], on="episode_id"
    )
    top = top.merge(j[["true_journey_id", "start"]], on="true_journey_id")
    top["day"] = (top["top_date"] - top["start"]).dt.days
    st = top[(top["top_stage"] == "start") & top["day"].between(0, 42)].sort_values(["day", "top_id"])
    st = st.drop_duplicates("true_journey_id").set_index("true_journey_id")
    rv = top[(top["top_stage"] == "review") & top["day"].between(91, 273)].copy()
    rv["dist"] = (rv["day"] - 182).abs()
    rv = (
        rv.sort_values(["dist", "day", "top_id"])
        .drop_duplicates("true_journey_id")
        .set_index("true_journey_id")
    )
    ids = j["true_journey_id"]
    has = ids.isin(st.index) & ids.isin(rv.index)
    r = rv.reindex(ids)
    s = st.reindex(ids)
    cols = [[SUBSTANCE_DAYS[x] for x in subs if isinstance(x, str)] for subs in j["substances"]]
    use = np.array([r.iloc[i][c].astype(float).sum() if has.iloc[i] else np.nan for i, c in enumerate(cols)])
    out["abstinence"] = pd.Series(use == 0, index=j.index).where(has.to_numpy())
    inj0 = s["days_injected"].to_numpy(dtype=float, na_value=np.nan)
    inj1 = r["days_injected"].to_numpy(dtype=float, na_value=np.nan)
    out["non_injecting"] = pd.Series(inj1 == 0, index=j.index).where(has.to_numpy() & (inj0 > 0))
    hp = r["acute_housing_problem"].to_numpy(dtype=float, na_value=np.nan)
    out["housing_problem"] = pd.Series(hp == 1, index=j.index).where(has.to_numpy())
    # registers, by the true links
    d = (
        ex.tables["ons_deaths"]
        .merge(ex.truth["death_person"], on="death_id")
        .dropna(subset=["true_person_id"])
    )
    d = d[d["underlying_cause"].str[:3].isin(POISONING)]
    dd = j[["true_journey_id", "true_person_id", "start"]].merge(d, on="true_person_id")
    hit = dd[(dd["date_of_death"] - dd["start"]).dt.days.between(0, 365)]["true_journey_id"]
    out["drug_related_death"] = ids.isin(set(hit))
    o = (
        ex.tables["pnc_offences"]
        .merge(ex.truth["offence_person"], on="offence_id")
        .dropna(subset=["true_person_id"])
    )
    o = o[o["offence_group"].isin(ACQUISITIVE)]
    oo = j[["true_journey_id", "true_person_id", "start"]].merge(o, on="true_person_id")
    hit = oo[(oo["offence_date"] - oo["start"]).dt.days.between(0, 365)]["true_journey_id"]
    out["acquisitive_crime"] = ids.isin(set(hit))
    return out.set_index("true_journey_id")


def test_records_realise_the_truth_outcomes(small, journeys):
    derived = derive_outcomes(small, journeys)
    truth = small.truth["journeys"].set_index("true_journey_id").loc[derived.index]
    for o in (*params.OUTCOMES, *params.DISCHARGE_OUTCOMES):
        t = truth[o].astype("boolean")
        d = derived[o].astype("boolean")
        assert t.isna().equals(d.isna()), o
        assert (t.dropna() == d.dropna()).all(), (o, int((t.dropna() != d.dropna()).sum()))
    # denominators look like the real ones
    ins = truth["in_study"] & truth["cohort"].eq("drug")
    assert 0.8 < truth.loc[ins, "has_start_top"].mean() < 0.92
    assert 0.03 < truth.loc[ins, "waiting_over_3_weeks"].mean() < 0.12
    opi = ins & truth["substance_group"].eq("opiate")
    assert 0.003 < truth.loc[opi, "drug_related_death"].mean() < 0.03
    assert 0.2 < truth.loc[opi, "acquisitive_crime"].mean() < 0.45


def test_non_starters_and_deaths_in_records(small, journeys):
    no_start = journeys["triage"].notna() & journeys["intervention"].isna()
    assert journeys.loc[no_start, "reason"].isin([85, 88]).mean() > 0.75
    # a death during treatment closes the episode with reason 89 on the date of death
    died = journeys[journeys["reason"] == 89]
    d = small.tables["ons_deaths"].merge(small.truth["death_person"], on="death_id").dropna()
    on = died.merge(d, on="true_person_id")
    assert len(died) > 0 and (on["end"] == on["date_of_death"]).all()


# --------------------------------------------------------------------------- registers


def test_registers_hold_clients_among_many_more_unrelated(small):
    for reg, key in (("death_person", "death_id"), ("offence_person", "offence_id")):
        tr = small.truth[reg]
        table = small.tables["ons_deaths" if reg == "death_person" else "pnc_offences"]
        assert tr[key].equals(table[key])
        linked = tr["true_person_id"].notna()
        assert linked.sum() > 0
        assert (~linked).sum() >= 5 * linked.sum()
        persons = set(small.truth["episode_person"]["true_person_id"])
        assert set(tr.loc[linked, "true_person_id"]) <= persons
    deaths = small.tables["ons_deaths"].merge(small.truth["death_person"], on="death_id")
    assert deaths["true_person_id"].dropna().is_unique  # one death per person
    # register copies carry errors: some clients' dates of birth differ from NDTMS
    ep = small.tables["ndtms_episodes"].merge(small.truth["episode_person"], on="episode_id")
    dob = ep.groupby("true_person_id")["date_of_birth"].agg(lambda s: s.mode().iloc[0])
    linked = deaths.dropna(subset=["true_person_id"])
    differs = (linked["date_of_birth"].to_numpy() != dob.loc[linked["true_person_id"]].to_numpy()).mean()
    assert 0.01 < differs < 0.15
    # chance coincidences: unrelated register people share NDTMS attributors
    key = ep["initial_first"] + ep["initial_surname"] + ep["date_of_birth"].astype("string")
    un = deaths[deaths["true_person_id"].isna()]
    ukey = un["forename"].str[0] + un["surname"].str[0] + un["date_of_birth"].astype("string")
    assert ukey.isin(set(key.dropna())).sum() > 0


def test_pnc_aliases_and_ids(small):
    o = small.tables["pnc_offences"].merge(small.truth["offence_person"], on="offence_id")
    client = o.dropna(subset=["true_person_id"])
    assert client.groupby("true_person_id")["pnc_id"].nunique().max() == 1
    names = client.groupby("pnc_id")[["forename", "surname"]].nunique()
    assert ((names["forename"] > 1) | (names["surname"] > 1)).any()
    assert o["pnc_id"].str.fullmatch(r"\d{2}/\d{7}[A-Z]").all()
    assert o.groupby("pnc_id")["true_person_id"].nunique().max() <= 1


# --------------------------------------------------------------------------- planted effects


@pytest.fixture(scope="module")
def medium() -> generator.SyntheticExtract:
    return generator.generate(params.SyntheticParams(scale=0.1))


@pytest.mark.parametrize(
    "outcome",
    [
        "treatment_initiation",
        "successful_completion",
        "abstinence",
        "acquisitive_crime",
        "drug_related_death",
        "retention",
        "unplanned_discharge",
    ],
)
def test_logistic_model_recovers_planted_did(medium, outcome):
    """A plain logistic DiD on the truth journeys, with one pilot x post term per post year, covers
    each year's planted OR (``did_or``, ``did_or_second_year``) with its 99% CI; retention and
    unplanned discharge, planted over the whole post period (pbr.synthetic.discharges), with one term.

    The generating model also has area random intercepts (SD 0.25); leaving them out, as
    here, attenuates the OR only slightly at these base rates (area fixed effects recover
    every planted OR, but make the fit ~7 times bigger).
    """
    import statsmodels.formula.api as smf

    tj = medium.truth["journeys"]
    d = tj[tj["in_study"] & tj["cohort"].eq("drug") & tj[outcome].notna()].copy()
    d["y"] = d[outcome].astype(int)
    d["post"] = d["period"].eq("post").astype(int)
    d["pilot"] = d["pilot"].astype(int)
    by_year = outcome not in params.DISCHARGE_OUTCOMES
    year2 = (d["start_date"] >= pd.Timestamp("2013-04-01")).astype(int) * by_year
    d["did1"] = d["pilot"] * d["post"] * (1 - year2)
    d["did2"] = d["pilot"] * d["post"] * year2
    for c in ("female", "previously_treated", "accommodation_need"):
        d[c] = d[c].astype(int)
    for c in (
        "baseline_days_primary",
        "baseline_quality_of_life",
        "baseline_psych_health",
        "baseline_phys_health",
    ):
        d[c] = d[c].astype(float)
    for c in ("age_group", "substance_group", "injecting", "referral_source"):
        d[c] = d[c].astype(str)
        # a level without outcome variation (no deaths among cannabis users at this scale) is
        # separated: its coefficient runs off and the fit never converges; the pipeline drops such rows too
        d = d[d.groupby(c)["y"].transform("nunique") > 1]
    formula = (
        "y ~ pilot + post + did1" + (" + did2" if by_year else "") + " + C(age_group) + female"
        " + C(substance_group) + C(injecting) + previously_treated + C(referral_source)"
        " + accommodation_need + baseline_days_primary + baseline_quality_of_life"
        " + baseline_psych_health + baseline_phys_health"
    )
    fit = smf.logit(formula, data=d).fit(disp=0, maxiter=100)
    assert fit.mle_retvals["converged"], outcome
    # crime and death are planted null. Offences planted for one journey used to fall into
    # the window of the person's re-presentation: truth OR for crime 1.103 [1.031, 1.180] at
    # scale 1.0, now 1.042 [0.972, 1.118]. At this scale the check is weak (old: 0.969).
    # 99% intervals: the test makes 12 checks (5 outcomes x 2 post years, 2 outcomes x 1), so at
    # 95% a realisation fails one with probability about 0.46; at 99% about 0.11. Issue #23's
    # defaults (case mix shift) drew drug completion's first year at 0.626 (95%: 0.487-0.805;
    # planted 0.86) and initiation's at 1.08 (0.41-2.87; planted 0.34) here; at scale 1 the same
    # fit gives completion 0.872 (0.806-0.942) and 0.340 (0.311-0.373) against 0.86 and 0.35.
    for term, key in (("did1", "did_or"), ("did2", "did_or_second_year"))[: 1 + by_year]:
        lo, hi = np.exp(fit.conf_int(alpha=0.01).loc[term])
        planted = medium.effects[key]["drug"][outcome]
        assert lo < planted < hi, (outcome, term, np.exp(fit.params[term]), lo, hi)


def test_discharge_outcomes_hit_their_planted_raw_did_or(medium):
    """Retention and unplanned discharge are planted as the truth's raw DiD OR (pbr.synthetic.discharges):
    exact up to the rounding of one journey per cohort."""
    for cohort in ("drug", "alcohol"):
        for o in params.DISCHARGE_OUTCOMES:
            planted = medium.effects["did_or"][cohort][o]
            raw = medium.effects["realised"][cohort][o]["raw_did_or"]
            rec = medium.effects["discharge_effects"][cohort][o]
            assert rec["changed_in_study"] < rec["eligible"], (cohort, o, rec)  # not short of journeys
            assert abs(np.log(raw / planted)) < 0.02, (cohort, o, raw, planted)


def test_calibrated_rates_near_targets(medium):
    real = medium.effects["realised"]["drug"]
    for outcome, targets in (
        ("successful_completion", (0.34, 0.27, 0.29)),
        ("abstinence", (0.22, 0.23, 0.22)),
    ):
        cell = real[outcome]
        assert abs(cell["pilot_pre"]["rate"] - targets[0]) < 0.03, outcome
        assert abs(cell["other_pre"]["rate"] - targets[1]) < 0.012, outcome
        assert abs(cell["other_post"]["rate"] - targets[2]) < 0.012, outcome
    assert (
        real["successful_completion"]["pilot_post"]["rate"]
        < real["successful_completion"]["pilot_pre"]["rate"]
    )
    json.dumps(medium.effects)  # JSON-serialisable


# --------------------------------------------------------------------------- determinism and parameters


def test_same_params_give_identical_extracts():
    p = params.SyntheticParams(scale=0.005, seed=3)
    a, b = generator.generate(p), generator.generate(p)
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
        assert table_hash(a.tables[name]) == table_hash(b.tables[name]), name
    for name in a.truth:
        assert a.truth[name].equals(b.truth[name]), name
    assert json.dumps(a.effects, sort_keys=True) == json.dumps(b.effects, sort_keys=True)
    c = generator.generate(params.SyntheticParams(scale=0.005, seed=4))
    assert not c.tables["ndtms_episodes"].equals(a.tables["ndtms_episodes"])


def test_from_config_nested_and_strict():
    import datetime

    p = params.SyntheticParams.from_config(
        {
            "scale": 0.01,
            "seed": 1,
            "effects": {"drug": {"successful_completion": 0.5}},
            "noise": {"register_dob_error": 0.1},
            "registers": {"deaths_unrelated_ratio": 6},
            "dates": {"extract_end": datetime.date(2015, 3, 31)},
        }
    )
    assert p.scale == 0.01 and p.seed == 1
    assert p.effects.drug.successful_completion == 0.5 and p.effects.drug.abstinence == 1.58
    assert p.effects_second_year.drug.successful_completion == 0.35  # not overridden: the default
    assert (
        p.effects.alcohol.successful_completion == 0.8
        and p.rates.drug.successful_completion.other_pre == 0.27
        and p.rates.drug.treatment_initiation.pilot_pre == 0.99
    )
    assert p.noise.register_dob_error == 0.1 and p.registers.deaths_unrelated_ratio == 6.0
    assert params.SyntheticParams.from_config({}) == params.SyntheticParams()
    assert params.SyntheticParams.from_config(p.to_dict()) == p
    with pytest.raises(ValueError, match=r"synthetic\.effects\.drug\.completon"):
        params.SyntheticParams.from_config({"effects": {"drug": {"completon": 0.5}}})
    with pytest.raises(ValueError, match=r"synthetic\.bogus"):
        params.SyntheticParams.from_config({"bogus": 1})
    with pytest.raises(ValueError, match="scale"):
        params.SyntheticParams.from_config({"scale": -1})
    with pytest.raises(ValueError, match="seed"):
        params.SyntheticParams.from_config({"seed": "x"})
    with pytest.raises(ValueError, match="pilot_rule"):
        params.SyntheticParams(pilot_rule="west_only")


def test_partial_pilot_rules_plant_the_effect_in_west_kent_only():
    p = params.SyntheticParams(scale=0.01, pilot_rule="sub_area_pilot_rest_other")
    ex = generator.generate(p)
    tj = ex.truth["journeys"]
    kent = ex.tables["areas"].loc[ex.tables["areas"]["area_name"] == "Kent", "area_code"].iloc[0]
    k = tj[tj["area_code"] == kent]
    assert k.loc[k["sub_area"] == "west_kent", "pilot"].all()
    assert not k.loc[k["sub_area"] == "east_kent", "pilot"].any()
    got = ex.effects["counts"]["realised"]["drug"]
    assert got == ex.effects["counts"]["targets"]["drug"]


def test_tiny_scale_still_exact_and_consistent():
    ex = generator.generate(params.SyntheticParams(scale=0.0005))
    assert ex.effects["counts"]["realised"] == ex.effects["counts"]["targets"]
    j = build_journeys(ex)
    assert (j["n_true"] == 1).all()
    derived = derive_outcomes(ex, j)
    truth = ex.truth["journeys"].set_index("true_journey_id").loc[derived.index]
    for o in (
        "successful_completion",
        "completion_without_representation",
        "treatment_initiation",
        "abstinence",
        *params.DISCHARGE_OUTCOMES,
    ):
        t, d = truth[o].astype("boolean"), derived[o].astype("boolean")
        assert t.isna().equals(d.isna()) and (t.dropna() == d.dropna()).all(), o


def test_register_moves_within_the_region_stay_in_the_home_region_and_leave_the_home_area():
    from pbr.synthetic.areas import build_areas
    from pbr.synthetic.registers import area_in_region

    areas = build_areas(params.SyntheticParams(scale=0.01, seed=3), np.random.default_rng(0))
    region = np.asarray(areas.region)
    home = np.repeat(np.arange(len(areas.code)), 20)
    moved = area_in_region(np.random.default_rng(0), region, np.ones(len(areas.code)), home)
    assert (region[moved] == region[home]).all()
    assert (moved != home).all()
    assert len(np.unique(moved)) > len(np.unique(region))  # several areas per region are used


@pytest.mark.parametrize("same_region", [0.6, 0.0])
def test_register_areas_split_into_home_region_and_elsewhere_as_the_settings_state(same_region):
    """Clients' PNC identities sit in the home area (the area of their last referral) 90% of the
    time; the other 10% split by ``register_area_move_same_region`` between the home region and
    anywhere in England (which lands in the home region by chance about 1 time in 9)."""
    noise = params.NoiseParams(register_area_move_same_region=same_region)
    ext = generator.generate(params.SyntheticParams(scale=0.02, seed=5, noise=noise))
    episodes = ext.tables["ndtms_episodes"].merge(ext.truth["episode_person"], on="episode_id")
    home = (
        episodes.sort_values("referral_date", kind="mergesort").groupby("true_person_id")["area_code"].last()
    )
    region = ext.tables["areas"].set_index("area_code")["region"]
    identities = ext.tables["pnc_offences"].merge(ext.truth["offence_person"], on="offence_id")
    identities = identities.dropna(subset=["true_person_id", "area_code"]).drop_duplicates("pnc_id")
    person_home = identities["true_person_id"].map(home)
    same_area = identities["area_code"] == person_home
    in_region = ~same_area & (identities["area_code"].map(region) == person_home.map(region))
    anywhere = 0.1 * (1 - same_region)
    assert len(identities) > 2000
    assert same_area.mean() == pytest.approx(0.9, abs=0.025)
    assert in_region.mean() == pytest.approx(0.1 * same_region + anywhere / 9, abs=0.015)
    assert (~same_area & ~in_region).mean() == pytest.approx(anywhere * 8 / 9, abs=0.015)
