"""Multiple imputation of links (pbr.link.imputation): one-to-one, and linked as often as the
probabilities say."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pbr.link import imputation


def _draws(pairs: pd.DataFrame, n: int, seed: int = 1) -> pd.DataFrame:
    return pd.concat(
        [
            imputation.imputed_links(pairs, imputation.imputation_seed(seed, m)).assign(m=m)
            for m in range(1, n + 1)
        ],
        ignore_index=True,
    )


def _copies(pairs: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` independent copies of ``pairs`` (persons and units renamed per copy): one draw of them
    is ``n`` draws of ``pairs``."""
    return pd.concat(
        [
            pairs.assign(left_id=pairs["left_id"] + f"_{k}", right_id=pairs["right_id"] + f"_{k}")
            for k in range(n)
        ],
        ignore_index=True,
    )


def test_a_lone_candidate_is_linked_as_often_as_its_probability():
    p = np.array([0.05, 0.2, 0.5, 0.8, 0.97])
    pairs = pd.DataFrame({"left_id": [f"P{i}" for i in range(5)], "right_id": [f"U{i}" for i in range(5)],
                          "match_probability": p})  # fmt: skip
    n = 4000
    drawn = imputation.imputed_links(_copies(pairs, n), imputation.imputation_seed(1, 1))
    share = drawn["left_id"].str.split("_").str[0].value_counts().reindex(pairs["left_id"]).fillna(0) / n
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(share.to_numpy() - p) < 4 * se + 1e-9)


def test_a_person_with_two_candidates_takes_at_most_one_by_their_odds():
    """Odds 1 and 3: unit A 1/5, unit B 3/5, no link 1/5."""
    pairs = pd.DataFrame({"left_id": ["P", "P"], "right_id": ["A", "B"], "match_probability": [0.5, 0.75]})
    n = 4000
    drawn = imputation.imputed_links(_copies(pairs, n), imputation.imputation_seed(1, 1))
    assert not drawn["left_id"].duplicated().any()
    shares = drawn["right_id"].str.split("_").str[0].value_counts() / n
    assert shares["A"] == pytest.approx(0.2, abs=0.025) and shares["B"] == pytest.approx(0.6, abs=0.03)


def test_a_person_of_capacity_two_draws_each_candidate_by_its_own_probability():
    """A person whom two NDTMS clients share (capacity 2) and two candidates of 0.5 and 0.75: each
    is linked with its own probability, both with 0.375; a capacity-1 person keeps the odds rule."""
    pairs = pd.DataFrame({"left_id": ["P", "P"], "right_id": ["A", "B"], "match_probability": [0.5, 0.75],
                          "capacity": [2, 2]})  # fmt: skip
    n = 4000
    drawn = imputation.imputed_links(_copies(pairs, n), imputation.imputation_seed(1, 1))
    shares = drawn["right_id"].str.split("_").str[0].value_counts() / n
    assert shares["A"] == pytest.approx(0.5, abs=0.03) and shares["B"] == pytest.approx(0.75, abs=0.03)
    both = drawn["left_id"].value_counts().eq(2).sum() / n
    assert both == pytest.approx(0.375, abs=0.03)
    # capacity 1 everywhere draws exactly what a table without the column draws
    one = _copies(pairs.assign(capacity=1), 50)
    rng_a, rng_b = imputation.imputation_seed(1, 2), imputation.imputation_seed(1, 2)
    assert imputation.imputed_links(one, rng_a).equals(
        imputation.imputed_links(one.drop(columns="capacity"), rng_b)
    )


def test_every_draw_is_one_to_one_and_reproducible():
    rng = np.random.default_rng(0)
    pairs = pd.DataFrame(
        {
            "left_id": [f"P{i}" for i in rng.integers(0, 200, 1000)],
            "right_id": [f"U{i}" for i in rng.integers(0, 150, 1000)],
            "match_probability": rng.uniform(0.05, 1.0, 1000),
        }
    ).drop_duplicates(["left_id", "right_id"])
    draws = _draws(pairs, 20)
    assert not draws.duplicated(["m", "left_id"]).any() and not draws.duplicated(["m", "right_id"]).any()
    assert set(zip(draws["left_id"], draws["right_id"], strict=True)) <= set(
        zip(pairs["left_id"], pairs["right_id"], strict=True)
    )
    again = _draws(pairs, 20)
    pd.testing.assert_frame_equal(draws, again)
    assert not draws[draws.m == 1].reset_index(drop=True).equals(draws[draws.m == 2].reset_index(drop=True))
    assert imputation.imputed_links(pairs.iloc[0:0], imputation.imputation_seed(1, 1)).empty
