"""The report's figures, drawn with matplotlib and embedded as base64 PNG (the report opens offline).

Forest plot of the DiD odds ratios, quarterly trends, event studies, linkage quality and
match weights; each :class:`Figure` carries its alt text and caption, and, for reuse outside
the report (results/report/figures/), a PNG at :data:`PRINT_DPI` and an SVG, both written
without time stamps so that a re-run gives the same bytes.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass, field
from typing import TypedDict

import matplotlib

matplotlib.use("Agg")
import matplotlib.axis
import matplotlib.pyplot as plt
import matplotlib.ticker
import matplotlib.transforms
import numpy as np
import pandas as pd

from pbr.registry.methods import INFERENCE_ROLES, SHORT_LABELS
from pbr.report.cells import GROUPS, format_interval, format_number, isnan, label, p_statement
from pbr.report.disclosure import Disclosure
from pbr.report.estimates import PRETREND_NAMES, PRETREND_SHORT
from pbr.report.verdicts import row_status

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; every series
# also differs by marker or line style, so the figures survive greyscale printing.
BLUE, SKY, VERMILLION, ORANGE, GREEN, PURPLE, BLACK, GREY = (
    "#0072B2",
    "#56B4E9",
    "#D55E00",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#000000",
    "#666666",
)
GROUP_STYLE = {
    "pilot": {"color": VERMILLION, "marker": "o", "linestyle": "-", "label": "pilot areas"},
    "other": {"color": BLUE, "marker": "s", "linestyle": "--", "label": "other areas"},
}

_MONTHS = {"quarter": 3, "half_year": 6, "year": 12}
#: The forest plot's widest axis: rows whose estimate lies beyond it are left out.
FOREST_LIMITS = (0.01, 100.0)
#: Round values the forest plot's axis limits are moved out to (:func:`forest_limits`).
FOREST_ROUND = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0)


#: resolution of the PNG embedded in the HTML report, and of the PNG written for print and reuse
SCREEN_DPI, PRINT_DPI = 100, 200
# SVG element ids from a fixed salt, not a random one: the same figure gives the same SVG bytes
matplotlib.rcParams["svg.hashsalt"] = "pbr-report"


@dataclass
class Figure:
    """A rendered figure: PNG bytes (:data:`SCREEN_DPI`, embedded in the report), alt text (what a
    reader who cannot see it needs), caption, id, and for reuse a PNG at :data:`PRINT_DPI` and an SVG."""

    png: bytes
    alt: str
    caption: str
    fid: str
    print_png: bytes
    svg: bytes
    #: the numbers drawn beside the rows (the forest plot: row, reproduced, published), also shown
    #: as an HTML table under the figure
    numbers: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def b64(self) -> str:
        """The PNG as base64 text, for a data: URI in the HTML."""
        return base64.b64encode(self.png).decode("ascii")


class ReportFigures(TypedDict):
    """The DiD figures of the report: the forest plot, one inference-comparison figure per cohort
    with results, the event study (None when not configured), and one trend figure per cohort
    with trend data."""

    forest: Figure
    inference: list[Figure]
    event_study: Figure | None
    trends: list[Figure]


def _saved(fig: plt.Figure, fmt: str, bbox: matplotlib.transforms.Bbox, dpi: int = PRINT_DPI) -> bytes:
    """``fig`` as ``fmt`` bytes, cropped to ``bbox`` (inches), without time stamps."""
    buf = io.BytesIO()
    metadata = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None}
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches=bbox, metadata=metadata)
    return buf.getvalue()


def _tight_bbox(fig: plt.Figure) -> matplotlib.transforms.Bbox:
    """What ``bbox_inches="tight"`` crops to, padded alike, laid out once at :data:`PRINT_DPI`
    (nothing rasterised), so that the formats do not each lay the figure out again; the SVG
    keeps :data:`SCREEN_DPI`, as before (it sizes in points, the dpi matters to raster parts only)."""
    fig.set_dpi(PRINT_DPI)
    fig.set_layout_engine(None)  # tight_layout's placeholder would make savefig lay it out again
    fig.draw_without_rendering()
    return fig.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])


def _screen_png(print_png: bytes) -> bytes:
    """The report's PNG (:data:`SCREEN_DPI`) from the print PNG: each pixel the mean of a block of
    ``PRINT_DPI // SCREEN_DPI`` pixels each way."""
    from PIL import Image

    with Image.open(io.BytesIO(print_png)) as im:
        small = im.reduce(PRINT_DPI // SCREEN_DPI)
    buf = io.BytesIO()
    small.save(buf, format="PNG", dpi=(SCREEN_DPI, SCREEN_DPI))
    return buf.getvalue()


def _figure(fig: plt.Figure, alt: str, caption: str, fid: str) -> Figure:
    """``fig`` drawn once per format (then closed): the print PNG and the SVG, cropped to one tight
    box (:func:`_tight_bbox`); the report's PNG is the print PNG reduced (:func:`_screen_png`)."""
    bbox = _tight_bbox(fig)
    print_png, svg = _saved(fig, "png", bbox), _saved(fig, "svg", bbox, SCREEN_DPI)
    plt.close(fig)
    return Figure(_screen_png(print_png), alt, caption, fid, print_png, svg)


def _style(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)


def _quarter_dates(start: str, quarters) -> pd.DatetimeIndex:
    base = pd.Timestamp(start)
    return pd.DatetimeIndex([base + pd.DateOffset(months=3 * int(q)) for q in quarters])


def forest_limits(rows: list[dict]) -> tuple[float, float]:
    """The forest plot's x axis, chosen from the bulk of the intervals so that one very wide
    interval does not squeeze every other row.

    The axis spans at least 0.5-2 and every point drawn (reproduced, published and planted ORs),
    and the interval ends out to the lower quartile of the lower ends divided by 1.5 and the upper
    quartile of the upper ends times 1.5 (quartiles by the nearest rank towards the middle, so one
    extreme end among a few rows does not move them), within :data:`FOREST_LIMITS`; each limit is
    then moved out to the next round value of :data:`FOREST_ROUND`. An interval end beyond the
    axis is cut there and marked with an arrow (the numbers beside the plot give it in full).
    """
    points = [
        float(v)
        for r in rows
        for v in (r["estimate"], r.get("published"), r.get("planted"))
        if v is not None and not isnan(v) and v > 0
    ]
    lows = [float(r["ci_low"]) for r in rows if not isnan(r["ci_low"]) and r["ci_low"] > 0]
    highs = [float(r["ci_high"]) for r in rows if not isnan(r["ci_high"]) and math.isfinite(r["ci_high"])]
    lo = min([0.5, *points] + ([float(np.quantile(lows, 0.25, method="higher")) / 1.5] if lows else []))
    hi = max([2.0, *points] + ([float(np.quantile(highs, 0.75, method="lower")) * 1.5] if highs else []))
    lo, hi = max(lo, FOREST_LIMITS[0]), min(hi, FOREST_LIMITS[1])
    lo = max([t for t in FOREST_ROUND if t <= lo], default=FOREST_LIMITS[0])
    hi = min([t for t in FOREST_ROUND if t >= hi], default=FOREST_LIMITS[1])
    return lo, hi


def forest_numbers(r: dict) -> tuple[str, str]:
    """A forest-plot row's numbers as text: the reproduced OR with its headline interval, and the
    published OR with its interval ('' when none was published)."""
    rep = format_number(r["estimate"], 2)
    if not isnan(r["ci_low"]) and not isnan(r["ci_high"]):
        rep += f" ({format_interval(r['ci_low'], r['ci_high'], 2)})"
    pub = ""
    if r["published"] is not None:
        pub = format_number(r["published"], 2)
        if r["published_low"] is not None:
            pub += f" ({format_interval(r['published_low'], r['published_high'], 2)})"
    return rep, pub


def forest_plot(rows: list[dict], headline: str) -> Figure:
    """Reproduced DiD ORs (headline interval thick, CRV1 thin) beside published ones and planted ones,
    with a column of numbers (reproduced and published OR with their intervals) beside each row.

    Rows not estimable, or whose estimate lies outside :data:`FOREST_LIMITS`, are left out; the
    x axis is chosen from the bulk of the intervals (:func:`forest_limits`) and an interval end
    beyond it is cut at the edge and marked with an arrow; a row without a verdict is labelled so
    (†). The numbers are also kept on the figure (``numbers``) for the report's HTML table.
    """
    est = [
        r
        for r in rows
        if r["verdict"].kind != "not_estimable"
        and not isnan(r["estimate"])
        and FOREST_LIMITS[0] <= r["estimate"] <= FOREST_LIMITS[1]
    ]
    left_out = [r for r in rows if r not in est]
    limits = forest_limits(est)
    n = max(len(est), 1)
    fig, ax = plt.subplots(figsize=(3.7, 0.5 * n + 1.5))
    y = np.arange(len(est))[::-1].astype(float)
    ax.set_xscale("log")
    ax.set_xlim(*limits)
    _forest_points(ax, est, y, headline, limits)
    _forest_axes(ax, est, y)
    numbers = [(_forest_row_label(r), *forest_numbers(r)) for r in est]
    _forest_column(ax, numbers, y)
    if est:
        # below the axis label, a fixed distance whatever the number of rows
        below = matplotlib.transforms.offset_copy(ax.transAxes, fig, y=-0.5, units="inches")
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(-0.1, 0),
            bbox_transform=below,
            ncol=2,
            fontsize=8,
            frameon=False,
        )
    alt, caption = _forest_text(est, left_out, headline, limits)
    out = _figure(fig, alt, caption, "fig-forest")
    out.numbers = numbers
    return out


def _forest_row_label(r: dict) -> str:
    return f"{label(r['outcome_key'])} ({r['cohort']}){'' if r['verdict'].ok else ' †'}"


def _forest_column(ax: plt.Axes, numbers: list[tuple[str, str, str]], y: np.ndarray) -> None:
    """The column of numbers right of the plot: reproduced OR (95% CI), and published OR (95% CI)
    when any row has one (placed in points from the axis' right edge, so they keep their size)."""
    tr = matplotlib.transforms.blended_transform_factory(ax.transAxes, ax.transData)
    top = len(y) - 0.45
    published = any(pub for _, _, pub in numbers)
    cols = [(12, "Reproduced\nOR (95% CI)", 1)] + ([(112, "Published\nOR (95% CI)", 2)] if published else [])
    for dx, head, i in cols:
        _at_right(ax, tr, head, top, dx, va="bottom", fontweight="bold")
        for yi, row in zip(y, numbers, strict=True):
            _at_right(ax, tr, row[i], yi, dx, va="center")


def _at_right(ax: plt.Axes, tr, text: str, y: float, dx: float, **style) -> None:
    """``text`` at height ``y`` (data), ``dx`` points right of the axis' right edge, 9 pt, left-aligned."""
    ax.annotate(
        text, (1, y), xycoords=tr, xytext=(dx, 0), textcoords="offset points", ha="left", fontsize=9, **style
    )


def _forest_points(
    ax: plt.Axes, est: list[dict], y: np.ndarray, headline: str, limits: tuple[float, float]
) -> None:
    """Each row's reproduced OR with its headline (thick) and CRV1 (thin, below) intervals, the
    published OR and interval (above) and the planted OR; each legend entry labelled once; an
    interval end beyond ``limits`` is cut there with an arrow."""
    ax_lo, ax_hi = limits

    def clip(lo, hi, y, color, lw):
        a, b = max(lo, ax_lo), min(hi, ax_hi)
        ax.plot([a, b], [y, y], color=color, lw=lw, solid_capstyle="butt")
        if lo < ax_lo:
            ax.plot(ax_lo, y, "<", color=color, ms=6, clip_on=False)
        if hi > ax_hi:
            ax.plot(ax_hi, y, ">", color=color, ms=6, clip_on=False)

    seen = set()

    def lab(name: str) -> str | None:
        if name in seen:
            return None
        seen.add(name)
        return name

    for yi, r in zip(y, est, strict=True):
        lo, hi = r["ci_low"], r["ci_high"]
        if not isnan(lo) and not isnan(hi):
            clip(lo, hi, yi, BLUE, 3)
        ax.plot(r["estimate"], yi, "o", color=BLUE, ms=7, label=lab(f"reproduced OR, {headline} 95% CI"))
        if not isnan(r["crv1_low"]) and not isnan(r["crv1_high"]):
            clip(r["crv1_low"], r["crv1_high"], yi - 0.22, SKY, 1.5)
            ax.plot([], [], color=SKY, lw=1.5, label=lab("CRV1 95% CI"))
        if r["published"] is not None:
            if r["published_low"] is not None:
                clip(r["published_low"], r["published_high"], yi + 0.22, VERMILLION, 1.5)
            ax.plot(
                r["published"],
                yi + 0.22,
                "D",
                color=VERMILLION,
                ms=6,
                label=lab("published OR and 95% CI"),
            )
        if r.get("planted") is not None:
            ax.plot(
                r["planted"], yi, "x", color=BLACK, ms=7, mew=1.5, label=lab("planted OR (synthetic truth)")
            )


def _forest_axes(ax: plt.Axes, est: list[dict], y: np.ndarray) -> None:
    """The forest plot's axes: a line at 1, a log x axis with round ticks, a label per row."""
    _log_odds_axis(ax)
    ax.set_yticks(y)
    ax.set_yticklabels([_forest_row_label(r) for r in est], fontsize=9)
    ax.set_ylim(-0.8, len(est) - 0.2)
    ax.set_xlabel("DiD odds ratio (pilot × post), log scale", fontsize=9)
    ax.grid(axis="x", alpha=0.3, which="major")
    _style(ax)


#: Tick values of a log axis of odds ratios, finest first: the first tier giving 3 to 7 ticks
#: inside the axis is used (the coarsest when none does).
LOG_TICK_TIERS = (
    (0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2),
    (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10, 20, 50, 100),
    (0.01, 0.1, 0.2, 0.5, 1, 2, 5, 10, 100),
    (0.001, 0.01, 0.1, 1, 10, 100, 1000),
)


def log_ticks(lo: float, hi: float) -> list[float]:
    """Readable major ticks of a log axis from ``lo`` to ``hi`` (:data:`LOG_TICK_TIERS`)."""
    tiers = [[t for t in tier if lo <= t <= hi] for tier in LOG_TICK_TIERS]
    for ticks in tiers:
        if 3 <= len(ticks) <= 7:
            return ticks
    return max(tiers[1:], key=lambda t: (len(t) <= 7, len(t)))


def log_axis(axis: matplotlib.axis.Axis, lo: float, hi: float) -> None:
    """A log axis's ticks: :func:`log_ticks` labelled as plain numbers (0.5, 1, 2), and minor
    ticks unlabelled, so no tick labels overlap."""
    axis.set_major_locator(matplotlib.ticker.FixedLocator(log_ticks(lo, hi)))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(matplotlib.ticker.LogLocator(base=10, subs="auto"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _log_odds_axis(ax: plt.Axes) -> None:
    """A log x axis of odds ratios: a dotted line at 1, round ticks labelled as plain numbers."""
    ax.axvline(1.0, color=GREY, lw=1, ls=":")
    ax.set_xscale("log")
    lo_x, hi_x = ax.get_xlim()
    ax.set_xlim(lo_x, hi_x)
    log_axis(ax.xaxis, lo_x, hi_x)


def _forest_text(
    est: list[dict], left_out: list[dict], headline: str, limits: tuple[float, float]
) -> tuple[str, str]:
    """The forest plot's alt text (every value drawn) and caption (what each mark is, what is left out)."""
    ax_lo, ax_hi = limits
    parts = []
    for r in est:
        s = f"{label(r['outcome_key'])} ({r['cohort']}): reproduced {format_number(r['estimate'], 2)}"
        if not isnan(r["ci_low"]):
            s += f" ({format_interval(r['ci_low'], r['ci_high'], 2)})"
        if r["published"] is not None:
            s += f", published {r['published']:.2f}"
        if not r["verdict"].ok:
            s += f", {r['verdict'].label}"
        parts.append(s)
    alt = (
        "Forest plot of difference-in-differences odds ratios on a log scale, one row per outcome "
        "and cohort, with a dotted line at 1. " + "; ".join(parts) + "."
    )
    if left_out:
        alt += " Left out: " + "; ".join(f"{label(r['outcome_key'])} ({r['cohort']})" for r in left_out) + "."
    caption = (
        f"Reproduced DiD odds ratios: dots with the {headline} 95% interval (thick blue), the CRV1 "
        "interval (thin light blue, below), published values (vermilion diamonds, with their interval, "
        "above)"
        + (" and the planted synthetic effect (black cross)" if any(r.get("planted") for r in est) else "")
        + f"; the numbers beside each row are the reproduced OR with its {headline} 95% interval and the "
        f"published OR with its interval. The axis ({ax_lo:g}–{ax_hi:g}) is set by the bulk of the "
        "intervals: an interval reaching beyond it is cut at the edge (arrow); its full range is in the "
        "numbers. † marks a row with too few events or too wide an interval for a verdict. Rows that "
        f"could not be estimated, or whose estimate lies outside {FOREST_LIMITS[0]:g}–{FOREST_LIMITS[1]:g}, "
        "are left out"
        + (
            ": " + ", ".join(f"{label(r['outcome_key'])} ({r['cohort']})" for r in left_out)
            if left_out
            else ""
        )
        + "."
    )
    return alt, caption


def trend_figure(trends: pd.DataFrame, cohort: str, outcomes: list[str], config: dict, disc: Disclosure):
    """Quarterly outcome rates, pilot vs other, one panel per outcome, line at the pilots' start."""
    t = trends[trends["cohort"] == cohort]
    outs = [o for o in outcomes if o in set(t["outcome"])]
    if not outs:
        return None
    ncol = min(3, len(outs))
    nrow = math.ceil(len(outs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 2.7 * nrow + 0.6), squeeze=False, sharex=True)
    start = pd.Timestamp(config["study"]["post_start"])
    hidden_points = 0
    for ax, o in zip(axes.flat, outs, strict=False):
        for g in GROUPS:
            s = t[(t["outcome"] == o) & (t["group"] == g)].sort_values("quarter")
            if s.empty:
                continue
            keep = ~(
                s["n"].map(disc.small) | s["events"].map(disc.small) | (s["n"] - s["events"]).map(disc.small)
            )
            hidden_points += int((~keep).sum())
            rate = (100 * s["rate"]).where(keep)
            x = _quarter_dates(config["study"]["pre_start"], s["quarter"]) + pd.DateOffset(days=45)
            st = GROUP_STYLE[g]
            ax.plot(
                x,
                rate,
                color=st["color"],
                marker=st["marker"],
                ls=st["linestyle"],
                ms=4,
                lw=1.5,
                label=st["label"],
            )
        ax.axvline(start, color=BLACK, lw=1, ls=":")
        ax.set_title(label(o), fontsize=9)
        ax.set_ylabel("%", fontsize=9)
        ax.tick_params(axis="x", labelrotation=45)
        _style(ax)
    for ax in list(axes.flat)[len(outs) :]:
        ax.set_visible(False)
    handles, labels_ = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="lower center", ncol=2, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.02)
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    alt = (
        f"Line charts, one per outcome ({', '.join(label(o) for o in outs)}), of the quarterly rate in "
        f"the {cohort} cohort for pilot areas (vermilion, solid, circles) and other areas (blue, dashed, "
        f"squares) from {config['study']['pre_start']} to {config['study']['post_end']}, with a dotted "
        f"vertical line at {config['study']['post_start']} when the pilots started."
    )
    caption = (
        f"{cohort.capitalize()} cohort: outcome rates by quarter of journey start, pilot vs other areas; "
        f"dotted line: pilots start ({config['study']['post_start']})."
    )
    if hidden_points:
        caption += f" {hidden_points} quarter(s) with a small count are not plotted (disclosure control)."
    return _figure(fig, alt, caption, f"fig-trends-{cohort}")


#: The event-study coefficient table's specifications: the standard one (drawn) and the one
#: whose reference bin is clear of the start (its reference bin is marked).
EVENT_STUDY_STANDARD, EVENT_STUDY_CLEAR = "event_study", "event_study_clear"


def _clear_reference(es: pd.DataFrame, c: str, o: str) -> pd.Timestamp | None:
    """The start of the clear-of-start event study's reference bin for one cohort x outcome."""
    if "specification" not in es.columns:
        return None
    s = es[(es["specification"] == EVENT_STUDY_CLEAR) & (es["cohort"] == c) & (es["outcome"] == o)]
    s = s[s["is_reference"].astype(bool)]
    return pd.Timestamp(s["bin_start"].iloc[0]) if not s.empty else None


def _event_study_panel(ax: plt.Axes, s: pd.DataFrame, start: pd.Timestamp, clear_ref) -> None:
    """One event study: the pilot x bin ORs with their CRV1 intervals, the reference bin, the
    start, and (shaded) the reference bin of the clear-of-start event study."""
    months = _MONTHS.get(str(s["bin_col"].iloc[0]), 6)
    half = pd.DateOffset(days=round(30.4 * months / 2))
    x = pd.DatetimeIndex([pd.Timestamp(b) + half for b in s["bin_start"]])
    ref = s["is_reference"].astype(bool).to_numpy()
    lo = (s["estimate"] - s["ci_low"]).to_numpy(dtype=float)
    hi = (s["ci_high"] - s["estimate"]).to_numpy(dtype=float)
    ax.errorbar(
        x[~ref],
        s["estimate"][~ref],
        yerr=[lo[~ref], hi[~ref]],
        fmt="o",
        color=BLUE,
        ecolor=BLUE,
        capsize=3,
        ms=5,
        label="pilot × period OR (95% CI, CRV1: for reference)",
    )
    ax.plot(x[ref], s["estimate"][ref], "o", mfc="white", mec=BLACK, ms=7, label="reference period")
    if clear_ref is not None:
        ax.axvspan(
            clear_ref,
            clear_ref + pd.DateOffset(months=months),
            color=ORANGE,
            alpha=0.25,
            hatch="//",
            label="reference period clear of the start (timing check)",
        )
    ax.axhline(1.0, color=GREY, lw=1, ls=":")
    ax.axvline(start, color=BLACK, lw=1, ls="--", label="pilots start")
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi)
    log_axis(ax.yaxis, lo, hi)
    ax.set_ylabel("odds ratio (log scale)", fontsize=9)
    ax.tick_params(axis="x", labelrotation=30)
    _style(ax)


def event_study_figure(es: pd.DataFrame, pretrend: dict, config: dict) -> Figure | None:
    """Event-study odds ratios by period bin (logit), one panel per cohort x outcome.

    With a ``specification`` column the standard event study is drawn and the reference bin of
    the one clear of the start is shaded. Each title gives the joint pre-trend test's verdict
    and its method's p (``pretrend``: :func:`pbr.report.estimates.pretrend_tests`);
    the per-bin intervals are CRV1 and shown for reference only."""
    es = es[es["method"] == "logit_crv1"] if not es.empty else es
    standard = es[es["specification"] == EVENT_STUDY_STANDARD] if "specification" in es.columns else es
    if standard.empty:
        return None
    pairs = list(dict.fromkeys(zip(standard["cohort"], standard["outcome"], strict=True)))
    ncol = min(2, len(pairs))
    nrow = math.ceil(len(pairs) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, 3.0 * nrow + 0.7), squeeze=False)
    start = pd.Timestamp(config["study"]["post_start"])
    alts, any_clear = [], False
    for ax, (c, o) in zip(axes.flat, pairs, strict=False):
        s = standard[(standard["cohort"] == c) & (standard["outcome"] == o)].sort_values("bin")
        clear_ref = _clear_reference(es, c, o)
        any_clear |= clear_ref is not None
        _event_study_panel(ax, s, start, clear_ref)
        ptxt = _pretrend_title(pretrend.get((c, o)))
        ax.set_title(f"{label(o)} ({c})\n{_pretrend_title(pretrend.get((c, o)), short=True)}", fontsize=8.5)
        alts.append(
            f"{label(o)} ({c}): "
            + ", ".join(
                f"{pd.Timestamp(b):%b %Y} {format_number(e, 2)}"
                for b, e in zip(s["bin_start"], s["estimate"], strict=True)
            )
            + f"; {ptxt}"
            + (f"; clear-of-start reference period from {clear_ref:%b %Y}" if clear_ref is not None else "")
        )
    for ax in list(axes.flat)[len(pairs) :]:
        ax.set_visible(False)
    handles, labels_ = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="lower center", ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.05)
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    bin_unit = str(standard["bin_col"].iloc[0]).replace("_", "-")
    alt = (
        f"Event-study plots: odds ratio of pilot versus other areas in each {bin_unit} relative to the "
        "reference period (hollow circle, fixed at 1), log scale, dashed line at the pilots' start"
        + (", the reference period of the clear-of-start event study shaded" if any_clear else "")
        + ". "
        + "; ".join(alts)
        + "."
    )
    caption = (
        f"Event studies: pilot × {bin_unit} interactions in the logit (area and period fixed effects, "
        "covariates); per-period intervals are CRV1 by area, for reference only. The verdict in each "
        "title is the pre-trend test named there, the one the stated rule chose (the robustness "
        "section: 'CRS' Canay-Romano-Shaikh and 'IM' Ibragimov-Müller tests over the pilots' linear "
        "pre-trends, or the joint test that every pre-period coefficient is zero); a small p warns that "
        "the trends were not parallel before the pilots. CRV1 over-rejects these tests with few "
        "treated areas."
        + (
            " Shaded: the reference period of the event study whose reference is clear of the start "
            "(its outcome windows end before the pilots began; see the timing checks)."
            if any_clear
            else ""
        )
    )
    return _figure(fig, alt, caption, "fig-event-study")


def _pretrend_title(test: dict | None, short: bool = False) -> str:
    """A panel title's pre-trend words: the verdict and its method's p, or that there is none
    (``short``: the method's short name and no reason, to fit a panel's title)."""
    if not test:
        return "pre-trend test not available"
    if test.get("verdict_p") is None:
        return "no pre-trend verdict" if short else test["verdict"]
    name = (PRETREND_SHORT if short else PRETREND_NAMES)[test["method"]]
    return f"{test['verdict']} ({name} {p_statement(test['verdict_p'])})"


def pilot_forest_plot(
    pilots: list[tuple[str, float]], mean: dict | None, cohort: str, outcome: str
) -> Figure:
    """The per-pilot DiD odds ratios of one cohort x outcome as points (each pilot against all
    comparison areas has no valid interval of its own), and the Ibragimov-Müller mean with its
    t interval (``mean``: estimate, ci_low, ci_high, p; None without it).

    ``pilots``: (area name, OR) pairs; an OR missing or outside :data:`FOREST_LIMITS` is drawn
    at the edge as an arrow (and named in the caption)."""
    ax_lo, ax_hi = FOREST_LIMITS
    names = [n for n, _ in pilots] + (["Ibragimov-Müller mean"] if mean else [])
    fig, ax = plt.subplots(figsize=(7.5, 0.38 * len(names) + 1.4))
    y = np.arange(len(names))[::-1].astype(float)
    cut = []
    for yi, (name, v) in zip(y, pilots, strict=False):
        if isnan(v):
            cut.append(f"{name} (not estimable)")
            continue
        x = min(max(v, ax_lo), ax_hi)
        marker = "o" if x == v else ("<" if v < ax_lo else ">")
        if x != v:
            cut.append(f"{name} ({format_number(v, 2)})")
        ax.plot(x, yi, marker, color=VERMILLION, ms=7, label="one pilot vs all comparison areas")
    if mean:
        lo, hi = float(mean.get("ci_low", math.nan)), float(mean.get("ci_high", math.nan))
        if not isnan(lo) and not isnan(hi):
            ax.plot([max(lo, ax_lo), min(hi, ax_hi)], [y[-1], y[-1]], color=BLUE, lw=3)
        ax.plot(mean["estimate"], y[-1], "D", color=BLUE, ms=8, label="Ibragimov-Müller mean, t 95% CI")
    _log_odds_axis(ax)
    ax.set_yticks(y)
    ax.set_yticklabels(names, fontsize=9)
    ax.set_ylim(-0.8, len(names) - 0.2)
    ax.set_xlabel("DiD odds ratio (pilot × post), log scale", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    handles, labels_ = ax.get_legend_handles_labels()
    keep = dict(zip(labels_, handles, strict=True))
    ax.legend(
        keep.values(),
        keep.keys(),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncol=2,
        fontsize=8,
        frameon=False,
    )
    _style(ax)
    alt, caption = _pilot_forest_text(pilots, mean, cut, cohort, outcome)
    return _figure(fig, alt, caption, f"fig-pilots-{cohort}-{outcome}")


def _pilot_forest_text(
    pilots: list[tuple[str, float]], mean: dict | None, cut: list[str], cohort: str, outcome: str
) -> tuple[str, str]:
    """The per-pilot forest plot's alt text (every value drawn) and caption (``cut``: points at the edge)."""
    mean_txt = (
        f"Ibragimov-Müller mean {format_number(mean['estimate'], 2)}"
        + (
            f" ({format_interval(mean['ci_low'], mean['ci_high'], 2)})"
            if not isnan(mean.get("ci_low"))
            else ""
        )
        + f", {p_statement(mean.get('p'))}"
        if mean
        else "no Ibragimov-Müller mean"
    )
    alt = (
        f"Forest plot of the DiD odds ratio of each pilot area against all comparison areas, "
        f"{label(outcome)} ({cohort}), log scale, dotted line at 1: "
        + "; ".join(f"{n} {format_number(v, 2) or 'not estimable'}" for n, v in pilots)
        + f"; {mean_txt}."
    )
    caption = (
        f"{label(outcome)} ({cohort} cohort): each pilot area's DiD odds ratio against all comparison "
        "areas (vermilion points; a single pilot has no valid interval of its own) and the "
        "Ibragimov-Müller mean of the pilots' coefficients with its t interval (blue diamond)."
        + (f" Drawn at the edge or left out: {', '.join(cut)}." if cut else "")
    )
    return alt, caption


def linkage_quality_figure(quality: pd.DataFrame, threshold: float) -> Figure | None:
    """Precision, recall and F1 against the threshold per register, the exact key dotted beside;
    None without a linkage assessment."""
    q = quality[quality["scope"] == "all"] if not quality.empty else quality
    if q.empty:
        return None
    regs = sorted(q["register"].unique())
    fig, axes = plt.subplots(1, len(regs), figsize=(4.6 * len(regs), 3.3), squeeze=False, sharey=True)
    styles = {"precision": (BLUE, "o", "-"), "recall": (VERMILLION, "s", "--"), "f1": (GREEN, "^", "-.")}
    alts = []
    for ax, reg in zip(axes.flat, regs, strict=True):
        p = q[(q["register"] == reg) & (q["method"] == "probabilistic")].sort_values("threshold")
        e = q[(q["register"] == reg) & (q["method"] == "exact_key")]
        for m, (col, marker, ls) in styles.items():
            ax.plot(p["threshold"], p[m], color=col, marker=marker, ls=ls, ms=4, label=f"{m} (probabilistic)")
            if not e.empty:
                ax.axhline(float(e[m].iloc[0]), color=col, ls=":", lw=1)
        ax.axvline(threshold, color=BLACK, lw=1, ls=":")
        ax.set_title(f"{reg}: dotted = exact key", fontsize=9)
        ax.set_xlabel("match probability threshold", fontsize=9)
        _style(ax)
        alts.append(
            f"{reg}: "
            + ", ".join(
                f"at {t:g} precision {precision:.3f} recall {recall:.3f}"
                for t, precision, recall in zip(p["threshold"], p["precision"], p["recall"], strict=True)
            )
        )
    axes.flat[0].set_ylabel("share", fontsize=9)
    handles, labels_ = axes.flat[0].get_legend_handles_labels()
    fig.legend(
        handles, labels_, loc="lower center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.06)
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    alt = (
        "Line charts of linkage precision, recall and F1 against the match-probability threshold, one per "
        f"register, with the exact-key values as dotted horizontal lines and the chosen threshold {threshold:g} "
        "as a dotted vertical line. " + "; ".join(alts) + "."
    )
    caption = (
        "Linkage quality against the synthetic truth across thresholds (solid/dashed: probabilistic; "
        "dotted horizontal: exact key on initials, date of birth and sex; "
        f"dotted vertical: chosen threshold {threshold:g})."
    )
    return _figure(fig, alt, caption, "fig-linkage-quality")


def match_weight_figure(pairs: dict[str, pd.DataFrame], threshold: float, disc: Disclosure) -> Figure | None:
    """Histograms of the finite match weights per register; None when there are none (deterministic
    linkage gives every pair an infinite weight)."""
    finite = {r: df["match_weight"].to_numpy(dtype=float) for r, df in pairs.items()}
    finite = {r: w[np.isfinite(w)] for r, w in finite.items()}
    regs = [r for r in sorted(finite) if len(finite[r])]
    if not regs:
        return None
    fig, axes = plt.subplots(1, len(regs), figsize=(4.6 * len(regs), 3.2), squeeze=False)
    threshold_weight = math.log2(threshold / (1 - threshold)) if 0 < threshold < 1 else 0.0
    alts, hidden = [], 0
    for ax, reg in zip(axes.flat, regs, strict=True):
        w = finite[reg]
        counts, edges = np.histogram(w, bins=40)
        small = np.array([disc.small(c) for c in counts])
        hidden += int(small.sum())
        shown = np.where(small, 0, counts)
        ax.bar(edges[:-1], shown, width=np.diff(edges), align="edge", color=BLUE, edgecolor="white", lw=0.3)
        ax.axvline(threshold_weight, color=VERMILLION, lw=1.5, ls="--", label=f"threshold p = {threshold:g}")
        ax.set_yscale("symlog", linthresh=10)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_title(f"{reg}: {len(w):,} candidate pairs" if not disc.active else reg, fontsize=9)
        ax.set_xlabel("match weight (log2 Bayes factor)", fontsize=9)
        ax.set_ylabel("pairs (symmetric log scale)", fontsize=9)
        ax.legend(fontsize=8, frameon=False)
        _style(ax)
        above = float((w >= threshold_weight).mean()) if len(w) else float("nan")
        alts.append(
            f"{reg}: weights from {w.min():.1f} to {w.max():.1f}, {100 * above:.0f}% of pairs at or above the threshold"
        )
    fig.tight_layout()
    alt = (
        "Histograms of the match weight of candidate pairs, one per register, with the chosen threshold as a "
        "dashed vertical line. " + "; ".join(alts) + "."
    )
    caption = (
        "Match weights of candidate pairs (one-to-one best candidates per register record, probability "
        f">= linkage.min_probability); dashed line: the threshold p = {threshold:g}."
    )
    if hidden:
        caption += f" {hidden} bar(s) with a small count are not drawn (disclosure control)."
    return _figure(fig, alt, caption, "fig-match-weights")


def placeholder(text: str) -> Figure:
    """A figure that only says ``text`` (an extra output that has nothing to show)."""
    fig, ax = plt.subplots(figsize=(5, 1))
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.axis("off")
    return _figure(fig, text, text, "fig-placeholder")


#: The inference-comparison figure's marks: headline family and few-cluster methods in colour,
#: CRV1 grey (reference only), each method its own marker (greyscale-safe).
_INFERENCE_STYLES = [
    (BLUE, "o"),
    (VERMILLION, "s"),
    (GREEN, "^"),
    (PURPLE, "v"),
    (ORANGE, "D"),
    (SKY, "P"),
    (BLACK, "X"),
]


def _odds_scale(method: str, scale: str) -> bool:
    """Whether a method's rows are odds ratios (the ATT of the logit is a risk difference, whatever
    its row says)."""
    return scale == "odds_ratio" and "_att_" not in method


def _inference_methods(s: pd.DataFrame, order: list[str], odds: bool) -> list[str]:
    """The methods of one panel, in ``order``: rows on the odds-ratio scale (``odds``) or not,
    with a shown estimate and interval (randomisation inference on the logit gives p only)."""
    keep = []
    for m in order:
        r = s[s["method"] == m]
        if r.empty or _odds_scale(m, r["scale"].iloc[0]) != odds:
            continue
        ok = r.apply(lambda x: row_status(x) != "not_estimable" and not isnan(x["ci_low"]), axis=1)
        if ok.any():
            keep.append(m)
    return keep


def _linear_limits(items: list[dict]) -> tuple[float, float]:
    """A linear axis from the bulk of the intervals (as :func:`forest_limits` on a log axis): 0,
    every point, and the quartiles of the interval ends (nearest rank towards the middle)
    widened by their distance either way."""
    points = [it["estimate"] for it in items]
    lows = [it["ci_low"] for it in items]
    highs = [it["ci_high"] for it in items]
    lo_b = float(np.quantile(lows, 0.25, method="higher"))
    hi_b = float(np.quantile(highs, 0.75, method="lower"))
    pad = max(hi_b - lo_b, 0.5)
    return min([0.0, *points, lo_b - pad]), max([0.0, *points, hi_b + pad])


def _clipped_interval(ax: plt.Axes, lo: float, hi: float, y: float, limits, **style) -> None:
    """An interval drawn inside ``limits``, an arrow at an end cut there."""
    ax.plot([max(lo, limits[0]), min(hi, limits[1])], [y, y], solid_capstyle="butt", **style)
    if lo < limits[0]:
        ax.plot(limits[0], y, "<", color=style["color"], ms=5, clip_on=False)
    if hi > limits[1]:
        ax.plot(limits[1], y, ">", color=style["color"], ms=5, clip_on=False)


def _inference_items(main: pd.DataFrame, outs: list[str], y, methods: list[str], odds: bool, headline: str):
    """The marks of one panel: per method and outcome its estimate and interval (percentage
    points off the odds scale), row position, colour, marker and legend label."""
    offsets = np.linspace(0.3, -0.3, len(methods)) if len(methods) > 1 else np.zeros(1)
    factor = 1.0 if odds else 100.0
    items = []
    for k, m in enumerate(methods):
        color, marker = (GREY, "|") if "crv1" in m else _INFERENCE_STYLES[k % len(_INFERENCE_STYLES)]
        for yi, o in zip(y, outs, strict=True):
            r = main[(main["outcome"] == o) & (main["method"] == m)]
            if r.empty or row_status(r.iloc[0]) == "not_estimable" or isnan(r.iloc[0]["ci_low"]):
                continue
            est, lo, hi = (factor * float(r.iloc[0][c]) for c in ("estimate", "ci_low", "ci_high"))
            if odds and not est > 0:
                continue
            items.append(
                {
                    "method": m,
                    "outcome": o,
                    "y": yi + offsets[k],
                    "estimate": est,
                    "ci_low": lo,
                    "ci_high": hi,
                    "color": color,
                    "marker": marker,
                    "name": ("headline: " if m == headline else "") + SHORT_LABELS.get(m, m),
                }
            )
    return items


def _inference_panel(ax: plt.Axes, items: list[dict], odds: bool, headline: str) -> list[str]:
    """Draw one panel's marks inside the axis chosen from the bulk of the intervals; its alt text."""
    limits = forest_limits(items) if odds else _linear_limits(items)
    if odds:
        ax.set_xscale("log")
    ax.set_xlim(*limits)
    alts, labelled = [], set()
    for it in items:
        m = it["method"]
        lw = 2.2 if m == headline else 1.3
        _clipped_interval(ax, it["ci_low"], it["ci_high"], it["y"], limits, color=it["color"], lw=lw)
        ax.plot(
            it["estimate"],
            it["y"],
            it["marker"],
            color=it["color"],
            ms=6,
            mew=1.5,
            label=it["name"] if m not in labelled else None,
        )
        labelled.add(m)
        digits = 2 if odds else 1
        alts.append(
            f"{label(it['outcome'])}, {SHORT_LABELS.get(m, m)}: "
            f"{format_number(it['estimate'], digits).replace('-', '−')} "
            f"({format_interval(it['ci_low'], it['ci_high'], digits)})"
        )
    if odds:
        log_axis(ax.xaxis, *limits)
    ax.axvline(1.0 if odds else 0.0, color=GREY, lw=1, ls=":")
    ax.set_xlabel("DiD odds ratio, log scale" if odds else "percentage points", fontsize=9)
    ax.set_title("Logit: odds ratio" if odds else "LPM risk difference and logit ATT", fontsize=9)
    return alts


def inference_figure(
    results: pd.DataFrame, cohort: str, outcomes: list[str], headline: str, order: list[str]
) -> Figure | None:
    """One cohort's inference methods compared: each outcome a row, each method a mark with its
    95% interval, offset within the row; the odds ratios (log scale) in one panel, the risk
    differences and the ATT (percentage points) in the other. ``order``: the methods as in the
    inference tables (headline first). Each axis is chosen from the bulk of the intervals
    (:func:`forest_limits`; on the linear axis the same rule without logs), an end beyond it cut
    with an arrow. None without a row to draw."""
    main = results[(results["specification"] == "main") & (results["cohort"] == cohort)]
    outs = [o for o in outcomes if o in set(main["outcome"])]
    y = np.arange(len(outs))[::-1].astype(float)
    panels = []
    for odds in (True, False):
        methods = _inference_methods(main[main["outcome"].isin(outs)], order, odds)
        items = _inference_items(main, outs, y, methods, odds, headline) if methods else []
        if items:
            panels.append((odds, items))
    if not outs or not panels:
        return None
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.6 * len(panels), 0.75 * len(outs) + 1.2), squeeze=False, sharey=True
    )
    alts: list[str] = []
    for ax, (odds, items) in zip(axes.flat, panels, strict=True):
        alts += _inference_panel(ax, items, odds, headline)
        ax.set_yticks(y)
        ax.set_yticklabels([label(o) for o in outs], fontsize=9)
        ax.set_ylim(-0.6, len(outs) - 0.4)
        ax.grid(axis="x", alpha=0.3)
        for yi in y[:-1]:
            ax.axhline(yi - 0.5, color=GREY, lw=0.5, alpha=0.4)
        below = matplotlib.transforms.offset_copy(ax.transAxes, fig, y=-0.45, units="inches")
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below, fontsize=7.5, frameon=False
        )
        _style(ax)
    fig.tight_layout()
    alt = (
        f"{cohort.capitalize()} cohort: estimate and 95% interval of each inference method, one row per "
        "outcome, odds ratios (log scale) and percentage points in separate panels. " + "; ".join(alts) + "."
    )
    caption = (
        f"{cohort.capitalize()} cohort: each inference method's estimate and 95% interval, offset within "
        "each outcome's row (headline method thick, CRV1 grey and for reference only). The methods of a "
        "family share their point estimate and differ in the interval. Each axis is set by the bulk of "
        "the intervals; an interval reaching beyond it is cut at the edge (arrow), and is given in full "
        "in the table below. Randomisation inference on the logit gives p-values only and is not drawn; "
        "the full table, with p-values and remarks, is below."
    )
    return _figure(fig, alt, caption, f"fig-inference-{cohort}")


def inference_figures(
    results: pd.DataFrame, cohorts: list[str], outcomes: list[str], headline: str
) -> dict[str, Figure]:
    """cohort -> its inference-comparison figure (:func:`inference_figure`), cohorts without rows left out."""
    order = [headline, *(m for m in INFERENCE_ROLES if m != headline)]
    out = {}
    for c in cohorts:
        f = inference_figure(results, c, outcomes, headline, order)
        if f is not None:
            out[c] = f
    return out
