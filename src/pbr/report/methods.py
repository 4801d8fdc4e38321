"""Text generated from the config and the run's data source: the model, what was analysed.

The outcomes' definitions in words are :func:`pbr.registry.outcomes.definitions`."""

from __future__ import annotations

from pathlib import Path

from pbr.report.disclosure import Disclosure


def model_formula(config: dict) -> str:
    """The main model's formula in words, with the configured period unit and covariates."""
    m = config["models"]
    unit = config["study"]["period_unit"].replace("_", "-")
    cov = " + ".join(m["covariates"])
    return f"logit P(Y = 1) = area FE + {unit} FE + β · (pilot × post) + {cov};  DiD OR = exp(β)"


def source_section(source_fingerprint: dict | None, disc: Disclosure) -> dict | None:
    """What the run analysed, from the validation's fingerprint: a one-line summary and one row
    per table (file, bytes, SHA-256; or rows and row checksum for a database). No credentials:
    the fingerprint holds the database URL without them. Row counts of whole tables are shown,
    except (real data) one below the small-cell threshold."""
    if not source_fingerprint:
        return None
    from pbr.source import describe

    def rows_text(n: int) -> str:
        return f"<{disc.threshold}" if disc.active and 0 < n < disc.threshold else f"{n:,}"

    rows = []
    for name, t in sorted(source_fingerprint.get("tables", {}).items()):
        if "sha256" in t:
            rows.append([name, Path(t["path"]).name, f"{t['bytes']:,} bytes", t["sha256"]])
        else:
            rows.append([name, "database table", f"{rows_text(t['rows'])} rows", t["checksum"]])
    summary = describe(source_fingerprint)
    if source_fingerprint["kind"] == "database":
        total = sum(t["rows"] for t in source_fingerprint["tables"].values())
        summary = summary.replace(f"{total:,} rows", f"{rows_text(total)} rows")
    return {"summary": summary, "rows": rows}
