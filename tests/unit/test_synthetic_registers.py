"""Register size as its own setting (``synthetic.registers.size_multiplier``, issue #24).

The checks: the default (1) is the code path without the setting, the extract byte for byte
(the ratios alone, as before it existed); a multiplier is the same as multiplying both ratios,
leaves the NDTMS tables as they were, and gives as many times the unrelated records per client
record; the setting is checked.
"""

from __future__ import annotations

import pytest
from extract_hashes import extract_hashes

from pbr.synthetic import generator, params

REGISTERS = {"ons_deaths": "death_person", "pnc_offences": "offence_person"}


def _generate(registers: dict) -> generator.SyntheticExtract:
    return generator.generate(
        params.SyntheticParams.from_config({"scale": 0.01, "seed": 5, "registers": registers})
    )


@pytest.fixture(scope="module")
def default() -> generator.SyntheticExtract:
    return _generate({})


@pytest.fixture(scope="module")
def doubled() -> generator.SyntheticExtract:
    return _generate({"size_multiplier": 2})


def _without_setting(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The extract's hashes with the unrelated populations sized by the ratios alone (the code
    path before the setting existed)."""
    with monkeypatch.context() as m:
        m.setattr(params.RegistersParams, "deaths_ratio", lambda self: self.deaths_unrelated_ratio)
        m.setattr(params.RegistersParams, "offences_ratio", lambda self: self.offences_unrelated_ratio)
        return extract_hashes(_generate({"size_multiplier": 2}))


def test_the_default_multiplier_gives_the_extract_without_the_setting(default, doubled, monkeypatch):
    """Multiplier 1 is the ratios' own path (checked against the previous commit once, at scale
    0.01 seed 5 and at the defaults); another multiplier is not (so this check can fail)."""
    assert params.RegistersParams().size_multiplier == 1.0
    without = _without_setting(monkeypatch)
    assert extract_hashes(default) == without
    assert extract_hashes(doubled) != without


def test_a_multiplier_is_both_ratios_multiplied(doubled):
    ratios = {"deaths_unrelated_ratio": 10.0, "offences_unrelated_ratio": 10.0}
    assert extract_hashes(_generate(ratios)) == extract_hashes(doubled)


def test_a_multiplier_leaves_the_cohort_as_it_is(default, doubled):
    """The NDTMS tables are those of the default; the registers share one random stream, so the
    clients' offences (drawn after the unrelated deaths) are drawn afresh from the same
    distributions, as with another deaths ratio, and a journey's realised acquisitive crime may
    change with them."""
    a, b = extract_hashes(default), extract_hashes(doubled)
    changed = {k for k in a if a[k] != b[k]}
    registers = {f"tables.{t}" for t in REGISTERS} | {f"truth.{t}" for t in REGISTERS.values()}
    assert changed <= registers | {"truth.journeys"} and registers <= changed
    journeys = default.truth["journeys"], doubled.truth["journeys"]
    differs = [c for c in journeys[0] if not journeys[0][c].equals(journeys[1][c])]
    assert set(differs) <= {"acquisitive_crime"}
    assert (journeys[0]["acquisitive_crime"] != journeys[1]["acquisitive_crime"]).mean() < 0.01


def test_twice_the_multiplier_gives_twice_the_unrelated_records(default, doubled):
    one, two = default.effects["registers"], doubled.effects["registers"]
    assert one["deaths_client"] == two["deaths_client"] > 0  # drawn before any unrelated record
    assert two["offences_client"] == pytest.approx(one["offences_client"], rel=0.05)
    for table, truth in REGISTERS.items():
        ratios = []
        for ex in (default, doubled):
            client = ex.truth[truth]["true_person_id"].notna()
            assert len(ex.tables[table]) == len(client)
            ratios.append((~client).sum() / client.sum())
        assert ratios[1] == pytest.approx(2 * ratios[0], abs=0.01), table
    for kind in ("deaths", "offences"):
        assert two[f"{kind}_unrelated"] == round(10 * two[f"{kind}_client"])


@pytest.mark.parametrize("bad", [0, -1.0])
def test_the_multiplier_must_be_positive(bad):
    with pytest.raises(ValueError, match=r"registers\.size_multiplier must be > 0"):
        params.SyntheticParams.from_config({"registers": {"size_multiplier": bad}})
    with pytest.raises(ValueError, match=r"synthetic\.registers\.size_multiplier must be a number"):
        params.SyntheticParams.from_config({"registers": {"size_multiplier": "twice"}})
