"""The supervisor's heartbeat: proof, for its healthcheck, that the loop turns and the event
stream is connected.

The daemon's loop writes a small file next to the state file (``<state file>.heartbeat``):
every ``HEARTBEAT_INTERVAL`` while idle (``next_wakeup`` makes the loop turn), and at once when
the event stream connects or is lost. Its first line is the moment, in Unix seconds, until
which the supervisor counts as healthy should no other beat come; the rest says why, for
people and for ``mediastack supervise --check``:

    1767268845
    loop_turned_at=2026-01-01T12:00:00+00:00
    stream=connected
    stream_since=2026-01-01T11:58:00+00:00

So the container's healthcheck is one line of POSIX sh (``shell_probe``: the shell's ``read``
and one ``date``), with no Python interpreter started every 30 s (that cost ~0.4 s of CPU a
probe, more than the whole idle daemon). The decision is pure (``healthy_until``, ``assess``);
``HeartbeatFile`` is the thin adapter that writes it.
"""

from __future__ import annotations

import logging
import os
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

logger = logging.getLogger("mediastack.supervisor")

HEARTBEAT_INTERVAL = timedelta(seconds=15)
"""How often an idle loop turns and writes the heartbeat. Docker probes every 30 s: a beat
every 15 s keeps the file fresh for every probe, and costs one small file write (no engine
call, no fsync), about nothing next to the 30 s probe interval."""
STALE_AFTER = 3 * HEARTBEAT_INTERVAL
"""A heartbeat older than this means the loop is not turning (wedged in a step, or dead):
three missed beats, so a loop busy with one slow step (a bounded engine read) is not taken
for a wedged one."""
STREAM_LOST_GRACE = timedelta(seconds=120)
"""How long the event stream may be down before the supervisor counts as unhealthy: the
stream's reconnect backoff reaches 30 s (``event_stream.RECONNECT_BACKOFF``), so this leaves
room for four attempts at the longest wait; a reconnect in progress is not a failure yet."""


@dataclass(frozen=True)
class Beat:
    """What one heartbeat says: when the loop last turned, and whether the event stream is
    connected (``stream_connected``) or not since ``stream_since``."""

    loop_turned_at: datetime
    stream_connected: bool
    stream_since: datetime


@dataclass(frozen=True)
class Verdict:
    """The healthcheck's answer, with a sentence saying why."""

    healthy: bool
    reason: str


# -- the decision (pure) ------------------------------------------------------------------


def healthy_until(beat: Beat) -> datetime:
    """Return the moment after which ``beat`` no longer proves a healthy supervisor: the loop
    is stale ``STALE_AFTER`` after its last turn, and a lost stream is unhealthy
    ``STREAM_LOST_GRACE`` after it was lost."""
    until = beat.loop_turned_at + STALE_AFTER
    if not beat.stream_connected:
        until = min(until, beat.stream_since + STREAM_LOST_GRACE)
    return until


def assess(
    beat: Beat | None, now: datetime, running: bool | None = None, *, ages: bool = True
) -> Verdict:
    """Given the heartbeat read (None: there is none), the time, and whether a supervisor
    holds the state file's lock (None: cannot be told), return whether it is healthy and why.
    ``ages`` False leaves "(N s ago)" out of the reason: the status page's live stream sends
    a section only when it changed, and an age changes at every look."""
    if running is False:
        last = f" (last heartbeat {_moment(beat.loop_turned_at, now, ages)})" if beat else ""
        return Verdict(False, f"no supervisor is running{last}")
    if beat is None:
        return Verdict(False, "no heartbeat: the supervisor is not running")
    turned = _moment(beat.loop_turned_at, now, ages)
    if now >= beat.loop_turned_at + STALE_AFTER:
        return Verdict(False, f"the loop is not turning: its last turn was {turned}")
    stream = _describe_stream(beat, now, ages)
    if now >= healthy_until(beat):
        return Verdict(False, f"the event stream is {stream}")
    return Verdict(True, f"the loop turned {turned}; the event stream is {stream}")


def _describe_stream(beat: Beat, now: datetime, ages: bool) -> str:
    state = "connected" if beat.stream_connected else "not connected"
    return f"{state} since {_moment(beat.stream_since, now, ages)}"


def _moment(moment: datetime, now: datetime, ages: bool) -> str:
    text = f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if not ages:
        return text
    seconds = max(0, int((now - moment).total_seconds()))
    return f"{text} ({seconds} s ago)"


# -- the file -----------------------------------------------------------------------------


def heartbeat_path(state_file: Path) -> Path:
    """Return the heartbeat file that goes with ``state_file``."""
    return state_file.parent / f"{state_file.name}.heartbeat"


def format_beat(beat: Beat) -> str:
    """Return the heartbeat file's text for ``beat`` (see the module docstring)."""
    stream = "connected" if beat.stream_connected else "lost"
    return (
        f"{int(healthy_until(beat).timestamp())}\n"
        f"loop_turned_at={beat.loop_turned_at.isoformat()}\n"
        f"stream={stream}\n"
        f"stream_since={beat.stream_since.isoformat()}\n"
    )


def parse_beat(text: str) -> Beat | None:
    """Return the beat ``text`` holds, or None when it is not a heartbeat file's text."""
    fields = dict(line.split("=", 1) for line in text.splitlines()[1:] if "=" in line)
    try:
        return Beat(
            datetime.fromisoformat(fields["loop_turned_at"]),
            {"connected": True, "lost": False}[fields["stream"]],
            datetime.fromisoformat(fields["stream_since"]),
        )
    except (KeyError, ValueError):
        return None


def read_beat(path: Path) -> Beat | None:
    """Return the beat in the file at ``path``; None when there is none (or it is unreadable)."""
    try:
        return parse_beat(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None


def shell_probe(path: Path) -> str:
    """Return the POSIX sh command that exits 0 while the heartbeat at ``path`` is fresh: its
    first line, a Unix time, is still ahead of ``date +%s``. A missing or garbled file fails
    (the shell's ``read`` or ``[`` errors). Only builtins and one ``date`` run: no Python."""
    quoted = shlex.quote(str(path))
    return (
        f'read -r healthy_until < {quoted} && [ "$healthy_until" -gt "$(date +%s)" ] '
        f"|| {{ echo 'no fresh heartbeat: mediastack supervise --check says why'; exit 1; }}"
    )


# -- the daemon's side ------------------------------------------------------------------


class Heartbeat(Protocol):
    """What the daemon's loop tells its heartbeat: each turn, and the event stream's changes."""

    def loop_turned(self, now: datetime) -> None: ...

    def stream_connected(self, now: datetime) -> None: ...

    def stream_lost(self, now: datetime) -> None: ...

    def next_wakeup(self) -> datetime | None: ...


class NoHeartbeat:
    """No heartbeat (tests, and a daemon built without one): every call does nothing."""

    def loop_turned(self, now: datetime) -> None:
        """Do nothing."""

    def stream_connected(self, now: datetime) -> None:
        """Do nothing."""

    def stream_lost(self, now: datetime) -> None:
        """Do nothing."""

    def next_wakeup(self) -> datetime | None:
        """Return None: nothing to wake up for."""
        return None


NO_HEARTBEAT = NoHeartbeat()


class HeartbeatFile:
    """Writes the heartbeat to ``path``: on a loop turn when ``HEARTBEAT_INTERVAL`` has passed
    since the last write, and at once when the stream connects or is lost. Until the stream
    first connects it counts as lost since the first turn, so a supervisor that never reaches
    the engine turns unhealthy after ``STREAM_LOST_GRACE``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connected = False
        self._stream_since: datetime | None = None
        self._written_at: datetime | None = None
        self._failed = False

    def loop_turned(self, now: datetime) -> None:
        """Write the heartbeat when the last one is ``HEARTBEAT_INTERVAL`` old (or the clock
        went back past it)."""
        due = self._written_at is None or not (
            self._written_at <= now < self._written_at + HEARTBEAT_INTERVAL
        )
        if due:
            self._write(now)

    def stream_connected(self, now: datetime) -> None:
        """Record the stream as connected since ``now`` (unless it already was)."""
        if not self._connected:
            self._connected, self._stream_since = True, now
        self._write(now)

    def stream_lost(self, now: datetime) -> None:
        """Record the stream as lost since ``now``; a loss repeated while reconnecting keeps
        the first moment (each failed attempt reports one), so the grace is not reset."""
        if self._connected or self._stream_since is None:
            self._connected, self._stream_since = False, now
        self._write(now)

    def next_wakeup(self) -> datetime | None:
        """Return when the next beat is due (None before the first)."""
        return None if self._written_at is None else self._written_at + HEARTBEAT_INTERVAL

    def _write(self, now: datetime) -> None:
        """Replace the file atomically (a probe never reads half a beat); no fsync: after a
        crash of the host a lost beat only makes the check fail until the next one."""
        self._written_at = now
        since = self._stream_since or now
        self._stream_since = since
        text = format_beat(Beat(now, self._connected, since))
        partial = self._path.with_name(f"{self._path.name}.partial")
        try:
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, self._path)
        except OSError as error:
            if not self._failed:  # once, not every 15 s: the state file's folder is broken
                logger.error("cannot write the heartbeat %s: %s", self._path, error)
            self._failed = True
            return
        self._failed = False
