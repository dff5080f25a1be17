"""What the host must provide for a given config: folders, published ports, secrets. Pure."""

from __future__ import annotations

from pathlib import Path

from mediastack.catalogue import ServiceDefinition, Zone
from mediastack.config import LoadedConfig
from mediastack.doctor.facts import PublishedPort, RequiredSecret
from mediastack.render.compose import host_port_of, webhook_port

DATA_SUBFOLDERS = (
    "torrents",
    "torrents/movies",
    "torrents/tv",
    "media",
    "media/movies",
    "media/tv",
)
ALL_ADDRESSES = "0.0.0.0"


def expected_folders(loaded: LoadedConfig) -> list[Path]:
    """Return the folders the stack mounts, in a stable order: data and its TRaSH-style tree
    (torrents/ and media/, each with movies/ and tv/), config, backups."""
    data = loaded.data_folder
    folders = [data, *(data / relative for relative in DATA_SUBFOLDERS)]
    return [*folders, loaded.config_folder, loaded.backups_folder]


def hardlink_folders(loaded: LoadedConfig) -> tuple[Path, Path]:
    """Return (torrents, media): an import links a file from the first into the second."""
    return loaded.data_folder / "torrents", loaded.data_folder / "media"


def expected_published_ports(loaded: LoadedConfig) -> list[PublishedPort]:
    """Return every host port the enabled services will listen on, without duplicates.

    Mirrors ``render.compose.published_ports``: a published port binds
    ``network.bind_address`` at its host port (override or container port); a service in
    gluetun's namespace is published by gluetun but keeps its own name here, because its
    ``services.<name>.ports`` entry is what moves it. A host-network service (plex) listens on
    every address at its container port, which no override changes.
    """
    ports: dict[tuple[str, int, str], PublishedPort] = {}
    for definition in loaded.enabled_services():
        for published in [*_ports_of(loaded, definition), *_webhook_of(loaded, definition)]:
            key = (published.address, published.port, published.protocol)
            ports.setdefault(key, published)
    return list(ports.values())


def _ports_of(loaded: LoadedConfig, definition: ServiceDefinition) -> list[PublishedPort]:
    host_network = definition.zone == Zone.HOST
    address = ALL_ADDRESSES if host_network else loaded.config.network.bind_address
    return [
        PublishedPort(
            service=definition.name,
            port_name=port.name,
            address=address,
            port=port.container if host_network else host_port_of(loaded, definition, port.name),
            protocol=port.protocol,
            host_network=host_network,
        )
        for port in definition.ports
        if port.publish
    ]


def required_secrets(loaded: LoadedConfig) -> list[RequiredSecret]:
    """Return the .env variables the enabled services cannot start without (the renderer
    writes them as ``${NAME:?...}``), each with what it is for, sorted by name. Optional
    secrets (``PLEX_CLAIM``) are not included."""
    purposes: dict[str, list[str]] = {}
    for definition in loaded.enabled_services():
        if definition.zone == Zone.GLUETUN:
            for variable, purpose in _vpn_secrets(loaded).items():
                purposes.setdefault(variable, []).append(purpose)
        for target, variable in definition.secrets.items():
            purposes.setdefault(variable, []).append(f"{definition.name} reads it as {target}")
    return [
        RequiredSecret(variable, "; ".join(purposes[variable])) for variable in sorted(purposes)
    ]


def _vpn_secrets(loaded: LoadedConfig) -> dict[str, str]:
    vpn = loaded.config.vpn
    return {
        vpn.private_key_variable: "the WireGuard private key from your VPN provider's config file",
        vpn.addresses_variable: "the WireGuard Address line of that provider config file "
        "(e.g. 10.2.0.2/32)",
        vpn.api_key_variable: "the API key of gluetun's control server (any random string)",
    }


def _webhook_of(loaded: LoadedConfig, definition: ServiceDefinition) -> list[PublishedPort]:
    """The listener the supervisor service publishes when it is on (render does too)."""
    port = webhook_port(loaded, definition)
    if port is None:
        return []
    address = loaded.config.network.bind_address
    return [PublishedPort(definition.name, "webhook", address, port)]
