"""The simulation study (issue #20): size, coverage, power and bias of every method the report
uses, under the ways few-treated DiD is known to break. Its own Snakemake target
(``simulation``), not part of the default run; nothing in the pipeline imports it.

- :mod:`pbr.simstudy.scenarios`: the base and its departures (the vocabulary);
- :mod:`pbr.simstudy.mechanism`: the fixed geometry of a scenario and its replicates;
- :mod:`pbr.simstudy.truth`: each scenario's targets, by large runs of its mechanism;
- :mod:`pbr.simstudy.methods`: every method on one replicate, through the fit stage;
- :mod:`pbr.simstudy.performance`: the measures with their Monte Carlo standard errors.
"""
