"""Shared helpers of the backup tests: a homelab folder with app config folders shaped like the
real ones (databases in WAL mode, logs, junk), and small file-tree tools."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tarfile
from dataclasses import dataclass
from pathlib import Path

import zstandard

from mediastack.config import LoadedConfig, load_config

PLEX_SERVER = "plex/Library/Application Support/Plex Media Server"


@dataclass(frozen=True)
class Lab:
    """A homelab root with its loaded config."""

    root: Path
    loaded: LoadedConfig

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def backups(self) -> Path:
        return self.loaded.backups_folder

    def archives(self) -> list[Path]:
        return sorted(self.backups.glob("*.tar.zst"))


def make_database(path: Path, rows: int = 100, wal: bool = True) -> None:
    """Create an SQLite database with ``rows`` rows (WAL mode unless told otherwise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    if wal:
        connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
    connection.executemany("INSERT INTO items (name) VALUES (?)", [(f"n{i}",) for i in range(rows)])
    connection.commit()
    connection.close()


def write(path: Path, content: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return path


def populate(config: Path) -> None:
    """Write sonarr, radarr and plex folders with what those apps keep, junk included."""
    for app in ("sonarr", "radarr"):
        make_database(config / app / f"{app}.db")
        make_database(config / app / "logs.db", rows=10)
        write(config / app / "config.xml", f"<Config><ApiKey>{app}</ApiKey></Config>")
        write(config / app / "logs" / f"{app}.txt", "log line\n")
        write(config / app / "Backups" / "scheduled" / "old.zip", b"zip")
        write(config / app / "MediaCover" / "1" / "poster.jpg", os.urandom(2000))
    server = config / PLEX_SERVER
    make_database(server / "Plug-in Support" / "Databases" / "com.plexapp.plugins.library.db")
    for junk in ("Cache", "Logs", "Crash Reports", "Updates", "Diagnostics"):
        write(server / junk / "junk.bin", b"junk")
    write(server / "Metadata" / "Movies" / "a" / "b.bundle" / "Contents" / "Info.xml", "<x/>")
    write(server / "Preferences.xml", "<Preferences/>")


def make_lab(root: Path, extra_yaml: str = "", populated: bool = True) -> Lab:
    """Write mediastack.yaml (instance ``home``), .env and the app folders under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "mediastack.yaml").write_text("name: home\n" + extra_yaml)
    write(root / ".env", "WIREGUARD_PRIVATE_KEY=secret\n").chmod(0o600)
    (root / "config").mkdir(exist_ok=True)
    if populated:
        populate(root / "config")
    return Lab(root, load_config(root / "mediastack.yaml"))


def tree_digest(folder: Path) -> dict[str, str]:
    """Return relative path -> sha256 (files), ``link:target`` (symlinks), ``dir`` (folders)."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[relative] = f"link:{os.readlink(path)}"
        elif path.is_dir():
            found[relative] = "dir"
        else:
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def database_rows(path: Path) -> list[tuple[int, str]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT id, name FROM items ORDER BY id").fetchall()
    finally:
        connection.close()


def members(archive: Path) -> dict[str, bytes | None]:
    """Return member name -> content (None for folders and links), via plain tarfile (the
    archive is many zstd frames, read as one stream)."""
    with (
        archive.open("rb") as raw,
        zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True) as stream,
        tarfile.open(fileobj=stream, mode="r|") as tar,
    ):
        found: dict[str, bytes | None] = {}
        for info in tar:
            handle = tar.extractfile(info) if info.isreg() else None
            found[info.name] = handle.read() if handle else None
        return found
