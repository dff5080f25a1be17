"""Test peers that behave like the real apps, built locally at test time (never pulled).

- ``qbittorrent``: Debian's real ``qbittorrent-nox`` and its shared libraries, ``FROM scratch``
  plus busybox, started the way the linuxserver image starts it.
- ``socket-proxy``: Debian's real ``haproxy`` and its libraries, running the
  ``lscr.io/linuxserver/socket-proxy`` configuration template unchanged.
- ``cross-seed`` and ``recyclarr``: busybox stand-ins that refuse a missing or invalid config
  the way cross-seed 6 and recyclarr 8 do.
- ``sonarr``, ``radarr``, ``prowlarr``, ``bazarr``: stateful API stand-ins (``standins/arr``,
  stdlib Python on the local Debian base) that validate and test what ``mediastack wire``
  sends as the real apps do, and refuse what they refuse.

See ``standins/README.md`` for which app version and source file each one follows. Images are
cached by the same content-hash label as the other stand-ins (the binaries and libraries are
part of the hash, so a Debian upgrade rebuilds them).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from standins import IMAGE_TAG, STANDIN_SOURCES, build_images, docker
from supervisor_image import ensure_base_image

QBITTORRENT_BINARY = "qbittorrent-nox"
HAPROXY_BINARY = "haproxy"
CURL_SHIM = STANDIN_SOURCES / "app" / "rootfs" / "usr" / "bin" / "curl"
# Where each real peer's own files go inside its build context (copied to / in the image).
BINARIES_FOLDER = "binaries"
PEER_SERVICES = ("qbittorrent", "socket-proxy", "cross-seed", "recyclarr")
# Not in PEER_SERVICES (so not in ``standin_images``): tests use the busybox sonarr/radarr
# stand-ins' files (rm /www/ping, PORT=0); the ``arr_images`` fixture gives these.
ARR_PORTS = {"sonarr": 8989, "radarr": 7878, "prowlarr": 9696, "bazarr": 6767}
# Not mediastack-standin/<service>: those tags are the plain app stand-ins that the lab uses
# until the app configs are rendered; one tag for both would rebuild them in turn.
PEER_REPOSITORY = "mediastack-peer"
# ldd lines: "libz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x...)" and
# "/lib64/ld-linux-x86-64.so.2 (0x...)" (the dynamic loader, named by its absolute path).
_LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)\s*$")


class MissingPeerBinaryError(FileNotFoundError):
    """A host binary that a peer image is assembled from is not installed."""


def host_binary(name: str) -> Path:
    """Return the absolute path of the installed binary ``name``; raise MissingPeerBinaryError
    naming the Debian package to install when it is missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise MissingPeerBinaryError(
            f"{name} is not installed: `apt-get install {name}` (scripts/test does)"
        )
    return Path(found)


def shared_library_closure(binaries: Iterable[Path]) -> dict[str, Path]:
    """Given dynamically linked ELF files, return every shared library they load (the dynamic
    loader included, transitively, as ``ldd`` resolves them) as path in the image -> host path.
    The image path is the one the loader looks up (``/lib/x86_64-linux-gnu/libz.so.1``), so a
    ``FROM scratch`` image needs no ``ld.so.cache``."""
    closure: dict[str, Path] = {}
    for binary in binaries:
        listed = subprocess.run(
            ["ldd", str(binary)], capture_output=True, text=True, check=True, timeout=30
        )
        for line in listed.stdout.splitlines():
            found = _LDD_LINE.match(line)
            if found:
                closure[found.group(1)] = Path(found.group(1))
    return closure


def peer_tag(service: str) -> str:
    """Return the peer image tag for ``service``."""
    return f"{PEER_REPOSITORY}/{service}:{IMAGE_TAG}"


def _in_context(files: Mapping[str, Path]) -> dict[str, Path]:
    """Map image paths to build-context paths under BINARIES_FOLDER."""
    return {f"{BINARIES_FOLDER}{image_path}": host for image_path, host in files.items()}


def build_qbittorrent_image() -> str:
    """Build (once per content hash) the real-qBittorrent image; return its tag."""
    binary = host_binary(QBITTORRENT_BINARY)
    files = {"/usr/bin/qbittorrent-nox": binary, **shared_library_closure([binary])}
    files["/usr/bin/curl"] = CURL_SHIM
    tag = peer_tag("qbittorrent")
    build_images(STANDIN_SOURCES / "qbittorrent", {tag: {}}, _in_context(files))
    return tag


def build_socket_proxy_image() -> str:
    """Build (once per content hash) the socket-proxy peer on Debian's haproxy; return its tag."""
    binary = host_binary(HAPROXY_BINARY)
    files = {"/usr/sbin/haproxy": binary, **shared_library_closure([binary])}
    tag = peer_tag("socket-proxy")
    build_images(STANDIN_SOURCES / "socket-proxy", {tag: {}}, _in_context(files))
    return tag


def build_cross_seed_image() -> str:
    """Build the cross-seed 6 stand-in; return its tag."""
    tag = peer_tag("cross-seed")
    build_images(STANDIN_SOURCES / "cross-seed", {tag: {}}, {"curl": CURL_SHIM})
    return tag


def build_recyclarr_image() -> str:
    """Build the recyclarr 8 stand-in; return its tag."""
    tag = peer_tag("recyclarr")
    build_images(STANDIN_SOURCES / "recyclarr", {tag: {}})
    return tag


def build_arr_images() -> dict[str, str]:
    """Build the Sonarr/Radarr/Prowlarr/Bazarr API stand-ins on the local Debian base (made
    if missing); return service -> tag. The base image's id is part of the build arguments,
    so a new base rebuilds them."""
    base = ensure_base_image()
    base_id = docker("image", "inspect", "--format", "{{.Id}}", base).stdout.strip()
    wanted = {
        peer_tag(service): {"APP": service, "PORT": str(port), "BASE": base,
                            "BASE_ID": base_id}
        for service, port in ARR_PORTS.items()
    }
    build_images(STANDIN_SOURCES / "arr", wanted, {"curl": CURL_SHIM})
    return {service: peer_tag(service) for service in ARR_PORTS}


def build_peer_images() -> dict[str, str]:
    """Build every peer image; return service -> image tag for PEER_SERVICES."""
    return {
        "qbittorrent": build_qbittorrent_image(),
        "socket-proxy": build_socket_proxy_image(),
        "cross-seed": build_cross_seed_image(),
        "recyclarr": build_recyclarr_image(),
    }
