"""Derive stage: treatment journeys, study cohorts, outcomes and raw rates from the linked extracts.

- :mod:`pbr.derive.journeys`: episodes joined into journeys (transfers continue a journey),
  the study fields (cohort, group, period, analysis area under the partial-pilot rule) and
  the exclusions, with the flow counts;
- :mod:`pbr.derive.outcomes`: one nullable 0/1 column per outcome for a cohort's study
  journeys (NDTMS, TOP and linked-register outcomes), the baseline covariates, and the raw
  rates (2x2 group x period, by quarter) and baseline characteristics.
"""
