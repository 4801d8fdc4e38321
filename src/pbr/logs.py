"""Logging for workflow scripts: progress to the rule's log file and the terminal.

:func:`logged` wraps a script's body: it configures logging, and turns the pipeline's
own errors (bad input, bad config, missing key) into one clear message with no
traceback, so the user reads what went wrong and what to do next.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pbr.errors import PipelineError

__all__ = ["PipelineError", "configure", "logged"]


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
    try:
        yield log
    except PipelineError as exc:
        log.error("%s failed:\n%s", step, exc)
        sys.exit(1)
    except Exception:
        log.exception("%s failed with an unexpected error (a bug: please report it with this log)", step)
        raise
    log.info("%s: done in %.1f s", step, time.perf_counter() - started)
