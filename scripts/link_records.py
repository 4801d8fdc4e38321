"""Rule link_records: one side's linkage records (NDTMS persons, ONS deaths or PNC offender identities)."""

import _bootstrap  # noqa: F401  (puts src/ on sys.path)

from pbr import io, source
from pbr.link import pseudonyms, records
from pbr.logs import logged


def main(smk) -> None:
    side = smk.wildcards.side
    with logged(smk.log[0], f"link_records[{side}]") as log:
        secret = pseudonyms.pseudonymisation_key(smk.params.source)
        source.check_key_id(smk.params.source, smk.params.key_id)
        areas = io.read_table(smk.input.areas)
        spec = smk.params.spec
        # only the columns the records are built from (not the episodes' or events' other fields)
        columns = records.NDTMS_RECORD_COLUMNS if side == "ndtms" else records.register_record_columns(spec)
        table = io.read_table(smk.input.table, columns=columns)
        if side == "ndtms":
            tops = io.read_table(smk.input.tops, columns=["episode_id", "top_date"])
            link_records = records.ndtms_link_records(table, secret, areas, tops, smk.params.transfers)
        else:
            link_records = records.register_link_records(
                table, spec["id"], areas, spec["group"], spec.get("event"), secret
            )
        log.info("%s: %d rows -> %d linkage records", side, len(table), len(link_records))
        io.write_table(link_records, smk.output.records)  # built in a deterministic order


if __name__ == "__main__":
    main(snakemake)
