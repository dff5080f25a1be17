"""Fast tar member headers (POSIX ustar/pax, as GNU tar reads): pure, bytes out.

``tarfile`` builds every header in Python through a ``TarInfo`` and a pax header when a name
is longer than 100 bytes (most Plex metadata paths are), which costs more than reading the
file. ``header`` builds one plain ustar block straight from a member's fields, splitting a long
name into ustar's prefix and name fields, whenever the member fits; anything that does not (a
name that cannot be split, a non-ASCII name, a huge size or id) gets ``tarfile``'s own pax
header. A member is its header, its data, then ``padding`` to a whole block; an archive ends
with ``END_OF_ARCHIVE``.
"""

from __future__ import annotations

import struct
import tarfile

BLOCK_SIZE = tarfile.BLOCKSIZE
REGULAR = tarfile.REGTYPE
DIRECTORY = tarfile.DIRTYPE
SYMLINK = tarfile.SYMTYPE
END_OF_ARCHIVE = b"\0" * (2 * BLOCK_SIZE)
# name; mode, uid, gid, size, mtime (one field of 48 bytes); checksum; type; link name; magic;
# user and group names; device numbers; prefix
_BLOCK = struct.Struct("100s48s8s1s100s8s32s32s8s8s155s12x")
_NUMBERS = b"%07o\0%07o\0%07o\0%011o\0%011o\0"  # mode, uid, gid, size, mtime
_MAGIC = b"ustar\x0000"
_DEVICE = b"0000000\0"
# The checksum is the sum of the block's bytes with its own field as spaces; the fixed fields'
# share is added once here, so only the varying ones are summed per member (summing all 512
# bytes was most of a header's cost).
_FIXED_SUM = 8 * ord(" ") + sum(_MAGIC) + 2 * sum(_DEVICE)
_LIMIT_7_DIGITS = 0o7777777
_LIMIT_11_DIGITS = 0o77777777777


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
    link = linkname.encode()
    numbers = _NUMBERS % (mode, uid, gid, size, mtime)
    checksum = _FIXED_SUM + kind[0] + sum(name) + sum(prefix) + sum(link) + sum(numbers)
    return _BLOCK.pack(
        name, numbers, b"%06o\0 " % checksum, kind, link, _MAGIC, b"", b"", _DEVICE, _DEVICE,
        prefix,
    )


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
