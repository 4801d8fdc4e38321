"""Logging for workflow scripts: progress to the rule's log file and the terminal.

:func:`logged` wraps a script's body: it configures logging, and turns the pipeline's
own errors (bad input, bad config, missing key) into one clear message with no
traceback, so the user reads what went wrong and what to do next. While the body runs, a
:class:`Heartbeat` logs "still working" whenever nothing was logged for
:data:`HEARTBEAT_SECONDS`, naming the last thing logged and the time since the job started,
so no job is silent for longer (some steps, e.g. DuckDB scoring pairs inside splink, cannot
report their own progress). A loop of known length reports what is done and what is left
through :class:`Progress`; a job made of a few long single calls declares them as
:class:`Phases`, so its log lines and the heartbeat say which phase of how many is under way.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pbr.errors import PipelineError

__all__ = [
    "HEARTBEAT_SECONDS",
    "Heartbeat",
    "Phases",
    "PipelineError",
    "Progress",
    "configure",
    "current_phase",
    "logged",
]

#: a job that logged nothing for this long logs that it is still working
HEARTBEAT_SECONDS = 10.0


class Heartbeat(logging.Handler):
    """Logs ``<step>: still working, <N> s in; last: <message>`` on ``log`` whenever no record
    reached the root logger for ``every`` seconds (default :data:`HEARTBEAT_SECONDS`), from a
    daemon thread, until :meth:`stop`.

    Installed on the root logger (it sees every record, its own included), so a job that logs
    steadily never hears from it.
    """

    def __init__(self, log: logging.Logger, step: str, every: float | None = None):
        super().__init__(level=logging.DEBUG)
        self.log, self.step = log, step
        self.every = HEARTBEAT_SECONDS if every is None else every
        self.started = self.last = time.monotonic()
        self.last_message = "started"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{step}", daemon=True)

    def emit(self, record: logging.LogRecord) -> None:
        self.last = time.monotonic()
        if not record.getMessage().startswith(f"{self.step}: still working"):
            self.last_message = record.getMessage().splitlines()[0][:160]

    def start(self) -> Heartbeat:
        logging.getLogger().addHandler(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        logging.getLogger().removeHandler(self)

    def _beat(self) -> None:
        while not self._stop.wait(min(1.0, self.every / 4)):
            now = time.monotonic()
            if now - self.last >= self.every:
                self.log.info("%s", self.message(now))

    def message(self, now: float) -> str:
        """The heartbeat's line at ``now``: the time since the job started, the phase under way
        (:func:`current_phase`, when one is) and the last thing logged."""
        phase = current_phase()
        under_way = f"; {phase.status()}" if phase else ""
        return (
            f"{self.step}: still working, {now - self.started:.0f} s in{under_way}; last: {self.last_message}"
        )


class Progress:
    """Progress of a loop of ``total`` steps: :meth:`step` logs ``<what>: <i> of <total> done,
    about <s> s left`` (the time left extrapolated from the rate so far) when ``every`` seconds
    (default :data:`HEARTBEAT_SECONDS`) passed since the last line, and always at the last step."""

    def __init__(
        self, log: logging.Logger, what: str, total: int, every: float | None = None, clock=time.monotonic
    ):
        self.log, self.what, self.total = log, what, int(total)
        self.every = HEARTBEAT_SECONDS if every is None else every
        self.clock = clock
        self.started = self.last = clock()

    def step(self, done: int) -> None:
        """Record that ``done`` of the ``total`` steps are done (logging as the class says)."""
        now = self.clock()
        if done < self.total and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.started
        left = elapsed / done * (self.total - done) if done else float("nan")
        self.log.info("%s: %d of %d done, about %.0f s left", self.what, done, self.total, left)


class Phases:
    """A job's ``total`` phases, each a single call that cannot report its own progress (splink's EM
    training, a DuckDB query). ``with phases.phase(name):`` logs ``<what>: phase <i> of <total>
    (<name>) started`` and ``... done in <s> s``; while it runs, the heartbeat names it
    (:meth:`status`: ``phase 2 of 4 (EM training for dob), 45 s in``), and a call that does say
    how far it got (splink's EM iterations, :mod:`pbr.link.messages`) adds it with :meth:`note`."""

    def __init__(self, log: logging.Logger, what: str, total: int, clock=time.monotonic):
        self.log, self.what, self.total, self.clock = log, what, int(total), clock
        self.number, self.name, self.detail = 0, "", ""
        self.started = clock()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[Phases]:
        """Run the next phase, ``name``, as the one under way (:func:`current_phase`)."""
        global _current
        self.number, self.name, self.detail = self.number + 1, name, ""
        self.started = self.clock()
        self.log.info("%s: %s started", self.what, self.label())
        outer, _current = _current, self
        try:
            yield self
        finally:
            _current = outer
        self.log.info("%s: %s done in %.0f s", self.what, self.label(), self.clock() - self.started)

    def label(self) -> str:
        """``phase <i> of <total> (<name>)``."""
        return f"phase {self.number} of {self.total} ({self.name})"

    def status(self) -> str:
        """The phase under way, the seconds since it started and, when noted, how far it got."""
        detail = f", {self.detail}" if self.detail else ""
        return f"{self.label()}, {self.clock() - self.started:.0f} s in{detail}"

    def note(self, detail: str) -> None:
        """Record how far the phase got (shown by :meth:`status`; not logged here)."""
        self.detail = detail


#: the phase under way in this process (a job is one process), named by the heartbeat
_current: Phases | None = None


def current_phase() -> Phases | None:
    """The :class:`Phases` whose phase is under way, if any."""
    return _current


def configure(log_file: str | Path | None, level: int = logging.INFO) -> None:
    """Send log records to ``log_file`` (if given) and to stderr, with elapsed time stamps."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w"))
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    for noisy in ("matplotlib", "PIL", "fontTools"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextlib.contextmanager
def logged(log_file: str | Path | None, step: str) -> Iterator[logging.Logger]:
    """Run a script body with logging set up; known errors exit 1 with their message only."""
    configure(log_file)
    log = logging.getLogger(f"pbr.{step}")
    started = time.perf_counter()
    log.info("%s: started", step)
    heartbeat = Heartbeat(log, step).start()
    try:
        try:
            yield log
        finally:
            heartbeat.stop()
    except PipelineError as exc:
        log.error("%s failed:\n%s", step, exc)
        sys.exit(1)
    except Exception:
        log.exception("%s failed with an unexpected error (a bug: please report it with this log)", step)
        raise
    log.info("%s: done in %.1f s, peak memory %.0f MiB", step, time.perf_counter() - started, peak_rss_mib())


def peak_rss_mib() -> float:
    """This process's peak resident memory so far (MiB), as the kernel counts it (``getrusage``):
    exact, where a sampler (Snakemake's benchmark looks every 30 s after the first 15 s) can miss
    a short peak."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes on macOS, KiB on Linux
