"""Text generated from the config and the run's data source: outcome definitions, the model, what was analysed."""

from __future__ import annotations

from pathlib import Path

from pbr.report.disclosure import Disclosure


def outcome_definitions(config: dict) -> dict[str, str]:
    o = config["outcomes"]
    t = o["top"]
    top = (
        f"start TOP on days 0–{t['start_max_days']}, review TOP on days {t['review_min_days']}–"
        f"{t['review_max_days']} closest to day {t['review_target_days']}"
    )
    sc = o["successful_completion"]
    rp = o["representation"]["window_days"]
    return {
        "treatment_initiation": f"Among journeys with a triage: a structured intervention started within "
        f"{o['treatment_initiation']['max_days']} days of triage.",
        "waiting_over_3_weeks": f"Among journeys in which an intervention started: more than "
        f"{o['waiting_over_3_weeks']['threshold_days']} days from referral to the first intervention.",
        "successful_completion": f"The journey ends with discharge code {', '.join(map(str, sc['discharge_codes']))} "
        f"on days 0–{sc['window_days']}. Denominator: all journeys.",
        "completion_without_representation": f"Successfully completed and no new journey within {rp} days of "
        "discharge. Denominator: all journeys.",
        "representation": f"Among completers: a new journey within {rp} days of discharge.",
        "abstinence": f"Among journeys with a start TOP and a review TOP ({top}): zero days of use of every "
        "problem substance in the 28 days before the review.",
        "non_injecting": "Among journeys injecting at the start TOP, with a review TOP: zero days injected at review.",
        "housing_problem": "An acute housing problem at the review TOP, among journeys with start and review TOPs"
        + (" and a problem at the start." if o["housing_problem"]["among_start_problem"] else "."),
        "drug_related_death": f"A linked ONS death with underlying cause "
        f"{', '.join(o['drug_related_death']['icd10_prefixes'])} dated (by date of death) on days "
        f"0–{o['drug_related_death']['window_days']} after the journey start. Denominator: all journeys.",
        "acquisitive_crime": f"A linked proven offence in {', '.join(o['acquisitive_crime']['offence_groups'])} "
        f"dated (by offence date) on days 0–{o['acquisitive_crime']['window_days']}. Denominator: all journeys.",
        "declined_to_continue": f"The journey ends with discharge code "
        f"{', '.join(map(str, o['declined_to_continue']['discharge_codes']))} within "
        f"{o['declined_to_continue']['window_days']} days (Mason 2015). Denominator: all journeys.",
    }


def model_formula(config: dict) -> str:
    m = config["models"]
    unit = config["study"]["period_unit"].replace("_", "-")
    cov = " + ".join(m["covariates"])
    return f"logit P(Y = 1) = area FE + {unit} FE + β · (pilot × post) + {cov};  DiD OR = exp(β)"


def source_section(fp: dict | None, disc: Disclosure) -> dict | None:
    """What the run analysed, from the validation's fingerprint: a one-line summary and one row
    per table (file, bytes, SHA-256; or rows and row checksum for a database). No credentials:
    the fingerprint holds the database URL without them. Row counts of whole tables are shown,
    except (real data) one below the small-cell threshold."""
    if not fp:
        return None
    from pbr.source import describe

    def rows_text(n: int) -> str:
        return f"<{disc.threshold}" if disc.active and 0 < n < disc.threshold else f"{n:,}"

    rows = []
    for name, t in sorted(fp.get("tables", {}).items()):
        if "sha256" in t:
            rows.append([name, Path(t["path"]).name, f"{t['bytes']:,} bytes", t["sha256"]])
        else:
            rows.append([name, "database table", f"{rows_text(t['rows'])} rows", t["checksum"]])
    summary = describe(fp)
    if fp["kind"] == "database":
        total = sum(t["rows"] for t in fp["tables"].values())
        summary = summary.replace(f"{total:,} rows", f"{rows_text(total)} rows")
    return {"summary": summary, "rows": rows}
