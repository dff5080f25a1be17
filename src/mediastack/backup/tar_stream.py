"""A minimal, fast tar writer over any binary stream (POSIX ustar/pax, as GNU tar reads).

``tarfile`` builds every header in Python through a ``TarInfo`` and a pax header when a name
is longer than 100 bytes (most Plex metadata paths are), which costs more than reading the
file. This writes one plain ustar block per member straight from its fields, splitting a long
name into ustar's prefix and name fields, whenever the member fits; anything that does not (a
name that cannot be split, a non-ASCII name, a huge size or id) gets ``tarfile``'s own pax
header. Output is buffered and handed to the stream in large writes.
"""

from __future__ import annotations

import struct
import tarfile
from typing import Protocol

BLOCK_SIZE = tarfile.BLOCKSIZE
BUFFER_SIZE = 1024 * 1024
REGULAR = tarfile.REGTYPE
DIRECTORY = tarfile.DIRTYPE
SYMLINK = tarfile.SYMTYPE
_END_OF_ARCHIVE = b"\0" * (2 * BLOCK_SIZE)
_HEAD = struct.Struct("100s8s8s8s12s12s")  # name, mode, uid, gid, size, mtime
_TAIL = struct.Struct("1s100s8s32s32s8s8s155s12x")  # type, link, magic, names, devices, prefix
_MAGIC = b"ustar\x0000"
_CHECKSUM_SPACES = 8 * ord(" ")
_DEVICE = b"0000000\0"
_LIMIT_7_DIGITS = 0o7777777
_LIMIT_11_DIGITS = 0o77777777777


class BinarySink(Protocol):
    """Where archive bytes go."""

    def write(self, data: bytes, /) -> int: ...


def split_name(name: bytes) -> tuple[bytes, bytes] | None:
    """Given a member name, return ustar's (prefix, name) fields for it, or None when it
    cannot be split so that the name part has at most 100 bytes and the prefix 155."""
    if len(name) <= 100:
        return b"", name
    cut = name.find(b"/", len(name) - 101)
    while cut != -1 and cut <= 155:
        if len(name) - cut - 1 <= 100 and cut > 0:
            return name[:cut], name[cut + 1 :]
        cut = name.find(b"/", cut + 1)
    return None


def _fits_ustar(name: str, linkname: str, size: int, uid: int, gid: int, mtime: int) -> bool:
    return (
        name.isascii()
        and linkname.isascii()
        and len(linkname) <= 100
        and max(uid, gid) <= _LIMIT_7_DIGITS
        and 0 <= size <= _LIMIT_11_DIGITS
        and 0 <= mtime <= _LIMIT_11_DIGITS
    )


def header(
    name: str,
    kind: bytes,
    size: int,
    mode: int,
    uid: int,
    gid: int,
    mtime: int,
    linkname: str = "",
) -> bytes:
    """Return the header block(s) of one member: one ustar block when it fits, else a pax
    header from ``tarfile``. ``kind`` is REGULAR, DIRECTORY or SYMLINK."""
    member_name = f"{name}/" if kind == DIRECTORY else name
    if _fits_ustar(member_name, linkname, size, uid, gid, mtime):
        split = split_name(member_name.encode())
        if split is not None:
            return _ustar(split, kind, size, mode, uid, gid, mtime, linkname)
    return _pax(name, kind, size, mode, uid, gid, mtime, linkname)


def _ustar(
    split: tuple[bytes, bytes],
    kind: bytes,
    size: int,
    mode: int,
    uid: int,
    gid: int,
    mtime: int,
    linkname: str,
) -> bytes:
    prefix, name = split
    head = _HEAD.pack(
        name, b"%07o\0" % mode, b"%07o\0" % uid, b"%07o\0" % gid, b"%011o\0" % size,
        b"%011o\0" % mtime,
    )
    tail = _TAIL.pack(kind, linkname.encode(), _MAGIC, b"", b"", _DEVICE, _DEVICE, prefix)
    checksum = sum(head) + sum(tail) + _CHECKSUM_SPACES
    return head + b"%06o\0 " % checksum + tail


def _pax(
    name: str,
    kind: bytes,
    size: int,
    mode: int,
    uid: int,
    gid: int,
    mtime: int,
    linkname: str,
) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode = kind, size, mode
    info.uid, info.gid, info.mtime, info.linkname = uid, gid, mtime, linkname
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def padding(size: int) -> bytes:
    """Return the zero bytes that fill the last block of ``size`` bytes of data."""
    remainder = size % BLOCK_SIZE
    return b"\0" * (BLOCK_SIZE - remainder) if remainder else b""


class TarWriter:
    """Writes members one after the other; ``close`` writes the end-of-archive blocks and
    hands everything still buffered to the sink."""

    def __init__(self, sink: BinarySink) -> None:
        self._sink = sink
        self._buffer = bytearray()

    def add_file(self, name: str, data: bytes, mode: int, uid: int, gid: int, mtime: int) -> None:
        """Add a regular file whose whole content is ``data``."""
        size = len(data)
        self._put(header(name, REGULAR, size, mode, uid, gid, mtime))
        self._put(data)
        if size % BLOCK_SIZE:
            self._put(padding(size))

    def add_entry(
        self, name: str, kind: bytes, mode: int, uid: int, gid: int, mtime: int, linkname: str = ""
    ) -> None:
        """Add a member without data: a folder, or a symlink to ``linkname``."""
        self._put(header(name, kind, 0, mode, uid, gid, mtime, linkname))

    def begin_file(self, name: str, size: int, mode: int, uid: int, gid: int, mtime: int) -> None:
        """Add the header of a regular file of ``size`` bytes; its data follows through
        ``add_data`` and then ``end_member``."""
        self._put(header(name, REGULAR, size, mode, uid, gid, mtime))

    def add_data(self, data: bytes) -> None:
        """Write a chunk of the data of the member begun last."""
        self._put(data)

    def end_member(self, size: int) -> None:
        """Pad the data of the member just streamed (``size`` bytes) to a whole block."""
        self._put(padding(size))

    def close(self) -> None:
        self._put(_END_OF_ARCHIVE)
        self._flush()

    def _put(self, data: bytes) -> None:
        if len(data) >= BUFFER_SIZE:
            self._flush()
            self._sink.write(data)
            return
        self._buffer += data
        if len(self._buffer) >= BUFFER_SIZE:
            self._flush()

    def _flush(self) -> None:
        if self._buffer:
            self._sink.write(bytes(self._buffer))
            self._buffer.clear()
