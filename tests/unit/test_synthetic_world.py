"""The record of the published figures the default synthetic world does not meet
(pbr.synthetic.world) and its statement in the report's findings box (synthetic mode only, under
the report's headline method)."""

from __future__ import annotations

import dataclasses

import pytest

from pbr.report.findings import summary_findings
from pbr.synthetic import world
from pbr.synthetic.params import SyntheticParams

ROB = {"pretrend": [], "mason": []}
WHAT = "Synthetic data: the default world"


def _setting(params: SyntheticParams, key: str) -> float:
    node = params
    for part in key.split("."):
        node = getattr(node, part)
    return float(node)  # type: ignore[arg-type]


def _items(headline: str, synthetic: bool = True) -> list[dict]:
    return [f for f in summary_findings([], [], ROB, headline, synthetic) if f["what"] == WHAT]


def test_the_record_describes_the_current_defaults():
    """The record was measured at these defaults: a change of them must update it (rerun the bench)."""
    defaults = SyntheticParams()
    for key, value in world.DEFAULTS.items():
        assert _setting(defaults, key) == value, key
    for method, met in world.MET.items():
        assert met + len(world.unmet(method)) == world.CONSTRAINTS, method
        assert "--scale 1" in world.MEASURED_WITH[method]
    assert {u.method for u in world.UNMET} <= set(world.MET)


def test_at_the_defaults_the_report_method_meets_every_constraint_and_crv1_does_not():
    """Measured: the score bootstrap (the report's headline) meets all 41, CRV1 39: the findings
    box states the unmet ones only when the report's verdicts use CRV1."""
    assert world.MET["logit_score_wcb"] == world.CONSTRAINTS and not world.unmet("logit_score_wcb")
    assert world.findings_statement("logit_score_wcb") is None
    assert not _items("logit_score_wcb")
    assert [u.constraint for u in world.unmet("logit_crv1")] == [
        "Jones 2018: drug_related_death not significant",
        "final report (2017): drug drug_related_death",
    ]


def test_the_findings_box_states_the_unmet_constraints_in_synthetic_mode_only():
    items = _items("logit_crv1")
    assert len(items) == 1 and not _items("logit_crv1", synthetic=False)
    item = items[0]
    assert item["ok"] is None and item["method"] == ""  # no verdict on the run
    assert f"{world.MET['logit_crv1']} of {world.CONSTRAINTS}" in item["text"]
    for u in world.unmet("logit_crv1"):
        assert u.constraint in item["text"] and u.achieved in item["detail"]
    assert "docs/synthetic.md" in item["detail"] and world.MEASURED_WITH["logit_crv1"] in item["detail"]


def test_an_unmet_constraint_under_the_headline_method_is_named_with_its_figures(monkeypatch):
    extra = world.UnmetConstraint("press release: x", "1 point", "3 points", "why not", "logit_score_wcb")
    monkeypatch.setattr(world, "UNMET", (*world.UNMET, extra))
    monkeypatch.setitem(world.MET, "logit_score_wcb", world.CONSTRAINTS - 1)
    statement = world.findings_statement("logit_score_wcb")
    assert statement is not None
    assert "press release: x" in statement["text"] and "here 3 points" in statement["detail"]
    assert "why not" in statement["detail"] and "drug_related_death" not in statement["text"]
    assert len(_items("logit_score_wcb")) == 1
    # a method the record was not measured with: no statement
    assert world.findings_statement("lpm_wcb_webb") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        extra.reason = "changed"  # type: ignore[misc]
