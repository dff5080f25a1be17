"""The supervisor's log: stderr, one line per decision, the same for the daemon and the
short-lived processes its jobs run in (their lines go to the same stream)."""

from __future__ import annotations

import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"
QUIET_LOGGERS = ("urllib3", "docker", "apprise")


def configure_logging(verbose: bool) -> None:
    """Log to stderr at INFO (DEBUG with ``verbose``); the libraries' own chatter only with
    ``verbose``."""
    level = logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
