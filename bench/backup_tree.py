"""Generate an appdata tree shaped like a real homelab's config folder, for the backup benchmark.

A Plex-like ``Library/Application Support/Plex Media Server`` with a metadata tree of many small
files (XML, small images) in ``.bundle`` folders, its regenerable junk (Cache, Logs, Crash
Reports: excluded), and its two databases in WAL mode; the *arr apps with their databases,
MediaCover images, ``logs/``, ``logs.db`` and ``Backups/`` (excluded). Deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path

PLEX_ROOT = "plex/Library/Application Support/Plex Media Server"
# (app, database path inside its folder, share of the database bytes)
DATABASES = (
    ("plex", "Library/Application Support/Plex Media Server/Plug-in Support/Databases/"
     "com.plexapp.plugins.library.db", 0.55),
    ("plex", "Library/Application Support/Plex Media Server/Plug-in Support/Databases/"
     "com.plexapp.plugins.library.blobs.db", 0.15),
    ("sonarr", "sonarr.db", 0.12),
    ("radarr", "radarr.db", 0.12),
    ("prowlarr", "prowlarr.db", 0.03),
    ("bazarr", "db/bazarr.db", 0.03),
)
WORDS = (
    "the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on",
    "are", "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had",
    "by", "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said",
    "there", "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up",
    "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make",
    "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number",
    "no", "way", "could",
)


@dataclass(frozen=True)
class TreeShape:
    """How big a tree to make: small files and database megabytes."""

    files: int = 100_000
    database_megabytes: int = 300
    seed: int = 1


def corpus(generator: random.Random, size: int = 1 << 20) -> str:
    """Return ``size`` characters of random words to cut text from."""
    return " ".join(generator.choice(WORDS) for _ in range(size // 4))[:size]


_CORPUS = corpus(random.Random(0))


def text(generator: random.Random, size: int) -> bytes:
    """Return about ``size`` bytes of XML-ish text (compresses like real metadata)."""
    start = generator.randrange(0, len(_CORPUS) - size - 1) if size < len(_CORPUS) // 2 else 0
    body = _CORPUS[start : start + size]
    document = f'<MediaContainer title="{body[:40]}">{body}</MediaContainer>\n'
    return ('<?xml version="1.0"?>\n' + document).encode()


def image(generator: random.Random, size: int) -> bytes:
    """Return ``size`` bytes that do not compress (like JPEG data)."""
    return generator.randbytes(size)


def write_plex_metadata(config: Path, shape: TreeShape, generator: random.Random) -> None:
    """Write ``shape.files`` small files into Plex-like ``.bundle`` folders (about 10 a bundle)."""
    metadata = config / PLEX_ROOT / "Metadata"
    for index in range(0, shape.files, 10):
        digest = hashlib.sha1(f"{shape.seed}-{index}".encode()).hexdigest()
        section = ("Movies", "TV Shows", "Artists")[index % 3]
        bundle = metadata / section / digest[0] / f"{digest[1:]}.bundle" / "Contents"
        for agent in ("_combined", "com.plexapp.agents.imdb", "tv.plex.agents.movie"):
            (bundle / agent / "posters").mkdir(parents=True, exist_ok=True)
        for number in range(min(10, shape.files - index)):
            agent = ("_combined", "com.plexapp.agents.imdb", "tv.plex.agents.movie")[number % 3]
            if number % 4 == 3:
                size = int(generator.lognormvariate(9.5, 0.7))  # posters: ~13 KB median
                (bundle / agent / "posters" / f"{digest[:8]}{number}").write_bytes(
                    image(generator, size)
                )
            else:
                size = int(generator.lognormvariate(7.5, 0.8))  # Info.xml: ~1.8 KB median
                (bundle / agent / f"Info{number}.xml").write_bytes(text(generator, size))


def write_junk(config: Path, generator: random.Random) -> None:
    """Write the regenerable folders the backup leaves out (so excluding them is measured)."""
    for folder in ("Cache/PhotoTranscoder", "Logs", "Crash Reports", "Updates", "Diagnostics"):
        target = config / PLEX_ROOT / folder
        target.mkdir(parents=True, exist_ok=True)
        for number in range(200):
            (target / f"junk{number}.bin").write_bytes(image(generator, 20_000))
    for app in ("sonarr", "radarr", "prowlarr"):
        for folder in ("logs", "Backups/scheduled"):
            (config / app / folder).mkdir(parents=True, exist_ok=True)
            for number in range(20):
                (config / app / folder / f"{app}.{number}.txt").write_bytes(text(generator, 50_000))
        (config / app / "config.xml").write_bytes(text(generator, 600))
        covers = config / app / "MediaCover"
        for number in range(300):
            (covers / str(number)).mkdir(parents=True, exist_ok=True)
            (covers / str(number) / "poster.jpg").write_bytes(image(generator, 30_000))


def write_database(path: Path, megabytes: float, generator: random.Random) -> sqlite3.Connection:
    """Create a WAL-mode database of about ``megabytes`` MB; leave about a tenth of it in the
    ``-wal`` file uncheckpointed, and return the connection that keeps it so (close it after
    the benchmark, as an app that is still running would not)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA wal_autocheckpoint=0")
    connection.execute(
        "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, title TEXT, summary TEXT, "
        "guid TEXT, added INTEGER)"
    )
    rows = max(1, int(megabytes * 1024 * 1024 / 1100))
    _insert(connection, generator, rows - rows // 10)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _insert(connection, generator, rows // 10)
    return connection


def _insert(connection: sqlite3.Connection, generator: random.Random, rows: int) -> None:
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO items (title, summary, guid, added) VALUES (?, ?, ?, ?)",
        (
            (
                text(generator, 60).decode(),
                text(generator, 800).decode(),
                generator.randbytes(16).hex(),
                generator.randrange(1_600_000_000, 1_800_000_000),
            )
            for _ in range(rows)
        ),
    )
    connection.execute("COMMIT")


def write_junk_databases(config: Path) -> None:
    """Write the *arr apps' logs.db (left out by the backup)."""
    for app in ("sonarr", "radarr", "prowlarr"):
        connection = sqlite3.connect(config / app / "logs.db")
        connection.execute("CREATE TABLE IF NOT EXISTS logs (message TEXT)")
        connection.executemany("INSERT INTO logs VALUES (?)", [("x" * 200,)] * 5000)
        connection.commit()
        connection.close()


def generate(root: Path, shape: TreeShape) -> list[sqlite3.Connection]:
    """Write a homelab under ``root`` (mediastack.yaml, .env, config/, backups/); return the
    open database connections that hold their WAL files (close them when done)."""
    generator = random.Random(shape.seed)
    config = root / "config"
    (root / "backups").mkdir(parents=True, exist_ok=True)
    (root / "mediastack.yaml").write_text("name: bench\n")
    (root / ".env").write_text("WIREGUARD_PRIVATE_KEY=bench\n")
    os.chmod(root / ".env", 0o600)
    write_plex_metadata(config, shape, generator)
    write_junk(config, generator)
    write_junk_databases(config)
    return [
        write_database(config / app / relative, shape.database_megabytes * share, generator)
        for app, relative, share in DATABASES
    ]
