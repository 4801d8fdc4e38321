"""drop_uninformative counts events per group (a 0/1 outcome); checked against pandas' min/max by group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr.fit.frame import _drop_constant_groups, covariate_levels, drop_uninformative


def _frame(seed: int, n: int = 3000) -> pd.DataFrame:
    """Areas, periods and a covariate, some of each with an outcome all 0 or all 1 (dropping one can
    make another constant: the loop repeats)."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "area_code": rng.choice([f"E{i:02d}" for i in range(30)], n),
            "period_fe": rng.integers(0, 16, n),
            "age": pd.Categorical(rng.choice(["18-29", "30-39", "40-49", "50+"], n)),
            "sex": pd.Categorical(rng.choice(["F", "M", "unknown"], n)),
        }
    )
    p = rng.uniform(0.02, 0.2)
    y = (rng.uniform(size=n) < p).astype("int64")
    y[df["area_code"].isin(["E03", "E07"]).to_numpy()] = 0  # areas without events
    y[(df["period_fe"] == 5).to_numpy()] = 1  # a period with events only
    small = df.index[df["area_code"] == "E11"][:2]  # an area of two rows, both events
    y[small] = 1
    df = df.drop(df.index[(df["area_code"] == "E11") & ~df.index.isin(small)])
    df["y"] = y[df.index]
    return df.reset_index(drop=True)


@pytest.mark.parametrize("seed", range(8))
def test_counting_drops_the_rows_pandas_min_max_drops(seed):
    df = _frame(seed)
    out, areas, journeys = drop_uninformative(df, "y", ["age", "sex"])
    expected = _drop_constant_groups(df, "y", ["age", "sex"]).reset_index(drop=True)
    for col in ("age", "sex"):
        expected[col] = expected[col].cat.remove_unused_categories()
    pd.testing.assert_frame_equal(out, expected)
    assert areas == df["area_code"].nunique() - out["area_code"].nunique() and areas >= 2
    assert journeys == len(df) - len(out) > 0


def test_a_non_binary_or_missing_outcome_takes_the_min_max_path():
    df = _frame(1)
    df["y"] = df["y"] * 2.5  # not 0/1: groups still dropped when constant
    out, _, _ = drop_uninformative(df, "y", ["age"])
    assert not out.empty and set(out.groupby("area_code")["y"].nunique()) == {2}
    empty, areas, journeys = drop_uninformative(df.iloc[:0], "y", ["age"])
    assert empty.empty and (areas, journeys) == (0, 0)


def test_levels_left_without_rows_are_removed_and_others_kept():
    df = _frame(2)
    df["sex"] = df["sex"].cat.add_categories(["X"])  # a level no row holds from the start
    df.loc[df["age"] == "50+", "y"] = 0  # a level all 0: its rows dropped, the level removed
    out, _, _ = drop_uninformative(df, "y", ["age", "sex"])
    assert list(out["sex"].cat.categories) == ["F", "M", "unknown"]
    assert list(out["age"].cat.categories) == ["18-29", "30-39", "40-49"]
    assert list(df["sex"].cat.categories) == ["F", "M", "unknown", "X"]  # the input untouched
    same, _, _ = drop_uninformative(out, "y", ["age", "sex"])
    pd.testing.assert_frame_equal(same, out)


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(["b", None, "a", "b", "unknown"], dtype="string"),
        pd.Series(pd.Categorical(["30-39", "18-29", None, "30-39"], categories=["18-29", "30-39", "50+"])),
        pd.Series([True, False, None, True], dtype="boolean"),
        pd.Series([1, 2, None, 2], dtype="Int64"),
        pd.Series([1.0, np.nan, 2.5]),
        pd.Series(["x", 1, None], dtype=object),
        pd.Series([], dtype="string"),
    ],
)
def test_covariate_levels_are_the_row_by_row_conversion(values):
    expected = values.astype("string").fillna("unknown").astype(str).astype("category")
    got = pd.Series(covariate_levels(values), index=values.index)
    pd.testing.assert_series_equal(got, expected, check_names=False)
