"""Load and validate the study configuration against ``config/schema.yaml``.

The schema gives a description and a default for every key. :func:`validate_config`
fills the defaults in and stops on the first problems with a message that names each
offending key by its dotted path and says what was expected.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from pbr.errors import PipelineError
from pbr.registry import outcomes as outcome_registry
from pbr.registry.recall import recall_thresholds

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class ConfigError(PipelineError, ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


#: Written in the schema where the list of registered outcome names belongs (an ``enum`` or a
#: ``default``); :func:`load_schema` puts the names of :mod:`pbr.registry.outcomes` there.
REGISTERED_OUTCOMES = "registered_outcomes"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """The JSON schema (YAML-encoded) that every config must satisfy, with the registered
    outcome names where it says ``registered_outcomes``."""
    return _with_outcome_names(yaml.safe_load(Path(path).read_text()), list(outcome_registry.names()))


def _with_outcome_names(node: Any, names: list[str]) -> Any:
    if isinstance(node, dict):
        return {
            k: list(names)
            if v == REGISTERED_OUTCOMES and k in ("enum", "default")
            else _with_outcome_names(v, names)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_with_outcome_names(v, names) for v in node]
    return node


def _dates_to_iso(obj: Any) -> Any:
    """YAML turns unquoted 2012-04-01 into a date; the schema wants ISO strings."""
    if isinstance(obj, dict):
        return {k: _dates_to_iso(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_dates_to_iso(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj


def _fill_defaults(instance: Any, schema: dict) -> Any:
    """Recursively insert schema defaults for missing object keys (in place)."""
    if schema.get("type") == "object" and isinstance(instance, dict):
        for key, sub in schema.get("properties", {}).items():
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if key in instance:
                _fill_defaults(instance[key], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key, value in instance.items():
                if key not in schema.get("properties", {}):
                    _fill_defaults(value, extra)
    return instance


def _path(error: jsonschema.ValidationError) -> str:
    parts: list[str] = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "(top level)"


def _node(schema: dict, path) -> dict:
    """The schema node of the value at ``path`` (keys and list positions)."""
    node = schema
    for p in path:
        if isinstance(p, int):
            node = node.get("items", {})
        else:
            extra = node.get("additionalProperties")
            node = node.get("properties", {}).get(p, extra if isinstance(extra, dict) else {})
    return node


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of keys to values",
    "null": "null (empty)",
}


def _allowed(node: dict) -> str:
    """What a schema node allows, in words: the code list, or the type with its bounds and format."""
    if "enum" in node:
        return str(node["enum"])
    types = node.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    words = []
    for t in types:
        phrase = _TYPE_WORDS.get(t, t)
        if t == "string" and node.get("format") == "date":
            phrase = "a date written YYYY-MM-DD"
        elif t == "string" and "pattern" in node:
            phrase = f"a string matching {node['pattern']}"
        elif t in ("integer", "number"):
            bounds = [
                f"{relation} {node[k]}"
                for k, relation in (
                    ("minimum", ">="),
                    ("exclusiveMinimum", ">"),
                    ("maximum", "<="),
                    ("exclusiveMaximum", "<"),
                )
                if k in node
            ]
            phrase += " " + " and ".join(bounds) if bounds else ""
        elif t == "array":
            items = node.get("items")
            if items:
                phrase += f" of values from {items['enum']}" if "enum" in items else f" of {_allowed(items)}"
            if node.get("minItems"):
                phrase += f", at least {node['minItems']}"
            if node.get("uniqueItems"):
                phrase += ", each at most once"
        words.append(phrase)
    return " or ".join(words) or "see config/schema.yaml"


def _describe(error: jsonschema.ValidationError, schema: dict) -> str:
    """One line for one schema error: the key's dotted path, the value, and the allowed values."""
    key = _path(error)
    if error.validator == "additionalProperties":
        allowed_keys = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed_keys))
        where = f"under '{key}'" if key != "(top level)" else "at the top level"
        return f"unknown key(s) {extra} {where}; allowed keys: {allowed_keys}"
    allowed = _allowed(_node(schema, error.absolute_path))
    if error.validator == "type":
        return (
            f"'{key}': expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}; "
            f"allowed values: {allowed}"
        )
    return f"'{key}': {error.instance!r} is not allowed; allowed values: {allowed}"


def _scalar_types(node: dict) -> set[str]:
    t = node.get("type", [])
    return {t} if isinstance(t, str) else set(t)


_YAML_TYPES = {bool: "boolean", int: "integer", float: "number", list: "array", type(None): "null"}


def _from_yaml(value: str, node: dict) -> Any:
    """``value`` read as YAML when the schema node wants no string and the reading has an allowed
    type (an integer also where a number is allowed); else ``value`` unchanged."""
    allowed = _scalar_types(node)
    if not allowed or "string" in allowed:
        return value
    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        return value
    kind = _YAML_TYPES.get(type(parsed))
    return parsed if kind in allowed or (kind == "integer" and "number" in allowed) else value


def _coerce_strings(instance: Any, schema: dict) -> Any:
    """Strings where the schema wants numbers, booleans or lists, read as YAML (in place).

    ``snakemake --config 'synthetic={scale: 0.05}'`` passes 0.05 as the string '0.05'; a
    value is converted only when the schema does not allow a string there and the YAML
    reading has an allowed type, so a real mistake still fails validation.
    """
    if isinstance(instance, dict):
        slots = [(key, _node(schema, [key])) for key in instance]
    elif isinstance(instance, list):
        slots = [(i, schema.get("items", {})) for i in range(len(instance))]
    else:
        return instance
    for slot, node in slots:
        value = instance[slot]
        if isinstance(value, str):
            instance[slot] = _from_yaml(value, node)
        else:
            _coerce_strings(value, node)
    return instance


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Return ``config`` with defaults filled in, or raise :class:`ConfigError`.

    The message lists every problem, one line each, naming the key and what was
    expected, then says where the keys are documented.
    """
    schema = schema or load_schema()
    config = _coerce_strings(_dates_to_iso(copy.deepcopy(config or {})), schema)
    config = _fill_defaults(config, schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(
        validator.iter_errors(config),
        key=lambda e: (list(map(str, e.absolute_path)), e.validator != "type", e.message),
    )
    # one line per key: a value of the wrong type also fails its enum or bounds; say it once
    errors = [e for i, e in enumerate(errors) if i == 0 or e.absolute_path != errors[i - 1].absolute_path]
    if errors:
        lines = "\n".join(f"  - {_describe(e, schema)}" for e in errors)
        raise ConfigError(
            f"invalid configuration ({len(errors)} problem(s)):\n{lines}\n"
            "Every key, its type and its default are documented in config/schema.yaml "
            "and config/README.md."
        )
    _check_consistency(config)
    return config


REAL_MIN_SMALL_CELL_THRESHOLD = 5  # with real data, no count below 5 may be shown


def _check_consistency(config: dict) -> None:
    """Checks across keys that a JSON schema cannot express.

    Each message names the key, its value and the values allowed given the other keys. The
    generator's own settings (the open ``synthetic`` sections) are checked by
    :func:`check_synthetic_settings`, which the workflow calls right after this validation.
    """
    s = config["study"]
    if not s["pre_start"] < s["post_start"] <= s["post_end"]:
        raise ConfigError(
            "'study': dates must satisfy pre_start < post_start <= post_end; got "
            f"pre_start {s['pre_start']}, post_start {s['post_start']}, post_end {s['post_end']}; "
            "allowed values: 'study.post_start' after 'study.pre_start', and 'study.post_end' on or after it"
        )
    if config["data"]["source"] == "real":
        real = config["data"]["real"]
        if bool(real.get("directory")) == bool(real.get("url")):
            raise ConfigError(
                "'data.real': with source 'real', set exactly one of 'directory' (CSV or Parquet files) "
                "or 'url' (a SQLAlchemy database URL); allowed values: a path in 'data.real.directory' "
                "or a URL in 'data.real.url', and null for the other"
            )
        k = config["report"]["small_cell_threshold"]
        if k < REAL_MIN_SMALL_CELL_THRESHOLD:
            raise ConfigError(
                f"'report.small_cell_threshold': {k} is not allowed with data.source 'real' (counts from "
                f"1 to {REAL_MIN_SMALL_CELL_THRESHOLD - 1} would be shown); allowed values: an integer "
                f">= {REAL_MIN_SMALL_CELL_THRESHOLD}"
            )
    linkage = config["linkage"]
    equivalent = [t for _, t in recall_thresholds(linkage)]
    lowest = min([linkage["threshold"], *linkage["sensitivity_thresholds"], *equivalent])
    if linkage["min_probability"] > lowest:
        raise ConfigError(
            f"'linkage.min_probability': {linkage['min_probability']} must not exceed 'linkage.threshold' or any "
            "sensitivity threshold, nor the equivalent threshold of any 'linkage.recall_sensitivity' recall; "
            f"allowed values: a number > 0 and <= {lowest}"
        )
    t = config["outcomes"]["top"]
    if not t["review_min_days"] <= t["review_target_days"] <= t["review_max_days"]:
        raise ConfigError(
            "'outcomes.top': review days must satisfy review_min_days <= review_target_days <= review_max_days; "
            f"got {t['review_min_days']}, {t['review_target_days']}, {t['review_max_days']}; allowed values: "
            "'outcomes.top.review_target_days' between the other two"
        )


def check_synthetic_settings(config: dict, read_settings: Callable[[dict], object]) -> None:
    """Stop on a bad generator setting in a validated config, with a :class:`ConfigError` naming the key.

    The schema leaves the generator's sections open (``counts``, ``effects``, ``rates``,
    ``noise``, ``registers``, ``process``): the generator reads them itself.
    ``read_settings`` is its reader (``pbr.synthetic.params.SyntheticParams.from_config``,
    passed in by the workflow: this module, a leaf, imports no stage); it raises
    ``ValueError`` naming an unknown key or a value out of range. The workflow calls this
    right after :func:`validate_config`, before any job runs.
    """
    try:
        read_settings(synthetic_settings(config))
    except ValueError as exc:
        raise ConfigError(f"'synthetic': {exc}") from None


def synthetic_settings(config: dict) -> dict:
    """The generator's settings: the ``synthetic`` section plus the study's windows and pilot rule.

    The windows and the partial-pilot rule come from ``study`` so the generator and the
    analysis can never disagree about them.
    """
    out = copy.deepcopy(config["synthetic"])
    study = config["study"]
    out["pilot_rule"] = study["partial_pilot_rule"]
    out["dates"] = {**out.get("dates", {}), **{k: study[k] for k in ("pre_start", "post_start", "post_end")}}
    return out


def public_config(config: dict) -> dict:
    """The config as it may be recorded (rule parameters, the report): a database URL without its
    password. The workflow refuses a URL with a password before any job runs; this is the second lock."""
    out = copy.deepcopy(config)
    url = out.get("data", {}).get("real", {}).get("url")
    if url:
        from pbr.source import public_url

        try:
            out["data"]["real"]["url"] = public_url(url)
        except Exception:  # an unparseable URL is refused elsewhere; never record it as given
            out["data"]["real"]["url"] = "(not a valid URL)"
    return out


def load_config(path: str | Path) -> dict:
    """Read a YAML config file and validate it."""
    return validate_config(yaml.safe_load(Path(path).read_text()) or {})


def config_hash(config: dict) -> str:
    """Short, stable hash of a (validated) config, for provenance."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def schema_markdown(schema: dict | None = None) -> str:
    """config/README.md: every key with its type, default and description, from the schema."""
    schema = schema or load_schema()
    out = [
        "# Configuring the pipeline",
        "",
        "<!-- generated by `python -m pbr.config > config/README.md`; do not edit by hand -->",
        "",
        "`config/config.yaml` holds the study: data source, windows, definitions and models.",
        "Run-time settings (cores, memory, cluster) live in `profiles/`. Use another file with",
        "`snakemake --configfile my.yaml`; keys you leave out take the defaults below. An unknown",
        "key or a value of the wrong type stops the run with a message naming the key.",
        "The format of real extracts is in [`docs/input-contract.md`](../docs/input-contract.md).",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]

    def walk(node: dict, path: str) -> None:
        for key, sub in node.get("properties", {}).items():
            full = f"{path}.{key}" if path else key
            type_text = sub.get("type", "")
            type_text = " or ".join(type_text) if isinstance(type_text, list) else type_text
            if "enum" in sub:
                type_text += f" (one of {', '.join(map(str, sub['enum']))})"
            default = "" if sub.get("type") == "object" else f"`{json.dumps(sub.get('default'))}`"
            desc = " ".join(str(sub.get("description", "")).split())
            out.append(f"| `{full}` | {type_text} | {default} | {desc} |")
            walk(sub, full)

    walk(schema, "")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(schema_markdown(), end="")
