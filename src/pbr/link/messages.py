"""splink's log messages, in the pipeline's words (docs/linkage.md, "Messages from splink").

splink 5.0.0 logs through its own loggers, which reach the job's log and the terminal. Three of
its warnings appear on the pipeline's runs (seen in the tiny and scale-0.05 runs' logs; none at
scale 1.0), each replaced by something a user can act on:

- ``[EM sampling] Probe returned zero blocked pairs; skipping sampling``: an EM session's block
  is small enough that splink's probe for ``em_max_pairs`` found no pair; the session then uses
  every pair, as intended. Dropped.
- ``Level <level> on comparison <comparison> not observed in dataset, unable to train m value``:
  logged per EM session, so a level another session trains is named too. Dropped; instead
  :func:`untrained_message`, logged once by training and once by prediction, names the levels
  the finished model holds no m or u for.
- ``You have called predict(), but there are some parameter estimates which have neither been
  estimated or specified ...``: the same fact, per comparison. Dropped likewise.

Dropped messages are logged at DEBUG on this module's logger. Messages not listed pass
unchanged, except EM's progress: splink logs each EM iteration at INFO (``Iteration 3: Largest
change in params was ...``), which the pipeline keeps (:func:`install` lets that one logger log
at INFO; the linker holds splink's others at WARNING) as ``EM iteration 3 of at most 25: largest
change in params was ...``, noted on the phase under way (:class:`pbr.logs.Phases`) so that the
heartbeat says how far EM got; its empty separator line is dropped. :func:`install` attaches the
filter to the loggers that log them (a logger's filters see only its own records, not its
children's).
"""

from __future__ import annotations

import logging
import re

from pbr.logs import current_phase

#: splink loggers whose records :class:`SplinkMessages` filters
SPLINK_LOGGERS = (
    "splink.internals.em_sampling",
    "splink.internals.expectation_maximisation",
    "splink.internals.linker",
)

#: where the messages are explained
DOCS = "docs/linkage.md, 'Messages from splink'"

#: substrings of the splink messages the pipeline drops (see the module docstring)
DROPPED = (
    "[EM sampling] Probe returned zero blocked pairs",
    "not observed in dataset, unable to train",
    "You have called predict(), but there are some parameter estimates",
)


#: the splink logger of EM's iterations, let through at INFO
EM_LOGGER = "splink.internals.expectation_maximisation"
#: splink's most EM iterations per session (its default, which the pipeline keeps)
EM_MAX_ITERATIONS = 25
_ITERATION = re.compile(r"^Iteration (\d+): (.*)$", re.DOTALL)


def dropped(message: str) -> bool:
    """Whether the pipeline drops this splink log message (EM's empty separator line too)."""
    return not message.strip() or any(words in message for words in DROPPED)


def em_iteration(message: str) -> tuple[str, str] | None:
    """(``EM iteration <i> of at most <max>``, the rest) of splink's EM iteration message; None
    for any other message."""
    found = _ITERATION.match(message.strip())
    if not found:
        return None
    rest = found.group(2)
    return f"EM iteration {found.group(1)} of at most {EM_MAX_ITERATIONS}", rest[:1].lower() + rest[1:]


class SplinkMessages(logging.Filter):
    """Drops the splink records :func:`dropped` names (logging them at DEBUG here); rewrites EM's
    iteration messages (:func:`em_iteration`) and notes them on the phase under way."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if dropped(message):
            logging.getLogger(__name__).debug("splink: %s", " ".join(message.split()))
            return False
        iteration = em_iteration(message)
        if iteration:
            record.msg, record.args = "%s: %s", iteration
            phase = current_phase()
            if phase:
                phase.note(iteration[0])
        else:
            record.msg, record.args = message.strip(), None
        return True


def install() -> None:
    """Attach :class:`SplinkMessages` to splink's loggers (once), and let EM's logger log its
    iterations (INFO)."""
    for name in SPLINK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, SplinkMessages) for f in logger.filters):
            logger.addFilter(SplinkMessages())
    logging.getLogger(EM_LOGGER).setLevel(logging.INFO)


def untrained_levels(model: dict) -> list[tuple[str, str, str]]:
    """(comparison, level, 'm' / 'u' / 'm and u') of every non-null level of a trained splink
    model (its JSON as a dict) that holds no m- or u-probability: no training pair fell in it."""
    out = []
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            missing = [p for p in ("m", "u") if level.get(f"{p}_probability") is None]
            if missing:
                out.append(
                    (comparison["output_column_name"], level["label_for_charts"], " and ".join(missing))
                )
    return out


def untrained_message(model: dict) -> str | None:
    """One line naming :func:`untrained_levels` and what follows from them; None when there are none."""
    levels = untrained_levels(model)
    if not levels:
        return None
    named = "; ".join(f"{c}: '{lvl}' ({p})" for c, lvl, p in levels)
    return (
        f"linkage model: no training pair fell in {len(levels)} comparison level(s), so pairs in them "
        f"are scored with splink's default probabilities, not estimated ones: {named}. Usual on small "
        f"extracts; on a large one it means a level the data never show ({DOCS})"
    )
