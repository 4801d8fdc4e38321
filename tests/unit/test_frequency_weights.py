"""Frequency weights (``freq``): a compressed analysis table gives exactly the expanded table's numbers.

A compressed table holds one row per distinct journey (the same value in every column,
outcome included) with ``freq`` = how many journeys that row stands for. Every statistic of the
fit stage must be the same on it as on the expanded table (one row per journey), to rounding:
the design's cross-products, the CRV1 fits, the wild bootstraps' and randomisation inference's
pieces, the joint pre-trend bootstraps, and the result rows of the main model, the event study
and the per-pilot tests (``n`` and the drop counts in journeys). The compressed table's rows
are shuffled, so row order cannot matter either.
"""

import numpy as np
import pandas as pd
import pytest
from did_simulation import simulate_journeys

from pbr.fit import draws, joint, models, randomisation, wild_bootstrap
from pbr.fit.design import build_design, crv1_factor, fit_terms
from pbr.fit.draws import Bootstrap, area_assignments, area_webb_weights, size_strata
from pbr.fit.event_study import event_study
from pbr.fit.frame import drop_uninformative, model_frame, model_rows
from pbr.fit.pilots import pilot_rows
from pbr.fit.spec import FitSpec

FREQ = "freq"  # pbr.fit.frame.FREQ (checked by test_freq_constant_and_model_frame_keep_the_column)
COVS = ["age_group", "sex"]
SPEC = FitSpec("drug", "y", tuple(COVS))
ORIGIN = pd.Timestamp("2010-04-01")
N_AREAS, N_PILOT, QUARTERS = 32, 6, 16
ALL_ZERO_AREA = f"E{N_AREAS - 1:03d}"  # a comparison area whose outcome is always 0 (dropped)
RTOL, ATOL = 1e-7, 1e-9
#: The columns identifying a model-frame row (rows equal on them have the same fitted values).
KEY = ["area_code", "period_fe", "did", "post", *COVS, "y"]


def simulate(n=5000, seed=4):
    """:func:`did_simulation.simulate_journeys` over 32 areas (6 pilots, a planted OR of exp(-0.3))
    with ``half_year`` and ``start_date`` = the quarter's first day, so identical journeys are
    common; the outcome all 0 in one comparison area."""
    df = simulate_journeys(n=n, n_areas=N_AREAS, n_pilot=N_PILOT, log_or=-0.3, seed=seed)
    starts = pd.DatetimeIndex([ORIGIN + pd.DateOffset(months=3 * q) for q in range(QUARTERS)])
    quarter = df["quarter"].to_numpy()
    df["y"] = df["y"].mask(df["area_code"] == ALL_ZERO_AREA, 0)
    return df.assign(half_year=quarter // 2, start_date=starts[quarter])


def compress(df: pd.DataFrame, seed: int = 9) -> pd.DataFrame:
    """One row per distinct row of ``df`` with its count in ``freq``, rows shuffled."""
    cols = list(df.columns)
    out = df.groupby(cols, dropna=False, observed=True, sort=False).size().rename(FREQ).reset_index()
    out = out.astype(df.dtypes.to_dict())
    out[FREQ] = out[FREQ].astype("int64")
    return out.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="module")
def tables():
    """(expanded, compressed) analysis tables; the compressed one is much shorter."""
    expanded = simulate()
    compressed = compress(expanded)
    assert compressed[FREQ].sum() == len(expanded)
    assert len(compressed) < 0.75 * len(expanded) and compressed[FREQ].max() >= 4
    assert (expanded.loc[expanded["area_code"] == ALL_ZERO_AREA, "y"] == 0).all()
    return expanded, compressed


@pytest.fixture(scope="module")
def frames(tables):
    """Model frames (``model_rows``, with ``half_year``) of the expanded and compressed tables."""
    return tuple(model_rows(t, SPEC, ["half_year"])[0] for t in tables)


@pytest.fixture(scope="module")
def designs(frames):
    """Designs of the two model frames."""
    return tuple(build_design(mf, "y", COVS) for mf in frames)


def close(actual, desired, what: str, atol: float = ATOL) -> None:
    """assert_allclose at the module's tolerance, NaNs equal."""
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(desired, dtype=float),
        rtol=RTOL,
        atol=atol,
        equal_nan=True,
        err_msg=what,
    )


def same_fields(a, b, fields, atol: float = ATOL) -> None:
    """Each named field of a (compressed) equals b's (expanded)."""
    for name in fields:
        close(getattr(a, name), getattr(b, name), name, atol)


def same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Result tables equal: the same columns and rows, numbers to RTOL, strings exactly."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b), (len(a), len(b))
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True),
        b.reset_index(drop=True),
        check_dtype=False,
        check_exact=False,
        rtol=RTOL,
        atol=1e-10,
    )


def keyed(mf: pd.DataFrame, v: np.ndarray) -> pd.Series:
    """A per-row array by row content (KEY), one value per distinct row (rows with equal KEY agree)."""
    values = mf[KEY].astype(str).assign(v=np.asarray(v, dtype=float)).groupby(KEY)["v"]
    low, high = values.min(), values.max()
    assert ((high - low).abs() <= 1e-10 * (1 + low.abs().max())).all()
    return low


def pilot_half_year_terms(mf: pd.DataFrame, bins) -> np.ndarray:
    """N x len(bins) 0/1 columns pilot x half-year bin of a model frame."""
    pilot = mf["pilot"].astype(bool).to_numpy()
    hy = mf["half_year"].to_numpy()
    return np.column_stack([(pilot & (hy == b)).astype(float) for b in bins])


# ---------------------------------------------------------------------------------------
# The frame and the design


def test_freq_constant_and_model_frame_keep_the_column(tables, frames):
    """``pbr.fit.frame.FREQ`` is "freq"; model_frame and model_rows keep a table's ``freq``, whose
    sum is the expanded frame's number of rows."""
    from pbr.fit import frame

    assert frame.FREQ == FREQ
    expanded, compressed = tables
    mf_e = model_frame(expanded, "y", COVS, "quarter")
    mf_c = model_frame(compressed, "y", COVS, "quarter")
    assert FREQ in mf_c.columns
    assert mf_c[FREQ].sum() == len(mf_e)
    assert FREQ in frames[1].columns and frames[1][FREQ].sum() == len(frames[0])


def test_drop_uninformative_drops_the_same_journeys(tables):
    """drop_uninformative on the compressed frame drops the all-0 area, the same areas as on the
    expanded one, and counts the dropped *journeys* (sum of freq), not rows; what is left is the
    same multiset of journeys (model_rows too)."""
    expanded, compressed = tables
    mf_e = model_frame(expanded, "y", COVS, "quarter")
    mf_c = model_frame(compressed, "y", COVS, "quarter")
    kept_e, areas_e, rows_e = drop_uninformative(mf_e, "y", COVS)
    kept_c, areas_c, rows_c = drop_uninformative(mf_c, "y", COVS)
    assert areas_e >= 1 and rows_e >= int((expanded["area_code"] == ALL_ZERO_AREA).sum()) > 0
    assert ALL_ZERO_AREA not in set(kept_e["area_code"])
    assert (areas_c, rows_c) == (areas_e, rows_e)
    assert set(kept_c["area_code"]) == set(kept_e["area_code"])
    assert kept_c[FREQ].sum() == len(kept_e)
    cols = ["area_code", "period_fe", "did", "post", *COVS, "y"]
    counts_e = kept_e.groupby(cols, observed=True).size()
    counts_c = kept_c.groupby(cols, observed=True)[FREQ].sum()
    pd.testing.assert_series_equal(
        counts_c.sort_index(), counts_e.sort_index(), check_names=False, check_dtype=False
    )
    assert model_rows(compressed, SPEC)[1:] == model_rows(expanded, SPEC)[1:] == (areas_e, rows_e)


def test_design_freq_and_journeys(frames, designs):
    """Design.freq is the frame's ``freq`` (ones without it), ``journeys`` its sum, ``n`` the rows;
    the areas, treated set and CRV1 small-sample factor are the expanded design's."""
    mf_e, mf_c = frames
    d_e, d_c = designs
    np.testing.assert_array_equal(d_e.freq, np.ones(d_e.n))
    assert d_e.journeys == d_e.n == len(mf_e)
    np.testing.assert_array_equal(d_c.freq, mf_c[FREQ].to_numpy(dtype=float))
    assert d_c.n == len(mf_c) < d_c.journeys == d_e.journeys
    assert isinstance(d_c.journeys, int)
    np.testing.assert_array_equal(d_c.area_codes, d_e.area_codes)
    np.testing.assert_array_equal(d_c.treated, d_e.treated)
    assert d_c.W.shape[1] == d_e.W.shape[1]
    close(crv1_factor(d_c, 1), crv1_factor(d_e, 1), "crv1_factor")


# ---------------------------------------------------------------------------------------
# Fits and the few-cluster pieces


@pytest.mark.parametrize("family", ["logit", "linear"])
def test_fit_terms(frames, designs, family):
    """fit_terms: the same coefficients, CRV1 covariance, kept terms and n (= journeys), for the DiD
    alone and for two event-study terms; the logit's linear predictor is the same per journey."""
    d_e, d_c = designs
    for x_e, x_c, what in (
        (d_e.did, d_c.did, "did"),
        (pilot_half_year_terms(frames[0], (0, 5)), pilot_half_year_terms(frames[1], (0, 5)), "terms"),
    ):
        fe, fc = fit_terms(d_e, x_e, family), fit_terms(d_c, x_c, family)
        assert fe.n == d_e.n and fc.n == d_e.n, (what, fe.n, fc.n)
        np.testing.assert_array_equal(fc.kept, fe.kept)
        assert fc.converged and fe.converged
        close(fc.coef, fe.coef, f"{what} coef")
        close(fc.vcov, fe.vcov, f"{what} vcov", atol=1e-12)
    if family == "logit":
        pd.testing.assert_series_equal(
            keyed(frames[1], fc.eta), keyed(frames[0], fe.eta), rtol=RTOL, atol=1e-9
        )


def test_lpm_parts_wcr_and_lpm_ri(designs):
    """lpm_parts: every field the same; hence the same WCR p-values and RiLpm statistics (raw and
    size-strata assignments) for the same area-keyed draws."""
    d_e, d_c = designs
    pe, pc = wild_bootstrap.lpm_parts(d_e), wild_bootstrap.lpm_parts(d_c)
    same_fields(
        pc, pe, ["beta", "se_crv1_unscaled", "s_y", "s_x", "a_y", "a_x", "c_y", "gram_z", "h_y", "h_x"]
    )
    np.testing.assert_array_equal(pc.treated, pe.treated)
    v = area_webb_weights(d_e.area_codes, 99, seed=11)
    for delta in (0.0, -0.05):
        assert wild_bootstrap.wcr_pvalue(pc, v, delta) == pytest.approx(
            wild_bootstrap.wcr_pvalue(pe, v, delta)
        )
    strata = size_strata(np.bincount(d_e.area, minlength=d_e.n_areas), d_e.treated)
    for s in (None, strata):
        assign = area_assignments(d_e.area_codes, d_e.treated, 99, seed=12, strata=s)
        ri_e, ri_c = randomisation.RiLpm(pe, assign), randomisation.RiLpm(pc, assign)
        for delta in (0.0, -0.05):
            for k, (a, b) in enumerate(zip(ri_c.stats(delta), ri_e.stats(delta), strict=True)):
                close(a, b, f"RiLpm stat {k} at {delta}")


@pytest.mark.parametrize("delta", [0.0, -0.3])
def test_logit_parts_score_bootstrap_and_logit_ri(frames, designs, delta):
    """logit_parts (with_ri): s, info, a, c, gram_z, h the same, the restricted fit's linear
    predictor the same per journey; hence the same score-bootstrap p and ri_logit_stats."""
    d_e, d_c = designs
    pe = wild_bootstrap.logit_parts(d_e, delta, with_ri=True)
    pc = wild_bootstrap.logit_parts(d_c, delta, with_ri=True)
    same_fields(pc, pe, ["delta", "s", "info", "a", "c", "gram_z", "h"])
    np.testing.assert_array_equal(pc.treated, pe.treated)
    pd.testing.assert_series_equal(keyed(frames[1], pc.eta), keyed(frames[0], pe.eta), rtol=RTOL, atol=1e-9)
    v = area_webb_weights(d_e.area_codes, 99, seed=13)
    assert wild_bootstrap.score_pvalue(pc, v) == pytest.approx(wild_bootstrap.score_pvalue(pe, v))
    assign = area_assignments(d_e.area_codes, d_e.treated, 99, seed=14)
    for k, (a, b) in enumerate(
        zip(randomisation.ri_logit_stats(pc, assign), randomisation.ri_logit_stats(pe, assign), strict=True)
    ):
        close(a, b, f"ri_logit_stats {k}")


def test_size_strata_from_journeys_per_area(designs):
    """Journeys per area of the compressed design (bincount weighted by freq) are the expanded
    design's rows per area, so size_strata and the strata's re-assignments are the same."""
    d_e, d_c = designs
    sizes_e = np.bincount(d_e.area, minlength=d_e.n_areas)
    sizes_c = np.bincount(d_c.area, weights=d_c.freq, minlength=d_c.n_areas)
    np.testing.assert_array_equal(sizes_c, sizes_e)
    close(d_c.by_area(d_c.freq), sizes_e, "by_area(freq)")
    strata_e, strata_c = size_strata(sizes_e, d_e.treated), size_strata(sizes_c, d_c.treated)
    np.testing.assert_array_equal(strata_c, strata_e)
    np.testing.assert_array_equal(
        draws.area_assignments(d_c.area_codes, d_c.treated, 49, 5, strata=strata_c),
        draws.area_assignments(d_e.area_codes, d_e.treated, 49, 5, strata=strata_e),
    )


@pytest.mark.parametrize("family", ["logit", "lpm"])
def test_joint_parts_and_pvalue(frames, designs, family):
    """logit_joint_parts / lpm_joint_parts with P = post-period pilot x half-year terms and X = the
    pre-period ones but the reference, each built from its frame's rows: s, a, c, factor the same;
    joint_pvalue the same for the same area-keyed weights."""
    build = joint.logit_joint_parts if family == "logit" else joint.lpm_joint_parts
    parts = [
        build(d, pilot_half_year_terms(mf, (4, 5, 6, 7)), pilot_half_year_terms(mf, (0, 1, 2)))
        for mf, d in zip(frames, designs, strict=True)
    ]
    pe, pc = parts
    same_fields(pc, pe, ["s", "a", "factor"])
    if family == "lpm":
        same_fields(pc, pe, ["c"])
    else:
        assert pc.c is None and pc.converged and pe.converged
    v = area_webb_weights(designs[0].area_codes, 99, seed=15)
    (t_c, p_c), (t_e, p_e) = joint.joint_pvalue(pc, v), joint.joint_pvalue(pe, v)
    close(t_c, t_e, "joint statistic")
    assert p_c == pytest.approx(p_e)


# ---------------------------------------------------------------------------------------
# Result rows of the higher-level functions


def test_fit_did_rows(tables):
    """pbr.fit.models.fit_did (exact engine): the same logit and LPM rows (estimate, interval, p,
    se, n and events in journeys, drops, note)."""
    expanded, compressed = tables
    same_rows(models.fit_did(compressed, SPEC), models.fit_did(expanded, SPEC))


def test_event_study_rows(tables):
    """event_study with a 99-draw bootstrap: the same coefficient table and pre-trend rows (CRV1
    Wald and the joint restricted bootstraps)."""
    expanded, compressed = tables
    boot = Bootstrap(reps=99, seed=21)
    table_e, rows_e = event_study(expanded, SPEC, bootstrap=boot)
    table_c, rows_c = event_study(compressed, SPEC, bootstrap=boot)
    assert len(rows_e) == 6 and rows_e["p_value"].notna().all()
    same_rows(rows_c, rows_e)
    same_rows(table_c, table_e)


def test_event_study_separated_bin(tables):
    """A pilot x half-year bin without events (logit: its journeys and term left out): the same
    logit rows, dropped counts and note (in journeys) on the compressed table."""
    expanded, _ = tables
    cell = expanded["pilot"] & (expanded["half_year"] == 1)
    separated = expanded.assign(y=expanded["y"].mask(cell, 0))
    boot = Bootstrap(reps=99, seed=22)
    methods = ("logit_crv1", "logit_score_wcb")
    table_e, rows_e = event_study(separated, SPEC, bootstrap=boot, methods=methods)
    table_c, rows_c = event_study(compress(separated), SPEC, bootstrap=boot, methods=methods)
    assert rows_e["note"].str.contains(f"their {int(cell.sum())} journeys").all()
    assert (rows_e["dropped_rows"] >= cell.sum()).all() and rows_e["p_value"].notna().all()
    same_rows(rows_c, rows_e)
    same_rows(table_c, table_e)


def test_pilot_rows(tables):
    """pilot_rows: the same per-pilot and Ibragimov-Mueller / Canay-Romano-Shaikh rows and the same
    pilot-area table (coefficients, leverage shares, journeys and events)."""
    expanded, compressed = tables
    rows_e, areas_e = pilot_rows(expanded, SPEC)
    rows_c, areas_c = pilot_rows(compressed, SPEC)
    assert len(areas_e) == N_PILOT and rows_e["estimate"].notna().all()
    same_rows(rows_c, rows_e)
    same_rows(areas_c, areas_e)


# ---------------------------------------------------------------------------------------
# freq all 1 is no freq


def test_freq_of_ones_is_the_table_without_freq(tables):
    """A table with ``freq`` = 1 everywhere gives what the table without ``freq`` gives: design
    weights, fit_terms, lpm_parts, logit_parts and fit_did rows."""
    expanded, _ = tables
    ones = expanded.assign(**{FREQ: np.ones(len(expanded), dtype="int64")})
    (mf0, *drops0), (mf1, *drops1) = model_rows(expanded, SPEC), model_rows(ones, SPEC)
    assert drops0 == drops1
    d0, d1 = build_design(mf0, "y", COVS), build_design(mf1, "y", COVS)
    np.testing.assert_array_equal(d1.freq, d0.freq)
    assert d1.journeys == d0.journeys == d0.n
    for family in ("logit", "linear"):
        f0, f1 = fit_terms(d0, d0.did, family), fit_terms(d1, d1.did, family)
        assert f1.n == f0.n
        close(f1.coef, f0.coef, f"{family} coef")
        close(f1.vcov, f0.vcov, f"{family} vcov", atol=1e-12)
    same_fields(
        wild_bootstrap.lpm_parts(d1), wild_bootstrap.lpm_parts(d0), ["beta", "s_y", "a_y", "gram_z", "h_y"]
    )
    same_fields(
        wild_bootstrap.logit_parts(d1, 0.0, with_ri=True),
        wild_bootstrap.logit_parts(d0, 0.0, with_ri=True),
        ["s", "info", "a", "c", "gram_z", "h"],
    )
    same_rows(models.fit_did(ones, SPEC), models.fit_did(expanded, SPEC))
