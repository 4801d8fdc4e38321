"""The study's vocabularies, each defined once and read by every stage (a shared leaf).

- :mod:`pbr.registry.outcomes`: the outcomes (name, label, definition text built from the
  config, denominator, the inputs and settings its derivation reads, the register it needs);
- :mod:`pbr.registry.registers`: the linked registers (table, identifiers, fields carried,
  event date, truth table);
- :mod:`pbr.registry.published`: the published results (odds ratios, raw rates, journey
  counts, pilot areas) the report compares with and the generator is calibrated to;
- :mod:`pbr.registry.methods`: the inference methods (label, family, scale, role in the
  report's verdicts) and their measured sizes (``data/method_sizes.csv``).
"""
