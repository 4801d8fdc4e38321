"""Render the self-contained HTML report, and the figures and tables for Snakemake's report.

:func:`render_report` builds every section, resolves the disclosure registry, renders
``report/report.html.j2`` with jinja2 and writes the report and its extra outputs (the
forest plot, the DiD and flow CSVs, the event-study and trend figures) only once all of
them rendered. Provenance: the package versions and the git commit.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import io
import json
import logging
import math
import platform
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jinja2
import pandas as pd
import yaml

from pbr.dependencies import imported_distributions
from pbr.io import parquet_bytes, write_bytes
from pbr.registry import outcomes as outcome_registry
from pbr.registry.methods import EXCHANGEABLE_NOTE, measured_sizes, study_rates
from pbr.registry.published import PUBLISHED_JOURNEYS
from pbr.report.cells import METHOD_LABELS, SCI_LARGE, format_number, format_p, isnan
from pbr.report.checks import HEADLINE_METHOD
from pbr.report.composition import composition_section
from pbr.report.descriptive import (
    baseline_section,
    flow_section,
    journey_lookup,
    linkage_section,
    rates_section,
)
from pbr.report.did import DidSettings, did_rows, did_section, planted_effects, raw_planted_effects
from pbr.report.disclosure import COMPLEMENT, DERIVED, SMALL, Disclosure
from pbr.report.estimates import (
    all_estimates_table,
    inference_section,
    negative_control_table,
    pretrend_method,
    robustness_section,
)
from pbr.report.figures import (
    Figure,
    ReportFigures,
    event_study_figure,
    forest_plot,
    inference_figures,
    placeholder,
    trend_figure,
)
from pbr.report.final_report import direction_rows, direction_table
from pbr.report.findings import area_summary, summary_findings
from pbr.report.findings_json import findings_document
from pbr.report.inputs import ReportInputs
from pbr.report.layout import small_data_banner, soft_breaks, stacked
from pbr.report.methods import (
    SIZE_BAND,
    covariate_rule,
    model_formula,
    overlap_rule_text,
    size_band_items,
    size_band_leads,
    source_section,
    verdict_methods,
    verdict_methods_table,
)
from pbr.report.pilots import pilot_section
from pbr.report.tables import (
    TREND_CAPTION,
    TREND_COLUMNS,
    Column,
    columns_frame,
    table_file_name,
    table_views,
    trend_points,
    typed_table,
)
from pbr.report.timing import timing_section
from pbr.report.verdicts import MAX_CI_RATIO, MAX_PLAUSIBLE_OR, MIN_CELL_EVENTS

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parents[3] / "report"
SCRIPTS_DIR = TEMPLATE_DIR.parent / "scripts"
SRC_DIR = TEMPLATE_DIR.parent / "src"
#: Packages every run uses without a script importing them: the workflow engine.
RUNNER_PACKAGES = ("snakemake",)


def _or_empty(df: pd.DataFrame | None) -> pd.DataFrame:
    return pd.DataFrame() if df is None else df


# ---------------------------------------------------------------------------------------
# Provenance


@cache
def package_versions() -> dict[str, str]:
    """Installed version of every package the pipeline's code imports (the workflow scripts,
    directly or through ``pbr``'s modules, found from their import statements by
    :func:`pbr.dependencies.imported_distributions`), then the workflow engine and Python."""
    scripts = sorted(p for p in SCRIPTS_DIR.glob("*.py") if not p.name.startswith("_"))
    out = imported_distributions(scripts, SRC_DIR)
    for p in RUNNER_PACKAGES:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out | {"Python": platform.python_version()}


def git_commit(repo: Path) -> str:
    """The checked-out commit (with '+dirty' if tracked files changed), or 'unknown'."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---------------------------------------------------------------------------------------
# Rendering


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = format_number
    env.filters["ucfirst"] = lambda t: str(t)[:1].upper() + str(t)[1:]
    env.filters["p"] = format_p
    env.filters["stacked"] = stacked
    env.filters["soft_breaks"] = soft_breaks
    return env


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow(["" if x is None or (isinstance(x, float) and math.isnan(x)) else x for x in r])
    return buf.getvalue()


#: The DiD CSV's columns from the DiD rows (:func:`pbr.report.did.did_rows`): column -> row key.
DID_CSV_FIELDS = {
    "cohort": "cohort",
    "outcome": "outcome_key",
    "estimate": "estimate",
    "headline_method": "method",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
    "p_value": "p_value",
    "p_holm": "p_holm",
    "p_romano_wolf": "p_romano_wolf",
    "significant_headline": "significant",
    "att": "att",
    "att_ci_low": "att_low",
    "att_ci_high": "att_high",
    "lpm_risk_difference": "rd",
    "lpm_ci_low": "rd_low",
    "lpm_ci_high": "rd_high",
    "lpm_p_value": "rd_p",
    "mde_low": "mde_low",
    "mde_high": "mde_high",
    "rule_out": "rule_out",
    "crv1_ci_low": "crv1_low",
    "crv1_ci_high": "crv1_high",
    "crv1_p_value": "crv1_p",
    "significant_crv1": "significant_crv1",
}
DID_CSV_PUBLISHED = {
    "published_or": "published",
    "published_ci_low": "published_low",
    "published_ci_high": "published_high",
    "published_source": "published_source",
    "point_ratio": "ratio",
    "point_within_tolerance": "within_tolerance",
    "estimate_inside_published_ci": "inside_published",
    "published_inside_headline_ci": "inside",
    "published_inside_crv1_ci": "inside_crv1",
    "status": "status",
}


def _count_cells(disc: Disclosure, key) -> tuple[int | str, str]:
    """A registered count as two CSV cells: its value ('' when suppressed) and the marker shown
    instead ('' when shown), so the value column stays numeric."""
    if disc.suppressed(key):
        return "", disc.text(key)
    return disc.values[key], ""


def did_csv(rows: list[dict], disc: Disclosure) -> str:
    """The DiD table as CSV (one row per cohort x outcome), its counts and notes under disclosure control.

    Beside the OR: the headline interval, raw, Holm and Romano-Wolf p, the ATT on the
    probability scale and the LPM risk difference (proportions, not percentage points), the
    minimum detectable ORs and what a finding not significant can rule out, the CRV1 interval
    (for reference) and both steps of the reproduction (point ratio, within tolerance, inside
    the published interval; the published OR inside the headline interval). Every count is a
    plain number; one withheld by disclosure control is empty, with its marker (``<10``,
    ``[c]``; ``<5``/``≥5`` for the smallest cell in real-data mode) in ``<column>_marker``."""
    header = [*DID_CSV_FIELDS, "journeys", "journeys_marker", "areas", "pilot_areas", *DID_CSV_PUBLISHED]
    header += ["min_cell_events", "min_cell_events_marker", "verdict", "verdict_reason", "note"]
    out = []
    for r in rows:
        v = r["verdict"]
        smallest = r["min_cell_events"]
        m, m_marker = smallest, ""
        if smallest is not None and disc.active:  # a count: shown only against the rule's constant
            m, m_marker = "", (f"<{MIN_CELL_EVENTS}" if smallest < MIN_CELL_EVENTS else f"≥{MIN_CELL_EVENTS}")
        reason = r["status_reason"] if v.kind == "not_estimable" else v.detail
        caveat = r["status_reason"] if r["status"] == "caveat" else ""
        out.append(
            [
                *(r[k] for k in DID_CSV_FIELDS.values()),
                *_count_cells(disc, ("model_n", r["cohort"], r["outcome_key"])),
                r["n_clusters"],
                r["n_treated"],
                *(r[k] for k in DID_CSV_PUBLISHED.values()),
                m,
                m_marker,
                {"ok": "assessed", "not_estimable": "not estimable"}.get(v.kind, v.label),
                disc.redact(reason) if v.kind == "not_estimable" else reason,
                disc.redact("; ".join(x for x in (caveat, r["note"]) if x)),
            ]
        )
    return _csv_text(header, out)


def flow_csv(flow_sec: dict, disc: Disclosure) -> str:
    """The flow table as CSV, its text under disclosure control; ``n`` a plain number, empty when
    suppressed, with the marker shown instead in ``n_marker``."""
    f = flow_sec["rows"]
    cols = ["stage", "step", "table", "unit", "action", "reason", "cohort", "group", "period"]
    rows = [
        [*("" if isnan(f.at[i, c]) else disc.redact(f.at[i, c]) for c in cols), *_count_cells(disc, k)]
        for i, k in enumerate(flow_sec["keys"])
    ]
    return _csv_text([*cols, "n", "n_marker"], rows)


@dataclass(frozen=True)
class _Settings:
    """The settings every part of the report reads from the config."""

    real: bool
    small_cell_threshold: int
    cohorts: list[str]
    outcomes: list[str]
    headline: str

    @property
    def synthetic(self) -> bool:
        """Synthetic data: the planted effects and the linkage truth are shown."""
        return not self.real

    @classmethod
    def of(cls, config: dict) -> _Settings:
        """The settings of ``config``."""
        return cls(
            real=config["data"]["source"] == "real",
            small_cell_threshold=int(config["report"]["small_cell_threshold"]),
            cohorts=list(config["study"]["cohorts"]),
            outcomes=list(config["models"]["outcomes"]),
            headline=config["models"].get("headline_method", "logit_score_wcb"),
        )


def render_report(
    inputs: ReportInputs,
    config: dict,
    config_hash: str,
    input_checksums: dict[str, str],
    out_path: str | Path,
    run_date: str | None = None,
    extra_outputs: dict[str, str | Path] | None = None,
    data_source: dict | None = None,
    method_sizes: pd.DataFrame | None = None,
    study_rates_table: pd.DataFrame | None = None,
) -> Path:
    """Render ``report/report.html.j2`` to ``out_path`` (one self-contained file).

    ``data_source`` is the fingerprint of what validation read (results/extract/source.json,
    :func:`pbr.source.read_fingerprint`): shown in the header and the provenance section.

    ``extra_outputs`` may name files for Snakemake's report: ``forest_png``, ``did_csv``,
    ``event_study_png``, ``trends_png``, ``flow_csv`` (each written when named), and
    ``figures_dir``, a directory for every figure the report shows (:func:`shown_figures`) as
    ``<figure id>.png`` (200 dpi) and ``.svg``.

    ``method_sizes``: the measured sizes of the methods (default
    :func:`pbr.registry.methods.measured_sizes`, the registry's file); ``study_rates_table``: the simulation
    study's per-scenario rates (default :func:`pbr.registry.methods.study_rates`).
    """
    settings = _Settings.of(config)
    disc = Disclosure(settings.small_cell_threshold, active=settings.real)
    sections = _counted_sections(inputs, config, settings, disc)
    sections["sizes"] = measured_sizes() if method_sizes is None else method_sizes
    sections["study_rates"] = study_rates() if study_rates_table is None else study_rates_table
    disc.resolve()

    sections["robustness"] = robustness_section(
        inputs.results, settings.cohorts, settings.outcomes, config, disc.redact, sections["sizes"]
    )
    sections.update(_evidence_sections(inputs, config, settings, disc, sections["sizes"]))
    figures = _figures(inputs, sections, config, settings, disc)
    context = _context(
        inputs, sections, figures, config, settings, disc, config_hash, input_checksums, run_date, data_source
    )
    html_text = _env().get_template("report.html.j2").render(**context)
    # everything is rendered before anything is written: an error leaves no report behind
    out_path = Path(out_path)
    files = {out_path: html_text.encode("utf-8")}
    files.update(_extra_files(extra_outputs, sections, figures, disc))
    files.update(_data_files(extra_outputs, context, html_text, disc, inputs.trends))
    for path, data in files.items():
        write_bytes(data, path)
    for key in ("figures_dir", "tables_dir"):  # the directories exist even when empty
        if extra_outputs and extra_outputs.get(key):
            Path(extra_outputs[key]).mkdir(parents=True, exist_ok=True)
    log.info("report written to %s (%d bytes)", out_path, len(html_text))
    return out_path


def _counted_sections(inputs: ReportInputs, config: dict, settings: _Settings, disc: Disclosure) -> dict:
    """The sections whose counts the disclosure registry must know before it is resolved: flow,
    rates, baseline, linkage, areas and the DiD rows and table."""
    cohorts, outcomes, headline = settings.cohorts, settings.outcomes, settings.headline
    rates = _or_empty(inputs.rates)
    flow = _or_empty(inputs.flow)
    journeys = journey_lookup(flow)
    flow_sec = flow_section(flow, disc, cohorts) if not flow.empty else None
    rates_sec = (
        rates_section(rates, cohorts, outcomes, journeys, disc)
        if not rates.empty
        else {"tables": [], "compare": [], "cells": {}}
    )
    baseline_tables = baseline_section(_or_empty(inputs.baseline), cohorts, journeys, disc)
    linkage = linkage_section(inputs, config, journeys, disc, settings.real)
    linkage["negative_controls"] = negative_control_table(inputs.results, disc.redact)
    planted = planted_effects(inputs.effects) if settings.synthetic else {}
    planted_raw = raw_planted_effects(inputs.effects) if settings.synthetic else {}
    areas = area_summary(inputs.results, _or_empty(inputs.areas), flow, config)
    rows = did_rows(inputs.results, cohorts, outcomes, headline, planted, DidSettings.of(config), planted_raw)
    did_tbl = did_section(
        rows, rates_sec["cells"], headline, disc, settings.real, settings.synthetic, areas["pilot"]
    )
    return {
        "flow": flow_sec,
        "rates": rates_sec,
        "baseline_tables": baseline_tables,
        "linkage": linkage,
        "areas": areas,
        "rows": rows,
        "did_table": did_tbl,
    }


def _evidence_sections(
    inputs: ReportInputs, config: dict, settings: _Settings, disc: Disclosure, sizes: pd.DataFrame
) -> dict:
    """The timing checks, the per-pilot evidence and the composition and adjustment checks."""
    results, cohorts, outcomes = inputs.results, settings.cohorts, settings.outcomes
    return {
        "timing": timing_section(results, cohorts, outcomes, config, disc.redact, sizes),
        "pilots": pilot_section(
            results,
            _or_empty(inputs.pilot_areas),
            _or_empty(inputs.areas),
            cohorts,
            outcomes,
            settings.real,
            disc.redact,
        ),
        "composition": composition_section(results, cohorts, outcomes, config, disc.redact),
    }


def _figures(
    inputs: ReportInputs, sections: dict, config: dict, settings: _Settings, disc: Disclosure
) -> ReportFigures:
    """The forest plot, the inference comparison and the trends (one figure per cohort), and the
    event studies (None without them)."""
    headline, trends = settings.headline, _or_empty(inputs.trends)
    return {
        "forest": forest_plot(sections["rows"], METHOD_LABELS.get(headline, headline).lower()),
        "inference": list(
            inference_figures(inputs.results, settings.cohorts, settings.outcomes, headline).values()
        ),
        "event_study": event_study_figure(
            _or_empty(inputs.event_study), sections["robustness"]["pt"], config
        ),
        "trends": [
            f
            for c in settings.cohorts
            if (f := trend_figure(trends, c, settings.outcomes, config, disc)) is not None
        ]
        if not trends.empty
        else [],
    }


def _analysed(flow_sec: dict | None, cohorts: list[str]) -> list[dict]:
    """The journeys analysed per cohort (the configured cohorts first), from the flow diagram."""
    found = {c["cohort"]: c["total"] for s in (flow_sec["spine"] if flow_sec else []) for c in s["cohorts"]}
    return [
        {"cohort": c, "total": found[c]} for c in [*cohorts, *sorted(set(found) - set(cohorts))] if c in found
    ]


def section_verdicts(sections: dict) -> dict[str, list[str]]:
    """The verdicts other sections made, method -> their names: each section (a dict) may carry
    ``verdicts`` (method -> names), listed in the methods section with the method's measured size."""
    out: dict[str, list[str]] = {}
    for sec in sections.values():
        if isinstance(sec, dict) and isinstance(sec.get("verdicts"), dict):
            for method, names in sec["verdicts"].items():
                out.setdefault(method, []).extend(names)
    return out


def _findings(inputs: ReportInputs, sections: dict, settings: _Settings, disc: Disclosure) -> list[dict]:
    """The findings box (:func:`summary_findings`), every verdict by the headline method."""
    return summary_findings(
        sections["rows"],
        sections["rates"]["compare"],
        sections["robustness"],
        settings.headline,
        settings.synthetic,
        areas=sections["areas"],
        redact=disc.redact,
        results=inputs.results,
    )


def _context(
    inputs: ReportInputs,
    sections: dict,
    figures: ReportFigures,
    config: dict,
    settings: _Settings,
    disc: Disclosure,
    config_hash: str,
    input_checksums: dict[str, str],
    run_date: str | None,
    data_source: dict | None,
) -> dict:
    """The template's context: every section, figure and provenance item of the report."""
    real, k, headline = settings.real, settings.small_cell_threshold, settings.headline
    results, cohorts, outcomes = inputs.results, settings.cohorts, settings.outcomes
    robustness = sections["robustness"]
    analysed = _analysed(sections["flow"], cohorts)
    commit = git_commit(TEMPLATE_DIR.parent)
    findings = _findings(inputs, sections, settings, disc)
    return dict(
        title=config["report"]["title"],
        config=config,
        config_yaml=yaml.safe_dump(config, sort_keys=False, width=100, allow_unicode=True),
        config_hash=config_hash,
        real=real,
        synthetic=settings.synthetic,
        threshold=k,
        markers={"small": SMALL.format(k=k), "complement": COMPLEMENT, "derived": DERIVED},
        headline=headline,
        headline_label=METHOD_LABELS.get(headline, headline),
        findings=findings,
        size_band=size_band_items(
            sections["study_rates"],
            size_band_leads(
                headline, pretrend_method(sections["sizes"], config), HEADLINE_METHOD["odds_ratio"]
            ),
        ),
        size_band_range=SIZE_BAND,
        verdict_methods=verdict_methods_table(
            verdict_methods(findings, headline, sections["rows"], section_verdicts(sections)),
            sections["sizes"],
        ),
        areas=sections["areas"],
        rules={
            "min_cell_events": MIN_CELL_EVENTS,
            "max_ci_ratio": f"{MAX_CI_RATIO:g}",
            "max_or": f"{MAX_PLAUSIBLE_OR:g}",
            "min_or": f"{1 / MAX_PLAUSIBLE_OR:g}",
            "sci_large": f"{SCI_LARGE:.0e}".replace("e+0", "e"),
        },
        analysed=analysed,
        published_journeys=PUBLISHED_JOURNEYS,
        did_table=sections["did_table"],
        did_rows=sections["rows"],
        final_report_table=direction_table(
            direction_rows(sections["rows"]), METHOD_LABELS.get(headline, headline)
        ),
        figures=figures,
        inference_tables=inference_section(results, cohorts, outcomes, headline, disc.redact),
        small_data=small_data_banner(sections["rows"], analysed, config),
        robustness=robustness,
        timing=sections["timing"],
        pilots=sections["pilots"],
        composition=sections["composition"],
        all_table=all_estimates_table(results, real, disc.redact),
        rates_tables=sections["rates"]["tables"],
        baseline_tables=sections["baseline_tables"],
        linkage=sections["linkage"],
        flow=sections["flow"],
        definitions=outcome_registry.definitions(config["outcomes"]),
        formula=model_formula(config),
        covariate_rule=covariate_rule(config),
        overlap_rule=overlap_rule_text(config),
        denominators={o.name: o.denominator for o in outcome_registry.OUTCOMES},
        labels={o.name: o.label for o in outcome_registry.OUTCOMES},
        method_labels=METHOD_LABELS,
        exchangeable_note=EXCHANGEABLE_NOTE,
        did_settings=DidSettings.of(config),
        versions=package_versions(),
        commit=commit,
        checksums=input_checksums,
        source=source_section(data_source, disc),
        run_date=run_date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _extra_files(
    extra_outputs: dict[str, str | Path] | None, sections: dict, figures: ReportFigures, disc: Disclosure
) -> dict[Path, bytes]:
    """The extra outputs named in ``extra_outputs`` (see :func:`render_report`), path -> bytes."""
    files = {}
    extra = {k_: Path(v) for k_, v in (extra_outputs or {}).items() if v}
    if "forest_png" in extra:
        files[extra["forest_png"]] = figures["forest"].png
    if "did_csv" in extra:
        files[extra["did_csv"]] = did_csv(sections["rows"], disc).encode()
    if "event_study_png" in extra:
        fig = figures["event_study"] or placeholder("No event study was configured for this run.")
        files[extra["event_study_png"]] = fig.png
    if "trends_png" in extra:
        pngs = [f.png for f in figures["trends"]] or [placeholder("No trend data.").png]
        files[extra["trends_png"]] = _stack_pngs(pngs)
    if "flow_csv" in extra:
        files[extra["flow_csv"]] = flow_csv(sections["flow"], disc).encode() if sections["flow"] else b""
    if "figures_dir" in extra:
        for fig in shown_figures(figures, sections):
            files[extra["figures_dir"] / f"{fig.fid}.png"] = fig.print_png
            files[extra["figures_dir"] / f"{fig.fid}.svg"] = fig.svg
    return files


def _data_files(
    extra_outputs: dict[str, str | Path] | None,
    context: dict,
    html_text: str,
    disc: Disclosure,
    trends: pd.DataFrame | None,
) -> dict[Path, bytes]:
    """The report's results as data, when named in ``extra_outputs``: ``tables_dir`` gets every
    table the report shows as ``<name>.csv`` and ``<name>.parquet`` (:func:`shown_tables`), the
    trend figures' rates (``trends``, :func:`pbr.report.tables.trend_points`) and the data
    dictionary ``columns.csv``; ``findings_json`` the verdicts
    (:func:`pbr.report.findings_json.findings_document`), strict JSON (no NaN)."""
    extra = {k_: Path(v) for k_, v in (extra_outputs or {}).items() if v}
    files = {}
    if "tables_dir" in extra:
        shown = shown_tables(context, html_text)
        frames = {name: frame for name, (_, frame, _) in shown.items()}
        tables = {name: (view["caption"], cols) for name, (view, _, cols) in shown.items()}
        if trends is not None and not trends.empty:
            frames["trends"] = trend_points(trends, disc, context["config"]["study"]["pre_start"])
            tables["trends"] = (TREND_CAPTION, TREND_COLUMNS)
        for name, frame in frames.items():
            text = frame.to_csv(index=False, lineterminator="\n")
            files[extra["tables_dir"] / f"{name}.csv"] = text.encode()
            files[extra["tables_dir"] / f"{name}.parquet"] = parquet_bytes(frame)
        dictionary = columns_frame(tables).to_csv(index=False, lineterminator="\n")
        files[extra["tables_dir"] / "columns.csv"] = dictionary.encode()
    if "findings_json" in extra:
        doc = findings_document(context, disc.redact)
        text = json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        files[extra["findings_json"]] = text.encode()
    return files


def shown_tables(context: dict, html_text: str) -> dict[str, tuple[dict, pd.DataFrame, list[Column]]]:
    """Every table view in the template ``context`` that the rendered report shows (its id is in
    ``html_text``), its typed frame and columns (:func:`pbr.report.tables.typed_table`), by file name
    (:func:`pbr.report.tables.table_file_name`). A shown table without an id is an error: its
    data could not be named."""
    out: dict[str, tuple[dict, pd.DataFrame, list[Column]]] = {}
    for view in table_views(context):
        tid = view.get("id") or ""
        if not tid:
            raise ValueError(f"a report table has no id, so it cannot be exported: {view['caption']!r}")
        if f'id="{tid}"' not in html_text:
            continue
        name = table_file_name(tid)
        if name not in out:
            out[name] = (view, *typed_table(view))
    return out


def shown_figures(figures: ReportFigures, sections: dict) -> list[Figure]:
    """Every figure the report shows (the DiD figures and those inside its sections), once per id,
    in the order found; placeholders left out."""
    found: dict[str, Figure] = {}

    def walk(value) -> None:
        if isinstance(value, Figure):
            if value.fid != "fig-placeholder":
                found.setdefault(value.fid, value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(dict(figures))
    walk(sections)
    return list(found.values())


def _stack_pngs(pngs: list[bytes]) -> bytes:
    """Several PNGs one above the other, as one PNG (the per-cohort trend figures for Snakemake's report)."""
    if len(pngs) == 1:
        return pngs[0]
    from PIL import Image

    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
    out = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)), "white")
    y = 0
    for im in images:
        out.paste(im, (0, y))
        y += im.height
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()
