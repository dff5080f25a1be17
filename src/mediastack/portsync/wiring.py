"""Where port sync finds gluetun and qBittorrent, with which secrets, from a loaded config.

Two vantage points:

- The supervisor runs on the shared bridge network: ``http://gluetun:<control port>`` and
  ``http://gluetun:8080`` (qBittorrent lives in gluetun's namespace).
- The host CLI: gluetun's control port is not published, so the engine is asked for gluetun's
  address on the shared network, and both are reached there. qBittorrent is reached on its
  own WebUI port too, not on the published one: qBittorrent answers 401 when the Host
  header's port is not its own (a published port mapped to another one).

``--gluetun-url``/``--qbittorrent-url`` replace either (tests reach stand-ins on 127.0.0.1).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from mediastack.adapters.gluetun import GLUETUN_SERVICE, GluetunControlClient, find_gluetun_address
from mediastack.adapters.qbittorrent import QbittorrentClient
from mediastack.catalogue import CATALOGUE, Stack
from mediastack.config import LoadedConfig
from mediastack.render.environment import read_secrets

QBITTORRENT_SERVICE = "qbittorrent"
QBITTORRENT_WEBUI_PORT_NAME = "webui"


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of gluetun's control server and of qBittorrent's WebUI."""

    gluetun_url: str
    qbittorrent_url: str


@dataclass(frozen=True)
class Credentials:
    """The secrets port sync uses; kept out of ``repr`` so they never reach a log."""

    gluetun_api_key: str = field(repr=False)
    qbittorrent_username: str
    qbittorrent_password: str = field(repr=False)


def disabled_reason(loaded: LoadedConfig) -> str | None:
    """Return why port sync does not apply to this config, or None when it does."""
    config = loaded.config
    if not config.portsync.enabled:
        return "port sync is switched off (portsync.enabled: false)"
    if not config.vpn.port_forwarding:
        return "the VPN forwards no port (vpn.port_forwarding: false)"
    for name in (GLUETUN_SERVICE, QBITTORRENT_SERVICE):
        if not loaded.is_enabled(CATALOGUE[name]):
            return f"{name} is switched off (services.{name}.enabled: false)"
    return None


def qbittorrent_webui_port() -> int:
    """Return qBittorrent's WebUI port inside gluetun's namespace (the catalogue's)."""
    ports = CATALOGUE[QBITTORRENT_SERVICE].ports
    return next(port.container for port in ports if port.name == QBITTORRENT_WEBUI_PORT_NAME)


def endpoints_at(loaded: LoadedConfig, host: str) -> Endpoints:
    """Return both endpoints on gluetun's ``host`` (a name or an address)."""
    if ":" in host:  # an IPv6 address needs brackets in a URL
        host = f"[{host}]"
    return Endpoints(
        gluetun_url=f"http://{host}:{loaded.config.vpn.control_server_port}",
        qbittorrent_url=f"http://{host}:{qbittorrent_webui_port()}",
    )


def supervisor_endpoints(loaded: LoadedConfig) -> Endpoints:
    """Return the endpoints as the supervisor sees them, by service name on the shared
    network."""
    return endpoints_at(loaded, GLUETUN_SERVICE)


def host_endpoints(
    loaded: LoadedConfig,
    gluetun_url: str | None = None,
    qbittorrent_url: str | None = None,
    find_address: Callable[[str, str], str] = find_gluetun_address,
) -> Endpoints:
    """Return the endpoints as the host sees them: the given URLs, and for any not given,
    gluetun's address on the shared network as the engine reports it. Raise
    EngineUnreachableError or GluetunNotRunningError when that address is needed and
    cannot be found."""
    if gluetun_url is None or qbittorrent_url is None:
        address = find_address(loaded.project_name(Stack.VPN), loaded.config.network.name)
        found = endpoints_at(loaded, address)
        gluetun_url = gluetun_url or found.gluetun_url
        qbittorrent_url = qbittorrent_url or found.qbittorrent_url
    return Endpoints(gluetun_url=gluetun_url, qbittorrent_url=qbittorrent_url)


def read_credentials(loaded: LoadedConfig, secrets: Mapping[str, str]) -> Credentials:
    """Given the secrets (variables of .env or of the environment), return the credentials
    the config names; an unset variable reads as empty (no key header; no log-in)."""
    return Credentials(
        gluetun_api_key=secrets.get(loaded.config.vpn.api_key_variable, ""),
        qbittorrent_username=loaded.config.portsync.qbittorrent_username,
        qbittorrent_password=secrets.get(loaded.config.portsync.qbittorrent_password_variable, ""),
    )


def host_secrets(loaded: LoadedConfig) -> dict[str, str]:
    """Return the secrets as the host CLI sees them: .env, falling back to the environment."""
    return {**os.environ, **read_secrets(loaded.env_file)}


@contextmanager
def open_clients(
    endpoints: Endpoints, credentials: Credentials
) -> Iterator[tuple[GluetunControlClient, QbittorrentClient]]:
    """Yield the two real clients; close both (ending qBittorrent's session) afterwards."""
    gluetun = GluetunControlClient(endpoints.gluetun_url, credentials.gluetun_api_key)
    qbittorrent = QbittorrentClient(
        endpoints.qbittorrent_url,
        credentials.qbittorrent_username,
        credentials.qbittorrent_password,
    )
    try:
        yield gluetun, qbittorrent
    finally:
        qbittorrent.close()
        gluetun.close()
