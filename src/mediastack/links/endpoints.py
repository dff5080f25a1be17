"""Where ``wire`` reaches each app, from two vantage points:

- the host CLI: the web UI port each app publishes (``network.bind_address``; a wildcard
  address is reached on 127.0.0.1), as a browser on the host reaches it;
- the supervisor, on the shared bridge network: apps in gluetun's namespace as
  ``http://gluetun:<port>``, bridge apps by service name. Plex (host network) is not reached
  from there.

``overrides`` (``--url app=URL``) replace any of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from mediastack.catalogue import CATALOGUE, Zone
from mediastack.config import LoadedConfig
from mediastack.render.compose import host_port_of

WEBUI = "webui"
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")


class Vantage(StrEnum):
    HOST = "host"
    SUPERVISOR = "supervisor"


def app_urls(
    loaded: LoadedConfig, vantage: Vantage, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return app -> base URL for every enabled app with a web UI, seen from ``vantage``."""
    urls: dict[str, str] = {}
    for definition in loaded.enabled_services():
        port = next((port for port in definition.ports if port.name == WEBUI), None)
        if port is None:
            continue
        url = _url(loaded, definition.name, definition.zone, port.container, vantage)
        if url is not None:
            urls[definition.name] = url
    urls.update(overrides or {})
    return urls


def _url(
    loaded: LoadedConfig, service: str, zone: Zone, container_port: int, vantage: Vantage
) -> str | None:
    if vantage is Vantage.SUPERVISOR:
        if zone is Zone.HOST:
            return None
        host = "gluetun" if zone is Zone.VPN else service
        return f"http://{host}:{container_port}"
    if zone is Zone.HOST:
        return f"http://127.0.0.1:{container_port}"
    address = loaded.config.network.bind_address
    address = "127.0.0.1" if address in WILDCARD_ADDRESSES else address
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{host_port_of(loaded, CATALOGUE[service], WEBUI)}"


def parse_overrides(values: list[str]) -> dict[str, str]:
    """Parse ``app=URL`` pairs; raise ValueError naming a malformed one."""
    parsed = {}
    for value in values:
        app, separator, url = value.partition("=")
        if not separator or not app or not url.startswith(("http://", "https://")):
            raise ValueError(f"--url {value!r}: expected APP=http://HOST:PORT")
        parsed[app] = url
    return parsed
