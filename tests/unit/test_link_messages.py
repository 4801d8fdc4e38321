"""splink's messages reach the user in the pipeline's words (pbr.link.messages)."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from test_link import DEATH_SPEC, NO_TOPS, SECRET, _noisy_population

from pbr.link import messages, model, records

# splink 5.0.0's texts, as its code builds them (em_sampling.py, expectation_maximisation.py, linker.py)
PROBE = "[EM sampling] Probe returned zero blocked pairs; skipping sampling"
NOT_OBSERVED = (
    "WARNING:\nLevel discharged as died on another date on comparison event_timing not observed in "
    "dataset, unable to train m value\n"
)
PREDICT = (
    "\n -- WARNING --\nYou have called predict(), but there are some parameter estimates which have "
    "neither been estimated or specified in your settings dictionary.  To produce predictions the "
    "following untrained parameters will use default values.\nComparison: 'event_timing':\n"
    "    m values not fully trained"
)


def test_splinks_three_warnings_are_dropped_and_others_pass():
    assert messages.dropped(PROBE) and messages.dropped(NOT_OBSERVED) and messages.dropped(PREDICT)
    assert not messages.dropped("Some new splink message")


def test_untrained_levels_are_the_non_null_levels_without_m_or_u():
    model = {
        "comparisons": [
            {
                "output_column_name": "dob",
                "comparison_levels": [
                    {"label_for_charts": "dob is NULL", "is_null_level": True},
                    {"label_for_charts": "exact", "m_probability": 0.9, "u_probability": 0.01},
                    {"label_for_charts": "transposed", "u_probability": 1e-4},
                    {"label_for_charts": "other"},
                ],
            }
        ]
    }
    assert messages.untrained_levels(model) == [("dob", "transposed", "m"), ("dob", "other", "m and u")]
    text = messages.untrained_message(model)
    assert text is not None and "in 2 comparison level(s)" in text
    assert "dob: 'transposed' (m); dob: 'other' (m and u)" in text and messages.DOCS in text
    model["comparisons"][0]["comparison_levels"][2:] = []
    assert messages.untrained_message(model) is None


def test_the_docs_explain_each_rewritten_message():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "linkage.md").read_text()
    section = text[text.index("## Messages from splink") :]
    for words in (
        "Probe returned zero blocked pairs",
        "not observed in dataset",
        "You have called predict()",
    ):
        assert words in section


def test_training_on_data_without_died_discharges_logs_pipeline_words(caplog):
    """No NDTMS client here is discharged as died, so the 'discharged as died' levels are never
    observed: splink's warnings come out rewritten, its EM-sampling notices not at all."""
    episodes, register, _ = _noisy_population(n=900, n_unrelated=3000)
    areas = pd.DataFrame({"area_code": [f"A{i}" for i in range(30)] + ["A99"], "region": "R"})
    left, right = records.link_inputs(episodes, register, DEATH_SPEC, SECRET, areas, NO_TOPS)
    with caplog.at_level(logging.DEBUG):
        trained = model.train_link_model(left, right, recall=0.8, seed=1, max_pairs=2e5)
        model.predict_link_pairs(left, right, trained, 0.05)
    splink = [r.getMessage() for r in caplog.records if r.name.startswith("splink")]
    assert not [m for m in splink if messages.dropped(m)], splink
    assert [r for r in caplog.records if r.name == "pbr.link.messages"], "splink dropped nothing here"
    ours = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("linkage model: no training pair")
    ]
    assert len(ours) == 2, ours  # once by training, once by prediction
    assert "event_timing: 'discharged as died within 60 days of the event' (m and u)" in ours[0]
    assert ours[0] == ours[1]
    assert messages.untrained_levels(trained), "the model was fully trained: nothing to report"


@pytest.mark.parametrize("name", messages.SPLINK_LOGGERS)
def test_install_attaches_one_filter_per_logger(name):
    messages.install()
    messages.install()
    assert sum(isinstance(f, messages.SplinkMessages) for f in logging.getLogger(name).filters) == 1


def test_em_iterations_are_kept_as_progress_and_noted_on_the_phase(caplog):
    """splink's EM iteration lines (INFO) reach the log as 'EM iteration i of at most 25', and the
    phase under way notes how far EM got; EM's empty separator line is dropped."""
    from pbr.logs import Phases, current_phase

    messages.install()
    em = logging.getLogger(messages.EM_LOGGER)
    logging.getLogger("splink").setLevel(logging.WARNING)  # as the linker leaves it
    phases = Phases(logging.getLogger("t.em"), "linkage training", 5)
    with caplog.at_level(logging.INFO), phases.phase("EM training blocked on dob, area_code"):
        em.info("")
        em.info("Iteration 3: Largest change in params was -0.25 in the m_probability of dob, level `Exact`")
        assert current_phase() is phases and phases.detail == "EM iteration 3 of at most 25"
        em.info("\nEM converged after 3 iterations")
    lines = [r.getMessage() for r in caplog.records if r.name == messages.EM_LOGGER]
    assert lines == [
        "EM iteration 3 of at most 25: largest change in params was -0.25 in the m_probability of dob, "
        "level `Exact`",
        "EM converged after 3 iterations",
    ]
    assert messages.em_iteration("Some new splink message") is None
