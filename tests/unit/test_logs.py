"""pbr.logs: a job never goes silent for longer than the heartbeat, and a steady job hears
nothing from it."""

from __future__ import annotations

import logging
import time

import pytest

from pbr import logs


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.records: list[tuple[float, str]] = []

    def emit(self, record):
        self.records.append((time.monotonic(), record.getMessage()))


@pytest.fixture
def captured():
    handler = _Records()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def _beats(handler, step):
    return [m for _, m in handler.records if m.startswith(f"{step}: still working")]


def test_a_silent_job_hears_the_heartbeat_naming_the_last_message(captured):
    log = logging.getLogger("pbr.test_silent")
    beat = logs.Heartbeat(log, "silent", every=0.2).start()
    log.info("scoring candidate pairs")
    time.sleep(1.1)
    beat.stop()
    beats = _beats(captured, "silent")
    assert 2 <= len(beats) <= 6, beats
    assert all(b.endswith("last: scoring candidate pairs") for b in beats), beats
    gaps = [b - a for (a, _), (b, _) in zip(captured.records, captured.records[1:], strict=False)]
    assert max(gaps) < 0.2 + 0.15, gaps  # never silent for much longer than `every`
    n = len(captured.records)
    time.sleep(0.5)
    assert len(captured.records) == n, "the heartbeat went on after stop()"
    assert beat not in logging.getLogger().handlers


def test_a_steady_job_hears_nothing(captured):
    log = logging.getLogger("pbr.test_steady")
    beat = logs.Heartbeat(log, "steady", every=0.3).start()
    for i in range(12):
        log.info("step %d of 12", i + 1)
        time.sleep(0.05)
    beat.stop()
    assert _beats(captured, "steady") == []


def test_logged_stops_its_heartbeat_on_a_pipeline_error(tmp_path, monkeypatch):
    monkeypatch.setattr(logs, "HEARTBEAT_SECONDS", 0.1)
    with pytest.raises(SystemExit), logs.logged(tmp_path / "job.log", "failing") as log:
        log.info("reading the extract")
        time.sleep(0.35)
        raise logs.PipelineError("bad column")
    text = (tmp_path / "job.log").read_text()
    assert "failing: still working" in text and "last: reading the extract" in text
    assert "failing failed:\nbad column" in text
    assert not [h for h in logging.getLogger().handlers if isinstance(h, logs.Heartbeat)]
    logging.getLogger().handlers.clear()


def test_progress_says_what_is_done_and_what_is_left_at_most_every_interval(caplog):
    from pbr.logs import Progress

    now = [0.0]
    progress = Progress(logging.getLogger("t.progress"), "month loop", 72, every=10, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="t.progress"):
        for m in range(72):
            now[0] = m * 0.5  # 0.5 s per step: a line every 20 steps (10 s), then the last
            progress.step(m)
        now[0] = 36.0
        progress.step(72)
    lines = [r.getMessage() for r in caplog.records if r.name == "t.progress"]
    assert lines[0] == "month loop: 20 of 72 done, about 26 s left"
    assert lines[-1] == "month loop: 72 of 72 done, about 0 s left"
    assert len(lines) == 4  # at 20, 40, 60 and 72 steps


def test_phases_say_which_phase_of_how_many_and_the_heartbeat_names_it(caplog):
    """Each phase logs its number, the total and its name when it starts and ends; while it runs,
    the heartbeat's line names it with the seconds since it started and what it noted."""
    now = [100.0]
    log = logging.getLogger("t.phases")
    phases = logs.Phases(log, "linkage training", 4, clock=lambda: now[0])
    beat = logs.Heartbeat(log, "train", every=10)
    beat.started = 90.0
    with caplog.at_level(logging.INFO, logger="t.phases"):
        with phases.phase("lambda"):
            now[0] = 103.0
        assert logs.current_phase() is None
        with phases.phase("EM training for dob"):
            now[0] = 148.0
            assert logs.current_phase() is phases
            assert phases.status() == "phase 2 of 4 (EM training for dob), 45 s in"
            phases.note("EM iteration 3 of at most 25")
            assert beat.message(now[0]) == (
                "train: still working, 58 s in; phase 2 of 4 (EM training for dob), 45 s in, "
                "EM iteration 3 of at most 25; last: started"
            )
    assert beat.message(now[0]) == "train: still working, 58 s in; last: started"
    lines = [r.getMessage() for r in caplog.records if r.name == "t.phases"]
    assert lines == [
        "linkage training: phase 1 of 4 (lambda) started",
        "linkage training: phase 1 of 4 (lambda) done in 3 s",
        "linkage training: phase 2 of 4 (EM training for dob) started",
        "linkage training: phase 2 of 4 (EM training for dob) done in 45 s",
    ]


def test_a_failing_phase_is_no_longer_under_way(caplog):
    phases = logs.Phases(logging.getLogger("t.fail"), "scoring", 2)
    with pytest.raises(ValueError), phases.phase("DuckDB query"):
        raise ValueError("out of memory")
    assert logs.current_phase() is None
    assert not [r for r in caplog.records if "done in" in r.getMessage()]
