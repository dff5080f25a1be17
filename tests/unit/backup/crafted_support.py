"""Crafted archives for the restore-safety tests: members built with Python's own tarfile,
zstd-compressed like real archives, with a manifest that matches them (checksums right), so
only the crafted part can make an archive unsafe."""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import zstandard

from mediastack.backup.manifest import MANIFEST_NAME, EntryKind, Manifest, ManifestEntry

ARCHIVE_NAME = "home-backup-20260101T000000Z.tar.zst"


@dataclass(frozen=True)
class Member:
    """One crafted member: ``kind`` a tarfile type; ``content`` for files, ``link`` for
    symlinks and hard links (tarfile's ``linkname``)."""

    name: str
    kind: bytes = tarfile.REGTYPE
    content: bytes = b""
    link: str = ""


def folder(name: str) -> Member:
    return Member(name, tarfile.DIRTYPE)


def symlink(name: str, target: str) -> Member:
    return Member(name, tarfile.SYMTYPE, link=target)


def hardlink(name: str, target: str) -> Member:
    return Member(name, tarfile.LNKTYPE, link=target)


def sonarr_folder(text: str = "<Config>restored</Config>") -> list[Member]:
    """A plain, sound sonarr folder."""
    return [folder("apps/sonarr"), Member("apps/sonarr/config.xml", content=text.encode())]


def write_crafted(backups: Path, apps: list[str], crafted: list[Member]) -> Path:
    """Write an archive of ``crafted`` members whose manifest lists ``apps`` into the
    backups folder; return its path."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member in crafted:
            info = tarfile.TarInfo(member.name)
            info.type, info.linkname, info.mode = member.kind, member.link, 0o755
            info.size = len(member.content) if member.kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(member.content) if info.size else None)
        document = _manifest(apps, crafted).to_bytes()
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size = len(document)
        tar.addfile(info, io.BytesIO(document))
    backups.mkdir(parents=True, exist_ok=True)
    archive = backups / ARCHIVE_NAME
    archive.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    return archive


def _manifest(apps: list[str], crafted: list[Member]) -> Manifest:
    entries = tuple(_entry(member) for member in crafted)
    return Manifest("home", "2026-01-01T00:00:00+00:00", "0.1.0", tuple(apps), entries)


def _entry(member: Member) -> ManifestEntry:
    if member.kind == tarfile.DIRTYPE:
        return ManifestEntry(member.name, EntryKind.DIRECTORY)
    if member.kind == tarfile.SYMTYPE:
        return ManifestEntry(member.name, EntryKind.SYMLINK, target=member.link)
    digest = hashlib.sha256(member.content).hexdigest()
    return ManifestEntry(member.name, EntryKind.FILE, len(member.content), digest)
