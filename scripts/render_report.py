"""Rule render_report: the self-contained HTML report, and its figures and tables for Snakemake's report."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.config import config_hash
from pbr.logs import logged
from pbr.report.inputs import load_inputs
from pbr.report.render import render_report


def _paths(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def main(smk) -> None:
    with logged(smk.log[0], "render_report"):
        cfg = dict(smk.params.config)
        inputs = load_inputs(
            results=smk.input.results,
            event_study=smk.input.event_study,
            rates=smk.input.rates,
            trends=smk.input.trends,
            baseline=smk.input.baseline,
            quality=smk.input.quality,
            match_rates=smk.input.match_rates,
            calibration=smk.input.calibration,
            link_indicators=smk.input.link_indicators,
            link_bounds=(list(smk.input.link_bounds) or [None])[0],
            registration_lag=smk.input.registration_lag,
            pairs=list(smk.input.pairs),
            effects=list(smk.input.effects),
            flows=list(smk.input.flows),
            extracts=list(smk.input.extracts),
            pilot_areas=smk.input.get("pilot_areas") or None,
        )
        data_inputs = ("extracts", "results", "event_study", "rates", "trends", "baseline", "quality")
        data_inputs += (
            "match_rates",
            "calibration",
            "link_indicators",
            "link_bounds",
            "registration_lag",
            "pairs",
            "effects",
            "flows",
            "pilot_areas",
        )
        checked = [p for name in data_inputs for p in _paths(getattr(smk.input, name))]
        render_report(
            inputs,
            config=cfg,
            config_hash=config_hash(cfg),
            input_checksums={str(p): io.file_sha256(p) for p in checked},
            out_path=smk.output.html,
            extra_outputs={
                "forest_png": smk.output.forest,
                "did_csv": smk.output.did_table,
                "event_study_png": smk.output.event_study,
                "trends_png": smk.output.trends,
                "flow_csv": smk.output.flow,
                "figures_dir": smk.output.figures,
                "tables_dir": smk.output.tables,
                "findings_json": smk.output.findings,
            },
            data_source=io.read_json(smk.input.source),
        )


if __name__ == "__main__":
    main(snakemake)
