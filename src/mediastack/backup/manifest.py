"""The manifest: the last member of every archive, listing every other member with its checksum.

An archive without it (the writer stopped before the end) is partial; a member missing from
it, or one it lists that the archive lacks, makes the archive corrupt. Pure: JSON in, JSON out.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

MANIFEST_NAME = "mediastack-backup.json"
FORMAT = "mediastack-backup/1"
APPS_PREFIX = "apps/"
SETTINGS_PREFIX = "mediastack/"
DIRECTORY_KIND = "directory"
SYMLINK_KIND = "symlink"


class EntryKind(StrEnum):
    """What one archive member is."""

    DIRECTORY = DIRECTORY_KIND
    FILE = "file"
    DATABASE = "database"  # an SQLite database, copied through the online backup API
    SYMLINK = SYMLINK_KIND


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One archive member: its path, kind, size and SHA-256 (files and databases) or link
    target (symlinks)."""

    path: str
    kind: EntryKind
    size: int = 0
    sha256: str = ""
    target: str = ""

    @property
    def app(self) -> str | None:
        """Return the app folder this entry belongs to (``apps/<app>/...``), else None."""
        if not self.path.startswith(APPS_PREFIX):
            return None
        return self.path[len(APPS_PREFIX) :].split("/", 1)[0]

    def as_json(self) -> list[Any]:
        """Return the compact JSON form (see ``entry_json``)."""
        return entry_json(self.path, self.kind, self.size, self.sha256, self.target)


def entry_json(
    path: str, kind: EntryKind, size: int = 0, sha256: str = "", target: str = ""
) -> list[Any]:
    """Return an entry's compact JSON form: ``[path, kind, size, sha256]`` for files and
    databases, ``[path, "symlink", target]``, ``[path, "directory"]``."""
    if kind is EntryKind.DIRECTORY:
        return [path, DIRECTORY_KIND]
    if kind is EntryKind.SYMLINK:
        return [path, SYMLINK_KIND, target]
    return [path, str(kind), size, sha256]


def encode_entries(entries: list[list[Any]]) -> str:
    """Given entries in their JSON form (``entry_json``), return them encoded and
    comma-separated, without the list's brackets: a part of a manifest's entry list. The
    archive writer's worker processes each encode the entries they archived, and
    ``Manifest.to_bytes`` joins the parts."""
    return _encode(entries)[1:-1]


def _encode(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class Manifest:
    """Everything an archive holds, and when and from what it was made."""

    instance: str
    created: str  # ISO 8601, UTC
    mediastack_version: str
    apps: tuple[str, ...]
    entries: tuple[ManifestEntry, ...]
    excluded: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    format: str = FORMAT

    @cached_property
    def by_path(self) -> dict[str, ManifestEntry]:
        return {entry.path: entry for entry in self.entries}

    @property
    def databases(self) -> list[ManifestEntry]:
        return [entry for entry in self.entries if entry.kind is EntryKind.DATABASE]

    @property
    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.entries)

    def to_bytes(self, encoded_entries: Sequence[str] = ()) -> bytes:
        """Return the manifest as compact UTF-8 JSON; its entries are ``entries``, then
        those in ``encoded_entries`` (parts made by ``encode_entries``)."""
        document = {
            "format": self.format,
            "instance": self.instance,
            "created": self.created,
            "mediastack_version": self.mediastack_version,
            "apps": list(self.apps),
            "excluded": list(self.excluded),
            "warnings": list(self.warnings),
        }
        parts = [encode_entries([entry.as_json() for entry in self.entries]), *encoded_entries]
        entries = ",".join(part for part in parts if part)
        text = f'{_encode(document)[:-1]},"entries":[{entries}]}}'
        return text.encode("utf-8", "surrogateescape")


def parse_manifest(data: bytes) -> Manifest:
    """Given the manifest member's bytes, return the manifest; raise ValueError when it is not
    a manifest this version understands, or names an unsafe path."""
    try:
        document = json.loads(data.decode("utf-8", "surrogateescape"))
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown manifest format {document.get('format')!r}")
        entries = tuple(_entry_from(raw) for raw in document["entries"])
        return Manifest(
            instance=str(document["instance"]),
            created=str(document["created"]),
            mediastack_version=str(document["mediastack_version"]),
            apps=tuple(str(app) for app in document["apps"]),
            entries=entries,
            excluded=tuple(str(path) for path in document.get("excluded", ())),
            warnings=tuple(str(text) for text in document.get("warnings", ())),
        )
    except (KeyError, IndexError, TypeError, AttributeError, json.JSONDecodeError) as error:
        raise ValueError(f"the manifest is not valid: {error!r}") from None


def _entry_from(raw: list[Any]) -> ManifestEntry:
    path, kind = str(raw[0]), EntryKind(raw[1])
    if not is_safe_member_path(path):
        raise ValueError(f"the manifest names an unsafe path {path!r}")
    if kind is EntryKind.DIRECTORY:
        return ManifestEntry(path, kind)
    if kind is EntryKind.SYMLINK:
        return ManifestEntry(path, kind, target=str(raw[2]))
    return ManifestEntry(path, kind, int(raw[2]), str(raw[3]))


def is_safe_member_path(path: str) -> bool:
    """Return True when ``path`` is a normalised relative path under ``apps/`` or
    ``mediastack/`` (no ``..``, no absolute path): it cannot escape where it is restored."""
    if posixpath.isabs(path) or posixpath.normpath(path) != path:
        return False
    return path.startswith((APPS_PREFIX, SETTINGS_PREFIX)) and ".." not in path.split("/")


def app_entries(entries: Sequence[ManifestEntry], apps: Sequence[str]) -> list[ManifestEntry]:
    """Return the entries of the given apps, in archive order."""
    wanted = set(apps)
    return [entry for entry in entries if entry.app in wanted]
