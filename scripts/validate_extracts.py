"""Rule validate_extracts: read extracts (files or database), validate, write canonical tables."""

from pathlib import Path

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import extract
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "validate_extracts"):
        src = smk.params.source
        tables, flow = extract.read_extracts(
            directory=src["directory"], url=src["url"], db_schema=src["db_schema"], fmt=src["format"]
        )
        extract.write_extracts(tables, flow, Path(smk.output.flow).parent)


if __name__ == "__main__":
    main(snakemake)
