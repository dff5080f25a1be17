"""What part a service plays, read from the catalogue by service name or from its image, so
hand-added services (a transmission next to qbittorrent) are judged like catalogue ones."""

from __future__ import annotations

import re

from mediastack.catalogue import CATALOGUE
from mediastack.lint.model import ComposeProject, Service

# Images that talk to trackers or indexers: their traffic must leave through the VPN.
DOWNLOAD_IMAGE_NAMES = frozenset(
    {
        "qbittorrent",
        "transmission",
        "deluge",
        "rtorrent",
        "rutorrent",
        "sabnzbd",
        "nzbget",
        "prowlarr",
        "jackett",
        "nzbhydra2",
        "flaresolverr",
        "sonarr",
        "radarr",
        "lidarr",
        "readarr",
        "whisparr",
        "bazarr",
        "cross-seed",
    }
)
# The download clients and the apps that import from them: they must share one /data.
HARDLINK_IMAGE_NAMES = frozenset(
    {
        "qbittorrent",
        "transmission",
        "deluge",
        "rtorrent",
        "rutorrent",
        "sabnzbd",
        "nzbget",
        "sonarr",
        "radarr",
        "lidarr",
        "readarr",
        "whisparr",
        "cross-seed",
        "unpackerr",
    }
)
# Images such as haugene/transmission-openvpn carry their own tunnel and kill switch.
BUNDLED_TUNNEL_WORDS = frozenset({"vpn", "openvpn", "wireguard"})
GLUETUN = "gluetun"
SOCKET_PROXY = "socket-proxy"


def image_words(service: Service) -> frozenset[str]:
    """Return the image name and its dash/underscore/dot-separated words."""
    return frozenset({service.image_name, *re.split(r"[-_.]", service.image_name)}) - {""}


def _image_is_one_of(service: Service, names: frozenset[str]) -> bool:
    words = image_words(service)
    return bool(words & names) and not words & BUNDLED_TUNNEL_WORDS


def is_download_capable(service: Service) -> bool:
    """Return True for a service that talks to trackers or indexers (catalogue or image)."""
    definition = CATALOGUE.get(service.name)
    if definition is not None and definition.download_capable:
        return True
    return _image_is_one_of(service, DOWNLOAD_IMAGE_NAMES)


def in_hardlink_set(service: Service) -> bool:
    """Return True for the download client and the apps importing from it."""
    definition = CATALOGUE.get(service.name)
    if definition is not None and definition.hardlink_set:
        return True
    return _image_is_one_of(service, HARDLINK_IMAGE_NAMES)


def is_gluetun(service: Service) -> bool:
    """Return True for the VPN container: named gluetun, or running a gluetun image."""
    return service.name == GLUETUN or service.image_name == GLUETUN


def is_socket_proxy(service: Service) -> bool:
    """Return True for the one service allowed to hold the Docker socket."""
    return service.name == SOCKET_PROXY or SOCKET_PROXY in service.image_name


def gluetun_container_names(project: ComposeProject) -> frozenset[str]:
    """Return the container names gluetun's containers in ``project`` can have."""
    names: set[str] = set()
    for service in project.services:
        if is_gluetun(service):
            names |= {f"{project.name}-{service.name}-1", f"{project.name}_{service.name}_1"}
            if service.container_name:
                names.add(service.container_name)
    return frozenset(names)


def in_gluetun_namespace(project: ComposeProject, service: Service) -> bool:
    """Return True when ``service`` joins gluetun's network namespace: ``service:<gluetun>``
    in this project, or ``container:<name>`` naming a gluetun container (of this project,
    or any container whose name contains "gluetun", as another project's may)."""
    reference = service.namespace
    if reference is None:
        return False
    if reference.kind == "service":
        owner = project.service(reference.name)
        return owner is not None and is_gluetun(owner)
    return reference.name in gluetun_container_names(project) or GLUETUN in reference.name.lower()
