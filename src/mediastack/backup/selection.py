"""What goes into a backup: exclusion patterns per app, and the folders that are backed up.

Pure: no file system access. Patterns use gitignore-like syntax, matched against the path
relative to the app's folder, ``/``-separated:

- ``Logs``: a name without ``/`` matches a file or folder of that name at any depth;
- ``/logs`` or ``a/b``: a pattern with ``/`` is anchored at the app folder;
- ``*`` and ``?`` match within one name, ``[...]`` a character set, ``**`` any number of
  folders (``**/Plex Media Server/Cache``).

A matching folder is left out with everything below it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

EVERY_APP = "*"
# The *arr apps log to logs/ and logs.db (with its -wal/-shm), and keep their own zip
# backups in Backups/: all regenerable, and logs.db is written constantly.
ARR_JUNK = ("/logs", "/logs.db*", "/Backups")
PLEX_JUNK = tuple(
    f"**/Plex Media Server/{name}"
    for name in ("Cache", "Crash Reports", "Logs", "Updates", "Diagnostics")
)
DEFAULT_EXCLUDES: Mapping[str, tuple[str, ...]] = {
    "plex": PLEX_JUNK,
    "sonarr": ARR_JUNK,
    "radarr": ARR_JUNK,
    "prowlarr": ARR_JUNK,
    "bazarr": ("/log", "/backup", "/cache"),
    "jellyfin": ("/log", "/cache", "**/transcodes"),
    "tautulli": ("/logs", "/backups", "/cache"),
}
# Where restore stages new folders and keeps replaced ones: never an app, never backed up.
RESTORE_WORK_FOLDER = ".mediastack-restore"


def pattern_regex(pattern: str) -> str:
    """Given one exclusion pattern, return a regular expression for the relative paths it
    matches (itself; what lies below is pruned by the walk). Raise ValueError when empty."""
    text = pattern.strip().rstrip("/")
    if not text.lstrip("/"):
        raise ValueError(f"empty exclusion pattern {pattern!r}")
    anchored = "/" in text
    segments = text.lstrip("/").split("/")
    parts = [] if anchored else ["(?:[^/]+/)*"]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_regex(segment) + ("" if last else "/"))
    return "".join(parts)


def _segment_regex(segment: str) -> str:
    """Translate one path name glob (``*``, ``?``, ``[...]``) into a regex that stays inside
    one name."""
    out: list[str] = []
    index = 0
    while index < len(segment):
        character = segment[index]
        if character == "*":
            out.append("[^/]*")
        elif character == "?":
            out.append("[^/]")
        elif character == "[" and (close := segment.find("]", index + 2)) != -1:
            body = segment[index + 1 : close]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
            index = close
        else:
            out.append(re.escape(character))
        index += 1
    return "".join(out)


def _name_regex(pattern: str) -> str | None:
    """Return a regex for the last path name a match of ``pattern`` can end in, or None when
    it can end in any name (a trailing ``**``)."""
    last = pattern.strip().rstrip("/").rpartition("/")[2]
    return None if last == "**" else _segment_regex(last)


@dataclass(frozen=True)
class ExcludeRules:
    """The exclusion patterns of one app, compiled once (build with ``ExcludeRules.of``).
    ``names`` is a quick first test on the last name of a path, so most paths are decided
    without matching the whole path."""

    app: str
    patterns: tuple[str, ...]
    compiled: re.Pattern[str] | None
    names: re.Pattern[str] | None

    @classmethod
    def of(cls, app: str, patterns: Sequence[str]) -> ExcludeRules:
        """Given an app name and its patterns, return the compiled rules; raise ValueError
        for an empty pattern."""
        regexes = [f"(?:{pattern_regex(pattern)})" for pattern in patterns]
        compiled = re.compile("|".join(regexes)) if regexes else None
        names = [_name_regex(pattern) for pattern in patterns]
        name_filter = None if None in names else re.compile("|".join(f"(?:{n})" for n in names))
        return cls(app, tuple(patterns), compiled, name_filter)

    def excludes(self, relative_path: str) -> bool:
        """Given a path relative to the app folder (``a/b/c``), return True when a pattern
        matches it (the caller prunes what lies below a matching folder)."""
        if self.compiled is None:
            return False
        if self.names is not None and not self.names.fullmatch(relative_path.rpartition("/")[2]):
            return False
        return self.compiled.fullmatch(relative_path) is not None


def rules_for(app: str, configured: Mapping[str, Sequence[str]]) -> ExcludeRules:
    """Given an app (folder) name and ``backups.exclude`` from the config, return its rules:
    the built-in junk of that app, then the configured patterns for every app (``*``) and for
    it."""
    patterns = [
        *DEFAULT_EXCLUDES.get(app, ()),
        *configured.get(EVERY_APP, ()),
        *configured.get(app, ()),
    ]
    return ExcludeRules.of(app, list(dict.fromkeys(patterns)))


def app_folders(names: Iterable[str]) -> list[str]:
    """Given the names of the folders inside the config folder, return those backed up as
    apps, sorted: every folder except mediastack's own restore work folder."""
    return sorted(name for name in names if name != RESTORE_WORK_FOLDER)


def database_companions(names: Iterable[str], databases: Iterable[str]) -> set[str]:
    """Given the file names of one folder and which of them are SQLite databases, return the
    names of their ``-wal``, ``-shm`` and ``-journal`` files: they are captured through the
    database (its online backup) and never archived raw."""
    present = set(names)
    return {
        f"{database}{suffix}"
        for database in databases
        for suffix in ("-wal", "-shm", "-journal")
        if f"{database}{suffix}" in present
    }
