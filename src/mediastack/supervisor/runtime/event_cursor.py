"""Where the event stream is up to, in the engine's clock, so a reconnect can resume there.

Docker replays the events it still holds (in memory, the last 256 on engine 20.10) from
``/events?since=SECONDS.NANOSECONDS`` on, ``since`` included (measured on 20.10: an event whose
``timeNano`` equals ``since`` comes again, one a nanosecond older does not). The cursor keeps
the newest event's ``timeNano`` (or, when nothing came since the stream opened, the engine's
clock at the opening: the answer's ``Date``, to the second) and the events seen at that very
nanosecond, so what a resumed stream replays and was already forwarded is dropped, and
nothing newer is. Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NANOSECONDS = 1_000_000_000

EventKey = tuple[str, str, str]
"""(type, actor id, action): one event, among those of the same nanosecond."""


@dataclass
class EventCursor:
    """The stream's position (see the module docstring). ``position`` is None until the
    stream has opened with a known engine time or forwarded an event with a ``timeNano``."""

    position: int | None = None
    _seen_at_position: set[EventKey] = field(default_factory=set)

    def opened(self, engine_time_nano: int | None) -> None:
        """Note a stream opened at ``engine_time_nano`` (None: unknown). Everything before
        it was read in full by the engine re-read that follows a fresh (not resumed) stream,
        so the cursor only moves forward to it."""
        if engine_time_nano is not None and (
            self.position is None or engine_time_nano > self.position
        ):
            self.position = engine_time_nano
            self._seen_at_position = set()

    def admit(self, raw: Mapping[str, Any]) -> bool:
        """Given a raw event, return False when a resumed stream replays one already
        forwarded (older than the position, or the same event at it); else move the
        position to it and return True. An event without ``timeNano`` is always admitted."""
        nano = raw.get("timeNano")
        if not isinstance(nano, int):
            return True
        key = _key(raw)
        if self.position is not None and (
            nano < self.position or (nano == self.position and key in self._seen_at_position)
        ):
            return False
        if self.position is None or nano > self.position:
            self.position = nano
            self._seen_at_position = set()
        self._seen_at_position.add(key)
        return True

    def since(self) -> str | None:
        """Return the position as ``/events`` takes it (``SECONDS.NANOSECONDS``), None when
        unknown."""
        if self.position is None:
            return None
        seconds, nanoseconds = divmod(self.position, NANOSECONDS)
        return f"{seconds}.{nanoseconds:09d}"


def _key(raw: Mapping[str, Any]) -> EventKey:
    actor = raw.get("Actor")
    actor_id = actor.get("ID") if isinstance(actor, Mapping) else None
    return (str(raw.get("Type")), str(actor_id or raw.get("id")), str(raw.get("Action")))
