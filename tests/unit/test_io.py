"""Intermediates: nullable dtypes survive a round trip and the same data gives the same bytes."""

import pandas as pd
import pytest

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


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(tmp_path, monkeypatch):
    """A write that fails part-way (here: a full disk after some bytes) leaves the target as it was."""
    target = io.write_table(_frame(), tmp_path / "t.parquet", sort_by=["k"])
    before = target.read_bytes()

    def disk_full(table, where, **kw):
        with open(where, "wb") as fh:
            fh.write(b"PAR1 half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(io.pq, "write_table", disk_full)
    with pytest.raises(OSError, match="No space"):
        io.write_table(_frame().iloc[:1], target)
    with pytest.raises(OSError, match="No space"):
        io.write_table(_frame(), tmp_path / "new.parquet")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.parquet"]


def test_json_and_bytes_are_written_atomically(tmp_path, monkeypatch):
    io.write_json({"b": 1, "a": [1, 2]}, tmp_path / "x.json")
    assert io.read_json(tmp_path / "x.json") == {"a": [1, 2], "b": 1}

    def fail(self, data):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(io.Path, "write_bytes", fail)
    with pytest.raises(OSError):
        io.write_json({"c": 3}, tmp_path / "x.json")
    with pytest.raises(OSError):
        io.write_bytes(b"abc", tmp_path / "y.bin")
    monkeypatch.undo()
    assert io.read_json(tmp_path / "x.json") == {"a": [1, 2], "b": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
