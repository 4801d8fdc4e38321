"""Fit stage: the difference-in-differences models and their inference.

- :mod:`pbr.fit.design`: the exact engine (IRLS logit and OLS on the area / period /
  covariate dummy design, CRV1 by area);
- :mod:`pbr.fit.models`: one model per outcome x cohort (logit and linear companion,
  either engine), the estimability checks and the tidy result rows;
- :mod:`pbr.fit.inference`: few-cluster inference (wild cluster bootstraps,
  randomisation inference);
- :mod:`pbr.fit.robustness`: event study, placebo, leave one pilot area out, Mason 2015.
"""
