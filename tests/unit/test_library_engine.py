"""The ``statsmodels`` engine (pbr.fit.library_engine): statsmodels' GLM and linearmodels'
AbsorbingLS give the exact engine's coefficients and CRV1 standard errors.

Tolerances: the pyfixest comparisons (tests/unit/test_models.py, test_robustness.py) allow a
relative 1e-6 on the logit coefficient and 1e-3 on its standard error, since pyfixest stops
its IRLS early; statsmodels' IRLS here runs to a relative deviance change of 1e-13, so the
logit is held to the LPM's 1e-9 (measured: 1e-12 and less). A wrong small-sample factor
(either library's own) moves the standard errors by about (G-1)/N, 3e-3 here, and fails.
"""

import numpy as np
import pandas as pd
import pytest
from did_simulation import simulate_journeys

from pbr.fit import design, event_study, frame, library_engine, models
from pbr.fit.spec import FitSpec

COVS = ["age_group", "sex"]
FREQ = "freq"  # pbr.fit.counts.FREQ
ORIGIN = pd.Timestamp("2010-04-01")
#: relative tolerance of coefficients and standard errors against the exact engine
RTOL = 1e-9


def simulate(n=6000, seed=4, log_or=-0.4):
    """Analysis-table-like journeys over 32 areas (6 pilots), 16 quarters, with half-years and
    start dates (the event study's columns) and a rare covariate level (an uneven design)."""
    df = simulate_journeys(n=n, n_areas=32, n_pilot=6, log_or=log_or, seed=seed)
    quarter = df["quarter"].to_numpy()
    starts = pd.DatetimeIndex([ORIGIN + pd.DateOffset(months=3 * q) for q in range(16)])
    df.loc[:25, "age_group"] = "90+"
    return df.assign(half_year=quarter // 2, start_date=starts[quarter])


def compress(df: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct row of ``df`` with its count in ``freq``, rows shuffled."""
    cols = list(df.columns)
    out = df.groupby(cols, dropna=False, observed=True, sort=False).size().rename(FREQ).reset_index()
    out = out.astype(df.dtypes.to_dict())
    out[FREQ] = out[FREQ].astype("int64")
    return out.sample(frac=1.0, random_state=7).reset_index(drop=True)


def spec(engine: str) -> FitSpec:
    return FitSpec("drug", "y", tuple(COVS), engine=engine)


def assert_same_did_rows(a: pd.DataFrame, b: pd.DataFrame, rtol: float = RTOL) -> None:
    """The same methods, statuses, counts and, to ``rtol``, coefficients and standard errors."""
    a, b = a.set_index("method"), b.set_index("method")
    assert list(a.index) == list(b.index)
    for method in a.index:
        ra, rb = a.loc[method], b.loc[method]
        assert ra["status"] == rb["status"] == "ok", (method, ra["note"], rb["note"])
        for col in ("n", "n_clusters", "n_treated_clusters", "dropped_clusters", "dropped_rows"):
            assert ra[col] == rb[col], (method, col)
        for col in ("beta", "se", "estimate", "ci_low", "ci_high", "p_value"):
            assert abs(ra[col] / rb[col] - 1) < rtol, (method, col, ra[col], rb[col])


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.mark.parametrize("seed", [4, 8])
def test_did_logit_and_lpm_equal_the_exact_engine(seed):
    df = simulate(seed=seed)
    assert_same_did_rows(models.fit_did(df, spec("statsmodels")), models.fit_did(df, spec("exact")))


def test_the_exact_small_sample_factor_is_applied(data):
    """The engine's factor equals the exact design's; either library's own correction would not
    give the exact engine's standard error (so the rescaling matters, and the test above can fail)."""
    import statsmodels.api as sm
    from linearmodels.iv.absorbing import AbsorbingLS

    mf, _, _ = frame.model_rows(data, spec("exact"))
    d = design.build_design(mf, "y", COVS)
    k = 1 + d.W.shape[1] - d.n_areas + 1
    assert library_engine.crv1_factor(d.journeys, d.n_areas, k) == pytest.approx(
        design.crv1_factor(d, 1), rel=1e-15
    )
    exact = {f: np.sqrt(design.fit_terms(d, d.did, f).vcov[0, 0]) for f in ("logit", "linear")}
    groups = pd.factorize(mf["area_code"])[0]
    x = pd.concat(
        [
            mf[["did"]].astype(float),
            pd.get_dummies(mf["area_code"], dtype=float),
            pd.get_dummies(mf["period_fe"], drop_first=True, dtype=float),
            library_engine._covariate_dummies(mf, COVS),
        ],
        axis=1,
    )
    glm = sm.GLM(mf["y"].astype(float), x, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True}
    )
    assert abs(glm.bse["did"] / exact["logit"] - 1) > 1e-3
    absorb = pd.DataFrame({"p": pd.Categorical(mf["period_fe"]), "a": pd.Categorical(mf["area_code"])})
    exog = pd.concat([mf[["did"]].astype(float), library_engine._covariate_dummies(mf, COVS)], axis=1)
    lpm = AbsorbingLS(mf["y"].astype(float), exog, absorb=absorb).fit(
        cov_type="clustered", clusters=groups, debiased=True
    )
    assert abs(lpm.std_errors["did"] / exact["linear"] - 1) > 1e-3


def test_event_study_terms_equal_the_exact_engine(data):
    """Several terms at once (the pilot x half-year bins): coefficients, standard errors and the
    CRV1 pre-trend Wald statistics of the logit and the LPM."""
    methods = ("logit_crv1", "lpm_crv1")
    table, summary = event_study.event_study(data, spec("exact"), methods=methods)
    table_sm, summary_sm = event_study.event_study(data, spec("statsmodels"), methods=methods)
    assert len(table) == len(table_sm) > 2 * 4
    assert (table["bin"].to_numpy() == table_sm["bin"].to_numpy()).all()
    np.testing.assert_allclose(table_sm["beta"], table["beta"], rtol=RTOL, atol=1e-13)
    np.testing.assert_allclose(table_sm["se"], table["se"], rtol=RTOL, equal_nan=True)
    assert (table_sm["n"] == table["n"]).all()
    a, b = summary_sm.set_index("method"), summary.set_index("method")
    assert (a["status"] == "ok").all() and (b["status"] == "ok").all()
    np.testing.assert_allclose(a.loc[list(methods), "estimate"], b.loc[list(methods), "estimate"], rtol=1e-8)


def test_frequency_weighted_rows_give_the_expanded_tables_numbers(data):
    """A compressed table (one row per distinct journey, ``freq``) through the statsmodels engine
    (GLM freq_weights, AbsorbingLS weights) equals the exact engine on the expanded table: the DiD
    and the event study's terms."""
    compressed = compress(data)
    assert len(compressed) < 0.8 * len(data) and compressed[FREQ].max() >= 3
    assert_same_did_rows(models.fit_did(compressed, spec("statsmodels")), models.fit_did(data, spec("exact")))
    methods = ("logit_crv1", "lpm_crv1")
    table, _ = event_study.event_study(data, spec("exact"), methods=methods)
    table_sm, _ = event_study.event_study(compressed, spec("statsmodels"), methods=methods)
    np.testing.assert_allclose(table_sm["beta"], table["beta"], rtol=RTOL, atol=1e-13)
    np.testing.assert_allclose(table_sm["se"], table["se"], rtol=RTOL, equal_nan=True)
    assert (table_sm["n"] == table["n"]).all()


def test_pyfixest_still_refuses_frequency_weights(data):
    with pytest.raises(ValueError, match="exact or statsmodels engine"):
        models.fit_did(compress(data), spec("pyfixest"))


def test_collinear_terms_are_left_out_or_reported(data):
    """A term equal to an area dummy is left out, the others estimated as without it; a DiD term
    collinear with the fixed effects leaves no term (a note, not an error) and a not-estimable row."""
    mf, _, _ = frame.model_rows(data, spec("exact"))
    mf = mf.assign(area1=(mf["area_code"] == "E001").astype(float))
    for logit in (True, False):
        both = library_engine.fit_terms(mf, "y", COVS, ["did", "area1"], logit)
        alone = library_engine.fit_terms(mf, "y", COVS, ["did"], logit)
        assert list(both.coef.index) == ["did"] and both.vcov.shape == (1, 1)
        assert both.coef["did"] == pytest.approx(alone.coef["did"], rel=1e-10)
        none = library_engine.fit_terms(mf, "y", COVS, ["area1"], logit)
        assert none.coef.empty and none.vcov.empty and "collinear" in none.note
        assert none.n == len(mf)
    # the DiD term collinear: every pilot journey post-period (did = pilot, an area-level term)
    df = data.assign(did=data["pilot"].astype("int64"))
    mf, _, _ = frame.model_rows(df, spec("exact"))
    for logit in (True, False):
        assert library_engine.fit_terms(mf, "y", COVS, ["did"], logit).coef.empty
