"""The pilot areas' post-period case mix shift (``synthetic.case_mix.pilot_post``).

The checks: a null shift is the code path without the setting (the extract byte for byte, the
generator's ten older random streams as they were); a shift moves the shifted journeys'
referral sources, previously-treated flags and quality-of-life scores by its amounts and leaves
the other journeys' draws as they were; journeys referred before ``post_start`` keep their
covariates; the settings are checked.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from extract_hashes import extract_hashes

from pbr.synthetic import generator, journeys, params
from pbr.synthetic.draws import Streams
from pbr.synthetic.population import CRIMINAL_JUSTICE, draw_covariates, new_people

NULL = {"criminal_justice_referral": 0.0, "previously_treated": 0.0, "quality_of_life": 0.0}
SHIFT = {"criminal_justice_referral": 0.4, "previously_treated": 0.5, "quality_of_life": -2.0}


def _generate(monkeypatch: pytest.MonkeyPatch, shift: dict, without_setting: bool) -> dict[str, str]:
    """The extract's hashes at scale 0.01 with ``shift``; ``without_setting``: covariates drawn as
    before the setting existed (the shift's arguments dropped)."""
    with monkeypatch.context() as m:
        if without_setting:

            def old_draw(rng, cohort, start, female, dob, drug, inj, prev, *_shift):
                return draw_covariates(rng, cohort, start, female, dob, drug, inj, prev)

            m.setattr(journeys, "draw_covariates", old_draw)
        cfg = {"scale": 0.01, "seed": 5, "case_mix": {"pilot_post": shift}}
        return extract_hashes(generator.generate(params.SyntheticParams.from_config(cfg)))


def test_a_null_shift_gives_the_extract_without_the_setting(monkeypatch):
    """Zero in every field is the code path before the setting (checked against the previous commit
    once, docs/synthetic.md); a shift is not (so this check can fail)."""
    null = _generate(monkeypatch, NULL, without_setting=False)
    assert null == _generate(monkeypatch, NULL, without_setting=True)
    assert params.CaseMixShift(**NULL).is_null()
    shifted = _generate(monkeypatch, SHIFT, without_setting=False)
    assert shifted != _generate(monkeypatch, SHIFT, without_setting=True)
    # journeys and the tables change, the area table does not
    assert shifted["truth.journeys"] != null["truth.journeys"]
    assert shifted["tables.areas"] == null["tables.areas"]


def test_the_older_streams_are_as_they_were():
    """The case-mix stream is spawned last: the ten older streams draw as with ten children."""
    streams = Streams.from_seed(20120401)
    old = np.random.SeedSequence(20120401).spawn(10)
    names = [f.name for f in dataclasses.fields(Streams)]
    assert names[-1] == "case_mix" and len(names) == 11
    for name, seed in zip(names[:10], old, strict=True):
        expected = np.random.Generator(np.random.PCG64(seed)).random(3)
        assert getattr(streams, name).random(3).tolist() == expected.tolist()


def _draw(shift: params.CaseMixShift | None, shifted: np.ndarray, seed: int = 1):
    n = len(shifted)
    rng = np.random.default_rng(seed)
    start = np.full(n, 15000, dtype=np.int64)
    people = new_people(rng, n, 0, start, minor=False)
    cov_rng = np.random.default_rng(seed + 1)
    shift_rng = np.random.default_rng(seed + 2)
    cov = draw_covariates(
        cov_rng, np.zeros(n, dtype=np.int64), start, people.female, people.dob, people.drug,
        people.injecting_history, people.previously_treated, shift, shifted, shift_rng,
    )  # fmt: skip
    return cov, cov_rng.random(), shift_rng.random()


def test_a_shift_moves_the_shifted_journeys_by_its_amounts():
    n = 40_000
    shifted = np.arange(n) % 2 == 1
    base, base_next, shift_next = _draw(None, shifted)
    s = params.CaseMixShift(**SHIFT)
    cov, cov_next, moved_next = _draw(s, shifted)
    # the covariate stream draws as many numbers as without the shift; the shift's stream was used
    assert cov_next == base_next and moved_next != shift_next
    # the unshifted journeys are exactly as drawn without the shift
    keep = ~shifted
    for field in (
        "referral",
        "previously_treated",
        "quality_of_life",
        "psych_health",
        "injecting",
        "days_used",
    ):
        assert np.array_equal(getattr(cov, field)[keep], getattr(base, field)[keep]), field
    # the shifted ones: a journey not at the level moves to it with the field's probability
    sh = shifted
    cj0 = float(np.mean(base.referral[sh] == CRIMINAL_JUSTICE))
    cj1 = float(np.mean(cov.referral[sh] == CRIMINAL_JUSTICE))
    se = np.sqrt(0.25 / sh.sum())
    assert abs(cj1 - (cj0 + s.criminal_justice_referral * (1 - cj0))) < 4 * se
    p0, p1 = float(np.mean(base.previously_treated[sh])), float(np.mean(cov.previously_treated[sh]))
    assert abs(p1 - (p0 + s.previously_treated * (1 - p0))) < 4 * se
    # nobody moves away from the level
    assert not np.any((base.referral[sh] == CRIMINAL_JUSTICE) & (cov.referral[sh] != CRIMINAL_JUSTICE))
    assert not np.any(base.previously_treated[sh] & ~cov.previously_treated[sh])
    # the scores' mean moves by the points (less a little at the bounds 0-20), psych and phys with it
    for field, lo in (("quality_of_life", 1.8), ("psych_health", 1.8), ("phys_health", 1.8)):
        diff = float(np.mean(getattr(base, field)[sh]) - np.mean(getattr(cov, field)[sh]))
        assert lo < diff < 2.1, (field, diff)


def test_journeys_before_post_start_keep_their_covariates():
    """The month loop reaches the shifted cell only from post_start: the covariates of journeys
    referred before it are as without the shift."""
    cols = ["true_person_id", "start_date", "referral_source", "previously_treated", "injecting",
            "baseline_quality_of_life", "baseline_days_primary"]  # fmt: skip
    frames = []
    for shift in (NULL, SHIFT):
        cfg = {"scale": 0.01, "seed": 5, "case_mix": {"pilot_post": shift}}
        j = generator.generate(params.SyntheticParams.from_config(cfg)).truth["journeys"]
        frames.append(j)
    pre = [
        f[pd.to_datetime(f["start_date"]) < pd.Timestamp("2012-04-01")][cols].reset_index(drop=True)
        for f in frames
    ]
    assert len(pre[0]) > 1000
    pd.testing.assert_frame_equal(pre[0], pre[1])
    post = [f[pd.to_datetime(f["start_date"]) >= pd.Timestamp("2012-04-01")] for f in frames]
    cj = [float((p[p["pilot"].astype(bool)]["referral_source"] == "criminal_justice").mean()) for p in post]
    assert cj[1] > cj[0] + 0.15


def test_settings_are_checked():
    with pytest.raises(ValueError, match=r"case_mix\.pilot_post\.previously_treated must be in \[0, 1\]"):
        params.SyntheticParams.from_config({"case_mix": {"pilot_post": {"previously_treated": 1.5}}})
    with pytest.raises(ValueError, match=r"case_mix\.pilot_post\.quality_of_life must be in \[-20, 20\]"):
        params.SyntheticParams.from_config({"case_mix": {"pilot_post": {"quality_of_life": -25}}})
    with pytest.raises(ValueError, match=r"unknown key synthetic\.case_mix\.pilot_pre"):
        params.SyntheticParams.from_config({"case_mix": {"pilot_pre": {}}})
    p = params.SyntheticParams.from_config({"case_mix": {"pilot_post": {"criminal_justice_referral": 0.2}}})
    assert p.case_mix.pilot_post.criminal_justice_referral == 0.2
    assert not p.case_mix.pilot_post.is_null()


def test_the_default_shift_is_issue_23s():
    """The default world shifts the pilot areas' post-period case mix (docs/synthetic.md, "One
    synthetic world"): a quarter of the journeys not referred by criminal justice are, half of
    those not previously treated are recorded so; the quality-of-life scores are not shifted."""
    shift = params.SyntheticParams().case_mix.pilot_post
    assert (shift.criminal_justice_referral, shift.previously_treated, shift.quality_of_life) == (
        0.25,
        0.5,
        0.0,
    )
    assert not shift.is_null()
