"""The flow table: every record kept or dropped anywhere, counted with its reason.

Each stage appends rows; the report shows them as a CONSORT-style diagram. A row says
"at ``stage``/``step``, ``n`` ``unit`` of ``table`` were ``action`` because ``reason``",
optionally broken down by cohort, group (pilot/other) and period (pre/post).
"""

from __future__ import annotations

import pandas as pd

FLOW_COLUMNS = ["stage", "step", "table", "unit", "action", "reason", "cohort", "group", "period", "n"]
ACTIONS = ("kept", "dropped", "flagged")


def flow_row(
    stage: str,
    step: str,
    table: str,
    unit: str,
    action: str,
    reason: str,
    n: int,
    cohort: str | None = None,
    group: str | None = None,
    period: str | None = None,
) -> dict:
    """One flow-table row as a dict; ``action`` is kept, dropped or flagged (counted, not dropped)."""
    if action not in ACTIONS:
        raise ValueError(f"flow action must be one of {ACTIONS}, got {action!r}")
    return {
        "stage": stage,
        "step": step,
        "table": table,
        "unit": unit,
        "action": action,
        "reason": reason,
        "cohort": cohort,
        "group": group,
        "period": period,
        "n": int(n),
    }


def flow_frame(rows: list[dict]) -> pd.DataFrame:
    """A flow table from rows made by :func:`flow_row`, with the standard columns and dtypes."""
    df = pd.DataFrame(rows, columns=FLOW_COLUMNS)
    for c in FLOW_COLUMNS[:-1]:
        df[c] = df[c].astype("string")
    df["n"] = df["n"].astype("int64")
    return df


def concat_flows(*flows: pd.DataFrame) -> pd.DataFrame:
    """Stack flow tables from several stages, keeping their order."""
    return flow_frame([r for f in flows for r in f.to_dict("records")])
