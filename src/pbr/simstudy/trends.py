"""The per-pilot linear pre-trend tests on one replicate (:mod:`pbr.fit.pilot_trends`): the third
part of the simulation study, its own rule (``sim_trends``) so that adding it changed neither the
main study's jobs nor the robustness checks'.

Rows in :data:`pbr.simstudy.methods.PVALUE_COLUMNS`, ``check = "pretrend"`` (beside the event
study's joint tests of rule ``sim_chunk``, on the same replicates), methods
:data:`pbr.fit.pilots.PILOT_TESTS` (Ibragimov-Mueller and Canay-Romano-Shaikh over the pilots'
trends, logit and LPM), ``p_zero`` only: no pre-trend in every scenario but ``pretrend``.
"""

from __future__ import annotations

import pandas as pd

from pbr.fit.pilot_trends import pilot_trend_rows
from pbr.simstudy.methods import SPEC, pvalue_table, zero_rows


def replicate_trends(df: pd.DataFrame, *, scenario: str, r: int) -> pd.DataFrame:
    """Replicate ``r``'s per-pilot trend tests (:data:`PVALUE_COLUMNS`), p at no pre-trend."""
    return pvalue_table(
        zero_rows(pilot_trend_rows(df, SPEC), "event_study_pretrend", "pretrend"), scenario, r
    )
