"""Synthetic NDTMS, ONS mortality and PNC extracts with a known truth: :func:`generate`.

The real record systems are restricted, so the pipeline runs end to end on extracts
generated here: the five contract tables (:mod:`pbr.contract`) that look and behave like
the real ones, plus the truth behind them (who is who, which journeys are which, and the
outcomes planted in them), used only to evaluate the linkage and the estimates.

How the data are made
---------------------
* **Areas** (:mod:`~pbr.synthetic.areas`). The 149 DAT areas of England (8 pilots), with
  realistic sizes (population times a treatment-need factor). Kent is split into West Kent
  (the pilot sub-area) and East Kent; episodes there carry ``sub_area``.
* **Journeys** (:mod:`~pbr.synthetic.simulation`, :mod:`~pbr.synthetic.journeys`). A
  month-by-month simulation from the first referral month to the last. Each month the
  people scheduled to re-present (earlier journeys' successors) arrive, and new people are
  added so that the number of *adult* journeys starting in each study window equals the
  published counts times ``scale`` exactly, by cohort and group (pilot/other). When more
  re-presenters arrive than the month needs, re-presentations that no outcome depends on
  (after a non-completion, or more than 183 days after a completion) are dropped at random,
  so the selection never depends on an outcome (only at tiny scales, when the count could
  not be met otherwise, is a re-presentation within 183 days of a completion dropped;
  ``effects["representations_dropped_forced"]``).
* **Outcomes** (:mod:`~pbr.synthetic.model`, :mod:`~pbr.synthetic.calibration`,
  :mod:`~pbr.synthetic.outcomes`) come from logistic models with area random effects, a
  post-period effect, covariate effects and the planted difference-in-differences term (log
  OR on pilot x post). Intercepts are calibrated so that the pre-period rates in both groups
  and the post-period rate in the other areas hit the targets in ``rates``; the pilot post
  rate follows from the planted OR (per post year: a journey referred in the second post year
  carries ``effects_second_year``'s OR, by default the same as ``effects``'). The simulated
  outcomes are calibrated on a pilot run (same seed, scale <= 0.15) so that re-presentations
  are in the mix; the TOP and crime outcomes on the realised journeys themselves. Initiation, completion and completion
  without re-presentation are nested (completion needs initiation, and so on) and each keeps
  its own exact logistic margin. Every outcome is realised in the records so that the
  pipeline's definitions (config ``outcomes:``) recover it, with dates kept clear of the
  definitions' boundaries.
* **Retention and unplanned discharges** (:mod:`~pbr.synthetic.discharges`): planted last, on
  the pilot areas' post journeys only (some short stays lengthened, custody and unplanned exit
  codes swapped), so that each cohort's raw DiD OR of the truth equals ``effects``' ``retention``
  and ``unplanned_discharge``; every other outcome's records are left as they were.
* **Records.** Journeys are cut into episodes (:mod:`~pbr.synthetic.episodes`: transfers,
  83/84, re-referred within 0-20 days), given agencies, agency-local client ids and the
  NDTMS attributor (:mod:`~pbr.synthetic.ndtms`: initials, date of birth, sex) with
  recording noise (its rates, and the register area moves', may differ by group x period:
  ``noise.differential``); TOP interviews (:mod:`~pbr.synthetic.top`) at start, about every three
  months in treatment, and at exit. Clients' deaths and proven offences go into ONS and PNC
  registers (:mod:`~pbr.synthetic.deaths`, :mod:`~pbr.synthetic.offences`) that also hold
  many more unrelated people drawn from the same name, date-of-birth and sex distributions,
  with full names and register-copy errors (:mod:`~pbr.synthetic.registers`: date-of-birth
  typos, name typos and swaps, moves, missing sex, aliases, surname changes).

Truth
-----
``truth["journeys"]`` (:mod:`~pbr.synthetic.truth`) holds, per true journey, its
covariates (as used by the generating model) and its outcomes *as the study's default
definitions find them on the true persons*, <NA> outside an outcome's denominator (no
triage, no start or review TOP, not injecting at start, ...). These equal the planted draws
for every outcome except drug-related death and acquisitive crime, where a person's
overlapping 12-month windows can share one death or offence. ``effects`` records the
planted ORs (both post years'), the calibration (intercepts, targets, implied pilot post
rate, also per post year), realised rates and raw DiD ORs per cell (and per post year),
counts against targets, register sizes and the covariate coefficients.

Everything is vectorised (numpy / pyarrow); the only Python loop of any length is over the
72 referral months. Each part draws from its own random stream
(:class:`~pbr.synthetic.draws.Streams`); the same parameters give byte-identical tables.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

import pandas as pd

from pbr.contract import TABLES
from pbr.synthetic.areas import areas_table
from pbr.synthetic.calibration import calibrate_loop_outcomes, refine_calibration, set_up
from pbr.synthetic.columns import id_array, person_ids, string_col
from pbr.synthetic.deaths import death_register
from pbr.synthetic.discharges import plant_discharge_effects
from pbr.synthetic.draws import Streams
from pbr.synthetic.episodes import cut_episodes, order_episodes
from pbr.synthetic.journeys import finish_journeys
from pbr.synthetic.ndtms import episode_table, ndtms_attributors
from pbr.synthetic.offences import offence_register
from pbr.synthetic.outcomes import draw_late_outcomes
from pbr.synthetic.params import SyntheticParams
from pbr.synthetic.registers import register_people
from pbr.synthetic.simulation import simulate
from pbr.synthetic.top import schedule_tops, top_table
from pbr.synthetic.truth import effects_record, realised_outcomes, truth_journeys

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _stage(name: str):
    """Log a stage's wall time and the process's peak resident memory so far (debug level)."""
    t0 = time.perf_counter()
    yield
    try:
        import resource

        peak = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f}"  # KiB -> GiB (Linux)
    except ImportError:  # pragma: no cover - not on Windows
        peak = "?"
    log.debug("synthetic: %s in %.1f s (peak RSS %s GiB)", name, time.perf_counter() - t0, peak)


@dataclass
class SyntheticExtract:
    """What :func:`generate` returns.

    ``tables``: the five contract tables. ``truth``: evaluation-only tables
    (``episode_person``, ``death_person``, ``offence_person``, ``journeys``), never read by
    the analysis. ``effects``: planted odds ratios, calibration, realised rates and counts
    (JSON-serialisable).
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    effects: dict


def generate(params: SyntheticParams) -> SyntheticExtract:
    """Generate the five contract tables, their truth and the planted effects."""
    streams = Streams.from_seed(params.seed)
    with _stage("simulate journeys"):
        areas, model, calendar = set_up(params, streams)
        calibrate_loop_outcomes(model, params, areas, calendar, streams.calibration)
        refine_calibration(model, params, areas, calendar)
        sim = simulate(params, areas, calendar, model, streams.loop, streams.case_mix)
        population, loop = sim.population, sim.counts
        journeys = finish_journeys(sim.journeys, population, areas, calendar, streams.post)
        del sim
    with _stage("episodes and TOP"):
        episodes = cut_episodes(params.process, journeys, areas, calendar.extract_end, streams.episodes)
        schedule, coverage = schedule_tops(params.process, journeys, calendar.extract_end, streams.top)
        late = draw_late_outcomes(
            model, params, journeys, coverage, calendar.post_start, calendar.second_year_start, streams.post
        )
        drawn_end = journeys.end.copy()
        discharges = plant_discharge_effects(
            params, journeys, episodes, population, calendar.extract_end, streams.discharges
        )
        order = order_episodes(episodes, streams.ids)
        top = top_table(journeys, late, schedule, episodes, order, streams.top, drawn_end)
        del schedule
    with _stage("registers"):
        people = register_people(population, journeys, areas, calendar.post_start, streams.ids)
        dates = (calendar.referral_start, calendar.extract_end)
        deaths = death_register(params, population, journeys, people, areas.code, *dates, streams.registers)
        offences = offence_register(
            params, population, journeys, late, people, areas.code, *dates, streams.registers
        )
    with _stage("episode table"):
        attributors = ndtms_attributors(
            params.noise, episodes, population, people.pools, people.forename, people.surname, areas,
            calendar.post_start, streams.noise,
        )  # fmt: skip
        episode_rows = episode_table(episodes, order, journeys, attributors, areas, streams.ids)
        episode_truth = pd.DataFrame(
            {
                "episode_id": episode_rows["episode_id"],
                "true_person_id": person_ids(episodes.person[order.order]),
                "true_journey_id": string_col(id_array("J", episodes.journey[order.order] + 1, 8)),
            }
        )
        episodes_per_journey = episodes.per_journey
        del episodes, order, attributors
    tables = {
        "areas": areas_table(areas),
        "ndtms_episodes": episode_rows,
        "ndtms_top": top,
        "ons_deaths": deaths.table,
        "pnc_offences": offences.table,
    }
    for name, df in tables.items():
        expected = TABLES[name].column_names
        if list(df.columns) != expected:  # pragma: no cover - guards the contract
            raise AssertionError(f"{name}: columns {list(df.columns)} != contract {expected}")
    with _stage("truth"):
        truth = realised_outcomes(journeys, coverage, late, offences.acquisitive_crime, population)
        truth_tables = {
            "episode_person": episode_truth,
            "death_person": deaths.truth,
            "offence_person": offences.truth,
            "journeys": truth_journeys(journeys, truth, coverage, episodes_per_journey, areas),
        }
        n_rows = {name: len(df) for name, df in tables.items()}
        effects = effects_record(
            params, model, journeys, truth, calendar.targets, deaths, offences, population.n, loop, n_rows,
            calendar.second_year_start,
        )  # fmt: skip
        effects["discharge_effects"] = discharges
    return SyntheticExtract(tables=tables, truth=truth_tables, effects=effects)
