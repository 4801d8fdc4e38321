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
from pathlib import Path
from typing import Any

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "config" / "schema.yaml"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """The JSON schema (YAML-encoded) that every config must satisfy."""
    return yaml.safe_load(Path(path).read_text())


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
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "(top level)"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        where = f"under '{key}'" if key != "(top level)" else "at the top level"
        return f"unknown key(s) {extra} {where}; allowed keys: {allowed}"
    if error.validator == "enum":
        return f"'{key}': {error.instance!r} is not allowed; allowed values: {error.validator_value}"
    if error.validator == "type":
        return f"'{key}': expected {error.validator_value}, got {type(error.instance).__name__} {error.instance!r}"
    return f"'{key}': {error.message}"


def validate_config(config: dict, schema: dict | None = None) -> dict:
    """Return ``config`` with defaults filled in, or raise :class:`ConfigError`.

    The message lists every problem, one line each, naming the key and what was
    expected, then says where the keys are documented.
    """
    schema = schema or load_schema()
    config = _fill_defaults(_dates_to_iso(copy.deepcopy(config or {})), schema)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        lines = "\n".join(f"  - {_describe(e)}" for e in errors)
        raise ConfigError(
            f"invalid configuration ({len(errors)} problem(s)):\n{lines}\n"
            "Every key, its type and its default are documented in config/schema.yaml "
            "and config/README.md."
        )
    _check_consistency(config)
    return config


def _check_consistency(config: dict) -> None:
    """Checks across keys that a JSON schema cannot express, and the generator's own settings."""
    s = config["study"]
    if not s["pre_start"] < s["post_start"] <= s["post_end"]:
        raise ConfigError(
            "'study': dates must satisfy pre_start < post_start <= post_end; got "
            f"{s['pre_start']}, {s['post_start']}, {s['post_end']}"
        )
    if config["data"]["source"] == "real":
        real = config["data"]["real"]
        if bool(real.get("directory")) == bool(real.get("url")):
            raise ConfigError(
                "'data.real': with source 'real', set exactly one of 'directory' (CSV or Parquet files) "
                "or 'url' (a SQLAlchemy database URL)"
            )
    lk = config["linkage"]
    if lk["min_probability"] > min([lk["threshold"], *lk["sensitivity_thresholds"]]):
        raise ConfigError(
            "'linkage.min_probability' must not exceed 'linkage.threshold' or any sensitivity threshold"
        )
    t = config["outcomes"]["top"]
    if not t["review_min_days"] <= t["review_target_days"] <= t["review_max_days"]:
        raise ConfigError(
            "'outcomes.top': review days must satisfy review_min_days <= review_target_days <= review_max_days"
        )
    from pbr.synthetic import SyntheticParams

    try:
        SyntheticParams.from_config(synthetic_settings(config))
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
            typ = sub.get("type", "")
            typ = " or ".join(typ) if isinstance(typ, list) else typ
            if "enum" in sub:
                typ += f" (one of {', '.join(map(str, sub['enum']))})"
            default = "" if sub.get("type") == "object" else f"`{json.dumps(sub.get('default'))}`"
            desc = " ".join(str(sub.get("description", "")).split())
            out.append(f"| `{full}` | {typ} | {default} | {desc} |")
            walk(sub, full)

    walk(schema, "")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(schema_markdown(), end="")
