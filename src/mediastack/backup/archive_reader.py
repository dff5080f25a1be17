"""Read an archive back in one streaming pass: hash every member, check it against the manifest.

Used by verification and by restore: a ``MemberHandler`` sees each member as it streams by and
may copy its data somewhere (a database to check, a file to restore); whatever it does not
read is still read and hashed. The outcome lists every problem: the archive cannot be
decompressed, ends early (no manifest: partial), or a member is missing, unexpected or has
another checksum than the manifest says.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import zstandard

from mediastack.backup.manifest import (
    MANIFEST_NAME,
    EntryKind,
    Manifest,
    ManifestEntry,
    is_safe_member_path,
    parse_manifest,
)
from mediastack.backup.safety import app_entry_problems, leaving_links, member_problem

CHUNK_SIZE = 1024 * 1024
MAXIMUM_MANIFEST_BYTES = 512 * 1024 * 1024
Advance = Callable[[int], None]


class HashingReader:
    """A member's data stream that hashes and counts everything read from it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = CHUNK_SIZE) -> bytes:
        data = self._raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        """Read (and hash) whatever the handler left unread."""
        while self.read(CHUNK_SIZE):
            pass


class MemberHandler(Protocol):
    """Sees every member (but the manifest) as it streams by, except those refused on sight:
    an unsafe path, a type or place ``safety.member_problem`` refuses, a second copy."""

    def member(self, info: tarfile.TarInfo, data: HashingReader | None) -> None:
        """Handle one member; ``data`` is its content for regular files, else None."""
        ...


class IgnoreMembers:
    """A handler that only lets members be hashed."""

    def member(self, info: tarfile.TarInfo, data: HashingReader | None) -> None:
        return None


@dataclass(frozen=True, slots=True)
class SeenMember:
    """What one member of the archive turned out to be."""

    kind: EntryKind
    size: int = 0
    sha256: str = ""
    target: str = ""


@dataclass
class ArchiveReading:
    """The result of one pass: the manifest (None when the archive has none) and problems."""

    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)
    members: dict[str, SeenMember] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return self.manifest is not None and not self.problems


def read_archive(
    path: Path, handler: MemberHandler, advance: Advance | None = None
) -> ArchiveReading:
    """Stream the archive at ``path`` once, passing each member to ``handler``; return the
    manifest and every problem found. Raise OSError when the file cannot be opened; errors of
    ``handler`` propagate."""
    reading = ArchiveReading()
    with path.open("rb") as raw:
        decompressor = zstandard.ZstdDecompressor()
        with decompressor.stream_reader(raw, read_across_frames=True) as stream:
            try:
                _read_members(stream, handler, reading, advance)
            except (zstandard.ZstdError, tarfile.TarError, EOFError) as error:
                reading.problems.append(f"the archive is truncated or corrupt: {error}")
                return reading
    if reading.manifest is None:
        reading.problems.append(
            f"the archive has no manifest ({MANIFEST_NAME}): it is partial (the backup that "
            "wrote it did not finish)"
        )
    else:
        reading.problems += app_entry_problems(reading.manifest)
        reading.problems += compare(reading.manifest, reading.members)
    reading.problems += leaving_links(_symlinks(reading.members))
    return reading


def _symlinks(members: dict[str, SeenMember]) -> dict[str, str]:
    return {name: seen.target for name, seen in members.items() if seen.kind is EntryKind.SYMLINK}


def _read_members(
    stream: IO[bytes], handler: MemberHandler, reading: ArchiveReading, advance: Advance | None
) -> None:
    with tarfile.open(fileobj=stream, mode="r|", encoding="utf-8", errors="surrogateescape") as tar:
        for info in tar:
            if reading.manifest is not None:
                reading.problems.append(f"{info.name}: a member after the manifest")
            if info.name == MANIFEST_NAME and info.isreg():
                reading.manifest = _read_manifest(tar, info, reading)
                continue
            seen = _read_member(tar, info, handler, reading)
            if seen is not None and advance is not None:
                advance(seen.size)


def _read_manifest(
    tar: tarfile.TarFile, info: tarfile.TarInfo, reading: ArchiveReading
) -> Manifest | None:
    handle = tar.extractfile(info)
    if handle is None or info.size > MAXIMUM_MANIFEST_BYTES:
        reading.problems.append("the manifest cannot be read")
        return None
    try:
        return parse_manifest(handle.read())
    except ValueError as error:
        reading.problems.append(str(error))
        return None


def _read_member(
    tar: tarfile.TarFile, info: tarfile.TarInfo, handler: MemberHandler, reading: ArchiveReading
) -> SeenMember | None:
    if not is_safe_member_path(info.name):
        reading.problems.append(f"{info.name!r}: a member path that could escape its folder")
        return None
    refusal = member_problem(info)
    if refusal is not None:
        reading.problems.append(refusal)
        return None
    if info.name in reading.members:  # not handed on: it could replace what was written
        reading.problems.append(f"{info.name}: in the archive twice")
        return None
    seen = _seen(tar, info, handler)
    if seen is None:
        reading.problems.append(f"{info.name}: a member of an unexpected type")
        return None
    reading.members[info.name] = seen
    return seen


def _seen(tar: tarfile.TarFile, info: tarfile.TarInfo, handler: MemberHandler) -> SeenMember | None:
    if info.isdir():
        handler.member(info, None)
        return SeenMember(EntryKind.DIRECTORY)
    if info.issym():
        handler.member(info, None)
        return SeenMember(EntryKind.SYMLINK, target=info.linkname)
    if not info.isreg():
        return None
    raw = tar.extractfile(info)
    assert raw is not None, "a regular member always has data"
    data = HashingReader(raw)
    handler.member(info, data)
    data.drain()
    return SeenMember(EntryKind.FILE, data.size, data.digest.hexdigest())


def compare(manifest: Manifest, members: dict[str, SeenMember]) -> list[str]:
    """Given the manifest and what the archive held, return every difference (pure)."""
    problems = [
        problem
        for entry in manifest.entries
        if (problem := _difference(entry, members.get(entry.path))) is not None
    ]
    problems += [
        f"{path}: in the archive but not in its manifest"
        for path in members
        if path not in manifest.by_path
    ]
    return problems


def _difference(entry: ManifestEntry, seen: SeenMember | None) -> str | None:
    if seen is None:
        return f"{entry.path}: in the manifest but missing from the archive"
    expected_kind = EntryKind.FILE if entry.kind is EntryKind.DATABASE else entry.kind
    if seen.kind is not expected_kind:
        return f"{entry.path}: a {seen.kind.value} where the manifest says {entry.kind.value}"
    if seen.size != entry.size or seen.sha256 != entry.sha256:
        return f"{entry.path}: checksum mismatch (the archive is corrupt)"
    if seen.target != entry.target:
        return f"{entry.path}: link target differs from the manifest"
    return None
