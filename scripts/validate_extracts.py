"""Rule validate_extracts: read extracts (files or database), validate, write canonical tables.

It also records what it read (results/extract/source.json: each file's path, size and
SHA-256, or the database URL without credentials and each table's row count and row
checksum) and stops if that differs from the fingerprint taken when the run started."""

from pathlib import Path

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, source
from pbr.extract.tables import read_extracts, write_extracts
from pbr.logs import logged


def main(smk) -> None:
    with logged(smk.log[0], "validate_extracts") as log:
        src = smk.params.source
        read = source.read_fingerprint(src)
        source.check_unchanged(read, smk.params.fingerprint)
        log.info("source: %s", source.describe(read))
        tables, flow = read_extracts(
            directory=src["directory"],
            url=src["url"],
            db_schema=src["db_schema"],
            fmt=src["format"],
            placeholder_dates_of_birth=smk.params.placeholder_dates_of_birth,
            max_age=smk.params.max_age,
        )
        write_extracts(tables, flow, Path(smk.output.flow).parent)
        io.write_json(read, smk.output.source)


if __name__ == "__main__":
    main(snakemake)
