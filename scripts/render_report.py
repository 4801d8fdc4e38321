"""Rule render_report: the self-contained HTML report."""

from pathlib import Path

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, report
from pbr.config import config_hash
from pbr.flow import concat_flows
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "render_report"):
        cfg = dict(smk.params.config)
        report.render_report(
            results=io.read_table(smk.input.results),
            rates=io.read_table(smk.input.rates),
            flow=concat_flows(*[io.read_table(p) for p in smk.input.flows]),
            config=cfg,
            config_hash=config_hash(cfg),
            input_checksums={Path(p).name: io.file_sha256(p) for p in smk.input.extracts},
            out_path=smk.output.html,
        )


if __name__ == "__main__":
    main(snakemake)
