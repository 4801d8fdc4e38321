"""pbr.frames.member_of against pandas' own Series.isin (the library it replaces for speed)."""

import numpy as np
import pandas as pd
import pytest

from pbr.frames import member_of

TEXT = pd.Series(["a", "b", None, "c", "a", ""], dtype="str")


@pytest.mark.parametrize(
    "allowed",
    [
        ["a"],
        {"a", "c"},
        frozenset({""}),
        ["a", None],
        [],
        ("x",),
        pd.Series(["b", "b"], dtype="str"),
        pd.Series(["c", None], dtype="string"),
        np.array(["c", np.nan], dtype=object),
        pd.Index(["a", "b"]),
        [1, "a"],  # not all text: Series.isin's own path
    ],
)
def test_member_of_is_isin(allowed):
    expected = TEXT.isin(list(allowed) if isinstance(allowed, (set, frozenset)) else allowed).to_numpy()
    got = member_of(TEXT, allowed)
    assert got.dtype == bool and got.tolist() == expected.tolist()


@pytest.mark.parametrize("dtype", ["str", "string", "object", "int64"])
def test_member_of_is_isin_on_random_columns(dtype):
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 500, 5000)
    values = (
        pd.Series(ids, dtype="int64") if dtype == "int64" else pd.Series([f"id{i}" for i in ids], dtype=dtype)
    )
    pool = rng.integers(0, 700, 300)
    allowed = pool if dtype == "int64" else np.array([f"id{i}" for i in pool], dtype=object)
    got = member_of(values, allowed)
    assert 0 < got.sum() < len(values)
    assert got.tolist() == values.isin(allowed).tolist()
