"""Which paths a backup leaves out: the pattern syntax, each app's junk, database companions."""

from __future__ import annotations

import pytest

from mediastack.backup.selection import (
    RESTORE_WORK_FOLDER,
    ExcludeRules,
    app_folders,
    database_companions,
    rules_for,
)


@pytest.mark.parametrize(
    ("pattern", "path", "excluded"),
    [
        ("Logs", "Logs", True),
        ("Logs", "a/b/Logs", True),
        ("Logs", "a/Logs2", False),
        ("/logs", "logs", True),
        ("/logs", "sub/logs", False),
        ("/logs.db*", "logs.db-wal", True),
        ("/logs.db*", "logs.db", True),
        ("/logs.db*", "sub/logs.db", False),
        ("a/b", "a/b", True),
        ("a/b", "x/a/b", False),
        ("**/Server/Cache", "Library/App Support/Server/Cache", True),
        ("**/Server/Cache", "Server/Cache", True),
        ("**/Server/Cache", "Server/Cache2", False),
        ("*.tmp", "deep/x.tmp", True),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file10.txt", False),
        ("[!a]x", "bx", True),
        ("[!a]x", "ax", False),
        ("/Media/", "Media", True),
        ("a.b", "aXb", False),
    ],
)
def test_pattern_syntax(pattern: str, path: str, excluded: bool) -> None:
    assert ExcludeRules.of("app", [pattern]).excludes(path) is excluded


def test_an_empty_pattern_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        ExcludeRules.of("app", ["/"])


def test_plex_leaves_out_its_regenerable_folders_only() -> None:
    rules = rules_for("plex", {})
    server = "Library/Application Support/Plex Media Server"
    for junk in ("Cache", "Crash Reports", "Logs", "Updates", "Diagnostics"):
        assert rules.excludes(f"{server}/{junk}")
    for kept in ("Metadata", "Media", "Plug-in Support", "Preferences.xml"):
        assert not rules.excludes(f"{server}/{kept}")
    assert not rules.excludes(f"{server}/Metadata/Movies/x.bundle/Contents/Logs2")


@pytest.mark.parametrize("app", ["sonarr", "radarr", "prowlarr"])
def test_arr_apps_leave_out_logs_log_database_and_their_own_backups(app: str) -> None:
    rules = rules_for(app, {})
    for junk in ("logs", "logs.db", "logs.db-wal", "logs.db-shm", "Backups"):
        assert rules.excludes(junk), junk
    for kept in (f"{app}.db", "config.xml", "MediaCover", "MediaCover/logs"):
        assert not rules.excludes(kept), kept


def test_configured_patterns_add_to_the_defaults_per_app_and_for_every_app() -> None:
    configured = {"plex": ["/Library/Application Support/Plex Media Server/Media"], "*": ["*.tmp"]}
    plex = rules_for("plex", configured)
    assert plex.excludes("Library/Application Support/Plex Media Server/Media")
    assert plex.excludes("Library/Application Support/Plex Media Server/Cache")
    assert plex.excludes("x.tmp")
    sonarr = rules_for("sonarr", configured)
    assert sonarr.excludes("a/b.tmp") and sonarr.excludes("logs")
    assert not sonarr.excludes("Library/Application Support/Plex Media Server/Media")


def test_an_app_without_rules_excludes_nothing() -> None:
    assert not rules_for("unknown-app", {}).excludes("logs")


def test_the_restore_work_folder_is_not_an_app() -> None:
    assert app_folders(["sonarr", RESTORE_WORK_FOLDER, "plex"]) == ["plex", "sonarr"]


def test_only_a_databases_own_companions_are_left_out() -> None:
    names = ["a.db", "a.db-wal", "a.db-shm", "b.db-wal", "a.db-journal", "notes-wal"]
    assert database_companions(names, ["a.db"]) == {"a.db-wal", "a.db-shm", "a.db-journal"}
