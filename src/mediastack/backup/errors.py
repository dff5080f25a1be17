"""The one error type of the backup package: what went wrong, and what the user can do."""

from __future__ import annotations


class BackupError(Exception):
    """A backup, verification, pruning or restore could not be done.

    ``message`` says what happened (naming the file or folder involved); ``fix`` says what to
    do about it. Whatever raised it has already removed its own temporary files and left every
    older archive untouched.
    """

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __reduce__(self) -> tuple[type[BackupError], tuple[str, str | None]]:
        # Raised in the worker processes that build the archive and sent back pickled: keep
        # the fix too (by default only the constructor's first argument would travel).
        return type(self), (self.message, self.fix)


class BackupBusyError(BackupError):
    """Another backup, prune or restore holds the backups folder's lock."""
