"""The manifest as data: JSON round trip, unsafe paths refused, differences found, the fast
tar header writer read back by tarfile."""

from __future__ import annotations

import io
import tarfile

import pytest

from mediastack.backup.archive_reader import SeenMember, compare
from mediastack.backup.manifest import (
    EntryKind,
    Manifest,
    ManifestEntry,
    encode_entries,
    is_safe_member_path,
    parse_manifest,
)
from mediastack.backup.tar_stream import (
    DIRECTORY,
    END_OF_ARCHIVE,
    REGULAR,
    SYMLINK,
    header,
    padding,
    split_name,
)

ENTRIES = (
    ManifestEntry("apps/sonarr", EntryKind.DIRECTORY),
    ManifestEntry("apps/sonarr/sonarr.db", EntryKind.DATABASE, 4096, "a" * 64),
    ManifestEntry("apps/sonarr/config.xml", EntryKind.FILE, 9, "b" * 64),
    ManifestEntry("apps/sonarr/link", EntryKind.SYMLINK, target="config.xml"),
    ManifestEntry("mediastack/.env", EntryKind.FILE, 3, "c" * 64),
)


def manifest(entries: tuple[ManifestEntry, ...] = ENTRIES) -> Manifest:
    return Manifest("home", "2026-01-01T00:00:00+00:00", "0.1.0", ("sonarr",), entries)


def test_a_manifest_survives_its_json() -> None:
    parsed = parse_manifest(manifest().to_bytes())
    assert parsed.entries == ENTRIES and parsed.apps == ("sonarr",)
    assert [entry.path for entry in parsed.databases] == ["apps/sonarr/sonarr.db"]
    assert parsed.by_path["apps/sonarr/link"].target == "config.xml"
    assert ENTRIES[1].app == "sonarr" and ENTRIES[4].app is None


def test_entries_encoded_in_parts_make_the_same_manifest() -> None:
    parts = [encode_entries([entry.as_json() for entry in ENTRIES[:2]]), ""]
    parts.append(encode_entries([entry.as_json() for entry in ENTRIES[2:]]))
    assert manifest(()).to_bytes(parts) == manifest().to_bytes()
    assert parse_manifest(manifest(ENTRIES[:1]).to_bytes(parts[2:])).entries == (
        ENTRIES[0], *ENTRIES[2:],
    )


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "apps/../../etc", "apps/a/../b", "other/x", "apps//x", "apps/./x"]
)
def test_unsafe_paths_are_refused(path: str) -> None:
    assert not is_safe_member_path(path)
    bad = (ManifestEntry(path, EntryKind.FILE, 1, "d" * 64),)
    with pytest.raises(ValueError, match="unsafe"):
        parse_manifest(manifest(bad).to_bytes())


@pytest.mark.parametrize(
    "text", [b"not json", b'{"format": "other/9"}', b'{"format": "mediastack-backup/1"}']
)
def test_what_is_not_a_manifest_is_refused(text: bytes) -> None:
    with pytest.raises(ValueError):
        parse_manifest(text)


def test_compare_names_every_difference() -> None:
    seen = {
        "apps/sonarr": SeenMember(EntryKind.DIRECTORY),
        "apps/sonarr/sonarr.db": SeenMember(EntryKind.FILE, 4096, "a" * 64),
        "apps/sonarr/config.xml": SeenMember(EntryKind.FILE, 9, "e" * 64),
        "apps/sonarr/link": SeenMember(EntryKind.SYMLINK, target="elsewhere"),
        "apps/sonarr/new": SeenMember(EntryKind.FILE, 1, "f" * 64),
    }
    assert compare(manifest(), seen) == [
        "apps/sonarr/config.xml: checksum mismatch (the archive is corrupt)",
        "apps/sonarr/link: link target differs from the manifest",
        "mediastack/.env: in the manifest but missing from the archive",
        "apps/sonarr/new: in the archive but not in its manifest",
    ]


def test_long_names_are_split_the_ustar_way_or_left_to_pax() -> None:
    assert split_name(b"short") == (b"", b"short")
    prefix, name = split_name(b"p" * 120 + b"/" + b"n" * 90) or (b"", b"")
    assert (len(prefix), len(name)) == (120, 90)
    assert split_name(b"x" * 150) is None
    assert split_name(b"p" * 160 + b"/" + b"n" * 10) is None


def test_the_fast_tar_headers_are_read_back_by_tarfile() -> None:
    out = io.BytesIO()
    names = ["apps/a", "apps/" + "d" * 120 + "/file", "apps/ünïcode", "apps/" + "z" * 300]
    for name in names:
        data = name.encode() * 2
        out.write(header(name, REGULAR, len(data), 0o640, 1000, 1001, 1_700_000_000))
        out.write(data + padding(len(data)))
    out.write(header("apps/folder", DIRECTORY, 0, 0o755, 0, 0, 1))
    out.write(header("apps/link", SYMLINK, 0, 0o777, 0, 0, 1, "a"))
    out.write(END_OF_ARCHIVE)
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        read = {info.name: info for info in tar}
        for name in names:
            info = read[name]
            assert (info.mode, info.uid, info.gid, info.mtime) == (0o640, 1000, 1001, 1_700_000_000)
            handle = tar.extractfile(info)
            assert handle is not None and handle.read() == name.encode() * 2
    assert read["apps/folder"].isdir() and read["apps/link"].linkname == "a"
