"""Intermediates: nullable dtypes survive a round trip and the same data gives the same bytes."""

import pandas as pd

from pbr import io


def _frame():
    return pd.DataFrame(
        {
            "k": ["b", "a", "c"],
            "i": pd.array([1, None, 3], dtype="Int64"),
            "b": pd.array([True, None, False], dtype="boolean"),
            "s": pd.array(["x", None, "z"], dtype="string"),
            "d": pd.to_datetime(["2012-01-01", None, "2013-02-03"]),
        }
    )


def test_round_trip_keeps_nullable_dtypes_and_sorts(tmp_path):
    path = io.write_table(_frame(), tmp_path / "t.parquet", sort_by=["k"])
    back = io.read_table(path)
    assert back["k"].tolist() == ["a", "b", "c"]
    assert str(back["i"].dtype) == "Int64" and str(back["b"].dtype) == "boolean"
    assert back["s"].dtype == "string" and back["i"].isna().tolist() == [True, False, False]
    assert not (tmp_path / "t.parquet.tmp").exists()


def test_same_data_same_bytes(tmp_path):
    a = io.write_table(_frame(), tmp_path / "a.parquet", sort_by=["k"])
    b = io.write_table(_frame().iloc[::-1], tmp_path / "b.parquet", sort_by=["k"])
    assert io.file_sha256(a) == io.file_sha256(b)
