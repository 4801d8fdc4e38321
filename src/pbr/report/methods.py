"""Text generated from the config and the run's data source: the model, what was analysed,
and which method made each of the report's verdicts with its measured size.

The outcomes' definitions in words are :func:`pbr.registry.outcomes.definitions`; the
methods' labels, roles and measured sizes are :mod:`pbr.registry.methods`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from markupsafe import Markup

from pbr.registry.methods import EXCHANGEABLE_NOTE, may_decide, method_label, role_of, sizes_of
from pbr.registry.outcomes import label, start_decided_outcomes
from pbr.report.cells import data_cell, header_cell, isnan, simple_head, table
from pbr.report.disclosure import Disclosure


def model_formula(config: dict) -> str:
    """The main model's formula in words, with the configured period unit and covariates."""
    m = config["models"]
    unit = config["study"]["period_unit"].replace("_", "-")
    cov = " + ".join(m["covariates"])
    return f"logit P(Y = 1) = area FE + {unit} FE + β · (pilot × post) + {cov};  DiD OR = exp(β)"


def covariate_rule(config: dict) -> str:
    """The covariates of the outcomes decided at the start, in words (``models.start_outcome_covariates``)."""
    m = config["models"]
    start = [o for o in m["outcomes"] if o in start_decided_outcomes()]
    dropped = [c for c in m["covariates"] if c in m["robustness"]["post_start_covariates"]]
    if not start or not dropped:
        return "Every outcome is adjusted for the same covariates."
    names = ", ".join(label(o) for o in start)
    if m["start_outcome_covariates"] == "all":
        return (
            f"{names} are decided at or before treatment starts, yet adjusted for the start-TOP covariates "
            f"({', '.join(dropped)}) like the other outcomes (models.start_outcome_covariates: all)."
        )
    return (
        f"{names} are decided at or before treatment starts, and the start TOP is mostly recorded when an "
        f"intervention starts, so its 'no TOP' category partly is the outcome: their models leave out "
        f"{', '.join(dropped)} (models.start_outcome_covariates: before_start; the adjustment table fits them "
        "with every covariate too)."
    )


def overlap_rule_text(config: dict) -> str:
    """What the journeys do with a person's episodes that overlap in time (``journeys.overlap_rule``)."""
    rule = config["journeys"]["overlap_rule"]
    same_area = {
        "merge": "are merged into one journey, which ends when the last of them ends",
        "keep_earliest": "are reduced to the earliest referred; the others are dropped (counted)",
        "separate": "each make their own journey",
    }[rule]
    return (
        f"A person's episodes that overlap in time in one area (concurrent treatment at two agencies) {same_area} "
        f"(journeys.overlap_rule: {rule}); overlapping episodes in different areas stay separate journeys "
        "(often two clients who share an attributor) and are counted in the flow table."
    )


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


def verdict_methods(
    findings: list[dict], headline: str, did_rows: list[dict], extra: dict[str, list[str]] | None = None
) -> dict[str, list[str]]:
    """Method -> the verdicts it made in this report: every findings item with a verdict (``ok``
    not None) names its method; the DiD table's marks are the headline method's; ``extra``: the
    verdicts of other sections (method -> their names), e.g. the robustness table's marks."""
    out: dict[str, list[str]] = {m: list(v) for m, v in (extra or {}).items()}
    if any(r["verdict"].ok for r in did_rows):
        out.setdefault(headline, []).append("DiD table: published OR inside the reproduced 95% interval")
    for f in findings:
        if f["ok"] is not None and f.get("method"):
            out.setdefault(f["method"], []).append(f.get("what") or f["text"])
    return out


def size_text(size: dict) -> str:
    """One measured size in words: '5.2% (MC SE 0.7%, 1,000 replicates)'."""
    return (
        f"{100 * float(size['rejection_rate']):.1f}% (MC SE {100 * float(size['mc_se']):.1f}%, "
        f"{int(size['replicates']):,} replicates)"
    )


def verdict_methods_table(verdicts: dict[str, list[str]], sizes: pd.DataFrame) -> dict:
    """The table of the methods that made the report's verdicts: for each, its role, the
    verdicts it made, and its measured sizes (:func:`pbr.registry.methods.measured_sizes`: null
    rejection rate, Monte Carlo SE, replicates, check and scenario, the command that measured
    it), or "size not measured" where the sizes file has no entry."""
    body = []
    for method, what in verdicts.items():
        entries: list[dict | None] = [*sizes_of(sizes, method)] or [None]
        for i, s in enumerate(entries):
            row = []
            if i == 0:
                n = len(entries)
                row += [
                    header_cell(f"{method_label(method)} ({method})", scope="row", rowspan=n),
                    data_cell(ROLE_TEXT.get(role_of(method), role_of(method)), rowspan=n),
                    data_cell("; ".join(dict.fromkeys(what)), rowspan=n),
                ]
            if s is None:
                row += [data_cell("size not measured", cls="not-measured", colspan=3)]
            else:
                row += [
                    data_cell(size_text(s), cls="num"),
                    data_cell(f"{s['check']}; {s['scenario']}" if not isnan(s["scenario"]) else s["check"]),
                    data_cell(Markup("<code>{}</code>").format(s["command"])),
                ]
            body.append(row)
    return table(
        "The methods that made this report's verdicts, and their measured sizes",
        simple_head(
            "Method",
            "Role",
            "Verdicts it made",
            "Measured size (null rejection rate)",
            "Check, scenario",
            "Command",
        ),
        body,
        tid="tbl-verdict-methods",
    )


ROLE_TEXT = {
    "verdict": "may decide a verdict (size measured or marked 'size not measured')",
    "reference": "for reference only: never decides a verdict",
    "exchangeable_only": f"{EXCHANGEABLE_NOTE}: never in a verdict",
}


#: The band a method's rejection of a true null should hold in every scenario of the simulation
#: study (issue #20's target at nominal 5%).
SIZE_BAND = (0.04, 0.06)
#: A rate is outside the band beyond Monte Carlo error when rate -+ MC_Z x its MC SE is clear of it.
MC_Z = 1.96
#: The checks of the study's per-scenario rates, in the report's words (in this order).
STUDY_CHECKS = {
    "main": "Main estimate (rejection at each scenario's target: 1 - coverage)",
    "event_study_pretrend": "Pre-trend test (joint event-study tests and tests over the pilots' linear pre-trends)",
    "per_pilot": "Per-pilot tests",
    "placebo_2011": "Placebo start",
    "leave_one_out": "Leave one pilot area out",
    "mason_2015": "Mason 2015 window",
    "donut": "Donut (timing)",
}
#: The study's checks whose verdicts the main model's headline method decides, besides ``main``.
ROBUSTNESS_STUDY_CHECKS = tuple(
    c for c in STUDY_CHECKS if c not in ("main", "event_study_pretrend", "per_pilot")
)


def size_band_leads(headline: str, pretrend: str, robustness: str) -> dict[str, str]:
    """The method deciding each study check's verdicts (:data:`STUDY_CHECKS` -> method): the report's
    ``headline`` for the main estimate, ``pretrend`` for the joint pre-trend test, ``robustness`` for
    the robustness checks; the per-pilot tests have no single lead."""
    return {"main": headline, "event_study_pretrend": pretrend} | dict.fromkeys(
        ROBUSTNESS_STUDY_CHECKS, robustness
    )


def _pct(x: float) -> str:
    return f"{100 * float(x):.1f}%"


def size_band_items(
    rates: pd.DataFrame, leads: dict[str, str], band: tuple[float, float] = SIZE_BAND
) -> list[dict]:
    """One item per check of the simulation study's per-scenario rates
    (:func:`pbr.registry.methods.study_rates`): the lead method's (``leads``: check -> the method
    deciding its verdicts) lowest and highest rate over the scenarios, and, said plainly, the
    scenarios where no method that may decide a verdict held its rejection of a true null inside
    ``band``, each with the method nearest the nominal level there; and among them
    (``beyond_error``) those where every such method's rate lies outside the band by more than
    its Monte Carlo error (rate -+ :data:`MC_Z` MC SE clear of the band), the scenarios the
    study shows outside the band rather than too few replicates to tell."""
    items = []
    mid = sum(band) / 2
    for check, words in STUDY_CHECKS.items():
        t = rates[(rates["check"] == check) & rates["method"].map(may_decide)] if not rates.empty else rates
        if t.empty:
            continue
        lead = leads.get(check, "")
        own = t[t["method"] == lead]
        span = ""
        if lead and not own.empty:
            lo, hi = own.loc[own["rate"].idxmin()], own.loc[own["rate"].idxmax()]
            span = (
                f"{method_label(lead)} ({lead}): {_pct(lo['rate'])} ({lo['scenario']}) to "
                f"{_pct(hi['rate'])} ({hi['scenario']}) over {len(own)} scenarios"
            )
        inside = t["rate"].between(*band)
        se = t["mc_se"].astype(float).fillna(0.0) if "mc_se" in t.columns else pd.Series(0.0, index=t.index)
        may_be_inside = (t["rate"] + MC_Z * se >= band[0]) & (t["rate"] - MC_Z * se <= band[1])
        failing, beyond = [], []
        for scenario, g in t.groupby("scenario", sort=True):
            if inside[g.index].any():
                continue
            near = g.loc[(g["rate"] - mid).abs().idxmin()]
            failing.append(f"{scenario} (nearest: {near['method']} {_pct(near['rate'])})")
            if not may_be_inside[g.index].any():
                beyond.append(scenario)
        items.append(
            {
                "check": words,
                "span": span,
                "failing": failing,
                "beyond_error": beyond,
                "scenarios": int(t["scenario"].nunique()),
                "methods": sorted(set(t["method"])),
            }
        )
    return items


def outcomes_markdown(config: dict) -> str:
    """docs/outcomes.md: every registered outcome's definition (at ``config``'s settings), its
    denominator and the covariates its main model adjusts for, with the rule for the outcomes
    decided at the start (:func:`covariate_rule`). ``python -m pbr.report.methods`` prints it for
    the default config; a unit test checks the file is current."""
    from pbr.fit.spec import outcome_covariates
    from pbr.registry.outcomes import OUTCOMES, definitions

    models = config["models"]
    texts = definitions(config["outcomes"])
    rows = []
    for o in OUTCOMES:
        kept = outcome_covariates(o.name, models)
        left_out = [c for c in models["covariates"] if c not in kept]
        covariates = "every covariate" + (f" but {', '.join(left_out)}" if left_out else "")
        rows.append(f"| `{o.name}` | {o.label} | {o.denominator} | {texts[o.name]} | {covariates} |")
    every = {**models, "outcomes": [o.name for o in OUTCOMES]}
    return "\n".join(
        [
            "# Outcomes: definitions, denominators and covariates",
            "",
            "Generated by `python -m pbr.report.methods > docs/outcomes.md` from `src/pbr/registry/outcomes.py`",
            "and the default config (`config/config.yaml`); a unit test checks that it is current. The report's",
            "methods section prints the same text for the settings of its run. The journey start is day 0;",
            '"within N days" means days 0 to N.',
            "",
            "| name | label | denominator | definition (default settings) | covariates of the main model |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Covariates: "
            + ", ".join(models["covariates"])
            + " (`models.covariates`). "
            + covariate_rule({**config, "models": every}),
            "",
            "The denominator of the housing outcome is set by `outcomes.housing_problem.requires_start_top`",
            "(default true: a start and a review TOP recording it) and `among_start_problem` (default false).",
            "",
        ]
    )


if __name__ == "__main__":
    from pbr.config import validate_config

    print(outcomes_markdown(validate_config({})), end="")
