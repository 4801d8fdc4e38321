"""The assumed recall that sets the linkage prior, as a threshold (issue #21): the recall sensitivity's vocabulary.

The model's prior lambda (the probability that two random records match) is the count of
pairs an exact rule on all four identifiers matches, divided by the assumed recall of that
rule (``linkage.recall``) and by the count of pairs (splink's
``estimate_probability_two_random_records_match``). Lambda is so proportional to 1 / recall,
and, with the m- and u-probabilities held, every pair's posterior log odds move by the same
log(r / r') when the recall goes from r to r' (the (1 - lambda) terms, of the order of lambda,
are left out: lambda is 3.1e-7 for deaths and 2.8e-7 for offenders in the paper-scale models at
6d1d80c, results/link/model_*.json). A link at p >= t under recall r' is then a link at p >= t' under r:

    logit t' = logit t + log(r' / r)

and the matching, which ranks each person's candidates by their weight, picks
the same pairs. :func:`equivalent_threshold` gives t'; the workflow derives the linked outcomes
at the equivalent threshold of each recall in ``linkage.recall_sensitivity`` instead of
training the model again. The EM sessions hold lambda fixed while they estimate the
m-probabilities, which could move the m-probabilities with the recall as well:
``bench/bench_linkage_recall.py`` retrains at each recall and measures how far the links
differ from the equivalent-threshold ones (docs/linkage.md).
"""

from __future__ import annotations

import math


def equivalent_threshold(threshold: float, recall: float, assumed_recall: float) -> float:
    """The threshold on probabilities scored under ``recall`` (the configured one) that gives the
    links at ``threshold`` of a model whose prior assumes ``assumed_recall`` instead."""
    for name, value in (("threshold", threshold), ("recall", recall), ("assumed recall", assumed_recall)):
        if not 0 < value < 1 and not (name != "threshold" and value == 1):
            raise ValueError(f"{name} must lie in (0, 1), got {value}")
    log_odds = math.log(threshold / (1 - threshold)) + math.log(assumed_recall / recall)
    return 1 / (1 + math.exp(-log_odds))


#: specification of an outcome's fit under another assumed recall (``linkage_recall_0.6``)
RECALL_SPEC_PREFIX = "linkage_recall_"


def recall_suffix(recall: float) -> str:
    """Analysis-table column suffix of a linked outcome under another assumed recall: 0.6 -> '_r060'."""
    return f"_r{round(recall * 100):03d}"


def recall_spec(recall: float) -> str:
    """Specification of the fit under another assumed recall: 0.6 -> 'linkage_recall_0.6'."""
    return f"{RECALL_SPEC_PREFIX}{recall:g}"


def recall_thresholds(linkage: dict) -> list[tuple[float, float]]:
    """(assumed recall, equivalent threshold) of each recall in the config's
    ``linkage.recall_sensitivity`` (``linkage``: the config's linkage section)."""
    return [
        (float(r), equivalent_threshold(float(linkage["threshold"]), float(linkage["recall"]), float(r)))
        for r in linkage.get("recall_sensitivity", [])
    ]
