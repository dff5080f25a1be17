"""Backup and restore on a real engine: a homelab with stand-ins for gluetun, sonarr, radarr
and seerr runs; their config folders (SQLite databases in WAL mode, settings, images, logs)
are backed up while they run, wiped, and restored with ``mediastack restore``, which stops
the services, swaps the folders and brings them back healthy.

The compose projects are named ``mstbackup...`` (not ``mstest...``): other test modules clean
every ``mstest*`` project when they start, and this one must not lose its stack midway.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from homelab import Homelab, make_homelab
from standins import remove_test_resources

PROJECT_PREFIX = "mstbackup"
KEPT = ("gluetun", "sonarr", "radarr", "seerr")
RESTORED = ("sonarr", "radarr", "seerr")
PORT_BASE = 29700
JUNK = ("logs/", "logs.db", "Backups/")


def configure(lab: Homelab) -> None:
    """Switch off every service but KEPT, give those private ports, render again."""
    config: dict[str, Any] = yaml.safe_load(lab.config_path.read_text())
    for index, (name, settings) in enumerate(config["services"].items()):
        if name not in KEPT:
            settings["enabled"] = False
        elif "ports" in settings:
            settings["ports"] = {port: PORT_BASE + index for port in settings["ports"]}
    lab.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    rendered = lab.run("render")
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr


def make_database(path: Path, rows: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT)")
    connection.executemany("INSERT INTO items (name) VALUES (?)", [(f"n{i}",) for i in range(rows)])
    connection.commit()
    connection.close()


def populate(config: Path) -> None:
    for number, app in enumerate(("sonarr", "radarr")):
        make_database(config / app / f"{app}.db", 500 + number)
        make_database(config / app / "logs.db", 10)
        (config / app / "config.xml").write_text(f"<Config><Port>{number}</Port></Config>")
        for folder in ("logs", "Backups", "MediaCover/7"):
            (config / app / folder).mkdir(parents=True, exist_ok=True)
        (config / app / "logs" / f"{app}.txt").write_text("log\n")
        (config / app / "Backups" / "old.zip").write_bytes(b"zip")
        (config / app / "MediaCover" / "7" / "poster.jpg").write_bytes(bytes(range(256)) * 40)
    make_database(config / "seerr" / "db" / "db.sqlite3", 42)
    (config / "seerr" / "settings.json").write_text(json.dumps({"main": {"apiKey": "k"}}))


def snapshot(config: Path) -> dict[str, str]:
    """Relative path -> content digest; databases by their rows, not bytes."""
    found: dict[str, str] = {}
    for app in RESTORED:
        for path in sorted((config / app).rglob("*")):
            relative = path.relative_to(config).as_posix()
            if path.is_dir():
                found[relative] = "dir"
            elif path.read_bytes().startswith(b"SQLite format 3\0"):
                connection = sqlite3.connect(path)
                rows = connection.execute("SELECT * FROM items ORDER BY id").fetchall()
                connection.close()
                found[relative] = hashlib.sha256(repr(rows).encode()).hexdigest()
            elif not relative.endswith(("-wal", "-shm")):
                found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def containers(prefix: str) -> dict[str, tuple[str, str]]:
    """Return service -> (container id, health status) of this homelab's containers."""
    output = subprocess.run(
        ["docker", "ps", "-a", "--no-trunc", "--format",
         '{{.Label "com.docker.compose.project"}} {{.Label "com.docker.compose.service"}} '
         "{{.ID}}"],
        capture_output=True, text=True, check=True,
    ).stdout
    found = {}
    for line in output.splitlines():
        project, service, container = line.split(" ")
        if project.startswith(f"{prefix}-"):
            state = subprocess.run(
                ["docker", "inspect", "--format", "{{.State.Health.Status}}", container],
                capture_output=True, text=True, check=True,
            ).stdout.strip()
            found[service] = (container, state)
    return found


@pytest.fixture(scope="module")
def homelab(
    tmp_path_factory: pytest.TempPathFactory, standin_images: dict[str, str]
) -> Iterator[Homelab]:
    remove_test_resources(PROJECT_PREFIX)
    lab = make_homelab(tmp_path_factory.mktemp("backup"), PROJECT_PREFIX, standin_images)
    try:
        configure(lab)
        populate(lab.loaded().config_folder)
        started = lab.run("up", timeout=420)
        assert started.returncode == 0, started.stdout + started.stderr
        yield lab
    finally:
        lab.run("down", "--remove-network", timeout=180)
        remove_test_resources(PROJECT_PREFIX)


def test_backup_wipe_restore_gives_the_same_files_and_healthy_services(homelab: Homelab) -> None:
    config = homelab.loaded().config_folder
    before = snapshot(config)
    written = homelab.run("backup", "--format", "json")
    assert written.returncode == 0, written.stdout + written.stderr
    archive = json.loads(written.stdout)["archive"]
    assert json.loads(written.stdout)["verified"]
    for app in RESTORED:
        shutil.rmtree(config / app)
    restored = homelab.run(
        "restore", archive, *[f"--only={app}" for app in RESTORED], "--format", "json",
        timeout=420,
    )
    assert restored.returncode == 0, restored.stdout + restored.stderr
    report = json.loads(restored.stdout)
    assert sorted(report["restarted"]) == sorted(RESTORED)
    assert report["kept_aside"] == []
    after = snapshot(config)
    expected = {
        path: value for path, value in before.items()
        if not any(f"/{junk}" in f"{path}/" or path.endswith(junk.rstrip("/")) for junk in JUNK)
    }
    assert after == expected
    statuses = {service: state for service, (_, state) in containers(PROJECT_PREFIX).items()}
    assert {service: statuses.get(service) for service in KEPT} == dict.fromkeys(KEPT, "healthy")


def test_a_corrupt_archive_is_refused_and_the_running_stack_is_untouched(
    homelab: Homelab,
) -> None:
    written = homelab.run("backup", "--no-prune", "--format", "json")
    assert written.returncode == 0, written.stdout + written.stderr
    archive = Path(json.loads(written.stdout)["archive"])
    corrupt = archive.with_name(archive.name.replace(".tar.zst", "-9.tar.zst"))
    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0xFF
    corrupt.write_bytes(bytes(data))
    before = containers(PROJECT_PREFIX)
    refused = homelab.run("restore", corrupt.name, "--only", "sonarr")
    assert refused.returncode == 1
    assert "refusing to restore" in refused.stderr
    assert containers(PROJECT_PREFIX) == before  # same containers, still healthy
