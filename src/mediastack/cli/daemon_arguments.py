"""Recognising a plain ``mediastack [-c PATH] supervise [--once] [--state-file PATH] [-v]``.

The supervisor daemon runs for months, so it starts without typer and rich (about 6 MB of
resident memory it would otherwise keep; issue 3's budget is 45 MB). The console script
therefore looks at its arguments before importing the typer app: only this exact grammar
takes the lean path; anything else (``--help``, ``--check``, ``--resume``, an unknown or
malformed option, another command) goes to the typer app, so help and error messages stay
typer's own. Pure: arguments and environment in, a request or None out. Standard library
only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

COMMAND = "supervise"
CONFIG_OPTIONS = ("-c", "--config")
STATE_FILE_OPTION = "--state-file"
ONCE_OPTION = "--once"
VERBOSE_OPTIONS = ("-v", "--verbose")
# The same names as ``mediastack.config`` (importing it here would load pydantic for every
# command, even ``--help``); a unit test keeps them equal.
CONFIG_ENVIRONMENT_VARIABLE = "MEDIASTACK_CONFIG"
DEFAULT_CONFIG_NAME = "mediastack.yaml"


@dataclass(frozen=True)
class DaemonRequest:
    """What ``mediastack supervise`` (the daemon, not ``--check``/``--resume``) was asked."""

    config_path: Path
    state_file: Path | None = None
    once: bool = False
    verbose: bool = False


class _Declined(Exception):
    """The arguments are not the lean grammar: the typer app handles them."""


def daemon_request(
    arguments: Sequence[str], environment: Mapping[str, str]
) -> DaemonRequest | None:
    """Given the command-line arguments (without the program name) and the environment,
    return the daemon request they make, or None when the typer app must handle them."""
    try:
        config, rest = _global_options(list(arguments))
        if not rest or rest[0] != COMMAND:
            return None
        request = _supervise_options(rest[1:])
    except _Declined:
        return None
    # As click reads ``envvar``: an empty variable counts as unset.
    chosen = config or environment.get(CONFIG_ENVIRONMENT_VARIABLE) or DEFAULT_CONFIG_NAME
    return DaemonRequest(Path(chosen), request.state_file, request.once, request.verbose)


def _global_options(arguments: list[str]) -> tuple[str | None, list[str]]:
    """Return the ``-c/--config`` value (the last one wins, as in click) and what follows."""
    config = None
    while arguments and arguments[0].startswith("-"):
        option = arguments.pop(0)
        if option in CONFIG_OPTIONS:
            config = _value(arguments)
        elif option.startswith("--config="):
            config = _checked(option.removeprefix("--config="))
        else:
            raise _Declined
    return config, arguments


def _supervise_options(arguments: list[str]) -> DaemonRequest:
    state_file: Path | None = None
    once = verbose = False
    while arguments:
        option = arguments.pop(0)
        if option == ONCE_OPTION:
            once = True
        elif option in VERBOSE_OPTIONS:
            verbose = True
        elif option == STATE_FILE_OPTION:
            state_file = Path(_value(arguments))
        elif option.startswith(f"{STATE_FILE_OPTION}="):
            state_file = Path(_checked(option.removeprefix(f"{STATE_FILE_OPTION}=")))
        else:
            raise _Declined
    return DaemonRequest(Path(DEFAULT_CONFIG_NAME), state_file, once, verbose)


def _value(arguments: list[str]) -> str:
    if not arguments:
        raise _Declined
    return _checked(arguments.pop(0))


def _checked(value: str) -> str:
    """Leave empty values and values looking like options to click's own rules."""
    if not value or value.startswith("-"):
        raise _Declined
    return value
