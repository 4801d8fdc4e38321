"""Rule generate_synthetic: write synthetic extracts (input contract) and their truth."""

from pathlib import Path

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io
from pbr.contract import TABLES
from pbr.logs import logged
from pbr.synthetic import generator, params


def main(smk) -> None:
    with logged(smk.log[0], "generate_synthetic") as log:
        settings = params.SyntheticParams.from_config(smk.params.synthetic)
        log.info("generating at scale %s, seed %s", settings.scale, settings.seed)
        extract = generator.generate(settings)
        for path in smk.output.tables:
            name = Path(path).stem
            io.write_table(extract.tables[name], path, sort_by=TABLES[name].key)
        truth_dir = Path(smk.output.truth)
        for name, df in sorted(extract.truth.items()):
            io.write_table(df, truth_dir / f"{name}.parquet", sort_by=[df.columns[0]])
        io.write_json(extract.effects, smk.output.effects)


if __name__ == "__main__":
    main(snakemake)
