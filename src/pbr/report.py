"""Report stage: render the self-contained HTML report from the pipeline's results.

Figures are drawn with matplotlib and embedded as base64 PNG, so the report is one
file that opens offline. In real-data mode every count below the small-cell threshold
is suppressed before anything is rendered.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.metadata
import io
import logging
import subprocess
from pathlib import Path

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from pbr.published import OUTCOME_LABELS, PUBLISHED_OR

log = logging.getLogger(__name__)

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "report"
VERSIONED_PACKAGES = [
    "snakemake",
    "pandas",
    "numpy",
    "pyarrow",
    "duckdb",
    "splink",
    "pyfixest",
    "statsmodels",
    "linearmodels",
    "scipy",
    "matplotlib",
    "jinja2",
]
SUPPRESSED = "<{k}"


def suppress_counts(df: pd.DataFrame, columns: list[str], threshold: int) -> pd.DataFrame:
    """Replace counts below ``threshold`` (but above 0 is not required: 0 is safe) by '<k' as text.

    Zero is shown (it identifies no one); 1..threshold-1 become '<threshold'. Rates
    computed from suppressed counts are blanked too (a ``rate`` column, if present).
    """
    out = df.copy()
    small = pd.Series(False, index=out.index)
    for c in columns:
        s = (out[c] > 0) & (out[c] < threshold)
        small |= s
        out[c] = out[c].astype("Int64").astype("string").where(~s, SUPPRESSED.format(k=threshold))
    if "rate" in out.columns:
        out["rate"] = out["rate"].where(~small)
    return out


def _png(fig: plt.Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def forest_plot(results: pd.DataFrame) -> str:
    """Forest plot of the logistic DiD odds ratios (log scale), published values marked; base64 PNG."""
    main = results[(results["method"] == "logit_crv1") & (results["specification"] == "main")].reset_index(
        drop=True
    )
    fig, ax = plt.subplots(figsize=(7, 0.55 * max(len(main), 2) + 1))
    y = np.arange(len(main))[::-1]
    ax.errorbar(
        main["estimate"],
        y,
        xerr=[main["estimate"] - main["ci_low"], main["ci_high"] - main["estimate"]],
        fmt="o",
        color="#1f4e79",
        ecolor="#1f4e79",
        capsize=3,
        label="reproduced (95% CI)",
    )
    for yi, (_, r) in zip(y, main.iterrows(), strict=True):
        pub = PUBLISHED_OR.get(r["outcome"], (None,))[0]
        if pub is not None and r["cohort"] == "drug":
            ax.plot(pub, yi, marker="D", color="#c55a11", linestyle="none", label="published")
    ax.axvline(1.0, color="grey", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_yticks(y)
    ax.set_yticklabels(
        [f"{OUTCOME_LABELS.get(o, o)} ({c})" for c, o in zip(main["cohort"], main["outcome"], strict=True)]
    )
    ax.set_xlabel("DiD odds ratio (pilot x post), log scale")
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles, strict=True))
    ax.legend(uniq.values(), uniq.keys(), loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


def did_table(results: pd.DataFrame) -> list[dict]:
    """Rows for the main DiD table: reproduced OR and CI beside the published value."""
    main = results[(results["method"] == "logit_crv1") & (results["specification"] == "main")]
    rows = []
    for _, r in main.iterrows():
        pub = PUBLISHED_OR.get(r["outcome"], (None, None, None, ""))
        published = pub[0] if r["cohort"] == "drug" else None
        inside = (
            None
            if published is None or np.isnan(r["ci_low"])
            else bool(r["ci_low"] <= published <= r["ci_high"])
        )
        rows.append(
            {
                "cohort": r["cohort"],
                "outcome": OUTCOME_LABELS.get(r["outcome"], r["outcome"]),
                "estimate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "p_value": r["p_value"],
                "n": int(r["n"]),
                "n_clusters": int(r["n_clusters"]),
                "published": published,
                "published_ci": f"{pub[1]:.2f}-{pub[2]:.2f}"
                if published is not None and pub[1] is not None
                else pub[3]
                if r["cohort"] == "drug"
                else "",
                "inside": inside,
                "note": r["note"],
            }
        )
    return rows


def package_versions() -> dict[str, str]:
    """Installed versions of the packages the numbers depend on."""
    out = {}
    for p in VERSIONED_PACKAGES:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


def git_commit(repo: Path) -> str:
    """The checked-out commit (with '+dirty' if the tree has changes), or 'unknown'."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render_report(
    results: pd.DataFrame,
    rates: pd.DataFrame,
    flow: pd.DataFrame,
    config: dict,
    config_hash: str,
    input_checksums: dict[str, str],
    out_path: str | Path,
    run_date: str | None = None,
) -> Path:
    """Render ``report/report.html.j2`` with the results to ``out_path`` (one self-contained file)."""
    real = config["data"]["source"] == "real"
    k = config["report"]["small_cell_threshold"]
    if real:
        rates = suppress_counts(rates, ["n", "events"], k)
        flow = suppress_counts(flow, ["n"], k)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["num"] = lambda v, d=3: (
        "" if v is None or (isinstance(v, float) and np.isnan(v)) else f"{v:.{d}f}"
    )
    env.filters["count"] = lambda v: v if isinstance(v, str) else f"{int(v):,}"
    template = env.get_template("report.html.j2")
    html = template.render(
        title=config["report"]["title"],
        config=config,
        config_hash=config_hash,
        real=real,
        threshold=k,
        did_rows=did_table(results),
        forest_png=forest_plot(results),
        results=results.to_dict("records"),
        rates=rates.to_dict("records"),
        flow=flow.to_dict("records"),
        versions=package_versions(),
        commit=git_commit(TEMPLATE_DIR.parent),
        checksums=input_checksums,
        run_date=run_date or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        labels=OUTCOME_LABELS,
    )
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out_path)
    log.info("report written to %s (%d bytes)", out_path, len(html))
    return out_path
