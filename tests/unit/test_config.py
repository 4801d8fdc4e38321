"""Config schema: every shipped config validates; broken ones fail naming the key."""

from pathlib import Path

import pytest
import yaml

from pbr.config import ConfigError, check_synthetic_settings, load_config, load_schema, validate_config
from pbr.synthetic import params

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted(
    [
        ROOT / "config" / "config.yaml",
        ROOT / "config" / "small.yaml",
        *(ROOT / "tests" / "configs").glob("*.yaml"),
    ]
)


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


def validate_as_the_workflow_does(config: dict) -> dict:
    """The schema and cross-key checks, then the generator's check of its own settings, as
    workflow/rules/common.smk runs them before any job."""
    cfg = validate_config(config)
    check_synthetic_settings(cfg, params.SyntheticParams.from_config)
    return cfg


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
        validate_as_the_workflow_does(bad)
    assert expected in str(err.value)


def _leaves(node: dict, path: tuple[str, ...] = ()):
    """Every key of the schema that holds a value (objects without properties are the generator's)."""
    for key, sub in node.get("properties", {}).items():
        if sub.get("type") == "object":
            yield from _leaves(sub, (*path, key))
        else:
            yield (*path, key), sub


def _wrong_values(node: dict) -> list[tuple[object, list[str]]]:
    """Values ``node`` does not allow, each with what the message must then say is allowed."""
    out: list[tuple[object, list[str]]] = [({"not": "a value"}, [])]  # a wrong type, for every key
    if "enum" in node:
        out.append(("not-a-choice", [str(node["enum"])]))
    for bound, step in (("minimum", -1), ("exclusiveMinimum", 0), ("maximum", 1), ("exclusiveMaximum", 0)):
        if bound in node:
            out.append((node[bound] + step, [str(node[bound])]))
    if node.get("type") == "integer":
        out.append((1.5, ["an integer"]))
    if node.get("format") == "date":
        out.append(("2012-13-01", ["YYYY-MM-DD"]))
    if "pattern" in node:
        out.append(("x1", [node["pattern"]]))
    if node.get("type") == "array":
        for item, says in _wrong_values(node["items"])[1:]:
            out.append(([item], says))
        if node.get("minItems"):
            out.append(([], [f"at least {node['minItems']}"]))
        if node.get("uniqueItems") and node["default"]:
            out.append(([node["default"][0]] * 2, ["each at most once"]))
    return out


def _nested(path: tuple[str, ...], value: object) -> dict:
    cfg: dict = {}
    d = cfg
    for key in path[:-1]:
        d = d.setdefault(key, {})
    d[path[-1]] = value
    return cfg


SCHEMA = load_schema()
WRONG = [
    pytest.param(path, value, says, id=f"{'.'.join(path)}={value!r}")
    for path, node in _leaves(SCHEMA)
    for value, says in _wrong_values(node)
]


@pytest.mark.parametrize(("path", "value", "says"), WRONG)
def test_every_wrong_value_names_the_key_and_the_allowed_values(path, value, says):
    with pytest.raises(ConfigError) as err:
        validate_config(_nested(path, value), SCHEMA)
    key = ".".join(path)
    (line,) = [ln for ln in str(err.value).splitlines() if f"'{key}" in ln]
    assert "allowed values: " in line, line
    allowed = line.split("allowed values: ", 1)[1]
    for text in says:
        assert text in allowed, line


def test_every_schema_key_is_checked_for_wrong_values():
    assert {".".join(p) for p, _, _ in (w.values for w in WRONG)} == {
        ".".join(p) for p, _ in _leaves(load_schema())
    }
    assert len(WRONG) > 2 * len(list(_leaves(load_schema())))


@pytest.mark.parametrize(
    ("bad", "key", "allowed"),
    [
        ({"study": {"post_start": "2009-01-01"}}, "'study'", "'study.post_start' after 'study.pre_start'"),
        ({"data": {"source": "real"}}, "'data.real'", "a path in 'data.real.directory'"),
        ({"linkage": {"min_probability": 0.6}}, "'linkage.min_probability': 0.6", "a number > 0 and <= 0.2"),
        (
            {"outcomes": {"top": {"review_target_days": 400}}},
            "'outcomes.top'",
            "'outcomes.top.review_target_days' between",
        ),
        (
            {"data": {"source": "real", "real": {"directory": "/x"}}, "report": {"small_cell_threshold": 3}},
            "'report.small_cell_threshold': 3",
            "an integer >= 5",
        ),
    ],
)
def test_values_wrong_together_name_the_key_and_the_allowed_values(bad, key, allowed):
    with pytest.raises(ConfigError) as err:
        validate_config(bad)
    msg = str(err.value)
    assert key in msg and f"allowed values: {allowed}" in msg.replace(
        "allowed values: a number", "allowed values: a number"
    )


def test_real_data_allows_small_cell_thresholds_from_5():
    real = {"data": {"source": "real", "real": {"directory": "/x"}}}
    assert (
        validate_config({**real, "report": {"small_cell_threshold": 5}})["report"]["small_cell_threshold"]
        == 5
    )
    assert validate_config({"report": {"small_cell_threshold": 1}})  # synthetic data: nothing to protect


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


def test_the_slurm_profile_sets_the_resources_of_every_rule_run_as_a_job():
    """A rule missing from the profile's set-resources runs with its own resources where the profile's
    were meant (the cluster test found one): every rule that is not local is listed, with the memory
    and time measured for it (which may be below what the rule states for a laptop)."""
    import re

    import yaml

    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    snakefile = (ROOT / "Snakefile").read_text()
    local = set(re.findall(r"^\s+(\w+),$", snakefile.split("localrules:")[1].split("\n\n")[0], re.M))
    remote = [
        name
        for path in sorted((ROOT / "workflow" / "rules").glob("*.smk"))
        for name in re.findall(r"^rule (\w+):", path.read_text(), re.M)
        if name not in local
    ]
    assert len(remote) > 20
    for name in remote:
        listed = profile["set-resources"].get(name, {})
        assert {"mem_mb", "runtime"} <= set(listed), (
            f"profiles/slurm/config.yaml: set-resources of rule {name}"
        )
