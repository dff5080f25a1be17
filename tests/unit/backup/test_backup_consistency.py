"""The point of it all: a database the app writes to during the backup comes back whole.

A separate writer process commits continuously to a WAL-mode database (a few rows a
transaction, checkpoints running as SQLite decides) for the whole backup. The database
restored from the archive passes ``PRAGMA integrity_check`` and holds every row committed
before the backup started, with no gaps: a consistent state as of one commit.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from backup_support import Lab, make_lab, write
from restore_support import FakeControl

from mediastack.backup import run_backup
from mediastack.backup.databases import integrity_problems
from mediastack.backup.restore import restore_backup

WRITER = r"""
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
connection.execute("PRAGMA journal_mode=WAL")
payload = "x" * 900
print("ready", flush=True)
while True:
    connection.execute("BEGIN IMMEDIATE")
    for _ in range(5):
        connection.execute("INSERT INTO events (payload) VALUES (?)", (payload,))
    connection.execute("COMMIT")
"""


def committed_rows(database: Path) -> int:
    connection = sqlite3.connect(database, timeout=30)
    try:
        return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])
    finally:
        connection.close()


def prepare(lab: Lab) -> Path:
    """A sonarr database of about 40 MB in WAL mode, plus enough other files that the
    backup takes a while."""
    database = lab.config / "sonarr" / "sonarr.db"
    database.parent.mkdir(parents=True)
    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT)")
    connection.executemany(
        "INSERT INTO events (payload) VALUES (?)", [("y" * 900,)] * 40_000
    )
    connection.commit()
    connection.close()
    for number in range(2000):
        write(lab.config / "sonarr" / "MediaCover" / f"{number}.xml", f"<x>{number}</x>" * 50)
    return database


def test_a_database_written_during_the_backup_restores_whole(tmp_path: Path) -> None:
    lab = make_lab(tmp_path / "homelab", populated=False)
    database = prepare(lab)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(database)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        before = committed_rows(database)
        result = run_backup(lab.loaded)
        after = committed_rows(database)
    finally:
        writer.kill()
        writer.wait()
    assert after > before, "the writer must have committed during the backup"
    assert result.verified
    (database.parent).rename(tmp_path / "sonarr-live")  # the app folder is lost
    restore_backup(lab.loaded, result.archive.name, control=FakeControl())
    assert integrity_problems(database) == []
    connection = sqlite3.connect(database)
    count, highest = connection.execute("SELECT count(*), max(id) FROM events").fetchone()
    connection.close()
    assert count >= before, "every row committed before the backup started is there"
    assert count == highest, "no gaps: one consistent state"
    assert not database.with_name("sonarr.db-wal").exists()
