"""The base of every error whose message is complete for the user (what went wrong, what to do).

Each stage's own error class (bad config, bad input, a missing key, ...) derives from
:class:`PipelineError`, so :func:`pbr.logs.logged` turns any of them into one clear
message without a traceback while importing none of the stages (imports go one way:
stages import this module, never the reverse).
"""


class PipelineError(Exception):
    """Base class of errors whose message is complete for the user (no traceback needed)."""
