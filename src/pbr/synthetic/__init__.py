"""Synthetic stage: NDTMS, ONS mortality and PNC extracts with a known truth.

:func:`pbr.synthetic.generator.generate` makes the five contract tables, their truth and
the planted effects (how, in :mod:`pbr.synthetic.generator`'s docstring). The generator is
functions over typed state; each part draws from its own random stream, so the same
settings give byte-identical tables. Imports run one way, down this list:

- :mod:`pbr.synthetic.params`: the settings (``SyntheticParams`` and its sections), read
  from the config's ``synthetic`` section and checked;
- :mod:`pbr.synthetic.reference`: the code lists, and the reference tables read once from
  ``data/`` (areas, probabilities, coefficients, causes of death, names);
- :mod:`pbr.synthetic.dates`, :mod:`pbr.synthetic.draws`, :mod:`pbr.synthetic.columns`:
  day numbers, the random streams and vectorised draws, output columns;
- :mod:`pbr.synthetic.names`: the name pools and recording errors (date-of-birth and name typos);
- :mod:`pbr.synthetic.areas`: areas, units (Kent split) and agencies; the ``areas`` table;
- :mod:`pbr.synthetic.months`: the calendar and the monthly journey targets;
- :mod:`pbr.synthetic.population`: the people and each journey's covariates;
- :mod:`pbr.synthetic.model`: the outcome models and their calibration to target rates;
- :mod:`pbr.synthetic.journeys`: one month's journeys, and the journeys finished after the loop;
- :mod:`pbr.synthetic.simulation`: the month loop that meets the window counts exactly;
- :mod:`pbr.synthetic.calibration`: the set-up, and calibrating the loop outcomes (first
  sample, pilot run);
- :mod:`pbr.synthetic.episodes`: journeys cut into episodes, and their output order;
- :mod:`pbr.synthetic.outcomes`: the outcomes drawn on the realised journeys (TOP outcomes, crime);
- :mod:`pbr.synthetic.discharges`: retention and unplanned discharges, planted on the pilot
  areas' post journeys after the episodes and TOP schedule (other outcomes' records unchanged);
- :mod:`pbr.synthetic.top`: the TOP schedule and the ``ndtms_top`` table;
- :mod:`pbr.synthetic.registers`: the clients as the registers know them, register copies,
  unrelated people;
- :mod:`pbr.synthetic.deaths`: the ``ons_deaths`` register;
- :mod:`pbr.synthetic.offences`: the ``pnc_offences`` register and realised acquisitive crime;
- :mod:`pbr.synthetic.ndtms`: NDTMS attributors and the ``ndtms_episodes`` table;
- :mod:`pbr.synthetic.truth`: the truth tables' journeys and the effects record;
- :mod:`pbr.synthetic.generator`: :func:`~pbr.synthetic.generator.generate` and
  :class:`~pbr.synthetic.generator.SyntheticExtract`.
- :mod:`pbr.synthetic.errors`: the realised identifier errors by group x period, measured
  on an extract (evaluation only: what ``noise.differential`` planted).
"""
