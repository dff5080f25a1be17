"""The supervisor's state on disk: one small SQLite file (WAL), written in whole transactions.

It holds the rate-limit window and the pause, the cascade in flight (the gluetun incarnation it
targets and each dependent's progress), the gluetun ids seen (so dependents stranded while the
supervisor was down are still found), the history of finished cascades, and a resume request
left by ``mediastack supervise --resume``. ``save()`` replaces the whole snapshot and appends
the finished cascades (and their running totals) in one transaction, so a supervisor killed at
any moment reopens either the state before or the state after a decision, never a mix.
Readers that must not write (the status API, served beside the daemon) open it ``read_only``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import TracebackType

from mediastack.supervisor.actions import FinishedCascade, Gluetun, Outcome
from mediastack.supervisor.cascade import CascadeSnapshot
from mediastack.supervisor.cascade_totals import CascadeTotals, tally, totals_from_json
from mediastack.supervisor.clock import require_aware
from mediastack.supervisor.limits import LimiterState
from mediastack.supervisor.progress import (
    DependentProgress,
    DependentStatus,
    InFlightCascade,
    Phase,
)

SCHEMA_VERSION = 1
HISTORY_KEPT = 200
GLUETUN_IDS_KEPT = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cascade_window (started_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS in_flight (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    gluetun_id TEXT NOT NULL, gluetun_started_at TEXT NOT NULL, detected_at TEXT NOT NULL,
    phase TEXT NOT NULL, gluetun_deadline TEXT NOT NULL, counted INTEGER NOT NULL,
    healthy_at TEXT);
CREATE TABLE IF NOT EXISTS in_flight_dependents (
    service TEXT PRIMARY KEY, status TEXT NOT NULL, attempts INTEGER NOT NULL,
    probe_attempts INTEGER NOT NULL, due_at TEXT, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS gluetun_ids (
    container_id TEXT PRIMARY KEY, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY AUTOINCREMENT, gluetun_id TEXT NOT NULL,
    gluetun_started_at TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
    duration_seconds REAL NOT NULL, outcome TEXT NOT NULL, healed TEXT NOT NULL,
    failed TEXT NOT NULL);
"""


class StateError(Exception):
    """The state file cannot be used (newer schema, or not a mediastack state file)."""


class SupervisorStore:
    """The state file. One writing instance per process, used from one thread; read-only
    instances (each in its own thread) may sit beside it."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        """Open (creating it and its folder if needed) the state file at ``path``; raise
        StateError when it is not a SQLite file or was written by a newer mediastack.
        ``read_only`` opens an existing file without any write (not even the schema), so a
        reader beside the daemon never takes the write lock; sqlite3.Error when it is missing."""
        if read_only:
            uri = f"{path.resolve().as_uri()}?mode=ro"
            self._connection = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(path, isolation_level=None, timeout=5.0)
        try:
            if read_only:
                self._check_version()
            else:
                self._configure()
        except sqlite3.DatabaseError as error:
            self._connection.close()
            raise StateError(f"{path} is not a usable state file: {error}") from error
        except StateError:
            self._connection.close()
            raise

    def __enter__(self) -> SupervisorStore:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._connection.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold one read transaction: every read inside sees the same committed state (WAL
        gives a reader a snapshot), so a status page never shows a cascade's new limiter
        beside its old history because the daemon committed between two reads."""
        self._connection.execute("BEGIN")
        try:
            yield
        finally:
            self._connection.execute("COMMIT")

    # -- snapshot ----------------------------------------------------------------------------

    def load(self) -> CascadeSnapshot:
        """Return the saved snapshot; an empty one for a new file."""
        return CascadeSnapshot(self._load_limiter(), self._load_in_flight(), self._load_gluetun())

    def save(self, snapshot: CascadeSnapshot, finished: Sequence[FinishedCascade] = ()) -> None:
        """Replace the saved snapshot with ``snapshot`` and append ``finished`` to the history,
        all in one transaction (either all of it is on disk afterwards, or none)."""
        with self._transaction() as cursor:
            _write_limiter(cursor, snapshot.limiter)
            _write_in_flight(cursor, snapshot.in_flight)
            _write_gluetun(cursor, snapshot.gluetun)
            if finished:
                totals = _load_totals(cursor)
                for summary in finished:
                    _append_history(cursor, summary)
                    totals = totals.add(summary)
                _set_meta(cursor, "cascade_totals", json.dumps(totals.to_json()))

    # -- gluetun ids -------------------------------------------------------------------------

    def remember_gluetun(self, container_id: str, now: datetime) -> None:
        """Record that ``container_id`` was a gluetun container, seen at ``now``."""
        seen = _text(now)
        with self._transaction() as cursor:
            cursor.execute(
                "INSERT INTO gluetun_ids VALUES (?, ?, ?) "
                "ON CONFLICT(container_id) DO UPDATE SET last_seen = excluded.last_seen",
                (container_id, seen, seen),
            )
            cursor.execute(
                "DELETE FROM gluetun_ids WHERE container_id NOT IN (SELECT container_id "
                "FROM gluetun_ids ORDER BY last_seen DESC LIMIT ?)",
                (GLUETUN_IDS_KEPT,),
            )

    def known_gluetun_ids(self) -> tuple[str, ...]:
        """Return every gluetun container id remembered, most recently seen first."""
        rows = self._connection.execute(
            "SELECT container_id FROM gluetun_ids ORDER BY last_seen DESC, container_id"
        )
        return tuple(row[0] for row in rows)

    # -- dependents stopped by their user ------------------------------------------------

    def user_stopped(self) -> frozenset[str]:
        """Return the dependents their user stopped (a ``stop`` the supervisor did not make)."""
        value = _get_meta(self._connection.cursor(), "user_stopped")
        return frozenset(json.loads(value)) if value else frozenset()

    def set_user_stopped(self, services: frozenset[str]) -> None:
        """Replace the set of dependents stopped by their user."""
        with self._transaction() as cursor:
            _set_meta(cursor, "user_stopped", json.dumps(sorted(services)) if services else None)

    # -- history -----------------------------------------------------------------------------

    def history(self, limit: int = 10) -> tuple[FinishedCascade, ...]:
        """Return the last ``limit`` finished cascades, most recent first."""
        rows = self._connection.execute(
            "SELECT gluetun_id, gluetun_started_at, started_at, finished_at, outcome, healed, "
            "failed FROM history ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return tuple(_history_row(row) for row in rows)

    def cascade_totals(self) -> CascadeTotals:
        """Return the totals of every cascade finished since the file began (for an older
        file, until its next cascade: of those in its history)."""
        return _load_totals(self._connection.cursor())

    # -- resume mailbox ----------------------------------------------------------------------

    def request_resume(self, now: datetime) -> None:
        """Leave a resume request for the running supervisor (``supervise --resume``)."""
        with self._transaction() as cursor:
            _set_meta(cursor, "resume_requested_at", _text(now))

    def take_resume_request(self) -> datetime | None:
        """Return the time of a pending resume request and remove it, or None."""
        # Looked for without a write transaction first: the daemon asks every few seconds
        # while paused, and a write would fsync each time.
        if _get_meta(self._connection.cursor(), "resume_requested_at") is None:
            return None
        with self._transaction() as cursor:
            value = _get_meta(cursor, "resume_requested_at")
            cursor.execute("DELETE FROM meta WHERE key = 'resume_requested_at'")
        return _moment(value)

    # -- internals ---------------------------------------------------------------------------

    def _configure(self) -> None:
        connection = self._connection
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        self._check_version()
        with self._transaction() as cursor:
            _create_schema(cursor)
            cursor.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _check_version(self) -> None:
        self._connection.execute("PRAGMA busy_timeout=5000")
        version = self._connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StateError(f"state file schema {version} is newer than this mediastack's")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        cursor = self._connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield cursor
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def _load_limiter(self) -> LimiterState:
        rows = self._connection.execute("SELECT started_at FROM cascade_window ORDER BY started_at")
        times = tuple(require_aware(datetime.fromisoformat(row[0])) for row in rows)
        cursor = self._connection.cursor()
        pause = _moment(_get_meta(cursor, "pause_until"))
        return LimiterState(times, pause, _get_meta(cursor, "open_charge"))

    def _load_gluetun(self) -> Gluetun | None:
        cursor = self._connection.cursor()
        container_id = _get_meta(cursor, "gluetun_id")
        started_at = _moment(_get_meta(cursor, "gluetun_started_at"))
        if container_id is None or started_at is None:
            return None
        return Gluetun(container_id, started_at)

    def _load_in_flight(self) -> InFlightCascade | None:
        row = self._connection.execute(
            "SELECT gluetun_id, gluetun_started_at, detected_at, phase, gluetun_deadline, "
            "counted, healthy_at FROM in_flight"
        ).fetchone()
        if row is None:
            return None
        dependents = self._connection.execute(
            "SELECT service, status, attempts, probe_attempts, due_at, reason "
            "FROM in_flight_dependents ORDER BY service"
        )
        return InFlightCascade(
            gluetun=Gluetun(row[0], _required_moment(row[1])),
            detected_at=_required_moment(row[2]),
            phase=Phase(row[3]),
            gluetun_deadline=_required_moment(row[4]),
            counted=bool(row[5]),
            healthy_at=_moment(row[6]),
            dependents=tuple(_dependent_row(item) for item in dependents),
        )


def _create_schema(cursor: sqlite3.Cursor) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            cursor.execute(statement)


def _write_limiter(cursor: sqlite3.Cursor, limiter: LimiterState) -> None:
    cursor.execute("DELETE FROM cascade_window")
    cursor.executemany(
        "INSERT INTO cascade_window VALUES (?)", [(_text(t),) for t in limiter.cascade_times]
    )
    _set_meta(cursor, "pause_until", _optional_text(limiter.pause_until))
    _set_meta(cursor, "open_charge", limiter.open_charge)


def _write_gluetun(cursor: sqlite3.Cursor, gluetun: Gluetun | None) -> None:
    _set_meta(cursor, "gluetun_id", gluetun.container_id if gluetun else None)
    _set_meta(cursor, "gluetun_started_at", _text(gluetun.started_at) if gluetun else None)
    if gluetun is not None:
        cursor.execute(
            "INSERT OR IGNORE INTO gluetun_ids VALUES (?, ?, ?)",
            (gluetun.container_id, _text(gluetun.started_at), _text(gluetun.started_at)),
        )


def _write_in_flight(cursor: sqlite3.Cursor, cascade: InFlightCascade | None) -> None:
    cursor.execute("DELETE FROM in_flight")
    cursor.execute("DELETE FROM in_flight_dependents")
    if cascade is None:
        return
    cursor.execute(
        "INSERT INTO in_flight VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
        (
            cascade.gluetun.container_id,
            _text(cascade.gluetun.started_at),
            _text(cascade.detected_at),
            cascade.phase.value,
            _text(cascade.gluetun_deadline),
            int(cascade.counted),
            _optional_text(cascade.healthy_at),
        ),
    )
    cursor.executemany(
        "INSERT INTO in_flight_dependents VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                item.service,
                item.status.value,
                item.attempts,
                item.probe_attempts,
                _optional_text(item.due_at),
                item.reason,
            )
            for item in cascade.dependents
        ],
    )


def _append_history(cursor: sqlite3.Cursor, summary: FinishedCascade) -> None:
    cursor.execute(
        "INSERT INTO history (gluetun_id, gluetun_started_at, started_at, finished_at, "
        "duration_seconds, outcome, healed, failed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            summary.gluetun.container_id,
            _text(summary.gluetun.started_at),
            _text(summary.started_at),
            _text(summary.finished_at),
            summary.duration.total_seconds(),
            summary.outcome.value,
            json.dumps(list(summary.healed)),
            json.dumps(list(summary.failed)),
        ),
    )
    cursor.execute(
        "DELETE FROM history WHERE id NOT IN (SELECT id FROM history ORDER BY id DESC LIMIT ?)",
        (HISTORY_KEPT,),
    )


def _load_totals(cursor: sqlite3.Cursor) -> CascadeTotals:
    stored = _get_meta(cursor, "cascade_totals")
    totals = totals_from_json(json.loads(stored)) if stored else None
    if totals is not None:
        return totals
    rows = cursor.execute(
        "SELECT gluetun_id, gluetun_started_at, started_at, finished_at, outcome, healed, "
        "failed FROM history ORDER BY id"
    ).fetchall()
    return tally(_history_row(row) for row in rows)


def _history_row(row: tuple[str, str, str, str, str, str, str]) -> FinishedCascade:
    gluetun_id, gluetun_started, started, finished, outcome, healed, failed = row
    return FinishedCascade(
        gluetun=Gluetun(gluetun_id, _required_moment(gluetun_started)),
        started_at=_required_moment(started),
        finished_at=_required_moment(finished),
        outcome=Outcome(outcome),
        healed=tuple(json.loads(healed)),
        failed=tuple(json.loads(failed)),
    )


def _dependent_row(row: tuple[str, str, int, int, str | None, str]) -> DependentProgress:
    service, status, attempts, probe_attempts, due_at, reason = row
    return DependentProgress(
        service, DependentStatus(status), attempts, probe_attempts, _moment(due_at), reason
    )


def _set_meta(cursor: sqlite3.Cursor, key: str, value: str | None) -> None:
    if value is None:
        cursor.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        cursor.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))


def _get_meta(cursor: sqlite3.Cursor, key: str) -> str | None:
    row = cursor.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _text(moment: datetime) -> str:
    return require_aware(moment).isoformat()


def _optional_text(moment: datetime | None) -> str | None:
    return None if moment is None else _text(moment)


def _moment(text: str | None) -> datetime | None:
    return None if text is None else require_aware(datetime.fromisoformat(text))


def _required_moment(text: str) -> datetime:
    return require_aware(datetime.fromisoformat(text))
