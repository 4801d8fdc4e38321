"""Link stage: group NDTMS episodes into persons and link persons to ONS deaths and PNC offences.

Identifiers end here. Inputs carry initials, names and dates of birth; every output
carries only a pseudonymous ``person_id`` (a keyed hash) and derived fields (age at
referral, sex). Nothing after this stage can see an identifier.

- :mod:`pbr.link.pseudonyms`: the pseudonymisation key, keyed hashes (person and unit
  ids), the NDTMS attributor key and the persons it groups episodes into;
- :mod:`pbr.link.records`: the linkage records of both sides (one per NDTMS person, one
  per ONS death or PNC offender identity) and the register's unit pseudonyms by lookup;
- :mod:`pbr.link.model`: the Fellegi-Sunter model (splink 5 on DuckDB): comparisons,
  blocking rules, DuckDB's memory limit, training without labels and scoring of pairs;
- :mod:`pbr.link.matching`: scored or exact-key pairs made into (person,
  unit) matches and link tables, per register with its flow rows; persons' scopes;
- :mod:`pbr.link.quality`: the true pairs of the synthetic truth, precision / recall /
  F1 tables, match rates, and the notes and warnings where a link rate is implausible.
"""
