"""Estimability: on small, sparse or degenerate data no estimator crashes, and none prints an
absurd number without a note (``status`` / ``note`` / ``min_cell_events`` on every row).

Each degenerate frame goes through the main fit (every engine), the few-cluster methods and
the robustness checks. A second set of tests switches the checks before fitting off (so the
fits run on separated or collinear data) to show that the checks during and after the fit
catch what the first line would have. A last test pins the numbers of a healthy frame to
those of the code before these checks (they must not move).
"""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from did_simulation import did_frame

from pbr.fit import design, estimability, event_study, frame, inference, models, robustness, spec
from pbr.fit.spec import FitSpec

COVS = ["age_group", "sex"]
ODDS_RATIO_BOUNDS = (1e-6, 1e6)
LOG_OR = float(np.log(0.6))


def simulate(n=4000, n_areas=30, n_pilot=6, log_or=LOG_OR, seed=2013, base=-0.8):
    """Analysis-table-like journeys: 16 quarters from 1 Apr 2010 (post from quarter 8, 1 Apr 2012),
    start dates, half-years, area and quarter effects, two covariates, a planted DiD odds ratio."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 0.5, n_areas)
    area = rng.choice(n_areas, n, p=size / size.sum())
    quarter = rng.integers(0, 16, n)
    pilot = area < n_pilot
    post = quarter >= 8
    age = rng.choice(["18-29", "30-39", "40+"], n)
    sex = rng.choice(["F", "M"], n, p=[0.3, 0.7])
    lp = (
        base
        + rng.normal(0, 0.4, n_areas)[area]
        + 0.03 * quarter
        + 0.3 * (age == "40+")
        - 0.2 * (sex == "F")
        + log_or * (pilot & post)
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(int)
    start = (np.datetime64("2010-04", "M") + 3 * quarter).astype("datetime64[D]") + rng.integers(0, 89, n)
    return did_frame(
        area, quarter, pilot, post, age, sex, y, half_year=quarter // 2, start_date=pd.to_datetime(start)
    )


def _pilot(df):
    return df["pilot"].astype(bool)


def degenerate(kind: str) -> pd.DataFrame:
    df = simulate(n=3000, seed=3)
    if kind == "complete_separation":  # no events in the pilot x post cell
        df.loc[df["did"] == 1, "y"] = 0
    elif kind == "quasi_separation":  # every pilot journey before the start an event
        df.loc[_pilot(df) & (df["post"] == 0), "y"] = 1
    elif kind == "single_treated":
        df = df.loc[~df["area_code"].isin(["E001", "E002", "E003", "E004", "E005"])]
    elif kind == "did_collinear_with_fe":  # pilot areas only after the start: did = their area dummies
        df = df.loc[~(_pilot(df) & (df["post"] == 0))]
    elif kind == "no_pre_period":
        df = df.loc[df["post"] == 1]
    elif kind == "no_control_areas":
        df = df.loc[_pilot(df)]
    elif kind == "tiny":  # 53 rows, 6 areas, 2 pilot areas, a handful of pilot journeys
        df = simulate(n=53, n_areas=6, n_pilot=2, seed=1)
    elif kind == "all_open":  # every episode still open: the outcome is missing throughout
        df = df.assign(y=pd.array([pd.NA] * len(df), dtype="Int64"))
    else:
        raise ValueError(kind)
    return df.reset_index(drop=True)


# (logit status, linear status, words in both notes)
EXPECTED = {
    "complete_separation": (
        "not_estimable",
        "caveat",
        "no events in the pilot areas from April 2012 (0 of 283 journeys): quasi-separation of the DiD term",
    ),
    "quasi_separation": (
        "not_estimable",
        "caveat",
        "every journey an event in the pilot areas before April 2012",
    ),
    "single_treated": (
        "not_estimable",
        "not_estimable",
        "a single treated area (E000 is the only pilot area with journeys both before and from April 2012): "
        "cluster-robust and few-cluster inference need at least 2",
    ),
    "did_collinear_with_fe": (
        "not_estimable",
        "not_estimable",
        "no pilot area has journeys both before and from April 2012: the DiD term is not identified",
    ),
    "no_pre_period": ("not_estimable", "not_estimable", "no pre period (no journeys before April 2012)"),
    "no_control_areas": ("not_estimable", "not_estimable", "no control areas"),
    "tiny": ("caveat", "caveat", "sparse data: only 1 event(s) among the 8 journeys in the pilot areas"),
    "all_open": ("not_estimable", "not_estimable", "no journeys left in the model"),
}
CASES = list(EXPECTED)

NUMBERS = ["estimate", "ci_low", "ci_high", "p_value", "beta", "se"]


def assert_well_formed(rows: pd.DataFrame) -> None:
    """Every row: the result columns, a known status, a reason when not ok, no numbers when not
    estimable, and no number outside the possible (or sane) range when ok."""
    assert list(rows.columns) == spec.RESULT_COLUMNS
    assert set(rows["status"]) <= set(spec.STATUSES), set(rows["status"])
    assert (rows["min_cell_events"] >= 0).all()
    for _, r in rows.iterrows():
        if r["status"] == "not_estimable":
            assert "not estimable: " in r["note"], r["note"]
            assert r[NUMBERS].isna().all(), r
        elif r["status"] == "caveat":
            assert "caveat: " in r["note"], r["note"]
        if r["status"] == "not_estimable" or r["scale"] not in ("odds_ratio", "risk_difference"):
            continue
        lo, hi = ODDS_RATIO_BOUNDS if r["scale"] == "odds_ratio" else (-1.0, 1.0)
        assert lo <= r["estimate"] <= hi, r
        if r["status"] == "ok":
            for end in ("ci_low", "ci_high"):  # NaN (RI rows: p only) or within the range
                assert not (r[end] < lo or r[end] > hi), r


def assert_as_expected(rows: pd.DataFrame, kind: str) -> None:
    logit_status, linear_status, words = EXPECTED[kind]
    for _, r in rows.iterrows():
        want = logit_status if r["method"].startswith("logit") else linear_status
        assert r["status"] == want, (r["method"], r["status"], r["note"])
        assert words in r["note"], (r["method"], r["note"])


@pytest.mark.parametrize("engine", ["exact", "pyfixest", "statsmodels"])
@pytest.mark.parametrize("kind", CASES)
def test_fit_did_reports_degenerate_data(kind, engine):
    rows = models.fit_did(degenerate(kind), FitSpec("drug", "y", COVS, engine=engine))
    assert list(rows["method"]) == ["logit_crv1", "lpm_crv1"]
    assert_well_formed(rows)
    assert_as_expected(rows, kind)


@pytest.mark.parametrize("kind", CASES)
def test_few_cluster_rows_report_degenerate_data(kind):
    rows = inference.few_cluster_rows(
        degenerate(kind), FitSpec("drug", "y", COVS), reps=49, ri_reps=49, seed=3
    )
    assert list(rows["method"]) == list(inference.METHODS)
    assert_well_formed(rows)
    assert_as_expected(rows, kind)
    # the headline draws: none when the headline row has no numbers, else the observed one first
    draws = inference.headline_draws(degenerate(kind), FitSpec("drug", "y", COVS), reps=49, seed=3)
    headline = rows.set_index("method").loc["logit_score_wcb"]
    assert list(draws.columns) == inference.DRAW_COLUMNS
    assert len(draws) == (0 if headline["status"] == "not_estimable" else 50)


@pytest.mark.parametrize("kind", CASES)
def test_robustness_checks_report_degenerate_data(kind):
    """Event study, placebo, leave-one-out and Mason window: no exception, every row well formed
    (each refit its own status), no event-study coefficient outside the possible range."""
    df = degenerate(kind)
    rows, table = robustness.robustness_rows(df, FitSpec("drug", "y", COVS))
    assert_well_formed(rows)
    assert {"event_study_pretrend", "placebo_2011", "mason_2015"} <= set(rows["specification"])
    pretrend = rows[rows["specification"] == "event_study_pretrend"].set_index("method")
    for method, expected in zip(("logit_crv1", "lpm_crv1"), EXPECTED[kind][:2], strict=True):
        if expected == "not_estimable":  # what makes the DiD not estimable does the event study too
            assert pretrend.loc[method, "status"] == "not_estimable", pretrend.loc[method, "note"]
    assert list(table.columns) == event_study.EVENT_STUDY_COLUMNS
    logit = table["scale"] == "odds_ratio"
    assert table.loc[logit, "estimate"].between(*ODDS_RATIO_BOUNDS).all()
    assert table.loc[~logit, "estimate"].between(-1, 1).all()


@pytest.mark.parametrize("engine", ["pyfixest", "statsmodels"])
@pytest.mark.parametrize("kind", ["complete_separation", "tiny", "all_open"])
def test_event_study_with_another_engine_reports_degenerate_data(kind, engine):
    _, summary = event_study.event_study(degenerate(kind), FitSpec("drug", "y", COVS, engine=engine))
    assert_well_formed(summary)
    assert len(summary) == 6  # CRV1, the bootstrap and the RI pre-trend tests, logit and LPM


def test_tiny_data_linear_event_study_outside_the_possible_range_is_not_estimable():
    """53 rows: the LPM's pilot x half-year terms run past a risk difference of 1 (1.23)."""
    _, summary = event_study.event_study(degenerate("tiny"), FitSpec("drug", "y", COVS))
    lpm = summary.set_index("method").loc["lpm_crv1"]
    assert lpm["status"] == "not_estimable" and "outside [-1, 1]" in lpm["note"]
    assert np.isnan(lpm["estimate"])


# ---------------------------------------------------------------------------------------
# The event study's own bins


def test_event_study_leaves_out_a_pilot_bin_without_events_from_the_logit():
    """No events among pilot journeys in half-year 5: the logit's term for it is infinite, so
    that cell is left out (with a caveat naming it); the LPM keeps it; the Wald test runs."""
    df = simulate(n=3000, seed=3)
    df.loc[_pilot(df) & (df["half_year"] == 5), "y"] = 0
    table, summary = event_study.event_study(df, FitSpec("drug", "y", COVS))
    s = summary.set_index("method")
    assert s.loc["logit_crv1", "status"] == "caveat"
    assert "half_year bin(s) 5 (2012-10-01) without outcome variation" in s.loc["logit_crv1", "note"]
    assert np.isfinite(s.loc["logit_crv1", "estimate"]) and s.loc["lpm_crv1", "status"] == "ok"
    assert 5 not in set(table.loc[table["method"] == "logit_crv1", "bin"])
    assert 5 in set(table.loc[table["method"] == "lpm_crv1", "bin"])


def test_event_study_without_pilot_journeys_in_the_reference_bin_is_not_estimable():
    df = simulate(n=3000, seed=3)
    df = df.loc[~(_pilot(df) & (df["half_year"] == 3))]
    table, summary = event_study.event_study(df, FitSpec("drug", "y", COVS))
    assert (summary["status"] == "not_estimable").all()
    assert summary["note"].str.contains("no pilot journeys in the reference half_year bin 3").all()
    assert table.empty


def test_event_study_without_pre_bins_besides_the_reference_is_not_estimable():
    df = simulate(n=3000, seed=3)
    df = df.loc[df["half_year"] >= 3]
    _, summary = event_study.event_study(df, FitSpec("drug", "y", COVS))
    assert (summary["status"] == "not_estimable").all()
    assert summary["note"].str.contains("no pre-trend to test").all()


# ---------------------------------------------------------------------------------------
# Second line: the checks during and after the fit (pre-fit checks switched off)


@pytest.fixture
def no_prefit_checks(monkeypatch):
    """Every model frame passes the pre-fit checks, so the fits run on separated or collinear data."""

    def always_ok(mf, outcome, family="logit", post_from=None):
        return estimability.verdict(min_cell_events=0)

    for module in (models, inference, robustness, event_study):  # each imported the check by name
        monkeypatch.setattr(module, "estimability", always_ok)


@pytest.mark.parametrize("engine", ["exact", "pyfixest", "statsmodels"])
@pytest.mark.usefixtures("no_prefit_checks")
def test_a_diverging_logit_is_caught_during_the_fit(engine):
    """Separated data fitted anyway: the exact engine runs to beta -28.7 (OR 3e-13), pyfixest
    stops at -18.1 (OR 1e-8, p = 0), statsmodels at -29.4: all not estimable, with the
    divergence in the note."""
    rows = models.fit_did(degenerate("complete_separation"), FitSpec("drug", "y", COVS, engine=engine))
    assert_well_formed(rows)
    r = rows.set_index("method")
    assert r.loc["logit_crv1", "status"] == "not_estimable"
    assert "the logit diverges (separation)" in r.loc["logit_crv1", "note"]
    assert r.loc["lpm_crv1", "status"] == "ok" and -1 <= r.loc["lpm_crv1", "estimate"] <= 1


@pytest.mark.usefixtures("no_prefit_checks")
def test_few_cluster_logit_methods_catch_a_diverging_fit():
    rows = inference.few_cluster_rows(
        degenerate("complete_separation"), FitSpec("drug", "y", COVS), reps=49, ri_reps=49
    )
    assert_well_formed(rows)
    logit = rows[rows["method"].str.startswith("logit")]
    assert (logit["status"] == "not_estimable").all()
    assert logit["note"].str.contains("the logit diverges").all()
    assert (rows.loc[~rows["method"].str.startswith("logit"), "status"] == "ok").all()


@pytest.mark.parametrize("engine", ["exact", "pyfixest", "statsmodels"])
@pytest.mark.usefixtures("no_prefit_checks")
@pytest.mark.filterwarnings(r"ignore:\s*\d+ variables dropped due to multicollinearity:UserWarning")
def test_a_did_term_collinear_with_the_fixed_effects_is_reported_not_raised(engine):
    rows = models.fit_did(degenerate("did_collinear_with_fe"), FitSpec("drug", "y", COVS, engine=engine))
    assert_well_formed(rows)
    assert (rows["status"] == "not_estimable").all()
    assert rows["note"].str.contains("the DiD term is collinear with the fixed effects").all()


@pytest.mark.usefixtures("no_prefit_checks")
def test_few_cluster_rows_report_a_collinear_did_term():
    rows = inference.few_cluster_rows(
        degenerate("did_collinear_with_fe"), FitSpec("drug", "y", COVS), reps=49, ri_reps=49
    )
    assert_well_formed(rows)
    assert (rows["status"] == "not_estimable").all()
    assert rows["note"].str.contains("collinear with the fixed effects").all()


def test_fit_terms_returns_no_terms_for_a_collinear_did_and_still_refuses_a_wrong_family():
    df = degenerate("did_collinear_with_fe")
    mf, _, _ = frame.drop_uninformative(frame.model_frame(df, "y", COVS, "quarter"), "y", COVS)
    d = design.build_design(mf, "y", COVS)
    for family in ("logit", "linear"):
        fit = design.fit_terms(d, d.did, family)
        assert len(fit.kept) == 0 and fit.coef.shape == (0,) and fit.vcov.shape == (0, 0)
        assert "collinear" in fit.note
    with pytest.raises(ValueError, match="family must be"):
        design.fit_terms(d, d.did, "probit")


# ---------------------------------------------------------------------------------------
# The shared checks themselves


def test_fit_check_thresholds():
    ne, ok = "not_estimable", "ok"
    # pyfixest's OR of 1.17e16 (log 37.0), the exact engine's 3.3e-13 (log -28.7)
    assert estimability.fit_check("logit", math.log(1.17e16), 2.0).status == ne
    assert estimability.fit_check("logit", -28.7, 1.0).status == ne
    assert estimability.fit_check("logit", -3.55, 2.4, lo=-8.3, hi=1.1).status == ok
    assert estimability.fit_check("logit", 0.2, float("nan")).status == ne
    assert estimability.fit_check("logit", 0.2, 0.0).status == ne
    assert estimability.fit_check("logit", float("inf")).status == ne
    # the few-cluster job's risk difference of 2.31
    rd = estimability.fit_check("linear", 2.31)
    assert rd.status == ne and "outside [-1, 1]" in rd.reason
    assert estimability.fit_check("linear", -0.4, 0.4, lo=-1.2, hi=0.37).status == "caveat"
    assert estimability.fit_check("logit", 0.1, 1.0, lo=-20.0, hi=20.0).status == "caveat"
    # pilot post-period journeys fitted at probability 0: not estimable; other journeys: a caveat
    eta = np.array([0.1, -0.3, -35.0, 0.2])
    on_did = estimability.fit_check("logit", -2.0, 0.5, eta=eta, did=np.array([0, 0, 1, 0]))
    assert on_did.status == ne and "quasi-separation" in on_did.reason
    elsewhere = estimability.fit_check("logit", -2.0, 0.5, eta=eta, did=np.array([1, 0, 0, 0]))
    assert elsewhere.status == "caveat"
    assert estimability.fit_check("logit", -2.0, 0.5, converged=False).status == "caveat"
    assert estimability.fit_check("linear", np.nan, collinear=True).status == ne
    with pytest.raises(ValueError, match="family must be"):
        estimability.fit_check("probit", 0.0)


def test_estimability_unpacks_and_counts_the_sparsest_cell():
    df = simulate()
    mf, _, _ = frame.drop_uninformative(frame.model_frame(df, "y", COVS, "quarter"), "y", COVS)
    status, reason, min_cell = estimability.estimability(mf, "y", "logit", frame.post_start(df))
    assert (status, reason) == ("ok", "")
    cells = mf.groupby([mf["pilot"].astype(bool), mf["post"]])["y"].agg(["sum", "count"])
    assert min_cell == int(np.minimum(cells["sum"], cells["count"] - cells["sum"]).min()) == 100
    # without a post column it is derived from the first period with a pilot post-period journey
    derived = estimability.estimability(mf.drop(columns="post"), "y", "logit")
    assert derived.status == "ok" and derived.min_cell_events == 100


def test_odds_ratio_never_overflows():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert spec.odds_ratio(1000.0) == float("inf")
        assert math.isnan(spec.odds_ratio(float("nan")))


def test_result_columns_hold_the_status_and_the_adjusted_p_values_after_the_note():
    cols = spec.RESULT_COLUMNS
    assert cols[cols.index("note") :] == [
        "note",
        "status",
        "min_cell_events",
        "p_holm",
        "p_romano_wolf",
        "mde_low",
        "mde_high",
    ]


def test_combine_results_names_the_columns_older_parts_lack():
    part = models.fit_did(simulate(n=1500), FitSpec("drug", "y", COVS), methods=("lpm_crv1",))
    assert len(spec.combine_results([part])) == 1
    with pytest.raises(ValueError, match="status"):
        spec.combine_results([part.drop(columns=["status", "min_cell_events"])])


# ---------------------------------------------------------------------------------------
# Regression: a healthy frame is ok everywhere and its numbers have not moved

# [estimate, ci_low, ci_high, p_value, beta], computed with the code before the checks
# (commit 645fe68) on simulate() with these calls.
BEFORE = {
    "main/exact/logit_crv1": [
        0.468639436168,
        0.352510348109,
        0.623025458146,
        1.8205468898e-07,
        -0.757921599028,
    ],
    "main/exact/lpm_crv1": [
        -0.157383408509,
        -0.208180119901,
        -0.106586697118,
        1.25891134172e-09,
        -0.157383408509,
    ],
    "main/pyfixest/logit_crv1": [
        0.468639436351,
        0.352511295228,
        0.623023784702,
        1.82006345569e-07,
        -0.757921598637,
    ],
    "main/pyfixest/lpm_crv1": [
        -0.157383408509,
        -0.208180119939,
        -0.106586697079,
        1.25891137795e-09,
        -0.157383408509,
    ],
    # few/*: recomputed when the draws became keyed by area code (pbr.fit.draws, issue #19)
    "few/lpm_wcb_webb": [-0.157383408509, -0.215804500243, -0.093226748458, 0, -0.157383408509],
    "few/logit_score_wcb": [0.468639436168, 0.310356501026, 0.6714095433, 0, -0.757921599028],
    "few/logit_att_score_wcb": [-0.159022111771, -0.244275547257, -0.0833284430718, 0, -0.159022111771],
    "few/lpm_ri": [-0.157383408509, -0.252799191031, -0.0812772753569, 0.005, -0.157383408509],
    "few/lpm_ri_t": [-0.157383408509, -0.231777920397, -0.0881245489188, 0.005, -0.157383408509],
    "few/lpm_ri_t_size": [-0.157383408509, -0.230222617364, -0.0901224350925, 0.01, -0.157383408509],
    "few/logit_ri": [0.468639436168, np.nan, np.nan, 0.005, -0.757921599028],
    "few/logit_ri_t": [0.468639436168, np.nan, np.nan, 0.005, -0.757921599028],
    "few/logit_ri_t_size": [0.468639436168, np.nan, np.nan, 0.01, -0.757921599028],
    "rob/event_study_pretrend/logit_crv1": [3.88329212295, np.nan, np.nan, 0.27434537567, np.nan],
    "rob/event_study_pretrend/lpm_crv1": [1.49829301186, np.nan, np.nan, 0.235804389393, np.nan],
    "rob/placebo_2011/logit_crv1": [
        1.17557840177,
        0.765709496317,
        1.80484189545,
        0.459587470538,
        0.1617602833,
    ],
    "rob/placebo_2011/lpm_crv1": [
        0.0391571557252,
        -0.054783348131,
        0.133097659581,
        0.413945319878,
        0.0391571557252,
    ],
    "rob/leave_out_E000/logit_crv1": [
        0.497149814215,
        0.377712544259,
        0.654354591951,
        6.18691703865e-07,
        -0.698863861257,
    ],
    "rob/mason_2015/logit_crv1": [
        0.451450788401,
        0.30207564919,
        0.674691306283,
        0.000104673956885,
        -0.795288907855,
    ],
    "rob/mason_2015/lpm_crv1": [
        -0.162968108806,
        -0.239086954323,
        -0.0868492632901,
        2.71403448191e-05,
        -0.162968108806,
    ],
}


def test_a_healthy_frame_is_ok_everywhere_and_unchanged():
    df = simulate()
    parts = {
        "main/exact": models.fit_did(df, FitSpec("drug", "y", COVS, engine="exact")),
        "main/pyfixest": models.fit_did(df, FitSpec("drug", "y", COVS, engine="pyfixest")),
        "few": inference.few_cluster_rows(df, FitSpec("drug", "y", COVS), reps=199, ri_reps=199, seed=5),
        "rob": robustness.robustness_rows(df, FitSpec("drug", "y", COVS))[0],
    }
    got = {}
    for prefix, rows in parts.items():
        assert_well_formed(rows)
        assert (rows["status"] == "ok").all(), rows.loc[rows["status"] != "ok", "note"].tolist()
        assert not rows["note"].str.contains("not estimable|caveat").any()
        for _, r in rows.iterrows():
            key = (
                f"{prefix}/{r['specification']}/{r['method']}"
                if prefix == "rob"
                else f"{prefix}/{r['method']}"
            )
            got[key] = r[["estimate", "ci_low", "ci_high", "p_value", "beta"]].to_numpy(dtype=float)
    assert (parts["main/exact"]["min_cell_events"] == 100).all()
    for key, before in BEFORE.items():
        # pyfixest demeans iteratively: its numbers vary between runs by ~1e-9 (relative)
        rtol = 1e-7 if "pyfixest" in key else 1e-10
        np.testing.assert_allclose(got[key], before, rtol=rtol, atol=1e-15, err_msg=key)
