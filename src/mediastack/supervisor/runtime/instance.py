"""One supervisor per state file: an exclusive ``flock`` on ``<state file>.lock``.

The kernel drops the lock when the process ends, however it ends (SIGKILL included), so a
stale lock cannot outlive its supervisor; and a lock on a bind-mounted file is seen from every
container on the host, so ``mediastack status`` on the host can tell whether the supervisor
service is running.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO


class AlreadyRunningError(Exception):
    """Another supervisor holds the state file: two would recreate the same containers."""


def lock_path(state_file: Path) -> Path:
    """Return the lock file that goes with ``state_file``."""
    return state_file.parent / f"{state_file.name}.lock"


def lock_state_file(state_file: Path) -> IO[str]:
    """Take the exclusive lock of ``state_file`` and return the open lock file (the lock lasts
    while it stays open); raise AlreadyRunningError when another process holds it."""
    state_file.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path(state_file).open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunningError(
            f"another supervisor is running with {state_file}: two would fight over the same "
            "containers"
        ) from None
    return handle


def is_running(state_file: Path) -> bool | None:
    """Return True when a supervisor holds ``state_file``'s lock, False when none does, None
    when that cannot be told (no lock file, or it cannot be opened)."""
    try:
        handle = lock_path(state_file).open("r")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False
