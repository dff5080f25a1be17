"""One writing ``wire`` at a time per homelab: ``up``'s, the user's and the supervisor's may
meet (the supervisor runs one after every cascade). Two at once would both find a link
missing and both POST it; the second would be refused as a duplicate name. An advisory
``flock`` on a file in the homelab folder, which the supervisor's container mounts at the
same path, so both sides lock the same file. Waiting is bounded."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from mediastack.adapters.errors import AdapterError

LOCK_NAME = ".mediastack-wire.lock"
WAIT_STEP_SECONDS = 0.5


class WireBusyError(AdapterError):
    """Another wire kept the lock longer than we wait."""


class WireLockError(AdapterError):
    """The lock file cannot be opened (another user's, a read-only folder)."""


@contextmanager
def wire_lock(
    folder: Path, wait_seconds: float, clock: Callable[[], float] = time.monotonic
) -> Iterator[None]:
    """Hold the homelab's wire lock while the block runs; wait up to ``wait_seconds`` for it.
    Raise WireBusyError when it stays taken, WireLockError when the file cannot be opened.

    Opened read-only (``flock`` needs no more) and made readable by all: the supervisor's
    container runs as root, the user's ``wire`` as the user, and both lock the same file."""
    path = folder / LOCK_NAME
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as error:
        raise WireLockError(
            f"cannot open the wire lock {path}: {error.strerror or error}",
            f"remove {path} (it holds nothing; the next wire makes it again)",
        ) from None
    with contextlib.suppress(OSError):  # made by someone else: theirs to keep as it is
        os.fchmod(descriptor, 0o644)
    try:
        deadline = clock() + wait_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if clock() >= deadline:
                    raise WireBusyError(
                        f"another `mediastack wire` (yours, up's or the supervisor's) is still "
                        f"running on {folder} after {wait_seconds:.0f} s",
                        "wait for it to end, then run `mediastack wire` again",
                    ) from None
                time.sleep(WAIT_STEP_SECONDS)
        yield
    finally:
        os.close(descriptor)
