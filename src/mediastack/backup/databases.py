"""SQLite databases: how they are recognised, copied consistently and checked.

A database is recognised by its 16-byte header ``SQLite format 3\\0``, never by its name (Plex
names its databases ``*.db``, Sonarr ``sonarr.db``, others use no extension at all). A main
database file is always a whole number of pages (a power of two from 512), so only files of
such a size are opened to read their header; an empty file with a ``-wal`` beside it is a
database in WAL mode that has not been checkpointed yet.

A copy is taken through SQLite's online backup API in one step: one read transaction, so the
copy is the database as of one commit, while the app keeps writing (in WAL mode a reader never
blocks a writer). Its ``-wal``/``-shm`` files are never copied raw.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
MINIMUM_PAGE_SIZE = 512
BUSY_TIMEOUT_SECONDS = 60.0
_INTEGRITY_ROWS = 20


def may_be_database(size: int) -> bool:
    """Given a file's size, return True when it can be a database with content: at least one
    page, and a whole number of pages."""
    return size >= MINIMUM_PAGE_SIZE and size % MINIMUM_PAGE_SIZE == 0


def has_sqlite_header(data: bytes) -> bool:
    """Given the first bytes of a file, return True when they are SQLite's header."""
    return data.startswith(SQLITE_MAGIC)


def is_database(path: str, size: int) -> bool:
    """Given a file and its size (from the directory walk), return True when it is an SQLite
    database: its header says so, or it is empty with a ``-wal`` file beside it. A file that
    cannot be read is not one (reading it later reports the error)."""
    if size == 0:
        return os.path.isfile(f"{path}-wal")
    if not may_be_database(size):
        return False
    try:
        with open(path, "rb") as handle:
            return has_sqlite_header(handle.read(len(SQLITE_MAGIC)))
    except OSError:
        return False


def snapshot(source: Path, destination: Path) -> None:
    """Copy the database at ``source`` to a new file ``destination`` through the online backup
    API, consistent as of one commit while other processes write. The source is opened as the
    app opens it (read-only connections leave empty ``-wal``/``-shm`` files behind), with
    writes refused (``query_only``). Raise sqlite3.Error when SQLite cannot read it (busy
    beyond the timeout, malformed), OSError when the copy cannot be written."""
    reader = sqlite3.connect(source, timeout=BUSY_TIMEOUT_SECONDS)
    try:
        reader.execute("PRAGMA query_only=ON")
        writer = sqlite3.connect(destination)
        try:
            writer.execute("PRAGMA journal_mode=OFF")
            writer.execute("PRAGMA synchronous=OFF")
            reader.backup(writer, pages=-1)
        finally:
            writer.close()
    finally:
        reader.close()
    _remove_companions(destination)


def _remove_companions(database: Path) -> None:
    for suffix in ("-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(database.with_name(database.name + suffix))


def integrity_problems(path: Path) -> list[str]:
    """Run ``PRAGMA integrity_check`` on the database copy at ``path``; return its complaints
    (empty when it says ok). A file SQLite cannot open at all is one complaint."""
    try:
        connection = sqlite3.connect(path)
        try:
            rows = connection.execute(f"PRAGMA integrity_check({_INTEGRITY_ROWS})").fetchall()
        finally:
            connection.close()
    except sqlite3.Error as error:
        return [f"SQLite cannot read it: {error}"]
    finally:
        _remove_companions(path)
    messages = [str(row[0]) for row in rows]
    return [] if messages == ["ok"] else messages
