"""The recall sensitivity (issue #21): the assumed recall as an equivalent threshold, its names, its config check."""

import math

import numpy as np
import pytest

from pbr.config import ConfigError, validate_config
from pbr.registry.recall import equivalent_threshold, recall_spec, recall_suffix, recall_thresholds


def _posterior(bayes_factor: np.ndarray, recall: float, exact_share: float = 2e-7) -> np.ndarray:
    """Splink's posterior with lambda = the exact rule's share of pairs / recall."""
    lam = exact_share / recall
    odds = lam / (1 - lam) * bayes_factor
    return odds / (1 + odds)


def test_a_link_under_another_recall_is_a_link_at_the_equivalent_threshold():
    bf = np.exp(np.linspace(5, 25, 20001))  # Bayes factors around the prior's scale (1 / lambda ~ 4e6)
    for recall, threshold in [(0.6, 0.5), (0.95, 0.5), (0.7, 0.9), (0.9, 0.2)]:
        t_eq = equivalent_threshold(threshold, 0.8, recall)
        linked_other = _posterior(bf, recall) >= threshold
        linked_shifted = _posterior(bf, 0.8) >= t_eq
        assert linked_other.any() and not linked_other.all()
        # the same links except, at most, the one pair straddling the cut (lambda's (1 - lambda) terms)
        assert (linked_other != linked_shifted).sum() <= 1


def test_equivalent_thresholds_move_the_right_way_and_name_their_recall():
    assert equivalent_threshold(0.5, 0.8, 0.8) == pytest.approx(0.5)
    assert equivalent_threshold(0.5, 0.8, 0.6) == pytest.approx(3 / 7)  # odds 0.75
    assert equivalent_threshold(0.5, 0.8, 0.95) == pytest.approx(0.95 / 1.75)
    assert math.isclose(equivalent_threshold(0.9, 0.8, 0.8), 0.9)
    # a lower assumed recall means a larger prior: the same links need less evidence
    assert equivalent_threshold(0.5, 0.8, 0.6) < 0.5 < equivalent_threshold(0.5, 0.8, 0.95)
    assert recall_suffix(0.6) == "_r060" and recall_suffix(0.95) == "_r095"
    assert recall_spec(0.6) == "linkage_recall_0.6"
    with pytest.raises(ValueError, match="recall"):
        equivalent_threshold(0.5, 0.8, 0)
    with pytest.raises(ValueError, match="threshold"):
        equivalent_threshold(1.0, 0.8, 0.6)


def test_the_config_gives_each_recall_its_threshold_and_checks_min_probability():
    linkage = validate_config({})["linkage"]
    assert linkage["recall_sensitivity"] == [0.6, 0.95]
    pairs = recall_thresholds(linkage)
    assert [r for r, _ in pairs] == [0.6, 0.95]
    assert pairs[0][1] == pytest.approx(3 / 7)
    with pytest.raises(ConfigError, match="recall_sensitivity"):
        # recall 0.1 puts its equivalent threshold (0.111) below min_probability 0.2
        validate_config({"linkage": {"recall_sensitivity": [0.1], "min_probability": 0.2}})
    assert recall_thresholds(validate_config({"linkage": {"recall_sensitivity": []}})["linkage"]) == []
