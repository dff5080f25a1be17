"""One backup, prune or restore at a time per backups folder (the supervisor's scheduled
backup and a user's command may meet): an advisory ``flock`` on a lock file in it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mediastack.backup.errors import BackupBusyError, BackupError
from mediastack.backup.naming import LOCK_NAME


@contextmanager
def backups_lock(folder: Path) -> Iterator[None]:
    """Create ``folder`` when missing (mode 0700), hold its lock while the block runs. Raise
    BackupBusyError when another process holds it, BackupError when the folder cannot be
    created or written."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as error:
        raise BackupError(
            f"cannot use the backups folder {folder}: {error.strerror or error}",
            "check folders.backups in mediastack.yaml and that the folder is writable",
        ) from None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupBusyError(
                f"another backup, prune or restore is running on {folder}",
                "wait for it to finish (the supervisor's scheduled backup, or another "
                "command), then try again",
            ) from None
        yield
    finally:
        os.close(descriptor)
