"""The registries are complete and consistent with the code and the config that read them."""

import inspect
from pathlib import Path

import pytest

from pbr import config
from pbr.derive import outcomes
from pbr.registry import outcomes as registry
from pbr.registry.registers import REGISTERS, TRUTH_TABLES

CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


@pytest.mark.parametrize("entry", registry.OUTCOMES, ids=lambda e: e.name)
def test_each_outcome_has_its_function_taking_its_inputs_and_settings(entry):
    fn = getattr(outcomes, entry.name)
    params = list(inspect.signature(fn).parameters)
    settings = config.load_schema()["properties"]["outcomes"]["properties"].get(entry.settings or "", {})
    keys = list(settings.get("properties", {}))
    if registry.REGISTRATION_SETTING in keys:  # the late-registration sensitivity's lag: not an argument
        assert entry.register and REGISTERS[entry.register]["registered"], entry.name
        keys.remove(registry.REGISTRATION_SETTING)
    assert len(params) == len(entry.inputs) + len(keys), (params, entry.inputs, keys)
    assert sorted(params[len(entry.inputs) :]) == sorted(keys)  # the settings, passed by keyword
    for name in entry.inputs:  # an input is a known one or an outcome registered before it
        known = {"journeys", "start_top", "review_top", "gap", *REGISTERS}
        earlier = registry.names()[: registry.names().index(entry.name)]
        assert name in known or name in earlier, name


def test_names_labels_and_definitions_are_unique_and_render_from_the_default_config():
    cfg = config.load_config(CONFIG)
    defs = registry.definitions(cfg["outcomes"])
    assert list(defs) == list(registry.names())
    assert len(set(defs.values())) == len(defs) and all(len(t) > 20 for t in defs.values())
    labels = [e.label for e in registry.OUTCOMES]
    assert len(set(labels)) == len(labels)
    assert registry.linked_outcomes() == ("drug_related_death", "acquisitive_crime")
    assert registry.label("not_registered") == "not registered"


def test_the_schema_takes_its_outcome_names_from_the_registry(monkeypatch):
    extra = registry.Outcome("toy", "Toy", "all journeys", lambda o: "toy")
    monkeypatch.setattr(registry, "OUTCOMES", (*registry.OUTCOMES, extra))
    node = config.load_schema()["properties"]["models"]["properties"]["outcomes"]
    assert node["items"]["enum"][-1] == "toy" and node["default"][-1] == "toy"
    with pytest.raises(config.ConfigError):
        config.validate_config(config.load_config(CONFIG) | {"models": {"outcomes": ["not_registered"]}})


def test_every_register_has_a_truth_table():
    assert set(TRUTH_TABLES) == set(REGISTERS)


def test_the_generator_names_its_outcomes_as_the_registry_does():
    from pbr.synthetic.params import OUTCOMES, CohortEffects

    assert set(OUTCOMES) <= set(registry.names())
    assert {f for f in CohortEffects.__dataclass_fields__} <= set(registry.names())


def test_docs_outcomes_is_current_and_names_every_denominator():
    """docs/outcomes.md is generated from the registry and the default config (issue #25)."""
    from pathlib import Path

    from pbr.config import validate_config
    from pbr.registry.outcomes import OUTCOMES
    from pbr.report.methods import outcomes_markdown

    doc = Path(__file__).resolve().parents[2] / "docs" / "outcomes.md"
    text = outcomes_markdown(validate_config({}))
    assert doc.read_text() == text, (
        "docs/outcomes.md is out of date: run `python -m pbr.report.methods > docs/outcomes.md`"
    )
    for o in OUTCOMES:
        assert f"| `{o.name}` | {o.label} | {o.denominator} |" in text
