"""The record of the published figures the default synthetic world does not meet
(pbr.synthetic.world) and its statement in the report's findings box (synthetic mode only)."""

from __future__ import annotations

import dataclasses

import pytest

from pbr.report.findings import summary_findings
from pbr.synthetic import world
from pbr.synthetic.params import SyntheticParams

ROB = {"pretrend": [], "mason": []}


def _setting(params: SyntheticParams, key: str) -> float:
    node = params
    for part in key.split("."):
        node = getattr(node, part)
    return float(node)  # type: ignore[arg-type]


def test_the_record_describes_the_current_defaults():
    """The record was measured at these defaults: a change of them must update it (rerun the bench)."""
    defaults = SyntheticParams()
    for key, value in world.DEFAULTS.items():
        assert _setting(defaults, key) == value, key
    assert world.MET + len(world.UNMET) == world.CONSTRAINTS
    assert "--scale 1" in world.MEASURED_WITH


def test_the_findings_box_states_the_unmet_constraints_in_synthetic_mode_only():
    synthetic = summary_findings([], [], ROB, "logit_score_wcb", True)
    real = summary_findings([], [], ROB, "logit_score_wcb", False)
    items = [f for f in synthetic if f["what"] == "Synthetic data: the default world"]
    assert len(items) == 1 and not [f for f in real if f["what"] == "Synthetic data: the default world"]
    item = items[0]
    assert item["ok"] is None and item["method"] == ""  # no verdict on the run
    assert f"{world.MET} of {world.CONSTRAINTS}" in item["text"]
    for u in world.UNMET:
        assert u.constraint in item["text"] and u.achieved in item["detail"]
    assert "docs/synthetic.md" in item["detail"]


def test_no_statement_when_every_constraint_is_met(monkeypatch):
    monkeypatch.setattr(world, "UNMET", ())
    assert world.findings_statement() is None
    findings = summary_findings([], [], ROB, "logit_score_wcb", True)
    assert not [f for f in findings if f["what"] == "Synthetic data: the default world"]


def test_an_unmet_constraint_is_named_with_its_figures(monkeypatch):
    extra = world.UnmetConstraint("press release: x", "1 point", "3 points", "why not")
    monkeypatch.setattr(world, "UNMET", (*world.UNMET, extra))
    statement = world.findings_statement()
    assert statement is not None
    assert "press release: x" in statement["text"] and "here 3 points" in statement["detail"]
    assert "why not" in statement["detail"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        extra.reason = "changed"  # type: ignore[misc]
