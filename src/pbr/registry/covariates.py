"""The covariates' vocabulary: the words for the baseline variables (the analysis tables'
column names) and their levels, defined once for every table and text that shows them (Table 1
of the report, :mod:`pbr.report.descriptive`)."""

from __future__ import annotations

#: Words for the baseline variables (the analysis tables' column names).
BASELINE_LABELS = {
    "age_group": "Age group (years)",
    "sex": "Sex",
    "substance_group": "Main substance",
    "injecting": "Injecting status",
    "previously_treated": "Treated before",
    "referral_source": "Referral source",
    "baseline_use": "Days of use in the 28 days before start (start TOP)",
    "baseline_functioning": "Quality of life score at start (start TOP, 0-20)",
}
#: Words for levels: (variable, level) for one variable, or a level alone for every variable.
LEVEL_LABELS = {
    "unknown": "not recorded",
    "no_top": "no start TOP",
    ("sex", "F"): "female",
    ("sex", "M"): "male",
    ("previously_treated", "True"): "yes",
    ("previously_treated", "False"): "no",
    ("substance_group", "opiate"): "opiates",
    ("substance_group", "other_drug"): "other drugs",
    ("injecting", "current"): "currently injecting",
    ("injecting", "previous"): "injected before",
    ("injecting", "never"): "never injected",
    ("injecting", "declined"): "declined to say",
    ("referral_source", "gp"): "GP",
    ("referral_source", "health_social"): "health or social care",
    ("referral_source", "self"): "self-referral",
}


def baseline_label(variable: str) -> str:
    """Table 1's label of a baseline variable (its name in words when not in :data:`BASELINE_LABELS`)."""
    return BASELINE_LABELS.get(variable, variable.replace("_", " ").capitalize())


def level_label(variable: str, level: str) -> str:
    """Table 1's label of a level of a baseline variable (:data:`LEVEL_LABELS`, else the level in words)."""
    return LEVEL_LABELS.get((variable, level), LEVEL_LABELS.get(level, level.replace("_", " ")))
