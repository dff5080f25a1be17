"""How long work reports how far it got: a small protocol, a silent one and a rich one."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)


class ProgressReporter(Protocol):
    """Receives progress: one phase at a time, measured in bytes."""

    def start(self, description: str, total_bytes: int) -> None:
        """A phase begins; about ``total_bytes`` will be processed (0: unknown)."""
        ...

    def advance(self, amount: int) -> None:
        """``amount`` more bytes were processed."""
        ...

    def finish(self) -> None:
        """The phase ended (successfully or not)."""
        ...


class SilentProgress:
    """Reports nothing (the supervisor, scripts, tests)."""

    def start(self, description: str, total_bytes: int) -> None:
        return None

    def advance(self, amount: int) -> None:
        return None

    def finish(self) -> None:
        return None


class RichProgress:
    """A progress bar per phase on ``console`` (stderr for commands, so JSON stays clean)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, description: str, total_bytes: int) -> None:
        self.finish()
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total_bytes or None)

    def advance(self, amount: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, amount)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._progress = None
        self._task = None
