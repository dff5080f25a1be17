"""``<state>.notifications.json``: notifications by result (delivered, failed, dropped), counted
across daemon restarts, for the status pages' metrics.

The notification queue tells its counts each time a message is settled
(``NotificationQueue(on_count=...)``); the recorder adds what the file held when the daemon
started and writes the sum atomically (``job_records.write_record``). A supervisor with no
notification URL sends nothing and writes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mediastack.notify.queue import QueueStatistics
from mediastack.supervisor.clock import Clock
from mediastack.supervisor.runtime.job_records import RecordRead, read_record, write_record

NOTIFICATION_RESULTS = ("delivered", "failed", "dropped")


def notifications_record_path(state_file: Path) -> Path:
    """Return the notifications record that goes with ``state_file``."""
    return state_file.parent / f"{state_file.name}.notifications.json"


@dataclass(frozen=True)
class NotificationsRecord:
    """When a message was last settled, and the counts by result since the first one."""

    updated_at: datetime
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"updated_at": self.updated_at.isoformat(), "counts": dict(self.counts)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NotificationsRecord:
        counts = dict(data["counts"])
        return cls(
            datetime.fromisoformat(str(data["updated_at"])),
            {result: int(counts.get(result, 0)) for result in NOTIFICATION_RESULTS},
        )


def read_notifications_record(path: Path) -> RecordRead[NotificationsRecord]:
    """Return the notifications record at ``path``; never raises."""
    return read_record(path, NotificationsRecord.from_json, "a notifications record")


class NotificationsRecorder:
    """The queue's ``on_count``: the counts of this process added to the file's at start."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self._path = path
        self._clock = clock
        previous = read_notifications_record(path).record
        self._base = dict(previous.counts) if previous is not None else {}
        # Told from the worker and from producers' threads (a drop): one write at a time,
        # and never an older count over a newer one.
        self._lock = threading.Lock()
        self._written = -1

    def __call__(self, statistics: QueueStatistics) -> None:
        with self._lock:
            settled = statistics.delivered + statistics.failed + statistics.dropped
            if settled <= self._written:
                return
            self._written = settled
            self._write(statistics)

    def _write(self, statistics: QueueStatistics) -> None:
        now = {
            "delivered": statistics.delivered,
            "failed": statistics.failed,
            "dropped": statistics.dropped,
        }
        counts = {result: self._base.get(result, 0) + now[result] for result in now}
        write_record(self._path, NotificationsRecord(self._clock.now(), counts).to_json())
