"""Composition checks: covariate mix, denominator shares and adjustment sets (pbr.fit.composition)."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from pbr.fit import composition, models, spec
from pbr.fit.draws import Bootstrap
from pbr.fit.spec import FitSpec
from pbr.registry.outcomes import OUTCOMES

FAST = Bootstrap(reps=199, seed=3)


def simulate(n=6000, n_areas=40, n_pilot=8, female_shift=0.0, seed=1):
    """Journeys by area x quarter (post from quarter 8) with age and sex (some sex missing); in
    pilot areas after the start the share of women rises by ``female_shift``. Every registry
    outcome is a column, NaN outside its denominator (a random 30% of journeys) where the
    registry says the denominator is not all journeys; ``y`` depends on age and sex."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 0.4, n_areas)
    area = rng.choice(n_areas, n, p=size / size.sum())
    quarter = rng.integers(0, 16, n)
    pilot, post = area < n_pilot, quarter >= 8
    p_female = 0.3 + female_shift * (pilot & post)
    sex = np.where(rng.random(n) < p_female, "F", "M").astype(object)
    sex[rng.random(n) < 0.02] = None
    age = rng.choice(["18-29", "30-39", "40+"], n)
    lp = (
        -0.5
        + rng.normal(0, 0.3, n_areas)[area]
        + 0.8 * (age == "40+")
        - 0.6 * (sex == "F")
        - 0.3 * (pilot & post)
    )
    df = pd.DataFrame(
        {
            "area_code": [f"E{a:03d}" for a in area],
            "pilot": pd.array(pilot, dtype="boolean"),
            "post": post.astype("int64"),
            "did": (pilot & post).astype("int64"),
            "quarter": quarter,
            "start_date": pd.Timestamp("2010-04-01") + pd.to_timedelta(quarter * 91, unit="D"),
            "age_group": age,
            "sex": pd.array(sex, dtype="string"),
            "y": pd.array((rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int), dtype="Int64"),
        }
    )
    for o in OUTCOMES:
        values = pd.array(rng.integers(0, 2, n), dtype="Int64")
        if o.denominator != composition.ALL_JOURNEYS:
            values[rng.random(n) < 0.3] = pd.NA
        df[o.name] = values
    return df


def mix(df, post_start=()):
    return composition.mix_rows(df, FitSpec("drug", ""), ["age_group", "sex"], post_start, FAST)


@pytest.fixture(scope="module")
def shifted():
    return simulate(female_shift=0.2, seed=2)


@pytest.fixture(scope="module")
def shifted_mix(shifted):
    return mix(shifted, post_start=["sex"])


def _row(rows, outcome, method):
    hit = rows[(rows["outcome"] == outcome) & (rows["method"] == method)]
    assert len(hit) == 1, (outcome, method)
    return hit.iloc[0]


def test_mix_did_finds_a_planted_shift(shifted_mix):
    for method in composition.SHARE_METHODS:
        female = _row(shifted_mix, "mix:sex=F", method)
        assert abs(female["estimate"] - 0.2) < 0.06, method
        assert female["ci_low"] > 0 and female["p_value"] < 0.05, method
        assert _row(shifted_mix, "mix:sex=M", method)["estimate"] < -0.14
    # age was not shifted
    assert abs(_row(shifted_mix, "mix:age_group=40+", "lpm_wcb_webb")["estimate"]) < 0.06


def test_mix_did_is_near_zero_without_a_shift():
    """Five null data sets: estimates centred on 0, and not more than one rejection at 5%."""
    female = pd.concat(
        [mix(simulate(female_shift=0.0, seed=s)).query("outcome == 'mix:sex=F'") for s in range(5)]
    )
    for method in composition.SHARE_METHODS:
        got = female[female["method"] == method]
        assert abs(got["estimate"].mean()) < 0.03 and (got["estimate"].abs() < 0.1).all()
        assert (got["p_value"] < 0.05).sum() <= 1


def test_mix_rows_cover_every_level_as_the_model_frame_makes_it(shifted_mix):
    assert list(shifted_mix.columns) == spec.RESULT_COLUMNS
    expected = {f"mix:age_group={a}" for a in ("18-29", "30-39", "40+")} | {
        f"mix:sex={s}" for s in ("F", "M", "unknown")
    }
    assert set(shifted_mix["outcome"]) == expected
    one_level = mix(simulate(n=2000, seed=4).assign(age_group="40+"))
    assert not one_level["outcome"].str.startswith("mix:age_group").any()  # nothing to check
    assert set(shifted_mix["specification"]) == {"composition"}
    methods = shifted_mix.groupby("outcome")["method"].apply(tuple)
    assert set(methods) == {composition.SHARE_METHODS}


def test_share_did_equals_a_brute_force_ols_with_dummies(shifted, shifted_mix):
    share = (shifted["sex"].fillna("unknown") == "F").astype(float)
    ols = smf.ols("share ~ did + C(area_code) + C(quarter)", data=shifted.assign(share=share)).fit()
    for method in composition.SHARE_METHODS:
        row = _row(shifted_mix, "mix:sex=F", method)
        assert row["dropped_rows"] == 0 and row["n"] == len(shifted)
        assert row["beta"] == pytest.approx(ols.params["did"], abs=1e-10)
        assert row["events"] == share.sum()


def test_post_start_covariates_are_flagged(shifted_mix):
    flagged = shifted_mix["note"].str.contains(composition.POST_START_NOTE, regex=False)
    assert (flagged == shifted_mix["outcome"].str.startswith("mix:sex=")).all()


def test_denominator_rows_are_the_registry_outcomes_with_a_restricted_denominator(shifted):
    names = [o.name for o in OUTCOMES]
    rows = composition.denominator_rows(shifted, FitSpec("drug", ""), names, FAST)
    restricted = {o.name for o in OUTCOMES if o.denominator != "all journeys"}
    assert set(rows["outcome"]) == {f"denominator:{o}" for o in restricted}
    # as the registry stands: the TOP outcomes and treatment ones are restricted, completion is not
    assert {"abstinence", "treatment_initiation", "waiting_over_3_weeks"} <= restricted
    assert "successful_completion" not in restricted
    abstinence = _row(rows, "denominator:abstinence", "lpm_crv1")
    assert abstinence["events"] == shifted["abstinence"].notna().sum()
    assert abs(abstinence["estimate"]) < 0.1  # no shift planted
    # only the outcomes asked for
    assert composition.restricted_denominators(["abstinence", "successful_completion"]) == ("abstinence",)


def test_adjustment_rows_have_the_right_covariates(shifted):
    sets = {"unadjusted": [], "demographics": ["age_group"]}
    rows = composition.adjustment_rows(shifted, FitSpec("drug", "y", ("age_group", "sex")), sets, FAST)
    assert set(rows["specification"]) == set(sets)
    assert set(rows["method"]) == set(composition.ADJUSTMENT_METHODS)
    full = models.fit_did(shifted, FitSpec("drug", "y", ("age_group", "sex")), methods=("logit_crv1",))
    for name, covs in sets.items():
        own = models.fit_did(shifted, FitSpec("drug", "y", tuple(covs)), methods=("logit_crv1",))
        got = rows[rows["specification"] == name]
        assert (got["status"] != "not_estimable").all()
        assert got["beta"].to_numpy() == pytest.approx([own["beta"].iloc[0]] * 2, rel=1e-6)
        assert got["beta"].iloc[0] != pytest.approx(full["beta"].iloc[0], rel=1e-3)
        assert got["note"].str.startswith(f"covariates: {', '.join(covs) or 'none'}").all()


def test_composition_table_without_pilot_journeys_gives_not_estimable_rows():
    df = simulate(n=2000, seed=4)
    df["pilot"] = pd.array([False] * len(df), dtype="boolean")
    df["did"] = 0
    rows = composition.composition_table(
        df,
        FitSpec("alcohol", "", ("sex",)),
        share_outcomes=["abstinence"],
        adjustments={"y": {"unadjusted": []}},
        post_start_covariates=[],
        bootstrap=FAST,
    )
    assert list(rows.columns) == spec.RESULT_COLUMNS
    assert len(rows) == 3 * 2 + 2 + 2
    assert (rows["status"] == "not_estimable").all()
    assert rows["note"].str.contains("not estimable").all()


MODELS = {
    "covariates": ["age_group", "sex", "baseline_use"],
    "start_outcome_covariates": "before_start",
    "confidence_level": 0.95,
    "robustness": {"post_start_covariates": ["baseline_use"]},
}


@pytest.mark.parametrize("rule", ["before_start", "all"])
def test_outcomes_decided_at_the_start_leave_out_the_start_top_covariates(rule):
    """Issue #25: initiation, waiting and declined are decided at or before the start; under
    'before_start' their model omits the start-TOP covariates, every other outcome keeps them."""
    from pbr.registry.outcomes import start_decided_outcomes

    models = MODELS | {"start_outcome_covariates": rule}
    assert set(start_decided_outcomes()) == {
        "treatment_initiation",
        "waiting_over_3_weeks",
        "declined_to_continue",
    }
    for o in OUTCOMES:
        got = FitSpec.from_config("drug", o.name, models, "quarter").covariates
        if rule == "before_start" and o.decided_at_start:
            assert got == ("age_group", "sex")
            assert (
                composition.adjustment_sets(o.name, models, ["age_group"])["all_covariates"]
                == MODELS["covariates"]
            )
        else:
            assert got == tuple(MODELS["covariates"])
            assert "all_covariates" not in composition.adjustment_sets(o.name, models, ["age_group"])
    adjusted = composition.adjusted_outcomes([o.name for o in OUTCOMES], ["abstinence"], models)
    expected = {"abstinence"} | (set(start_decided_outcomes()) if rule == "before_start" else set())
    assert set(adjusted) == expected
    with pytest.raises(ValueError, match="start_outcome_covariates"):
        spec.outcome_covariates("treatment_initiation", MODELS | {"start_outcome_covariates": "some"})


def test_adjusting_initiation_for_a_start_top_that_follows_it_biases_the_did():
    """Why the rule exists: the start TOP is mostly recorded once an intervention starts, so its
    'no_top' category is almost the outcome; when the scheme also changes how often a TOP is
    recorded for those who do not start (here from 5% to 30% in the pilots after the start),
    adjusting for it moves the DiD far from the planted log OR (-0.6); the model without it
    recovers it."""
    rng = np.random.default_rng(11)
    df = simulate(n=20000, seed=11)
    n = len(df)
    did = df["did"].to_numpy().astype(bool)
    lp = -0.2 + 0.5 * (df["age_group"] == "40+").to_numpy() - 0.6 * did
    started = rng.random(n) < 1 / (1 + np.exp(-lp))
    recorded = np.where(started, 0.9, np.where(did, 0.3, 0.05))
    top = np.where(rng.random(n) < recorded, rng.choice(["0", "1-13", "14+"], n), "no_top")
    df["treatment_initiation"] = pd.array(started.astype(int), dtype="Int64")
    df["baseline_use"] = top
    fits = {}
    for rule in ("before_start", "all"):
        s = FitSpec.from_config(
            "drug", "treatment_initiation", MODELS | {"start_outcome_covariates": rule}, "quarter"
        )
        fits[rule] = float(models.fit_did(df, s, methods=("logit_crv1",)).iloc[0]["beta"])
    assert fits["before_start"] == pytest.approx(-0.6, abs=0.15)
    assert abs(fits["all"] - -0.6) > 0.5
