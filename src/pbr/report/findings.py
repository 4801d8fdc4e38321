"""The top of the report: the findings box (which published findings the run reproduced) and the areas analysed."""

from __future__ import annotations

import re

import pandas as pd

from pbr.registry.published import PUBLISHED_PILOT_AREAS, PUBLISHED_UNADJUSTED_OR
from pbr.report.cells import METHOD_LABELS, format_interval, format_number, isnan, label
from pbr.report.verdicts import VERDICT_OK, row_status


def _of(n_ok: int, n: int, n_all: int) -> str:
    """'3 of 4', or '3 of 4 assessed (of 6; 2 without a verdict, see below)'."""
    if n == n_all:
        return f"{n_ok} of {n}"
    return f"{n_ok} of {n} assessed (of {n_all}; {n_all - n} without a verdict, see below)"


def _tally(text: str, flags: list[bool], n_all: int, detail: str = "") -> dict:
    """A findings item counting ``flags`` (the rows that carry a verdict) out of ``n_all``."""
    if not flags:
        return {
            "text": f"{text}: none of the {n_all} could carry a verdict (see below)",
            "ok": None,
            "detail": "",
        }
    n_ok = sum(1 for f in flags if f)
    return {"text": f"{text}: {_of(n_ok, len(flags), n_all)}", "ok": n_ok == len(flags), "detail": detail}


def summary_findings(
    rows: list[dict],
    rates_cmp: list[dict],
    robustness: dict,
    headline: str,
    synthetic: bool,
    areas: dict | None = None,
    redact=str,
) -> list[dict]:
    """The list at the top: which published findings the run reproduced.

    Only rows that carry a verdict (``row["verdict"].ok``) are counted as reproduced, not
    reproduced or on the same side of 1; the rows not estimable and the rows without a
    verdict (too few events, interval too wide) are items of their own, with their reasons
    (``ok`` None: neither reproduced nor not). ``areas`` (:func:`area_summary`): a pilot set
    other than the published eight is an item too. ``redact``: :meth:`Disclosure.redact`.
    """
    out = []
    if areas and areas.get("warning"):
        out.append({"text": areas["finding"], "ok": False, "detail": "See the box above."})
    out += _published_or_items([r for r in rows if r["published"] is not None], headline)
    out += _not_significant_items([r for r in rows if r["not_significant"]])
    if robustness["mason"]:
        out.append(_mason_item(robustness["mason"]))
    out += _raw_rate_items(rates_cmp)
    if robustness["pretrend"]:
        out.append(_pretrend_item(robustness["pretrend"]))
    if synthetic:
        out += _planted_items(rows)
    out += _unassessed(rows, robustness["mason"], redact)
    return out


def _published_or_items(pub: list[dict], headline: str) -> list[dict]:
    """The published ORs inside the headline and CRV1 intervals, and on the same side of 1."""
    if not pub:
        return []
    assessed = [r for r in pub if r["verdict"].ok]
    return [
        _tally(
            f"Published OR inside the reproduced 95% interval ({METHOD_LABELS.get(headline, headline)})",
            [bool(r["inside"]) for r in assessed],
            len(pub),
            "; ".join(
                f"{r['outcome']} {'✓' if r['inside'] else '✗'} (published {r['published']:.2f}, reproduced "
                f"{format_number(r['estimate'], 2)}, {format_interval(r['ci_low'], r['ci_high'], 2) or 'no interval'})"
                for r in assessed
            ),
        ),
        _tally(
            "Published OR inside the CRV1 95% interval",
            [bool(r["inside_crv1"]) for r in pub if r["inside_crv1"] is not None],
            len(pub),
        ),
        _tally(
            "Reproduced OR on the same side of 1 as the published OR",
            [(r["estimate"] - 1) * (r["published"] - 1) > 0 for r in assessed],
            len(pub),
        ),
    ]


def _not_significant_items(not_significant: list[dict]) -> list[dict]:
    """The findings published as not significant whose reproduced interval includes 1."""
    if not not_significant:
        return []
    assessed = [r for r in not_significant if r["verdict"].ok and r["includes_one"] is not None]
    return [
        _tally(
            "Findings published as not significant whose reproduced interval includes 1",
            [bool(r["includes_one"]) for r in assessed],
            len(not_significant),
            "; ".join(f"{r['outcome']} {'✓' if r['includes_one'] else '✗'}" for r in assessed),
        )
    ]


def _mason_item(mason: list[dict]) -> dict:
    """The Mason 2015 ORs inside the reproduced interval (checks with a verdict only)."""
    assessed = [x for x in mason if x.get("verdict", VERDICT_OK).ok]
    return _tally(
        "Mason 2015 ORs inside the reproduced interval (FY2011-12 vs FY2012-13 window)",
        [bool(x["inside"]) for x in assessed],
        len(mason),
        "; ".join(
            f"{label(x['outcome'])}: published {format_number(x['published'])}, "
            f"reproduced {format_number(x['estimate'])} ({format_interval(*x['ci'])})"
            for x in assessed
        ),
    )


def _raw_rate_items(rates_cmp: list[dict]) -> list[dict]:
    """Per outcome with published raw rates: the largest difference from them (rates shown only)."""
    out = []
    for cmp in rates_cmp:
        pub_or = PUBLISHED_UNADJUSTED_OR.get(cmp["outcome"])
        diffs = []
        for (g, p), v in cmp["published"].items():
            rate = cmp["rates"].get((g, p))
            if rate is not None and not rate.hidden:
                diffs.append(abs(rate.value - v))
        if diffs:
            out.append(
                {
                    "text": f"Raw rates of {label(cmp['outcome']).lower()}: largest difference from the published "
                    f"rates {100 * max(diffs):.1f} percentage points; unadjusted DiD OR {cmp['unadjusted']} "
                    f"(published {pub_or})",
                    "ok": max(diffs) <= 0.02,
                    "detail": "",
                }
            )
    return out


def _pretrend_item(pretrend: list[dict]) -> dict:
    """The event-study pre-trend tests with p < 0.05, named."""
    bad_pre = [x for x in pretrend if x["p"] is not None and x["p"] < 0.05]
    return {
        "text": f"Event-study pre-trend tests with p < 0.05: {len(bad_pre)} of {len(pretrend)}"
        + (
            " (" + ", ".join(f"{label(x['outcome'])} ({x['cohort']})" for x in bad_pre) + ")"
            if bad_pre
            else ""
        ),
        "ok": not bad_pre,
        "detail": "",
    }


def _planted_items(rows: list[dict]) -> list[dict]:
    """Synthetic data: the planted ORs inside the headline interval (rows with a verdict)."""
    planted_rows = [r for r in rows if r["planted"] is not None and r["planted_inside"] is not None]
    if not planted_rows:
        return []
    n_ok = sum(1 for r in planted_rows if r["planted_inside"])
    return [
        {
            "text": f"Synthetic check: planted OR inside the headline interval: {n_ok} of {len(planted_rows)}",
            "ok": n_ok == len(planted_rows),
            "detail": "",
        }
    ]


def _unassessed(rows: list[dict], mason: list[dict], redact) -> list[dict]:
    """Findings items for the DiD rows not estimable and those without a verdict (with reasons)."""
    out = []
    not_estimable_rows = [r for r in rows if r["verdict"].kind == "not_estimable"]
    if not_estimable_rows:
        out.append(
            {
                "text": f"Not estimable (not counted above): {len(not_estimable_rows)} of {len(rows)} DiD models",
                "ok": None,
                "detail": "; ".join(
                    f"{r['outcome']} ({r['cohort']}): "
                    + (redact(r["status_reason"] or r["verdict"].detail) or "no estimate")
                    for r in not_estimable_rows
                ),
            }
        )
    no_verdict_rows = [r for r in rows if r["verdict"].kind == "no_verdict"]
    no_verdict_mason = [x for x in mason if not x.get("verdict", VERDICT_OK).ok]
    if no_verdict_rows or no_verdict_mason:
        parts = [
            f"{r['outcome']} ({r['cohort']}): {r['verdict'].label} ({r['verdict'].text(redact)})"
            for r in no_verdict_rows
        ]
        parts += [
            f"{label(x['outcome'])}, Mason 2015 window: {x['verdict'].label} ({x.get('reason', '')})"
            for x in no_verdict_mason
        ]
        out.append(
            {
                "text": "Too few events or interval too wide for a verdict (not counted above): "
                f"{len(no_verdict_rows)} of {len(rows)} DiD models"
                + (f" and {len(no_verdict_mason)} Mason 2015 check(s)" if no_verdict_mason else ""),
                "ok": None,
                "detail": "; ".join(parts),
            }
        )
    return out


# ---------------------------------------------------------------------------------------
# The areas analysed


def _norm_name(name: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\s*\(.*\)\s*$", "", str(name))).strip().casefold()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def area_summary(results: pd.DataFrame, areas: pd.DataFrame, flow: pd.DataFrame, config: dict) -> dict:
    """The pilot and comparison areas this run analysed, beside the published study's eight.

    Counts: the most pilot (``n_treated_clusters``) and comparison (``n_clusters`` minus
    those) areas in any main logit model, i.e. the areas present in the analysed data; else
    the area lookup; else (comparison areas) the extract's "areas kept" flow row minus the
    pilots. Names: the lookup's pilot areas (``area_name``; a sub-area that alone piloted is
    named when the partial-pilot rule splits the area). ``warning`` is set when the analysed
    pilot set is not the published eight (another number, or other names).
    """
    pilot_m, comparison_m = _model_areas(results)
    names, lookup_pilot, lookup_other = _lookup_areas(areas, flow, config, pilot_m)
    pilot = pilot_m if pilot_m is not None else lookup_pilot
    comparison = comparison_m if comparison_m is not None else lookup_other
    published = list(PUBLISHED_PILOT_AREAS)
    n_pub = len(published)
    got = {_norm_name(x) for x in names}
    want = {_norm_name(x): x for x in published}
    missing = [want[k] for k in want if names and k not in got]
    extra = [x for x in names if _norm_name(x) not in want]
    differs = (pilot is not None and pilot != n_pub) or (lookup_pilot is not None and lookup_pilot != n_pub)
    differs = differs or bool(missing or extra)
    warning = finding = None
    if differs:
        n = pilot if pilot is not None else lookup_pilot
        assert n is not None  # differs needs a pilot count: names (missing, extra) come from the lookup
        warning = _area_warning(n, published, names, missing, extra, lookup_pilot, pilot_m)
        finding = f"Pilot areas: this run analysed {n}, the published study eight"
    phrase = "a few pilot areas" if pilot is None else _plural(pilot, "pilot area")
    if pilot is None:
        description = "the number of pilot areas could not be determined"
    else:
        description = phrase + (f" ({', '.join(names)})" if names else "")
    if comparison is not None:
        description += f" and {_plural(comparison, 'comparison area')}"
    return {
        "pilot": pilot,
        "comparison": comparison,
        "names": names,
        "lookup_pilot": lookup_pilot,
        "published": published,
        "published_count": "eight" if n_pub == 8 else str(n_pub),
        "missing": missing,
        "extra": extra,
        "differs": differs,
        "warning": warning,
        "finding": finding,
        "pilot_phrase": phrase,
        "description": description,
    }


def _model_areas(results: pd.DataFrame) -> tuple[int | None, int | None]:
    """The most pilot and comparison areas in any estimable main logit model; None without them."""
    pilot_m = comparison_m = None
    if not results.empty and {"n_treated_clusters", "n_clusters"} <= set(results.columns):
        main = results[(results["specification"] == "main") & (results["method"] == "logit_crv1")]
        main = (
            main[[row_status(r) != "not_estimable" for _, r in main.iterrows()]] if not main.empty else main
        )
        if not main.empty and main["n_treated_clusters"].notna().any():
            pilot_m = int(main["n_treated_clusters"].max())
            comparison_m = int((main["n_clusters"] - main["n_treated_clusters"]).max())
    return pilot_m, comparison_m


def _lookup_areas(
    areas: pd.DataFrame, flow: pd.DataFrame, config: dict, pilot_m: int | None
) -> tuple[list[str], int | None, int | None]:
    """The area lookup's pilot area names (sorted) and its pilot and comparison counts; without
    a lookup, the comparison areas are the flow's areas kept minus the models' pilots."""
    names: list[str] = []
    lookup_pilot = lookup_other = None
    if not areas.empty and "pilot" in areas.columns:
        is_pilot = areas["pilot"].astype("boolean").fillna(False).astype(bool)
        lookup_pilot, lookup_other = int(is_pilot.sum()), int((~is_pilot).sum())
        split = config.get("study", {}).get("partial_pilot_rule", "whole_area_pilot") != "whole_area_pilot"
        for _, a in areas[is_pilot].iterrows():
            name = a.get("area_name")
            name = str(a["area_code"]) if isnan(name) or not str(name).strip() else str(name).strip()
            sub = a.get("pilot_sub_area")
            if split and not isnan(sub) and str(sub).strip():
                name += f" ({str(sub).replace('_', ' ').title()} only)"
            names.append(name)
        names.sort(key=str.casefold)
    elif not flow.empty and lookup_other is None:
        kept = flow[(flow["table"] == "areas") & (flow["action"] == "kept")]
        if not kept.empty and pilot_m is not None:
            lookup_other = int(kept["n"].sum()) - pilot_m
    return names, lookup_pilot, lookup_other


def _area_warning(
    n: int,
    published: list[str],
    names: list[str],
    missing: list[str],
    extra: list[str],
    lookup_pilot: int | None,
    pilot_m: int | None,
) -> str:
    """The box above the findings when the run's ``n`` pilot areas are not the published eight."""
    warning = f"This run analysed {_plural(n, 'pilot area')}; the published study had eight: {', '.join(published)}."
    if names:
        warning += f" Pilot areas in this run's area lookup: {', '.join(names)}."
    if missing:
        warning += f" Not among them: {', '.join(missing)}."
    if extra:
        warning += f" Not in the published study: {', '.join(extra)}."
    if lookup_pilot is not None and pilot_m is not None and lookup_pilot != pilot_m:
        warning += (
            f" The area lookup lists {_plural(lookup_pilot, 'pilot area')}, the models found "
            f"{pilot_m} with analysable journeys."
        )
    if n == 1:
        warning += (
            " With a single pilot area the difference-in-differences rests on one area: "
            "cluster-robust and bootstrap intervals cannot be trusted."
        )
    warning += " The comparison with the published odds ratios below is not like for like."
    return warning
