"""Fit stage: the difference-in-differences models and their inference.

- :mod:`pbr.fit.spec`: what a fit is of (:class:`~pbr.fit.spec.FitSpec`) and the result
  rows every fit returns (columns, statuses, the one row builder);
- :mod:`pbr.fit.frame`: the model frame (rows in the denominator, uninformative areas,
  periods and levels dropped and counted);
- :mod:`pbr.fit.estimability`: the checks every row goes through before and after its fit;
- :mod:`pbr.fit.design`: the exact engine (IRLS logit and OLS on the area / period /
  covariate dummy design, CRV1 by area);
- :mod:`pbr.fit.library_engine`: the ``statsmodels`` engine (statsmodels' GLM and
  linearmodels' AbsorbingLS, each with its cluster sandwich times the exact engine's
  small-sample factor);
- :mod:`pbr.fit.models`: the main DiD per outcome x cohort (logit and linear companion,
  by any engine);
- :mod:`pbr.fit.draws`: bootstrap weights and re-assignments drawn per area code (the same
  for an area in every outcome and cohort), and the bootstraps' settings;
- :mod:`pbr.fit.wild_bootstrap`: the exact wild cluster bootstraps of the DiD coefficient
  (the LPM's restricted bootstrap, the logit's score bootstrap) on the partialled-out design;
- :mod:`pbr.fit.randomisation`: randomisation inference over areas (the re-assigned
  statistics, their p-value, the few-assignments caveat);
- :mod:`pbr.fit.inference`: few-cluster inference rows (wild cluster bootstraps, the
  logit's ATT, randomisation inference; intervals by test inversion; the headline
  statistic's bootstrap draws);
- :mod:`pbr.fit.multiplicity`: Holm and Romano-Wolf p-values over outcomes x cohorts;
- :mod:`pbr.fit.event_study`: the event study (pilot x period-bin terms, the joint
  pre-trend test by CRV1 and restricted wild cluster bootstraps, the coefficient table);
- :mod:`pbr.fit.robustness`: placebo, leave one pilot area out, Mason 2015, the timing
  sensitivity (donut, clear event study and placebo), all variants for one outcome.
"""
