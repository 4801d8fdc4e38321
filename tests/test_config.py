"""Config schema: every shipped config validates; broken ones fail naming the key."""

from pathlib import Path

import pytest
import yaml

from pbr.config import ConfigError, load_config, load_schema, validate_config

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted([ROOT / "config" / "config.yaml", *(ROOT / "tests" / "configs").glob("*.yaml")])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_validate(path):
    cfg = load_config(path)
    assert cfg["data"]["source"] in {"synthetic", "real"}


def test_empty_config_gets_every_default():
    cfg = validate_config({})
    assert cfg["synthetic"]["scale"] == 1.0
    assert cfg["outcomes"]["successful_completion"]["discharge_codes"] == [80, 81, 82]
    assert cfg["study"]["post_start"] == "2012-04-01"


def _walk(schema, path="root"):
    yield path, schema
    for key, sub in schema.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{key}")


def test_every_schema_key_has_description_and_default():
    schema = load_schema()
    for path, node in _walk(schema):
        if path == "root":
            continue
        assert node.get("description"), f"{path} has no description"
        assert "default" in node, f"{path} has no default"


def test_shipped_config_equals_schema_defaults():
    """config/config.yaml documents the defaults: it must not silently differ from the schema."""
    shipped = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert validate_config(shipped) == validate_config({})


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"data": {"sorce": "real"}}, "unknown key(s) ['sorce'] under 'data'"),
        ({"bogus": 1}, "unknown key(s) ['bogus'] at the top level"),
        ({"synthetic": {"scale": "big"}}, "'synthetic.scale': expected number"),
        ({"synthetic": {"scale": -1}}, "'synthetic.scale'"),
        (
            {"study": {"cohorts": ["drugs"]}},
            "'study.cohorts[0]': 'drugs' is not allowed; allowed values: ['drug', 'alcohol']",
        ),
        ({"study": {"post_start": "2012-13-01"}}, "'study.post_start'"),
        (
            {"synthetic": {"effects": {"drug": {"completon": 0.5}}}},
            "unknown key synthetic.effects.drug.completon",
        ),
        ({"synthetic": {"noise": {"register_dob_error": "lots"}}}, "synthetic.noise.register_dob_error"),
        ({"study": {"post_start": "2009-01-01"}}, "pre_start < post_start <= post_end"),
        ({"data": {"source": "real"}}, "set exactly one of 'directory'"),
        ({"models": {"outcomes": ["nonexistent"]}}, "'models.outcomes[0]': 'nonexistent' is not allowed"),
        ({"outcomes": {"top": {"review_target_days": 400}}}, "review_min_days <= review_target_days"),
        (
            {"outcomes": {"successful_completion": {"window_days": "a year"}}},
            "'outcomes.successful_completion.window_days'",
        ),
    ],
)
def test_broken_config_names_the_key(bad, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(bad)
    assert expected in str(err.value)


def test_yaml_dates_are_accepted(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("study:\n  pre_start: 2010-04-01\n")
    assert load_config(p)["study"]["pre_start"] == "2010-04-01"


def test_config_readme_is_generated_from_the_schema():
    from pbr.config import schema_markdown

    assert (ROOT / "config" / "README.md").read_text() == schema_markdown()


def test_generator_takes_windows_and_pilot_rule_from_the_study():
    from pbr.config import synthetic_settings

    cfg = validate_config(
        {"study": {"partial_pilot_rule": "sub_area_pilot_rest_other", "post_start": "2012-07-01"}}
    )
    syn = synthetic_settings(cfg)
    assert syn["pilot_rule"] == "sub_area_pilot_rest_other"
    assert syn["dates"]["post_start"] == "2012-07-01"
